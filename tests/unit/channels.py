"""Engine tests speak of channels by name; the engine sees only the capabilities of the
channel table's row for that name."""

from __future__ import annotations

from dataclasses import replace

from bot.channel_table import CHANNELS
from bot.engine import Capabilities


def capabilities(channel: str, review: bool | None = None) -> Capabilities:
    """The capabilities of ``channel``, with its check-your-answers step forced on or off."""
    found = CHANNELS[channel].capabilities
    return found if review is None else replace(found, review=review)
