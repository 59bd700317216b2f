"""Text messages: one inbound text in, the engine's prompts out as TwiML ``<Message>``s.

The keywords that mobile networks and Twilio treat specially are read here, because
they change whether we may text the person at all, not the survey: STOP and its
synonyms opt out (Twilio itself refuses to text the number afterwards), START opts back
in, HELP asks for help. Every other text goes to the engine exactly as it was typed.
The terminal chat (``nsw-feedback chat --channel sms``) calls ``receive`` too, so both
give the same conversation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from xml.sax.saxutils import escape

from bot.engine import FINISHED_STATUSES, Event
from bot.service import Conversations, Who

from .text import messages

# Twilio's standard opt-out, opt-in and help keywords, matched on the whole message.
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL"})
OPT_IN = frozenset({"START", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})
# A text has no "session". Someone who writes again this long after their last reply
# has most likely lost track, so they are told which question they are on first.
RESUME_AFTER = timedelta(hours=8)


def keyword(body: str) -> str:
    """"opt_out", "opt_in" or "help" when the whole text is such a keyword, else ""."""
    word = re.sub(r"[\W_]+", "", body).upper()
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    return "help" if word in HELP else ""


@dataclass(frozen=True)
class SmsReply:
    """The texts to send back, and whether no survey question is waiting any more."""

    texts: list[str]
    finished: bool = False


def receive(conversations: Conversations, who: Who, body: str,
            inbound: tuple[str, str] | None, channel: str = "sms") -> SmsReply:
    """Act on one text from ``who`` (a participant id or ``Sender``) and return the texts
    to send back; UnknownParticipant when nobody has that number.

    ``inbound`` (provider, MessageSid) makes a provider's retry record nothing twice and
    get the same reply.
    """
    action = keyword(body)
    actor = f"participant by {channel}"
    if action == "opt_out":
        language = conversations.opt_out(who, True, actor)
        return SmsReply([conversations.surveys.phrase("sms_opted_out", language)], True)
    if action == "opt_in":
        language = conversations.opt_out(who, False, actor)
        reply = conversations.handle(who, channel, Event("start"), inbound)
        return SmsReply([conversations.surveys.phrase("sms_opted_in", language),
                         *messages(reply.prompts)], reply.status in FINISHED_STATUSES)
    event = Event("help") if action == "help" else Event("text", body)
    reply = conversations.handle(who, channel, event, inbound, resume_after=RESUME_AFTER)
    return SmsReply(messages(reply.prompts), reply.status in FINISHED_STATUSES)


def twiml(texts: Iterable[str]) -> str:
    """TwiML that sends each text as its own message.

    Written directly rather than through twilio's ``MessagingResponse``, whose element
    tree cost as much as a database write on every text; the tests hold the two equal.
    """
    messages = "".join(f"<Message>{escape(text)}</Message>" for text in texts)
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{messages}</Response>'
