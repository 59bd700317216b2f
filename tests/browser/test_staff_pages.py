"""The staff area in real Chromium: WCAG 2.2 AA by axe-core, and every task without JS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from bot.engine import Event
from bot.service import from_provider
from content.loader import PACKAGE_CONTENT
from storage.models import AuditEntry, SafeguardingFlag, Site
from storage.staff import add_staff
from web_survey.bootstrap import Services

from .conftest import AXE_TAGS

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"
# A second of silence as a WAV file (8 kHz, 16-bit mono).
WAV = (b"RIFF" + (36 + 16000).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
       + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
       + (16000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
       + b"data" + (16000).to_bytes(4, "little") + bytes(16000))


@pytest.fixture
def live(server: str, nsw: Services, make_participant: Callable[..., int]) -> str:
    """The app on a loopback port, with a site, its lead, people, answers and a flag."""
    with nsw.uow() as uow:
        site = Site(code="CAL", name="Calderdale", safeguarding_lead="Jo Smith",
                    contact_text="Please call the social care team on 0113 496 0000.")
        uow.session.add(site)
        add_staff(uow.repo, "lead@calderdale.example", PASSWORD, site)
        add_staff(uow.repo, "colleague@calderdale.example", PASSWORD, site)
        add_staff(uow.repo, "admin@example.org", PASSWORD, None, admin=True)
        uow.commit()
    first = make_participant("CAL-0001", site="CAL")
    family = make_participant("CAL-F0002", "family", "+447700900002", site="CAL")
    nsw.conversations.handle(first, "sms", Event("start"))
    for reply in ("yes", "1", "yes", "yes", "1", "yes", "no", "1", "yes", "2"):
        nsw.conversations.handle(first, "sms", Event("text", reply))
    # Someone who answered every question, the open one by a recording: their page gets
    # its player and transcript form, the dashboard's queue the way to listen.
    caller = make_participant("CAL-0004", phone="+447700900004", site="CAL")
    nsw.conversations.handle(caller, "voice", Event("start"))
    for key in ("1", "1", "1", "1", "1", "1", "2", "0", "1", "2"):
        nsw.conversations.handle(caller, "voice", Event("key", key))
    nsw.conversations.record(caller, "voice", from_provider(WAV, "audio/wav", None),
                             "life_better")
    with nsw.uow() as uow:
        # What a family member said about CAL-0001: on the queue and on both their pages.
        uow.session.add(SafeguardingFlag(site_id=uow.repo.site("CAL").id,
                                         participant_id=family, about_id=first,
                                         wave="baseline", question_id="life_better",
                                         text="She is scared at night", matched="scared"))
        uow.commit()
    return server


def sign_in(page: Page, live: str, email: str = "lead@calderdale.example") -> None:
    page.goto(f"{live}/staff/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _submit(page: Page, button: str) -> None:
    """Press a form's button and wait for the page it answers with to load: axe run on
    a page still drawing judges unstyled links too small (a flaky target-size)."""
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def _violations(axe: Any, page: Page) -> list[str]:
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"]]


def test_staff_pages_meet_wcag_22_aa(live: str, browser: Browser, axe: Any) -> None:
    page = browser.new_page()
    page.goto(f"{live}/staff/sign-in")
    _submit(page, "Sign in")  # the error state, too
    found = {"sign-in errors": _violations(axe, page)}
    sign_in(page, live)
    page.goto(f"{live}/staff/sites/CAL/invitations")
    page.get_by_label("Web link").check()
    page.get_by_role("button", name="Send invitations").click()
    paths = ["/", "/participants", "/participants/new", "/participants/import",
             "/participants/CAL-0001", "/participants/CAL-0004", "/participants/CAL-F0002",
             "/participants/CAL-0001/erase", "/invitations",
             "/invitations/print?channel=web", "/exports", "/settings", "/staff"]
    for path in paths:
        page.goto(f"{live}/staff/sites/CAL{path}")
        found[path] = _violations(axe, page)
    page.goto(f"{live}/staff/sites/CAL/participants/new")
    _submit(page, "Add participant")
    found["add errors"] = _violations(axe, page)
    page.goto(f"{live}/staff/account/password")
    found["password"] = _violations(axe, page)
    _submit(page, "Change password")
    found["password errors"] = _violations(axe, page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live, "admin@example.org")
    for path in ("/staff/", "/staff/admin/sites", "/staff/admin/staff"):
        page.goto(f"{live}{path}")
        found[path] = _violations(axe, page)
    assert {where: problems for where, problems in found.items() if problems} == {}


def test_a_site_lead_does_everything_without_javascript(live: str, browser: Browser,
                                                         tmp_path: Any) -> None:
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    sign_in(page, live)
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    chart = page.get_by_role("img", name="Knows who their social worker is: baseline and exit "
                                          "compared")
    assert chart.is_visible()
    page.get_by_role("button", name="Mark as handled").click()
    assert page.get_by_text("The flag for CAL-F0002 about CAL-0001 is marked as "
                            "handled.").is_visible()

    csv_file = tmp_path / "people.csv"
    csv_file.write_text("code,respondent_type,phone,preferred_channel\n"
                        "CAL-0003,individual,+447700900003,sms\n")
    page.get_by_role("link", name="Participants").click()
    page.get_by_role("link", name="Import a CSV file").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Import").click()
    assert page.get_by_text("1 participants are imported.").is_visible()

    page.get_by_role("link", name="Invitations").click()
    page.get_by_label("Web link").check()
    page.get_by_role("button", name="Send invitations").click()
    assert page.get_by_text("3 baseline invitations made (Web link).").is_visible()
    page.get_by_role("link", name="Print web links with QR codes").click()
    assert page.get_by_role("img", name="QR code for CAL-0003").is_visible()

    page.goto(f"{live}/staff/sites/CAL/exports")
    page.get_by_label("Long CSV: one row for each answer").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    header = "site,participant,about,respondent_type"
    assert saved.read_text(encoding="utf-8-sig").startswith(header)
    assert "+447700" not in saved.read_text()
    context.close()


def audit_entries(nsw: Services) -> list[tuple[str, str]]:
    with nsw.uow() as uow:
        return [(e.action, e.actor) for e in uow.session.scalars(select(AuditEntry))]


def test_a_recording_plays_seeks_and_is_written_down_in_the_browser(
        live: str, browser: Browser, nsw: Services) -> None:
    page = browser.new_page()
    sign_in(page, live)
    page.get_by_role("link", name="Listen to CAL-0004’s recording and write it down").click()
    player = page.locator("audio")
    # Chromium fetches it with range requests, knows its length and can seek in it.
    length = player.evaluate("""audio => new Promise((done, failed) => {
        audio.addEventListener("loadedmetadata", () => done(audio.duration));
        audio.addEventListener("error", () => failed(audio.error.code));
        audio.load(); })""")
    assert length == pytest.approx(1.0, abs=0.05)
    seeked = player.evaluate("""audio => new Promise(done => {
        audio.addEventListener("seeked", () => done(audio.currentTime));
        audio.currentTime = 0.5; })""")
    assert seeked == pytest.approx(0.5, abs=0.05)
    page.get_by_label("What the recording says").fill("I am scared at night.")
    page.get_by_role("button", name="Save what it says").click()
    assert page.get_by_text("It has worrying words (scared).").is_visible()
    played = [entry for entry in audit_entries(nsw) if entry[0] == "recording_played"]
    # One play, however many range requests it took.
    assert played == [("recording_played", "lead@calderdale.example")]


def test_the_audit_log_page_meets_wcag_22_aa(live: str, browser: Browser, axe: Any) -> None:
    page = browser.new_page()
    sign_in(page, live)
    page.goto(f"{live}/staff/sites/CAL/invitations")
    page.get_by_label("Web link").check()
    page.get_by_role("button", name="Send invitations").click()
    page.get_by_role("link", name="Audit log").click()
    assert page.get_by_role("heading", name="Audit log").is_visible()
    assert page.get_by_role("cell", name="lead@calderdale.example").first.is_visible()
    found = {"log": _violations(axe, page)}
    page.get_by_label("What happened").select_option("invite")
    page.get_by_role("button", name="Show").click()
    assert "action=invite" in page.url
    assert page.get_by_role("rowheader", name="Invitations sent").is_visible()
    found["filtered"] = _violations(axe, page)
    page.goto(f"{live}/staff/sites/CAL/audit?start=2026-04-02&end=2026-04-01")
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    found["errors"] = _violations(axe, page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live, "admin@example.org")
    page.goto(f"{live}/staff/sites/CAL/audit")
    found["admin"] = _violations(axe, page)
    assert {where: problems for where, problems in found.items() if problems} == {}


def test_the_dashboard_fits_a_320px_phone_by_keyboard_and_at_200pc_text(
        live: str, browser: Browser, axe: Any) -> None:
    page = browser.new_page(viewport={"width": 320, "height": 740})
    sign_in(page, live)
    page.goto(f"{live}/staff/sites/CAL/")
    assert _violations(axe, page) == []
    wide = "document.documentElement.scrollWidth"
    assert page.evaluate(wide) <= 320
    # Every cell of the rate and period tables names its row and column headers.
    unnamed = page.evaluate("""() => [...document.querySelectorAll(
            '#rates td, #period-figures td')].filter(cell =>
        (cell.getAttribute('headers') || '').split(' ').filter(id =>
            document.getElementById(id)?.tagName === 'TH').length < 2
    ).map(cell => cell.outerHTML)""")
    assert unnamed == []
    assert page.locator("#rates th:not([scope]), #period-figures th:not([scope])").count() == 0
    # A date range, chosen with the form (no script), and a wrong one: still AA, still 320 px.
    page.get_by_label("From", exact=True).fill("2026-01-01")
    page.get_by_label("To", exact=True).fill("2026-12-31")
    page.get_by_role("button", name="Show").click()
    assert "start=2026-01-01" in page.url
    assert page.get_by_text("What happened from 1 January 2026 to 31 December 2026").count()
    assert _violations(axe, page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.goto(f"{live}/staff/sites/CAL/?start=2026-03-10&end=2026-03-01")
    assert _violations(axe, page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.goto(f"{live}/staff/sites/CAL/")
    # Keyboard only: Tab reaches the filters and the Show button.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Show":
            break
    else:
        raise AssertionError("Tab never reached Show")
    # Text at 200 %: still nothing scrolls sideways (the rate table scrolls in its own box).
    page.evaluate("document.documentElement.style.fontSize = "
                  "2 * parseFloat(getComputedStyle(document.documentElement).fontSize) + 'px'")
    assert page.evaluate(wide) <= 320


def test_a_lead_publishes_and_previews_a_survey_without_javascript(
        live: str, browser: Browser, axe: Any) -> None:
    """Upload, refusal, list, preview (English and Urdu) and plan with no JavaScript;
    then axe-core (which needs JavaScript to run) finds nothing on any of those pages."""
    examples = PACKAGE_CONTENT.parent / "examples"
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live)
    page.get_by_role("link", name="Surveys").click()
    page.get_by_role("link", name="Publish a survey").click()
    page.get_by_label("Survey file").set_input_files(str(examples / "plans" / "camden.yaml"))
    page.get_by_role("button", name="Check and publish").click()
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    page.get_by_label("Survey file").set_input_files(str(examples / "story.yaml"))
    page.get_by_role("button", name="Check and publish").click()
    assert page.get_by_text("Published survey story version 1.").is_visible()
    page.get_by_role("link", name="Preview story version 1").click()
    assert page.get_by_role("heading", name="Question 2: where").is_visible()
    preview = page.url
    page.get_by_label("Language").select_option("ur")
    page.get_by_role("button", name="Show this language").click()
    assert page.get_by_text("آپ ابھی کہاں ہیں؟").first.is_visible()
    page.goto(f"{live}/staff/sites/CAL/plan/publish")
    page.get_by_label("Plan file").set_input_files(str(examples / "plans" / "nottingham.yaml"))
    page.get_by_role("button", name="Check and publish").click()
    assert page.get_by_text("Published plan version 1.").is_visible()
    assert page.get_by_text("story: survey story, started by texting STORY (en)").is_visible()
    context.close()

    page = browser.new_page()
    sign_in(page, live)
    found = {}
    for where, url in (("surveys", "/staff/sites/CAL/surveys"),
                       ("publish", "/staff/sites/CAL/surveys/publish"),
                       ("publish plan", "/staff/sites/CAL/plan/publish"),
                       ("preview", preview.removeprefix(live)),
                       ("preview in Urdu", preview.removeprefix(live) + "?language=ur")):
        page.goto(f"{live}{url}")
        found[where] = _violations(axe, page)
    page.goto(f"{live}/staff/sites/CAL/surveys/publish")
    _submit(page, "Check and publish")
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    found["publish refused"] = _violations(axe, page)
    assert {where: problems for where, problems in found.items() if problems} == {}
