"""The inbox and the regulator's board over real HTTP: by time left, searched, filtered,
paged by keyset, scoped to the reader's organisation, refusals on the page."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from tests.functional.browser.people import PASSWORD, browser_client, sign_in
from tests.support import LiveServer, unique

_NEXT = re.compile(r'href="(/console/orders\?[^"]*)" rel="next"')
_PREV = re.compile(r'href="(/console/orders\?[^"]*)" rel="prev"')
_REF = re.compile(r'<a href="/console/orders/[0-9a-f-]{36}">(ORD-[0-9A-F-]+)</a>')


@dataclass(frozen=True)
class Desk:
    regulator: str
    platform: str
    other: str
    analyst_token: str
    moderator_token: str


def _desk(live: LiveServer) -> Desk:
    """A regulator and two platforms of this test's own, so its lists hold only its orders."""
    reg, plat, other = unique("kominfo"), unique("telegram"), unique("lain")
    for kind, name in (("regulator", reg), ("platform", plat), ("platform", other)):
        assert live.cli("org", "create", "--kind", kind, "--name", name).returncode == 0
    live.user(reg, "analis", "analyst", PASSWORD)
    live.user(plat, "moderator", "moderator", PASSWORD)
    live.user(other, "moderator", "moderator", PASSWORD)
    return Desk(reg, plat, other, live.token(reg, "analyst"), live.token(plat, "moderator"))


def _file(live: LiveServer, desk: Desk, channel: str, category: str, platform: str = "") -> Any:
    with live.client(desk.analyst_token) as c:
        r = c.post("/api/v1/orders", json={
            "platform": platform or desk.platform, "category": category,
            "legal_basis": "UU 11/2008", "reason": "test",
            "locators": [f"https://t.me/{channel}/1"]})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def _refs(page: str) -> list[str]:
    return _REF.findall(page)


def _url(m: re.Match[str] | None) -> str:
    assert m is not None
    return html.unescape(m.group(1))


def test_the_inbox_puts_the_soonest_deadline_first_and_answered_orders_apart(
    live: LiveServer,
) -> None:
    desk = _desk(live)
    slow = _file(live, desk, unique("judi_kanal").replace("-", "_"), "gambling")  # 24 h
    fast = _file(live, desk, unique("teror_kanal").replace("-", "_"), "terrorism")  # 4 h
    done = _file(live, desk, unique("selesai_kanal").replace("-", "_"), "terrorism")
    with live.client(desk.moderator_token) as c:
        r = c.post(f"/api/v1/orders/{done['id']}/response", json={
            "action": "removed", "statement": {"decision_facts": "Removed."}})  # fmt: skip
        assert r.status_code == 200, r.text
    with browser_client(live) as web:
        assert sign_in(web, desk.platform, "moderator").status_code == 303
        inbox = web.get("/console/orders", params={"lang": "en"})
        assert inbox.status_code == 200
        # the 4-hour order issued last is above the 24-hour one issued first
        assert _refs(inbox.text) == [fast["reference"], slow["reference"]]
        assert "Less than 4 hours left" in inbox.text and "Less than 1 day left" in inbox.text
        assert inbox.text.index("Less than 4 hours left") < inbox.text.index(slow["reference"])
        assert re.search(
            r'<time class="countdown cd-ok" datetime="[^"]+" data-countdown>', inbox.text
        )
        assert re.search(r'<span class="cd-clock" aria-hidden="true">3:\d\d:\d\d</span>',
                         inbox.text)  # fmt: skip
        assert 'src="/static/countdown.js"' in inbox.text
        closed = web.get("/console/orders", params={"show": "closed", "lang": "en"}).text
        assert _refs(closed) == [done["reference"]]
        # the filters and the minute's refresh swap the list alone (htmx)
        part = web.get(
            "/console/orders",
            params={"q": fast["reference"]},
            headers={"HX-Request": "true", "HX-Target": "orders"},
        )
        assert part.status_code == 200 and part.text.lstrip().startswith('<div id="orders"')
        assert "<html" not in part.text and _refs(part.text) == [fast["reference"]]
        indo = web.get("/console/orders", params={"lang": "id"}).text
        assert "Sisa kurang dari 4 jam" in indo
        assert web.get("/static/countdown.js").status_code == 200


def test_search_and_filters_stay_within_the_readers_organisation(live: LiveServer) -> None:
    desk = _desk(live)
    mine = unique("kanal_cari").replace("-", "_")
    theirs = unique("kanal_cari").replace("-", "_")
    a = _file(live, desk, mine, "terrorism")
    b = _file(live, desk, theirs, "gambling", platform=desk.other)
    with browser_client(live) as web:
        sign_in(web, desk.platform, "moderator")
        found = web.get("/console/orders", params={"q": "kanal_cari"}).text
        assert _refs(found) == [a["reference"]]
        assert _refs(web.get("/console/orders", params={"q": theirs}).text) == []
        assert _refs(web.get("/console/orders", params={"q": b["reference"]}).text) == []
        pasted = web.get("/console/orders", params={"q": f"https://t.me/{mine}/1"}).text
        assert _refs(pasted) == [a["reference"]]
        assert _refs(web.get("/console/orders", params={"q": a["reference"][-5:]}).text) == [
            a["reference"]
        ]
        assert _refs(web.get("/console/orders", params={"category": "gambling"}).text) == []
        # a platform cannot read another's orders by naming it as a filter
        assert _refs(web.get("/console/orders", params={"platform": desk.other}).text) == [
            a["reference"]
        ]
    with browser_client(live) as web:
        sign_in(web, desk.regulator, "analis")
        board = web.get("/console/orders", params={"q": "kanal_cari"}).text
        assert set(_refs(board)) == {a["reference"], b["reference"]}
        by_platform = web.get("/console/orders", params={"q": desk.other}).text
        assert _refs(by_platform) == [b["reference"]]
        chosen = web.get("/console/orders", params={"platform": desk.platform}).text
        assert _refs(chosen) == [a["reference"]]
        urgent = web.get("/console/orders", params={"urgency": "lt4h"}).text
        assert _refs(urgent) == [a["reference"]]


def test_bad_list_input_is_a_message_on_the_page_in_the_readers_language(
    live: LiveServer,
) -> None:
    desk = _desk(live)
    _file(live, desk, unique("kanal_salah").replace("-", "_"), "terrorism")
    with browser_client(live) as web:
        sign_in(web, desk.platform, "moderator")
        for params, english, indonesian in (
            ({"after": "not-a-cursor"}, "This page link is damaged", "Tautan halaman ini rusak"),
            ({"before": "Zm9v"}, "This page link is damaged", "Tautan halaman ini rusak"),
            ({"urgency": "soon"}, "Unknown urgency", "Tingkat urgensi"),
            ({"status": "lost"}, "Unknown status", "Status"),
            ({"show": "all"}, "Unknown list", "Daftar"),
            ({"q": "x" * 300}, "at most 200 characters", "200 karakter"),
        ):
            en = web.get("/console/orders", params={**params, "lang": "en"})
            assert en.status_code == 422, (params, en.status_code)
            assert english in en.text and 'role="alert"' in en.text, params
            assert "Start again from the first page" in en.text
            idn = web.get("/console/orders", params={**params, "lang": "id"})
            assert idn.status_code == 422 and indonesian in idn.text, params


def test_keyset_pages_hold_when_orders_arrive_between_pages(live: LiveServer) -> None:
    desk = _desk(live)
    filed = [_file(live, desk, f"kanal_hal_{i:03d}_{unique('x').replace('-', '_')}",
                   "gambling") for i in range(53)]  # fmt: skip
    with browser_client(live) as web:
        sign_in(web, desk.platform, "moderator")
        first = web.get("/console/orders").text
        page1 = _refs(first)
        assert page1 == [o["reference"] for o in filed[:50]]  # same class: first issued first
        assert _PREV.search(first) is None
        # an urgent order arrives: it goes to the top of page 1, and page 2 is unchanged
        urgent = _file(live, desk, unique("kanal_baru").replace("-", "_"), "terrorism")
        second = web.get(_url(_NEXT.search(first))).text
        assert _refs(second) == [o["reference"] for o in filed[50:]]
        assert _NEXT.search(second) is None
        back = web.get(_url(_PREV.search(second))).text
        assert _refs(back) == page1  # the 50 before page 2's first, as they were
        top = web.get("/console/orders").text
        assert _refs(top)[0] == urgent["reference"]
