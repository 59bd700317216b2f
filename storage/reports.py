"""What the staff dashboard counts: response rates and answers per question.

Try-out participants are never counted. A person belongs to a wave once they are
invited to it or start answering it; their channel is the one they answered on, or
else the one they were last invited on.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine import WAVES, Question, Survey

from .models import (
    RECORDING_PREFIX,
    Answer,
    Invitation,
    Participant,
    Recording,
    Response,
    SafeguardingFlag,
    Site,
)

FUNNEL = ("invited", "started", "completed", "declined", "opted_out")


@dataclass(frozen=True)
class Filters:
    """The dashboard's choices; an empty string means "all"."""

    wave: str = "baseline"
    respondent_type: str = ""
    channel: str = ""
    who_answered: str = ""


@dataclass
class FunnelRow:
    """Counts for one respondent type and channel (or the total, with both empty)."""

    respondent_type: str
    channel: str
    counts: Counter[str] = field(default_factory=Counter)


def funnel(session: Session, site: Site, filters: Filters) -> list[FunnelRow]:
    """One row per respondent type and channel in the wave, then a total row."""
    people = select(Participant.id, Participant.respondent_type, Participant.opted_out).where(
        Participant.site_id == site.id, Participant.is_tryout.is_(False))
    if filters.respondent_type:
        people = people.where(Participant.respondent_type == filters.respondent_type)
    kinds = {pid: (kind, opted) for pid, kind, opted in session.execute(people)}
    invited: dict[int, str] = {}
    for pid, channel in session.execute(
            select(Invitation.participant_id, Invitation.channel)
            .where(Invitation.participant_id.in_(kinds), Invitation.wave == filters.wave)
            .order_by(Invitation.id)):
        invited[pid] = channel  # ordered by id: the last one made wins
    responses = {pid: (status, channel) for pid, status, channel in session.execute(
        select(Response.participant_id, Response.status, Response.channel)
        .where(Response.participant_id.in_(kinds), Response.wave == filters.wave))}
    rows: dict[tuple[str, str], FunnelRow] = {}
    total = FunnelRow("", "")
    for pid in sorted(set(invited) | set(responses)):
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
    """Answers to one question in each wave: counts per answer code, and open answers
    (written or recorded) in ``written``."""

    question: Question
    counts: dict[str, Counter[int]]
    written: Counter[str]

    def total(self, wave: str) -> int:
        """Answers given in ``wave`` (chosen or written)."""
        return sum(self.counts[wave].values()) + self.written[wave]


def question_counts(session: Session, site: Site, survey: Survey,
                    filters: Filters) -> list[QuestionCounts]:
    """Baseline and exit answers for each of ``survey``'s data questions at ``site``."""
    query = (select(Response.wave, Answer.question_id, Answer.value_code, func.count())
             .join(Response, Answer.response_id == Response.id)
             .join(Participant, Response.participant_id == Participant.id)
             .where(Participant.site_id == site.id, Participant.is_tryout.is_(False),
                    Response.survey_id == survey.id, Answer.status == "answered")
             .group_by(Response.wave, Answer.question_id, Answer.value_code))
    if filters.channel:
        query = query.where(Answer.channel == filters.channel)
    if filters.who_answered:
        query = query.where(Answer.who_answered == filters.who_answered)
    found: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: {w: Counter() for w in WAVES})
    written: dict[str, Counter[str]] = defaultdict(Counter)
    for wave, question_id, code, count in session.execute(query):
        if code is None:  # an open answer, written or recorded
            written[question_id][wave] += count
        else:
            found[question_id][wave][code] += count
    return [QuestionCounts(q, found[q.id], written[q.id])
            for q in survey.questions if q.is_data]


def open_flags(session: Session, site: Site) -> list[SafeguardingFlag]:
    """Flags waiting for review at ``site``, oldest first."""
    return list(session.scalars(
        select(SafeguardingFlag)
        .where(SafeguardingFlag.site_id == site.id, SafeguardingFlag.handled_at.is_(None))
        .order_by(SafeguardingFlag.flagged_at, SafeguardingFlag.id)))


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
        select(SafeguardingFlag)
        .where(SafeguardingFlag.site_id == site.id, SafeguardingFlag.handled_at.is_not(None))
        .order_by(SafeguardingFlag.handled_at.desc()).limit(limit)))
