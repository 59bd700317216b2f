"""Prompts as plain text messages: SMS, the terminal chat, a voice note's caption and the
content checker read the same words, and count what a text costs the same way."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # flow composes its questions with the functions below
    from .flow import Prompt

# GSM 03.38: the basic set costs 1 of 160 characters, the extension set 2.
GSM7_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = set("^{}\\[~]|€\f")


def asked_text(text: str, instruction: str) -> str:
    """A question and how to answer it, as one message."""
    return "\n".join(part for part in (text, instruction) if part)


def prompt_text(prompt: Prompt) -> str:
    """One prompt as one message: a statement, or a question with how to answer it."""
    if prompt.kind == "ask":
        return asked_text(prompt.text, prompt.instruction)
    if prompt.kind == "review":
        lines = [prompt.text] + [f"{question} {answer}" for _, question, answer in prompt.review]
        return "\n".join(lines)
    return prompt.text


def messages(prompts: Iterable[Prompt]) -> list[str]:
    """Every prompt as its own message, in order."""
    return [prompt_text(p) for p in prompts]


def sms_segments(message: str) -> tuple[int, str, int]:
    """(segments, encoding, length) of ``message`` sent as one text message.

    A segment holds 160 GSM-7 characters, or 70 UCS-2 units once any character is
    outside GSM-7 (an Urdu letter, a Polish "ł", an emoji). Long messages are split with
    a 7-byte header in each part: 153 GSM-7 characters or 67 UCS-2 units a part.
    """
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in message):
        length = sum(2 if c in GSM7_EXTENDED else 1 for c in message)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        length = len(message.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    return (1 if length <= single else math.ceil(length / part)), encoding, length
