"""Sending a wave's invitations, reminders, and links and QR codes to hand out."""

from __future__ import annotations

import segno
from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from bot.engine import Need, localise
from bot.service.outreach import DEAD_END, InvitationStatus
from bot.service.reach import NotForThem, planned_types
from bot.service.site_surveys import SiteSurveys
from storage.models import Invitation, Participant, Site
from storage.uow import UnitOfWork

from ..bootstrap import services
from ..delivery import LINK_CHANNELS, ChannelUnavailable, link_for
from ..sending import send_reminders, send_wave
from . import bp
from .access import me, site_page
from .dashboard import timepoint_names
from .forms import CHANNEL_NAMES, TYPE_NAMES, InviteForm, StaffForm, options

# Said in place of a Telegram invitation's link while the bot's name is not set.
NO_BOT_NAME = ("(no link: the Telegram bot's name is not set; ask your administrator to "
               "set TELEGRAM_BOT_USERNAME)")
# Every status an invitation can store, as staff read it (outreach names them).
STATUS_NAMES = {status.value: status.label for status in InvitationStatus}


def _unavailable(channel: str, error: ChannelUnavailable) -> str:
    return (f"{CHANNEL_NAMES.get(channel, channel)} is not set up on this server yet, so "
            f"nothing was sent and no invitations were made. Ask your administrator to set it up "
            f"({error}). You can send web links now instead.")


def _invitations(uow: UnitOfWork, site: Site, wave: str, channel: str = "",
                 steps_only: bool = False) -> list[Invitation]:
    """``site``'s invitations to ``wave`` (on ``channel``; only fallback steps), each
    person's in the order they were made, with their person (read in the same query)."""
    query = (select(Invitation).join(Invitation.participant)
             .options(contains_eager(Invitation.participant))
             .where(Participant.site_id == site.id, Participant.is_tryout.is_(False),
                    Invitation.wave == wave)
             .order_by(Participant.code, Invitation.id))
    if channel:
        query = query.where(Invitation.channel == channel)
    if steps_only:
        query = query.where(Invitation.previous_id.is_not(None))
    return list(uow.session.scalars(query))


def tried_because(invitation: Invitation) -> str:
    """Why a fallback step was made, in words ("Text message: failed"); empty for a
    first invitation. A step follows either a dead end or a channel with no answer."""
    previous = invitation.previous
    if previous is None:
        return ""
    why = (STATUS_NAMES[previous.status] if previous.status in DEAD_END
           else "no answer in time")
    return f"{CHANNEL_NAMES.get(previous.channel, previous.channel)}: {why.lower()}"


def _by_reason(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """People's codes grouped by the reason beside them, in order."""
    grouped: dict[str, list[str]] = {}
    for code, reason in pairs:
        grouped.setdefault(reason, []).append(code)
    return grouped


def link_of(invitation: Invitation) -> str | None:
    """The link to hand on for a web or Telegram invitation; None for a Telegram one
    while the bot's name is not set (the page says so instead)."""
    return link_for(current_app.config, invitation)


def qr_svg(link: str, code: str) -> Markup:
    """A QR code for ``link`` as inline SVG, named for screen readers."""
    svg = segno.make(link, error="m").svg_inline(
        scale=4, dark="#0b0c0c", light="#ffffff", title=f"QR code for {code}", svgclass="qr",
        lineclass=None, omitsize=True)
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 - segno escapes


@bp.route("/sites/<site_code>/invitations", methods=["GET", "POST"])
@site_page
def invitations(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Send a wave on a channel; list each invitation with its status and link."""
    plan = services().conversations.catalogue.plan(uow.session, site.id)
    wave_names = timepoint_names(uow, site, plan)
    form = InviteForm()
    form.wave.choices = options(wave_names)
    if form.validate_on_submit():
        wave, channel = form.wave.data, form.channel.data or None
        try:
            report = send_wave(services(), uow, site, wave, channel, me().email,
                               types=form.types.data or ())
        except ChannelUnavailable as error:
            flash(_unavailable(channel or "", error), "error")
        except NotForThem as error:
            flash(f"Nothing was sent: {error}. Untick them, or change the plan.", "error")
        else:
            verb = "made" if channel == "web" else "sent"
            how = CHANNEL_NAMES[channel] if channel else "each person's own channel"
            flash(f"{len(report.sent)} {wave_names[wave].lower()} invitations {verb} "
                  f"({how}).", "success")
            for code, reason in report.skipped:
                flash(f"{code} was not invited: {reason}.", "info")
            for code, note in report.notes:
                flash(f"{code}: {note}.", "info")
            for reason, codes in _by_reason(report.left_out).items():
                flash(f"Not invited, because {reason}: {', '.join(codes)}.", "info")
        return redirect(url_for("staff.invitations", site_code=site.code, wave=wave))
    wave = request.args.get("wave", "")
    wave = wave if wave in wave_names else next(iter(wave_names))
    # Timepoints the plan keeps for some respondent types: the page says whom.
    only = {wave_names[t.name]: [TYPE_NAMES[kind] for kind in planned_types(t)]
            for t in plan.timepoints if planned_types(t)}
    shown = _invitations(uow, site, wave)
    cards = sum(1 for i in shown if i.previous_id is not None and i.channel == "web")
    return render_template(
        "staff/invitations.html", site=site, form=form, wave=wave, remind_form=StaffForm(),
        invitations=shown, link_of=link_of, wave_names=wave_names,
        channel_names=CHANNEL_NAMES, status_names=STATUS_NAMES, step_cards=cards,
        tried_because=tried_because, only=only,
        order=[CHANNEL_NAMES.get(name, name) for name in site.fallback_channels])


@bp.post("/sites/<site_code>/invitations/remind")
@site_page
def remind(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Remind everyone due a reminder by the site's rule (not finished, last contacted
    long enough ago)."""
    form = StaffForm()
    if form.validate_on_submit():
        report = send_reminders(services(), uow, site, me().email)
        # Link invitations (web, Telegram) are not sent by us: staff send them again.
        web = [i for i in report.sent if i.channel in LINK_CHANNELS]
        flash(f"{len(report.sent) - len(web)} reminders sent.", "success")
        if web:
            flash("Send these web links again yourself: " + ", ".join(
                f"{i.participant.code} {link_of(i) or NO_BOT_NAME}" for i in web), "info")
        for code, reason in report.skipped:
            flash(f"{code} was not reminded: {reason}.", "info")
    return redirect(url_for("staff.invitations", site_code=site.code))


@bp.get("/sites/<site_code>/invitations/print")
@site_page
def invitations_print(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """A page to print: one card per person with a QR code and the link written out."""
    catalogue = services().conversations.catalogue
    plan = catalogue.plan(uow.session, site.id)
    wave_names = timepoint_names(uow, site, plan)
    wave = request.args.get("wave", "baseline")
    channel = request.args.get("channel", "web")
    # Only the web steps of the fallback order: link cards for a worker to take.
    steps_only = request.args.get("steps") == "1"
    if wave not in wave_names or channel not in LINK_CHANNELS:
        return redirect(url_for("staff.invitations", site_code=site.code))
    # Each card words the survey its person is asked: the site's plan's for that
    # timepoint and type, in the site's latest version (its versions read once).
    surveys = SiteSurveys(catalogue, uow.session, site.id)
    cards = []
    for invitation in _invitations(uow, site, wave, channel, steps_only):
        link = link_of(invitation)
        if link is None:  # a Telegram invitation while the bot has no name: the page says
            continue
        survey = surveys.asked(plan, invitation.participant.respondent_type, wave)
        language = invitation.participant.language
        cards.append({
            "code": invitation.participant.code, "link": link,
            "qr": qr_svg(link, invitation.participant.code), "language": language,
            "title": localise(survey.title, language),
            "lead": survey.phrase("card_telegram" if channel == "telegram" else "card_web",
                                  language),
            "link_lead": survey.phrase("card_link", language),
            "supporter": (survey.phrase("invite_supporter", language)
                          if Need.SUPPORTER in invitation.participant.needs else ""),
        })
    missing_bot = channel == "telegram" and not current_app.config.get("TELEGRAM_BOT_USERNAME")
    return render_template("staff/invitations_print.html", site=site, cards=cards, wave=wave,
                           channel=channel, missing_bot=missing_bot, wave_names=wave_names)
