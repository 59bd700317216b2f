"""The example plans and surveys a site starts from: each loads, is complete and passes
the easy-read checker, so a site that publishes one as it stands is not refused.

Each pilot site has its plan in ``content/examples/plans/``; every survey a plan names
is one of the examples or one the project ships, written for the respondent type the
plan asks it of, and every entry can be started by a keyword in each language of its
survey.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import Survey
from content.checker import check
from content.loader import (
    PACKAGE_CONTENT,
    load_library,
    load_phrases,
    load_scales,
    load_survey,
)
from content.plan import Plan, load_plan

EXAMPLES = PACKAGE_CONTENT.parent / "examples"
PLANS = EXAMPLES / "plans"
SITES = ("calderdale", "camden", "hertfordshire", "liverpool", "nottingham", "sheffield")
HEADER = "# EXAMPLE TO ADAPT"
SURVEY_FILES = sorted(EXAMPLES.glob("*.yaml"))
PLAN_FILES = sorted(PLANS.glob("*.yaml"))


def _surveys() -> dict[str, Survey]:
    """Every survey a plan may name: the examples and the shipped ones, by id."""
    scales = load_scales(PACKAGE_CONTENT / "scales.yaml")
    phrases = load_phrases(PACKAGE_CONTENT / "phrases.yaml")
    found: dict[str, Survey] = {s.id: s for s in load_library(PACKAGE_CONTENT)}
    for path in SURVEY_FILES:
        survey = load_survey(path, scales, phrases)
        assert survey.id not in found, f"{path.name}: the id {survey.id} is taken"
        found[survey.id] = survey
    return found


def test_every_pilot_site_has_an_example_plan() -> None:
    assert sorted(p.stem for p in PLAN_FILES) == sorted(SITES)


@pytest.mark.parametrize("path", SURVEY_FILES + PLAN_FILES, ids=lambda p: p.name)
def test_each_file_says_it_is_an_example_to_adapt(path: Path) -> None:
    assert path.read_text(encoding="utf-8").startswith(HEADER)


@pytest.mark.parametrize("path", SURVEY_FILES, ids=lambda p: p.name)
def test_each_example_survey_passes_the_checker(path: Path) -> None:
    problems, _ = check(path)
    assert [str(p) for p in problems] == []


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_each_plan_names_surveys_that_exist_for_the_right_people(path: Path) -> None:
    plan = load_plan(path)
    surveys = _surveys()
    assert plan.survey_ids() <= surveys.keys(), plan.survey_ids() - surveys.keys()
    for timepoint in plan.timepoints:
        for kind, survey_id in timepoint.surveys.items():
            assert surveys[survey_id].respondent_type == kind, (
                f"{timepoint.name}: {survey_id} is not for {kind} respondents")


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_each_entry_has_keywords_and_a_label_in_every_language_of_its_survey(
        path: Path) -> None:
    plan, surveys = load_plan(path), _surveys()
    for entry in plan.entries:
        languages = set(surveys[entry.survey].languages)
        assert languages <= entry.keywords.keys(), f"{entry.name}: {languages}"
        assert languages <= entry.labels.keys(), f"{entry.name}: {languages}"


def _plan(site: str) -> Plan:
    return load_plan(PLANS / f"{site}.yaml")


def test_each_plan_serves_its_sites_method() -> None:
    """What the pilot report says each site evaluates, as its plan asks it."""
    calderdale = _plan("calderdale")
    assert [t.survey_for("professional") for t in calderdale.timepoints] == [
        "outcomes_worker"] * 3
    assert any(t.every_days for t in calderdale.timepoints)  # through the pilot
    # People and families are checked in with too, not only the worker.
    assert calderdale.timepoint("check-in").for_types == ("individual", "family",
                                                          "professional")
    camden = _plan("camden")
    assert {"baseline", "exit"} <= set(camden.names)
    assert camden.timepoint("baseline").survey_for("family") == "family"
    assert "health_lifestyle" in camden.survey_ids()
    assert [t.for_types for t in camden.timepoints if t.name.startswith("health")] == [
        ("individual",)] * 2  # people with a learning disability answer the health check
    journal = _plan("hertfordshire").entries[0]
    assert (journal.survey, {"DIARY", "JOURNAL"} <= set(journal.keywords["en"])) == (
        "journal", True)
    liverpool = _plan("liverpool")
    assert liverpool.timepoint("baseline").survey_for("professional") == "professional"
    assert [e.survey for e in liverpool.entries] == ["case_study"]
    story = _plan("nottingham").entries[0]
    assert (story.survey, story.keywords["en"]) == ("story", ("STORY",))
    weekly = _plan("sheffield").timepoint("weekly")
    assert (weekly.every_days, weekly.survey_for("professional")) == (7, "weekly_pulse")
