"""Sending a wave, the links and QR codes to hand out, and reminders."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from bot.engine import Event
from bot.service.outreach import InvitationStatus, due_reminders, reminder_due
from storage.models import AuditEntry, Invitation, Participant, utcnow
from tests.fake_senders import FakeSender, text_row
from web_survey.bootstrap import Services
from web_survey.staff.invitations import STATUS_NAMES, qr_svg

from .conftest import Staff

PAGE = "/staff/sites/CAL/invitations"


@pytest.fixture
def people(make_participant: Callable[..., int], sites: dict[str, int]) -> dict[str, int]:
    return {code: make_participant(code, site=code[:3], phone=f"+4477009000{n:02d}")
            for n, code in enumerate(("CAL-0001", "CAL-0002", "CAM-0001"))}


@pytest.fixture
def sent(nsw: Services, people: dict[str, int]) -> list[str]:
    """A stand-in SMS provider behind outreach: who was texted, once per invitation (each
    invitation is a greeting and a question)."""
    codes = {f"+4477009000{n:02d}": code for n, code in enumerate(people)}
    texted: list[str] = []

    class Recording(FakeSender):
        def send_text(self, to: str, text: str) -> str:
            if text == nsw.surveys.phrase("greeting", "en"):
                texted.append(codes[to])
            return super().send_text(to, text)

    nsw.senders["sms"] = text_row(Recording())
    return texted


def _invitations(nsw: Services) -> list[tuple[str, str, str]]:
    with nsw.uow() as uow:
        return [(i.participant.code, i.channel, i.status) for i in uow.session.scalars(
            select(Invitation).join(Invitation.participant).order_by(Participant.code))]


def test_a_web_wave_lists_a_link_for_each_of_the_sites_people(
        nsw: Services, as_cal: Staff, people: dict[str, int]) -> None:
    response = as_cal.post(PAGE, data={"wave": "baseline", "channel": "web"}, form_page=PAGE)
    assert response.status_code == 302
    page = as_cal.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 baseline invitations made (Web link)." in page
    assert _invitations(nsw) == [("CAL-0001", "web", "created"), ("CAL-0002", "web", "created")]
    with nsw.uow() as uow:
        for invitation in uow.session.scalars(select(Invitation)):
            assert f"https://feedback.example.org/s/{invitation.token}" in page
    assert page.count("Link ready") == 2


def test_an_unconfigured_channel_is_explained_and_nothing_is_made(
        nsw: Services, as_cal: Staff, people: dict[str, int]) -> None:
    response = as_cal.post(PAGE, data={"wave": "baseline", "channel": "sms"}, form_page=PAGE,
                           follow_redirects=True)
    text = html.unescape(response.get_data(as_text=True))
    assert ("Text message (SMS) is not set up on this server yet, so nothing was sent and "
            "no invitations were made.") in text
    assert "TWILIO_ACCOUNT_SID" in text
    assert _invitations(nsw) == []
    with nsw.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "invite")) == 0


def test_a_sending_channel_delivers_each_and_shows_its_status(
        nsw: Services, as_cal: Staff, people: dict[str, int], sent: list[str],
        make_participant: Callable[..., int]) -> None:
    make_participant("CAL-0003", site="CAL", phone="+447700900099", opted_out=True)
    response = as_cal.post(PAGE, data={"wave": "baseline", "channel": "sms"}, form_page=PAGE,
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "2 baseline invitations sent (Text message (SMS))." in text
    assert "CAL-0003 was not invited: opted out." in text
    assert sent == ["CAL-0001", "CAL-0002"]
    assert _invitations(nsw) == [("CAL-0001", "sms", "queued"), ("CAL-0002", "sms", "queued")]
    assert text.count("<td>Waiting to send</td>") == 2
    with nsw.uow() as uow:
        assert all(i.sent_at is not None for i in uow.session.scalars(select(Invitation)))
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "invite"))
        assert entry is not None and entry.detail == {"wave": "baseline", "channel": "sms",
                                                      "count": 2}


def test_the_print_page_has_a_qr_code_and_the_link_for_each_person(
        nsw: Services, as_cal: Staff, people: dict[str, int]) -> None:
    as_cal.post(PAGE, data={"wave": "baseline", "channel": "web"}, form_page=PAGE)
    page = as_cal.get(f"{PAGE}/print?wave=baseline&channel=web").get_data(as_text=True)
    with nsw.uow() as uow:
        for invitation in uow.session.scalars(select(Invitation)):
            link = f"https://feedback.example.org/s/{invitation.token}"
            assert f'<p class="card-link">{link}</p>' in page
            assert str(qr_svg(link, invitation.participant.code)) in page
    assert page.count('role="img"') == 2
    assert "<title>QR code for CAL-0001</title>" in page
    assert "Point your phone camera at this code. It opens your survey." in page
    assert "<script" not in page


OWN_SURVEY = """\
id: cal_home
title: {en: "Your home"}
respondent_type: individual
answered_by: self
consent: {en: "We want to ask about your home. Is that OK?"}
questions:
  - id: garden
    type: yes_no
    label: Has a garden to sit in
    text: {en: "Do you have a garden to sit in?"}
"""


def test_printed_cards_name_the_survey_the_sites_plan_asks_then(
        nsw: Services, as_cal: Staff, people: dict[str, int], tmp_path: Path) -> None:
    own = tmp_path / "cal_home.yaml"
    own.write_text(OWN_SURVEY, encoding="utf-8")
    nsw.publishing.publish_survey("CAL", own, "test", reason="our own wording")
    plan = tmp_path / "plan.yaml"
    plan.write_text("timepoints:\n  - name: baseline\n    surveys: {individual: cal_home}\n"
                    "  - name: exit\n", encoding="utf-8")
    nsw.publishing.publish_plan("CAL", plan, "test")
    for wave in ("baseline", "exit"):
        as_cal.post(PAGE, data={"wave": wave, "channel": "web"}, form_page=PAGE)

    baseline = as_cal.get(f"{PAGE}/print?wave=baseline&channel=web").get_data(as_text=True)
    assert baseline.count('<p class="card-title">Your home</p>') == 2
    # The exit asks the deployment's own survey: its title.
    shipped = html.unescape(nsw.surveys.for_respondent("individual").title["en"])
    exit_cards = html.unescape(
        as_cal.get(f"{PAGE}/print?wave=exit&channel=web").get_data(as_text=True))
    assert exit_cards.count(f'<p class="card-title">{shipped}</p>') == 2
    assert "Your home" not in exit_cards


def test_the_print_page_reads_the_same_whatever_number_of_cards(
        nsw: Services, as_cal: Staff, people: dict[str, int],
        make_participant: Callable[..., int]) -> None:
    """Each card's survey and person come with the page's own reads: none per card."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def reads() -> tuple[int, int]:
        statements.clear()
        sa_event.listen(nsw.engine, "before_cursor_execute", count)
        try:
            page = as_cal.get(f"{PAGE}/print?wave=baseline&channel=web").get_data(
                as_text=True)
        finally:
            sa_event.remove(nsw.engine, "before_cursor_execute", count)
        return page.count('class="card"'), len(statements)

    as_cal.post(PAGE, data={"wave": "baseline", "channel": "web"}, form_page=PAGE)
    as_cal.get(f"{PAGE}/print?wave=baseline&channel=web")  # the survey's version cached
    two = reads()
    for code in ("CAL-0011", "CAL-0012", "CAL-0013"):
        make_participant(code, site="CAL", phone=None, respondent_type="family")
    as_cal.post(PAGE, data={"wave": "baseline", "channel": "web"}, form_page=PAGE)
    as_cal.get(f"{PAGE}/print?wave=baseline&channel=web")
    more = reads()
    assert two[0] == 2 and more[0] > 2
    assert more[1] == two[1]


def test_a_supporters_card_says_the_survey_is_for_the_person_they_support(
        nsw: Services, as_cal: Staff, make_participant: Callable[..., int],
        sites: dict[str, int]) -> None:
    make_participant("CAL-0001", site="CAL", phone=None, needs="supporter")
    make_participant("CAL-0002", site="CAL", phone=None)
    as_cal.post(PAGE, data={"wave": "baseline", "channel": "web"}, form_page=PAGE)
    page = as_cal.get(f"{PAGE}/print?wave=baseline&channel=web").get_data(as_text=True)
    assert page.count("This survey is for someone you support. Please help them answer.") == 1
    card = page[page.index("CAL-0001"):page.index("CAL-0002")]
    assert "This survey is for someone you support." in card


def test_telegram_cards_hold_the_bots_deep_link(
        nsw: Services, as_cal: Staff, people: dict[str, int], app: Any) -> None:
    app.config["TELEGRAM_BOT_USERNAME"] = "@NswFeedbackBot"
    as_cal.post(PAGE, data={"wave": "baseline", "channel": "telegram"}, form_page=PAGE)
    page = as_cal.get(f"{PAGE}/print?channel=telegram").get_data(as_text=True)
    tokens = re.findall(r"https://t\.me/NswFeedbackBot\?start=([\w-]+)", page)
    with nsw.uow() as uow:
        assert sorted(set(tokens)) == sorted(uow.session.scalars(select(Invitation.token)))
    assert "It opens your survey in Telegram." in page


def test_without_the_bots_name_no_telegram_invitation_is_made(
        nsw: Services, as_cal: Staff, people: dict[str, int], app: Any) -> None:
    """A Telegram token opens only Telegram, so a web link would say "not found": with
    no bot name (only a token, say) staff are told what to set and nothing is made."""
    app.config.update(TELEGRAM_BOT_TOKEN="123:abc", TELEGRAM_BOT_USERNAME="")
    response = as_cal.post(PAGE, data={"wave": "baseline", "channel": "telegram"},
                           form_page=PAGE, follow_redirects=True)
    text = html.unescape(response.get_data(as_text=True))
    assert "Telegram is not set up on this server yet" in text
    assert "TELEGRAM_BOT_USERNAME" in text
    assert _invitations(nsw) == []


def test_a_telegram_invitation_made_before_the_name_went_has_no_web_link(
        nsw: Services, as_cal: Staff, people: dict[str, int], app: Any, client: Any) -> None:
    """Invitations made while the bot was named, listed after its name is gone: staff
    are told why there is no link, and are never handed a web link that would 404."""
    app.config["TELEGRAM_BOT_USERNAME"] = "@NswFeedbackBot"
    as_cal.post(PAGE, data={"wave": "baseline", "channel": "telegram"}, form_page=PAGE)
    app.config["TELEGRAM_BOT_USERNAME"] = ""
    listed = html.unescape(as_cal.get(PAGE).get_data(as_text=True))
    printed = html.unescape(as_cal.get(f"{PAGE}/print?channel=telegram").get_data(as_text=True))
    with nsw.uow() as uow:
        tokens = list(uow.session.scalars(select(Invitation.token)))
    assert len(tokens) == 2
    for page in (listed, printed):
        assert not any(token in page for token in tokens)
        assert "/s/" not in page and "TELEGRAM_BOT_USERNAME" in page
    assert listed.count("No link: the Telegram bot's name is not set.") == 2
    assert 'class="card"' not in printed
    assert client.get(f"/s/{tokens[0]}").status_code == 404  # why no web link is given


# ---------------------------------------------------------------- reminder rules

NOW = utcnow()


def _invite(nsw: Services, code: str, channel: str = "sms", days_ago: float = 4,
            **fields: Any) -> None:
    status = fields.pop("status", "created" if channel == "web" else "sent")
    with nsw.uow() as uow:
        when = NOW - timedelta(days=days_ago)
        uow.session.add(Invitation(
            participant=uow.repo.participant(code), wave="baseline", channel=channel,
            token=f"t-{code}-{channel}-{days_ago}", created_at=when, status=status,
            sent_at=None if status == "created" else when, **fields))
        uow.commit()


def _due(nsw: Services, now: Any = NOW) -> list[str]:
    with nsw.uow() as uow:
        return [f"{i.participant.code}:{i.channel}"
                for i in due_reminders(uow.repo, uow.repo.site("CAL"), now)]


def test_reminders_wait_3_days_after_the_last_contact(nsw: Services,
                                                      people: dict[str, int]) -> None:
    _invite(nsw, "CAL-0001", days_ago=3.01)
    _invite(nsw, "CAL-0002", days_ago=2.99)
    _invite(nsw, "CAM-0001", days_ago=10)
    assert _due(nsw) == ["CAL-0001:sms"]


@pytest.mark.parametrize(("fields", "due"), [
    ({"reminders_sent": 1, "reminded_at": NOW - timedelta(days=3, minutes=1)}, True),
    ({"reminders_sent": 1, "reminded_at": NOW - timedelta(days=1)}, False),
    ({"reminders_sent": 2, "reminded_at": NOW - timedelta(days=9)}, False),
    ({"status": "failed"}, False),
    ({"status": "delivered"}, True),
])
def test_at_most_2_reminders_and_none_to_an_unreachable_number(
        nsw: Services, people: dict[str, int], fields: dict[str, Any], due: bool) -> None:
    _invite(nsw, "CAL-0001", **fields)
    assert _due(nsw) == (["CAL-0001:sms"] if due else [])


@pytest.mark.parametrize(("events", "due"), [
    ([], True),
    ([Event("start")], True),
    ([Event("start"), Event("text", "yes"), Event("text", "1")], True),
    ([Event("start"), Event("text", "no")], False),
])
def test_only_people_who_have_not_finished_are_reminded(
        nsw: Services, people: dict[str, int], events: list[Event], due: bool) -> None:
    _invite(nsw, "CAL-0001")
    for event in events:
        nsw.conversations.handle(people["CAL-0001"], "sms", event)
    assert _due(nsw) == (["CAL-0001:sms"] if due else [])


def test_no_reminders_for_people_who_opted_out_or_moved_on(
        nsw: Services, people: dict[str, int]) -> None:
    _invite(nsw, "CAL-0001")
    _invite(nsw, "CAL-0002")
    nsw.conversations.opt_out(people["CAL-0001"], True, "test")
    with nsw.uow() as uow:
        uow.repo.participant("CAL-0002").current_wave = "exit"
        uow.commit()
    assert _due(nsw) == []


def test_only_the_latest_invitation_of_a_wave_is_reminded(
        nsw: Services, people: dict[str, int]) -> None:
    _invite(nsw, "CAL-0001", channel="sms", days_ago=6)
    _invite(nsw, "CAL-0001", channel="web", days_ago=5)
    _invite(nsw, "CAL-0002", channel="sms", days_ago=6, status="created")  # never sent
    assert _due(nsw) == ["CAL-0001:web"]


def test_reminder_due_is_a_plain_rule(nsw: Services, people: dict[str, int]) -> None:
    _invite(nsw, "CAL-0001")
    with nsw.uow() as uow:
        invitation = uow.session.scalar(select(Invitation))
        assert reminder_due(invitation, None, NOW)
        assert not reminder_due(invitation, "completed", NOW)
        assert not reminder_due(invitation, None, NOW, after=timedelta(days=5))
        assert not reminder_due(invitation, None, NOW, most=0)


def test_the_remind_button_sends_reminders_and_counts_them(
        nsw: Services, as_cal: Staff, people: dict[str, int],
        sent: list[str]) -> None:
    _invite(nsw, "CAL-0001")
    _invite(nsw, "CAL-0002", channel="web")
    _invite(nsw, "CAM-0001")
    response = as_cal.post(f"{PAGE}/remind", form_page=PAGE, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "1 reminders sent." in text
    assert "Send these web links again yourself: CAL-0002 https://feedback.example.org/s/" in text
    assert sent == ["CAL-0001"]
    with nsw.uow() as uow:
        counts = {i.participant.code: (i.reminders_sent, i.status)
                  for i in uow.session.scalars(select(Invitation))}
    assert counts == {"CAL-0001": (1, "queued"), "CAL-0002": (1, "created"),
                      "CAM-0001": (0, "sent")}
    assert _due(nsw, utcnow()) == []
    # The button stamps reminders with the real clock, not this module's NOW.
    later = utcnow() + timedelta(days=3, minutes=1)
    assert _due(nsw, later) == ["CAL-0001:sms", "CAL-0002:web"]


@pytest.fixture
def named_bot(app_config: dict[str, Any]) -> str:
    """Telegram links on (ask for this before the app): the bot's username is set."""
    app_config["TELEGRAM_BOT_USERNAME"] = "nsw_test_bot"
    return "nsw_test_bot"


def test_a_telegram_reminder_is_a_link_for_staff_not_a_send(
        named_bot: str, nsw: Services, as_cal: Staff, people: dict[str, int],
        sent: list[str]) -> None:
    _invite(nsw, "CAL-0001", channel="telegram", status="created")
    response = as_cal.post(f"{PAGE}/remind", form_page=PAGE, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "0 reminders sent." in text
    assert f"CAL-0001 https://t.me/{named_bot}?start=" in text
    assert sent == []


# ---------------------------------------------------------------- status labels


def test_every_status_an_invitation_can_store_has_a_staff_label() -> None:
    assert set(STATUS_NAMES) == {status.value for status in InvitationStatus}
    for status in InvitationStatus:
        assert STATUS_NAMES[status] and STATUS_NAMES[status] != status.value


@pytest.mark.parametrize("status", ["held", "no_phone", "answered", "no-answer", "opted_out"])
def test_the_invitations_page_names_each_status_not_its_stored_value(
        nsw: Services, as_cal: Staff, people: dict[str, int], status: str) -> None:
    _invite(nsw, "CAL-0001", channel="voice" if "answer" in status else "sms", status=status)
    page = as_cal.get(f"{PAGE}?wave=baseline").get_data(as_text=True)
    assert f"<td>{html.escape(InvitationStatus(status).label)}</td>" in page
    assert f"<td>{status}</td>" not in page


def test_each_persons_own_channel_is_the_default_and_says_who_was_not_invited(
        nsw: Services, as_cal: Staff, people: dict[str, int], sent: list[str]) -> None:
    with nsw.uow() as uow:
        uow.repo.participant_by_id(people["CAL-0001"]).preferred_channel = "sms"
        uow.repo.participant_by_id(people["CAL-0002"]).preferred_channel = "voice"
        uow.commit()
    form = as_cal.get(PAGE).get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value=""', form)
    assert "Each person&#39;s own channel" in form or "Each person's own channel" in form

    response = as_cal.post(PAGE, data={"wave": "baseline", "channel": ""}, form_page=PAGE)
    page = html.unescape(as_cal.get(response.headers["Location"]).get_data(as_text=True))
    assert "1 baseline invitations sent (each person's own channel)." in page
    assert ("CAL-0002 was not invited: prefers Phone call, which is not set up on this "
            "server.") in page
    assert sent == ["CAL-0001"]
    assert _invitations(nsw) == [("CAL-0001", "sms", "queued")]


@pytest.fixture
def team_check(nsw: Services, make_participant: Callable[..., int], sites: dict[str, int],
               tmp_path: Path) -> None:
    """CAL's plan with a timepoint for professionals only; two people, a family member
    and a professional, each reached by web link."""
    for code, kind in (("CAL-0001", "individual"), ("CAL-0002", "individual"),
                       ("CAL-F01", "family"), ("CAL-P01", "professional")):
        make_participant(code, respondent_type=kind, phone=None, preferred_channel="web")
    plan = tmp_path / "plan.yaml"
    plan.write_text("timepoints:\n  - name: baseline\n  - name: team-check\n"
                    "    for: [professional]\n  - name: exit\n", encoding="utf-8")
    nsw.publishing.publish_plan("CAL", plan, "test")


def test_a_professional_only_timepoint_invites_no_individual(
        nsw: Services, as_cal: Staff, team_check: None) -> None:
    form = html.unescape(as_cal.get(PAGE).get_data(as_text=True))
    assert "Team-check: Health professional" in form
    response = as_cal.post(PAGE, data={"wave": "team-check", "channel": ""}, form_page=PAGE,
                           follow_redirects=True)
    page = html.unescape(response.get_data(as_text=True))
    assert _invitations(nsw) == [("CAL-P01", "web", "created")]
    assert "1 team-check invitations sent (each person's own channel)." in page
    assert ("Not invited, because team-check is for professionals only (the site's plan): "
            "CAL-0001, CAL-0002, CAL-F01.") in page


def test_staff_choose_whom_to_invite_with_checkboxes(
        nsw: Services, as_cal: Staff, team_check: None) -> None:
    form = as_cal.get(PAGE).get_data(as_text=True)
    assert len(re.findall(r'<input[^>]*name="types"[^>]*type="checkbox"|'
                          r'<input[^>]*type="checkbox"[^>]*name="types"', form)) == 3
    assert "<legend class=\"legend\">Who to invite (optional)</legend>" in form
    response = as_cal.post(PAGE, data={"wave": "baseline", "channel": "web",
                                       "types": ["family", "professional"]},
                           form_page=PAGE, follow_redirects=True)
    page = html.unescape(response.get_data(as_text=True))
    assert _invitations(nsw) == [("CAL-F01", "web", "created"), ("CAL-P01", "web", "created")]
    assert ("Not invited, because only family members and carers and professionals were "
            "chosen: CAL-0001, CAL-0002.") in page


def test_choosing_a_type_the_timepoint_is_not_for_sends_nothing(
        nsw: Services, as_cal: Staff, team_check: None) -> None:
    response = as_cal.post(PAGE, data={"wave": "team-check", "channel": "web",
                                       "types": ["individual"]},
                           form_page=PAGE, follow_redirects=True)
    page = html.unescape(response.get_data(as_text=True))
    assert ("Nothing was sent: team-check is for professionals only (the site's plan), so "
            "people with a learning disability cannot be invited to it.") in page
    assert _invitations(nsw) == []
