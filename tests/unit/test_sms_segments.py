"""Every prompt a texter can receive fits one SMS segment (docs/content-rules.md, per channel).

A segment holds 160 GSM-7 characters, or 70 UCS-2 ones once a single character outside
GSM-7 (an emoji, an Urdu letter) appears (the engine's ``sms_segments``). The shipped
English phrases and easy-read surveys must fit. Anything else that cannot fit is listed
in the test output instead of failing it: other languages (held to 2 segments by the
content checker, ``test_checker.py``), and the professionals' survey (answered on the
web from a link, whose five-point agreement scale alone takes 91 characters to list).
"""

from __future__ import annotations

import string
from functools import cache

import pytest

from bot.channel_table import CHANNELS
from bot.engine import CONSENT, begin, prompt_text, sms_segments
from bot.engine.flow import ask
from content.loader import load_library


def segment(text: str) -> tuple[int, int]:
    """(length as sent, the one-segment limit) for ``text``."""
    _, encoding, length = sms_segments(text)
    return length, 160 if encoding == "GSM-7" else 70


class _Any(dict):
    """Fills every {placeholder} of a phrase with a two-digit number."""

    def __missing__(self, key: str) -> str:
        return "99"


@cache
def sms_texts() -> list[tuple[str, str, str]]:
    """(language, where, text) for every message the SMS channel can send."""
    library = load_library()
    found = {}
    for survey in library:
        for language in survey.languages:
            progress = begin(survey, "baseline", language, "sms", CHANNELS["sms"].capabilities)
            for question_id in (CONSENT, *(q.id for q in survey.questions)):
                prompt = ask(survey, progress, question_id)
                where = f"{survey.respondent_type}:{survey.id}:{question_id}"
                found[(language, where)] = prompt_text(prompt)
                if prompt.help:
                    found[(language, f"{where} help")] = prompt.help
    for phrase_id, wording in library.phrases.items():
        if phrase_id.endswith(("_voice", "_buttons")) or phrase_id in ("choices_text",
                                                                       "scale_ends_text"):
            continue  # never texted, or only as part of a question above
        for language, text in wording.items():
            found[(language, f"phrase {phrase_id}")] = string.Formatter().vformat(
                text, (), _Any())
    return [(language, where, text) for (language, where), text in found.items()]


def test_the_segment_rules_themselves():
    assert segment("a" * 160) == (160, 160)
    assert segment("€") == (2, 160)
    assert segment("Yes 👍") == (6, 70)


def test_every_shipped_prompt_fits_one_segment(capsys):
    texts = sms_texts()
    assert len(texts) > 40
    too_long = [(language, where, *segment(text)) for language, where, text in texts
                if segment(text)[0] > segment(text)[1]]
    with capsys.disabled():
        for language, where, length, limit in too_long:
            print(f"\nover one SMS segment: [{language}] {where}: {length} > {limit}")
    must_fit = [t for t in too_long if t[0] == "en" and not t[1].startswith("professional:")]
    assert must_fit == []


@pytest.mark.parametrize("where", ["individual:individual:who", "family:family:consent"])
def test_questions_are_measured_with_their_instructions(where):
    text = next(t for _, w, t in sms_texts() if w == where)
    assert "\nSend a number:\n1 " in text
