"""Engine behaviour the web needs: blank forms, typed words, going back, earlier answers."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import Event, Progress, advance, begin
from content.loader import load_library

from .channels import capabilities

SURVEYS = load_library()



def run(survey_id: str, channel: str, *events: Event) -> tuple[Progress, Any]:
    """Start ``survey_id`` on ``channel``, send ``events``; return progress and last step."""
    survey = SURVEYS.get(survey_id)
    step = advance(survey, begin(survey, "baseline", "en", channel,
                                 capabilities(channel, review=True)),
                   Event("start"))
    for event in events:
        step = advance(survey, step.progress, event)
    return step.progress, step


@pytest.mark.parametrize("event", [Event("button", "", "role"), Event("text", "  ", "role")])
def test_a_blank_answer_asks_for_one_and_never_escalates(event):
    progress, step = run("professional", "web", Event("button", "1"), event, event, event)
    assert step.prompts[-1].error == "Please give an answer."
    assert step.prompts[-1].question_id == "role"
    assert progress.misunderstood == 0
    assert step.recorded == ()


def test_a_blank_consent_asks_again():
    _, step = run("professional", "web", Event("button", ""))
    assert step.prompts[-1].question_id == "consent"
    assert step.prompts[-1].error == "Please give an answer."


def test_typed_words_on_the_web_are_an_answer_but_a_command_in_a_text():
    _, step = run("family", "web", Event("button", "1"), *[Event("skip")] * 8,
                    Event("text", "help", "life_better"))
    assert step.recorded[0].text == "help"
    _, step = run("family", "sms", Event("text", "yes"), *[Event("text", "skip")] * 8,
                    Event("text", "help"))
    assert step.recorded == ()
    assert step.prompts[-1].question_id == "life_better"


def test_back_is_offered_only_when_there_is_an_earlier_question():
    _, step = run("professional", "web", Event("button", "1"))
    assert step.prompts[-1].question_id == "role"
    assert step.prompts[-1].back is False
    _, step = run("professional", "web", Event("button", "1"), Event("button", "1", "role"))
    assert step.prompts[-1].back is True


def test_a_question_asked_again_carries_the_answer_already_given():
    _, step = run("professional", "web", Event("button", "1"), Event("button", "2", "role"),
                  Event("back"))
    assert (step.prompts[-1].question_id, step.prompts[-1].given) == ("role", "2")
    events = [Event("button", "1"), *[Event("skip")] * 4, Event("text", "Good.", "comments"),
              Event("change", "comments")]
    _, step = run("professional", "web", *events)
    assert (step.prompts[-1].question_id, step.prompts[-1].given) == ("comments", "Good.")
    _, step = run("professional", "web", Event("button", "1"), Event("skip"), Event("back"))
    assert step.prompts[-1].given == ""  # skipped: nothing to show as chosen
