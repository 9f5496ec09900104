"""The transparency report in headless Chromium as a member of the public uses it: the
charts drawn without script, the table behind each, the range form (and its refusal
beside the field), keyboard focus on a chart, and a 390 px screen where a chart scrolls
inside its frame instead of widening the page. Screenshots with TANGKAL_SCREENSHOTS."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.browser.conftest import shoot
from tests.functional.browser.people import cast
from tests.support import LiveServer, unique

pytestmark = pytest.mark.browser


def _an_order(live: LiveServer) -> None:
    people = cast(live)
    with live.client(live.token(people.regulator, "analyst")) as api:
        r = api.post(
            "/api/v1/orders",
            json={
                "platform": people.platform,
                "category": "terrorism",
                "locators": [f"https://t.me/s/{unique('kanal').replace('-', '_')}/1"],
                "legal_basis": "UU 5/2018 Pasal 13A",
                "reason": "Public channel posting bomb-making instructions.",
            },
        )
        assert r.status_code == 201, r.text


def test_charts_tables_and_range_in_indonesian(live: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    _an_order(live)
    page.goto(f"{live.url}/public/transparency?lang=id")
    expect(page.get_by_role("heading", name="Laporan transparansi")).to_be_visible()
    chart = page.get_by_role("img", name="Perintah menurut kategori per bulan")
    expect(chart).to_be_visible()
    section = page.locator("section", has=chart)
    table = section.locator("table")
    expect(table).to_be_hidden()  # behind its summary until asked for
    section.get_by_text("Angka-angkanya dalam bentuk tabel").click()
    expect(table).to_be_visible()
    expect(table.locator("caption")).to_have_text("Perintah menurut kategori per bulan")
    expect(table.locator("thead th").first).to_have_text("Bulan")
    # a chart frame takes keyboard focus (it may scroll sideways)
    frame = section.locator(".chart-frame")
    frame.focus()
    assert page.evaluate("() => document.activeElement.classList.contains('chart-frame')")
    expect(page.get_by_role("link", name="CSV").nth(1)).to_have_attribute(
        "href", "/api/v1/public/statements?format=csv"
    )
    shoot(page, "transparency-id")

    page.get_by_label("Dari", exact=True).fill("2018-01-01")
    page.get_by_label("Sampai", exact=True).fill("2017-01-01")
    page.get_by_role("button", name="Tampilkan").click()
    error = page.get_by_role("alert")
    expect(error).to_have_text("Awal rentang (dari) tidak boleh sesudah akhirnya (sampai).")
    expect(page.get_by_label("Dari", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Dari", exact=True)).to_have_value(
        "2018-01-01"
    )  # as typed, to correct

    page.get_by_label("Dari", exact=True).fill("2017-07-01")
    page.get_by_role("button", name="Tampilkan").click()
    expect(page).to_have_url(
        f"{live.url}/public/transparency?lang=id&from=2017-07-01&to=2017-01-01"
    )
    expect(page.get_by_role("alert")).to_have_count(1)  # to is still before from

    page.get_by_label("Sampai", exact=True).fill("2017-09-30")
    page.get_by_role("button", name="Tampilkan").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(
        page.get_by_text("Tidak ada yang dapat ditampilkan pada periode ini.").first
    ).to_be_visible()
    expect(
        page.locator('a[href*="orders_by_category.csv?from=2017-07-01&to=2017-09-30"]')
    ).to_have_count(1)


def test_a_narrow_screen_scrolls_the_chart_not_the_page(live: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    _an_order(live)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live.url}/public/transparency?lang=en")
    chart = page.get_by_role("img", name="Orders by category per month")
    expect(chart).to_be_visible()
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1]  # nothing wider than the screen
    frame = page.locator(".chart-frame").first
    scroll = frame.evaluate("f => [f.scrollWidth, f.clientWidth]")
    assert scroll[0] > scroll[1]  # the chart keeps a readable size and scrolls
    box = chart.bounding_box()
    assert box is not None and box["width"] >= 600
    shoot(page, "transparency-en-390")
