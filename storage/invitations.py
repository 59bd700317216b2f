"""Inviting participants to a wave: who is invited, and who is skipped and why; claiming a
send, so that it happens once whoever else tries at the same moment; fallback steps."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from bot.channel_table import CHANNELS, Reach
from bot.engine import WAVES

from .models import Answer, Invitation, Participant, Response, Site, as_utc
from .uow import Repository

# The reminder rule's defaults (the rule itself is ``bot.service.outreach.reminder_due``).
REMIND_AFTER = timedelta(days=3)
MAX_REMINDERS = 2
# Invitations that are links staff hand on (a web address, a Telegram deep link), not
# messages this app sends: they reach the person once made.
LINK_CHANNELS = tuple(name for name, row in CHANNELS.items() if row.reach == Reach.LINK)


@dataclass
class InviteOutcome:
    """The invitations made, the people skipped with the reason, notes for staff on
    people invited (code, note), and the codes of people left out because the timepoint
    is not for their respondent type."""

    invitations: list[Invitation] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


# Which channel a person is invited on, or None with the reason not (with a channel, the
# text is a note): outreach's rule, ``bot.service.reach.choose_channel``.
Chooser = Callable[[Participant], tuple[str | None, str]]


def invite_wave(repo: Repository, site: Site, wave: str, channel: str | Chooser,
                code: str | None = None, timepoints: Sequence[str] = WAVES,
                recurring: bool = False,
                respondent_types: Collection[str] = ()) -> InviteOutcome:
    """Invite ``site``'s participants (or one) to timepoint ``wave`` on ``channel`` (one
    for everyone, or a ``Chooser`` that picks each person's).

    ``timepoints`` are the site's, in order: inviting to one later than the person's
    current timepoint opens it for them (as inviting to the exit opens the exit). A
    ``recurring`` timepoint (a weekly pulse) opens its next pulse each time. Only people
    of ``respondent_types`` are invited (every type when empty): the others are
    ``left_out`` (who a timepoint is for is ``bot.service.reach.audience``). People who
    opted out are skipped, and so is anyone whose response to it is already finished.
    A family member or professional gets one invitation for each person they speak
    about, and answers about the first of them not yet answered for.
    """
    query = select(Participant).where(Participant.site_id == site.id,
                                      Participant.is_tryout.is_(False))
    if code:
        query = query.where(Participant.code == code.upper())
    people = list(repo.session.scalars(query.order_by(Participant.code)))
    outcome = InviteOutcome()
    if code and not people:
        outcome.skipped.append((code.upper(), f"not a participant of {site.code}"))
    for person in people:
        if respondent_types and person.respondent_type not in respondent_types:
            outcome.left_out.append(person.code)
            continue
        if person.opted_out:
            outcome.skipped.append((person.code, "opted out"))
            continue
        occurrence = _next_pulse(repo, person, wave) if recurring else 0
        open_for: list[Participant | None] = []
        speaks_about: list[Participant | None] = list(person.about) or [None]
        for about in speaks_about:
            response = repo.response(person, wave, occurrence, about.id if about else None)
            if response is not None and response.status != "started":
                whom = f" about {about.code}" if about else ""
                outcome.skipped.append((person.code, f"already {response.status}{whom}"))
            else:
                open_for.append(about)
        if not open_for:
            continue
        chosen, note = (channel, "") if isinstance(channel, str) else channel(person)
        if chosen is None:
            outcome.skipped.append((person.code, note))
            continue
        if note:
            outcome.notes.append((person.code, note))
        if recurring or _later(timepoints, wave, person.current_wave):
            person.current_wave, person.current_occurrence = wave, occurrence
        if person.current_wave == wave and person.about:
            person.current_about_id = open_for[0].id if open_for[0] else None
        outcome.invitations.extend(
            repo.add_invitation(person, wave, chosen, occurrence, about.id if about else None)
            for about in open_for)
    repo.session.flush()
    return outcome


def due_pulses(repo: Repository, site: Site, wave: str, every_days: int,
               respondent_types: Sequence[str], now: datetime) -> list[Participant]:
    """The people of ``site`` due the next pulse of the recurring timepoint ``wave``:
    of ``respondent_types`` (every type when empty), not opted out, and not invited to
    it in the last ``every_days`` days (or never)."""
    last = (select(Invitation.participant_id, func.max(Invitation.created_at).label("at"))
            .where(Invitation.wave == wave).group_by(Invitation.participant_id).subquery())
    query = (select(Participant, last.c.at)
             .outerjoin(last, last.c.participant_id == Participant.id)
             .where(Participant.site_id == site.id, Participant.is_tryout.is_(False),
                    Participant.opted_out.is_(False))
             .order_by(Participant.code))
    if respondent_types:
        query = query.where(Participant.respondent_type.in_(respondent_types))
    # Compared here, not in SQL: SQLite keeps times as text, without their zone.
    due = now - timedelta(days=every_days)
    return [person for person, at in repo.session.execute(query)
            if at is None or as_utc(at) <= due]


def due_openings(repo: Repository, site: Site, wave: str, opens_after_days: int,
                 window_days: int | None, respondent_types: Sequence[str],
                 now: datetime) -> list[Participant]:
    """The people of ``site`` whose timepoint ``wave`` opens by itself now: of
    ``respondent_types`` (every type when empty), not opted out, enrolled at least
    ``opens_after_days`` ago (and, with a ``window_days``, not so long ago that its
    window has closed), and never invited to it."""
    invited = select(Invitation.participant_id).where(Invitation.wave == wave)
    query = (select(Participant)
             .where(Participant.site_id == site.id, Participant.is_tryout.is_(False),
                    Participant.opted_out.is_(False), Participant.id.not_in(invited))
             .order_by(Participant.code))
    if respondent_types:
        query = query.where(Participant.respondent_type.in_(respondent_types))
    opens = timedelta(days=opens_after_days)
    closes = opens + timedelta(days=window_days) if window_days else None
    # Compared here, not in SQL: SQLite keeps times as text, without their zone.
    return [person for person in repo.session.scalars(query)
            if as_utc(person.created_at) + opens <= now
            and (closes is None or now < as_utc(person.created_at) + closes)]


def _next_pulse(repo: Repository, person: Participant, wave: str) -> int:
    """The number of the next pulse of a recurring timepoint for ``person``."""
    last = repo.session.scalar(select(func.max(Invitation.occurrence)).where(
        Invitation.participant_id == person.id, Invitation.wave == wave))
    return (last or 0) + 1



def _later(timepoints: Sequence[str], wave: str, current: str) -> bool:
    """True when ``wave`` comes after ``current`` (or ``current`` is not in the plan)."""
    if current not in timepoints:
        return wave != current
    return wave in timepoints and timepoints.index(wave) > timepoints.index(current)


def latest_invitations(repo: Repository, site: Site) -> list[tuple[Invitation, str | None]]:
    """Each person's latest invitation per wave (and person spoken about) at ``site``,
    with their response's status (None before they start). Who of them is due a
    reminder is outreach's rule (``bot.service.outreach.due_reminders``)."""
    latest = (select(func.max(Invitation.id))
              .join(Participant, Invitation.participant_id == Participant.id)
              .where(Participant.site_id == site.id, Participant.is_tryout.is_(False))
              .group_by(Invitation.participant_id, Invitation.wave, Invitation.about_id))
    rows = repo.session.execute(
        select(Invitation, Response.status)
        .join(Participant, Invitation.participant_id == Participant.id)
        .outerjoin(Response, _answering(Invitation))
        .where(Invitation.id.in_(latest))
        .order_by(Participant.code))
    return [(invitation, status) for invitation, status in rows]


@dataclass(frozen=True)
class SendCap:
    """At most ``most`` sends claimed from one provider number (``line``, which sends
    on ``channels``) since ``since``, the start of the round's window."""

    line: str
    channels: tuple[str, ...]
    since: datetime
    most: int


def _claimed_since(channels: Collection[str], since: datetime) -> Any:
    """How many sends on ``channels`` were claimed since ``since`` (one index range)."""
    return (select(func.count()).select_from(Invitation)
            .where(Invitation.channel.in_(channels), Invitation.claimed_at >= since))


def claimed_since(repo: Repository, channels: Collection[str], since: datetime) -> int:
    """How many sends on ``channels`` (one provider number's) were claimed since
    ``since``, by any process: what a round counts first for each number."""
    return repo.session.scalar(_claimed_since(channels, since)) or 0


def _lock_line(repo: Repository, line: str) -> None:
    """On PostgreSQL, claim from ``line`` one transaction at a time (until the caller
    commits), so a claim counts every claim committed before it; SQLite's write lock
    does this by itself."""
    if repo.session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"send-cap:{line}".encode())
        repo.session.execute(select(func.pg_advisory_xact_lock(key)))


def claim(repo: Repository, invitation_id: int, now: datetime, *, to_status: str | None,
          from_statuses: Collection[str] = (), reminder: int | None = None,
          cap: SendCap | None = None) -> bool:
    """Take one send of an invitation for this process, before any provider is called;
    True when it is ours. The caller commits at once, then sends.

    One conditional UPDATE: it changes the row only while the invitation is still as the
    caller found it (its status one of ``from_statuses``; for reminder number
    ``reminder``, that many reminders minus one counted so far), so of two rounds or jobs
    at the same moment exactly one gets the row, on SQLite and PostgreSQL alike. A crash
    after the claim leaves the send claimed, so it is never made twice (at most it is
    not made at all; ``to_status`` shows it to staff). ``to_status`` None leaves the
    status as it is (a link invitation is not sent by us).

    With a ``cap``, the same UPDATE takes the send only while fewer than ``cap.most``
    sends from its number were claimed since ``cap.since`` (``claimed_at``), by any
    process: claims from one number queue on a lock (PostgreSQL) or the write lock
    (SQLite), so two rounds at once cannot both take the last place.
    """
    query = update(Invitation).where(Invitation.id == invitation_id)
    values: dict[str, object] = {"claimed_at": now}
    if to_status is not None:
        values.update(status=to_status, status_at=now)
    if from_statuses:
        query = query.where(Invitation.status.in_(from_statuses))
    if reminder is not None:
        query = query.where(Invitation.reminders_sent == reminder - 1)
        values.update(reminders_sent=reminder, reminded_at=now)
    if cap is not None:
        _lock_line(repo, cap.line)
        query = query.where(_claimed_since(cap.channels, cap.since).scalar_subquery()
                            < cap.most)
    result = repo.session.execute(query.values(**values),
                                  execution_options={"synchronize_session": False})
    assert isinstance(result, CursorResult)  # an UPDATE's result counts its rows
    return result.rowcount == 1


def add_step(repo: Repository, previous: Invitation, channel: str) -> Invitation | None:
    """Make the fallback step after ``previous`` on ``channel`` and commit it; None when
    another round made it first (``invitations.previous_id`` is unique). Call it in a
    unit of work of its own: a refused insert rolls the whole session back."""
    step = repo.add_invitation(previous.participant, previous.wave, channel)
    step.previous_id = previous.id
    try:
        repo.session.commit()
    except IntegrityError:
        repo.session.rollback()
        return None
    return step


def tried_channels(repo: Repository, participant_id: int, wave: str) -> list[str]:
    """The channels a person has been invited on for ``wave``, first first."""
    return list(repo.session.scalars(
        select(Invitation.channel).where(Invitation.participant_id == participant_id,
                                         Invitation.wave == wave).order_by(Invitation.id)))


def waiting_sends(repo: Repository, site: Site, statuses: Collection[str],
                  channels: Collection[str]) -> list[int]:
    """The ids of ``site``'s invitations on ``channels`` whose status is one of
    ``statuses`` (held in quiet hours, refused for now, made and not sent yet), oldest
    first; only those still worth sending: the person's timepoint is still theirs, their
    response to it is not finished, and no fallback step has taken over from it."""
    later = aliased(Invitation)
    return list(repo.session.scalars(
        select(Invitation.id).join(Participant, Invitation.participant_id == Participant.id)
        .outerjoin(Response, _answering(Invitation))
        .where(Participant.site_id == site.id, Participant.is_tryout.is_(False),
               Participant.opted_out.is_(False), Invitation.status.in_(statuses),
               Invitation.channel.in_(channels),
               Participant.current_wave == Invitation.wave,
               Participant.current_occurrence == Invitation.occurrence,
               (Response.status.is_(None)) | (Response.status == "started"),
               ~select(later.id).where(later.previous_id == Invitation.id).exists())
        .order_by(Invitation.id)))


def _answering(invitation: Any) -> ColumnElement[bool]:
    """The join from an invitation to the response that answers it: the same person,
    timepoint, pulse and person spoken about."""
    return ((Response.participant_id == invitation.participant_id)
            & (Response.wave == invitation.wave)
            & (Response.occurrence == invitation.occurrence)
            & (func.coalesce(Response.about_id, 0) == func.coalesce(invitation.about_id, 0)))


def replied(repo: Repository, invitation: Invitation) -> bool:
    """True when the person has answered anything the invitation asks, the consent
    question included. A response alone does not say so: a text invitation opens the
    survey (and so makes the response) before the person has read a word."""
    response = repo.session.execute(
        select(Response.id, Response.consent_given).where(
            Response.participant_id == invitation.participant_id,
            Response.wave == invitation.wave, Response.occurrence == invitation.occurrence,
            func.coalesce(Response.about_id, 0) == (invitation.about_id or 0))).first()
    if response is None:
        return False
    if response.consent_given is not None:
        return True
    return repo.session.scalar(
        select(Answer.id).where(Answer.response_id == response.id).limit(1)) is not None
