"""The public lookup and appeals over real HTTP, on both backends: a pasted URL finds the
block of its domain with the order's reference and legal basis, or the sanction and its
case; an appeal is followed with its reference and follow-up code only; officials take it
under review and decide it through the API and the console; an upheld appeal lifts the
block, so the same lookup says the name is open again."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.functional.browser.people import browser_client, cast, csrf, fresh_cast, sign_in
from tests.functional.test_web_procedure import _activate, _case
from tests.support import LiveServer, unique

BASIS = "UU 5/2018; Permenkominfo 5/2020 Pasal 9"
_addresses = itertools.count(1)


@contextmanager
def _public(client: httpx.Client) -> Iterator[httpx.Client]:
    """A member of the public with an address of their own (``X-Forwarded-For``, which the
    server trusts from its own loopback proxy), so the limits on appeals per address count
    this test's appeals, not the whole session's."""
    n = next(_addresses)
    client.headers["X-Forwarded-For"] = f"198.51.{100 + n // 250}.{n % 250 + 1}"
    with client:
        yield client


def _order_and_block(live: LiveServer, regulator: str, platform: str, name: str) -> str:
    with live.client(live.token(regulator, "analyst")) as api:
        r = api.post(
            "/api/v1/orders",
            json={
                "platform": platform,
                "category": "terrorism",
                "locators": [f"https://{name}/manual.pdf"],
                "legal_basis": BASIS,
                "reason": "Bomb-making manual",
            },
        )
        assert r.status_code == 201, r.text
        reference = str(r.json()["reference"])
    with live.client(live.token(regulator, "official")) as api:
        r = api.post(
            "/api/v1/blocks",
            json={
                "domain": name,
                "action": "nxdomain",
                "legal_basis": "UU 1/2024 (ITE) Pasal 40 ayat 2b",
                "reason": "The manual is still up after the deadline.",
                "order_id": reference,
            },
        )
        assert r.status_code == 201, r.text
    return reference


def _appeal(live: LiveServer, target: str) -> dict[str, Any]:
    with _public(live.client()) as anon:
        r = anon.post(
            "/api/v1/public/appeals",
            json={
                "domain": target,
                "contact_email": "warga@contoh.co.id",
                "statement": "My shop's pages live under this name; they are not propaganda.",
            },
        )
    assert r.status_code == 202, r.text
    return dict(r.json())


def test_a_pasted_url_finds_the_block_with_its_order_and_an_upheld_appeal_lifts_it(
    live: LiveServer,
) -> None:
    people = cast(live)
    name = f"{unique('manual')}.example.net"
    order_ref = _order_and_block(live, people.regulator, people.platform, name)
    url = f"https://shop.{name}/katalog?id=7#atas"
    with _public(live.client()) as anon:
        a = anon.get("/api/v1/public/lookup", params={"q": url}).json()
        # the contract's own parameter still works, for a plain domain
        plain = anon.get("/api/v1/public/lookup", params={"domain": name}).json()
    assert a["blocked"] is True and a["domain"] == f"shop.{name}" and a["query"] == url
    assert a["matched"] == name and a["via_parent"] is True and a["covers_subdomains"] is True
    assert a["order_reference"] == order_ref == a["order"]["reference"] == a["case_reference"]
    assert a["order"]["legal_basis"] == BASIS
    assert a["legal_basis"] == "UU 1/2024 (ITE) Pasal 40 ayat 2b"
    assert a["since"] and a["order"]["issued_at"] and a["sanction"] is None
    assert a["appeal"]["decide_within"] == 14 * 86400
    assert set(a["verification"]) >= {"isps_checked", "isps_compliant", "checked_at"}
    assert plain["blocked"] is True and plain["order_reference"] == order_ref

    got = _appeal(live, url)
    ref, code = got["reference"], got["follow_up_code"]
    assert re.fullmatch(r"AP-[0-9A-F]{10}", ref) and got["status"] == "received"
    assert got["status_url"].endswith(f"/public/appeals/{ref}") and got["decide_by"]
    with _public(live.client()) as anon:
        follow = anon.post(f"/api/v1/public/appeals/{ref}/follow", json={"code": code})
        assert follow.status_code == 200, follow.text
        assert follow.json()["status"] == "received" and follow.json()["outcome"] is None
        wrong = anon.post(f"/api/v1/public/appeals/{ref}/follow", json={"code": "AAAA-BBBB"})
        assert wrong.status_code == 404 and wrong.json()["field"] == "code"
        unknown = anon.post("/api/v1/public/appeals/AP-0000000000/follow", json={"code": code})
        assert unknown.status_code == 404 and unknown.json()["message"] == wrong.json()["message"]

    # the queue: an analyst reads it and may do nothing; a platform may not read it
    with live.client(live.token(people.regulator, "analyst")) as api:
        queue = api.get("/api/v1/appeals").json()["appeals"]
        mine = next(x for x in queue if x["reference"] == ref)
        assert mine["actions"] == [] and mine["decide_by"] == got["decide_by"]
        assert api.post(f"/api/v1/appeals/{mine['id']}/review").status_code == 403
    with live.client(live.token(people.platform, "moderator")) as api:
        assert api.get("/api/v1/appeals").status_code == 403
    with live.client(live.token(people.regulator, "official")) as api:
        queue = api.get("/api/v1/appeals").json()["appeals"]
        deadlines = [x["decide_by"] for x in queue]
        assert deadlines == sorted(deadlines)
        aid = next(x["id"] for x in queue if x["reference"] == ref)
        r = api.post(f"/api/v1/appeals/{aid}/review")
        assert r.status_code == 200 and r.json()["status"] == "under_review"
        assert r.json()["actions"] == ["uphold", "reject"]
        assert api.post(f"/api/v1/appeals/{aid}/review").status_code == 409
        bad = api.post(f"/api/v1/appeals/{aid}/decision", json={"outcome": "maybe", "reason": "x"})
        assert bad.status_code == 422
        r = api.post(
            f"/api/v1/appeals/{aid}/decision",
            json={"outcome": "upheld", "reason": "The shop is lawful; the block was too wide."},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "upheld" and r.json()["actions"] == []
    with _public(live.client()) as anon:
        after = anon.get("/api/v1/public/lookup", params={"q": url}).json()
        view = anon.post(f"/api/v1/public/appeals/{ref}/follow", json={"code": code}).json()
    assert after["blocked"] is False
    assert view["outcome"] == "upheld" and view["access_restored"] is True
    assert view["decision_reason"] == "The shop is lawful; the block was too wide."
    assert [s["status"] for s in view["steps"]] == ["received", "under_review", "decided"]


def test_a_sanctions_block_names_the_sanction_and_its_case(live: LiveServer) -> None:
    c = _case(live)
    s = _activate(live, c)
    with _public(live.client()) as anon:
        a = anon.get(
            "/api/v1/public/lookup", params={"q": f"https://www.{c.domains[0]}/k/#@durov"}
        ).json()
    assert a["blocked"] is True and a["matched"] == c.domains[0]
    assert a["sanction"]["reference"] == s["reference"] == a["case_reference"]
    assert a["sanction"]["platform"] == c.platform and a["sanction"]["status"] == "active"
    assert a["sanction"]["legal_basis"]


def test_the_pages_lookup_appeal_follow_and_the_officials_queue(live: LiveServer) -> None:
    people = fresh_cast(live)
    name = f"{unique('halaman')}.example.net"
    order_ref = _order_and_block(live, people.regulator, people.platform, name)
    with _public(browser_client(live)) as web:
        r = web.get("/public/lookup", params={"q": f"https://m.{name}/a/b", "lang": "id"})
        assert r.status_code == 200, r.text
        assert f"m.{name} diblokir" in r.text and order_ref in r.text
        assert "UU 1/2024 (ITE) Pasal 40 ayat 2b" in r.text and BASIS in r.text
        assert "2 minggu" in r.text  # the profile's decision time (14 days), in words
        bad = web.get("/public/lookup", params={"q": "http://8.8.8.8/x", "lang": "en"})
        assert bad.status_code == 400 and "IP address" in bad.text

        form = web.get("/public/appeal", params={"domain": f"m.{name}", "lang": "en"})
        assert 'maxlength="20000"' in form.text and "At most 20,000 characters." in form.text
        # one character over the stated limit comes back in its form, the text kept
        over = web.post(
            "/public/appeal",
            data={
                "domain": name,
                "contact_email": "warga@contoh.co.id",
                "statement": "y" * 20_001,
                "csrf_token": csrf(form.text),
            },
        )
        assert over.status_code == 422 and "y" * 20_001 in over.text
        textarea = re.search(r'<textarea id="statement"[^>]*>', over.text)
        assert textarea and 'aria-invalid="true"' in textarea[0]
        assert 'aria-describedby="statement-hint appeal-error"' in textarea[0]
        r = web.post(
            "/public/appeal",
            data={
                "domain": f"https://m.{name}/a/b",
                "contact_email": "warga@contoh.co.id",
                "statement": "x" * 19_000,
                "csrf_token": csrf(form.text),
            },
        )
        assert r.status_code == 200, r.text
        ref = re.search(r'id="appeal-reference">(AP-[0-9A-F]{10})<', r.text)
        code = re.search(r'id="appeal-code">([A-Z2-9-]{19})<', r.text)
        assert ref and code, r.text
        status = web.get(f"/public/appeals/{ref[1]}", params={"lang": "en"})
        assert status.status_code == 200 and "Follow-up code" in status.text
        assert "warga@contoh.co.id" not in status.text  # the reference alone shows nothing
        wrong = web.post(
            f"/public/appeals/{ref[1]}", data={"code": "ZZZZ", "csrf_token": csrf(status.text)}
        )
        assert wrong.status_code == 404 and "No appeal matches" in wrong.text
        shown = web.post(
            f"/public/appeals/{ref[1]}",
            data={"code": code[1].lower(), "csrf_token": csrf(status.text)},
        )
        assert shown.status_code == 200 and "Received" in shown.text

    with browser_client(live) as console:
        assert sign_in(console, people.regulator, people.official).status_code == 303
        queue = console.get("/console/appeals", params={"lang": "id"})
        assert queue.status_code == 200 and ref[1] in queue.text
        assert "Ambil untuk ditinjau" in queue.text
        card = rf'id="a-([0-9a-f-]{{36}})"[^>]*>\s*<h2[^>]*><span class="mono">{ref[1]}'
        aid = re.search(card, queue.text)
        assert aid, queue.text
        token = csrf(queue.text)
        r = console.post(f"/console/appeals/{aid[1]}/review", data={"csrf_token": token})
        assert r.status_code == 303
        missing = console.post(
            f"/console/appeals/{aid[1]}/decision",
            data={"outcome": "rejected", "reason": " ", "csrf_token": token, "lang": "id"},
        )
        assert missing.status_code == 422 and "pemohon" in missing.text
        r = console.post(
            f"/console/appeals/{aid[1]}/decision",
            data={"outcome": "rejected", "reason": "Situs memuat manual bom.", "csrf_token": token},
        )
        assert r.status_code == 303
    with _public(browser_client(live)) as web:
        status = web.get(f"/public/appeals/{ref[1]}", params={"lang": "id"})
        shown = web.post(
            f"/public/appeals/{ref[1]}", data={"code": code[1], "csrf_token": csrf(status.text)}
        )
        assert "Situs memuat manual bom." in shown.text and "Ditolak" in shown.text
        still = web.get("/public/lookup", params={"q": name, "lang": "en"})
        assert f"{name} is blocked" in still.text
