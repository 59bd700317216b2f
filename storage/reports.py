"""What the staff dashboard and the weekly digest count: response rates, answers per
question, and what happened in a period (invitations sent, surveys started, completed
and declined, opt-outs, new worrying answers, recordings waiting for a transcript).

Try-out participants are never counted. A person belongs to a wave (a timepoint of the
site's plan) once they are invited to it or start answering it; their channel is the
one they answered on, or else the one they were last invited on. A ``Period`` runs from
its start up to, not including, its end, in UTC: the caller turns the site's dates
into it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session, joinedload

from bot.engine import RESPONDENT_TYPES, Question, Survey

from .invitations import LINK_CHANNELS
from .models import (
    RECORDING_PREFIX,
    Answer,
    AuditEntry,
    Invitation,
    Participant,
    Recording,
    Response,
    SafeguardingFlag,
    Site,
)

FUNNEL = ("invited", "started", "completed", "declined", "opted_out")
# What the weekly digest (and the dashboard, for any range) counts, in this order.
EVENTS = ("sent", "started", "completed", "declined", "opted_out")
# Invitation statuses that mean nothing went out (quiet hours, no phone, opted out):
# bot.service.outreach.NOT_SENT, spelt out here because storage sits below the service.
NOT_SENT = ("held", "no_phone", "opted_out")


@dataclass(frozen=True)
class Period:
    """From ``start`` up to (not including) ``end``, both aware UTC."""

    start: datetime
    end: datetime

    def holds(self, column: Any) -> ColumnElement[bool]:
        """``column`` falls in the period."""
        return and_(column >= self.start, column < self.end)


@dataclass(frozen=True)
class Filters:
    """The dashboard's choices; an empty string means "all", no period "any time"."""

    wave: str = "baseline"
    respondent_type: str = ""
    channel: str = ""
    who_answered: str = ""
    period: Period | None = None


@dataclass
class FunnelRow:
    """Counts for one respondent type and channel (or the total, with both empty)."""

    respondent_type: str
    channel: str
    counts: Counter[str] = field(default_factory=Counter)


def _within(period: Period | None, moment: datetime) -> bool:
    """``moment`` (as SQLite or PostgreSQL hands it back) falls in ``period``; anything
    does when there is no period."""
    if period is None:
        return True
    naive = moment.tzinfo is None  # SQLite: naive UTC
    start, end = ((period.start.replace(tzinfo=None), period.end.replace(tzinfo=None))
                  if naive else (period.start, period.end))
    return start <= moment < end


def funnel(session: Session, site: Site, filters: Filters) -> list[FunnelRow]:
    """One row per respondent type and channel in the wave, then a total row.

    With a period, only people invited to the wave or starting it in the period count,
    each where they are now (so a range shows what became of those it brought in).
    """
    people = select(Participant.id, Participant.respondent_type, Participant.opted_out).where(
        Participant.site_id == site.id, Participant.is_tryout.is_(False))
    if filters.respondent_type:
        people = people.where(Participant.respondent_type == filters.respondent_type)
    kinds = {pid: (kind, opted) for pid, kind, opted in session.execute(people)}
    invited: dict[int, str] = {}
    joined: set[int] = set()  # invited or started in the period (everyone without one)
    for pid, channel, made in session.execute(
            select(Invitation.participant_id, Invitation.channel, Invitation.created_at)
            .join(Participant, Invitation.participant_id == Participant.id)
            .where(Participant.site_id == site.id, Invitation.wave == filters.wave)
            .order_by(Invitation.id)):
        if pid in kinds:
            invited[pid] = channel  # ordered by id: the last one made wins
            if _within(filters.period, made):
                joined.add(pid)
    responses: dict[int, tuple[str | None, str]] = {}
    for pid, stored, channel, started in session.execute(
            select(Response.participant_id, Response.status, Response.channel,
                   Response.started_at)
            .join(Participant, Response.participant_id == Participant.id)
            .where(Participant.site_id == site.id, Response.wave == filters.wave)):
        if pid in kinds:
            responses[pid] = (stored, channel)
            if _within(filters.period, started):
                joined.add(pid)
    rows: dict[tuple[str, str], FunnelRow] = {}
    total = FunnelRow("", "")
    for pid in sorted(joined):
        kind, opted_out = kinds[pid]
        status, answered_on = responses.get(pid, (None, ""))
        channel = answered_on or invited.get(pid, "")
        if filters.channel and channel != filters.channel:
            continue
        if opted_out and status in (None, "started"):
            status = "opted_out"
        row = rows.setdefault((kind, channel), FunnelRow(kind, channel))
        for counts in (row.counts, total.counts):
            counts["invited"] += pid in invited
            if status:
                counts[status] += 1
    return [rows[key] for key in sorted(rows)] + [total]


@dataclass
class QuestionCounts:
    """Answers to one question at each timepoint: counts per answer code, and open answers
    (written or recorded) in ``written``."""

    question: Question
    counts: dict[str, Counter[int]]
    written: Counter[str]

    def total(self, wave: str) -> int:
        """Answers given at timepoint ``wave`` (chosen or written)."""
        return sum(self.counts[wave].values()) + self.written[wave]


@dataclass
class Answered:
    """A site's answers at some timepoints, counted: by (survey id, question id), per
    timepoint and answer code (``chosen``) or open (``written``); and the versions of
    each survey the answers were given to (``versions``; None: the deployment's own file
    from before versions were kept)."""

    waves: Sequence[str]
    chosen: dict[tuple[str, str], dict[str, Counter[int]]]
    written: dict[tuple[str, str], Counter[str]]
    versions: dict[str, set[int | None]]


def answer_counts(session: Session, site: Site, waves: Sequence[str],
                  filters: Filters) -> Answered:
    """Every answer given at ``site`` at each of ``waves`` (to any survey, by people of
    the filters' respondent type), counted. One grouped query, so a site's answers are
    read once however many surveys and versions it asks."""
    query = (select(Response.survey_id, Response.survey_version_id, Response.wave,
                    Answer.question_id, Answer.value_code, func.count())
             .join(Response, Answer.response_id == Response.id)
             .join(Participant, Response.participant_id == Participant.id)
             .where(Participant.site_id == site.id, Participant.is_tryout.is_(False),
                    Response.wave.in_(waves), Answer.status == "answered")
             .group_by(Response.survey_id, Response.survey_version_id, Response.wave,
                       Answer.question_id, Answer.value_code))
    if filters.respondent_type:
        query = query.where(Participant.respondent_type == filters.respondent_type)
    if filters.channel:
        query = query.where(Answer.channel == filters.channel)
    if filters.who_answered:
        query = query.where(Answer.who_answered == filters.who_answered)
    if filters.period:
        query = query.where(filters.period.holds(Answer.answered_at))
    answered = Answered(waves, defaultdict(lambda: {w: Counter() for w in waves}),
                        defaultdict(Counter), defaultdict(set))
    for survey_id, version_id, wave, question_id, code, count in session.execute(query):
        answered.versions[survey_id].add(version_id)
        if code is None:  # an open answer, written or recorded
            answered.written[survey_id, question_id][wave] += count
        else:
            answered.chosen[survey_id, question_id][wave][code] += count
    return answered


def question_counts(answered: Answered, surveys: Sequence[Survey]
                    ) -> dict[str, list[QuestionCounts]]:
    """Each survey's data questions with their answers counted at each timepoint, keyed
    by survey id (``surveys``: as the site asks them; ``answered``: ``answer_counts``)."""
    waves = answered.waves
    return {survey.id: [QuestionCounts(
                q, answered.chosen.get((survey.id, q.id)) or {w: Counter() for w in waves},
                answered.written.get((survey.id, q.id)) or Counter())
                        for q in survey.questions if q.is_data]
            for survey in surveys}


# ---------------------------------------------------------------- a period's figures


@dataclass
class EventRow:
    """What happened to one respondent type at one timepoint: each of ``EVENTS`` in the
    period (``period``) and from the start up to the period's end (``so_far``)."""

    respondent_type: str
    wave: str
    period: Counter[str] = field(default_factory=Counter)
    so_far: Counter[str] = field(default_factory=Counter)


@dataclass
class Figures:
    """A site's figures for a period: what the weekly digest says and the dashboard shows
    for its date range. Counts only: never an answer's words or a person's contact."""

    period: Period
    rows: list[EventRow]
    total: EventRow
    new_flags: int  # worrying answers flagged in the period
    open_flags: int  # worrying answers waiting for review now
    recordings_waiting: int  # recordings nobody has written down yet


def _two_sums(moment: Any, period: Period, *also: ColumnElement[bool]) -> tuple[Any, Any]:
    """Counts of rows whose ``moment`` falls in ``period``, and before its end."""
    return (func.sum(case((and_(period.holds(moment), *also), 1), else_=0)),
            func.sum(case((and_(moment < period.end, *also), 1), else_=0)))


def figures(session: Session, site: Site, period: Period,
            waves: Iterable[str] = ()) -> Figures:
    """The site's figures for ``period``, by respondent type and timepoint.

    Sent: invitations that went out (a link counts when made; a text or call when handed
    to the provider; one held for quiet hours or without a phone is not sent). Started,
    completed, declined: responses by when each happened (a decline by its last change).
    Opted out: people who asked us to stop, by the audit line written when they did,
    counted at their current timepoint, and only while they stay opted out.
    Rows come in the order of ``waves`` (the plan's timepoints; others after them),
    then of respondent types.
    """
    rows: dict[tuple[str, str], EventRow] = {}

    def add(kind: str, wave: str, event: str, in_period: int | None, before: int | None
            ) -> None:
        row = rows.setdefault((kind, wave), EventRow(kind, wave))
        row.period[event] += int(in_period or 0)
        row.so_far[event] += int(before or 0)

    people = and_(Participant.site_id == site.id, Participant.is_tryout.is_(False))
    sent_at = case((Invitation.channel.in_(LINK_CHANNELS), Invitation.created_at),
                   else_=Invitation.sent_at)
    for kind, wave, *sums in session.execute(
            select(Participant.respondent_type, Invitation.wave,
                   *_two_sums(sent_at, period, Invitation.status.not_in(NOT_SENT)))
            .join(Participant, Invitation.participant_id == Participant.id)
            .where(people).group_by(Participant.respondent_type, Invitation.wave)):
        add(kind, wave, "sent", *sums)
    declined = Response.status == "declined"
    for kind, wave, *sums in session.execute(
            select(Participant.respondent_type, Response.wave,
                   *_two_sums(Response.started_at, period),
                   *_two_sums(Response.completed_at, period),
                   *_two_sums(Response.updated_at, period, declined))
            .join(Participant, Response.participant_id == Participant.id)
            .where(people).group_by(Participant.respondent_type, Response.wave)):
        for event, pair in zip(("started", "completed", "declined"),
                               (sums[0:2], sums[2:4], sums[4:6]), strict=True):
            add(kind, wave, event, *pair)
    for kind, wave, in_period, before in _opt_outs(session, site, period):
        add(kind, wave, "opted_out", in_period, before)
    order = {wave: n for n, wave in enumerate(waves)}
    kinds = {kind: n for n, kind in enumerate(RESPONDENT_TYPES)}
    ordered = [rows[key] for key in sorted(rows, key=lambda key: (
        order.get(key[1], len(order)), key[1], kinds.get(key[0], len(kinds)), key[0]))]
    total = EventRow("", "")
    for row in ordered:
        total.period.update(row.period)
        total.so_far.update(row.so_far)
    new, waiting = session.execute(
        select(func.sum(case((period.holds(SafeguardingFlag.flagged_at), 1), else_=0)),
               func.sum(case((SafeguardingFlag.handled_at.is_(None), 1), else_=0)))
        .where(SafeguardingFlag.site_id == site.id)).one()
    return Figures(period, ordered, total, int(new or 0), int(waiting or 0),
                   recordings_waiting(session, site))


def _opt_outs(session: Session, site: Site, period: Period
              ) -> list[tuple[str, str, int, int]]:
    """(respondent type, current timepoint, in the period, up to its end) for each person
    still opted out, from the audit line their opt-out wrote (the only record of when)."""
    latest: dict[str, datetime] = {}
    for at, detail in session.execute(
            select(AuditEntry.at, AuditEntry.detail)
            .where(AuditEntry.site_code == site.code, AuditEntry.action == "opt_out",
                   AuditEntry.at < period.end).order_by(AuditEntry.at)):
        code = (detail or {}).get("participant")
        if isinstance(code, str):
            latest[code] = at
    if not latest:
        return []
    found = []
    for code, kind, wave in session.execute(
            select(Participant.code, Participant.respondent_type, Participant.current_wave)
            .where(Participant.site_id == site.id, Participant.is_tryout.is_(False),
                   Participant.opted_out.is_(True), Participant.code.in_(latest))):
        found.append((kind, wave, int(_within(period, latest[code])), 1))
    return found


def awaiting_transcript(site: Site) -> Select[Any]:
    """The site's recordings (the ``recordings`` table) that nobody has written down
    yet: no transcript, or an empty one. Try-out participants' recordings never count.

    The digest and the dashboard both count this one query, so they agree.
    """
    return (select(Recording.id)
            .join(Participant, Recording.participant_id == Participant.id)
            .where(Recording.site_id == site.id, Participant.is_tryout.is_(False),
                   func.coalesce(Recording.transcript, "") == ""))


def recordings_waiting(session: Session, site: Site) -> int:
    """How many of the site's recordings wait for a transcript."""
    return int(session.scalar(
        select(func.count()).select_from(awaiting_transcript(site).subquery())) or 0)


# Each flag is shown with its person's code, and the code of the person it is about:
# read them in the same query, not one query per flag (a busy site has hundreds waiting).
_WITH_PERSON = (joinedload(SafeguardingFlag.participant), joinedload(SafeguardingFlag.about))


def open_flags(session: Session, site: Site) -> list[SafeguardingFlag]:
    """Flags waiting for review at ``site``, oldest first."""
    return list(session.scalars(
        select(SafeguardingFlag).options(*_WITH_PERSON)
        .where(SafeguardingFlag.site_id == site.id, SafeguardingFlag.handled_at.is_(None))
        .order_by(SafeguardingFlag.flagged_at, SafeguardingFlag.id)))


def flags_of(session: Session, participant_id: int) -> list[SafeguardingFlag]:
    """Every flag on a person's page, newest first: on their own answers, and on what a
    family member or professional said about them."""
    return list(session.scalars(
        select(SafeguardingFlag).options(*_WITH_PERSON)
        .where((SafeguardingFlag.participant_id == participant_id)
               | (SafeguardingFlag.about_id == participant_id))
        .order_by(SafeguardingFlag.flagged_at.desc(), SafeguardingFlag.id.desc())))


def untranscribed(session: Session, site: Site) -> dict[str, tuple[int, str]]:
    """``site``'s recordings nobody has written down yet, by the reference their answer
    (and their "listen to it" flag) holds: (recording id, participant code)."""
    return {RECORDING_PREFIX + key: (recording_id, code) for recording_id, key, code in
            session.execute(select(Recording.id, Recording.key, Participant.code)
                            .join(Participant, Recording.participant_id == Participant.id)
                            .where(Recording.site_id == site.id,
                                   Recording.transcript.is_(None)))}


def handled_flags(session: Session, site: Site, limit: int = 20) -> list[SafeguardingFlag]:
    """The most recently handled flags at ``site``."""
    return list(session.scalars(
        select(SafeguardingFlag).options(*_WITH_PERSON)
        .where(SafeguardingFlag.site_id == site.id, SafeguardingFlag.handled_at.is_not(None))
        .order_by(SafeguardingFlag.handled_at.desc()).limit(limit)))
