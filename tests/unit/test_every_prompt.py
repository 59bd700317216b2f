"""The engine's list of every prompt holds every word a conversation can produce.

Audio is rendered from ``every_prompt``, and channels look audio up by the words they
are given, so a prompt missing from the list would be a prompt without audio.
"""

from __future__ import annotations

import random

import pytest

from bot.channel_table import CHANNELS
from bot.engine import WAVES, Event, Prompt, advance, begin, every_prompt
from content.loader import load_library

from .channels import capabilities

LIBRARY = load_library()
REPLIES = ("1", "2", "3", "4", "0", "yes", "no", "not sure", "happy", "banana", "7",
           "I would like more help at home", "skip", "again", "back", "help", "stop", "?")


def _words(prompt: Prompt) -> set[str]:
    return {prompt.text, prompt.instruction, prompt.help, prompt.error,
            *(c.label for c in prompt.choices)} - {""}


def _walk(survey, language: str, channel: str, seed: int) -> set[str]:
    """Words of every prompt in one long random conversation."""
    chance = random.Random(seed)
    wave = chance.choice(WAVES)
    progress = begin(survey, wave, language, channel, capabilities(channel))
    step = advance(survey, progress, Event("start"))
    seen: set[str] = set()
    for _ in range(60):
        for prompt in step.prompts:
            seen |= _words(prompt)
        progress = step.progress
        roll = chance.random()
        if roll < 0.55:
            event = Event("text", chance.choice(REPLIES))
        elif roll < 0.65:
            event = Event("key", chance.choice("0123*#9"))
        elif roll < 0.72:
            event = Event("button", chance.choice("1239"))
        elif roll < 0.8:
            event = Event(chance.choice(("silence", "back", "help", "again", "skip")))
        elif roll < 0.85:
            event = Event("recording", "recording-1.wav")
        elif roll < 0.9 and progress.answers:
            event = Event("change", chance.choice(sorted(progress.answers)))
        elif roll < 0.95:
            event = Event("start" if progress.status == "stopped" else "submit")
        else:
            event = Event("stop")
        step = advance(survey, progress, event)
    return seen


@pytest.mark.parametrize("channel", tuple(CHANNELS))
@pytest.mark.parametrize("survey_id", sorted(LIBRARY.surveys))
def test_every_word_a_conversation_produces_is_in_every_prompt(survey_id: str,
                                                               channel: str) -> None:
    survey = LIBRARY.get(survey_id)
    listed: set[str] = set()
    for language in survey.languages:
        for prompt in every_prompt(survey, language, capabilities(channel)):
            listed |= _words(prompt)
    produced: set[str] = set()
    for seed in range(90):
        language = survey.languages[seed % len(survey.languages)]
        produced |= _walk(survey, language, channel, seed)
    assert produced - listed == set()
    # The walks reach far enough to be a real check, not an empty one.
    assert len(produced) > 100


def test_voice_instructions_are_listed_as_the_engine_composes_them() -> None:
    survey = LIBRARY.get("individual")
    voice = capabilities("voice")
    asked = {p.question_id: p for p in every_prompt(survey, "en", voice) if p.kind == "ask"}
    assert asked["know_sw"].instruction == (
        "Press 1: Yes. Press 2: No. Press 0: Not sure. Star: hear again. Hash: skip.")
    said = {p.text for p in every_prompt(survey, "en", voice) if p.kind == "say"}
    assert "Welcome back. You are on question 3 of 8." in said  # know_sw answered "No"
    assert "Thank you. There are 11 questions. There are no right or wrong answers." in said


# Questions where "Not sure" would make no sense: who is answering, and a professional's
# own role. Every other question with answers offers it, and a caller hears its key.
NO_NOT_SURE = {("individual", "who"), ("family", "who"), ("professional", "role")}


@pytest.mark.parametrize("survey", list(LIBRARY), ids=lambda s: s.id)
def test_not_sure_is_offered_wherever_it_makes_sense(survey) -> None:
    keys = capabilities("voice")
    for prompt in every_prompt(survey, "en", keys):
        if prompt.kind != "ask" or not prompt.choices:
            continue
        offered = any(choice.not_sure for choice in prompt.choices)
        if (survey.id, prompt.question_id) in NO_NOT_SURE or prompt.question_id == "restart":
            continue
        assert offered, (survey.id, prompt.question_id)
        assert "Press 0: Not sure." in prompt.instruction
