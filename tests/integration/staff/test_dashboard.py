"""The dashboard's numbers, charts and safeguarding flags, from real conversations."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from bot.engine import Event, messages
from storage.models import (
    Answer,
    AuditEntry,
    Invitation,
    Participant,
    Response,
    SafeguardingFlag,
    utcnow,
)
from web_survey.bootstrap import Services

from .conftest import Staff, table_rows

BASELINE = ["yes", "1", "yes", "yes", "1", "yes", "no", "1", "yes", "2", "I like my flat"]
EXIT = ["yes", "1", "yes", "no", "yes", "no", "2", "yes", "1", "1", "yes",
        "They HURT me at the day centre!"]


def _answer(nsw: Services, pid: int, replies: list[str]) -> list[str]:
    said = messages(nsw.conversations.handle(pid, "sms", Event("start")).prompts)
    for reply in replies:
        said = messages(nsw.conversations.handle(pid, "sms", Event("text", reply)).prompts)
    return said


@pytest.fixture
def survey_data(nsw: Services, sites: dict[str, int],
                make_participant: Callable[..., int]) -> dict[str, list[str]]:
    """Calderdale: 1 completed, 1 started, 1 declined, 1 opted out, 1 only invited.
    Camden: 1 completed (never counted for Calderdale). CAL-0001 also answers the exit
    wave, with a worrying answer at the end."""
    people = {code: make_participant(code, kind, f"+4477009001{n:02d}", code[:3])
              for n, (code, kind) in enumerate((
                  ("CAL-0001", "individual"), ("CAL-0002", "individual"),
                  ("CAL-0003", "individual"), ("CAL-F0004", "family"),
                  ("CAL-P0005", "professional"), ("CAM-0001", "individual")))}
    with nsw.uow() as uow:
        for code in people:
            channel = "web" if code[4] in "FP" else "sms"
            uow.repo.add_invitation(uow.repo.participant(code), "baseline", channel)
        uow.commit()
    replies = {"baseline": _answer(nsw, people["CAL-0001"], BASELINE)}
    _answer(nsw, people["CAL-0002"], ["yes", "1", "pause"])  # STOP would opt out
    _answer(nsw, people["CAL-0003"], ["no"])
    nsw.conversations.opt_out(people["CAL-F0004"], True, "test")
    _answer(nsw, people["CAM-0001"], BASELINE)
    with nsw.uow() as uow:
        uow.repo.participant("CAL-0001").current_wave = "exit"
        uow.commit()
    replies["exit"] = _answer(nsw, people["CAL-0001"], EXIT)
    return replies


def test_response_rates_per_respondent_and_channel(as_cal: Staff,
                                                   survey_data: dict[str, list[str]]) -> None:
    page = as_cal.get("/staff/sites/CAL/?wave=baseline").get_data(as_text=True)
    assert table_rows(page, "rates") == [
        ["Respondent", "Channel", "Invited", "Started", "Completed", "Declined", "Opted out"],
        ["Family member or carer", "Web link", "1", "0", "0", "0", "1"],
        ["Person with a learning disability", "Text message (SMS)", "3", "1", "1", "1", "0"],
        ["Health professional", "Web link", "1", "0", "0", "0", "0"],
        ["Total", "5", "1", "1", "1", "1"],
    ]
    only_web = as_cal.get("/staff/sites/CAL/?wave=baseline&channel=web").get_data(as_text=True)
    assert table_rows(only_web, "rates")[-1] == ["Total", "2", "0", "0", "0", "1"]
    exit_wave = as_cal.get("/staff/sites/CAL/?wave=exit").get_data(as_text=True)
    # CAL-0001 answered the exit wave without an exit invitation: counted, not invited.
    assert table_rows(exit_wave, "rates")[-1] == ["Total", "0", "0", "1", "0", "0"]


def test_each_question_compares_baseline_and_exit_in_a_chart_and_a_table(
        as_cal: Staff, survey_data: dict[str, list[str]]) -> None:
    page = as_cal.get("/staff/sites/CAL/?type=individual").get_data(as_text=True)
    assert table_rows(page, "answers-individual-know_sw") == [
        ["Answer", "Baseline", "Exit"],
        ["Yes", "1 (100%)", "0 (0%)"],
        ["No", "0 (0%)", "1 (100%)"],
        ["Not sure", "0 (0%)", "0 (0%)"],
        ["Answers", "1", "1"],
    ]
    assert table_rows(page, "answers-individual-home")[1:4] == [
        ["Happy", "0 (0%)", "1 (100%)"], ["OK", "1 (100%)", "0 (0%)"],
        ["Unhappy", "0 (0%)", "0 (0%)"]]
    chart = page.split('aria-labelledby="chart-individual-know_sw-title')[1].split("</svg>")[0]
    assert ("Baseline, 1 answers: Yes 1 (100%), No 0 (0%), Not sure 0 (0%). "
            "Exit, 1 answers: Yes 0 (0%), No 1 (100%), Not sure 0 (0%).") in chart
    assert "Written or spoken answers: 1 at baseline, 1 at exit." in page
    assert "style=" not in page  # the security policy blocks inline styles
    by_family = as_cal.get("/staff/sites/CAL/?type=individual&who=family_carer")
    assert table_rows(by_family.get_data(as_text=True),
                      "answers-individual-know_sw")[-1] == ["Answers", "0", "0"]


def test_a_worrying_answer_is_flagged_and_the_person_told_who_to_call(
        nsw: Services, as_cal: Staff, survey_data: dict[str, list[str]]) -> None:
    assert not any("999" in message for message in survey_data["baseline"])
    assert survey_data["exit"][0] == ("Thank you for telling us. If you are in danger now, "
                                      "call 999. Please call Calderdale social care on "
                                      "0113 496 0000.")
    page = as_cal.get("/staff/sites/CAL/").get_data(as_text=True)
    assert "Worrying answers to review (1)" in page
    assert "Named person who reviews these: <strong>Lead at Calderdale</strong>" in page
    assert "They HURT me at the day centre!" in page
    assert "Worrying words: hurt*." in page
    with nsw.uow() as uow:
        flag = uow.session.scalar(select(SafeguardingFlag))
        assert flag is not None and (flag.wave, flag.question_id) == ("exit", "life_better")
        flag_id = flag.id
    handled = as_cal.post(f"/staff/sites/CAL/flags/{flag_id}/handled",
                          data={"note": "Phoned the day centre manager."},
                          form_page="/staff/sites/CAL/", follow_redirects=True)
    text = html.unescape(handled.get_data(as_text=True))
    assert "The flag for CAL-0001 is marked as handled." in text
    assert "Worrying answers to review (0)" in text
    assert ("CAL-0001: handled by lead@calderdale.example on" in text
            and "Phoned the day centre manager." in text)
    with nsw.uow() as uow:
        entry = uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "flag_handled"))
        assert entry is not None and entry.actor == "lead@calderdale.example"


def test_a_site_edits_its_own_worrying_words(
        nsw: Services, as_cal: Staff, make_participant: Callable[..., int]) -> None:
    page = as_cal.get("/staff/sites/CAL/settings").get_data(as_text=True)
    assert "abus*" in page  # a new site starts with the default list
    saved = as_cal.post("/staff/sites/CAL/settings", data={
        "contact_text": "Ring  Calderdale duty team on 01422 000000.",
        "safeguarding_lead": "Jo Smith, safeguarding lead",
        "worrying_words": "Lonely\n\nno friends\nlonely", "remind_after_days": "3",
        "remind_most": "2"}, form_page="/staff/sites/CAL/settings")
    assert saved.status_code == 302
    pid = make_participant("CAL-0001", site="CAL")
    said = _answer(nsw, pid, [*BASELINE[:-1], "I am lonely and hurt"])
    assert said[0] == ("Thank you for telling us. If you are in danger now, call 999. "
                       "Ring Calderdale duty team on 01422 000000.")
    with nsw.uow() as uow:
        site = uow.repo.site("CAL")
        assert site.worrying_words == "lonely\nno friends"
        assert uow.session.scalar(select(SafeguardingFlag.matched)) == "lonely"
    page = as_cal.get("/staff/sites/CAL/").get_data(as_text=True)
    assert "Jo Smith, safeguarding lead" in page


def test_settings_need_a_contact_and_a_named_person(nsw: Services, as_cal: Staff) -> None:
    response = as_cal.post("/staff/sites/CAL/settings", data={
        "contact_text": "", "safeguarding_lead": "", "worrying_words": "hurt"},
        form_page="/staff/sites/CAL/settings")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<a href="#contact_text">Enter who a person in danger should call</a>' in text
    assert '<a href="#safeguarding_lead">' in text
    with nsw.uow() as uow:
        assert uow.repo.site("CAL").safeguarding_lead == "Lead at Calderdale"


def test_invitations_only_for_the_site_count(nsw: Services, as_cal: Staff,
                                             survey_data: dict[str, list[str]]) -> None:
    with nsw.uow() as uow:
        assert len(list(uow.session.scalars(select(Invitation)))) == 6
    page = as_cal.get("/staff/sites/CAL/").get_data(as_text=True)
    assert "CAM-0001" not in page


def test_no_to_feeling_safe_and_words_typed_with_a_closed_answer_reach_the_review_queue(
        nsw: Services, as_cal: Staff, sites: dict[str, int],
        make_participant: Callable[..., int]) -> None:
    pid = make_participant("CAL-0009", "individual", "+447700900199", "CAL")
    said = messages(nsw.conversations.handle(pid, "sms", Event("start")).prompts)
    for reply in BASELINE[:5]:
        said = messages(nsw.conversations.handle(pid, "sms", Event("text", reply)).prompts)
    while "Do you feel safe?" not in said[-1]:
        said = messages(nsw.conversations.handle(pid, "sms", Event("text", "1")).prompts)
    said = messages(nsw.conversations.handle(
        pid, "sms", Event("text", "No. I am scared, he hits me")).prompts)
    assert said[0].startswith("Thank you for telling us. If you are in danger now, call 999.")
    with nsw.uow() as uow:
        flag = uow.session.scalar(select(SafeguardingFlag))
        assert flag is not None and flag.question_id == "safe"
        assert flag.text == "No. I am scared, he hits me"
        assert flag.matched.startswith("answer: No") and "hits me" in flag.matched
    page = html.unescape(as_cal.get("/staff/sites/CAL/").get_data(as_text=True))
    assert "Worrying answers to review (1)" in page
    assert "No. I am scared, he hits me" in page


def test_a_date_range_narrows_the_rates_the_charts_and_the_periods_figures(
        nsw: Services, as_cal: Staff, survey_data: dict[str, list[str]]) -> None:
    today = utcnow().date()
    with nsw.uow() as uow:
        # CAL-0001's exit answers were given 40 days ago; CAL-0003 was invited then too.
        exit_id = uow.session.scalar(select(Response.id).join(Response.participant).where(
            Participant.code == "CAL-0001", Response.wave == "exit"))
        uow.session.execute(update(Answer).where(Answer.response_id == exit_id)
                            .values(answered_at=utcnow() - timedelta(days=40)))
        old = uow.repo.participant("CAL-0003").id
        uow.session.execute(update(Invitation).where(Invitation.participant_id == old)
                            .values(created_at=utcnow() - timedelta(days=40)))
        uow.session.execute(update(Response).where(Response.participant_id == old)
                            .values(started_at=utcnow() - timedelta(days=40),
                                    updated_at=utcnow() - timedelta(days=40)))
        uow.commit()
    week = f"start={today - timedelta(days=6)}&end={today}"
    page = as_cal.get(f"/staff/sites/CAL/?wave=baseline&{week}").get_data(as_text=True)
    # CAL-0003 (invited and declined 40 days ago) is not among this week's people.
    assert table_rows(page, "rates")[-1] == ["Total", "4", "1", "1", "0", "1"]
    assert table_rows(page, "answers-individual-know_sw")[-1] == ["Answers", "1", "0"]
    # Sent: the web links only (the texts were never handed to a provider). Started: both
    # of CAL-0001's timepoints and CAL-0002 this week; CAL-0003 declined 40 days ago.
    assert table_rows(page, "period-figures")[-1] == [
        "Total", "2 (2)", "3 (4)", "2 (2)", "0 (1)", "1 (1)"]
    assert "Showing " in page and "Show all dates" in page
    everything = as_cal.get("/staff/sites/CAL/?wave=baseline").get_data(as_text=True)
    assert table_rows(everything, "rates")[-1] == ["Total", "5", "1", "1", "1", "1"]
    assert table_rows(everything, "answers-individual-know_sw")[-1] == ["Answers", "1", "1"]
    # Without dates, the figures are the weekly email's: the seven whole days before today.
    assert "The last 7 whole days, as in the weekly email." in everything
    long_ago = as_cal.get("/staff/sites/CAL/?start=2020-01-01&end=2020-01-31")
    text = long_ago.get_data(as_text=True)
    assert "Nobody has been invited to this timepoint yet" in text
    assert table_rows(text, "period-figures")[-1] == [
        "Total", "0 (0)", "0 (0)", "0 (0)", "0 (0)", "0 (0)"]


def test_a_to_date_before_the_from_date_is_explained(as_cal: Staff,
                                                     sites: dict[str, int]) -> None:
    response = as_cal.get("/staff/sites/CAL/?start=2026-03-10&end=2026-03-01")
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "<title>Error: Dashboard" in text
    assert '<a href="#end">The \'To\' date must be the same as or after the \'From\' date</a>' \
        in text


def test_the_timepoints_are_the_sites_own_plan(nsw: Services, as_cal: Staff,
                                               sites: dict[str, int], tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("timepoints:\n  - name: baseline\n  - name: 3-month\n"
                    "    opens_after_days: 90\n  - name: exit\n")
    nsw.publishing.publish_plan("CAL", plan, "test")
    page = as_cal.get("/staff/sites/CAL/?wave=3-month").get_data(as_text=True)
    assert '<option value="3-month" selected>3-month</option>' in page
    assert "Response rates: 3-month" in page
    assert table_rows(page, "answers-individual-know_sw")[0] == [
        "Answer", "Baseline", "3-month", "Exit"]
    assert "Baseline, 3-month, Exit compared" in page
    # The chart: a legend entry and a differently filled bar for each timepoint.
    chart = page.split('aria-labelledby="chart-individual-know_sw-title')[1].split("</svg>")[0]
    assert [name for name in ("Baseline", "3-month", "Exit") if f">{name}</text>" in chart] \
        == ["Baseline", "3-month", "Exit"]
    fills = re.findall(r'<rect x="200" y="\d+" width="[\d.]+" height="18" fill="([^"]+)"', chart)
    assert len(fills) == 3 * 3 and len(set(fills[:3])) == 3
    assert "Baseline: no answers yet. 3-month: no answers yet. Exit: no answers yet." in chart
    camden = as_cal.get("/staff/sites/CAM/")
    assert camden.status_code == 404


GARDEN = """\
id: {id}
title: {{en: "Your home"}}
respondent_type: individual
answered_by: self
consent: {{en: "We want to ask about your home. Is that OK?"}}
questions:
  - id: garden
    type: yes_no
    label: Has a garden to sit in
    text: {{en: "Do you have a garden to sit in?"}}
"""


def _charts(page: str) -> list[str]:
    """The ids of the answer tables on a dashboard page, in order."""
    return re.findall(r'<table class="table table-small" id="answers-([^"]+)"', page)


def test_a_site_that_publishes_its_own_survey_sees_its_own_questions(
        nsw: Services, app: Flask, as_cal: Staff, survey_data: dict[str, list[str]],
        make_staff: Callable[..., str], make_participant: Callable[..., int],
        tmp_path: Path) -> None:
    own = tmp_path / "individual.yaml"
    own.write_text(GARDEN.format(id="individual"), encoding="utf-8")
    nsw.publishing.publish_survey("CAL", own, "test", reason="test wording")
    pid = make_participant("CAL-0009", phone="+447700900199")
    _answer(nsw, pid, ["yes", "yes"])  # consent, then the garden: the site's version

    page = html.unescape(as_cal.get("/staff/sites/CAL/?type=individual").get_data(
        as_text=True))
    assert "<h4>Has a garden to sit in</h4>" in page
    assert table_rows(page, "answers-individual-garden")[1] == ["Yes", "1 (100%)", "0 (0%)"]
    charts = _charts(page)
    # The site's own question first; the shipped version's, which CAL-0001 answered
    # before, keep their answers after it.
    assert charts[0] == "individual-garden" and "individual-know_sw" in charts
    assert table_rows(page, "answers-individual-know_sw")[-1] == ["Answers", "1", "1"]
    # Camden asks the shipped survey: no garden there.
    as_cam = Staff(app.test_client())
    as_cam.sign_in(make_staff("lead@camden.example", "CAM"))
    camden = as_cam.get("/staff/sites/CAM/?type=individual").get_data(as_text=True)
    assert "individual-know_sw" in _charts(camden)
    assert "individual-garden" not in _charts(camden)


def test_a_survey_the_sites_plan_names_is_charted_under_its_own_name(
        nsw: Services, as_cal: Staff, sites: dict[str, int],
        make_participant: Callable[..., int], tmp_path: Path) -> None:
    own = tmp_path / "cal_home.yaml"
    own.write_text(GARDEN.format(id="cal_home"), encoding="utf-8")
    nsw.publishing.publish_survey("CAL", own, "test", reason="test wording")
    plan = tmp_path / "plan.yaml"
    plan.write_text("timepoints:\n  - name: baseline\n    surveys: {individual: cal_home}\n"
                    "  - name: exit\n", encoding="utf-8")
    nsw.publishing.publish_plan("CAL", plan, "test")
    _answer(nsw, make_participant("CAL-0001"), ["yes", "no"])

    page = html.unescape(as_cal.get("/staff/sites/CAL/?type=individual").get_data(
        as_text=True))
    assert "<h3>Your home (Person with a learning disability)</h3>" in page
    assert table_rows(page, "answers-cal_home-garden")[1:3] == [
        ["Yes", "0 (0%)", "0 (0%)"], ["No", "1 (100%)", "0 (0%)"]]
    # The exit still asks the shipped survey, so it is charted too.
    assert _charts(page)[0] == "cal_home-garden"
    assert "individual-know_sw" in _charts(page)
