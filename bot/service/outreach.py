"""Outreach: who may be contacted now, how an invitation goes out, and what became of it.

Every rule about reaching people lives here, over providers that are injected:

- who may be contacted now: nobody who opted out, nobody without a contact for the
  channel, nobody in quiet hours (``reason_not_to_contact``, ``QuietHours``);
- the invitation status vocabulary, with a staff label for every status that can be
  stored (``InvitationStatus``), and the one place that writes it (``Outreach``);
- what a provider's delivery report means for an invitation (``PROVIDER_STATUSES``,
  ``advance``), and what its errors mean (``Unsubscribed``, ``PermanentFailure``,
  ``TemporaryFailure``): a person who told the provider to stop is opted out through the
  conversation service, on every channel;
- when a person is due a reminder, by the site's rule (``Rule``, ``reminder_due``,
  ``due_reminders``);
- when a channel has had its chance and the next one in the site's fallback order is
  tried, and which one that is (``step_over``, ``next_channel``); when a send the
  provider refused for now is tried again (``retry_due``).

A provider is a small object with ``send_text(to, text)``, ``send_template(to)`` or
``call(to)`` returning its id for the message or call, and raising this module's errors
(``TextSender``, ``TemplateSender``, ``Caller``); a channel that sends is one ``Texts``,
``Templates`` or ``Calls`` row naming its provider and the kind of contact it needs.
Nothing here imports a provider's library, the channel adapters or the web app: the
composition root builds the rows and hands them in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.channel_table import CHANNELS, Reach
from bot.engine import Event, EventKind, Need, Prompt
from storage.invitations import LINK_CHANNELS, MAX_REMINDERS, REMIND_AFTER, latest_invitations
from storage.models import Invitation, Participant, Site, as_utc, utcnow
from storage.uow import Repository

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- the vocabulary


class InvitationStatus(StrEnum):
    """What became of an invitation, as ``Invitation.status`` stores it."""

    CREATED = "created"        # made; a link invitation stays so (staff hand the link on)
    HELD = "held"              # not sent: quiet hours (the next round sends it)
    SENDING = "sending"        # claimed by a round or job, which is sending it now
    RETRY = "retry"            # not sent: the provider failed for now (tried again)
    NO_PHONE = "no_phone"      # not sent: no phone number for a text or call
    OPTED_OUT = "opted_out"    # not sent: the person asked us to stop
    QUEUED = "queued"          # handed to the provider
    SENT = "sent"              # the provider sent it (a call is ringing)
    DELIVERED = "delivered"    # the text reached the phone
    ANSWERED = "answered"      # the call was picked up
    NO_ANSWER = "no-answer"    # the call rang out or was busy
    FAILED = "failed"          # the provider could not send it

    @property
    def label(self) -> str:
        """How the staff pages name this status."""
        return STAFF_LABELS[self]


STAFF_LABELS: Mapping[InvitationStatus, str] = {
    InvitationStatus.CREATED: "Not sent yet",
    InvitationStatus.HELD: "Held: quiet hours",
    InvitationStatus.SENDING: "Sending (not confirmed yet)",
    InvitationStatus.RETRY: "Not sent yet: will try again",
    InvitationStatus.NO_PHONE: "No phone number",
    InvitationStatus.OPTED_OUT: "Asked us to stop",
    InvitationStatus.QUEUED: "Waiting to send",
    InvitationStatus.SENT: "Sent",
    InvitationStatus.DELIVERED: "Delivered",
    InvitationStatus.ANSWERED: "Call answered",
    InvitationStatus.NO_ANSWER: "Call not answered",
    InvitationStatus.FAILED: "Failed",
}

# Statuses after which another message would fail the same way (a wrong number).
UNREACHABLE = frozenset({InvitationStatus.FAILED})
# Not sent, but tried: the reminder rule tries these again (a phone number may have been
# added). They count as a contact for when the next one is due.
NOT_SENT = frozenset({InvitationStatus.NO_PHONE, InvitationStatus.OPTED_OUT})
# Not sent yet, and sent by the next round that may: after quiet hours, after a
# provider's passing failure.
WAITING = frozenset({InvitationStatus.HELD, InvitationStatus.RETRY})
# A first send is claimed from these (``storage.invitations.claim``): made, held, or
# refused for now.
UNSENT = frozenset({InvitationStatus.CREATED, *WAITING})
# This channel cannot reach the person: the next channel of the site's order is tried
# at once (no phone number for it, a number the provider refused for good).
DEAD_END = frozenset({InvitationStatus.FAILED, InvitationStatus.NO_PHONE})

# A provider's delivery reports (Twilio's message and call statuses), as an invitation
# records them.
PROVIDER_STATUSES: Mapping[str, InvitationStatus] = {
    "accepted": InvitationStatus.QUEUED, "queued": InvitationStatus.QUEUED,
    "sending": InvitationStatus.QUEUED, "initiated": InvitationStatus.QUEUED,
    "sent": InvitationStatus.SENT, "ringing": InvitationStatus.SENT,
    "delivered": InvitationStatus.DELIVERED, "read": InvitationStatus.DELIVERED,
    "in-progress": InvitationStatus.ANSWERED, "completed": InvitationStatus.ANSWERED,
    "undelivered": InvitationStatus.FAILED, "failed": InvitationStatus.FAILED,
    "canceled": InvitationStatus.FAILED,
    "busy": InvitationStatus.NO_ANSWER, "no-answer": InvitationStatus.NO_ANSWER,
}
# Reports can arrive out of order: a late "sent" must not undo "delivered". Statuses not
# ranked (created, held...) give way to any report.
RANK: Mapping[InvitationStatus, int] = {
    InvitationStatus.QUEUED: 1, InvitationStatus.SENT: 2, InvitationStatus.DELIVERED: 3,
    InvitationStatus.ANSWERED: 3, InvitationStatus.FAILED: 3, InvitationStatus.NO_ANSWER: 3,
}


def advance(current: str, reported: str) -> InvitationStatus | None:
    """The status after a provider reports ``reported``, or None when it changes nothing
    (a report we do not track, or one that arrived after a later one)."""
    status = PROVIDER_STATUSES.get(reported)
    if status is None:
        return None
    try:
        rank = RANK.get(InvitationStatus(current), 0)
    except ValueError:  # a status this version does not know: any report replaces it
        rank = 0
    return None if RANK[status] < rank else status


# ---------------------------------------------------------------- providers


class OutreachError(Exception):
    """A provider would not take a message or call.

    ``code`` is the provider's error code and ``detail`` what to log with it; neither may
    hold the person's contact (providers' own messages can quote the number, so they are
    not passed on).
    """

    def __init__(self, provider: str, code: str = "", detail: str = "") -> None:
        super().__init__(f"{provider}: {code or 'error'} {detail}".strip())
        self.provider = provider
        self.code = code
        self.detail = detail


class Unsubscribed(OutreachError):
    """The person told the provider to stop (texted STOP to our number)."""


class PermanentFailure(OutreachError):
    """This contact cannot be reached this way (an invalid number, a landline for a text):
    sending again fails the same way."""


class TemporaryFailure(OutreachError):
    """The provider could not be reached or refused for now: a later send may work."""


class TextSender(Protocol):
    """A provider that sends texts (SMS now; WhatsApp, Telegram later)."""

    def send_text(self, to: str, text: str) -> str:
        """Send one message to ``to``; return the provider's id for it.

        Raises Unsubscribed, PermanentFailure or TemporaryFailure.
        """
        ...


class TemplateSender(Protocol):
    """A provider that may open a conversation only with an approved message (WhatsApp:
    a business may not start a chat with free text)."""

    def send_template(self, to: str) -> str:
        """Send the approved invitation to ``to``; return the provider's id for it.
        Raises as ``send_text``."""
        ...


class Caller(Protocol):
    """A provider that places calls; the call fetches the voice survey when answered."""

    def call(self, to: str) -> str:
        """Ring ``to``; return the provider's id for the call. Raises as ``send_text``."""
        ...


@dataclass(frozen=True)
class Texts:
    """A channel that invites by text: the survey's opening, as ``render`` words it for
    the channel, sent message by message to the person's ``contact`` by ``sender``.
    ``line`` names the provider number it sends from (rounds limit sends per number)."""

    sender: TextSender
    render: Callable[[Sequence[Prompt]], Iterable[str]]
    contact: str = "phone"
    line: str = ""


@dataclass(frozen=True)
class Templates:
    """A channel that invites with one approved message (``sender``'s template) to the
    person's ``contact``; their reply opens the survey, as a first text does."""

    sender: TemplateSender
    contact: str = "phone"
    line: str = ""


@dataclass(frozen=True)
class Calls:
    """A channel that invites by calling the person's ``contact``."""

    caller: Caller
    contact: str = "phone"
    line: str = ""


Route = Texts | Templates | Calls

# The status an invitation records when the person has no contact of the channel's kind.
MISSING_CONTACT: Mapping[str, InvitationStatus] = {"phone": InvitationStatus.NO_PHONE}


class PhraseBook(Protocol):
    """The shared phrases (``SurveyLibrary``): what an invitation adds for a person's needs."""

    def phrase(self, phrase_id: str, language: str, **values: object) -> str: ...


def needs_notes(phrases: PhraseBook | None, person: Participant,
                call_offered: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a text invitation adds for this person's needs: (before the survey's opening,
    before its first question). Someone answering with a supporter is told the survey is
    for the person they support; someone who listens first is offered a call (when calls
    can be made)."""
    if phrases is None:
        return (), ()
    before = ((phrases.phrase("invite_supporter", person.language),)
              if Need.SUPPORTER in person.needs else ())
    after = ((phrases.phrase("offer_call", person.language),)
             if call_offered and Need.AUDIO_FIRST in person.needs else ())
    return before, after


class ConversationDoor(Protocol):
    """What outreach needs of the conversation service (``Conversations``)."""

    def handle(self, who: int, channel: str, event: Event) -> _Reply: ...

    def opt_out(self, who: int, opted_out: bool, actor: str) -> object: ...


class _Reply(Protocol):
    @property
    def prompts(self) -> tuple[Prompt, ...]: ...


class Contacts(Protocol):
    """Where outreach reads a person's contact (``storage.uow.Repository``)."""

    def contact_value(self, participant: Participant, kind: str) -> str | None: ...

    def mark_reached(self, participant: Participant, kind: str, when: datetime) -> None: ...


class _Invitations(Protocol):
    def invitation_by_provider_id(self, provider_id: str) -> Invitation | None: ...


class Unit(Protocol):
    """A unit of work as outreach uses one (``storage.uow.UnitOfWork``)."""

    @property
    def repo(self) -> _Invitations: ...

    def __enter__(self) -> Unit: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...


# ---------------------------------------------------------------- who may be contacted


@dataclass(frozen=True)
class QuietHours:
    """Hours in the site's time zone when nobody is texted or called."""

    start: time | None
    end: time | None
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, zone_name: str) -> QuietHours:
        """``"20:00-09:00"`` (may wrap past midnight) in ``zone_name``; "none" for none."""
        try:
            zone = ZoneInfo(zone_name or "Europe/London")
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"SITE_TIMEZONE {zone_name!r} is not a time zone") from None
        if spec.strip().lower() in ("", "none", "off"):
            return cls(None, None, zone)
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", spec)
        try:
            if match is None:
                raise ValueError
            hours = [int(g) for g in match.groups()]
            return cls(time(hours[0], hours[1]), time(hours[2], hours[3]), zone)
        except ValueError:
            raise ValueError(f"QUIET_HOURS {spec!r} must look like 20:00-09:00") from None

    @classmethod
    def none(cls) -> QuietHours:
        """No quiet hours."""
        return cls(None, None, ZoneInfo("Europe/London"))

    def covers(self, moment: datetime) -> bool:
        """True when ``moment`` (timezone-aware) falls in the quiet hours."""
        if self.start is None or self.end is None:
            return False
        local = moment.astimezone(self.zone).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def reason_not_to_contact(person: Participant, contact: str | None, contact_kind: str,
                          quiet: QuietHours, now: datetime) -> InvitationStatus | None:
    """Why ``person`` may not be contacted now (as the status the invitation records), or
    None when they may: opted out, no ``contact`` of the kind needed, or quiet hours."""
    if person.opted_out:
        return InvitationStatus.OPTED_OUT
    if not contact:
        return MISSING_CONTACT.get(contact_kind, InvitationStatus.NO_PHONE)
    if quiet.covers(now):
        return InvitationStatus.HELD
    return None


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class Attempt:
    """How one delivery went: the status recorded, and the provider's error if any (a
    PermanentFailure says another channel is worth trying; a TemporaryFailure, later)."""

    status: InvitationStatus
    failure: OutreachError | None = None


class Outreach:
    """Sends invitations on the channels in ``senders`` and records what becomes of them.

    ``senders`` maps a channel name to its ``Texts``, ``Templates`` or ``Calls`` row; it
    is read at each send, so the composition root (or a test) may fill it after this is built.
    ``conversations`` is the conversation service: a text invitation opens the survey
    through it, and a person who unsubscribed is opted out through it.
    ``phrases`` words what a text invitation adds for a person's needs (``needs_notes``).
    """

    def __init__(self, conversations: ConversationDoor,
                 uow_factory: Callable[[], Unit],
                 senders: dict[str, Route] | None = None,
                 quiet: QuietHours | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 phrases: PhraseBook | None = None) -> None:
        self.conversations = conversations
        self.phrases = phrases
        self.uow_factory = uow_factory
        self.senders: dict[str, Route] = senders if senders is not None else {}
        self.quiet = quiet or QuietHours.none()
        self.clock = clock

    def sends(self, channel: str) -> bool:
        """True when a provider is configured to send on ``channel``."""
        return channel in self.senders

    def line(self, channel: str) -> str:
        """The provider number ``channel`` sends from (its own name when the row does
        not say), which a round's rate limit counts by."""
        route = self.senders.get(channel)
        return (route.line if route is not None else "") or channel

    def deliver(self, repo: Contacts, invitation: Invitation) -> Attempt:
        """Send ``invitation`` on its channel unless the person may not be contacted now,
        and record its status on it (the caller commits).

        The conversation service writes in transactions of its own: with SQLite, call
        this before changing anything else in ``repo``'s session.
        """
        route = self.senders[invitation.channel]
        person = invitation.participant
        now = self.clock()
        contact = repo.contact_value(person, route.contact)
        refusal = reason_not_to_contact(person, contact, route.contact, self.quiet, now)
        if refusal is not None or contact is None:
            attempt = Attempt(refusal or InvitationStatus.NO_PHONE)
        else:
            attempt = self._send(route, invitation, person, contact)
            if attempt.status is InvitationStatus.QUEUED:
                invitation.sent_at = now
                repo.mark_reached(person, route.contact, now)
        _record(invitation, attempt.status, now)
        if attempt.status in NOT_SENT:
            # Tried, so the reminder rule tries again after the usual wait.
            invitation.sent_at = invitation.sent_at or now
        return attempt

    def _send(self, route: Route, invitation: Invitation, person: Participant,
              contact: str) -> Attempt:
        try:
            if isinstance(route, Texts):
                # The opening goes through the conversation service, so the reply the
                # person sends is read as the answer to the question just asked.
                reply = self.conversations.handle(person.id, invitation.channel,
                                                  Event(EventKind.START))
                provider_id = ""
                texts = list(route.render(reply.prompts))
                before, after = needs_notes(self.phrases, person, self.sends("voice"))
                for text in (*before, *texts[:-1], *after, *texts[-1:]):
                    provider_id = route.sender.send_text(contact, text)
            elif isinstance(route, Templates):
                provider_id = route.sender.send_template(contact)
            else:
                provider_id = route.caller.call(contact)
        except Unsubscribed as error:
            self._unsubscribed(person.id, person.code, error)
            return Attempt(InvitationStatus.OPTED_OUT, error)
        except OutreachError as error:
            passing = isinstance(error, TemporaryFailure)
            kind = ("a later try may work" if passing
                    else "this contact cannot be reached this way")
            log.error("%s refused the invitation for %s (%s): %s", error.provider,
                      person.code, kind, error.detail or error.code)
            # A passing failure is sent again by the next round; a lasting one moves on
            # to the next channel of the site's order.
            return Attempt(InvitationStatus.RETRY if passing else InvitationStatus.FAILED,
                           error)
        invitation.provider_id = provider_id
        return Attempt(InvitationStatus.QUEUED)

    def record_report(self, provider_id: str, reported: str,
                      failure: OutreachError | None = None) -> InvitationStatus | None:
        """Record a provider's report on a text or call on the invitation it belongs to;
        return the new status (None when nothing changed or the id is not ours).

        A report that the person unsubscribed opts them out.
        """
        if not provider_id:
            return None
        with self.uow_factory() as uow:
            invitation = uow.repo.invitation_by_provider_id(provider_id)
            if invitation is None:
                return None  # a reply inside a conversation, or a call the person made
            status = advance(invitation.status, reported)
            if status is not None:
                _record(invitation, status, self.clock())
            participant_id, code = invitation.participant_id, invitation.participant.code
            uow.commit()
        if isinstance(failure, Unsubscribed):
            self._unsubscribed(participant_id, code, failure)
        return status

    def _unsubscribed(self, participant_id: int, code: str, error: Unsubscribed) -> None:
        log.info("%s texted STOP to our number: marked as opted out", code)
        self.conversations.opt_out(participant_id, True,
                                   f"{error.provider}: unsubscribed ({error.code})")


def _record(invitation: Invitation, status: InvitationStatus, now: datetime) -> None:
    """The one place an invitation's status is written."""
    invitation.status = status.value
    invitation.status_at = now


# ---------------------------------------------------------------- reminders, fallback


@dataclass(frozen=True)
class Rule:
    """A site's reminder rule: remind ``after`` the last contact, ``most`` times at most.

    It also says when a channel has had its chance: no answer within ``most + 1`` waits
    of ``after`` (the invitation and each reminder, and a wait after the last)."""

    after: timedelta = REMIND_AFTER
    most: int = MAX_REMINDERS

    @classmethod
    def of(cls, site: Site) -> Rule:
        """``site``'s rule as its settings page and ``site set`` store it."""
        return cls(timedelta(days=site.remind_after_days), site.remind_most)


def last_contact(invitation: Invitation) -> datetime:
    """When the person last heard from us about this invitation (for a send claimed and
    never confirmed, when it was claimed)."""
    claimed = (invitation.status_at if invitation.status == InvitationStatus.SENDING
               else None)
    moment = (invitation.reminded_at or invitation.sent_at or claimed
              or invitation.created_at)
    return as_utc(moment)


def reminder_due(invitation: Invitation, response_status: str | None, now: datetime,
                 after: timedelta = REMIND_AFTER, most: int = MAX_REMINDERS) -> bool:
    """Whether a person should be reminded about ``invitation`` now.

    Only people who have not finished, who have not opted out, whose wave is still open,
    who were reached (a link counts once made) and who have had fewer than ``most``
    reminders, the last contact at least ``after`` ago.
    """
    person = invitation.participant
    # A send claimed and never confirmed (its process died) may have gone out: it is
    # reminded as one that did, never sent again in its place.
    reached = (invitation.channel in LINK_CHANNELS or invitation.sent_at is not None
               or invitation.status == InvitationStatus.SENDING)
    return (response_status in (None, "started") and not person.opted_out
            and person.current_wave == invitation.wave and reached
            and invitation.status not in UNREACHABLE and invitation.reminders_sent < most
            and last_contact(invitation) <= now - after)


def due_reminders(repo: Repository, site: Site, now: datetime,
                  after: timedelta = REMIND_AFTER, most: int = MAX_REMINDERS) -> list[Invitation]:
    """Each person's latest invitation per wave at ``site`` that is due a reminder."""
    return [invitation for invitation, status in latest_invitations(repo, site)
            if reminder_due(invitation, status, now, after, most)]


# How long a send the provider refused for now waits before the next try: long enough
# for an outage to pass, and few enough tries that a number refused every time (an
# error we do not know to be lasting) is not hammered each minute.
RETRY_WAIT = timedelta(minutes=30)


def retry_due(invitation: Invitation, now: datetime) -> bool:
    """True when ``invitation`` may be sent now as far as passing failures go: it is not
    waiting to try again, or it has waited ``RETRY_WAIT`` since the last refusal."""
    if invitation.status != InvitationStatus.RETRY or invitation.status_at is None:
        return True
    return as_utc(invitation.status_at) <= now - RETRY_WAIT


def step_over(invitation: Invitation, response_status: str | None, replied: bool,
              now: datetime, rule: Rule) -> str | None:
    """Why the next channel of the site's order should be tried now instead of
    ``invitation``'s, in words for staff and the audit; None while it should not.

    Never for someone who opted out (STOP ends every channel), who has replied
    (``replied``: reminders carry on where they are), whose response is over, or whose
    timepoint has moved on. At once when
    the channel cannot reach them (a refused number, no phone); otherwise when it
    brought no answer in its time (``Rule``), not counting time waiting to be sent.
    """
    person = invitation.participant
    if (person.opted_out or replied or response_status not in (None, "started")
            or person.current_wave != invitation.wave):
        return None
    try:
        status: InvitationStatus | None = InvitationStatus(invitation.status)
    except ValueError:  # a status this version does not know: leave it be
        status = None
    if status in DEAD_END:
        return STAFF_LABELS[InvitationStatus(invitation.status)]
    link = invitation.channel in LINK_CHANNELS
    if status in (None, InvitationStatus.OPTED_OUT) or (
            not link and status in (InvitationStatus.CREATED, InvitationStatus.HELD)):
        return None  # never to be sent, or not sent yet: the round sends it first
    chance = rule.after * (rule.most + 1)
    if link or status is InvitationStatus.RETRY:
        # No reminders are sent for it by the schedule: its time counts from its making.
        had_chance = as_utc(invitation.created_at) <= now - chance
    else:
        had_chance = invitation.reminders_sent >= rule.most
    if had_chance and last_contact(invitation) <= now - rule.after:
        return f"No answer in {chance.days} days"
    return None


def next_channel(order: Sequence[str], tried: Iterable[str], person: Participant,
                 contacts: Contacts, usable: Callable[[str], bool]) -> str | None:
    """The first channel of ``order`` not ``tried`` yet that can reach ``person``: this
    server can use it (``usable``) and, unless it is a link staff hand on, the person
    has the contact it needs. None at the end of the order."""
    done = set(tried)
    for name in order:
        row = CHANNELS.get(name)
        if name in done or row is None or not usable(name):
            continue
        if row.reach == Reach.LINK or contacts.contact_value(person, row.contact):
            return name
    return None
