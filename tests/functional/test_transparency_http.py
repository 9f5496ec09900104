"""The transparency report over real HTTP, on a server of its own per backend (so every
count is exact): charts with their tables, the date range refused in the reader's
language, every chart's data as CSV and JSON agreeing with each other and with the
orders, and the late count that includes orders still unanswered past their deadline.

The server runs the Indonesian profile derived at speed 1800 (an urgent order's 4 hours
become 8 seconds), so two orders really go overdue while the test waits for them.
"""

from __future__ import annotations

import csv
import io
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tangkal.web.transparency_data import CHARTS
from tests.support import LiveServer, backends, live_server, run_cli, server_database, unique

SPEED = 1800
ORDER = {
    "category": "terrorism",
    "legal_basis": "UU 5/2018 Pasal 13A",
    "reason": "Public channel posting bomb-making instructions.",
}
STATEMENT = {
    "decision_facts": "Channel removed.",
    "automated_detection": False,
    "content_type": ["CONTENT_TYPE_TEXT"],
}


@pytest.fixture(scope="module")
def fast_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    r = run_cli("sop", "derive", "indonesia", "--speed", str(SPEED), "--name", "id-fast", env={})
    assert r.returncode == 0, r.stderr
    path = tmp_path_factory.mktemp("sop") / "id-fast.toml"
    path.write_text(r.stdout, encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=backends())
def server(request: pytest.FixtureRequest, fast_profile: Path) -> Iterator[LiveServer]:
    env = {"TANGKAL_SOP_PROFILE": str(fast_profile), "TANGKAL_SCHEDULER_INTERVAL": "0.2"}
    with server_database(str(request.param)) as url, live_server(url, env) as srv:
        yield srv


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.url}: {r.status_code} {r.text[:500]}"
    return r.json() if "json" in r.headers.get("content-type", "") else r.text


@pytest.fixture(scope="module")
def case(server: LiveServer) -> dict[str, Any]:
    """Three orders to one platform: one answered at once, two left to go overdue."""
    reg, plat = unique("kominfo"), unique("telegram")
    for kind, name in (("regulator", reg), ("platform", plat)):
        assert server.cli("org", "create", "--kind", kind, "--name", name).returncode == 0
    analyst, moderator = server.token(reg, "analyst"), server.token(plat, "moderator")
    ids = []
    with server.client(analyst) as c:
        for n in range(3):
            body = {"platform": plat, "locators": [f"https://t.me/s/kanal_{n}/1"], **ORDER}
            ids.append(_ok(c.post("/api/v1/orders", json=body), 201)["id"])
    with server.client(moderator) as c:
        assert len(_ok(c.get("/api/v1/inbox"))["messages"]) == 3  # receipt: the clocks start
        r = c.post(
            f"/api/v1/orders/{ids[0]}/response", json={"action": "removed", "statement": STATEMENT}
        )
        assert _ok(r)["status"] == "complied"
        # the scheduler marks the other two overdue once their 8 seconds have run out
        for _ in range(300):
            states = [_ok(c.get(f"/api/v1/orders/{i}"))["status"] for i in ids[1:]]
            if states == ["overdue", "overdue"]:
                break
            time.sleep(0.1)
        assert states == ["overdue", "overdue"]
    return {"platform": plat, "ids": ids}


def test_the_report_counts_two_overdue_orders_as_late(
    server: LiveServer, case: dict[str, Any]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as web:
        summary = _ok(web.get("/public/transparency.json"))["orders"]
        assert summary["total"] == 3
        assert (summary["responses_on_time"], summary["responses_late"]) == (1, 2)
        assert (summary["answered_late"], summary["overdue_unanswered"]) == (0, 2)
        rows = list(csv.DictReader(io.StringIO(_ok(web.get("/public/transparency.csv")))))
        late = next(r for r in rows if r["dimension"] == "responses_late")
        assert late["value"] == "2"
        share = _ok(web.get("/public/transparency/data/within_deadline.json"))
    series = {s["key"]: s["values"] for s in share["series"]}
    assert len(share["rows"]) == 1  # the platform, by its display name
    assert series == {"share": [33.3], "on_time": [1], "late": [2]}
    assert share["unit"] == "percent" and share["time_zone"] == "Asia/Jakarta"


def test_page_draws_every_chart_with_its_table_and_links_the_exports(
    server: LiveServer, case: dict[str, Any]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as web:
        en = _ok(web.get("/public/transparency", params={"lang": "en"}))
        ind = _ok(web.get("/public/transparency", params={"lang": "id"}))
    assert "Share answered within the deadline, per platform" in en
    assert "Porsi yang dijawab dalam tenggat, per platform" in ind
    assert "/api/v1/public/statements?format=csv" in en
    assert "/api/v1/public/statements?format=json" in en
    for key in CHARTS:
        assert f"/public/transparency/data/{key}.csv?from=" in en
    # each drawn chart is well-formed SVG with its title, description and a table beside it
    svgs = [en[i : en.index("</svg>", i) + 6] for i in _find_all(en, "<svg ")]
    assert len(svgs) >= 3  # orders by category, time to action, within the deadline at least
    for text in svgs:
        root = ET.fromstring(text)
        assert root.get("role") == "img"
        key = root.get("aria-labelledby", "").split()[0].removesuffix("-title")
        assert f'id="{key}-table"' in en
    assert en.count('<details class="sub">') == len(svgs)


def _find_all(text: str, needle: str) -> list[int]:
    out, i = [], text.find(needle)
    while i >= 0:
        out.append(i)
        i = text.find(needle, i + 1)
    return out


def test_every_charts_csv_and_json_agree(server: LiveServer, case: dict[str, Any]) -> None:
    params = {"from": "2017-07-01", "to": "2027-06-30"}
    with httpx.Client(base_url=server.url, timeout=30) as web:
        for key in CHARTS:
            data = _ok(web.get(f"/public/transparency/data/{key}.json", params=params))
            r = web.get(f"/public/transparency/data/{key}.csv", params=params)
            assert r.headers["content-type"].startswith("text/csv")
            assert r.headers["access-control-allow-origin"] == "*"
            rows = list(csv.DictReader(io.StringIO(r.text)))
            assert data["chart"] == key and (data["from"], data["to"]) == (
                "2017-07-01",
                "2027-06-30",
            )
            if data["rows_are"] == "month":
                assert len(data["rows"]) == 120  # July 2017 to June 2027: the most allowed
            assert len(rows) == len(data["rows"]) * len(data["series"])
            for s in data["series"]:
                got = [row["value"] for row in rows if row["series"] == s["key"]]
                assert got == ["" if v is None else str(v) for v in s["values"]]
            api = _ok(web.get(f"/api/v1/public/transparency/charts/{key}", params=params))
            assert {k: v for k, v in api.items() if k != "generated_at"} == {
                k: v for k, v in data.items() if k != "generated_at"
            }
        listed = _ok(web.get("/api/v1/public/transparency/charts"))["charts"]
        assert [c["chart"] for c in listed] == list(CHARTS)
        assert listed[0]["json"] == "/api/v1/public/transparency/charts/orders_by_category"
    orders = next(
        s
        for s in _ok(
            httpx.get(
                server.url + "/public/transparency/data/orders_by_category.json", params=params
            )
        )["series"]
        if s["key"] == "terrorism"
    )
    assert sum(orders["values"]) == 3  # counts agree with the orders


@pytest.mark.parametrize(
    ("params", "field", "en", "id_"),
    [
        ({"from": "14/07/2017"}, "from", "is not a date", "bukan tanggal"),
        ({"to": "2017-02-30"}, "to", "is not a date", "bukan tanggal"),
        ({"from": "2018-01-01", "to": "2017-01-01"}, "from", "must not be after", "tidak boleh"),
        ({"from": "1990-01-01", "to": "2017-01-01"}, "from", "at most 120 months", "120 bulan"),
    ],
)
def test_a_bad_range_is_refused_in_the_readers_language(
    server: LiveServer, params: dict[str, str], field: str, en: str, id_: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as web:
        page = web.get("/public/transparency", params={**params, "lang": "en"})
        assert page.status_code == 422 and en in page.text
        assert f'name="{field}"' in page.text and 'aria-invalid="true"' in page.text
        page = web.get("/public/transparency", params={**params, "lang": "id"})
        assert page.status_code == 422 and id_ in page.text
        data = web.get("/public/transparency/data/blocks.json", params={**params, "lang": "id"})
        assert data.status_code == 422
        assert data.json()["field"] == field and id_ in data.json()["message"]
        text = web.get("/public/transparency/data/blocks.csv", params={**params, "lang": "en"})
        assert text.status_code == 422 and en in text.text
        unknown = web.get("/public/transparency/data/secrets.json", params={"lang": "en"})
        assert unknown.status_code == 404 and "orders_by_category" in unknown.json()["message"]
        api = web.get("/api/v1/public/transparency/charts/blocks", params=params)
        assert api.status_code == 422
        assert api.json()["field"] == field and en in api.json()["message"]  # the API: English
        missing = web.get("/api/v1/public/transparency/charts/secrets")
        assert missing.status_code == 404 and missing.json()["field"] == "chart"
