"""Prompts as plain text messages: SMS, the terminal chat, a voice note's caption and the
content checker read the same words."""

from __future__ import annotations

from collections.abc import Iterable

from .flow import Prompt


def prompt_text(prompt: Prompt) -> str:
    """One prompt as one message: a statement, or a question with how to answer it."""
    if prompt.kind == "ask":
        return "\n".join(part for part in (prompt.text, prompt.instruction) if part)
    if prompt.kind == "review":
        lines = [prompt.text] + [f"{question} {answer}" for _, question, answer in prompt.review]
        return "\n".join(lines)
    return prompt.text


def messages(prompts: Iterable[Prompt]) -> list[str]:
    """Every prompt as its own message, in order."""
    return [prompt_text(p) for p in prompts]
