"""The console and the public pages in real headless Chromium: what a person clicks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.functional.browser.conftest import shoot
from tests.functional.browser.people import PASSWORD, Cast, cast
from tests.support import LiveServer, unique

pytestmark = pytest.mark.browser


def _sign_in(page: Any, live: LiveServer, org: str, user: str) -> None:
    page.goto(f"{live.url}/login?lang=en")
    page.get_by_label("Organisation").fill(org)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/"))


def _file_order(page: Any, live: LiveServer, people: Cast, channel: str) -> str:
    _sign_in(page, live, people.regulator, people.analyst)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New order").click()
    page.get_by_label("Platform", exact=True).select_option(people.platform)
    page.get_by_label("Category", exact=True).select_option("terrorism")
    # the category fills in its legal basis from the SOP
    assert "UU 5/2018" in page.get_by_label("Legal basis", exact=True).input_value()
    page.get_by_label(re.compile("Content to take down")).fill(
        f"https://t.me/{channel}/7\nnot a domain")
    page.get_by_label(re.compile(r"^Reason")).fill("Instructions for making explosives.")
    page.get_by_role("button", name="File order").click()
    # the bad line is shown next to the field; fix it and file again
    assert page.locator(".line-errors li").count() == 1
    assert "line 2" in page.locator(".line-errors").inner_text()
    shoot(page, "order-form-errors")
    page.get_by_label(re.compile("Content to take down")).fill(
        f"https://t.me/{channel}/7\nhttps://t.me/{channel}/8")
    page.get_by_role("button", name="File order").click()
    page.wait_for_url(re.compile(r"/console/orders/[0-9a-f-]{36}$"))
    assert "was filed" in page.locator(".flash").inner_text()
    reference = page.locator("h1 .mono").inner_text()
    shoot(page, "order-detail-regulator")
    return reference


def test_analyst_files_an_order_and_sees_it_on_the_dashboard(page: Any,
                                                             live: LiveServer) -> None:
    people = cast(live)
    channel = unique("bomb_howto").replace("-", "_")
    reference = _file_order(page, live, people, channel)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    row = page.locator("table.orders tbody tr", has_text=reference)
    assert row.count() == 1
    assert re.search(r"\d+ h \d+ min left", row.inner_text())
    shoot(page, "dashboard")


def test_moderator_acknowledges_and_responds(page: Any, live: LiveServer) -> None:
    people = cast(live)
    channel = unique("attack_plans").replace("-", "_")
    reference = _file_order(page, live, people, channel)
    page.context.clear_cookies()
    _sign_in(page, live, people.platform, people.moderator)
    assert "Inbox" in page.locator("h1").inner_text()
    page.get_by_role("link", name=reference).click()
    shoot(page, "order-detail-platform")
    page.get_by_role("button", name="Acknowledge receipt").click()
    assert "Receipt acknowledged" in page.locator(".flash").inner_text()
    assert "Acknowledged" in page.locator("h1 .badge").inner_text()
    page.get_by_label("Content removed").check()
    page.get_by_label("Facts and circumstances of the decision").fill(
        "Both posts removed within the hour; the channel was banned.")
    page.get_by_role("button", name="Send response").click()
    assert "statement of reasons were recorded" in page.locator(".flash").inner_text()
    assert "Complied" in page.locator("h1 .badge").inner_text()
    assert "the channel was banned" in page.locator("#rs-title + article").inner_text()
    shoot(page, "order-responded")


def test_public_lookup_in_both_languages(page: Any, live: LiveServer) -> None:
    people = cast(live)
    name = f"{unique('radikal')}.example.net"
    with live.client(live.token(people.regulator, "official")) as api:
        r = api.post("/api/v1/blocks", json={"domain": name, "action": "nxdomain",
                                             "category": "radicalism",
                                             "legal_basis": "UU 1/2024 (ITE) Pasal 40",
                                             "reason": "Incitement"})
        assert r.status_code == 201, r.text
    page.goto(f"{live.url}/public/lookup")
    assert page.locator("html").get_attribute("lang") == "id"
    page.get_by_label("Nama domain").fill(f"www.{name}")
    page.get_by_role("button", name="Periksa").click()
    result = page.locator(".result")
    assert f"www.{name} diblokir" in result.inner_text()
    assert "UU 1/2024 (ITE) Pasal 40" in result.inner_text()
    assert "Radikalisme" in result.inner_text()
    shoot(page, "lookup-id")
    page.get_by_role("link", name="EN").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert f"www.{name} is blocked" in page.locator(".result").inner_text()
    assert "Appeal this block" in page.locator(".result").inner_text()
    page.get_by_label("Domain name").fill("co.id")
    page.get_by_role("button", name="Check").click()
    assert "That is not a domain name we can look up." in page.locator(".alert").inner_text()
    shoot(page, "lookup-en-error")
    page.goto(f"{live.url}/public/transparency")
    assert "Transparency report" in page.locator("h1").inner_text()  # remembered: English
    shoot(page, "transparency-en")
