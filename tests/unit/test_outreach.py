"""Outreach's rules over a fake provider: no Twilio, no database.

Participants and invitations are plain model objects that are never added to a session;
the repository and the conversation service are small stand-ins that record their calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.engine import Event, Prompt
from bot.service.outreach import (
    PROVIDER_STATUSES,
    RANK,
    STAFF_LABELS,
    InvitationStatus,
    Outreach,
    PermanentFailure,
    QuietHours,
    Rule,
    TemporaryFailure,
    Unsubscribed,
    advance,
    next_channel,
    reason_not_to_contact,
    step_over,
)
from bot.service.reach import SettingError, fallback_order
from storage.models import Invitation, Participant
from tests.fake_senders import FakeSender, call_row, text_row

PHONE = "+447700900001"
NOON = datetime(2025, 7, 1, 11, 0, tzinfo=UTC)       # 12:00 in London
MIDNIGHT = datetime(2025, 7, 1, 23, 0, tzinfo=UTC)   # 00:00 in London
QUIET = QuietHours.parse("20:00-09:00", "Europe/London")


@dataclass
class Reply:
    prompts: tuple[Prompt, ...]


@dataclass
class Conversations:
    """The conversation service as outreach sees it: ``handle`` and ``opt_out``."""

    handled: list[tuple[int, str, Event]] = field(default_factory=list)
    opted_out: list[tuple[int, bool, str]] = field(default_factory=list)

    def handle(self, who: int, channel: str, event: Event) -> Reply:
        self.handled.append((who, channel, event))
        return Reply((Prompt("say", "Hello from the council.", "en"),
                      Prompt("ask", "Is it OK to ask you some questions?", "en")))

    def opt_out(self, who: int, opted_out: bool, actor: str) -> str:
        self.opted_out.append((who, opted_out, actor))
        return "en"


@dataclass
class Repo:
    """The two reads outreach makes: a contact, and an invitation by the provider's id."""

    phones: dict[int, str] = field(default_factory=dict)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    reached: list[tuple[int, str]] = field(default_factory=list)

    def contact_value(self, person: Participant, kind: str) -> str | None:
        return self.phones.get(person.id) if kind == "phone" else None

    def mark_reached(self, person: Participant, kind: str, when: datetime) -> None:
        self.reached.append((person.id, kind))

    def invitation_by_provider_id(self, provider_id: str) -> Invitation | None:
        return self.invitations.get(provider_id)


@dataclass
class Uow:
    repo: Repo
    commits: int = 0

    def __enter__(self) -> Uow:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1


def person(pid: int = 7, **fields: Any) -> Participant:
    return Participant(id=pid, code=f"CAL-{pid:04d}", opted_out=fields.pop("opted_out", False),
                       **fields)


def invitation(who: Participant, channel: str = "sms", **fields: Any) -> Invitation:
    values = {"status": "created", "provider_id": "", "sent_at": None, **fields}
    return Invitation(participant=who, participant_id=who.id, channel=channel, wave="baseline",
                      **values)


@pytest.fixture
def world() -> tuple[Outreach, FakeSender, Conversations, Repo]:
    sender, conversations, repo = FakeSender(), Conversations(), Repo()
    uow = Uow(repo)
    outreach = Outreach(conversations, lambda: uow,
                        {"sms": text_row(sender), "voice": call_row(sender)},
                        QUIET, clock=lambda: NOON)
    return outreach, sender, conversations, repo


def test_a_text_opens_the_conversation_and_sends_each_message(world):
    outreach, sender, conversations, repo = world
    who = person()
    repo.phones[who.id] = PHONE
    sent = invitation(who)

    attempt = outreach.deliver(repo, sent)

    assert attempt.status is InvitationStatus.QUEUED and attempt.failure is None
    assert conversations.handled == [(7, "sms", Event("start"))]
    assert sender.texts == [(PHONE, "Hello from the council."),
                            (PHONE, "Is it OK to ask you some questions?")]
    assert (sent.status, sent.provider_id) == ("queued", f"SM{2:032d}")
    assert sent.sent_at == sent.status_at == NOON
    assert repo.reached == [(7, "phone")]  # the person's replies answer this site now


def test_a_call_rings_without_opening_the_conversation(world):
    outreach, sender, conversations, repo = world
    who = person()
    repo.phones[who.id] = PHONE
    called = invitation(who, "voice")
    assert outreach.deliver(repo, called).status is InvitationStatus.QUEUED
    assert sender.calls == [PHONE] and conversations.handled == []
    assert called.provider_id == f"CA{1:032d}"


@pytest.mark.parametrize(("opted_out", "phone", "now", "status"), [
    (True, PHONE, NOON, InvitationStatus.OPTED_OUT),
    (True, None, MIDNIGHT, InvitationStatus.OPTED_OUT),
    (False, None, MIDNIGHT, InvitationStatus.NO_PHONE),
    (False, PHONE, MIDNIGHT, InvitationStatus.HELD),
    (False, PHONE, NOON, None),
])
def test_who_may_be_contacted_now(opted_out, phone, now, status):
    who = person(opted_out=opted_out)
    assert reason_not_to_contact(who, phone, "phone", QUIET, now) is status


@pytest.mark.parametrize(("opted_out", "phone", "status"), [
    (True, PHONE, "opted_out"), (False, None, "no_phone")])
def test_nobody_who_may_not_be_contacted_is_sent_anything(world, opted_out, phone, status):
    outreach, sender, conversations, repo = world
    who = person(opted_out=opted_out)
    if phone:
        repo.phones[who.id] = phone
    tried = invitation(who)
    assert outreach.deliver(repo, tried).status == status
    assert sender.texts == [] and conversations.handled == []
    # Tried: the reminder rule tries again after the usual wait.
    assert tried.status == status and tried.sent_at == NOON


def test_quiet_hours_hold_the_invitation(world):
    outreach, sender, _, repo = world
    outreach.clock = lambda: MIDNIGHT
    who = person()
    repo.phones[who.id] = PHONE
    held = invitation(who, "voice")
    assert outreach.deliver(repo, held).status is InvitationStatus.HELD
    assert sender.calls == [] and held.provider_id == ""


def test_a_provider_saying_unsubscribed_opts_the_person_out(world):
    outreach, sender, conversations, repo = world
    sender.refuse = Unsubscribed("twilio", "21610")
    who = person()
    repo.phones[who.id] = PHONE
    refused = invitation(who)
    attempt = outreach.deliver(repo, refused)
    assert attempt.status is InvitationStatus.OPTED_OUT
    assert isinstance(attempt.failure, Unsubscribed)
    assert conversations.opted_out == [(7, True, "twilio: unsubscribed (21610)")]
    assert refused.status == "opted_out"


@pytest.mark.parametrize(("error", "status"), [
    # For good: the next channel of the site's order is tried. For now: sent again.
    (PermanentFailure("twilio", "21211", "HTTP 400, error 21211"), InvitationStatus.FAILED),
    (TemporaryFailure("twilio", "", "could not reach Twilio: timed out"),
     InvitationStatus.RETRY),
])
def test_a_refused_send_fails_and_says_how(world, error, status, caplog):
    outreach, sender, conversations, repo = world
    sender.refuse = error
    who = person()
    repo.phones[who.id] = PHONE
    refused = invitation(who)
    with caplog.at_level(logging.ERROR, logger="bot.service.outreach"):
        attempt = outreach.deliver(repo, refused)
    assert attempt.status is status and attempt.failure is error
    assert (refused.status, refused.sent_at) == (status.value, None)
    assert conversations.opted_out == []
    assert "CAL-0007" in caplog.text and error.detail in caplog.text
    assert PHONE not in caplog.text


@pytest.mark.parametrize(("current", "reported", "expected"), [
    ("queued", "sent", "sent"), ("sent", "delivered", "delivered"),
    ("delivered", "sent", None), ("answered", "ringing", None),
    ("queued", "no-answer", "no-answer"), ("sent", "undelivered", "failed"),
    ("held", "queued", "queued"), ("created", "sent", "sent"),
    ("queued", "receiving", None), ("mystery", "sent", "sent"),
])
def test_provider_reports_move_an_invitation_forward_only(current, reported, expected):
    assert advance(current, reported) == expected


def test_a_report_is_recorded_and_an_unsubscribe_in_it_opts_out(world):
    outreach, _, conversations, repo = world
    who = person()
    sent = invitation(who, status="queued", provider_id="SM1")
    repo.invitations["SM1"] = sent
    assert outreach.record_report("SM1", "delivered") is InvitationStatus.DELIVERED
    assert (sent.status, sent.status_at) == ("delivered", NOON)
    assert outreach.record_report("SM1", "sent") is None
    assert sent.status == "delivered"
    outreach.record_report("SM1", "undelivered", Unsubscribed("twilio", "21610"))
    assert sent.status == "failed"
    assert conversations.opted_out == [(7, True, "twilio: unsubscribed (21610)")]
    assert outreach.record_report("SM-not-ours", "delivered") is None
    assert outreach.record_report("", "delivered") is None


def test_every_status_has_a_staff_label_and_every_report_a_rank():
    assert set(STAFF_LABELS) == set(InvitationStatus)
    assert all(status.label and status.label != status.value for status in InvitationStatus)
    assert set(PROVIDER_STATUSES.values()) <= set(RANK)


def test_only_configured_channels_send(world):
    outreach, *_ = world
    assert outreach.sends("sms") and outreach.sends("voice")
    assert not outreach.sends("web") and not outreach.sends("whatsapp")


def test_quiet_hours_none_covers_nothing():
    assert not QuietHours.none().covers(MIDNIGHT)
    assert QUIET.covers(MIDNIGHT - timedelta(hours=3))  # 21:00 in London


# ---------------------------------------------------------------- fallback rules

RULE = Rule(timedelta(days=3), 2)


def sent(channel: str = "sms", **fields: Any) -> Invitation:
    """An invitation sent at NOON to someone at baseline, as a round finds it."""
    values = {"status": "delivered", "sent_at": NOON, "reminders_sent": 0,
              "reminded_at": None, "created_at": NOON, **fields}
    return invitation(person(current_wave="baseline"), channel, **values)


@pytest.mark.parametrize(("status", "reason"), [
    ("failed", "Failed"), ("no_phone", "No phone number"),
    ("held", None), ("created", None), ("opted_out", None), ("delivered", None),
    ("mystery", None),
])
def test_a_dead_end_moves_on_at_once_and_nothing_else_does(status, reason):
    assert step_over(sent(status=status), None, False, NOON, RULE) == reason


def test_no_answer_moves_on_after_the_reminders_and_one_more_wait():
    reminded = sent(reminders_sent=2, reminded_at=NOON + timedelta(days=6))
    assert step_over(reminded, None, False, NOON + timedelta(days=9, seconds=-1), RULE) is None
    assert step_over(reminded, None, False, NOON + timedelta(days=9), RULE) == (
        "No answer in 9 days")
    once = sent(reminders_sent=1, reminded_at=NOON + timedelta(days=3))
    assert step_over(once, None, False, NOON + timedelta(days=30), RULE) is None
    link = sent("web", status="created", sent_at=None)
    assert step_over(link, None, False, NOON + timedelta(days=9), RULE) == "No answer in 9 days"


@pytest.mark.parametrize("change", [
    {"replied": True}, {"response": "completed"}, {"opted_out": True}, {"moved_on": True}])
def test_nobody_who_replied_finished_opted_out_or_moved_on_is_moved(change):
    dead = sent(status="failed")
    dead.participant.opted_out = change.get("opted_out", False)
    if change.get("moved_on"):
        dead.participant.current_wave = "exit"
    assert step_over(dead, change.get("response"), change.get("replied", False), NOON,
                     RULE) is None


def test_the_next_channel_is_the_first_untried_one_that_can_reach_them():
    repo = Repo(phones={7: PHONE})
    who = person()
    order = ("sms", "voice", "whatsapp", "web")
    assert next_channel(order, ["sms"], who, repo, lambda name: True) == "voice"
    assert next_channel(order, ["sms"], who, repo, lambda name: name != "voice") == "whatsapp"
    assert next_channel(order, ["telegram"], who, repo, lambda name: True) == "sms"
    assert next_channel(order, ["sms"], person(8), repo, lambda name: True) == "web"
    assert next_channel(order, order, who, repo, lambda name: True) is None


@pytest.mark.parametrize(("typed", "order"), [
    ("sms,voice,web", ("sms", "voice", "web")), (" SMS , web ", ("sms", "web")),
    ("sms voice", ("sms", "voice")), ("", ()), ("none", ())])
def test_a_fallback_order_is_read_as_typed(typed, order):
    assert fallback_order(typed) == order


@pytest.mark.parametrize(("typed", "said"), [
    ("sms,pigeon", "'pigeon' is not a channel"), ("chat", "'chat' is not a channel"),
    ("web,sms,web", "web is in the order twice")])
def test_a_wrong_fallback_order_says_why(typed, said):
    with pytest.raises(SettingError, match=said):
        fallback_order(typed)
