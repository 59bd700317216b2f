"""Starting a wave again (Telegram's /restart), and voice messages where none is asked for.

Pure engine tests: the shipped individual survey, driven event by event.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.engine import RESTART, Event, Progress, Survey, advance, begin
from content.loader import load_library

from .channels import capabilities


@pytest.fixture(scope="module")
def survey() -> Survey:
    return load_library().get("individual")


def run(survey: Survey, progress: Progress, *events: Event) -> Progress:
    for event in events:
        progress = advance(survey, progress, event).progress
    return progress


def part_way(survey: Survey) -> Progress:
    """Consent given, who answered, practice done, 'know_sw' answered: at 'sw_feel'."""
    progress = begin(survey, "baseline", "en", "telegram", capabilities("telegram"))
    return run(survey, progress, Event("start"), Event("text", "yes"), Event("text", "1"),
               Event("text", "yes"), Event("text", "yes"))


def test_restart_asks_first_and_changes_nothing(survey):
    progress = part_way(survey)
    step = advance(survey, progress, Event("restart"))
    (question,) = step.prompts
    assert question.question_id == RESTART
    assert question.text == "Do you want to start again? We will delete your answers so far."
    assert [c.label for c in question.choices] == ["Yes", "No"]
    assert step.recorded == () and step.withdrawn == ()
    assert step.progress.answers == progress.answers
    assert step.progress.current == "sw_feel"


def test_yes_starts_the_wave_again_and_withdraws_every_answer(survey):
    progress = advance(survey, part_way(survey), Event("restart")).progress
    step = advance(survey, progress, Event("button", "1", question=RESTART))
    assert set(step.withdrawn) == {"who", "know_sw"}
    assert step.progress.answers == {}
    assert step.progress.status == "consent" and step.progress.current == "consent"
    assert step.prompts[0].text == "OK. We deleted your answers. Let us start again."
    assert step.prompts[-1].question_id == "consent"
    # The new start carries on normally: consent, then the first question.
    after = advance(survey, step.progress, Event("text", "yes"))
    assert after.progress.current == "who"


@pytest.mark.parametrize("reply", [Event("text", "no"), Event("button", "2", question=RESTART),
                                   Event("text", "banana")])
def test_anything_but_yes_carries_on_where_the_person_was(survey, reply):
    progress = advance(survey, part_way(survey), Event("restart")).progress
    step = advance(survey, progress, reply)
    assert step.withdrawn == () and step.recorded == ()
    assert step.progress.answers == part_way(survey).answers
    assert not step.progress.restarting
    assert step.prompts[0].text == "OK. We will carry on."
    assert step.prompts[-1].question_id == "sw_feel"


def test_a_button_on_the_question_cancels_the_restart_and_counts(survey):
    progress = advance(survey, part_way(survey), Event("restart")).progress
    step = advance(survey, progress, Event("button", "3", question="sw_feel"))
    assert [(r.question_id, r.code) for r in step.recorded] == [("sw_feel", 3)]
    assert not step.progress.restarting
    assert step.prompts[-1].question_id == "listened"


def test_an_old_confirmation_button_never_wipes_answers(survey):
    progress = advance(survey, part_way(survey), Event("restart")).progress
    progress = advance(survey, progress, Event("text", "no")).progress
    step = advance(survey, progress, Event("button", "1", question=RESTART))
    assert step.withdrawn == () and step.progress.answers == progress.answers
    assert step.prompts[0].text.startswith("That answer was for an earlier question")


def test_say_it_again_repeats_the_confirmation(survey):
    progress = advance(survey, part_way(survey), Event("restart")).progress
    step = advance(survey, progress, Event("again", question=RESTART))
    assert step.prompts[-1].question_id == RESTART and step.progress.restarting


def test_a_finished_survey_is_not_started_again(survey):
    progress = part_way(survey)
    progress.status, progress.current = "completed", ""
    step = advance(survey, progress, Event("restart"))
    assert step.prompts[0].text == "You have answered all the questions. Thank you."
    assert not step.progress.restarting


def test_someone_who_said_no_can_start_again(survey):
    progress = begin(survey, "baseline", "en", "telegram", capabilities("telegram"))
    progress = run(survey, progress, Event("start"), Event("text", "no"), Event("restart"))
    step = advance(survey, progress, Event("text", "yes"))
    assert step.progress.status == "consent"
    assert step.prompts[-1].question_id == "consent"


def test_the_sms_channel_gets_reply_instructions_for_the_confirmation(survey):
    progress = part_way(survey)
    progress.capabilities = capabilities("sms")
    (question,) = advance(survey, progress, Event("restart")).prompts
    assert question.instruction == "Reply 1 Yes, 2 No"


def test_a_voice_message_only_answers_an_open_question(survey):
    progress = part_way(survey)
    # A file name full of letters must not be read as "no" or "happy".
    step = advance(survey, progress, Event("recording", "telegram/AgAD-n-happy.ogg"))
    assert step.recorded == ()
    assert step.prompts[0].text == "Sorry, I did not understand. Please try again."
    assert step.progress.current == "sw_feel"


def test_stored_progress_from_before_restart_existed_still_loads(survey):
    data = part_way(survey).to_dict()
    del data["restarting"]
    assert Progress.from_dict(data).restarting is False


def test_a_survey_without_a_yes_no_question_can_still_be_started_again(survey):
    # Only the number question (and the who-is-answering choice) are left: "yes" to
    # "start again?" must still mean yes, read from the survey's own yes/no scale.
    kept = tuple(q for q in survey.questions if q.type in ("choice", "number"))
    no_yes_no = replace(survey, questions=kept)
    progress = run(no_yes_no, begin(no_yes_no, "baseline", "en", "sms"),
                   Event("start"), Event("text", "yes"), Event("text", "1"))
    assert progress.answers
    asked = advance(no_yes_no, progress, Event("restart"))
    assert [c.label for c in asked.prompts[0].choices] == ["Yes", "No"]
    step = advance(no_yes_no, asked.progress, Event("text", "yes"))
    assert step.progress.answers == {} and step.withdrawn
    assert step.prompts[0].text == survey.phrase("restarted", "en")
