"""Inviting participants to a wave: who is invited, and who is skipped and why; claiming a
send, so that it happens once whoever else tries at the same moment; fallback steps."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from bot.channel_table import CHANNELS, Reach
from bot.engine import WAVES

from .models import Answer, Invitation, Participant, Response, Site
from .uow import Repository

# The reminder rule's defaults (the rule itself is ``bot.service.outreach.reminder_due``).
REMIND_AFTER = timedelta(days=3)
MAX_REMINDERS = 2
# Invitations that are links staff hand on (a web address, a Telegram deep link), not
# messages this app sends: they reach the person once made.
LINK_CHANNELS = tuple(name for name, row in CHANNELS.items() if row.reach == Reach.LINK)


@dataclass
class InviteOutcome:
    """The invitations made, the people skipped with the reason, and notes for staff on
    people invited (code, note)."""

    invitations: list[Invitation] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)


# Which channel a person is invited on, or None with the reason not (with a channel, the
# text is a note): outreach's rule, ``bot.service.reach.choose_channel``.
Chooser = Callable[[Participant], tuple[str | None, str]]


def invite_wave(repo: Repository, site: Site, wave: str, channel: str | Chooser,
                code: str | None = None, timepoints: Sequence[str] = WAVES) -> InviteOutcome:
    """Invite ``site``'s participants (or one) to timepoint ``wave`` on ``channel`` (one
    for everyone, or a ``Chooser`` that picks each person's).

    ``timepoints`` are the site's, in order: inviting to one later than the person's
    current timepoint opens it for them (as inviting to the exit opens the exit). People
    who opted out are skipped, and so is anyone whose response to it is already finished.
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
        if person.opted_out:
            outcome.skipped.append((person.code, "opted out"))
            continue
        response = repo.response(person, wave)
        if response is not None and response.status != "started":
            outcome.skipped.append((person.code, f"already {response.status}"))
            continue
        chosen, note = (channel, "") if isinstance(channel, str) else channel(person)
        if chosen is None:
            outcome.skipped.append((person.code, note))
            continue
        if note:
            outcome.notes.append((person.code, note))
        if _later(timepoints, wave, person.current_wave):
            person.current_wave = wave
        outcome.invitations.append(repo.add_invitation(person, wave, chosen))
    repo.session.flush()
    return outcome



def _later(timepoints: Sequence[str], wave: str, current: str) -> bool:
    """True when ``wave`` comes after ``current`` (or ``current`` is not in the plan)."""
    if current not in timepoints:
        return wave != current
    return wave in timepoints and timepoints.index(wave) > timepoints.index(current)


def latest_invitations(repo: Repository, site: Site) -> list[tuple[Invitation, str | None]]:
    """Each person's latest invitation per wave at ``site``, with their response's status
    (None before they start). Who of them is due a reminder is outreach's rule
    (``bot.service.outreach.due_reminders``)."""
    latest = (select(func.max(Invitation.id))
              .join(Participant, Invitation.participant_id == Participant.id)
              .where(Participant.site_id == site.id, Participant.is_tryout.is_(False))
              .group_by(Invitation.participant_id, Invitation.wave))
    rows = repo.session.execute(
        select(Invitation, Response.status)
        .join(Participant, Invitation.participant_id == Participant.id)
        .outerjoin(Response, (Response.participant_id == Invitation.participant_id)
                   & (Response.wave == Invitation.wave))
        .where(Invitation.id.in_(latest))
        .order_by(Participant.code))
    return [(invitation, status) for invitation, status in rows]


def claim(repo: Repository, invitation_id: int, now: datetime, *, to_status: str | None,
          from_statuses: Collection[str] = (), reminder: int | None = None) -> bool:
    """Take one send of an invitation for this process, before any provider is called;
    True when it is ours. The caller commits at once, then sends.

    One conditional UPDATE: it changes the row only while the invitation is still as the
    caller found it (its status one of ``from_statuses``; for reminder number
    ``reminder``, that many reminders minus one counted so far), so of two rounds or jobs
    at the same moment exactly one gets the row, on SQLite and PostgreSQL alike. A crash
    after the claim leaves the send claimed, so it is never made twice (at most it is
    not made at all; ``to_status`` shows it to staff). ``to_status`` None leaves the
    status as it is (a link invitation is not sent by us).
    """
    query = update(Invitation).where(Invitation.id == invitation_id)
    values: dict[str, object] = {}
    if to_status is not None:
        values.update(status=to_status, status_at=now)
    if from_statuses:
        query = query.where(Invitation.status.in_(from_statuses))
    if reminder is not None:
        query = query.where(Invitation.reminders_sent == reminder - 1)
        values.update(reminders_sent=reminder, reminded_at=now)
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
        .outerjoin(Response, (Response.participant_id == Invitation.participant_id)
                   & (Response.wave == Invitation.wave))
        .where(Participant.site_id == site.id, Participant.is_tryout.is_(False),
               Participant.opted_out.is_(False), Invitation.status.in_(statuses),
               Invitation.channel.in_(channels),
               Participant.current_wave == Invitation.wave,
               (Response.status.is_(None)) | (Response.status == "started"),
               ~select(later.id).where(later.previous_id == Invitation.id).exists())
        .order_by(Invitation.id)))


def replied(repo: Repository, participant_id: int, wave: str) -> bool:
    """True when the person has answered anything at ``wave``, the consent question
    included. A response alone does not say so: a text invitation opens the survey
    (and so makes the response) before the person has read a word."""
    response = repo.session.execute(
        select(Response.id, Response.consent_given)
        .where(Response.participant_id == participant_id, Response.wave == wave)).first()
    if response is None:
        return False
    if response.consent_given is not None:
        return True
    return repo.session.scalar(
        select(Answer.id).where(Answer.response_id == response.id).limit(1)) is not None
