"""Fallback (issue 15 item 2): when a channel cannot reach a person, or brings no answer
in its time, the next channel of the site's order is tried, up to the end; STOP ends it
on every channel; each step is on the invitations page and in the audit log.

Sends go through the real ``twilio`` client to the loopback stand-in, which refuses
numbers as Twilio does (21211); delivery reports are signed webhooks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import select

from bot.engine import Event, EventKind
from storage.enrolment import erase
from storage.models import AuditEntry, Invitation, Participant, Site
from storage.staff import add_staff
from web_survey.rounds import run_round

from .staff.conftest import PASSWORD, Staff, csrf_of, table_rows
from .twilio_fakes import PHONE, post_signed, twilio_settings

START = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # a Monday morning, outside quiet hours


@pytest.fixture
def app_config(app_config, stand_in):
    app_config.update(twilio_settings(stand_in.url))
    return app_config


@pytest.fixture
def clock(nsw):
    """Outreach's clock, moved by the test (``clock.now``)."""

    class Clock:
        now = START

        def __call__(self) -> datetime:
            return self.now

    fake = Clock()
    nsw.outreach.clock = fake
    return fake


def set_order(nsw, order: str = "sms,voice,web", after: int = 3, most: int = 2,
              site: str = "CAL") -> None:
    with nsw.uow() as uow:
        found = uow.repo.site(site)
        found.fallback_order, found.remind_after_days, found.remind_most = order, after, most
        uow.commit()


def invite(nsw, code: str = "CAL-0001", channel: str = "sms") -> int:
    """Invite one person as ``invite`` does, and send it (in process: no Redis)."""
    from web_survey.sending import send_wave

    with nsw.uow() as uow:
        report = send_wave(nsw, uow, uow.repo.site("CAL"), "baseline", channel, "lead",
                           code)
        return report.sent[0].id


def steps(nsw, code: str = "CAL-0001") -> list[tuple[str, str, int | None]]:
    """(channel, status, previous id) of each of a person's invitations, in order."""
    with nsw.uow() as uow:
        return [(i.channel, i.status, i.previous_id) for i in uow.session.scalars(
            select(Invitation).join(Invitation.participant).where(Participant.code == code)
            .order_by(Invitation.id))]


def audit(nsw, action: str) -> list[dict]:
    with nsw.uow() as uow:
        return [entry.detail for entry in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def test_a_refused_number_falls_back_to_a_call_then_a_printed_link(
        nsw, cli, make_participant, stand_in, client, make_staff_cal):
    make_participant("CAL-0001", preferred_channel="sms")
    set_order(nsw)
    stand_in.invalid.add(PHONE)

    cli("invite", "--site", "CAL", "--wave", "baseline")
    assert steps(nsw) == [("sms", "failed", None)]

    first = cli("tick")  # the call: Twilio refuses the number for calls too
    sms_id = _ids(nsw)[0]
    assert steps(nsw) == [("sms", "failed", None), ("voice", "failed", sms_id)]
    assert "CAL-0001\tvoice\tnext channel, after sms: Failed" in first.stdout
    cli("tick")  # the end of the order: a link for a worker to print
    voice_id = _ids(nsw)[1]
    assert steps(nsw)[2] == ("web", "created", voice_id)
    cli("tick")
    assert len(steps(nsw)) == 3  # nothing after the last channel
    assert [m["To"] for m in stand_in.sent("Messages")] == [PHONE]
    assert [c["To"] for c in stand_in.sent("Calls")] == [PHONE]

    assert [(d["channel"], d["after"], d["why"]) for d in audit(nsw, "fallback")] == [
        ("voice", "sms", "Failed"), ("web", "voice", "Failed")]

    staff = make_staff_cal
    page = staff.get("/staff/sites/CAL/invitations?wave=baseline").get_data(as_text=True)
    rows = table_rows(page, "invitations")
    assert [row[1:3] + row[5:6] for row in rows[1:]] == [
        ["Text message (SMS)", "Failed", ""],
        ["Phone call", "Failed", "Text message (SMS): failed"],
        ["Web link", "Link ready", "Phone call: failed"]]
    assert "1 person needs a link card from a worker" in page
    cards = staff.get("/staff/sites/CAL/invitations/print?wave=baseline&channel=web&steps=1")
    assert "CAL-0001" in cards.get_data(as_text=True)
    log = staff.get("/staff/sites/CAL/audit").get_data(as_text=True)
    assert "Next channel tried" in log and "after: voice" in log


def _ids(nsw) -> list[int]:
    with nsw.uow() as uow:
        return list(uow.session.scalars(select(Invitation.id).order_by(Invitation.id)))


@pytest.fixture
def make_staff_cal(nsw, client, monkeypatch):
    """Calderdale (made here) and its lead, signed in."""
    monkeypatch.setattr("storage.staff._hasher",
                        PasswordHasher.from_parameters(profiles.CHEAPEST))
    with nsw.uow() as uow:
        site = Site(code="CAL", name="Calderdale", contact_text="Call 0113 496 0000.")
        uow.session.add(site)
        add_staff(uow.repo, "lead@calderdale.example", PASSWORD, site, False, actor="test")
        uow.commit()
    staff = Staff(client)
    staff.sign_in("lead@calderdale.example")
    return staff


def test_an_undelivered_report_falls_back(nsw, client, make_participant, stand_in, clock):
    make_participant("CAL-0001", preferred_channel="sms")
    set_order(nsw, "sms,web")
    invite(nsw)
    with nsw.uow() as uow:
        sid = uow.session.scalar(select(Invitation.provider_id))
    assert steps(nsw) == [("sms", "queued", None)]

    post_signed(client, "/twilio/status", {"MessageSid": sid, "MessageStatus": "undelivered",
                                           "ErrorCode": "30005"})

    run_round(nsw)
    assert [s[:2] for s in steps(nsw)] == [("sms", "failed"), ("web", "created")]


def test_no_answer_in_time_tries_the_next_channel(nsw, make_participant, stand_in, clock):
    """The site's rule: remind after 3 days, twice; no answer 3 days after the second
    reminder (9 days) means the channel has had its chance."""
    make_participant("CAL-0001", preferred_channel="sms")
    set_order(nsw, "sms,voice")
    invite(nsw)
    for days in (3, 6):
        clock.now = START + timedelta(days=days)
        assert run_round(nsw).counts()["reminded"] == 1
    clock.now = START + timedelta(days=9) - timedelta(minutes=1)
    assert run_round(nsw).counts() == {"sent": 0, "steps": 0, "reminded": 0, "deferred": 0,
                                       "recurring": 0}
    clock.now = START + timedelta(days=9)
    report = run_round(nsw)
    assert report.steps == [("CAL-0001", "voice", "after sms: No answer in 9 days")]
    assert [s[:2] for s in steps(nsw)] == [("sms", "queued"), ("voice", "queued")]
    assert [c["To"] for c in stand_in.sent("Calls")] == [PHONE]


def test_someone_who_started_is_reminded_where_they_are(nsw, make_participant, stand_in,
                                                       clock):
    pid = make_participant("CAL-0001", preferred_channel="sms")
    set_order(nsw, "sms,voice", after=1, most=0)
    invite(nsw)
    nsw.conversations.handle(pid, "sms", Event(EventKind.TEXT, "yes"))
    clock.now = START + timedelta(days=5)
    assert run_round(nsw).steps == []
    assert len(steps(nsw)) == 1


def test_stop_ends_it_on_every_channel(nsw, client, make_participant, stand_in, clock):
    make_participant("CAL-0001", preferred_channel="sms")
    make_participant("CAL-0002", phone="+447700900002", preferred_channel="sms")
    set_order(nsw, "sms,voice,web")
    stand_in.invalid.update({PHONE, "+447700900002"})
    invite(nsw, "CAL-0001")
    invite(nsw, "CAL-0002")
    # CAL-0001 texts STOP to our number before the next round.
    post_signed(client, "/twilio/sms", {"From": PHONE, "Body": "STOP", "MessageSid": "SM9"})

    for days in range(0, 30, 3):
        clock.now = START + timedelta(days=days)
        run_round(nsw)

    assert steps(nsw, "CAL-0001") == [("sms", "failed", None)]
    assert [s[0] for s in steps(nsw, "CAL-0002")] == ["sms", "voice", "web"]
    assert [c["To"] for c in stand_in.sent("Calls")] == ["+447700900002"]


def test_a_site_without_an_order_uses_only_the_own_channel(nsw, make_participant, stand_in,
                                                          clock):
    make_participant("CAL-0001", preferred_channel="sms")
    stand_in.invalid.add(PHONE)
    invite(nsw)
    clock.now = START + timedelta(days=30)
    assert run_round(nsw).steps == []
    assert steps(nsw) == [("sms", "failed", None)]


def test_a_channel_the_person_cannot_use_is_passed_over(nsw, make_participant, stand_in,
                                                       clock):
    """No phone: a text cannot be sent, a call neither; the web link can."""
    make_participant("CAL-0001", phone=None, preferred_channel="sms")
    set_order(nsw, "sms,voice,web")
    invite(nsw)
    assert steps(nsw) == [("sms", "no_phone", None)]
    run_round(nsw)
    assert [s[:2] for s in steps(nsw)] == [("sms", "no_phone"), ("web", "created")]
    # Erasing the person erases every step of theirs, though the steps point at each other.
    with nsw.uow() as uow:
        erase(uow.repo, uow.repo.participant("CAL-0001"), "test")
        uow.commit()
    assert steps(nsw) == []


def test_site_set_and_the_settings_page_store_the_order_and_rule(nsw, cli, make_participant,
                                                                make_staff_cal):
    done = cli("site", "set", "CAL", "--fallback", "sms, voice ,web", "--remind-after-days",
               "4", "--remind-most", "1")
    assert done.stdout == ("CAL: fallback sms -> voice -> web; remind after 4 days, at most "
                           "1 times\n")
    bad = cli("site", "set", "CAL", "--fallback", "sms,pigeon", expect=1)
    assert "'pigeon' is not a channel" in bad.output
    assert cli("site", "set", "CAL", "--remind-most", "9", expect=1).exit_code == 1

    staff = make_staff_cal
    page = staff.get("/staff/sites/CAL/settings").get_data(as_text=True)
    assert 'value="sms, voice, web"' in page and 'value="4"' in page
    form = {"csrf_token": csrf_of(staff.get("/staff/sites/CAL/settings")),
            "contact_text": "Call 0113 496 0000.", "safeguarding_lead": "Jo Smith",
            "worrying_words": "hurt", "fallback_order": "voice, voice",
            "remind_after_days": "2", "remind_most": "3"}
    refused = staff.client.post("/staff/sites/CAL/settings", data=form)
    assert refused.status_code == 400
    assert "voice is in the order twice" in refused.get_data(as_text=True)
    form["fallback_order"] = "whatsapp, web"
    assert staff.client.post("/staff/sites/CAL/settings", data=form).status_code == 302
    with nsw.uow() as uow:
        site = uow.repo.site("CAL")
        assert (site.fallback_channels, site.remind_after_days, site.remind_most) == (
            ("whatsapp", "web"), 2, 3)
    assert audit(nsw, "site_settings")[-1]["fallback"] == "whatsapp,web"

