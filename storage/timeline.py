"""One person's timeline for the staff participant page: their timepoints (each slot's
status), their journal or story entries, and their linked respondents.

A slot is a response: a timepoint (or entry type), its pulse or entry number, and whom
it is about. A timepoint of the plan that has no response yet is listed with none, and
its latest invitation (if any) says whether it was sent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from .exports.plan import ExportPlan, PlanLike
from .models import Invitation, Participant, ParticipantLink, Response, SurveyVersion


@dataclass(frozen=True)
class Slot:
    """One response: who answered (``respondent``), about whom (``about``: "" for
    themselves), at which timepoint or entry type and number, and how far they got."""

    wave: str
    occurrence: int
    respondent: str
    about: str
    status: str
    channel: str
    survey_id: str
    version: int | None
    started_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class Timepoint:
    """A timepoint of the plan with the person's responses at it (none yet: ``slots``
    is empty and ``invitation`` is the latest invitation's status, or "")."""

    name: str
    slots: list[Slot]
    invitation: str = ""


@dataclass(frozen=True)
class Timeline:
    """What the participant page shows of a person across the plan."""

    timepoints: list[Timepoint]
    entries: list[Slot]
    # Responses at timepoints the plan no longer has (kept, never hidden).
    elsewhere: list[Slot]
    # The people this person answers about, and those who answer about them
    # (code, respondent type).
    speaks_about: list[str] = field(default_factory=list)
    spoken_about_by: list[tuple[str, str]] = field(default_factory=list)
    # What those linked respondents answered about this person.
    about_them: list[Slot] = field(default_factory=list)


@dataclass(frozen=True)
class SiteProgress:
    """A site's people (no try-outs), by code, and how far each got at each timepoint
    or entry type: their responses there counted by status."""

    people: list[Participant]
    found: dict[tuple[int, str], Counter[str]]

    def at(self, person: Participant, wave: str) -> Counter[str]:
        """``person``'s responses at ``wave`` counted by status (none: empty)."""
        return self.found.get((person.id, wave), Counter())


def site_progress(session: Session, site_id: int, *, own_only: bool = False) -> SiteProgress:
    """The site's people and how far each got (``own_only``: only their answers about
    themselves, not those about the people they answer about). One query for the
    people and one grouped query for their responses, however many people and
    timepoints the site has; the participants list and interview mode's list both
    read it."""
    site = (Participant.site_id == site_id, Participant.is_tryout.is_(False))
    people = list(session.scalars(select(Participant).where(*site)
                                  .order_by(Participant.code)))
    counted = (select(Response.participant_id, Response.wave, Response.status, func.count())
               .join(Participant, Response.participant_id == Participant.id).where(*site)
               .group_by(Response.participant_id, Response.wave, Response.status))
    if own_only:
        counted = counted.where(Response.about_id.is_(None))
    found: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for pid, wave, status, count in session.execute(counted):
        found[pid, wave][status] += count
    return SiteProgress(people, dict(found))


def participant_timeline(session: Session, participant_id: int, plan: PlanLike) -> Timeline:
    """``participant_id``'s timeline across the site's ``plan``."""
    names = ExportPlan.of(plan)
    respondent, about = aliased(Participant), aliased(Participant)
    rows = session.execute(
        select(Response.wave, Response.occurrence, respondent.code,
               func.coalesce(about.code, ""), Response.status, Response.channel,
               Response.survey_id, SurveyVersion.version, Response.started_at,
               Response.completed_at, Response.participant_id)
        .join(respondent, Response.participant_id == respondent.id)
        .outerjoin(about, Response.about_id == about.id)
        .outerjoin(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
        .where(or_(Response.participant_id == participant_id,
                   Response.about_id == participant_id))
        .order_by(Response.started_at, Response.id)).all()
    own = [Slot(*row[:10]) for row in rows if row[10] == participant_id]
    about_them = [Slot(*row[:10]) for row in rows if row[10] != participant_id]
    # The latest invitation to each timepoint (a later row replaces an earlier one).
    invited = {wave: status for wave, status in session.execute(
        select(Invitation.wave, Invitation.status)
        .where(Invitation.participant_id == participant_id).order_by(Invitation.id))}
    timepoints = []
    for name in names.timepoints:
        slots = [slot for slot in own if slot.wave == name]
        timepoints.append(Timepoint(name, slots, "" if slots else invited.get(name, "")))
    linked = select(Participant.code, Participant.respondent_type).order_by(Participant.code)
    return Timeline(
        timepoints=timepoints,
        entries=[s for s in own if s.wave in names.entries],
        elsewhere=[s for s in own if s.wave not in names.waves],
        speaks_about=list(session.scalars(
            select(Participant.code).join(ParticipantLink,
                                          ParticipantLink.about_id == Participant.id)
            .where(ParticipantLink.participant_id == participant_id)
            .order_by(Participant.code))),
        spoken_about_by=[(code, kind) for code, kind in session.execute(
            linked.join(ParticipantLink, ParticipantLink.participant_id == Participant.id)
            .where(ParticipantLink.about_id == participant_id))],
        about_them=about_them,
    )
