"""Surveys and plan in the staff area: a site's lead uploads a survey or a plan and it is
published as the command line publishes it (checked, versioned, audited); every version
is listed with who published it and when, and previewed as each channel presents it."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from content.loader import PACKAGE_CONTENT
from storage.models import AuditEntry, SitePlan, SurveyVersion
from web_survey.bootstrap import Services

from .conftest import Staff, table_rows

EXAMPLES = PACKAGE_CONTENT.parent / "examples"
LIST = "/staff/sites/CAL/surveys"
PUBLISH = "/staff/sites/CAL/surveys/publish"
PLAN = "/staff/sites/CAL/plan/publish"
LEAD = "lead@calderdale.example"


def upload(staff: Staff, url: str, name: str, body: bytes, **fields: str) -> Any:
    return staff.post(url, data={"file": (io.BytesIO(body), name), **fields},
                      form_page=url, content_type="multipart/form-data")


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def site_versions(nsw: Services) -> list[tuple[str, int, str, str]]:
    with nsw.uow() as uow:
        return [(r.survey_id, r.version, r.published_by, r.reason) for r in uow.session.scalars(
            select(SurveyVersion).where(SurveyVersion.site_id.is_not(None))
            .order_by(SurveyVersion.id))]


def audited(nsw: Services, action: str) -> list[tuple[str, dict[str, Any]]]:
    with nsw.uow() as uow:
        return [(e.actor, e.detail) for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action))]


def test_a_lead_publishes_a_survey_and_sees_it_listed(nsw: Services, as_cal: Staff) -> None:
    response = upload(as_cal, PUBLISH, "journal.yaml", example("journal.yaml"))
    assert response.status_code == 302
    page = as_cal.get(LIST)
    assert "Published survey journal version 1." in page.get_data(as_text=True)
    rows = table_rows(page.get_data(as_text=True), "versions")
    journal = next(row for row in rows if row[0] == "journal")
    assert journal[1:2] == ["1"] and journal[3:5] == [LEAD, "This site's"]
    assert site_versions(nsw) == [("journal", 1, LEAD, "")]
    assert audited(nsw, "survey_publish")[0][0] == LEAD

    again = upload(as_cal, PUBLISH, "journal.yaml", example("journal.yaml"))
    assert "nothing new was published" in as_cal.get(again.headers["Location"]).get_data(
        as_text=True)
    assert len(site_versions(nsw)) == 1


def test_a_mistake_is_refused_with_file_line_question_and_reason(nsw: Services,
                                                                  as_cal: Staff) -> None:
    broken = example("journal.yaml").replace(b"type: open", b"type: maybe", 1)
    response = upload(as_cal, PUBLISH, "journal.yaml", broken)
    assert response.status_code == 400
    assert ("journal.yaml:37: question &#39;happened&#39;: unknown type &#39;maybe&#39;"
            in response.get_data(as_text=True))
    assert site_versions(nsw) == []


def test_easy_read_problems_need_a_reason_which_is_audited(nsw: Services,
                                                           as_cal: Staff) -> None:
    hard = example("journal.yaml").replace(b'"Did people listen to you?"',
                                           b'"Did your advocate listen to you?"')
    refused = upload(as_cal, PUBLISH, "journal.yaml", hard)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "journal.yaml:listened: jargon: (en) &#34;advocate&#34;" in text
    assert "give a reason below saying why it must stay" in text
    assert site_versions(nsw) == []

    reason = "Self-advocates chose the word advocate"
    assert upload(as_cal, PUBLISH, "journal.yaml", hard, reason=reason).status_code == 302
    assert site_versions(nsw) == [("journal", 1, LEAD, reason)]
    assert audited(nsw, "survey_publish")[0][1]["reason"] == reason
    assert reason in as_cal.get(LIST).get_data(as_text=True)


def test_a_workbook_is_published_from_the_page(nsw: Services, as_cal: Staff) -> None:
    book = Workbook()
    sheets: dict[str, list[tuple[str, ...]]] = {
        "survey": [("type", "name", "label"), ("note", "consent", "Can we start?"),
                   ("text", "news", "What is your news?")],
        "settings": [("form_id", "form_title", "respondent_type", "answered_by"),
                     ("news", "Your news", "individual", "self")]}
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    body = io.BytesIO()
    book.save(body)
    assert upload(as_cal, PUBLISH, "news.xlsx", body.getvalue()).status_code == 302
    assert site_versions(nsw) == [("news", 1, LEAD, "")]


def test_a_plan_is_published_and_shown(nsw: Services, as_cal: Staff) -> None:
    refused = upload(as_cal, PLAN, "hertfordshire.yaml", example("plans/hertfordshire.yaml"))
    assert refused.status_code == 400
    assert ("hertfordshire.yaml: journal: there is no survey &#39;journal&#39;"
            in refused.get_data(as_text=True))
    upload(as_cal, PUBLISH, "journal.yaml", example("journal.yaml"))
    response = upload(as_cal, PLAN, "hertfordshire.yaml", example("plans/hertfordshire.yaml"))
    assert response.status_code == 302
    page = as_cal.get(LIST).get_data(as_text=True)
    assert "Plan version 1" in page
    assert [row[0] for row in table_rows(page, "timepoints")[1:]] == ["baseline", "exit"]
    assert "journal: survey journal, started by texting DIARY or JOURNAL (en)" in page
    with nsw.uow() as uow:
        plan = uow.session.scalar(select(SitePlan))
        assert plan is not None and plan.published_by == LEAD


def test_the_plan_says_whom_each_timepoint_is_for(nsw: Services, as_cal: Staff) -> None:
    upload(as_cal, PUBLISH, "health_lifestyle.yaml", example("health_lifestyle.yaml"))
    response = upload(as_cal, PLAN, "camden.yaml", example("plans/camden.yaml"))
    assert response.status_code == 302
    rows = table_rows(as_cal.get(LIST).get_data(as_text=True), "timepoints")
    assert rows[0][2] == "For"
    assert [(row[0], row[2]) for row in rows[1:]] == [
        ("baseline", "Everyone"), ("health-start", "Person with a learning disability"),
        ("health-end", "Person with a learning disability"), ("exit", "Everyone")]


def _preview_url(staff: Staff, survey_id: str) -> str:
    page = staff.get(LIST).get_data(as_text=True)
    marker = "/staff/sites/CAL/surveys/"
    start = page.index(marker, page.index(f"<th scope=\"row\">{survey_id}</th>"))
    return page[start:page.index('"', start)]


def test_the_preview_shows_each_channel(as_cal: Staff) -> None:
    upload(as_cal, PUBLISH, "story.yaml", example("story.yaml"))
    url = _preview_url(as_cal, "story")
    text = as_cal.get(url).get_data(as_text=True)
    # A text message: the answers a line each, and what it costs.
    assert "Where are you now?\nSend a number:\n1 At home\n2 In hospital" in text
    assert "Text message: 1 part (" in text
    # The phone: the words with the keys.
    assert "Where are you now?\nPress 1: At home. Press 2: In hospital." in text
    # Telegram: the adapter's buttons, navigation included.
    assert "<li>🏠 At home</li>" in text and "<li>🔁 Say it again</li>" in text
    # Urdu: its own words, marked right to left, and costing more.
    urdu = as_cal.get(url + "?language=ur").get_data(as_text=True)
    assert 'lang="ur" dir="rtl"' in urdu and "آپ ابھی کہاں ہیں؟" in urdu


def test_another_sites_version_is_not_found(nsw: Services, staff: Staff,
                                            make_staff: Callable[..., str]) -> None:
    staff.sign_in(make_staff("lead@camden.example", "CAM"))
    upload(staff, "/staff/sites/CAM/surveys/publish", "story.yaml", example("story.yaml"))
    with nsw.uow() as uow:
        version = uow.session.scalar(select(SurveyVersion.id))
    assert staff.get(f"/staff/sites/CAM/surveys/{version}").status_code == 200
    staff.post("/staff/sign-out")
    staff.sign_in(make_staff(LEAD, "CAL"))
    assert staff.get(f"/staff/sites/CAL/surveys/{version}").status_code == 404


