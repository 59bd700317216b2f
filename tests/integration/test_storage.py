"""Storage: answers and progress commit together, retries record once, contacts are secret."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from bot.engine import Event
from storage.models import Answer, Contact, InboundMessage
from storage.uow import Repository
from tests.helpers import stored_answers

PHONE = "+447700900001"


def test_repeated_inbound_id_records_once_and_replies_the_same(nsw, make_participant):
    pid = make_participant()
    conv = nsw.conversations
    conv.handle(pid, "sms", Event("start"), inbound=("twilio-sms", "SM1"))
    conv.handle(pid, "sms", Event("text", "yes"), inbound=("twilio-sms", "SM2"))
    first = conv.handle(pid, "sms", Event("text", "1"), inbound=("twilio-sms", "SM3"))
    again = conv.handle(pid, "sms", Event("text", "1"), inbound=("twilio-sms", "SM3"))
    assert again.duplicate and not first.duplicate
    assert [p.text for p in again.prompts] == [p.text for p in first.prompts]
    assert stored_answers(nsw, pid, "value_code") == {"who": 1}
    with nsw.uow() as uow:
        progress = uow.repo.response(uow.repo.participant_by_id(pid), "baseline").progress
        assert progress["current"] == "practice", "the retry did not move the survey on"


def test_concurrent_deliveries_of_one_message_record_once(nsw, make_participant):
    pid = make_participant()
    conv = nsw.conversations
    conv.handle(pid, "sms", Event("start"))
    conv.handle(pid, "sms", Event("text", "yes"))
    barrier = threading.Barrier(4)
    replies = []

    def deliver() -> None:
        barrier.wait()
        replies.append(conv.handle(pid, "sms", Event("text", "2"), inbound=("twilio-sms", "SMX")))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(replies) == 4
    assert sum(not r.duplicate for r in replies) == 1
    assert stored_answers(nsw, pid, "value_code") == {"who": 2}
    with nsw.uow() as uow:
        count = uow.session.scalar(select(func.count()).select_from(InboundMessage))
        assert count == 1


def overtaken_once(monkeypatch, method: str, nsw, pid) -> list:
    """Make ``Repository.<method>`` first store another text from the same person, "2",
    the first time it is called; the list gets that text's reply."""
    original = getattr(Repository, method)
    overtaking: list = []

    def overtaken(self, *args, **kwargs):
        if not overtaking:
            overtaking.append(None)  # so the overtaking text is not overtaken in turn
            overtaking[0] = nsw.conversations.handle(pid, "sms", Event("text", "2"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Repository, method, overtaken)
    return overtaking


def test_a_message_that_read_an_old_response_runs_again_on_the_new_one(
        nsw, make_participant, monkeypatch):
    pid = make_participant()
    conv = nsw.conversations
    conv.handle(pid, "sms", Event("start"))
    conv.handle(pid, "sms", Event("text", "yes"))
    overtaking = overtaken_once(monkeypatch, "save_turn", nsw, pid)
    late = conv.handle(pid, "sms", Event("text", "1"))
    assert overtaking[0].question.question_id == "practice"
    # The late text answered the question it found on its second run, the practice one,
    # and left the first text's answer alone.
    assert late.question.question_id not in ("who", "practice")
    assert stored_answers(nsw, pid, "value_code") == {"who": 2}


def test_a_stop_overtaken_by_an_answer_still_opts_the_person_out(
        nsw, make_participant, monkeypatch):
    pid = make_participant()
    conv = nsw.conversations
    conv.handle(pid, "sms", Event("start"))
    conv.handle(pid, "sms", Event("text", "yes"))
    # The person's answer is stored while their STOP is being recorded.
    overtaken_once(monkeypatch, "save_turn", nsw, pid)
    conv.opt_out(pid, True, "participant by sms")
    assert stored_answers(nsw, pid, "value_code") == {"who": 2}
    with nsw.uow() as uow:
        person = uow.repo.participant_by_id(pid)
        assert person.opted_out
        assert uow.repo.response(person, "baseline").status == "opted_out"


def test_answer_and_progress_commit_together_or_not_at_all(nsw, make_participant, monkeypatch):
    pid = make_participant()
    conv = nsw.conversations
    conv.handle(pid, "sms", Event("start"))
    conv.handle(pid, "sms", Event("text", "yes"))

    def crash(*_args, **_kwargs):
        raise RuntimeError("power cut between answer and progress")

    monkeypatch.setattr(Repository, "save_turn", _save_then(crash))
    with pytest.raises(RuntimeError):
        conv.handle(pid, "sms", Event("text", "1"))
    monkeypatch.undo()
    assert stored_answers(nsw, pid, "value_code") == {}
    with nsw.uow() as uow:
        progress = uow.repo.response(uow.repo.participant_by_id(pid), "baseline").progress
        assert progress["current"] == "who"
    reply = conv.handle(pid, "sms", Event("text", "1"))
    assert reply.question.question_id == "practice"
    assert stored_answers(nsw, pid, "value_code") == {"who": 1}


def _save_then(crash):
    original = Repository.save_turn

    def save(self, *args):
        original(self, *args)
        crash()

    return save


def test_contacts_are_encrypted_and_found_by_keyed_hash(nsw, make_participant):
    pid = make_participant(phone=PHONE)
    with nsw.uow() as uow:
        raw = uow.session.execute(text("SELECT kind, lookup, secret FROM contacts")).all()
        assert len(raw) == 1
        kind, lookup, secret = raw[0]
        assert kind == "phone"
        assert PHONE not in lookup and PHONE.encode() not in bytes(secret)
        assert b"7700900001" not in bytes(secret)
        found = uow.repo.participant_by_contact(uow.repo.site("CAL").id, "phone", PHONE)
        assert found is not None and found.id == pid
        assert uow.repo.contact_value(found, "phone") == PHONE
        assert uow.repo.holders("phone", "+447700900002") == []


def test_another_data_key_cannot_read_or_find_contacts(nsw, make_participant):
    from storage.crypto import Vault
    from storage.uow import UnitOfWork

    make_participant(phone=PHONE)
    other = UnitOfWork(nsw.session_factory, Vault("another-key"))
    with other as uow:
        assert uow.repo.holders("phone", PHONE) == []
        contact = uow.session.scalar(select(Contact))
        with pytest.raises(ValueError, match="another DATA_KEY"):
            uow.repo.vault.decrypt(contact.secret)


def test_who_answered_and_channel_travel_with_every_answer(nsw, make_participant):
    pid = make_participant()
    conv = nsw.conversations
    conv.handle(pid, "sms", Event("start"))
    conv.handle(pid, "sms", Event("text", "yes"))
    conv.handle(pid, "sms", Event("text", "with help"))
    conv.handle(pid, "voice", Event("key", "1"))
    conv.handle(pid, "voice", Event("key", "1"))
    with nsw.uow() as uow:
        rows = uow.session.execute(select(Answer.question_id, Answer.channel,
                                          Answer.who_answered)).all()
        assert sorted(rows) == [("know_sw", "voice", "supported"), ("who", "sms", "supported")]
