"""The moderator's inbox on a 390-pixel phone in real headless Chromium: the order with the
soonest deadline is the first card and its time left is on screen without scrolling
sideways; the countdown moves while the page is open; the same for the regulator's board."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.functional.browser.conftest import shoot
from tests.functional.browser.people import PASSWORD, sign_in_page
from tests.support import LiveServer, unique

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(locale="id-ID", viewport=PHONE, device_scale_factor=2)
    context.set_default_timeout(20_000)
    p = context.new_page()
    yield p
    context.close()


def _file(live: LiveServer, token: str, platform: str, channel: str, category: str) -> Any:
    with live.client(token) as c:
        r = c.post("/api/v1/orders", json={
            "platform": platform, "category": category, "legal_basis": "UU 11/2008",
            "reason": "test", "locators": [f"https://t.me/{channel}/1"]})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def _in_view(page: Any, locator: Any) -> None:
    """The element is wholly inside the first screen, and the page does not scroll
    sideways."""
    box = locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"


def test_on_a_phone_the_soonest_deadline_is_the_first_card_and_its_countdown_moves(
    phone: Any, live: LiveServer
) -> None:
    regulator, platform = unique("kominfo"), unique("telegram")
    for kind, name in (("regulator", regulator), ("platform", platform)):
        assert live.cli("org", "create", "--kind", kind, "--name", name).returncode == 0
    moderator, analyst = unique("moderator"), unique("analis")
    live.user(platform, moderator, "moderator", PASSWORD)
    live.user(regulator, analyst, "analyst", PASSWORD)
    token = live.token(regulator, "analyst")
    slow = _file(live, token, platform, unique("judi_kanal").replace("-", "_"), "gambling")
    fast = _file(live, token, platform, unique("teror_kanal").replace("-", "_"), "terrorism")

    sign_in_page(phone, live, platform, moderator)
    phone.goto(f"{live.url}/console/orders?lang=id")
    expect(phone.locator("h1")).to_contain_text("Kotak masuk")
    cards = phone.locator("table.orders tbody tr")
    expect(cards).to_have_count(2)
    first = cards.first
    expect(first).to_contain_text(fast["reference"])
    expect(cards.nth(1)).to_contain_text(slow["reference"])
    heading = phone.locator("h2.band-head").first
    expect(heading).to_contain_text("Sisa kurang dari 4 jam")
    left = first.locator("time[data-countdown]")
    expect(left).to_contain_text(re.compile(r"sisa \d+ jam \d+ menit"))
    shoot(phone, "inbox-phone-390")
    _in_view(phone, left)

    # the clock is rewritten every second by the page's script: two readings differ
    face = left.locator(".cd-clock")
    before = face.inner_text()
    assert re.fullmatch(r"3:\d\d:\d\d", before), before
    expect(face).not_to_have_text(before)
    after = face.inner_text()
    assert re.fullmatch(r"3:\d\d:\d\d", after) and after < before, (before, after)

    # the regulator's board on the same phone: same order first, search by the channel
    sign_in_page(phone, live, regulator, analyst)
    phone.goto(f"{live.url}/console/orders?lang=id")
    first = phone.locator("table.orders tbody tr").first
    expect(first).to_contain_text(fast["reference"])
    _in_view(phone, first.locator("time[data-countdown]"))
    shoot(phone, "board-phone-390")
    phone.get_by_label("Cari menurut nomor perintah, konten, atau platform").fill("judi_kanal")
    phone.get_by_role("button", name="Cari", exact=True).click()
    expect(phone.locator("table.orders tbody tr")).to_have_count(1)
    expect(phone.locator("table.orders tbody tr").first).to_contain_text(slow["reference"])
    shoot(phone, "board-phone-390-search")
