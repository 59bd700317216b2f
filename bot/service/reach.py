"""Which channel a person is invited on, and why not when they cannot be.

By default each person is invited on their own channel (``Participant.preferred_channel``);
staff may force one channel for everyone. The rule reads the channel table
(``bot.channel_table``): a channel that sends a message or rings (``Reach.MESSAGE``,
``Reach.CALL``) needs the person's contact of the row's kind; a link channel needs none
(staff hand the link on), but a Telegram link for someone whose chat is not linked yet is
worth a note, since the link is what links them. The command line and the staff pages
ask here and list the reasons; they never decide themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.channel_table import CHANNELS, ChannelName, Reach
from storage.models import Participant

# Why a person has no usable contact for a channel, by the contact kind it needs.
NO_CONTACT = {"phone": "no phone number", "telegram": "not linked to Telegram"}


class Contacts(Protocol):
    """Where a person's contact is read (``storage.uow.Repository``)."""

    def contact_value(self, participant: Participant, kind: str) -> str | None: ...


@dataclass(frozen=True)
class Choice:
    """The channel to invite a person on, or None with the reason they are not invited.

    With a channel, ``reason`` is a note for staff (a Telegram link for someone not
    linked yet), or empty."""

    channel: str | None
    reason: str = ""


def choose_channel(person: Participant, contacts: Contacts, usable: Callable[[str], bool],
                   forced: str | None = None) -> Choice:
    """The channel to invite ``person`` on: ``forced`` when staff chose one, else their own.

    ``usable(channel)`` says whether this server can use a channel (its provider is
    configured). A forced channel is the caller's to check, and keeps its own way of
    saying a contact is missing (the invitation records "no_phone"); on their own
    channel, a person who cannot be reached on it is not invited, with the reason.
    """
    if person.opted_out:
        return Choice(None, "opted out")
    if forced is not None:
        return Choice(forced)
    name = person.preferred_channel or ChannelName.WEB
    row = CHANNELS.get(name)
    if row is None or not row.enrol:
        return Choice(None, f"prefers {name!r}, which is not a channel here")
    if not usable(name):
        return Choice(None, f"prefers {row.label}, which is not set up on this server")
    if not row.contact:
        return Choice(name)
    missing = NO_CONTACT.get(row.contact, f"no {row.contact} contact")
    if contacts.contact_value(person, row.contact):
        return Choice(name)
    if row.reach == Reach.LINK:
        # The link is how they link: hand it on, and say so.
        return Choice(name, f"{missing} yet: hand them the link")
    return Choice(None, f"{missing} for {row.label}")


# A site's reminder rule may ask for at most this many reminders, and wait at most this
# many days (people forget a survey they heard of a month ago).
MOST_REMINDERS = 5
LONGEST_WAIT_DAYS = 28


class SettingError(ValueError):
    """A site's fallback order or reminder rule is not one we can use (says why)."""


def fallback_order(text: str) -> tuple[str, ...]:
    """A fallback order as typed (``"sms, voice, web"``; empty or ``none``: no fallback)
    as channel names; SettingError names a channel there is not, or one said twice."""
    names = tuple(name.strip().lower() for name in text.replace(" ", ",").split(",")
                  if name.strip())
    if names in ((), ("none",)):
        return ()
    for name in names:
        row = CHANNELS.get(name)
        if row is None or not row.enrol:
            raise SettingError(f"{name!r} is not a channel: use "
                               f"{', '.join(n for n, r in CHANNELS.items() if r.enrol)}")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise SettingError(f"{', '.join(twice)} is in the order twice")
    return names


def reminder_rule(after_days: int, most: int) -> tuple[int, int]:
    """A reminder rule (days to wait, reminders at most), checked; SettingError if not."""
    if not 1 <= after_days <= LONGEST_WAIT_DAYS:
        raise SettingError(f"remind after 1 to {LONGEST_WAIT_DAYS} days")
    if not 0 <= most <= MOST_REMINDERS:
        raise SettingError(f"send 0 to {MOST_REMINDERS} reminders")
    return after_days, most
