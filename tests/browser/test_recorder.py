"""A voice message on the web link in real Chromium: recorded with the browser's recorder
(MediaRecorder, a fake microphone) with JavaScript, chosen as a file with none; axe-core
on the page with the recorder showing."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Recording
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, axe_violations

pytestmark = pytest.mark.browser

TO_THE_OPEN_QUESTION = ("Yes", "Nurse", "Yes", "Agree", "Strongly agree", "Neither", "Low")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium with a fake microphone that says yes when asked (a tone, not silence)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install the Debian package 'chromium'")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream"])
        yield chromium
        chromium.close()


@pytest.fixture
def link(server: str, nsw: Any, make_participant: Callable[..., int]) -> str:
    """A professional's web link on the loopback server."""
    pid = make_participant("CAL-0001", "professional", phone=None)
    with nsw.uow() as uow:
        token = uow.repo.add_invitation(uow.repo.participant_by_id(pid), "baseline",
                                        "web").token
        uow.commit()
    return f"{server}/s/{token}"


def to_the_open_question(page: Any, link: str) -> None:
    page.goto(link)
    for label in TO_THE_OPEN_QUESTION:
        page.get_by_label(label, exact=True).check()
        page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Is there anything else you want to tell us?")


def stored(nsw: Any) -> list[tuple[str, float | None, str]]:
    with nsw.uow() as uow:
        return [(r.content_type, r.duration, r.channel)
                for r in uow.session.scalars(select(Recording))]


def test_the_browsers_recorder_records_and_continue_sends_it(browser, link, nsw, axe):
    page = browser.new_context(viewport=PHONE).new_page()
    to_the_open_question(page, link)
    record = page.get_by_role("button", name="Record")
    assert record.is_visible()
    assert axe_violations(axe, page) == ""
    record.click()
    page.get_by_text("Recording now. Press Stop when you finish.").wait_for()
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Your voice message is ready. Press Continue to send it.").wait_for()
    assert page.locator("#recording").evaluate("input => input.files.length") == 1
    assert axe_violations(axe, page) == ""
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your answers."
    (content_type, duration, channel), = stored(nsw)
    assert (content_type, channel) == ("audio/webm", "web")
    assert duration is not None and 1.0 <= duration <= 3.0


def test_with_no_javascript_a_chosen_file_is_sent(browser, link, nsw, tmp_path: Path):
    page = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
    to_the_open_question(page, link)
    assert page.get_by_role("button", name="Record").count() == 0
    sound = io.BytesIO()
    with wave.open(sound, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"".join(struct.pack("<h", int(3000 * math.sin(n / 3)))
                                    for n in range(16000)))
    memo = tmp_path / "memo.wav"
    memo.write_bytes(sound.getvalue())
    page.get_by_label("Choose a voice message").set_input_files(str(memo))
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your answers."
    assert stored(nsw) == [("audio/wav", 2.0, "web")]
