"""Each survey completed in real Chromium at 360 px: by mouse and by keyboard alone, with
JavaScript on and off, and axe-core (WCAG 2.2 A and AA) run on every page on the way."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.engine import Event, EventKind
from content.audio import audio_key
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
    assert page.locator(".error-summary a").bounding_box()["height"] >= 44
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
    # No audio file was rendered and headless Chromium has no voice: the page says so
    # instead of showing a silent Listen button.
    assert not page.locator("button.speak").first.is_visible()
    assert page.get_by_text("Sorry, this page cannot be read out loud here.").is_visible()
    assert page.locator("audio").count() == 0
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


# ------------------------------------------------- listening, reach and needs (issue 16)

TALL_PHONE = {"width": 360, "height": 740}


def advance(nsw: Any, token: str, *answers: tuple[str, str]) -> None:
    """Answer the first questions through the service, as the page's posts would."""
    nsw.conversations.open_link(token, "web", Event(EventKind.START))
    for question, code in answers:
        nsw.conversations.open_link(token, "web", Event(EventKind.BUTTON, code,
                                                        question=question))


def silence(path: Path) -> None:
    """A tenth of a second of silence: a real WAV file the browser plays to its end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)


def test_listen_plays_the_question_each_answer_then_help_in_order(
        browser, server, nsw, app_config, invited):
    question = "Who is answering these questions?"
    labels = ["Me on my own", "Me with help", "Family or friend", "A worker"]
    help_text = "It is fine to have help. We just want to know who is answering."
    urls = []
    for text in (question, *labels, help_text):
        name = f"{audio_key(text, 'en')}.wav"
        silence(Path(app_config["AUDIO_DIR"]) / "en" / name)
        urls.append(f"{server}/audio/en/{name}")
    _, token = invited("individual")
    advance(nsw, token, ("consent", "1"))
    page = open_phone(browser)
    played: list[str] = []
    page.on("request", lambda request: played.append(request.url)
            if "/audio/" in request.url else None)
    page.goto(f"{server}/s/{token}")
    assert played == []  # nothing plays by itself
    listen = page.locator(".listen-big .listen-button")
    box = listen.bounding_box()
    assert listen.inner_text().strip() == "Listen" and listen.locator("svg").count() == 1
    assert box["height"] >= 44 and box["width"] >= 44
    listen.click()
    page.wait_for_function(
        "url => performance.getEntriesByType('resource').some(e => e.name === url)",
        arg=urls[-1], timeout=10_000)
    in_order = [url for i, url in enumerate(played) if i == 0 or played[i - 1] != url]
    assert in_order == urls
    # The small button beside an answer plays that answer alone (a fresh browser cache).
    played.clear()
    small = open_phone(browser)
    small.on("request", lambda request: played.append(request.url)
             if "/audio/" in request.url else None)
    small.goto(f"{server}/s/{token}")
    small.get_by_role("link", name="Listen: Family or friend").click()
    small.wait_for_timeout(500)
    assert set(played) == {urls[3]}
    # With no JavaScript the Listen button is a link to the question's audio.
    plain = open_phone(browser, javascript=False)
    plain.goto(f"{server}/s/{token}")
    href = plain.locator(".listen-big a").get_attribute("href")
    assert href == urls[0].removeprefix(server)
    response = plain.request.get(f"{server}{href}")
    assert response.ok and response.headers["content-type"] == "audio/wav"


RESPONDENTS = {
    # kind, language, the answers that lead to a question with three answers (yes/no/not sure)
    "individual": ("individual", "en", (("consent", "1"), ("who", "2"), ("practice", "1"))),
    "family": ("family", "en", (("consent", "1"),)),
    "professional": ("professional", "en", (("consent", "1"), ("role", "1"))),
    "urdu": ("individual", "ur", (("consent", "1"), ("who", "2"), ("practice", "1"))),
}


@pytest.mark.parametrize("who", list(RESPONDENTS))
def test_a_three_answer_question_is_within_reach_on_a_phone(
        browser, axe, server, nsw, invited, who):
    kind, language, answers = RESPONDENTS[who]
    _, token = invited(kind, language=language)
    advance(nsw, token, *answers)
    page = browser.new_context(viewport=TALL_PHONE).new_page()
    page.goto(f"{server}/s/{token}")
    assert page.locator("input[name=choice]").count() == 3
    assert axe_violations(axe, page) == ""
    # 360 x 740: the last answer and Continue show without scrolling.
    last = page.locator(".option").last.bounding_box()
    go = page.locator("button[value=continue]").bounding_box()
    assert last["y"] + last["height"] <= 740 and go["y"] + go["height"] <= 740, (last, go)
    # Keyboard only: the main action comes before "Hide pictures" in the Tab order.
    order = []
    for _ in range(25):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.value || "
                                   "document.activeElement.textContent.trim()"))
        if order[-1] in ("pictures", ""):
            break
    assert "continue" in order
    if "pictures" in order:
        assert order.index("continue") < order.index("pictures")
    # 320 px: nothing scrolls sideways.
    page.set_viewport_size({"width": 320, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    # Text at 200 % on a 360 px phone: every label wraps inside its box.
    page.set_viewport_size(TALL_PHONE)
    page.evaluate("document.documentElement.style.fontSize = "
                  "2 * parseFloat(getComputedStyle(document.documentElement).fontSize) + 'px'")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    spilt = page.evaluate("""() => [...document.querySelectorAll('.option')].filter(option => {
        const box = option.getBoundingClientRect();
        const words = option.querySelector('label span').getBoundingClientRect();
        return words.left < box.left - 1 || words.right > box.right + 1;
    }).map(option => option.textContent.trim())""")
    assert spilt == []


def test_check_your_answers_is_short_and_names_each_change_button_by_number(
        browser, axe, server, nsw, invited):
    _, token = invited("individual")
    advance(nsw, token, ("consent", "1"), ("who", "2"), ("practice", "1"), ("know_sw", "1"),
            ("sw_feel", "3"), ("listened", "1"), ("ignored", "2"), ("decisions", "2"),
            ("safe", "9"), ("home", "2"))
    nsw.conversations.open_link(token, "web", Event(EventKind.TEXT, "More days out.",
                                                    question="life_better"))
    page = browser.new_context(viewport=TALL_PHONE).new_page()
    page.goto(f"{server}/s/{token}")
    assert page.locator("dl.summary").count()
    assert axe_violations(axe, page) == ""
    assert page.evaluate("document.documentElement.scrollHeight") <= 1250  # was 1,512
    names = [button.get_attribute("aria-label")
             for button in page.locator("button[name=change]").all()]
    assert names == [f"Change answer {n}" for n in range(1, len(names) + 1)]
    assert len(names) == 9
    # 320 px, and text at 200 %: nothing scrolls sideways.
    page.set_viewport_size({"width": 320, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.evaluate("document.documentElement.style.fontSize = "
                  "2 * parseFloat(getComputedStyle(document.documentElement).fontSize) + 'px'")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


CONSENT_EN = ("We want to ask you about your social worker. "
              "Is it OK to ask you some questions?")


@pytest.mark.parametrize("need", ["", "large-print", "audio-first"])
def test_each_need_changes_the_page(browser, server, app_config, invited, need):
    silence(Path(app_config["AUDIO_DIR"]) / "en" / f"{audio_key(CONSENT_EN, 'en')}.wav")
    _, token = invited("individual", needs=need)
    page = open_phone(browser)
    page.goto(f"{server}/s/{token}")
    font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    picture = page.locator(".option img").first.bounding_box()
    listen = page.locator(".listen-big .listen-button")
    box, heading = listen.bounding_box(), page.locator("h1").bounding_box()
    page.keyboard.press("Tab")
    first = page.evaluate("document.activeElement.className")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    if need == "large-print":  # bigger text and pictures
        assert font >= 40 and picture["width"] >= 128
    else:
        assert font < 32 and 96 <= picture["width"] < 128
    if need == "audio-first":  # the Listen button first, biggest, before the question
        assert first == "button listen-button"
        assert box["height"] >= 64 and box["width"] >= 300 and box["y"] < heading["y"]
    else:
        assert 44 <= box["height"] < 64 and box["width"] < 300
