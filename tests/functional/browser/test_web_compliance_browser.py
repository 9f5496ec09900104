"""The compliance board in real headless Chromium, in Indonesian: an ISP's operator registers
its resolver (a host name is refused beside the field first), the regulator's official finds
the ISP that ignores the block under "not compliant for longer than the grace" and opens the
cell's history. The resolvers are DNS responders on loopback (``test_web_compliance``), and
the server's graces are seconds, so the escalation happens while the test watches."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.functional.browser.conftest import shoot
from tests.functional.browser.people import PASSWORD, sign_in_page
from tests.functional.test_web_compliance import (
    ACTIONS,
    HOSTS,
    LIMIT,
    REAL,
    Responder,
    cli,
    short_graces,
)
from tests.support import LiveServer, live_server, server_database, unique

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {
        "TANGKAL_SOP_PROFILE": short_graces(tmp_path_factory.mktemp("sop")),
        "TANGKAL_COMPLIANCE_SETTLE": "0.3",
        "TANGKAL_COMPLIANCE_RECHECK": "1",
        "TANGKAL_COMPLIANCE_INTERVAL": "3600",
        "TANGKAL_COMPLIANCE_RATE": "200",
    }
    with server_database("sqlite") as url, live_server(url, env) as srv:
        yield srv


def test_an_isp_registers_its_resolver_and_an_official_finds_the_isp_past_the_grace(
    page: Any, live: LiveServer
) -> None:
    regulator, isp_a, isp_b = unique("kominfo"), unique("isp-a"), unique("isp-b")
    for kind, name in (("regulator", regulator), ("isp", isp_a), ("isp", isp_b)):
        cli(live, "org", "create", "--kind", kind, "--name", name)
    official, noc = unique("pejabat"), unique("noc")
    for org, user, role in ((regulator, official, "official"), (isp_a, noc, "isp")):
        live.user(org, user, role, PASSWORD)
    token = cli(live, "token", "create", "--org", regulator, "--role", "official")
    api = live.client(token)
    nav = page.get_by_role("navigation", name="Utama")

    with (
        Responder(HOSTS["a"], dict(ACTIONS)).running() as dns_a,
        Responder(HOSTS["b"], dict(REAL)).running() as dns_b,
        Responder(HOSTS["control"], dict(REAL)).running() as control,
    ):
        # the ISP's operator registers its resolver in the console
        sign_in_page(page, live, isp_a, noc)
        nav.get_by_role("link", name="Kepatuhan").click()
        expect(page.locator("h1")).to_have_text("Kepatuhan ISP")
        page.get_by_role("link", name="Kelola resolver").click()
        page.get_by_label("Alamat (IP atau IP:PORT)").fill("ns.isp-a.example")
        page.get_by_label("Nama (opsional)").fill("ns-a")
        page.get_by_role("button", name="Daftarkan", exact=True).click()
        expect(page.locator("#address-error")).to_contain_text("bukan alamat IP")
        expect(page.get_by_label("Alamat (IP atau IP:PORT)")).to_have_attribute(
            "aria-invalid", "true"
        )
        page.get_by_label("Alamat (IP atau IP:PORT)").fill(dns_a.address)
        page.get_by_role("button", name="Daftarkan", exact=True).click()
        expect(page.locator(".flash")).to_contain_text("telah terdaftar")
        expect(page.locator("table.data")).to_contain_text(dns_a.address)
        shoot(page, "compliance-resolvers")

        # the regulator registers B's resolver and the control, and blocks two names
        for body in (
            {"org": isp_b, "address": dns_b.address, "name": "ns-b"},
            {"control": True, "address": control.address, "name": "kontrol"},
        ):
            assert api.post("/api/v1/resolvers", json=body).status_code == 201
        for name, action in ACTIONS.items():
            r = api.post(
                "/api/v1/blocks",
                json={
                    "domain": name,
                    "action": action,
                    "legal_basis": "UU ITE Pasal 40",
                    "reason": "terrorist propaganda (test)",
                },
            )
            assert r.status_code == 201, r.text
        deadline = time.monotonic() + LIMIT
        while True:
            items = api.get("/api/v1/compliance", params={"isp": isp_b}).json()["items"]
            if len(items) == len(REAL) and all(i["escalated_at"] for i in items):
                break
            assert time.monotonic() < deadline, items
            time.sleep(0.2)

        # the official filters the board and opens B's cell
        sign_in_page(page, live, regulator, official)
        nav.get_by_role("link", name="Kepatuhan").click()
        page.get_by_role("link", name="Tidak patuh melewati masa tenggang").click()
        page.wait_for_url(re.compile(r"only=overdue"))
        matrix = page.locator("table.compliance-matrix")
        expect(matrix).to_contain_text(isp_b)
        expect(matrix).not_to_contain_text(isp_a)
        expect(matrix.locator("tbody tr")).to_have_count(len(REAL))
        expect(matrix).to_contain_text("dieskalasi")
        shoot(page, "compliance-board-overdue")
        matrix.locator("tr", has_text="t.me").get_by_role("link", name="Tidak patuh").click()
        page.wait_for_url(re.compile(r"/console/compliance/cell"))
        expect(page.locator("h1")).to_contain_text("t.me")
        expect(page.locator("#history-title ~ table")).to_contain_text("hasil pertama:")
        expect(page.locator("#now-title ~ table")).to_contain_text(REAL["t.me"])
        expect(page.locator("#now-title ~ table")).to_contain_text("WIB")
        shoot(page, "compliance-cell")
