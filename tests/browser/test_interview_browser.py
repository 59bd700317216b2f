"""Interview mode in real Chromium at tablet size: a worker signs in, opens a participant
and runs their easy-read survey with them, with JavaScript on and off; axe-core (WCAG
2.2 A and AA) on every new staff page and every survey page on the way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from storage.models import Answer, AuditEntry, Site, StaffRole
from storage.staff import add_staff
from tests.browser.conftest import axe_violations
from tests.browser.test_staff_pages import PASSWORD, sign_in
from tests.browser.test_web_survey_browser import INDIVIDUAL, INDIVIDUAL_STORED, Run
from web_survey.bootstrap import Services

pytestmark = pytest.mark.browser
TABLET = {"width": 768, "height": 1024}
WORKER = "sam@calderdale.example"


@pytest.fixture
def live(server: str, nsw: Services, make_participant: Callable[..., int]) -> str:
    """Calderdale with its lead, an interviewer and one person to interview."""
    with nsw.uow() as uow:
        site = Site(code="CAL", name="Calderdale",
                    contact_text="Please call the social care team on 0113 496 0000.")
        uow.session.add(site)
        add_staff(uow.repo, "lead@calderdale.example", PASSWORD, site)
        add_staff(uow.repo, WORKER, PASSWORD, site, role=StaffRole.INTERVIEWER)
        uow.commit()
    make_participant("CAL-0001", "individual", site="CAL")
    return server


def tablet(browser: Browser, javascript: bool) -> Page:
    return browser.new_context(viewport=TABLET, java_script_enabled=javascript).new_page()


def no_violations(axe: Any, page: Page, what: str) -> None:
    report = axe_violations(axe, page)
    assert report == "", f"{what} {page.url}:\n{report}"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_interviewer_completes_an_interview_on_a_tablet(
        live: str, browser: Browser, axe: Any, nsw: Services, javascript: bool) -> None:
    page = tablet(browser, javascript)
    sign_in(page, live, WORKER)
    # An interviewer lands on their interviews, and sees no other staff page in the menu.
    assert page.url.endswith("/staff/sites/CAL/interviews")
    assert [" ".join(text.split()) for text in page.get_by_role("navigation")
            .get_by_role("link").all_inner_texts()] == ["Interviews for Calderdale"]
    # axe-core runs in the page, so it runs where JavaScript does.
    if javascript:
        no_violations(axe, page, "interviews")
    page.get_by_role("link", name="Interview CAL-0001").click()
    if javascript:
        no_violations(axe, page, "interview start")
    else:
        assert page.evaluate("document.querySelectorAll('script').length") == 0
    page.get_by_role("button", name="Start the interview").click()
    # The person's own easy-read page: pictures, big answers, the worker named above.
    assert page.locator("img[src$='yes.svg']").count() == 1
    assert page.locator(".interview-bar").inner_text().startswith(
        f"Interview with CAL-0001 by {WORKER}")
    Run(page, axe, check_axe=javascript).complete(INDIVIDUAL, keyboard=False)

    with nsw.uow() as uow:
        stored = {a.question_id: (a.value_code, a.mode, a.interviewer)
                  for a in uow.session.scalars(select(Answer))}
        stages = [entry.detail["stage"] for entry in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "interview"))]
    assert stored == {question: (code, "interview", WORKER)
                      for question, code in INDIVIDUAL_STORED.items()}
    assert stages == ["started", "finished"]


def test_the_new_staff_pages_meet_wcag_22_aa(live: str, browser: Browser, axe: Any) -> None:
    page = tablet(browser, javascript=True)
    sign_in(page, live)
    for path in ("/participants/CAL-0001", "/interviews", "/participants/CAL-0001/interview"):
        page.goto(f"{live}/staff/sites/CAL{path}")
        no_violations(axe, page, path)
    page.goto(f"{live}/staff/sites/CAL/participants/CAL-0001")
    page.get_by_role("link", name="Interview CAL-0001").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Interview with CAL-0001"
    # The case-study pack: the checkbox is labelled and the download is a ZIP.
    page.goto(f"{live}/staff/sites/CAL/participants/CAL-0001")
    page.get_by_label("Add their recordings (audio files)").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the case-study pack").click()
    assert download.value.suggested_filename == "cal-0001-case-study.zip"
