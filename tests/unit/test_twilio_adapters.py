"""The Twilio adapters' own rules: keywords, quiet hours, caller events and TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels import sms, voice
from bot.engine import Choice, Event, Prompt
from bot.engine.parsing import carrier_keyword
from bot.service.outreach import QuietHours


@pytest.mark.parametrize(("body", "action"), [
    ("STOP", "opt_out"), (" stop. ", "opt_out"), ("Stop all", "opt_out"), ("quit", "opt_out"),
    ("Start", "opt_in"), ("UNSTOP", "opt_in"), ("help", "help"), ("HELP!", "help"),
    ("yes", ""), ("please stop asking about music", ""), ("", ""),
])
def test_keywords_count_only_as_the_whole_text(body, action):
    assert carrier_keyword(body) == action


@pytest.mark.parametrize("texts", [
    [], ["Hello"], ["Fish & chips <3", 'She said "no" > 2 times', "😀 سلام, Dzień dobry"],
    ["Line one\nline two", "  spaced  "],
])
def test_sms_twiml_says_what_twilio_s_own_builder_says(texts):
    ours = ET.fromstring(sms.twiml(texts))
    theirs = MessagingResponse()
    for text in texts:
        theirs.message(text)
    expected = ET.fromstring(str(theirs))
    assert ours.tag == expected.tag == "Response"
    assert [(m.tag, m.text or "") for m in ours] == [(m.tag, m.text or "") for m in expected]
    assert [m.text or "" for m in ours] == texts


@pytest.mark.parametrize(("utc", "quiet"), [
    (datetime(2025, 7, 1, 18, 59, tzinfo=UTC), False),  # 19:59 in summer time
    (datetime(2025, 7, 1, 19, 0, tzinfo=UTC), True),    # 20:00 BST
    (datetime(2025, 7, 1, 7, 59, tzinfo=UTC), True),    # 08:59 BST
    (datetime(2025, 7, 1, 8, 0, tzinfo=UTC), False),    # 09:00 BST
    (datetime(2025, 1, 15, 19, 30, tzinfo=UTC), False),  # 19:30 GMT
    (datetime(2025, 1, 15, 20, 30, tzinfo=UTC), True),   # 20:30 GMT
])
def test_quiet_hours_are_in_uk_time_and_wrap_past_midnight(utc, quiet):
    assert QuietHours.parse("20:00-09:00", "Europe/London").covers(utc) is quiet


def test_quiet_hours_can_be_off_and_bad_settings_say_what_is_wrong():
    assert QuietHours.parse("none", "Europe/London").covers(datetime.now(UTC)) is False
    with pytest.raises(ValueError, match="must look like 20:00-09:00"):
        QuietHours.parse("8pm to 9am", "Europe/London")
    with pytest.raises(ValueError, match="must look like"):
        QuietHours.parse("25:00-09:00", "Europe/London")
    with pytest.raises(ValueError, match="not a time zone"):
        QuietHours.parse("20:00-09:00", "Mars/Olympus")


def test_what_a_caller_did_becomes_one_event():
    assert voice.event_for("safe", recording="RE1.mp3") == Event("recording", "RE1.mp3", "safe")
    assert voice.event_for("safe", digits="1", speech="yes") == Event("text", "yes", "safe")
    assert voice.event_for("safe", digits="#") == Event("key", "#", "safe")
    assert voice.event_for("safe", speech="  ") == Event("silence", question="safe")


def _render(prompt: Prompt) -> ET.Element:
    speaker = voice.Speaker(Path("/nonexistent"), "https://x.example/audio")
    return ET.fromstring(voice.render((prompt,), lambda q: f"https://x.example/t?q={q}",
                                      speaker))


def test_a_number_question_collects_digits_until_hash():
    root = _render(Prompt("ask", "How many times?", "en", question_id="visits",
                          question_type="number", instruction="Then press hash."))
    gather = root.find("Gather")
    assert (gather.get("finishOnKey"), gather.get("numDigits")) == ("#", None)
    assert gather.get("action") == "https://x.example/t?q=visits"


def test_options_are_hints_for_speech_recognition():
    choices = (Choice(1, "Yes", "1"), Choice(2, "No", "2"))
    root = _render(Prompt("ask", "Do you feel safe?", "en", question_id="safe",
                          question_type="yes_no", choices=choices))
    assert root.find("Gather").get("hints") == "Yes, No"


def test_answers_to_check_wait_for_any_key_and_are_read_out():
    root = _render(Prompt("review", "Check your answers.", "en",
                          review=(("safe", "Do you feel safe?", "Yes"),)))
    said = ["".join(s.itertext()) for s in root.iter("Say")]
    assert said == ["Check your answers.\nDo you feel safe? Yes"]
    assert [child.tag for child in root] == ["Gather", "Redirect"]


def test_polish_is_said_with_a_polish_locale_and_voice():
    root = _render(Prompt("say", "Dziękujemy.", "pl"))
    assert (root.find("Say").get("language"), root.find("Say").get("voice")) == (
        "pl-PL", "Polly.Ewa")
    assert root[-1].tag == "Hangup"


def test_a_language_without_a_voice_and_no_audio_is_never_said(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A <Say> in a language Twilio has no voice for is an error on the call: with no
    file and none that can be made (no espeak-ng here), nothing is said."""
    monkeypatch.setattr("content.audio.shutil.which", lambda name: None)
    root = _render(Prompt("say", "Diolch.", "cy"))
    assert root.find("Say") is None and root.find("Play") is None
    assert root[-1].tag == "Hangup"
