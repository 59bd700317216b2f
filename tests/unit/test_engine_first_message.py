"""A message that arrives before anything was asked starts the conversation."""

from __future__ import annotations

from bot.engine import Event, advance, begin
from content.loader import load_library


def test_a_first_text_is_greeted_and_asked_for_consent_not_misunderstood():
    survey = load_library().get("individual")
    progress = begin(survey, "baseline", "en", "sms")
    step = advance(survey, progress, Event("text", "Hi, is this the survey?"))
    assert step.prompts[0].text == survey.phrase("greeting", "en")
    assert step.prompts[-1].question_id == "consent"
    assert step.progress.asked == ["consent"]
    assert step.recorded == ()

    answered = advance(survey, step.progress, Event("text", "yes"))
    assert answered.consent_given is True
