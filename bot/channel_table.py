"""The channel table: one row per channel, saying what it can do and how it is reached.

The engine never sees a channel's name, only the ``Capabilities`` of its row. The service,
outreach, storage's checks and exports, the staff area and the command line read channel
names, labels and contact kinds from here, so adding a channel (WhatsApp was) is one
adapter file, one row below and one run of the shared channel contract test.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.engine.vocabulary import AnswerMode, Capabilities


class ChannelName(StrEnum):
    """Every channel a conversation can happen on."""

    SMS = "sms"
    VOICE = "voice"
    TELEGRAM = "telegram"
    WEB = "web"
    WHATSAPP = "whatsapp"
    CHAT = "chat"  # the terminal: `nsw-feedback chat`, for trying a survey out
    INTERVIEW = "interview"  # a worker with the person, on the web pages, in the staff area


class Reach(StrEnum):
    """How an invitation reaches a person on a channel."""

    MESSAGE = "message"  # we send the survey's opening as a message
    CALL = "call"  # we ring them; the survey starts when they answer
    LINK = "link"  # a link staff hand on (an address, a deep link, a printed card)
    NONE = "none"  # never invited (the terminal)


@dataclass(frozen=True)
class Channel:
    """One row of the table."""

    name: ChannelName
    label: str  # for staff and in exports
    capabilities: Capabilities
    reach: Reach
    contact: str = ""  # the contact kind a sender is known by ("phone", "telegram")
    provider: str = ""  # the outside service it goes through, which must be configured
    enrol: bool = True  # can be a participant's preferred channel
    # The rendered audio files its messages can carry with the question (extensions);
    # none: words only.
    audio_media: tuple[str, ...] = ()


CHANNELS: dict[str, Channel] = {row.name: row for row in (
    # A text costs by the segment: a question fits 2 (Urdu and Polish are Unicode).
    Channel(ChannelName.SMS, "Text message",
            Capabilities(AnswerMode.TEXT, carrier_keywords=True, resume_after_hours=8,
                         max_segments=2),
            Reach.MESSAGE, contact="phone", provider="twilio"),
    Channel(ChannelName.VOICE, "Phone call", Capabilities(AnswerMode.KEYS), Reach.CALL,
            contact="phone", provider="twilio"),
    Channel(ChannelName.TELEGRAM, "Telegram", Capabilities(AnswerMode.BUTTONS), Reach.LINK,
            contact="telegram", provider="telegram"),
    Channel(ChannelName.WEB, "Web page",
            Capabilities(AnswerMode.PAGES, review=True, typed_commands=False), Reach.LINK),
    # Twilio's WhatsApp: texts as SMS are, the network's keywords included; an invitation
    # must be an approved template (a business may not open a chat with free text). A
    # WhatsApp message is not split into segments, so every answer is listed.
    Channel(ChannelName.WHATSAPP, "WhatsApp",
            Capabilities(AnswerMode.TEXT, carrier_keywords=True, resume_after_hours=8),
            Reach.MESSAGE, contact="phone", provider="twilio", audio_media=(".mp3", ".ogg")),
    # The terminal answers, and is texted, as a texter is, STOP and START included.
    Channel(ChannelName.CHAT, "Terminal chat",
            Capabilities(AnswerMode.TEXT, carrier_keywords=True, max_segments=2), Reach.NONE,
            enrol=False),
    # A worker sits with the person and the web's pages are shown on a tablet: the same
    # buttons, pictures and Listen, started from the staff area (never invited to).
    Channel(ChannelName.INTERVIEW, "Interview",
            Capabilities(AnswerMode.PAGES, review=True, typed_commands=False), Reach.NONE,
            enrol=False),
)}

# The channels a participant can prefer and be invited on, in the table's order.
ENROLLED = tuple(name for name, row in CHANNELS.items() if row.enrol)


def channel_row(name: str) -> Channel:
    """The row for ``name``; KeyError names the channels there are."""
    try:
        return CHANNELS[name]
    except KeyError:
        raise KeyError(f"no channel {name!r} (there are: {', '.join(CHANNELS)})") from None
