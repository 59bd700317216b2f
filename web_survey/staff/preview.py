"""A published survey as each channel presents it, for staff to read before inviting.

Nothing here words a prompt: the engine composes each question for each channel's
capabilities (the channel table's rows) exactly as in a conversation, the text is what
the content checker counts (the engine's ``prompt_text`` and ``sms_segments``), and
Telegram's buttons come from the Telegram adapter's own keyboard. A change to any of
them shows here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.channel_table import CHANNELS, ChannelName
from bot.channels.telegram import keyboard
from bot.engine import CONSENT, Prompt, Survey, every_prompt, prompt_text, sms_segments


@dataclass(frozen=True)
class Texted:
    """A prompt as one text message, and what it costs."""

    text: str
    segments: int
    encoding: str
    characters: int


@dataclass(frozen=True)
class QuestionPreview:
    """One question (or the consent question) on every channel."""

    question_id: str
    timepoints: tuple[str, ...]  # empty: asked at every timepoint
    sms: Texted
    spoken: str  # a phone call's words, keys included
    telegram: str
    buttons: tuple[tuple[str, ...], ...]  # Telegram's buttons, row by row
    web: Prompt  # the web page's question, help and answers


def _asked(survey: Survey, language: str, channel: ChannelName) -> dict[str, Prompt]:
    """Every question as ``channel`` asks it, by question id, consent first."""
    capabilities = CHANNELS[channel].capabilities
    return {prompt.question_id: prompt for prompt in every_prompt(survey, language, capabilities)
            if prompt.kind == "ask"}


def preview(survey: Survey, language: str) -> list[QuestionPreview]:
    """Every question of ``survey`` in ``language``, as each channel presents it."""
    texted = _asked(survey, language, ChannelName.SMS)
    called = _asked(survey, language, ChannelName.VOICE)
    telegram = _asked(survey, language, ChannelName.TELEGRAM)
    web = _asked(survey, language, ChannelName.WEB)
    waves = {q.id: tuple(sorted(q.waves)) for q in survey.questions}
    shown = []
    for question_id, prompt in texted.items():
        text = prompt_text(prompt)
        segments, encoding, characters = sms_segments(text)
        buttons = keyboard(telegram[question_id], survey.phrase).inline_keyboard
        shown.append(QuestionPreview(
            question_id=question_id,
            timepoints=() if question_id == CONSENT else waves[question_id],
            sms=Texted(text, segments, encoding, characters),
            spoken=prompt_text(called[question_id]),
            telegram=prompt_text(telegram[question_id]),
            buttons=tuple(tuple(button.text for button in row) for row in buttons),
            web=web[question_id]))
    return shown
