"""Each site's own surveys and plan: published, checked, versioned, and asked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from bot.engine import Event
from content.loader import PACKAGE_CONTENT
from storage.models import AuditEntry, Participant, Response, SitePlan, SurveyVersion
from web_survey.bootstrap import Services

CAL_CONSENT = "We want to ask about your named social worker. Is that OK?"
SHF_CONSENT = "We want to ask about the help you get. Can we ask you now?"


def survey_file(folder: Path, survey_id: str, consent: str, based_on: str = "individual",
                **changes: object) -> Path:
    """A copy of a shipped survey with its own id and consent wording."""
    data = yaml.safe_load((PACKAGE_CONTENT / f"{based_on}.yaml").read_text(encoding="utf-8"))
    data.update(id=survey_id, consent={"en": consent}, languages=["en"], **changes)
    for question in data["questions"]:
        for key in ("text", "help"):
            if isinstance(question.get(key), dict):
                question[key] = {"en": question[key]["en"]}
        for option in question.get("options", []):
            option["label"] = {"en": option["label"]["en"]}
    path = folder / f"{survey_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def plan_file(folder: Path, text: str, name: str = "plan.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def first_words(nsw: Services, pid: int, channel: str = "sms") -> str:
    """The consent question the person is asked when they first get in touch."""
    reply = nsw.conversations.handle(pid, channel, Event("start"))
    return reply.question.text if reply.question else ""


def versions(nsw: Services) -> int:
    with nsw.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(SurveyVersion)
                                  .where(SurveyVersion.site_id.is_not(None)))


@pytest.fixture
def sites(make_participant) -> dict[str, int]:
    """One person at each of three sites."""
    return {site: make_participant(code=f"{site}-0001", site=site, phone=f"+44770090010{i}")
            for i, site in enumerate(("CAL", "SHF", "NOT"))}


@pytest.mark.parametrize("channel", ["sms", "voice", "telegram", "web", "whatsapp"])
def test_two_sites_ask_their_own_surveys_while_a_third_keeps_the_defaults(
        cli, nsw, sites, tmp_path, channel):
    cal = survey_file(tmp_path, "cal_individual", CAL_CONSENT)
    shf = survey_file(tmp_path, "shf_individual", SHF_CONSENT)
    cli("survey", "publish", str(cal), "--site", "CAL")
    cli("survey", "publish", str(shf), "--site", "SHF")
    cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline, surveys: {individual: cal_individual}}
  - {name: exit, surveys: {individual: cal_individual}}
""", "cal.yaml")), "--site", "CAL")
    cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline, surveys: {individual: shf_individual}}
  - {name: weekly, every_days: 7, surveys: {individual: shf_individual}}
""", "shf.yaml")), "--site", "SHF")

    assert first_words(nsw, sites["CAL"], channel) == CAL_CONSENT
    assert first_words(nsw, sites["SHF"], channel) == SHF_CONSENT
    default = nsw.surveys.get("individual").consent["en"]
    assert first_words(nsw, sites["NOT"], channel) == default
    with nsw.uow() as uow:
        answered = dict(uow.session.execute(
            select(Participant.code, Response.survey_id)
            .join(Response, Response.participant_id == Participant.id)).all())
    assert answered == {"CAL-0001": "cal_individual", "SHF-0001": "shf_individual",
                        "NOT-0001": "individual"}
    shown = cli("plan", "show", "--site", "SHF").output
    assert '"every_days": 7' in shown and '"version": 1' in shown
    assert '"version": 0' in cli("plan", "show", "--site", "NOT").output


def test_a_new_version_leaves_a_started_response_on_the_wording_it_began_with(
        cli, nsw, sites, tmp_path):
    cli("survey", "publish", str(survey_file(tmp_path, "cal_individual", CAL_CONSENT)),
        "--site", "CAL")
    cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline, surveys: {individual: cal_individual}}
  - {name: exit}
""")), "--site", "CAL")
    conversations = nsw.conversations
    conversations.handle(sites["CAL"], "sms", Event("start"))
    changed = "We want to ask about your social worker. Can we start?"
    out = cli("survey", "publish", str(survey_file(tmp_path, "cal_individual", changed)),
              "--site", "CAL").output
    assert "version 2" in out
    # The same text again is not a new version.
    assert "unchanged" in cli("survey", "publish",
                              str(survey_file(tmp_path, "cal_individual", changed)),
                              "--site", "CAL").output
    again = conversations.handle(sites["CAL"], "sms", Event("again"))
    assert again.question is not None and again.question.text == CAL_CONSENT
    with nsw.uow() as uow:
        version = uow.session.scalar(select(SurveyVersion.version).join(
            Response, Response.survey_version_id == SurveyVersion.id))
        assert version == 1
        actions = [a.action for a in uow.session.scalars(select(AuditEntry))]
    assert actions.count("survey_publish") == 2 and "plan_publish" in actions
    listed = cli("survey", "list", "--site", "CAL").output
    assert "cal_individual\t2\t" in listed and "cal_individual\t1\t" in listed


def test_a_shipped_survey_is_kept_as_a_version_when_first_used(nsw, sites):
    first_words(nsw, sites["NOT"])
    with nsw.uow() as uow:
        row = uow.session.scalar(select(SurveyVersion))
        response = uow.session.scalar(select(Response))
        assert row is not None and row.site_id is None and row.survey_id == "individual"
        assert response.survey_version_id == row.id


def test_a_malformed_survey_is_refused_with_file_line_and_reason(cli, nsw, sites, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\ntitle: Hi\nrespondent_type: individual\n"
                      "consent: OK?\nquestions:\n  - id: q1\n    type: colour\n"
                      "    text: Which?\n", encoding="utf-8")
    out = cli("survey", "publish", str(broken), "--site", "CAL", expect=1).output
    assert "broken.yaml:6" in out and "q1" in out and "type" in out
    assert versions(nsw) == 0


def test_easy_read_problems_need_a_reason_which_is_audited(cli, nsw, sites, tmp_path):
    wordy = survey_file(
        tmp_path, "cal_wordy", "We would like to ascertain, notwithstanding any previous "
        "correspondence, whether you are amenable to participating in this consultation "
        "exercise about the multidisciplinary safeguarding arrangements.")
    out = cli("survey", "publish", str(wordy), "--site", "CAL", expect=1).output
    assert "not published" in out and "--reason" in out
    assert versions(nsw) == 0
    cli("survey", "publish", str(wordy), "--site", "CAL", "--reason",
        "The ethics committee approved this wording")
    with nsw.uow() as uow:
        detail = uow.session.scalar(select(AuditEntry.detail).where(
            AuditEntry.action == "survey_publish"))
    assert detail["reason"] == "The ethics committee approved this wording"
    assert detail["easy_read_problems"] > 0


def test_a_plan_naming_a_survey_the_site_cannot_ask_is_refused(cli, nsw, sites, tmp_path):
    out = cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline, surveys: {individual: nowhere}}
  - {name: exit, surveys: {family: individual}}
""")), "--site", "CAL", expect=1).output
    assert "no survey 'nowhere'" in out
    assert "is for individual respondents, not family" in out
    bad_name = cli("plan", "publish", str(plan_file(tmp_path, "timepoints:\n  - name: Mid "
                                                             "Point\n", "bad.yaml")),
                   "--site", "CAL", expect=1).output
    assert "bad.yaml" in bad_name and "lower-case" in bad_name
    with nsw.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(SitePlan)) == 0


def test_a_plan_whose_timepoints_make_a_surveys_columns_clash_is_refused(
        cli, nsw, sites, tmp_path):
    """sw_feel at 3-month and sw_feel_3 at month would both be sw_feel_3_month in the
    paired and trajectory exports: the survey loads (it names neither timepoint), the
    plan that adds them is refused."""
    data = yaml.safe_load((PACKAGE_CONTENT / "individual.yaml").read_text(encoding="utf-8"))
    extra = {"id": "sw_feel_3", "type": "yes_no", "text": {"en": "Is it OK?"}}
    survey = survey_file(tmp_path, "cal_clash", CAL_CONSENT,
                         questions=[*data["questions"], extra])
    cli("survey", "publish", str(survey), "--site", "CAL", "--reason", "a test")
    out = cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline, surveys: {individual: cal_clash}}
  - {name: month}
  - {name: 3-month}
  - {name: exit}
""")), "--site", "CAL", expect=1).output
    assert "the survey 'cal_clash' (question sw_feel)" in out
    assert "would be called sw_feel_3_month" in out
    with nsw.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(SitePlan)) == 0


def test_invitations_take_any_timepoint_of_the_plan(cli, nsw, sites, tmp_path):
    cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline}
  - {name: 3-month, opens_after_days: 90, window_days: 30}
  - {name: exit}
""")), "--site", "CAL")
    refused = cli("invite", "--site", "CAL", "--wave", "mid", "--channel", "web",
                  expect=1).output
    assert "no timepoint 'mid'" in refused and "baseline, 3-month, exit" in refused
    made = cli("invite", "--site", "CAL", "--wave", "3-month", "--channel", "web").output
    assert "CAL-0001" in made and "/s/" in made
    with nsw.uow() as uow:
        person = uow.session.get(Participant, sites["CAL"])
        assert person.current_wave == "3-month"
    first_words(nsw, sites["CAL"])
    with nsw.uow() as uow:
        assert uow.session.scalar(select(Response.wave)) == "3-month"
