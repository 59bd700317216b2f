"""Text messages: one inbound text in, the engine's prompts out as TwiML ``<Message>``s.

Transport only. Every text goes to the service exactly as it was typed; the engine
reads the network's STOP, START and HELP keywords (the SMS row of the channel table says
this channel has them), opts the person out or in, and words every reply. The terminal
chat (``nsw-feedback chat --channel sms``) calls ``receive`` too, so both give the same
conversation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from bot.channel_table import ChannelName
from bot.engine import Event, EventKind, Prompt, messages
from bot.service import Conversations, Who


@dataclass(frozen=True)
class SmsReply:
    """The texts to send back, whether no survey question is waiting any more, and the
    question that is (for a channel that can send its audio too)."""

    texts: list[str]
    finished: bool = False
    question: Prompt | None = None


def receive(conversations: Conversations, who: Who, body: str,
            inbound: tuple[str, str] | None, channel: str = ChannelName.SMS) -> SmsReply:
    """Act on one text from ``who`` (a participant id or ``Sender``) and return the texts
    to send back; UnknownParticipant when nobody has that number.

    ``inbound`` (provider, MessageSid) makes a provider's retry record nothing twice and
    get the same reply.
    """
    reply = conversations.handle(who, channel, Event(EventKind.TEXT, body), inbound)
    return SmsReply(messages(reply.prompts), reply.finished, reply.question)


def twiml(texts: Iterable[str], media: str = "") -> str:
    """TwiML that sends each text as its own message; ``media`` (a URL: the question's
    spoken audio, on WhatsApp) goes with the last one.

    Written directly rather than through twilio's ``MessagingResponse``, whose element
    tree cost as much as a database write on every text; the tests hold the two equal.
    """
    texts = list(texts)
    body = "".join(f"<Message>{escape(text)}</Message>" for text in texts[:-1])
    if texts:
        last = escape(texts[-1])
        body += (f"<Message><Body>{last}</Body><Media>{escape(media)}</Media></Message>"
                 if media else f"<Message>{last}</Message>")
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'
