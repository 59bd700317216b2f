"""The weekly digest: real conversations, a real SMTP server on loopback (aiosmtpd), and
the mail each of a site's staff receives: the right figures, and nothing a participant
said or could be found by."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher, profiles
from sqlalchemy import select, update

from bot.engine import Event
from storage.models import (
    RECORDING_PREFIX,
    Answer,
    AuditEntry,
    DigestSend,
    Invitation,
    Recording,
    Response,
    Site,
    utcnow,
)
from storage.staff import add_staff
from tests.integration.staff.conftest import PASSWORD, Staff, table_rows
from tests.servers import free_port
from web_survey.bootstrap import Services
from web_survey.digest import MAIL_OFF, Mailer, send_all
from web_survey.jobs import enqueue, send_digests
from web_survey.periods import last_week, site_zone

PHONES = {"CAL-0001": "+447700900101", "CAL-0002": "+447700900102",
          "CAL-0003": "+447700900103", "CAL-F0004": "+447700900104",
          "CAL-P0005": "+447700900105", "CAM-0001": "+447700900106"}
# What CAL-0001 types at the last question: a worrying answer with a phone number in it.
WORRY = "He HURTS me, ring my sister on 07700 900999"
ANSWERS = ["yes", "1", "yes", "yes", "1", "yes", "no", "1", "yes", "2", WORRY]


class Inbox:
    """What the SMTP server was handed: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.received if address in rcpt]


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2 at its cheapest cost: these tests add four staff accounts."""
    monkeypatch.setattr("storage.staff._hasher",
                        PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    """An SMTP server on a free loopback port, and the ``SMTP_URL`` that reaches it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp: tuple[Inbox, str]) -> dict[str, Any]:
    return {**app_config, "SMTP_URL": smtp[1], "DIGEST_FROM": "figures@feedback.example.org"}


@pytest.fixture
def week(nsw: Services, make_participant: Callable[..., int]) -> None:
    """Calderdale this week: five people invited by web link (one of them three weeks
    ago), one completes with a worrying answer, one is part-way, one declines, one opts
    out, one has not answered; two recordings, one of them
    transcribed. Camden: one completes (never counted for
    Calderdale). Staff: two at Calderdale, one at Camden, one administrator."""
    with nsw.uow() as uow:
        uow.session.add_all([Site(code="CAL", name="Calderdale"),
                             Site(code="CAM", name="Camden")])
        uow.commit()
    people = {code: make_participant(code, kind, PHONES[code], code[:3])
              for code, kind in (("CAL-0001", "individual"), ("CAL-0002", "individual"),
                                 ("CAL-0003", "individual"), ("CAL-F0004", "family"),
                                 ("CAL-P0005", "professional"), ("CAM-0001", "individual"))}
    with nsw.uow() as uow:
        for code in people:
            uow.repo.add_invitation(uow.repo.participant(code), "baseline", "web")
        for address, site in (("lead@cal.example", "CAL"), ("analyst@cal.example", "CAL"),
                              ("lead@cam.example", "CAM"), ("admin@example.org", None)):
            add_staff(uow.repo, address, PASSWORD,
                      uow.repo.site(site) if site else None, site is None, actor="test")
        uow.commit()

    def say(code: str, replies: list[str]) -> None:
        nsw.conversations.handle(people[code], "sms", Event("start"))
        for reply in replies:
            nsw.conversations.handle(people[code], "sms", Event("text", reply))

    say("CAL-0001", ANSWERS)
    say("CAL-0002", ["yes", "1", "pause"])
    say("CAL-0003", ["no"])
    nsw.conversations.opt_out(people["CAL-F0004"], True, "test")
    say("CAM-0001", ANSWERS)
    with nsw.uow() as uow:
        uow.session.execute(update(Invitation).where(
            Invitation.participant_id == people["CAL-0001"])
            .values(created_at=utcnow() - timedelta(days=21)))
        # Two recordings: one nobody has written down yet, one already transcribed.
        answers = list(uow.session.scalars(
            select(Answer).join(Response, Answer.response_id == Response.id)
            .where(Response.participant_id == people["CAL-0001"]).order_by(Answer.id)))
        site_id = uow.repo.site("CAL").id
        for key, answer, transcript in (
                ("waiting", answers[-1], None),
                ("written", answers[0], uow.repo.vault.encrypt("yes").decode())):
            answer.recording = RECORDING_PREFIX + key
            uow.session.add(Recording(
                key=key, site_id=site_id, participant_id=people["CAL-0001"],
                response_id=answer.response_id, question_id=answer.question_id,
                channel="sms", content_type="audio/wav", size=4,
                audio=uow.repo.vault.encrypt_bytes(b"RIFF"), transcript=transcript))
        uow.commit()


class _Text(HTMLParser):
    """The words a reader sees in an HTML mail, a line per heading, paragraph or item."""

    BLOCKS = frozenset({"title", "h1", "h2", "h3", "p", "li"})

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.words.append("\n")

    def handle_data(self, data: str) -> None:
        self.words.append(" ".join(data.split()))


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(" ".join(line.split()) for line in " ".join(parser.words).split("\n")
                     if line.strip())


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    # Mail travels with CRLF line ends; read it as the reader's program shows it.
    return (text.get_content().replace("\r\n", "\n"),
            html.get_content().replace("\r\n", "\n"))


def test_each_lead_gets_the_weeks_figures_and_nothing_a_participant_said(
        nsw: Services, week: None, smtp: tuple[Inbox, str]) -> None:
    inbox, _ = smtp
    sent = enqueue(nsw, send_digests, utcnow() + timedelta(days=1)).result
    assert sent == {"CAL": 2, "CAM": 1}
    assert sorted(r for rcpt, _ in inbox.received for r in rcpt) == [
        "analyst@cal.example", "lead@cal.example", "lead@cam.example"]
    [mail] = inbox.to("lead@cal.example")
    assert mail["From"] == "figures@feedback.example.org"
    assert mail["Subject"].startswith("Calderdale: survey figures for ")
    text, html = parts(mail)
    # This week, then so far: CAL-0001's invitation went out three weeks ago.
    for line in ("Invitations sent: 4 (5 so far)", "Started: 3 (3 so far)",
                 "Completed: 1 (1 so far)", "Declined: 1 (1 so far)",
                 "Opted out: 1 (1 so far)"):
        assert line in text and line in visible(html), line
    by_type = text.split("BY RESPONDENT AND TIMEPOINT")[1].split("WORRYING")[0]
    assert "People with a learning disability, Baseline:\n  Invitations sent: 2 (3 so far)" \
        in by_type
    assert "Family members and carers, Baseline:" in by_type
    family = by_type.split("Family members and carers, Baseline:")[1].split(", Baseline")[0]
    assert "Opted out: 1 (1 so far)" in family
    assert "New this week: 1.\nWaiting for review: 1." in text
    assert "Review them here: https://feedback.example.org/staff/sites/CAL/#flags" in text
    assert "Waiting for a transcript: 1." in text  # the transcribed one no longer counts
    assert 'href="https://feedback.example.org/staff/sites/CAL/#flags"' in html
    # Privacy: no words anyone typed, no phone number, no participant code, in either part.
    for part in (text, html, mail.as_string()):
        assert "HURTS" not in part and "sister" not in part
        assert not re.search(r"7700\W?900", part)
        assert "CAL-0" not in part and "CA0001" not in part
    # Camden's mail counts Camden alone.
    [camden] = inbox.to("lead@cam.example")
    assert "Invitations sent: 1 (1 so far)" in parts(camden)[0]
    with nsw.uow() as uow:
        lines = list(uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "digest_sent")))
        assert sorted((line.site_code, line.detail["count"]) for line in lines) == [
            ("CAL", 2), ("CAM", 1)]


def test_a_second_run_for_the_same_week_sends_nothing(
        nsw: Services, week: None, smtp: tuple[Inbox, str]) -> None:
    inbox, _ = smtp
    tomorrow = utcnow() + timedelta(days=1)
    enqueue(nsw, send_digests, tomorrow)
    assert enqueue(nsw, send_digests, tomorrow + timedelta(hours=2)).result == {}
    assert len(inbox.received) == 3
    assert enqueue(nsw, send_digests, tomorrow + timedelta(days=7)).result == {
        "CAL": 2, "CAM": 1}


def test_two_runs_at_once_email_each_reader_once(
        nsw: Services, week: None, smtp: tuple[Inbox, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A second run starting while the first is emailing Calderdale's staff (two workers'
    schedules, a retried job) finds the week claimed and sends nothing."""
    inbox, _ = smtp
    tomorrow = utcnow() + timedelta(days=1)
    during: list[dict[str, int]] = []
    real_send = Mailer.send

    def send_while_another_runs(mailer: Mailer, messages: Any) -> None:
        if not during:
            during.append({})  # only the first send starts another run
            during[0] = send_all(nsw, tomorrow)
        real_send(mailer, messages)

    monkeypatch.setattr(Mailer, "send", send_while_another_runs)
    # The run inside found Calderdale claimed and sent Camden's; the outer one then
    # found Camden's sent. Each reader has one mail.
    assert send_all(nsw, tomorrow) == {"CAL": 2}
    assert during == [{"CAM": 1}]
    assert sorted(to for rcpt, _ in inbox.received for to in rcpt) == [
        "analyst@cal.example", "lead@cal.example", "lead@cam.example"]


def test_a_claim_left_by_a_run_that_died_is_taken_over_later(
        nsw: Services, week: None, smtp: tuple[Inbox, str]) -> None:
    tomorrow = utcnow() + timedelta(days=1)
    first, _ = last_week(tomorrow, site_zone(nsw.config))
    with nsw.uow() as uow:
        for code in ("CAL", "CAM"):  # claimed, then the worker was killed
            uow.session.add(DigestSend(site_id=uow.repo.site(code).id, week=first,
                                       claimed_at=tomorrow - timedelta(minutes=5)))
        uow.commit()
    assert send_all(nsw, tomorrow) == {}  # it may still be sending: leave it
    assert send_all(nsw, tomorrow + timedelta(hours=1)) == {"CAL": 2, "CAM": 1}
    assert len(smtp[0].received) == 3


def test_a_mail_server_that_is_down_sends_nothing_and_the_next_run_sends_it(
        nsw: Services, week: None, smtp: tuple[Inbox, str],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    tomorrow = utcnow() + timedelta(days=1)
    with monkeypatch.context() as down:
        # Nothing listens on a free port: the connection is refused.
        down.setitem(nsw.config, "SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
        assert enqueue(nsw, send_digests, tomorrow).result == {}
    assert "the digest for CAL was not sent" in caplog.text
    with nsw.uow() as uow:
        assert uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "digest_sent")) is None
    assert enqueue(nsw, send_digests, tomorrow).result == {"CAL": 2, "CAM": 1}


def test_the_html_mail_reads_as_short_sentences_under_headings(
        nsw: Services, week: None, smtp: tuple[Inbox, str]) -> None:
    enqueue(nsw, send_digests, utcnow() + timedelta(days=1))
    [mail] = smtp[0].to("analyst@cal.example")
    text, html = parts(mail)
    assert '<html lang="en">' in html and "<title>Calderdale: survey figures for" in html
    assert [h for h in re.findall(r"<h2[^>]*>([^<]+)</h2>", html)] == [
        "This week", "By respondent and timepoint", "Worrying answers", "Recordings"]
    # Body text at 19 px, dark on white; links say where they go.
    assert "font-size:19px" in html and "color:#0b0c0c" in html
    assert re.findall(r"<a [^>]*>([^<]+)</a>", html) == [
        "Review the worrying answers", "See these figures on the dashboard"]
    # Every sentence short (the content rules' 15 words), in both parts.
    for words in (text, visible(html)):
        sentences = [s for s in re.split(r"(?<=[.:])\s+|\n", words) if s.strip()]
        assert max(len(s.split()) for s in sentences) <= 15


def test_the_command_prints_the_digest_and_sends_it_with_send(
        cli: Callable[..., Any], week: None, smtp: tuple[Inbox, str],
        caplog: pytest.LogCaptureFixture) -> None:
    inbox, _ = smtp
    today = utcnow().date().isoformat()
    printed = cli("digest", "--site", "CAL", "--week-ending", today)
    assert "Calderdale: survey figures for" in printed.stdout
    assert "Invitations sent: 4 (5 so far)" in printed.stdout
    assert inbox.received == []
    sent = cli("digest", "--site", "CAL", "--week-ending", today, "--send")
    assert "sent to 2 staff at CAL" in sent.stderr
    assert sorted(r for rcpt, _ in inbox.received for r in rcpt) == [
        "analyst@cal.example", "lead@cal.example"]
    caplog.set_level(logging.INFO)
    off = cli("digest", "--site", "CAL", "--send", SMTP_URL="", DIGEST_FROM="")
    assert "Calderdale: survey figures for" in off.stdout
    assert [r.getMessage() for r in caplog.records].count(MAIL_OFF) == 1
    assert len(inbox.received) == 2


def test_the_dashboard_shows_the_digests_figures_for_its_dates(
        nsw: Services, week: None, client: Any) -> None:
    staff = Staff(client)
    staff.sign_in("lead@cal.example", PASSWORD)
    today = utcnow().date()
    page = staff.get(f"/staff/sites/CAL/?start={today - timedelta(days=6)}&end={today}")
    rows = table_rows(page.get_data(as_text=True), "period-figures")
    assert rows[0] == ["Respondent", "Timepoint", "Invitations sent", "Started",
                       "Completed", "Declined", "Opted out"]
    assert rows[-1] == ["Total", "4 (5)", "3 (3)", "1 (1)", "1 (1)", "1 (1)"]
