"""Headless Chromium (the Debian package) driven by Playwright, for the browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope: Playwright's sync API runs an event loop in this thread while it is open,
# which would break any later test in the same worker that starts its own loop.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "!!! BROWSER TESTS SKIPPED: /usr/bin/chromium is missing; install the "
            "Debian package 'chromium' to run them !!!"
        )
    from playwright.sync_api import expect, sync_playwright

    # Assertions retry until the page shows what they expect: a click that submits a form
    # does not wait for the answer, so reading the page at once may read the old one.
    expect.set_options(timeout=20_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile per test: no cookies carried from one test to the next."""
    context = chromium.new_context(locale="id-ID", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    p = context.new_page()
    yield p
    context.close()


def shoot(page: Any, name: str) -> None:
    """Screenshots for people checking the look: only when TANGKAL_SCREENSHOTS names a dir."""
    target = os.environ.get("TANGKAL_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)
