"""The one door: every inbound message is one transaction, and opting out or back in never
changes a finished response, whichever channel it comes by."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.engine import Event
from storage.models import (
    AuditEntry,
    Invitation,
    KeptMessage,
    Participant,
    Response,
    SafeguardingFlag,
)
from web_survey.bootstrap import Services

from .telegram_standin import SECRET, TOKEN, BotApiStandIn, Person, post_update
from .twilio_fakes import PHONE, messages, post_signed, sid, twilio_settings, twiml

# The individual baseline survey by text, to the end.
SCRIPT = ["Hello", "yes", "1", "yes", "1", "happy", "yes", "no", "0", "y", "😐",
          "More time outside"]
CHAT = 555777


@pytest.fixture
def api() -> Iterator[BotApiStandIn]:
    with BotApiStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def app_config(app_config: dict[str, Any], api: BotApiStandIn) -> dict[str, Any]:
    app_config.update(twilio_settings(), TELEGRAM_BOT_TOKEN=TOKEN,
                      TELEGRAM_API_BASE_URL=api.url, TELEGRAM_WEBHOOK_SECRET=SECRET)
    return app_config


@pytest.fixture
def sam(app: Any, client: Any, api: BotApiStandIn) -> Iterator[Person]:
    """Someone in a Telegram chat with the bot, by the webhook route."""

    def deliver(update: dict[str, Any]) -> None:
        assert post_update(client, update).status_code == 200

    yield Person(api, deliver, CHAT)
    app.extensions["telegram"].close()


def text(client: Any, body: str) -> Any:
    form = {"MessageSid": sid("SM"), "From": PHONE, "To": "+447700900999", "Body": body,
            "AccountSid": "AC" + "0" * 32}
    response = post_signed(client, "/twilio/sms", form)
    assert response.status_code == 200, response.get_data(as_text=True)
    return messages(twiml(response))


def status(nsw: Services, pid: int) -> str:
    with nsw.uow() as uow:
        return uow.session.scalar(select(Response.status).where(
            Response.participant_id == pid))


def audited(nsw: Services) -> list[str]:
    with nsw.uow() as uow:
        return [a.action for a in uow.session.scalars(select(AuditEntry).order_by(
            AuditEntry.id))]


def phrase(nsw: Services, phrase_id: str) -> str:
    return nsw.surveys.phrase(phrase_id, "en")


# ---------------------------------------------------------------- STOP and START


def test_stop_then_start_after_finishing_by_text_keeps_the_response_completed(
        client, nsw, make_participant):
    pid = make_participant()
    for body in SCRIPT:
        text(client, body)
    assert status(nsw, pid) == "completed"

    assert text(client, "STOP") == [phrase(nsw, "opted_out_text")]
    assert status(nsw, pid) == "completed"
    assert text(client, "START") == [phrase(nsw, "opted_in_text"),
                                     phrase(nsw, "already_completed")]
    # Every later text gets a kind reply (this used to be HTTP 500 for good); words are
    # a message someone will read.
    for body in ("1", "👍", "2"):
        assert text(client, body) == [phrase(nsw, "already_completed")]
    assert text(client, "hello") == [phrase(nsw, "already_completed")]
    assert text(client, "hello again") == [phrase(nsw, "message_kept")]
    assert status(nsw, pid) == "completed"
    assert audited(nsw) == ["opt_out", "opt_in"]


def test_stop_and_start_part_way_carry_on_where_the_person_was(client, nsw, make_participant):
    pid = make_participant()
    for body in SCRIPT[:4]:
        text(client, body)
    assert text(client, "STOP") == [phrase(nsw, "opted_out_text")]
    assert status(nsw, pid) == "opted_out"
    assert text(client, "1") == [phrase(nsw, "already_opted_out")]
    reply = text(client, "START")
    assert reply[0] == phrase(nsw, "opted_in_text")
    assert reply[1].startswith("Welcome back. You are on question 2")
    assert status(nsw, pid) == "started"
    # A second STOP is answered the same and audited once.
    text(client, "STOP")
    text(client, "STOP")
    assert audited(nsw) == ["opt_out", "opt_in", "opt_out"]


def test_a_first_stop_opts_out_without_making_an_empty_response(client, nsw, make_participant):
    pid = make_participant()
    assert text(client, "STOP") == [phrase(nsw, "opted_out_text")]
    with nsw.uow() as uow:
        assert uow.session.get(Participant, pid).opted_out
        assert uow.session.scalar(select(Response)) is None


def test_telegram_stop_and_start_after_finishing_keep_the_response_completed(
        sam, nsw, make_participant):
    pid = make_participant(phone=None)
    with nsw.uow() as uow:
        person = uow.session.get(Participant, pid)
        uow.repo.add_invitation(person, "baseline", "telegram")
        uow.commit()
        token = uow.session.scalar(select(Invitation.token))
    sam.type(f"/start {token}")
    for body in SCRIPT[1:]:
        sam.type(body)
    assert status(nsw, pid) == "completed"
    sam.type("/stop")
    sam.type("/start")
    sam.type("1")
    assert [s.text for s in sam.seen()[-3:]] == [
        phrase(nsw, "opted_in_buttons"), phrase(nsw, "already_completed"),
        phrase(nsw, "already_completed")]
    assert status(nsw, pid) == "completed"
    assert audited(nsw) == ["opt_out", "opt_in"]


def test_staff_or_provider_opt_out_of_a_finished_call_survey_keeps_it_completed(
        client, nsw, make_participant):
    pid = make_participant()
    conversations = nsw.conversations
    for body in SCRIPT:
        conversations.handle(pid, "voice", Event("text", body) if body != "Hello"
                             else Event("start"))
    assert status(nsw, pid) == "completed"
    conversations.opt_out(pid, True, "twilio: unsubscribed (21610)")
    conversations.opt_out(pid, False, "lead@example.org")
    form = {"CallSid": sid("CA"), "From": PHONE, "To": "+447700900999",
            "AccountSid": "AC" + "0" * 32, "Direction": "inbound"}
    response = post_signed(client, "/twilio/voice", form)
    assert response.status_code == 200
    assert status(nsw, pid) == "completed"


# ---------------------------------------------------------------- one transaction


@pytest.fixture
def transactions(nsw: Services) -> Iterator[list[str]]:
    """Each transaction begun on the app's database while the test runs."""
    begun: list[str] = []

    def count(connection: Any) -> None:
        begun.append("begin")

    event.listen(nsw.engine, "begin", count)
    yield begun
    event.remove(nsw.engine, "begin", count)


def test_each_inbound_text_is_one_transaction(client, nsw, make_participant, transactions):
    make_participant()
    for body in [*SCRIPT[:4], "STOP", "START", "HELP", "again"]:
        transactions.clear()
        text(client, body)
        assert len(transactions) == 1, body


def test_each_step_of_a_call_is_one_transaction(client, nsw, make_participant, transactions):
    make_participant()
    call = sid("CA")
    form = {"CallSid": call, "From": PHONE, "To": "+447700900999",
            "AccountSid": "AC" + "0" * 32, "Direction": "inbound"}
    transactions.clear()
    assert post_signed(client, "/twilio/voice", form).status_code == 200
    assert len(transactions) == 1
    for turn, (question, digits) in enumerate((("consent", "1"), ("who", "1")), start=1):
        transactions.clear()
        response = post_signed(client, f"/twilio/voice/turn?q={question}&n={turn}",
                               {**form, "Digits": digits})
        assert response.status_code == 200
        assert len(transactions) == 1


def test_each_telegram_update_is_one_transaction(sam, nsw, make_participant, transactions):
    pid = make_participant(phone=None)
    with nsw.uow() as uow:
        uow.repo.add_invitation(uow.session.get(Participant, pid), "baseline", "telegram")
        uow.commit()
        token = uow.session.scalar(select(Invitation.token))
    for step in (lambda: sam.type(f"/start {token}"), lambda: sam.press("👍 Yes"),
                 lambda: sam.type("me"), lambda: sam.type("/help"), lambda: sam.type("/stop"),
                 lambda: sam.type("/start")):
        transactions.clear()
        step()
        assert len(transactions) == 1


def test_each_web_page_is_one_transaction(client, nsw, make_participant, transactions):
    pid = make_participant(phone=None)
    with nsw.uow() as uow:
        invitation = uow.repo.add_invitation(uow.session.get(Participant, pid), "baseline",
                                             "web")
        uow.commit()
        token = invitation.token
    transactions.clear()
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    assert len(transactions) == 1
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert csrf is not None
    transactions.clear()
    answered = client.post(f"/s/{token}", data={"csrf_token": csrf.group(1),
                                                "question": "consent", "choice": "1"})
    assert answered.status_code == 200
    assert len(transactions) == 1


# ---------------------------------------------------------------- messages after the end


def test_a_text_after_finishing_is_kept_read_for_worries_and_shown_to_staff(
        client, nsw, make_participant):
    pid = make_participant()
    for body in SCRIPT:
        text(client, body)
    thanks = phrase(nsw, "message_kept")
    assert text(client, "Thank you, that was nice") == [thanks]
    worried = text(client, "He hits me when the staff go home")
    assert worried[0] == thanks and "call 999" in worried[1]
    assert text(client, "help") == [phrase(nsw, "already_completed")]  # a command, not a message
    with nsw.uow() as uow:
        kept = list(uow.session.scalars(select(KeptMessage).order_by(KeptMessage.id)))
        assert [uow.repo.vault.decrypt(m.secret) for m in kept] == [
            "Thank you, that was nice", "He hits me when the staff go home"]
        assert b"hits" not in kept[1].secret  # encrypted at rest
        flag = uow.session.scalar(select(SafeguardingFlag))
        assert (flag.question_id, flag.text) == ("message", "He hits me when the staff go home")
    assert status(nsw, pid) == "completed"


def test_a_text_after_opting_out_is_kept_too(client, nsw, make_participant):
    make_participant()
    text(client, "STOP")
    assert text(client, "yes") == [phrase(nsw, "already_opted_out")]
    assert text(client, "scared")[0] == phrase(nsw, "message_kept")
    with nsw.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(KeptMessage)) == 1
        assert uow.session.scalar(select(SafeguardingFlag.matched)) == "scared"


def test_a_telegram_update_that_fails_mid_way_is_not_acknowledged_and_its_retry_is_stored(
        app, client, nsw, api, make_participant, monkeypatch):
    from sqlalchemy.exc import OperationalError

    pid = make_participant(phone=None)
    with nsw.uow() as uow:
        uow.repo.add_invitation(uow.session.get(Participant, pid), "baseline", "telegram")
        uow.commit()
        token = uow.session.scalar(select(Invitation.token))
    statuses: list[int] = []

    def deliver(update: dict) -> None:
        statuses.append(post_update(client, update).status_code)

    person = Person(api, deliver, CHAT)
    person.type(f"/start {token}")
    handle = type(nsw.conversations).handle

    def database_gone(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("the database went away"))

    monkeypatch.setattr(type(nsw.conversations), "handle", database_gone)
    update = person.type("yes")
    monkeypatch.setattr(type(nsw.conversations), "handle", handle)
    person.deliver(update)  # Telegram sends it again
    app.extensions["telegram"].close()
    assert statuses == [200, 503, 200]
    with nsw.uow() as uow:
        assert uow.session.scalar(select(Response.status)) == "started"
        assert uow.session.scalar(select(Response.consent_given)) is True
