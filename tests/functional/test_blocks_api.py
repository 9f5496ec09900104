"""The blocklist over real HTTP against a running ``tangkal serve`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import LiveServer, unique


class Actors:
    """A regulator with two different officials and an analyst, a platform, an ISP."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.regulator = unique("kominfo")
        self.platform_domain = f"{unique('svc')}.org"
        self.platform = unique("platform")
        for args in (
            ["--kind", "regulator", "--name", self.regulator],
            ["--kind", "platform", "--name", self.platform, "--domain", self.platform_domain],
            ["--kind", "isp", "--name", unique("isp")],
        ):
            r = live.cli("org", "create", *args)
            assert r.returncode == 0, r.stderr
        self.isp = args[-1]
        # two people (approvals count people: a token of no one cannot approve)
        self.official = self._token(self.regulator, "official", unique("official"))
        self.official2 = self._token(self.regulator, "official", unique("official"))
        self.analyst = self._token(self.regulator, "analyst")
        self.moderator = self._token(self.platform, "moderator")
        self.isp_token = self._token(self.isp, "isp")

    def _token(self, org: str, role: str, user: str | None = None) -> str:
        person = ("--user", user) if user else ()
        r = self.live.cli("token", "create", "--org", org, "--role", role, *person)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def client(self, token: str | None) -> Any:
        return self.live.client(token)


@pytest.fixture(scope="module")
def actors(live: LiveServer) -> Actors:
    """Shared by this module's tests (per backend): every CLI call starts a Python process,
    and each test uses its own uniquely named domains anyway."""
    return Actors(live)


def body(domain: str, **kw: Any) -> dict[str, Any]:
    return {
        "domain": domain,
        "action": "nxdomain",
        "legal_basis": "UU ITE Pasal 40 ayat 2b",
        "reason": "terrorist propaganda",
        **kw,
    }


def name(prefix: str = "blk") -> str:
    return f"{unique(prefix)}.example.com"


def test_an_official_blocks_and_restores_a_name(actors: Actors) -> None:
    n = name()
    with actors.client(actors.official) as c:
        r = c.post("/api/v1/blocks", json=body(n, category="terrorism"))
        assert r.status_code == 201, r.text
        block = r.json()
        assert block["status"] == "active" and block["domain"] == n
        assert block["assessment"]["needs_second_approval"] is False
        listed = c.get("/api/v1/blocks", params={"domain": n}).json()["blocks"]
        assert [b["id"] for b in listed] == [block["id"]]
        r = c.request(
            "DELETE",
            f"/api/v1/blocks/{block['id']}",
            json={"reason": "platform removed the channels"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "restored"
        detail = c.get(f"/api/v1/blocks/{block['id']}").json()
        assert [e["action"] for e in detail["history"]["events"]] == [
            "block.created",
            "block.restored",
        ]


def test_bad_block_requests_get_a_4xx_with_a_message(actors: Actors) -> None:
    with actors.client(actors.official) as c:
        for bad, code in [
            ("not a name!", 422),
            ("co.id", 422),
            ("x" * 64 + ".com", 422),
            ("", 422),
        ]:
            r = c.post("/api/v1/blocks", json=body(bad))
            assert r.status_code == code, (bad, r.text)
            assert r.json()["message"], r.text
        r = c.post("/api/v1/blocks", json=body(name(), reason="  "))
        assert r.status_code == 422 and "reason" in r.json()["message"]
        r = c.post("/api/v1/blocks", json={"domain": name(), "action": "nxdomain"})
        assert r.status_code == 422 and "legal_basis" in r.json()["message"]
        r = c.post("/api/v1/blocks", json=body(name(), action="drop"))
        assert r.status_code == 422 and "nxdomain" in r.json()["message"]

        n = name()
        first = c.post("/api/v1/blocks", json=body(n)).json()
        dup = c.post("/api/v1/blocks", json=body(n.upper()))
        assert dup.status_code == 409 and first["id"] in dup.json()["message"]

        c.request("DELETE", f"/api/v1/blocks/{first['id']}", json={"reason": "done"})
        again = c.request("DELETE", f"/api/v1/blocks/{first['id']}", json={"reason": "again"})
        assert again.status_code == 409 and "nothing to restore" in again.json()["message"]
        no_reason = c.post("/api/v1/blocks", json=body(name()))
        r = c.request("DELETE", f"/api/v1/blocks/{no_reason.json()['id']}", json={})
        assert r.status_code == 422 and "reason" in r.json()["message"]
        assert c.get("/api/v1/blocks/nope").status_code == 404


def test_analysts_propose_officials_approve_and_others_may_not(actors: Actors) -> None:
    with actors.client(actors.analyst) as c:
        r = c.post("/api/v1/blocks", json=body(name()))
        assert r.status_code == 201 and r.json()["status"] == "pending_approval"
        pending = r.json()["id"]
        r = c.post(f"/api/v1/blocks/{pending}/approve")
        assert r.status_code == 403 and "official" in r.json()["message"]
    with actors.client(actors.moderator) as c:
        r = c.post("/api/v1/blocks", json=body(name()))
        assert r.status_code == 403 and r.json()["message"]
    with actors.client(None) as c:
        assert c.post("/api/v1/blocks", json=body(name())).status_code == 401
    with actors.client(actors.official) as c:
        r = c.post(f"/api/v1/blocks/{pending}/approve")
        assert r.status_code == 200 and r.json()["status"] == "active"


def test_a_whole_service_block_needs_two_different_officials(actors: Actors) -> None:
    target = "web." + actors.platform_domain
    with actors.client(actors.official) as c:
        a = c.get("/api/v1/blocks/assess", params={"domain": target}).json()
        assert a["whole_service"] and a["platforms"][0]["platform"] == actors.platform
        r = c.post("/api/v1/blocks", json=body(target))
        assert r.status_code == 201
        block = r.json()
        assert block["status"] == "pending_approval" and block["needs_second_approval"]
        same = c.post(f"/api/v1/blocks/{block['id']}/approve")
        assert same.status_code == 403 and "different official" in same.json()["message"]
    with actors.client(actors.moderator) as c:  # the platform sees blocks of its own names
        assert [b["id"] for b in c.get("/api/v1/blocks").json()["blocks"]] == [block["id"]]
    with actors.client(actors.official2) as c:
        r = c.post(f"/api/v1/blocks/{block['id']}/approve")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "active" and len(r.json()["approvals"]) == 2
    with actors.client(actors.isp_token) as c:
        ids = {b["id"] for b in c.get("/api/v1/blocks", params={"domain": target}).json()["blocks"]}
        assert ids == {block["id"]}


def test_the_public_lookup_needs_no_token_and_covers_subdomains(actors: Actors) -> None:
    n = name("pub")
    with actors.client(actors.analyst) as c:
        order = c.post(
            "/api/v1/orders",
            json={
                "platform": actors.platform,
                "category": "terrorism",
                "locators": [f"https://{n}/x"],
                "legal_basis": "UU ITE Pasal 40",
                "reason": "propaganda",
            },
        ).json()
    with actors.client(actors.official) as c:
        r = c.post("/api/v1/blocks", json=body(n, order_id=order["id"], category="terrorism"))
        assert r.status_code == 201, r.text
        r = c.post("/api/v1/blocks", json=body(name("nope"), order_id="KOMINFO-2017-07"))
        assert r.status_code == 422 and "No order KOMINFO-2017-07" in r.json()["message"]
    with actors.client(None) as c:
        r = c.get("/api/v1/public/lookup", params={"domain": "www.deep." + n})
        assert r.status_code == 200, r.text
        a = r.json()
        assert a["blocked"] is True and a["matched"] == n and a["via_parent"] is True
        assert a["legal_basis"].startswith("UU ITE") and a["case_reference"] == order["reference"]
        assert a["since"] and "/public/appeal" in a["appeal"]["url"]
        assert "requested_by" not in a
        free = c.get("/api/v1/public/lookup", params={"domain": name("free")}).json()
        assert free["blocked"] is False
        for bad in ("co.id", "bad..name", ""):
            r = c.get("/api/v1/public/lookup", params={"domain": bad})
            assert 400 <= r.status_code < 500 and r.json()["message"], r.text
        r = c.post(
            "/api/v1/public/appeals",
            json={
                "domain": n,
                "contact_email": "warga@contoh.co.id",
                "statement": "This is a news site reporting on terrorism, not propaganda.",
            },
        )
        assert r.status_code == 202, r.text
        ref = r.json()["reference"]
    with actors.client(actors.official) as c:
        refs = [x["reference"] for x in c.get("/api/v1/appeals").json()["appeals"]]
        assert ref in refs


def test_officials_configure_the_protected_list(actors: Actors) -> None:
    protected = f"{unique('bank')}.co.id"
    with actors.client(actors.analyst) as c:
        r = c.post("/api/v1/blocks/protected", json={"name": protected, "note": "bank"})
        assert r.status_code == 403
    with actors.client(actors.official) as c:
        r = c.post("/api/v1/blocks/protected", json={"name": protected, "note": "bank"})
        assert r.status_code == 201, r.text
        names = [p["name"] for p in c.get("/api/v1/blocks/protected").json()["protected"]]
        assert protected in names and "go.id" in names
        r = c.post("/api/v1/blocks", json=body("login." + protected))
        assert r.json()["status"] == "pending_approval"
        assert any("protected" in x for x in r.json()["assessment"]["reasons"])
        assert c.delete(f"/api/v1/blocks/protected/{protected}").status_code == 200
