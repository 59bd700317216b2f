"""Inviting by respondent type: a timepoint of a site's plan names who it is for
(``for:``), ``invite --type`` narrows it, and everyone left out is listed with why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.service.reach import Audience, NotForThem, audience, planned_types, respondent_types
from content.loader import ContentError
from content.plan import Timepoint, load_plan, plan_data, plan_from_data
from storage.models import AuditEntry, Invitation, Participant, utcnow
from web_survey.bootstrap import Services

from .test_example_plans import EXAMPLES
from .test_site_plans import plan_file

PLAN = """\
timepoints:
  - name: baseline
  - name: team-check
    for: [professional]
  - name: exit
"""
LEFT_OUT = "team-check is for professionals only (the site's plan)"


@pytest.fixture
def people(make_participant: Callable[..., int]) -> None:
    """Two people, a family member and a professional at CAL, reached by web link."""
    for code, kind in (("CAL-0001", "individual"), ("CAL-0002", "individual"),
                       ("CAL-F01", "family"), ("CAL-P01", "professional")):
        make_participant(code=code, respondent_type=kind, phone=None,
                         preferred_channel="web")


@pytest.fixture
def planned(cli: Callable[..., Any], people: None, tmp_path: Path) -> None:
    cli("plan", "publish", str(plan_file(tmp_path, PLAN)), "--site", "CAL")


def invited(nsw: Services) -> list[tuple[str, str]]:
    with nsw.uow() as uow:
        return [(i.participant.code, i.wave) for i in uow.session.scalars(
            select(Invitation).join(Invitation.participant).order_by(Participant.code))]


def lines(output: str) -> dict[str, str]:
    return dict(line.split("\t", 1) for line in output.splitlines() if "\t" in line)


# -- the plan format


def test_for_names_respondent_types_and_is_kept_with_the_plan(tmp_path: Path) -> None:
    plan = load_plan(plan_file(tmp_path, PLAN))
    assert plan.timepoint("team-check").for_types == ("professional",)
    assert plan.timepoint("baseline").for_types == ()
    assert plan_data(plan)["timepoints"][1] == {"name": "team-check",
                                                "for": ["professional"]}
    assert plan_from_data(plan_data(plan)) == plan
    alone = load_plan(plan_file(tmp_path, "timepoints:\n  - name: a\n    for: family\n"))
    assert alone.timepoints[0].for_types == ("family",)


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("timepoints:\n  - name: baseline\n  - name: mid\n    for: [worker]\n", 3,
     "timepoint mid: for has 'worker', which is not a respondent type"),
    ("timepoints:\n  - name: mid\n    for: []\n", 2,
     "timepoint mid: for must list respondent types"),
    ("timepoints:\n  - name: mid\n    for: [family, family]\n", 2,
     "timepoint mid: for names family twice"),
    ("timepoints:\n  - name: mid\n    for: [professional]\n"
     "    surveys: {individual: individual}\n", 4,
     "timepoint mid: its surveys name individual, but it is for professional only"),
])
def test_a_wrong_for_is_refused_with_file_line_and_reason(tmp_path: Path, text: str,
                                                          line: int, reason: str) -> None:
    with pytest.raises(ContentError) as raised:
        load_plan(plan_file(tmp_path, text, "wrong.yaml"))
    assert f"wrong.yaml:{line}" in str(raised.value)
    assert reason in str(raised.value)


# -- the rule


def test_who_a_timepoint_is_for() -> None:
    assert planned_types(Timepoint("baseline")) == ()
    assert planned_types(Timepoint("mid", for_types=("family", "professional"))) == (
        "family", "professional")
    # A pulse (or a timepoint opening by itself) without for: the types its surveys name,
    # as the round always invited; one staff open, with surveys named, is for everyone.
    weekly = Timepoint("weekly", {"professional": "pulse"}, every_days=7)
    assert planned_types(weekly) == ("professional",)
    assert planned_types(Timepoint("baseline", {"professional": "pulse"})) == ()
    team = Timepoint("team-check", for_types=("professional",))
    assert audience(team) == Audience("team-check", ("professional",))
    assert audience(team).reason == LEFT_OUT
    assert audience(team, ["professional"]) == audience(team)
    chosen = audience(Timepoint("baseline"), ["family", "individual"])
    assert chosen == Audience("baseline", ("individual", "family"), chosen=True)
    assert chosen.reason == ("only people with a learning disability and family members "
                             "and carers were chosen")
    assert audience(Timepoint("baseline"), respondent_types(["individual,family",
                                                             "professional"])).types == ()
    with pytest.raises(NotForThem, match="so family members and carers cannot be invited"):
        audience(team, ["family", "professional"])
    with pytest.raises(ValueError, match="'carer' is not a respondent type"):
        respondent_types(["family,carer"])


# -- nsw-feedback invite


def test_a_professional_only_timepoint_invites_no_individual(
        cli: Callable[..., Any], nsw: Services, planned: None) -> None:
    ran = cli("invite", "--site", "CAL", "--wave", "team-check")
    assert invited(nsw) == [("CAL-P01", "team-check")]
    assert lines(ran.stdout).keys() == {"CAL-P01"}
    assert lines(ran.stderr) == {code: f"skipped: {LEFT_OUT}"
                                 for code in ("CAL-0001", "CAL-0002", "CAL-F01")}
    with nsw.uow() as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "invite"))
        assert entry is not None and entry.detail["types"] == ["professional"]
        assert uow.repo.participant("CAL-0001").current_wave == "baseline"


def test_a_dry_run_leaves_out_the_same_people(cli: Callable[..., Any], nsw: Services,
                                              planned: None) -> None:
    ran = cli("invite", "--site", "CAL", "--wave", "team-check", "--dry-run")
    assert lines(ran.stdout).keys() == {"CAL-P01"}
    assert lines(ran.stderr)["CAL-F01"] == f"skipped: {LEFT_OUT}"
    assert invited(nsw) == []


def test_type_invites_only_the_types_named(cli: Callable[..., Any], nsw: Services,
                                           planned: None) -> None:
    ran = cli("invite", "--site", "CAL", "--wave", "baseline", "--type", "family")
    assert invited(nsw) == [("CAL-F01", "baseline")]
    assert lines(ran.stderr)["CAL-0001"] == "skipped: only family members and carers were chosen"
    cli("invite", "--site", "CAL", "--wave", "exit", "--type", "individual,professional")
    assert [code for code, wave in invited(nsw) if wave == "exit"] == [
        "CAL-0001", "CAL-0002", "CAL-P01"]
    cli("invite", "--site", "CAL", "--wave", "exit", "--type", "family", "--type",
        "professional")
    assert [code for code, wave in invited(nsw) if wave == "exit"] == [
        "CAL-0001", "CAL-0002", "CAL-F01", "CAL-P01", "CAL-P01"]


def test_a_type_the_timepoint_is_not_for_is_refused_and_nothing_is_made(
        cli: Callable[..., Any], nsw: Services, planned: None) -> None:
    refused = cli("invite", "--site", "CAL", "--wave", "team-check", "--type", "individual",
                  expect=1).output
    assert ("team-check is for professionals only (the site's plan), so people with a "
            "learning disability cannot be invited to it") in refused
    wrong = cli("invite", "--site", "CAL", "--wave", "baseline", "--type", "carer",
                expect=2).output
    assert "'carer' is not a respondent type" in wrong
    assert invited(nsw) == []


def test_camdens_health_check_is_for_people_with_a_learning_disability(
        cli: Callable[..., Any], nsw: Services, make_participant: Callable[..., int]) -> None:
    for code, kind in (("CAM-0001", "individual"), ("CAM-F01", "family"),
                       ("CAM-P01", "professional")):
        make_participant(code=code, respondent_type=kind, site="CAM", phone=None)
    cli("survey", "publish", str(EXAMPLES / "health_lifestyle.yaml"), "--site", "CAM")
    cli("plan", "publish", str(EXAMPLES / "plans" / "camden.yaml"), "--site", "CAM")
    ran = cli("invite", "--site", "CAM", "--wave", "health-start", "--channel", "web")
    assert invited(nsw) == [("CAM-0001", "health-start")]
    assert lines(ran.stderr) == {
        code: "skipped: health-start is for people with a learning disability only "
              "(the site's plan)" for code in ("CAM-F01", "CAM-P01")}


def test_the_round_invites_only_whom_a_timepoint_is_for(
        cli: Callable[..., Any], nsw: Services, people: None, tmp_path: Path) -> None:
    from web_survey.sending import make_due_invitations

    cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline}
  - {name: check-in, every_days: 91, surveys: {professional: professional},
     for: [family, professional]}
  - {name: 3-month, opens_after_days: 90, for: [individual]}
""")), "--site", "CAL")
    with nsw.uow() as uow:
        made = make_due_invitations(nsw, uow, uow.repo.site("CAL"),
                                    utcnow() + timedelta(days=91))
        assert sorted((i.participant.code, i.wave) for i in made) == [
            ("CAL-0001", "3-month"), ("CAL-0002", "3-month"),
            ("CAL-F01", "check-in"), ("CAL-P01", "check-in")]
