"""Phone calls: the engine's prompts as TwiML, and what a caller did as an engine event.

Every prompt is spoken: ``<Play>`` of its cached MP3 or WAV file when one was rendered
(never the OGG voice notes made for Telegram: Twilio cannot play them), otherwise
``<Say>`` in the person's language with a voice Twilio has for it (for Urdu, which has
none, espeak-ng renders the file there and then). The question waits
in a ``<Gather>`` for a key (1-3 for the answers, 0 "not sure", * again, # skip) or
spoken words, or in a ``<Record>`` for open questions that keep the voice. A
``<Redirect>`` follows, so a caller who does nothing comes back to us as silence; the
engine asks once more, then moves on. The terminal chat (``nsw-feedback chat
--channel voice``) uses ``event_for`` too, so both give the same conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from twilio.twiml import TwiML
from twilio.twiml.voice_response import VoiceResponse

from bot.engine import Event, EventKind, Need, Prompt, prompt_text
from content.audio import PHONE_EXTENSIONS, find_audio, render_now

log = logging.getLogger(__name__)
KEYPAD = frozenset("0123456789*#")
# <Say> locale and voice per language, for prompts with no rendered file: a locale and
# voice pair in Twilio's voice table (twilio.com/docs/voice/twiml/say/text-speech), as a
# bare "pl" may be refused, which is silence. Each reads SSML, so slow speech can be
# slowed down. Twilio's table has no Urdu voice (Amazon Polly has none; Twilio lists
# none of Google's Urdu voices), so Urdu has a locale (for speech recognition) and no
# voice: an Urdu prompt with no file is rendered there and then by espeak-ng and played,
# as Twilio advises for what <Say> cannot speak (recorded audio with <Play>).
SAY_VOICES: dict[str, tuple[str, str | None]] = {
    "en": ("en-GB", "Polly.Amy"),
    "pl": ("pl-PL", "Polly.Ewa"),
    "ur": ("ur-IN", None),
}
# Seconds Twilio waits for a first key or word: long, because nobody should be rushed.
WAIT_SECONDS = 10
RECORD_SECONDS = 120


@dataclass(frozen=True)
class Speaker:
    """How to voice prompts for one caller."""

    audio_dir: Path
    audio_url: str  # PUBLIC_BASE_URL + "/audio"
    slow: bool = False

    @classmethod
    def for_needs(cls, audio_dir: Path, audio_url: str, needs: Sequence[str]) -> Speaker:
        """The speaker for a caller with these communication needs."""
        return cls(audio_dir, audio_url, slow=Need.SLOW_SPEECH in needs)

    def speak(self, parent: TwiML, text: str, language: str) -> None:
        """Add ``text`` to ``parent`` as the cached recording, or as speech."""
        if not text:
            return
        speed = "slow" if self.slow else "normal"
        path = find_audio(self.audio_dir, text, language, speed, extensions=PHONE_EXTENSIONS)
        locale, voice = SAY_VOICES.get(language, (language, None))
        if path is None and voice is None:
            path = render_now(self.audio_dir, text, language, speed)
            if path is None:
                # Nothing Twilio could say: a <Say> in a language it has no voice for is
                # an error on the call. Silence for this prompt; the keys still work.
                log.error("no audio for a %s phone prompt and espeak-ng cannot make it: "
                          "run nsw-feedback content audio --language %s", language, language)
                return
        if path is not None:
            parent.play(f"{self.audio_url}/{language}/{path.name}")
        elif self.slow:
            parent.say(voice=voice, language=locale).prosody(text, rate="slow")
        else:
            parent.say(text, voice=voice, language=locale)


def waiting(prompts: Sequence[Prompt]) -> Prompt | None:
    """The prompt the caller is asked to answer: a question, or the answers to check."""
    last = prompts[-1] if prompts else None
    return last if last is not None and last.kind in ("ask", "review") else None


def event_for(question: str, digits: str = "", speech: str = "", recording: str = "") -> Event:
    """What the caller did at ``question``: recorded, spoke, pressed keys, or nothing."""
    if recording:
        return Event(EventKind.RECORDING, recording, question)
    if speech.strip():
        return Event(EventKind.TEXT, speech, question)
    if digits:
        return Event(EventKind.KEY, digits, question)
    return Event(EventKind.SILENCE, question=question)


def render(prompts: Sequence[Prompt], turn_url: Callable[[str], str], speaker: Speaker) -> str:
    """TwiML for one turn of the call. ``turn_url(question_id)`` is where the answer goes.

    With no question waiting (the end, a pause, a "no" to consent) the call hangs up.
    """
    response = VoiceResponse()
    question = waiting(prompts)
    for prompt in prompts:
        if prompt is not question:
            speaker.speak(response, prompt_text(prompt), prompt.language)
    if question is None:
        response.hangup()
        return str(response)
    url = turn_url(question.question_id)
    if question.record:
        speaker.speak(response, question.text, question.language)
        speaker.speak(response, question.instruction, question.language)
        response.record(action=url, max_length=RECORD_SECONDS, finish_on_key="#",
                        play_beep=True, timeout=WAIT_SECONDS, trim="trim-silence")
    else:
        locale = SAY_VOICES.get(question.language, (question.language, None))[0]
        # Option questions take one key at once (so * and # arrive as keys); numbers
        # and spoken open answers end with # as the instruction says.
        keys = ({"finish_on_key": "#"} if question.question_type in ("number", "open")
                else {"num_digits": 1, "finish_on_key": ""})
        gather = response.gather(
            input="dtmf speech", action=url, timeout=WAIT_SECONDS, speech_timeout="auto",
            language=locale, hints=", ".join(c.label for c in question.choices) or None,
            **keys)
        if question.kind == "review":
            speaker.speak(gather, prompt_text(question), question.language)
        else:
            speaker.speak(gather, question.text, question.language)
            speaker.speak(gather, question.instruction, question.language)
    response.redirect(url)
    return str(response)


def hang_up(text: str, language: str, speaker: Speaker) -> str:
    """TwiML that says ``text`` and ends the call."""
    response = VoiceResponse()
    speaker.speak(response, text, language)
    response.hangup()
    return str(response)
