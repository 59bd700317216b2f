"""A provider for outreach that sends nothing: it records each text and call, and can be
told to refuse, as a real provider does, with outreach's own errors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.engine import Prompt
from bot.service.outreach import Calls, OutreachError, Texts


@dataclass
class FakeSender:
    """A ``TextSender`` and ``Caller``: ``texts`` and ``calls`` hold what it was asked to
    send; ``refuse`` (an OutreachError) is raised instead of sending."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    refuse: OutreachError | None = None

    def send_text(self, to: str, text: str) -> str:
        if self.refuse is not None:
            raise self.refuse
        self.texts.append((to, text))
        return f"SM{len(self.texts):032d}"

    def call(self, to: str) -> str:
        if self.refuse is not None:
            raise self.refuse
        self.calls.append(to)
        return f"CA{len(self.calls):032d}"


def plain(prompts: Iterable[Prompt]) -> list[str]:
    """Prompts as messages, one each (the SMS adapter words them more carefully)."""
    return [prompt.text for prompt in prompts]


def text_row(sender: FakeSender) -> Texts:
    """An ``sms``-like row of outreach's senders, sending through ``sender``."""
    return Texts(sender, plain)


def call_row(sender: FakeSender) -> Calls:
    """A ``voice``-like row of outreach's senders, calling through ``sender``."""
    return Calls(sender)
