"""Real Chromium (the Debian package) driven by Playwright, against the app on loopback.

No browser is downloaded: Playwright launches ``/usr/bin/chromium``. Without it, or
without Playwright and axe-core installed, every browser test skips and says why.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PHONE = {"width": 360, "height": 740}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module (skips when Chromium is not installed).

    Not per session: Playwright's sync API keeps an event loop running in the main
    thread while it is open, which would break later tests that call asyncio.run().
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install the Debian package 'chromium'")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe() -> Any:
    """axe-core as bundled by the ``axe-playwright-python`` package."""
    module = pytest.importorskip(
        "axe_playwright_python.sync_playwright",
        reason="axe-core is not installed (pip install axe-playwright-python)")
    return module.Axe()


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app served on a free loopback port; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


def open_phone(browser: Any, javascript: bool = True) -> Any:
    """A fresh 360 px wide page (no shared cookies), with JavaScript on or off."""
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    return context.new_page()


def axe_violations(axe: Any, page: Any) -> str:
    """Every WCAG 2.2 A/AA violation axe-core finds on the page, as a report ("" if none)."""
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                     "resultTypes": ["violations"]})
    return results.generate_report() if results.violations_count else ""
