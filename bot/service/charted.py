"""The surveys a site's dashboard charts, each with the questions the site asks.

A site that published its own survey, or its own version of a shipped one, has its
answers charted under its own questions and wording, not the deployment's files: each
survey is the site's latest version (``SiteSurveys``, as the exports read them), with
any question that only an earlier version the site's people answered had, after the
latest's own (a question dropped from the survey keeps its answers on the dashboard).
The surveys are those the site's plan asks each respondent type at its timepoints (the
deployment's own for that type where the plan names none), then any other survey the
site's answers were given to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy.orm import Session

from bot.engine import Survey
from content.plan import Plan

from .catalogue import SurveyCatalogue
from .site_surveys import SiteSurveys


def charted_surveys(catalogue: SurveyCatalogue, session: Session, site_id: int, plan: Plan,
                    types: Sequence[str], answered: Mapping[str, Collection[int | None]]
                    ) -> list[Survey]:
    """The surveys to chart for people of ``types`` at ``site_id`` under ``plan``;
    ``answered``: the versions (ids; None for the deployment's file from before versions
    were kept) of each survey the site's answers were given to."""
    named: list[str] = []
    for kind in types:
        for timepoint in plan.timepoints:
            survey_id = catalogue.named(plan, kind, timepoint.name)
            if survey_id not in named:
                named.append(survey_id)
    named += sorted(set(answered) - set(named))
    site = SiteSurveys(catalogue, session, site_id)
    charted = []
    for survey_id in named:
        given = []  # newest first
        for version_id in sorted(answered.get(survey_id, ()),
                                 key=lambda v: -1 if v is None else v, reverse=True):
            try:
                given.append(catalogue.version(session, version_id, survey_id))
            except KeyError:  # from before versions, of a file the deployment dropped
                continue
        try:
            latest = site.get(survey_id)
        except KeyError:  # a survey the site no longer has: its answers' own versions
            if not given:
                continue
            latest = given[0]
        questions = {question.id: question for question in latest.questions}
        for earlier in given:
            for question in earlier.questions:
                questions.setdefault(question.id, question)
        charted.append(dataclasses.replace(latest, questions=tuple(questions.values())))
    return charted
