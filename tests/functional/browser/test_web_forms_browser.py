"""A refused order form in real headless Chromium: the text comes back as typed, the error
beside its field in Indonesian, and the evidence files are asked for again by name (a
browser cannot put chosen files back into a file input); chosen again, the order is filed
with them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.functional.browser.conftest import shoot
from tests.functional.browser.people import fresh_cast, sign_in_page
from tests.support import LiveServer, unique

pytestmark = pytest.mark.browser

FILES = [
    {"name": "tangkapan-layar.png", "mimeType": "image/png", "buffer": b"\x89PNG bukti"},
    {"name": "arsip-kanal.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 bukti"},
]


def test_a_refused_order_form_keeps_the_text_and_asks_for_the_files_again(
    page: Any, live: LiveServer
) -> None:
    people = fresh_cast(live)
    channel = unique("kanal_bom").replace("-", "_")
    reason = "Instruksi perakitan bahan peledak.\nDisebarkan ke 40.000 anggota."
    sign_in_page(page, live, people.regulator, people.analyst)
    page.goto(f"{live.url}/console/orders/new")
    page.locator("#platform").select_option(people.platform)
    page.locator("#category").select_option("terrorism")
    typed = f"https://t.me/{channel}/7\nbukan sebuah domain"
    page.locator("#locators").fill(typed)
    page.locator("#reason").fill(reason)
    page.locator("#evidence").set_input_files(FILES)
    page.get_by_role("button", name="Terbitkan perintah").click()

    alert = page.locator("#form-problems")
    expect(alert).to_contain_text("Perintah belum diterbitkan")
    expect(alert).to_contain_text("berkas bukti tidak")
    # what was typed is kept; the bad line is named beside the field, in Indonesian
    expect(page.locator("#locators")).to_have_value(typed)
    expect(page.locator("#reason")).to_have_value(reason)
    expect(page.locator(".line-errors")).to_contain_text("baris 2")
    # the files are asked for again, by name, beside the file input
    again = page.locator("#evidence-again")
    expect(again).to_contain_text("Pilih lagi berkas bukti")
    expect(again).to_contain_text("tangkapan-layar.png, arsip-kanal.pdf")
    expect(page.locator("#evidence")).to_have_attribute("aria-invalid", "true")
    assert page.locator("#evidence").evaluate("e => e.files.length") == 0
    shoot(page, "order-form-files-again")

    page.locator("#locators").fill(f"https://t.me/{channel}/7\nhttps://t.me/{channel}/8")
    page.locator("#evidence").set_input_files(FILES)
    page.get_by_role("button", name="Terbitkan perintah").click()
    page.wait_for_url(re.compile(r"/console/orders/[0-9a-f-]{36}$"))
    expect(page.locator(".flash")).to_contain_text("telah diterbitkan")
    expect(page.get_by_role("link", name="tangkapan-layar.png")).to_have_count(1)
    expect(page.get_by_role("link", name="arsip-kanal.pdf")).to_have_count(1)
    expect(page.locator(".locators")).to_contain_text("Pos Telegram")
