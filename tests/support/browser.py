"""A real headless Chromium for tests of what people look at (HTML reports, dashboards, docs).

Debian's ``chromium`` package is driven by Playwright's Python client, which talks to it over
the DevTools protocol; no browser is downloaded. Tests use the ``browser_page`` fixture::

    def test_dashboard_loads(browser_page, tmp_path):
        page = browser_page.open(tmp_path / "dashboard.html")
        assert page.locator("svg").count() == 4
        assert browser_page.errors == []

``errors`` collects console errors, uncaught page errors and failed requests (a page that
needs the network to display fails here: the test machine has none but loopback).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Flags for a closed network: without the background ones Chromium keeps trying to reach
# Google's hosts, and as root it needs --no-sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


def chromium_path() -> str | None:
    """The system Chromium (``PANIER_CHROMIUM`` overrides), or None."""
    for candidate in (
        os.environ.get("PANIER_CHROMIUM"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@dataclass
class BrowserPage:
    """One page of a headless Chromium, recording every error it reports."""

    page: object
    errors: list[str] = field(default_factory=list)

    def open(self, target: Path | str, wait_until: str = "load"):
        """Load a local file or a URL; returns the Playwright page."""
        url = target.resolve().as_uri() if isinstance(target, Path) else target
        self.page.goto(url, wait_until=wait_until)
        return self.page

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture(scope="session")
def _chromium() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("PANIER_REQUIRE_TOOLS"):
            pytest.fail(
                "Chromium is required (PANIER_REQUIRE_TOOLS is set): apt-get install chromium"
            )
        pytest.skip("no Chromium on this machine: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(_chromium) -> Iterator[BrowserPage]:
    """A fresh page (1280x900) in its own context; ``.errors`` lists what went wrong."""
    context = _chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    recorded = BrowserPage(page)
    page.on(
        "console",
        lambda message: (
            message.type == "error" and recorded.errors.append(f"console: {message.text}")
        ),
    )
    page.on("pageerror", lambda error: recorded.errors.append(f"page error: {error}"))
    page.on(
        "requestfailed",
        lambda request: recorded.errors.append(
            f"request failed: {request.url} ({request.failure})"
        ),
    )
    try:
        yield recorded
    finally:
        context.close()
