"""The procedure in real headless Chromium, in Indonesian: two officials approve a sanction
one after the other, the platform asks for normalisation with the four conditions of July
2017, and an official approves it; the names are reachable again."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.functional.browser.conftest import shoot
from tests.functional.browser.people import sign_in_page
from tests.functional.test_web_procedure import CONDITIONS, _case, _propose
from tests.support import LiveServer

pytestmark = pytest.mark.browser

#: the profile's words for the four conditions, as the Indonesian form labels them
LABELS = {
    "government_channel": "Jalur khusus pemerintah untuk komunikasi cepat",
    "trusted_flagger": "Status trusted flagger bagi Kementerian",
    "local_representative": "Perwakilan di Indonesia",
    "filtering_governance": "Tata kelola penapisan: proses, organisasi, teknologi, SDM",
}


def test_two_officials_approve_a_sanction_and_an_official_approves_its_normalisation(
    page: Any, live: LiveServer
) -> None:
    c = _case(live)
    s = _propose(live, c)
    nav = page.get_by_role("navigation", name="Utama")

    # the first official approves from the escalation queue
    sign_in_page(page, live, c.regulator, c.alice)
    nav.get_by_role("link", name="Eskalasi").click()
    card = page.locator(f"#s-{s['id']}")
    expect(card).to_contain_text("Persetujuan: 0 dari 2")
    shoot(page, "escalation-queue")
    card.get_by_role("button", name="Setujui").click()
    expect(page.locator(".flash")).to_contain_text("telah dicatat (1 dari 2)")
    card = page.locator(f"#s-{s['id']}")
    expect(card).to_contain_text("Persetujuan: 1 dari 2")
    expect(card).to_contain_text(f"{c.alice} ({c.regulator})")
    expect(card).to_contain_text("Anda sudah menyetujui sanksi ini")
    expect(card.get_by_role("button", name="Setujui")).to_have_count(0)

    # the second, a different person, approves on the sanction's own page
    sign_in_page(page, live, c.regulator, c.bob)
    nav.get_by_role("link", name="Eskalasi").click()
    page.locator(f"#s-{s['id']}").get_by_role("link", name=s["reference"]).click()
    page.wait_for_url(re.compile(f"/console/sanctions/{s['id']}$"))
    page.get_by_role("button", name="Setujui").click()
    expect(page.locator(".flash")).to_contain_text(f"Sanksi {s['reference']} berlaku")
    expect(page.locator("h1 .badge")).to_have_text("Berlaku")
    blocks = page.locator("#what-title ~ table tbody tr")
    expect(blocks).to_have_count(len(c.domains))
    for row in range(len(c.domains)):
        expect(blocks.nth(row)).to_contain_text("Aktif")
    shoot(page, "sanction-in-force")

    # the platform asks for normalisation with evidence for each of the four conditions
    sign_in_page(page, live, c.platform, c.moderator)
    nav.get_by_role("link", name="Normalisasi").click()
    page.get_by_role("link", name="Ajukan normalisasi").click()
    for name, label in LABELS.items():
        page.get_by_label(label).fill(CONDITIONS[name])
    page.get_by_label("Mengapa akses perlu dipulihkan?").fill(
        "Kanal dihapus, jalur langsung dibuka, tim moderasi berbahasa Indonesia dibentuk."
    )
    shoot(page, "normalisation-request")
    page.get_by_role("button", name="Kirim permohonan").click()
    expect(page.locator(".flash")).to_contain_text("telah dikirim; regulator memutuskannya")
    reference = re.search(r"NM-\d{8}-[0-9A-F]{6}", page.locator(".flash").inner_text())
    assert reference

    # an official reads the checklist and approves: access is restored through the RPZ
    sign_in_page(page, live, c.regulator, c.alice)
    nav.get_by_role("link", name="Normalisasi").click()
    item = page.locator("article.normalisation", has_text=reference.group(0))
    expect(item.locator(".checklist li.met")).to_have_count(4)
    expect(item).to_contain_text(re.compile(r"sisa \d+"))
    for evidence in CONDITIONS.values():
        expect(item).to_contain_text(evidence)
    shoot(page, "normalisation-queue")
    item.get_by_label("Setujui: pulihkan akses").check()
    item.get_by_label("Alasan keputusan").fill("Keempat syarat terverifikasi.")
    item.get_by_role("button", name="Catat keputusan").click()
    expect(page.locator(".flash")).to_contain_text("dipulihkan dan RPZ telah diperbarui")
    item = page.locator("article.normalisation", has_text=reference.group(0))
    expect(item.locator(".badge").first).to_have_text("Disetujui")
    shoot(page, "normalisation-approved")

    page.goto(f"{live.url}/public/lookup?domain={c.domains[0]}&lang=id")
    expect(page.locator(".result")).to_contain_text(f"{c.domains[0]} tidak diblokir")
