"""Journal and story entries: added at any time, as often as liked, on every channel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.engine import Event
from bot.service import Sender
from storage.models import Answer, Participant, Response

from .test_site_plans import plan_file

JOURNAL = """\
id: journal
title: {en: "My diary"}
respondent_type: individual
languages: [en]
answered_by: self
consent:
  en: "Do you want to add to your diary now?"
questions:
  - id: today
    type: open
    record: true
    label: Diary entry
    text:
      en: "What do you want to tell us today?"
"""
PLAN = """\
timepoints:
  - {name: baseline}
  - {name: exit}
entries:
  - name: journal
    survey: journal
    keywords: {en: [DIARY, JOURNAL]}
    label: {en: diary entry}
"""
PHONE = "+447700900001"


@pytest.fixture
def person(cli, make_participant, tmp_path: Path) -> int:
    """A Calderdale participant whose site offers a journal."""
    pid = make_participant(phone=PHONE)
    survey = tmp_path / "journal.yaml"
    survey.write_text(JOURNAL, encoding="utf-8")
    cli("survey", "publish", str(survey), "--site", "CAL", "--reason", "the site calls it a diary")
    cli("plan", "publish", str(plan_file(tmp_path, PLAN)), "--site", "CAL")
    return pid


def entries(nsw) -> list[tuple[int, str, str, str]]:
    """Each journal entry stored: its number, status, channel and words."""
    with nsw.uow() as uow:
        return [tuple(row) for row in uow.session.execute(
            select(Response.occurrence, Response.status, Answer.channel, Answer.text)
            .join(Answer, Answer.response_id == Response.id)
            .where(Response.wave == "journal").order_by(Response.occurrence))]


def test_a_diary_entry_by_text_before_any_survey_then_the_survey_carries_on(nsw, person):
    texts = Sender("phone", PHONE)
    talk = nsw.conversations.handle
    assert talk(texts, "sms", Event("text", "hello")).question.question_id == "consent"
    reply = talk(texts, "sms", Event("text", "DIARY"))
    assert reply.question.text == "Do you want to add to your diary now?"
    talk(texts, "sms", Event("text", "yes"))
    done = talk(texts, "sms", Event("text", "I went to the park with my sister"))
    assert done.finished
    assert entries(nsw) == [(1, "completed", "sms", "I went to the park with my sister")]
    # The baseline survey waited, and carries on where it was.
    back = talk(texts, "sms", Event("text", "yes"))
    assert back.question.question_id == "who"
    with nsw.uow() as uow:
        baseline = uow.session.scalar(select(Response).where(Response.wave == "baseline"))
        assert baseline.occurrence == 0 and baseline.status == "started"


def test_entries_on_every_channel_after_the_survey_each_numbered(nsw, person, client):
    talk = nsw.conversations.handle
    with nsw.uow() as uow:
        uow.session.execute(
            Participant.__table__.update().values(preferred_channel="telegram"))
        uow.repo.set_contact(uow.repo.participant_by_id(person), "telegram", "5551")
        uow.commit()
    chat = Sender("telegram", "5551")
    # Finishing the baseline: a "no" to consent finishes it at once.
    talk(person, "sms", Event("start"))
    finished = talk(person, "sms", Event("text", "no"))
    assert finished.finished

    # SMS: a text after the end says how to add an entry, and the word starts one.
    offer = talk(Sender("phone", PHONE), "sms", Event("text", "hi"))
    assert "To add a diary entry, send DIARY." in [p.text for p in offer.prompts]
    for said in ("journal", "yes", "Good day at the shop"):
        talk(Sender("phone", PHONE), "sms", Event("text", said))

    # Telegram: the command, and the offer names it.
    offer = talk(chat, "telegram", Event("text", "hi"))
    assert "To add a diary entry, send /journal." in [p.text for p in offer.prompts]
    for said in ("/journal", "yes", "Bad night, could not sleep"):
        talk(chat, "telegram", Event("text", said))

    # Phone: a call when nothing is waiting offers the entries on the keypad.
    call = talk(person, "voice", Event("start"))
    menu = call.question
    assert menu is not None and menu.text == "To add a diary entry, press 1."
    assert talk(person, "voice", Event("key", "1", menu.question_id)).question.question_id \
        == "consent"
    talk(person, "voice", Event("key", "1", "consent"))
    talk(person, "voice", Event("recording", "call-1.wav", "today"))
    # A key that chooses nothing at the menu ends the call (no question waits).
    again = talk(person, "voice", Event("start"))
    assert talk(person, "voice", Event("key", "7", again.question.question_id)).question is None

    # Web: the finished link page offers the entry as a button.
    with nsw.uow() as uow:
        token = uow.repo.add_invitation(uow.repo.participant_by_id(person), "baseline",
                                        "web").token
        uow.commit()
    page = client.get(f"/s/{token}")
    assert page.status_code == 410 and "Add a diary entry" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    started = client.post(f"/s/{token}/entry", data={"entry": "journal", "csrf_token": csrf})
    assert started.status_code == 303
    question = client.get(f"/s/{token}")
    assert "Do you want to add to your diary now?" in question.text

    stored = entries(nsw)
    assert [(n, status, channel) for n, status, channel, _ in stored] == [
        (1, "completed", "sms"), (2, "completed", "telegram"), (3, "completed", "voice")]
    assert stored[1][3] == "Bad night, could not sleep"
    with nsw.uow() as uow:
        fourth = uow.session.scalar(select(Response).where(Response.wave == "journal",
                                                           Response.occurrence == 4))
        assert fourth is not None and fourth.status == "started"


def test_a_site_without_entries_treats_the_word_as_an_answer(nsw, make_participant):
    pid = make_participant(site="NOT", code="NOT-0001", phone="+447700900002")
    nsw.conversations.handle(pid, "sms", Event("start"))
    reply = nsw.conversations.handle(pid, "sms", Event("text", "DIARY"))
    assert reply.question.question_id == "consent"  # re-asked: not understood
    with nsw.uow() as uow:
        assert uow.session.scalar(select(Response).where(Response.wave == "journal")) is None


@pytest.mark.parametrize("word", ["STOP", "Help", "skip", "Ok"])
def test_an_entry_word_that_already_steers_a_conversation_is_refused(cli, person, tmp_path,
                                                                      word):
    plan = PLAN.replace("[DIARY, JOURNAL]", f"[DIARY, {word}]")
    refused = cli("plan", "publish", str(plan_file(tmp_path, plan, "clash.yaml")),
                  "--site", "CAL", expect=1)
    assert f"{word.upper()} already means something in every survey" in refused.output


def test_entry_surveys_whose_shared_columns_would_clash_are_refused(cli, person, tmp_path):
    """The entries export gives a question id two entry surveys share one column: a
    question today_recording in a story survey and the journal's open question today
    would both be today_recording, so the plan naming both is refused."""
    story = (JOURNAL.replace("id: journal", "id: cal_story")
             .replace("id: today\n    type: open\n    record: true",
                      "id: today_recording\n    type: yes_no"))
    path = tmp_path / "cal_story.yaml"
    path.write_text(story, encoding="utf-8")
    cli("survey", "publish", str(path), "--site", "CAL", "--reason", "a test")
    plan = PLAN + "  - name: story\n    survey: cal_story\n    keywords: {en: [STORY]}\n"
    refused = cli("plan", "publish", str(plan_file(tmp_path, plan, "both.yaml")),
                  "--site", "CAL", expect=1)
    assert ("entries: the survey 'cal_story' (question today_recording): the id "
            "today_recording is also the name of the column holding the recording of today "
            "of the survey journal in the entries export: choose another id"
            ) in refused.output
