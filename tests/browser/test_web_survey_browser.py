"""Each survey completed in real Chromium at 360 px: by mouse and by keyboard alone, with
JavaScript on and off, and axe-core (WCAG 2.2 A and AA) run on every page on the way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import axe_violations, open_phone
from tests.helpers import stored_answers

pytestmark = pytest.mark.browser

# What to answer to each question (an option's label, or words for a text box).
PROFESSIONAL = {"consent": "Yes", "role": "Nurse", "know_sw": "Yes",
                "voice_reviews": "Agree", "voice_planning": "Strongly agree",
                "joint_working": "Neither", "admission_risk": "Low",
                "comments": "Joint visits helped a lot."}
PROFESSIONAL_STORED = {"role": 1, "know_sw": 1, "voice_reviews": 4, "voice_planning": 5,
                       "joint_working": 3, "admission_risk": 1, "comments": None}
INDIVIDUAL = {"consent": "Yes", "who": "Me with help", "practice": "Yes", "know_sw": "Yes",
              "sw_feel": "Happy", "listened": "Yes", "ignored": "No",
              "decisions": "Me and others", "safe": "Not sure", "home": "OK",
              "life_better": "More days out."}
INDIVIDUAL_STORED = {"who": 2, "know_sw": 1, "sw_feel": 3, "listened": 1, "ignored": 2,
                     "decisions": 2, "safe": 9, "home": 2, "life_better": None}
FAMILY = {"consent": "Yes", "know_sw": "No", "involved": "Yes", "informed": "Yes",
          "not_informed": "No", "contact": "Hard", "choices": "Not sure", "safe": "Yes",
          "home": "Unhappy", "life_better": "A weekly phone call."}
FAMILY_STORED = {"know_sw": 2, "involved": 1, "informed": 1, "not_informed": 2, "contact": 1,
                 "choices": 9, "safe": 1, "home": 1, "life_better": None}


class Run:
    """One person filling in the survey in the browser, checking every page with axe."""

    def __init__(self, page: Any, axe: Any, check_axe: bool) -> None:
        self.page, self.axe, self.check_axe = page, axe, check_axe
        self.kinds_checked: set[str] = set()

    def check(self, kind: str) -> None:
        """Run axe on the page now showing; remember which kind of page it was."""
        if self.check_axe:
            report = axe_violations(self.axe, self.page)
            assert report == "", f"{kind} page {self.page.url}:\n{report}"
        self.kinds_checked.add(kind)

    def question(self) -> str:
        field = self.page.locator("input[name=question]")
        return field.get_attribute("value") if field.count() else ""

    def labels(self) -> list[str]:
        return [text.strip() for text in self.page.locator(".option label").all_inner_texts()]

    # -- keyboard only
    def tab_until(self, script: str, limit: int = 40) -> None:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            if self.page.evaluate(f"(() => {{ const el = document.activeElement; "
                                  f"return Boolean({script}); }})()"):
                return
        raise AssertionError(f"Tab never reached {script} on {self.page.url}")

    def key_answer(self, want: str) -> None:
        if self.page.locator("#answer").evaluate("el => el.type") == "radio":
            if self.page.evaluate("document.activeElement.name") != "choice":
                self.tab_until("el.name === 'choice'")
            self.page.keyboard.press("Space")
            now = self.page.evaluate("document.activeElement.id")
            ids = self.page.locator("input[name=choice]").evaluate_all(
                "els => els.map(e => e.id)")
            steps = self.labels().index(want) - ids.index(now)
            for _ in range(abs(steps)):
                self.page.keyboard.press("ArrowDown" if steps > 0 else "ArrowUp")
        else:
            self.tab_until("el.id === 'answer'")
            self.page.keyboard.press("Control+A")
            self.page.keyboard.type(want)
        self.key_button("el.value === 'continue'")

    def key_button(self, value_script: str, loads: bool = True) -> None:
        """Tab to a control and press Enter (waiting for the next page when it posts)."""
        self.tab_until(value_script)
        if not loads:
            self.page.keyboard.press("Enter")
            return
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    # -- mouse
    def mouse_answer(self, want: str) -> None:
        box = self.page.locator("#answer")
        if box.evaluate("el => el.type") == "radio":
            self.page.locator(".option label").get_by_text(want, exact=True).click()
        else:
            box.click()
            box.fill(want)
        self.page.get_by_role("button", name="Continue").click()

    def complete(self, answers: dict[str, str], keyboard: bool) -> None:
        """Answer every question, then send from the check-your-answers page."""
        for _ in range(30):
            self.page.wait_for_load_state()
            if self.page.locator(".panel").count():
                self.check("confirmation")
                return
            if self.page.locator("dl.summary").count():
                self.check("check answers")
                if keyboard:
                    self.key_button("el.value === 'submit'")
                else:
                    self.page.get_by_role("button", name="Send my answers").click()
                continue
            self.check("question")
            want = answers[self.question()]
            (self.key_answer if keyboard else self.mouse_answer)(want)
        raise AssertionError("the survey never ended")


def expect_stored(nsw: Any, pid: int, codes: dict[str, int | None], answers: dict[str, str],
                  who: str) -> None:
    with nsw.uow() as uow:
        response = uow.repo.response(uow.repo.participant_by_id(pid), "baseline")
        assert response.status == "completed"
    rows = stored_answers(nsw, pid)
    assert {q: row.value_code for q, row in rows.items()} == codes
    for question, row in rows.items():
        assert (row.channel, row.who_answered) == ("web", who)
        if row.value_code is None:
            assert row.text == answers[question]


@pytest.fixture
def invited(nsw: Any, make_participant: Callable[..., int]) -> Callable[..., tuple[int, str]]:
    """A participant of ``kind`` with a web invitation: (id, token)."""

    def invite(kind: str, code: str = "CAL-0001", **fields: Any) -> tuple[int, str]:
        pid = make_participant(code, kind, phone=None, **fields)
        with nsw.uow() as uow:
            invitation = uow.repo.add_invitation(uow.repo.participant_by_id(pid), "baseline",
                                                 "web")
            uow.commit()
            return pid, invitation.token

    return invite


def test_professional_by_keyboard_alone_at_360px_with_no_axe_violations(
        browser, axe, server, nsw, invited):
    pid, token = invited("professional")
    page = open_phone(browser)
    page.goto(f"{server}/s/{token}")
    run = Run(page, axe, check_axe=True)

    # Continue with nothing chosen: the error summary takes focus and links to the field.
    run.check("question")
    run.key_button("el.value === 'continue'")
    assert page.title().startswith("Error: ")
    assert page.locator(".error-summary h2").inner_text() == "There is a problem"
    run.check("error")
    assert page.evaluate("document.activeElement.className") == "error-summary"
    run.key_button("el.tagName === 'A'", loads=False)
    assert page.evaluate("document.activeElement.id") == "answer"

    run.complete({**PROFESSIONAL, "consent": "Yes"}, keyboard=True)
    assert run.kinds_checked == {"question", "error", "check answers", "confirmation"}
    assert "We have your answers" in page.locator("h1").inner_text()
    expect_stored(nsw, pid, PROFESSIONAL_STORED, PROFESSIONAL, "professional")


def test_professional_changes_an_answer_by_keyboard_before_sending(
        browser, axe, server, nsw, invited):
    pid, token = invited("professional")
    page = open_phone(browser)
    page.goto(f"{server}/s/{token}")
    run = Run(page, axe, check_axe=False)
    answers = dict(PROFESSIONAL)
    for _ in range(8):
        run.key_answer(answers[run.question()])
    assert page.locator("dl.summary").count()
    run.key_button("el.value === 'role'")  # the first Change button
    assert page.locator("input[name=choice]:checked + label").inner_text() == "Nurse"
    run.key_answer("Commissioner")
    run.key_button("el.value === 'submit'")
    assert page.locator(".panel").count()
    expect_stored(nsw, pid, {**PROFESSIONAL_STORED, "role": 4}, answers, "professional")


@pytest.mark.parametrize("keyboard", [False, True], ids=["mouse", "keyboard"])
def test_professional_completes_with_javascript_off(browser, axe, server, nsw, invited,
                                                    keyboard):
    pid, token = invited("professional")
    page = open_phone(browser, javascript=False)
    page.goto(f"{server}/s/{token}")
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    Run(page, axe, check_axe=False).complete(PROFESSIONAL, keyboard=keyboard)
    assert "We have your answers" in page.locator("h1").inner_text()
    expect_stored(nsw, pid, PROFESSIONAL_STORED, PROFESSIONAL, "professional")


@pytest.mark.parametrize(("kind", "answers", "codes", "who"), [
    ("individual", INDIVIDUAL, INDIVIDUAL_STORED, "supported"),
    ("family", FAMILY, FAMILY_STORED, "family_carer"),
])
@pytest.mark.parametrize(("keyboard", "javascript"), [(True, True), (False, False)],
                         ids=["keyboard-js", "mouse-nojs"])
def test_easy_read_surveys_complete_by_mouse_and_by_keyboard(
        browser, axe, server, nsw, invited, kind, answers, codes, who, keyboard, javascript):
    pid, token = invited(kind)
    page = open_phone(browser, javascript=javascript)
    page.goto(f"{server}/s/{token}")
    assert page.locator("img[src$='yes.svg']").count() == 1
    Run(page, axe, check_axe=javascript).complete(answers, keyboard=keyboard)
    expect_stored(nsw, pid, codes, answers, who)


def test_easy_read_page_sizes_fonts_pictures_and_speech(browser, axe, server, invited):
    _, token = invited("individual")
    page = open_phone(browser)
    page.goto(f"{server}/s/{token}")
    font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font >= 19
    for target in page.locator(".option input, .option label, button:visible").all():
        box = target.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, target.evaluate("e => e.outerHTML")
    # No audio file was rendered, so the browser's speech offers to read the question.
    listen = page.get_by_role("button", name="Listen").first
    assert listen.is_visible()
    assert page.locator("audio[autoplay]").count() == 0
    # Pictures can be switched off, and back on, with no JavaScript needed for it.
    page.get_by_role("button", name="Hide pictures").click()
    assert page.locator(".option img").count() == 0
    assert axe_violations(axe, page) == ""
    page.get_by_role("button", name="Show pictures").click()
    assert page.locator(".option img").count() == 3


def test_speech_button_stays_hidden_without_javascript(browser, server, invited):
    _, token = invited("individual")
    page = open_phone(browser, javascript=False)
    page.goto(f"{server}/s/{token}")
    assert page.locator("button.speak").count() >= 1
    assert not page.locator("button.speak").first.is_visible()


def test_bad_links_are_kind_pages_with_no_axe_violations(browser, axe, server, nsw, invited):
    pid, token = invited("professional")
    page = open_phone(browser)
    response = page.goto(f"{server}/s/not-a-real-link")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "This link does not work"
    assert axe_violations(axe, page) == ""
    with nsw.uow() as uow:
        uow.repo.participant_by_id(pid).current_wave = "exit"
        uow.commit()
    response = page.goto(f"{server}/s/{token}")
    assert response.status == 410
    assert page.locator("h1").inner_text() == "This link is out of date"
    assert axe_violations(axe, page) == ""
