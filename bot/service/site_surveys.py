"""The surveys a site's exports describe: the deployment's own and the site's published
ones, each in the site's latest version.

An export has a column per question of the survey it covers, labelled from the survey's
wording; a site that published its own survey (``survey publish``), or a new version of
a shipped one, exports with its own questions and wording. Answers keep the labels they
were given (the long export), and every row names the version it answered.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from bot.engine import Survey
from content.plan import Plan

from .catalogue import SurveyCatalogue


class SiteSurveys:
    """A site's surveys, read as ``storage.exports.SurveyLibrary``: the site's latest
    published version of each survey it published, else the deployment's own file.

    What ``SurveyCatalogue.latest`` chooses, for every survey at once, read only: the
    deployment's file is not kept as a version here (an export writes nothing)."""

    def __init__(self, catalogue: SurveyCatalogue, session: Session, site_id: int) -> None:
        self.catalogue = catalogue
        self.session = session
        self.published = catalogue.published(session, site_id)

    def get(self, survey_id: str) -> Survey:
        """The survey ``survey_id`` as the site asks it now; KeyError names what exists."""
        try:
            return self.catalogue.version(self.session, self.published.get(survey_id),
                                          survey_id)
        except KeyError:
            known = ", ".join(survey.id for survey in self)
            raise KeyError(f"no survey {survey_id!r} (there are: {known})") from None

    def asked(self, plan: Plan, respondent_type: str, timepoint: str) -> Survey:
        """The survey a person of ``respondent_type`` is asked at ``timepoint`` under the
        site's ``plan``, in the site's latest version: the wording
        ``SurveyCatalogue.current`` starts, read only."""
        return self.get(self.catalogue.named(plan, respondent_type, timepoint))

    def for_respondent(self, respondent_type: str) -> Survey:
        """The deployment's survey for ``respondent_type`` (what a plan names by default)."""
        return self.get(self.catalogue.library.for_respondent(respondent_type).id)

    def __iter__(self) -> Iterator[Survey]:
        shipped = [survey.id for survey in self.catalogue.library]
        for survey_id in [*shipped, *sorted(set(self.published) - set(shipped))]:
            yield self.get(survey_id)
