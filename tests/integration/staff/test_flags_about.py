"""A worrying answer a family member gives about a person is that person's flag too:
the review queue and the person's page say whom it is about, and erasing the person
removes it."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.engine import Event
from bot.service import Sender
from bot.service.recordings import Audio
from storage.models import AuditEntry, Participant, Recording, SafeguardingFlag
from web_survey.bootstrap import Services

from .conftest import Staff, table_rows

FAMILY_PHONE = "+447700900155"
WORRY = "No. They hit him at night"


@pytest.fixture
def flagged(nsw: Services, sites: dict[str, int], cli: Callable[..., object],
            make_participant: Callable[..., int]) -> dict[str, int]:
    """CAL-0001, and CAL-F01, their family member, who says by text that CAL-0001 does
    not feel safe; the ids of both."""
    person = make_participant("CAL-0001", phone=None)
    cli("participant", "add", "--site", "CAL", "--code", "CAL-F01", "--type", "family",
        "--phone", FAMILY_PHONE, "--channel", "sms", "--about", "CAL-0001")
    family = Sender("phone", FAMILY_PHONE)
    reply = nsw.conversations.handle(family, "sms", Event("text", "hello"))
    while reply.question is not None and reply.question.question_id != "safe":
        reply = nsw.conversations.handle(family, "sms", Event("text", "1"))
    nsw.conversations.handle(family, "sms", Event("text", WORRY))
    with nsw.uow() as uow:
        return {"CAL-0001": person, "CAL-F01": uow.repo.participant("CAL-F01").id}


def _flags(nsw: Services) -> list[tuple[str, str | None, str]]:
    """Every flag: who answered, whom about (a code or None), the words."""
    with nsw.uow() as uow:
        codes = dict(uow.session.execute(select(Participant.id, Participant.code)).all())
        flags = uow.session.scalars(select(SafeguardingFlag).order_by(SafeguardingFlag.id))
        return [(codes[f.participant_id], codes.get(f.about_id), f.text) for f in flags]


def test_a_flag_on_an_answer_about_someone_names_them(
        nsw: Services, flagged: dict[str, int]) -> None:
    assert _flags(nsw) == [("CAL-F01", "CAL-0001", WORRY)]


def test_the_review_queue_and_the_persons_page_say_whom_it_is_about(
        nsw: Services, as_cal: Staff, flagged: dict[str, int]) -> None:
    queue = html.unescape(as_cal.get("/staff/sites/CAL/").get_data(as_text=True))
    assert "CAL-F01, baseline wave, question “safe”" in queue
    assert ">CAL-0001</a>." in queue and "About <a href=" in queue
    page = as_cal.get("/staff/sites/CAL/participants/CAL-0001").get_data(as_text=True)
    assert "Worrying answers (1)" in page
    rows = table_rows(page, "flags")
    assert rows[1][1:6] == ["CAL-F01", "About CAL-0001", "baseline", "safe", WORRY]
    assert rows[1][-1] == "Waiting for review"
    # The family member's own page lists it too, as theirs.
    theirs = as_cal.get("/staff/sites/CAL/participants/CAL-F01").get_data(as_text=True)
    assert table_rows(theirs, "flags")[1][1:3] == ["CAL-F01", "About CAL-0001"]

    with nsw.uow() as uow:
        flag_id = uow.session.scalar(select(SafeguardingFlag.id))
    handled = as_cal.post(f"/staff/sites/CAL/flags/{flag_id}/handled",
                          data={"note": "Rang the family."}, form_page="/staff/sites/CAL/",
                          follow_redirects=True).get_data(as_text=True)
    assert "The flag for CAL-F01 about CAL-0001 is marked as handled." in handled
    assert "CAL-F01 (about CAL-0001): handled by lead@calderdale.example" in handled
    page = as_cal.get("/staff/sites/CAL/participants/CAL-0001").get_data(as_text=True)
    assert table_rows(page, "flags")[1][-1].startswith(
        "Handled by lead@calderdale.example on ")
    with nsw.uow() as uow:
        detail = uow.session.scalar(select(AuditEntry.detail).where(
            AuditEntry.action == "flag_handled"))
    assert detail == {"flag": flag_id, "participant": "CAL-F01", "about": "CAL-0001"}


def test_a_voice_message_about_someone_and_what_it_says_are_their_flags_too(
        nsw: Services, flagged: dict[str, int]) -> None:
    family = flagged["CAL-F01"]
    reply = nsw.conversations.handle(family, "sms", Event("text", "1"))
    while reply.question is not None and reply.question.question_id != "life_better":
        reply = nsw.conversations.handle(family, "sms", Event("text", "1"))
    sound = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32)
    nsw.conversations.record(family, "telegram", Audio(sound, "audio/wav", 1.0),
                             "life_better")
    with nsw.uow() as uow:
        recording = uow.session.scalar(select(Recording.id))
    assert recording is not None
    said = "They hurt him when I am not there."
    assert nsw.listening.transcribe("CAL", recording, said, "lead@calderdale.example")
    flags = _flags(nsw)
    assert [(by, about) for by, about, _ in flags] == [("CAL-F01", "CAL-0001")] * 3
    assert flags[-1][2] == said


def test_erasing_the_person_spoken_about_removes_the_flag(
        nsw: Services, cli: Callable[..., object], flagged: dict[str, int]) -> None:
    cli("participant", "erase", "CAL-0001", "--yes")
    assert _flags(nsw) == []
    with nsw.uow() as uow:
        assert uow.repo.participant("CAL-F01") is not None


def test_erasing_the_person_who_answered_removes_it_too(
        nsw: Services, cli: Callable[..., object], flagged: dict[str, int]) -> None:
    cli("participant", "erase", "CAL-F01", "--yes")
    assert _flags(nsw) == []
