"""Which survey each site asks, in which published version, at which timepoint.

A site follows its latest published plan (``content.plan``), or the default plan of a
baseline and an exit. At each timepoint a person is asked the survey the plan names for
their respondent type, else the deployment's own survey for that type; of that survey,
the site's latest published version, else the deployment's own file. The deployment's
files are kept as versions too (no site) the first time they are used, and again each
time their text changes, so every response names the exact wording it answered.

Versions and plans are never changed once written, so they are cached by id for the
life of the process; only "which is the latest" is read from the database, and only
when a response starts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine import Survey
from content.loader import SurveyLibrary
from content.plan import DEFAULT_PLAN, Plan, plan_from_data
from storage.models import SitePlan, SurveyVersion, utcnow


def digest(source: str) -> str:
    """The fingerprint of a survey's text: a changed file is a new version."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Chosen:
    """The survey a response answers: its published version (id) and its questions."""

    version_id: int
    survey: Survey


class SurveyCatalogue:
    """Surveys and plans by site, over the deployment's own ``library``."""

    def __init__(self, library: SurveyLibrary) -> None:
        self.library = library
        # A version or plan never changes, so a process may keep it for good. Keyed by id
        # and survey id: a version this process saw inserted may have been rolled back
        # (a turn that lost a race), and SQLite may give its id to another survey's row.
        self._surveys: dict[tuple[int, str], Survey] = {}
        self._plans: dict[int, Plan] = {}

    # -- plans

    def plan(self, session: Session, site_id: int) -> Plan:
        """The site's latest published plan, or the default one."""
        return self.plan_version(session, session.scalar(
            select(func.max(SitePlan.id)).where(SitePlan.site_id == site_id)))

    def plan_version(self, session: Session, plan_id: int | None) -> Plan:
        """The published plan ``plan_id`` (None: the default plan)."""
        if plan_id is None:
            return DEFAULT_PLAN
        if plan_id not in self._plans:
            row = session.get(SitePlan, plan_id)
            assert row is not None, "plans are never deleted but with their site"
            self._plans[plan_id] = plan_from_data(row.plan)
        return self._plans[plan_id]

    # -- surveys

    def version(self, session: Session, version_id: int | None, survey_id: str) -> Survey:
        """The survey a response answers: its stored version, or (a response from before
        versions were kept) the deployment's own survey ``survey_id``."""
        if version_id is None:
            return self.library.get(survey_id)
        return self._survey(session, version_id, survey_id)

    def _survey(self, session: Session, version_id: int, survey_id: str) -> Survey:
        key = (version_id, survey_id)
        if key not in self._surveys:
            row = session.get(SurveyVersion, version_id)
            assert row is not None, "versions are never deleted but with their site"
            self._surveys[key] = self.library.parse(
                row.source, f"{row.survey_id} v{row.version}")
        return self._surveys[key]

    def current(self, session: Session, site_id: int, respondent_type: str,
                timepoint: str, plan: Plan | None = None) -> Chosen:
        """The survey to start for a person of ``respondent_type`` at ``timepoint`` (or
        for the entry type of that name) under ``plan`` (default: the site's)."""
        plan = plan or self.plan(session, site_id)
        return self.latest(session, site_id, self.named(plan, respondent_type, timepoint))

    def named(self, plan: Plan, respondent_type: str, timepoint: str) -> str:
        """The id of the survey ``plan`` asks a person of ``respondent_type`` at
        ``timepoint`` (or for the entry type of that name): the one the plan names,
        else the deployment's own for that type."""
        entry = next((e for e in plan.entries if e.name == timepoint), None)
        named = entry.survey if entry else next(
            (t.survey_for(respondent_type) for t in plan.timepoints if t.name == timepoint), "")
        return named or self.library.for_respondent(respondent_type).id

    def published(self, session: Session, site_id: int,
                  survey_id: str | None = None) -> dict[str, int]:
        """The id of the site's latest published version of each survey it published
        (or of ``survey_id`` alone), by survey id; the deployment's own are not here."""
        latest = (select(SurveyVersion.survey_id, func.max(SurveyVersion.id))
                  .where(SurveyVersion.site_id == site_id))
        if survey_id is not None:
            latest = latest.where(SurveyVersion.survey_id == survey_id)
        return {survey: version_id for survey, version_id in
                session.execute(latest.group_by(SurveyVersion.survey_id))}

    def latest(self, session: Session, site_id: int, survey_id: str) -> Chosen:
        """The site's latest version of ``survey_id``, else the deployment's own (kept
        as a version the first time, and whenever its file changes)."""
        own = self.published(session, site_id, survey_id).get(survey_id)
        if own is not None:
            return Chosen(own, self._survey(session, own, survey_id))
        return self._shipped(session, survey_id)

    def _shipped(self, session: Session, survey_id: str) -> Chosen:
        source = self.library.source(survey_id)
        fingerprint = digest(source)
        row = session.execute(
            select(SurveyVersion.id, SurveyVersion.digest)
            .where(SurveyVersion.site_id.is_(None), SurveyVersion.survey_id == survey_id)
            .order_by(SurveyVersion.version.desc()).limit(1)).first()
        if row is not None and row.digest == fingerprint:
            return Chosen(row.id, self._survey(session, row.id, survey_id))
        # A second process doing the same meets the unique index of the deployment's
        # versions; the caller's retry then finds this one.
        version = SurveyVersion(site_id=None, survey_id=survey_id,
                                version=self.next_version(session, None, survey_id),
                                source=source, digest=fingerprint, published_at=utcnow(),
                                published_by="deployment")
        session.add(version)
        session.flush()
        self._surveys[(version.id, survey_id)] = self.library.get(survey_id)
        return Chosen(version.id, self.library.get(survey_id))

    @staticmethod
    def next_version(session: Session, site_id: int | None, survey_id: str) -> int:
        """The number the next version of ``survey_id`` at ``site_id`` gets."""
        site = (SurveyVersion.site_id.is_(None) if site_id is None
                else SurveyVersion.site_id == site_id)
        latest = session.scalar(select(func.max(SurveyVersion.version)).where(
            site, SurveyVersion.survey_id == survey_id))
        return (latest or 0) + 1
