"""Publishing a site's own surveys and plan: checked, versioned and audited.

A survey file is loaded (any mistake refuses it with file, line, question and reason)
and run through the easy-read checker; wording with easy-read problems is refused unless
the publisher gives a reason, which is audited. Each publication is a new version: the
earlier ones stay, so answers keep the wording they were given to. A plan must name
only surveys the site can ask, each for the respondent type it is written for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from bot.engine import Survey
from bot.engine.columns import column_clash, shared_clash
from content.checker import Content, Problem, Settings, check_content
from content.loader import CHECKER_FILE, SHARED_FILES, ContentError, shared_file
from content.plan import Plan, load_plan, plan_data
from content.xlsform import convert
from storage.models import Site, SitePlan, SurveyVersion, utcnow
from storage.uow import UnitOfWork

from .catalogue import SurveyCatalogue, digest


class PublishRefused(ValueError):
    """Not published; ``problems`` says why, one line each. ``needs_reason``: only
    easy-read problems stand in the way, and a reason for keeping them would do."""

    def __init__(self, problems: list[str], needs_reason: bool = False) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.needs_reason = needs_reason


@dataclass(frozen=True)
class Published:
    """What a publication did."""

    name: str
    version: int
    changed: bool = True  # False: the same text as the latest version, nothing new
    overridden: list[str] = field(default_factory=list)  # easy-read problems kept


@dataclass(frozen=True)
class VersionRow:
    """One published survey version, as ``survey list`` shows it."""

    survey_id: str
    version: int
    published_at: datetime
    published_by: str
    own: bool  # the site's own (else the deployment's)
    version_id: int  # the row's id, which names this version in the staff pages
    reason: str = ""


class Publishing:
    """The publishing use cases, each one transaction."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork],
                 catalogue: SurveyCatalogue) -> None:
        self.uow_factory = uow_factory
        self.catalogue = catalogue

    def _site(self, uow: UnitOfWork, code: str) -> Site:
        site = uow.repo.site(code.upper())
        if site is None:
            raise PublishRefused([f"there is no site {code!r}"])
        return site

    def publish_survey(self, site_code: str, path: Path, actor: str,
                       reason: str = "") -> Published:
        """Publish the survey in the file ``path`` for the site as its next version."""
        return self.publish_survey_upload(site_code, str(path), _read(path), actor, reason)

    def publish_survey_upload(self, site_code: str, name: str, data: bytes, actor: str,
                              reason: str = "") -> Published:
        """Publish a survey from a file's bytes (a YAML file, or an XLSForm-style ``.xlsx``
        workbook, turned into YAML first), named ``name`` in every refusal."""
        converted = None
        try:
            if name.lower().endswith(".xlsx"):
                converted = convert(data, name)
                source = converted.source
            else:
                source = data.decode("utf-8")
            survey = self.catalogue.library.parse(source, name)
        except UnicodeDecodeError as error:
            raise PublishRefused([f"{name}: cannot be read as UTF-8 text: {error}"]) from None
        except ContentError as error:
            # A workbook's own mistakes already name the sheet and row; the loader's, on
            # the converted text, are pointed back at the row they came from.
            raise PublishRefused([str(converted.explain(error) if converted else error)]
                                 ) from None
        problems = [str(p) for p in self._easy_read_problems(survey)]
        if problems and not reason.strip():
            raise PublishRefused(problems, needs_reason=True)
        with self.uow_factory() as uow:
            site = self._site(uow, site_code)
            latest = uow.session.scalar(
                select(SurveyVersion).where(SurveyVersion.site_id == site.id,
                                            SurveyVersion.survey_id == survey.id)
                .order_by(SurveyVersion.version.desc()).limit(1))
            if latest is not None and latest.digest == digest(source):
                return Published(survey.id, latest.version, changed=False)
            version = self.catalogue.next_version(uow.session, site.id, survey.id)
            uow.session.add(SurveyVersion(
                site_id=site.id, survey_id=survey.id, version=version, source=source,
                digest=digest(source), published_at=utcnow(), published_by=actor,
                reason=reason.strip() if problems else ""))
            uow.repo.audit(actor, "survey_publish", site.code, survey=survey.id,
                           version=version, easy_read_problems=len(problems),
                           **({"reason": reason.strip()} if problems else {}))
            uow.commit()
            return Published(survey.id, version, overridden=problems)

    def _easy_read_problems(self, survey: Survey) -> list[Problem]:
        """The easy-read checker's problems with the survey's own wording, checked with
        the scales and phrases it will be asked with (the shared files' own problems
        are the deployment's, not the publisher's)."""
        library = self.catalogue.library
        scales, phrases = (shared_file(library.directory, name) for name in SHARED_FILES)
        content = Content((survey,), dict(library.scales), {k: dict(v) for k, v in
                                                            library.phrases.items()},
                          str(scales), str(phrases))
        settings = Settings.load(shared_file(library.directory, CHECKER_FILE))
        problems, _ = check_content(content, settings)
        return [p for p in problems if p.file == survey.source]

    def versions(self, site_code: str) -> list[VersionRow]:
        """Every version the site has published, and the deployment's own surveys it
        uses, newest first within each survey."""
        with self.uow_factory() as uow:
            site = self._site(uow, site_code)
            rows = uow.session.scalars(
                select(SurveyVersion).where((SurveyVersion.site_id == site.id)
                                            | SurveyVersion.site_id.is_(None))
                .order_by(SurveyVersion.survey_id, SurveyVersion.site_id.is_(None),
                          SurveyVersion.version.desc()))
            return [VersionRow(r.survey_id, r.version, r.published_at, r.published_by,
                               r.site_id is not None, r.id, r.reason) for r in rows]

    def publish_plan(self, site_code: str, path: Path, actor: str) -> Published:
        """Publish the plan in the file ``path`` for the site as its next version."""
        return self.publish_plan_upload(site_code, str(path), _read(path), actor)

    def publish_plan_upload(self, site_code: str, name: str, data: bytes,
                            actor: str) -> Published:
        """Publish a plan from a file's bytes, named ``name`` in every refusal."""
        try:
            source = data.decode("utf-8")
            plan = load_plan(name, source)
        except UnicodeDecodeError as error:
            raise PublishRefused([f"{name}: cannot be read as UTF-8 text: {error}"]) from None
        except ContentError as error:
            raise PublishRefused([str(error)]) from None
        with self.uow_factory() as uow:
            site = self._site(uow, site_code)
            problems = self._unknown_surveys(uow, site, plan)
            if problems:
                raise PublishRefused([f"{name}: {p}" for p in problems])
            latest = uow.session.scalar(
                select(SitePlan).where(SitePlan.site_id == site.id)
                .order_by(SitePlan.version.desc()).limit(1))
            data_ = plan_data(plan)
            if latest is not None and latest.plan == data_:
                return Published("plan", latest.version, changed=False)
            version = (latest.version if latest else 0) + 1
            uow.session.add(SitePlan(site_id=site.id, version=version, plan=data_,
                                     source=source, published_at=utcnow(),
                                     published_by=actor))
            uow.repo.audit(actor, "plan_publish", site.code, version=version,
                           timepoints=list(plan.names))
            uow.commit()
            return Published("plan", version)

    def _unknown_surveys(self, uow: UnitOfWork, site: Site, plan: Plan) -> list[str]:
        """Why the plan cannot be asked at this site: surveys it names that the site
        cannot ask, that are written for another kind of respondent, or whose ids would
        give two export columns one name at the plan's timepoints (the survey loader
        checks the timepoints the survey names; the plan may add others)."""
        problems = []
        clashed: set[str] = set()
        entries: dict[str, Survey] = {}
        wanted = [(t.name, kind, survey_id) for t in plan.timepoints
                  for kind, survey_id in t.surveys.items()]
        wanted += [(e.name, "", e.survey) for e in plan.entries]
        for where, kind, survey_id in wanted:
            try:
                survey = self.catalogue.latest(uow.session, site.id, survey_id).survey
            except KeyError:
                problems.append(f"{where}: there is no survey '{survey_id}' (publish it "
                                f"first: nsw-feedback survey publish FILE --site {site.code})")
                continue
            if kind and survey.respondent_type != kind:
                problems.append(f"{where}: the survey '{survey_id}' is for "
                                f"{survey.respondent_type} respondents, not {kind}")
            if not kind:
                entries[survey_id] = survey
            clash = column_clash(survey, [t.name for t in plan.timepoints])
            if clash is not None and survey_id not in clashed:
                clashed.add(survey_id)
                problems.append(f"{where}: the survey '{survey_id}' (question "
                                f"{clash[0]}): {clash[1]}")
        shared = shared_clash(list(entries.values()))
        if shared is not None:
            problems.append(f"entries: the survey '{shared[0]}' (question {shared[1]}): "
                            f"{shared[2]}")
        return problems

    def plan(self, site_code: str) -> tuple[Plan, int]:
        """The site's plan and its version (0: the default plan)."""
        with self.uow_factory() as uow:
            site = self._site(uow, site_code)
            version = uow.session.scalar(select(SitePlan.version).where(
                SitePlan.site_id == site.id).order_by(SitePlan.version.desc()).limit(1))
            return self.catalogue.plan(uow.session, site.id), version or 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise PublishRefused([f"{path}: cannot be read: {error}"]) from None
