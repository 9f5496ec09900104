"""A copy of an order's evidence found by a platform shows on the order, both sides, over real
HTTP: an order with a photo as evidence is banked; the platform uploads a resized copy to the
match endpoint and another platform the photo itself; the regulator sees both finds named, the
platform its own and a count of the other, in the API and on the console page (English and
Indonesian); the other platform is no party to the order and sees nothing of it."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.evidence import as_base64, resized_jpeg, sample_png
from tests.functional.browser.people import browser_client, fresh_cast, sign_in
from tests.support import LiveServer, unique


@pytest.fixture(scope="module")
def photo() -> bytes:
    return sample_png("coffee")


def _section(html: str) -> str:
    """The order page's "evidence in the hash banks" section."""
    m = re.search(r'<section[^>]*id="evidence-matches".*?</section>', html, re.S)
    assert m, "no evidence-matches section on the order page"
    return m.group(0)


def test_a_found_copy_shows_on_the_order_for_both_parties_and_no_one_else(
    live: LiveServer, photo: bytes
) -> None:
    people = fresh_cast(live)
    analyst = live.token(people.regulator, "analyst")
    moderator = live.token(people.platform, "moderator")
    stranger = live.token(people.other_platform, "moderator")
    bank = unique("bukti-perintah")
    evidence = [{"filename": "poster.png", "content_base64": as_base64(photo)}]
    with live.client(analyst) as c:
        assert c.post("/api/v1/banks", json={"name": bank, "shared": True}).status_code == 201
        order = c.post(
            "/api/v1/orders",
            json={
                "platform": people.platform,
                "category": "terrorism",
                "locators": [f"https://t.me/{unique('kanal').replace('-', '_')}/1"],
                "legal_basis": "UU 5/2018",
                "reason": "propaganda poster",
                "evidence": evidence,
            },
        ).json()
        r = c.post(
            f"/api/v1/orders/{order['id']}/evidence/{order['evidence'][0]['id']}/bank",
            json={"bank": bank},
        )
        assert r.status_code == 201, r.text
        before = c.get(f"/api/v1/orders/{order['id']}/matches").json()
    assert before["copies_found"]["total"] == 0
    assert {b["signal_type"] for b in before["banked"]} >= {"pdq", "sha256"}

    copy = resized_jpeg(photo)
    with live.client(moderator) as c:
        hit = c.post("/api/v1/match", files={"file": ("copy.jpg", copy)}).json()["matches"]
        assert order["id"] in {m["order_id"] for m in hit}
    with live.client(stranger) as c:
        c.post("/api/v1/match", files={"file": ("same.png", photo)}).raise_for_status()
        # no party to the order: its matches are the order's 404
        assert c.get(f"/api/v1/orders/{order['id']}/matches").status_code == 404
        assert c.get(f"/api/v1/orders/{order['id']}").status_code == 404

    with live.client(analyst) as c:
        seen = c.get(f"/api/v1/orders/{order['id']}/matches").json()
    found = seen["copies_found"]
    assert found["by_other_organisations"] is None
    assert {f["found_by_org"] for f in found["finds"]} == {people.platform, people.other_platform}
    mine = [f for f in found["finds"] if f["found_by_org"] == people.platform]
    assert [(f["signal_type"], f["via"], f["bank"]) for f in mine] == [("pdq", "api_file", bank)]
    assert mine[0]["upload_sha256"] == hashlib.sha256(copy).hexdigest()
    assert 0 < mine[0]["distance"] <= mine[0]["threshold"]
    assert found["total"] == len(found["finds"]) >= 2

    with live.client(moderator) as c:
        theirs = c.get(f"/api/v1/orders/{order['id']}/matches").json()
    t = theirs["copies_found"]
    assert t["total"] == found["total"] and t["shown_in_full"] == 1
    assert t["by_other_organisations"] == found["total"] - 1
    assert [f["found_by_org"] for f in t["finds"]] == [people.platform]
    assert people.other_platform not in str(theirs)
    assert {b["bank"] for b in theirs["banked"]} == {bank}

    document = live.client().get("/openapi.json").json()
    op = document["paths"]["/api/v1/orders/{order_id}/matches"]["get"]
    assert "200" in op["responses"] and "OrderMatchesOut" in str(op["responses"]["200"])

    url = f"/console/orders/{order['id']}"
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.analyst)
        page = _section(web.get(url, params={"lang": "en"}).text)
        assert "Copies found" in page and f"({found['total']})" in page
        assert people.platform in page and people.other_platform in page
        assert "file matched through the API" in page and bank in page
    with browser_client(live) as web:
        sign_in(web, people.platform, people.moderator)
        page = _section(web.get(url, params={"lang": "en"}).text)
        assert people.platform in page and people.other_platform not in page
        assert f"{found['total'] - 1} found by other organisations" in page
        indonesian = _section(web.get(url, params={"lang": "id"}).text)
        assert "Salinan yang ditemukan" in indonesian
        assert "ditemukan oleh organisasi lain" in indonesian
        assert "Copies found" not in indonesian
    with browser_client(live) as web:
        sign_in(web, people.other_platform, people.moderator)
        assert web.get(url).status_code == 404
