"""Worrying-word matching and the engine's reply to a worrying answer (pure, no database)."""

from __future__ import annotations

import pytest

from bot.engine import Event, Safeguarding, advance, begin
from bot.engine.safeguarding import DEFAULT_WORDS, word_list, worrying_words
from content.loader import load_library

WORDS = word_list("Hurt*\nhit me\n  \nNOT SAFE\nhurt*\ndie")


def test_a_typed_list_is_folded_and_deduplicated() -> None:
    assert WORDS == ("hurt*", "hit me", "not safe", "die")


@pytest.mark.parametrize(("text", "found"), [
    ("They HURT me!!", ("hurt*",)),
    ("I was hurting", ("hurt*",)),
    ("He hit me. I do not feel safe", ("hit me",)),
    ("I'm not  safe at home", ("not safe",)),
    ("I do not want to die", ("die",)),
    ("I am on a diet", ()),           # a whole word, not part of one
    ("white me", ()),
    ("I like my flat", ()),
    ("", ()),
])
def test_words_phrases_and_prefixes_match_whole_words(text: str, found: tuple[str, ...]) -> None:
    assert worrying_words(text, WORDS) == found


def test_the_default_list_catches_common_disclosures() -> None:
    words = word_list("\n".join(DEFAULT_WORDS))
    assert worrying_words("Staff abused me and I am scared", words) == ("abus*", "scared")
    assert worrying_words("I love my new flat", words) == ()


@pytest.fixture(scope="module")
def survey():  # type: ignore[no-untyped-def]
    return load_library().get("individual")


def _at_open_question(survey):  # type: ignore[no-untyped-def]
    progress = begin(survey, "baseline", "en", "sms")
    step = advance(survey, progress, Event("start"))
    for reply in ("yes", "1", "yes", "no", "yes", "no", "1", "yes", "2"):
        step = advance(survey, step.progress, Event("text", reply))
    assert step.progress.current == "life_better"
    return step.progress


def test_a_worrying_answer_is_recorded_with_its_words_and_the_person_told_who_to_call(
        survey) -> None:  # type: ignore[no-untyped-def]
    guard = Safeguarding.for_site("hurt*\nscared", "Please call   the team on 0113 496 0000.")
    step = advance(survey, _at_open_question(survey), Event("text", "They hurt me"), guard)
    assert step.recorded[0].concerns == ("hurt*",)
    assert step.recorded[0].text == "They hurt me"
    assert step.prompts[0].kind == "say"
    assert step.prompts[0].text == ("Thank you for telling us. If you are in danger now, "
                                    "call 999. Please call the team on 0113 496 0000.")
    assert step.progress.status == "completed"


def test_an_ordinary_answer_gets_no_safeguarding_message(survey) -> None:  # type: ignore[no-untyped-def]
    guard = Safeguarding.for_site("hurt*", "Please call the team.")
    step = advance(survey, _at_open_question(survey), Event("text", "More trips out"), guard)
    assert step.recorded[0].concerns == ()
    assert not any("999" in prompt.text for prompt in step.prompts)


def test_without_a_contact_the_emergency_number_is_still_given(survey) -> None:  # type: ignore[no-untyped-def]
    step = advance(survey, _at_open_question(survey), Event("text", "I am scared"),
                   Safeguarding.for_site("scared", ""))
    assert step.prompts[0].text == "Thank you for telling us. If you are in danger now, call 999."


def _at(survey, question_id: str):  # type: ignore[no-untyped-def]
    """Progress at ``question_id``, answering 1 (or yes) to everything before it."""
    step = advance(survey, begin(survey, "baseline", "en", "sms"), Event("start"))
    while step.progress.current != question_id:
        step = advance(survey, step.progress, Event("text", "1"))
    return step.progress


def test_a_closed_answer_the_survey_marks_for_review_is_flagged(survey) -> None:  # type: ignore[no-untyped-def]
    guard = Safeguarding.for_site("scared", "Please call the team.")
    step = advance(survey, _at(survey, "safe"), Event("text", "No"), guard)
    (recorded,) = step.recorded
    assert (recorded.code, recorded.concerns) == (2, ("answer: No",))
    assert "call 999" in step.prompts[0].text
    calm = advance(survey, _at(survey, "safe"), Event("text", "yes"), guard)
    assert calm.recorded[0].concerns == ()


def test_words_typed_with_a_closed_answer_are_read_and_kept(survey) -> None:  # type: ignore[no-untyped-def]
    guard = Safeguarding.for_site("\n".join(DEFAULT_WORDS), "Please call the team.")
    step = advance(survey, _at(survey, "home"), Event("text", "OK. I am scared, he hits me"),
                   guard)
    (recorded,) = step.recorded
    assert recorded.code == 2  # "OK" on the 3-point scale
    assert recorded.text == "OK. I am scared, he hits me"
    assert {"scared", "hits me"} <= set(recorded.concerns)
    button = advance(survey, _at(survey, "home"), Event("button", "2"), guard)
    assert button.recorded[0].concerns == () and button.recorded[0].text == ""
