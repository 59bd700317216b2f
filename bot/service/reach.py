"""Who is invited to a timepoint, on which channel, and why not when they are not.

A timepoint is for the respondent types its plan names (``for:``), and staff may narrow
an invitation to some of them (``invite --type``, the staff page's "Who to invite");
everyone else is left out, each with the reason (``Audience``).

By default each person is invited on their own channel (``Participant.preferred_channel``);
staff may force one channel for everyone. The rule reads the channel table
(``bot.channel_table``): a channel that sends a message or rings (``Reach.MESSAGE``,
``Reach.CALL``) needs the person's contact of the row's kind; a link channel needs none
(staff hand the link on), but a Telegram link for someone whose chat is not linked yet is
worth a note, since the link is what links them. The command line and the staff pages
ask here and list the reasons; they never decide themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.channel_table import CHANNELS, ChannelName, Reach
from bot.engine import RESPONDENT_TYPES
from content.plan import Timepoint
from storage.models import Participant

# Each respondent type, as a reason names them ("health-start is for professionals only").
TYPE_PLURALS = {"individual": "people with a learning disability",
                "family": "family members and carers", "professional": "professionals"}

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


class NotForThem(ValueError):
    """Staff asked to invite a respondent type the timepoint is not for (says why)."""


def respondent_types(texts: Iterable[str]) -> tuple[str, ...]:
    """Respondent types as typed (``--type family --type individual,professional``), in
    their usual order; ValueError names one that is not a type."""
    named = {name.strip().lower() for text in texts for name in text.split(",")
             if name.strip()}
    unknown = sorted(named - set(RESPONDENT_TYPES))
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not a respondent type: use "
                         f"{', '.join(RESPONDENT_TYPES)}")
    return tuple(kind for kind in RESPONDENT_TYPES if kind in named)


def _words(types: Iterable[str]) -> str:
    named = [TYPE_PLURALS.get(kind, kind) for kind in types]
    return " and ".join([", ".join(named[:-1]), named[-1]] if len(named) > 1 else named)


@dataclass(frozen=True)
class Audience:
    """Who an invitation to timepoint ``timepoint`` is for: the respondent ``types``
    invited (every type when empty), and whether staff chose them (else the plan did)."""

    timepoint: str
    types: tuple[str, ...] = ()
    chosen: bool = False

    @property
    def reason(self) -> str:
        """Why someone of another type is left out, for staff."""
        if self.chosen:
            return f"only {_words(self.types)} were chosen"
        return f"{self.timepoint} is for {_words(self.types)} only (the site's plan)"


def planned_types(timepoint: Timepoint) -> tuple[str, ...]:
    """The respondent types ``timepoint`` is for by its plan; empty: everyone.

    Its ``for:`` when the plan says; else a timepoint the round opens by itself (a pulse,
    ``opens_after_days``) is for the types its surveys name, as it always was; any other
    is for everyone."""
    if timepoint.for_types:
        return timepoint.for_types
    if timepoint.every_days or timepoint.opens_after_days:
        return tuple(kind for kind in RESPONDENT_TYPES if kind in timepoint.surveys)
    return ()


def audience(timepoint: Timepoint, chosen: Iterable[str] = ()) -> Audience:
    """Who an invitation to ``timepoint`` is for: the types staff ``chosen`` (none: all
    the plan's). NotForThem when staff chose a type the plan's timepoint is not for."""
    planned, chosen = planned_types(timepoint), tuple(chosen)
    if not chosen:
        return Audience(timepoint.name, planned)
    outside = [kind for kind in chosen if planned and kind not in planned]
    if outside:
        raise NotForThem(f"{timepoint.name} is for {_words(planned)} only (the site's "
                         f"plan), so {_words(outside)} cannot be invited to it")
    if set(chosen) >= set(planned or RESPONDENT_TYPES):
        return Audience(timepoint.name, planned)  # everyone it is for: nobody left out
    return Audience(timepoint.name, tuple(k for k in RESPONDENT_TYPES if k in chosen), True)


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
