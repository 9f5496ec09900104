"""The public pages over real HTTP against a running server: no sign-in needed."""

from __future__ import annotations

import csv
import io

from tests.functional.browser.people import browser_client, cast
from tests.support import LiveServer, unique


def _block(live: LiveServer, regulator: str, name: str) -> None:
    token = live.token(regulator, "official")
    with live.client(token) as api:
        r = api.post(
            "/api/v1/blocks",
            json={
                "domain": name,
                "action": "nxdomain",
                "category": "terrorism",
                "legal_basis": "UU 5/2018; Permenkominfo 5/2020 Pasal 9",
                "reason": "Terrorist propaganda channels",
            },
        )
        assert r.status_code == 201, r.text


def test_lookup_page_needs_no_sign_in_and_starts_in_indonesian(live: LiveServer) -> None:
    with browser_client(live) as web:
        r = web.get("/public/lookup")
        assert r.status_code == 200
        assert '<html lang="id">' in r.text
        assert "Apakah situs ini diblokir?" in r.text
        assert web.get("/").headers["location"] == "/public/lookup"


def test_lookup_shows_a_blocked_name_its_parent_block_and_how_to_appeal(live: LiveServer) -> None:
    people = cast(live)
    name = f"{unique('propaganda')}.example.net"
    _block(live, people.regulator, name)
    with browser_client(live) as web:
        r = web.get("/public/lookup", params={"domain": f"web.{name}", "lang": "en"})
        assert r.status_code == 200
        assert f"web.{name} is blocked" in r.text
        assert f"covered by the block on {name}" in r.text
        assert "UU 5/2018; Permenkominfo 5/2020 Pasal 9" in r.text
        assert "Terrorism" in r.text
        assert "WIB" in r.text
        assert f"/public/appeal?domain=web.{name}" in r.text
        r = web.get("/public/lookup", params={"domain": name, "lang": "id"})
        assert f"{name} diblokir" in r.text and "Terorisme" in r.text


def test_invalid_names_get_a_friendly_error_on_the_page_not_a_500(live: LiveServer) -> None:
    with browser_client(live) as web:
        for bad in ("co.id", "not a domain", "http://", "a" * 300, "-x-.com", "💥"):
            r = web.get("/public/lookup", params={"domain": bad, "lang": "en"})
            assert r.status_code in (400, 422), (bad, r.status_code)
            assert "That is not a domain name we can look up." in r.text
            assert r.headers["content-type"].startswith("text/html")


def test_lang_parameter_switches_and_is_remembered(live: LiveServer) -> None:
    with browser_client(live) as web:
        r = web.get("/public/lookup", params={"lang": "en"})
        assert "Is this site blocked?" in r.text
        assert "tangkal_lang=en" in r.headers["set-cookie"]
        assert "Transparency report" in web.get("/public/transparency").text
        r = web.get("/public/transparency", params={"lang": "id"})
        assert "Laporan transparansi" in r.text
        assert "Laporan transparansi" in web.get("/public/transparency").text


def test_browser_language_is_the_default_when_nothing_was_chosen(live: LiveServer) -> None:
    with browser_client(live) as web:
        r = web.get("/public/lookup", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert '<html lang="en">' in r.text


def test_transparency_page_json_and_csv_agree(live: LiveServer) -> None:
    people = cast(live)
    _block(live, people.regulator, f"{unique('judi')}.example.org")
    with browser_client(live) as web:
        page = web.get("/public/transparency", params={"lang": "en"})
        assert page.status_code == 200
        assert "Orders by category" in page.text and "names blocked now" in page.text
        data = web.get("/public/transparency.json").json()
        rows = list(csv.DictReader(io.StringIO(web.get("/public/transparency.csv").text)))
    assert data["blocks"]["active"] >= 1
    active = next(r for r in rows if r["section"] == "blocks" and r["dimension"] == "active")
    assert int(active["value"]) == data["blocks"]["active"]
    total = next(r for r in rows if r["section"] == "orders" and r["dimension"] == "total")
    assert int(total["value"]) == data["orders"]["total"]


def test_public_appeal_form_reaches_the_appeal_service(live: LiveServer) -> None:
    people = cast(live)
    name = f"{unique('banding')}.example.com"
    _block(live, people.regulator, name)
    with browser_client(live) as web:
        form = web.get("/public/appeal", params={"domain": name, "lang": "en"})
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = web.post(
            "/public/appeal",
            data={
                "domain": name,
                "contact_email": "warga@contoh.co.id",
                "statement": "This name hosts a news site, not propaganda.",
                "csrf_token": token,
            },
        )
        assert r.status_code == 200, r.text
        assert "Your appeal was received." in r.text
        refused = web.post(
            "/public/appeal",
            data={
                "domain": name,
                "contact_email": "warga@contoh.co.id",
                "statement": "Another appeal without the form token.",
                "csrf_token": "forged",
            },
        )
        assert refused.status_code == 403
