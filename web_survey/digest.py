"""The weekly digest: a site's figures for a week, emailed to the site's staff.

What it says is ``storage.reports.figures`` (the dashboard shows the same for any date
range): invitations sent, surveys started, completed and declined, opt-outs, each for
the week and so far, by respondent type and timepoint; how many worrying answers are
new and waiting, with a link to the review list; how many recordings wait for a
transcript. Counts only: never an answer's words, a name or a phone number.

The week is the seven whole days before today in ``SITE_TIMEZONE``, so digests sent on
the same weekday each week cover every day once. ``SMTP_URL`` (``smtp://host:port``,
``smtps://`` for TLS from the start, ``user:password@`` when the server wants a login)
and ``DIGEST_FROM`` (the sender's address) turn mail on; without them the digest can
still be printed, and sending says it is off in one log line.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select

from storage import digests
from storage.models import Site, StaffUser
from storage.reports import EVENTS, Figures, figures
from storage.uow import UnitOfWork

from .bootstrap import Services
from .periods import DIGEST_DAYS, days, last_week, site_zone

log = logging.getLogger(__name__)
MAIL_OFF = "Digest email is off: set SMTP_URL and DIGEST_FROM to turn it on"
# Names for staff in the email (plural: a row counts people of that kind).
TYPE_NAMES = {"individual": "People with a learning disability",
              "family": "Family members and carers", "professional": "Health professionals"}
EVENT_NAMES = {"sent": "Invitations sent", "started": "Started", "completed": "Completed",
               "declined": "Declined", "opted_out": "Opted out"}
SMTP_TIMEOUT = 30

_templates = Environment(loader=PackageLoader("web_survey", "templates/mail"),
                         autoescape=select_autoescape(["html"]), trim_blocks=True,
                         lstrip_blocks=True, keep_trailing_newline=True)


@dataclass(frozen=True)
class Digest:
    """One site's digest for one week, ready to print or send."""

    site_code: str
    site_name: str
    first: date
    last: date
    figures: Figures
    timepoints: Sequence[str]
    dashboard_link: str
    review_link: str

    @property
    def subject(self) -> str:
        return f"{self.site_name}: survey figures for {_span(self.first, self.last)}"

    def _context(self) -> dict[str, Any]:
        return {"digest": self, "span": _span(self.first, self.last), "events": EVENTS,
                "event_names": EVENT_NAMES, "type_names": TYPE_NAMES,
                "timepoint": _timepoint}

    def text(self) -> str:
        """The plain-text email (and what ``nsw-feedback digest`` prints)."""
        return _templates.get_template("digest.txt").render(self._context())

    def html(self) -> str:
        """The HTML email: the same words, with headings and one table."""
        return _templates.get_template("digest.html").render(self._context())


def _span(first: date, last: date) -> str:
    """"23 to 29 November 2026" (months and years only where they differ)."""
    end = f"{last.day} {last:%B %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day} to {end}"
    if first.year == last.year:
        return f"{first.day} {first:%B} to {end}"
    return f"{first.day} {first:%B %Y} to {end}"


def _timepoint(name: str) -> str:
    return name.capitalize()


def build(nsw: Services, uow: UnitOfWork, site: Site, last: date) -> Digest:
    """``site``'s digest for the seven days ending with ``last``."""
    first = last - timedelta(days=DIGEST_DAYS - 1)
    period = days(first, last, site_zone(nsw.config))
    plan = nsw.conversations.catalogue.plan(uow.session, site.id)
    base = str(nsw.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    page = f"{base}/staff/sites/{site.code}/"
    query = urlencode({"start": first.isoformat(), "end": last.isoformat()})
    return Digest(site.code, site.name, first, last,
                  figures(uow.session, site, period, plan.names), plan.names,
                  f"{page}?{query}#period", f"{page}#flags")


def leads(uow: UnitOfWork, site: Site) -> list[str]:
    """The email addresses of the site's staff whose accounts are active."""
    return list(uow.session.scalars(
        select(StaffUser.email).where(StaffUser.site_id == site.id,
                                      StaffUser.active.is_(True)).order_by(StaffUser.email)))


# ---------------------------------------------------------------- mail


@dataclass(frozen=True)
class Mailer:
    """Sends email through the SMTP server ``SMTP_URL`` names, from ``DIGEST_FROM``."""

    url: str
    sender: str

    def send(self, messages: Sequence[EmailMessage]) -> None:
        """Send ``messages`` over one connection (STARTTLS when the server offers it)."""
        parts = urlsplit(self.url)
        host, secure = parts.hostname or "localhost", parts.scheme == "smtps"
        port = parts.port or (465 if secure else 25)
        smtp_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
        with smtp_class(host, port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.ehlo()
            if not secure and smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            for message in messages:
                smtp.send_message(message)


def mailer(config: Any) -> Mailer | None:
    """The mailer ``SMTP_URL`` and ``DIGEST_FROM`` configure, or None (logged once)."""
    url, sender = str(config.get("SMTP_URL") or ""), str(config.get("DIGEST_FROM") or "")
    if not url or not sender:
        log.info(MAIL_OFF)
        return None
    if urlsplit(url).scheme not in ("smtp", "smtps"):
        log.error("Digest email is off: SMTP_URL must start smtp:// or smtps://")
        return None
    return Mailer(url, sender)


def message(digest: Digest, sender: str, to: str) -> EmailMessage:
    """The email for one reader: plain text first, the HTML as its alternative."""
    mail = EmailMessage()
    mail["Subject"] = digest.subject
    mail["From"] = sender
    mail["To"] = to
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(digest.text())
    mail.add_alternative(digest.html(), subtype="html")
    return mail


def send(nsw: Services, uow: UnitOfWork, site: Site, digest: Digest, sender: Mailer,
         actor: str) -> list[str]:
    """Email ``digest`` to each of the site's staff and audit it; returns who got it.
    The caller commits (the audit line)."""
    readers = leads(uow, site)
    if readers:
        sender.send([message(digest, sender.sender, to) for to in readers])
    uow.repo.audit(actor, "digest_sent", site.code, week=digest.first.isoformat(),
                   count=len(readers))
    return readers


def send_all(nsw: Services, now: datetime) -> dict[str, int]:
    """Send each site's digest for the week before ``now`` (once a week per site: a site
    whose digest for that week went out already is left alone; one the mail server
    refused is tried again next time). Returns site code -> readers emailed; empty when
    mail is off."""
    sender = mailer(nsw.config)
    if sender is None:
        return {}
    _, last = last_week(now, site_zone(nsw.config))
    sent: dict[str, int] = {}
    with nsw.uow() as uow:
        codes = list(uow.session.scalars(
            select(Site.code).where(Site.is_tryout.is_(False)).order_by(Site.code)))
    for code in codes:
        # One transaction per site: a failure at one leaves the others sent and audited.
        with nsw.uow() as uow:
            site = uow.repo.site(code)
            assert site is not None, "sites are never deleted"
            digest = build(nsw, uow, site, last)
            connection = uow.session.connection()
            if not digests.claim(connection, site.id, digest.first, now):
                continue  # sent already, or another run is sending it now
            uow.commit()
            try:
                sent[code] = len(send(nsw, uow, site, digest, sender, "worker"))
            except (smtplib.SMTPException, OSError) as error:
                log.error("the digest for %s was not sent: %s", code, error)
                digests.give_up(uow.session.connection(), site.id, digest.first)
                uow.commit()
                continue
            digests.mark_sent(uow.session.connection(), site.id, digest.first, now)
            uow.commit()
    return sent
