"""Issue 12, finding 8: the two-person rule counts people, not tokens (real HTTP, both backends).

Before the fix one official holding two tokens made without ``--user`` approved a whole-service
block twice, once per token, and it took effect with one person behind it.
"""

from __future__ import annotations

from typing import Any

from tests.support import LiveServer, unique

BODY = {"action": "nxdomain", "legal_basis": "UU ITE Pasal 40 ayat 2b", "reason": "propaganda"}


def _org(live: LiveServer, *args: str) -> None:
    r = live.cli("org", "create", *args)
    assert r.returncode == 0, r.stderr


def _token(live: LiveServer, org: str, *extra: str, role: str = "official") -> str:
    r = live.cli("token", "create", "--org", org, "--role", role, *extra)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _whole_service_block(live: LiveServer, token: str) -> dict[str, Any]:
    """A block on a platform's registered name: the rails ask for two officials."""
    domain = f"{unique('svc')}.org"
    _org(live, "--kind", "platform", "--name", unique("platform"), "--domain", domain)
    with live.client(token) as c:
        r = c.post("/api/v1/blocks", json={"domain": domain, **BODY})
    assert r.status_code == 201, r.text
    block: dict[str, Any] = r.json()
    assert block["status"] == "pending_approval" and block["needs_second_approval"]
    return block


def test_two_service_tokens_of_one_official_are_not_two_officials(live: LiveServer) -> None:
    regulator = unique("kominfo")
    _org(live, "--kind", "regulator", "--name", regulator)
    first, second = _token(live, regulator), _token(live, regulator)
    block = _whole_service_block(live, first)
    with live.client(second) as c:
        r = c.post(f"/api/v1/blocks/{block['id']}/approve")
        assert r.status_code == 403, r.text
        assert "belongs to no one" in r.json()["message"]
        assert "--user" in r.json()["message"]
        assert c.get(f"/api/v1/blocks/{block['id']}").json()["status"] == "pending_approval"
    # the request of a token of no one was not an approval either: two people still must
    people = [_token(live, regulator, "--user", unique("official")) for _ in range(2)]
    for token, status in zip(people, ("pending_approval", "active"), strict=True):
        with live.client(token) as c:
            r = c.post(f"/api/v1/blocks/{block['id']}/approve")
            assert r.status_code == 200, r.text
            assert r.json()["status"] == status


def test_one_person_with_two_tokens_approves_once(live: LiveServer) -> None:
    regulator = unique("kominfo")
    _org(live, "--kind", "regulator", "--name", regulator)
    person = unique("official")
    mine = [_token(live, regulator, "--user", person) for _ in range(2)]
    requester = _token(live, regulator, role="analyst")  # a request, no approval
    block = _whole_service_block(live, requester)
    with live.client(mine[0]) as c:
        assert c.post(f"/api/v1/blocks/{block['id']}/approve").status_code == 200
    with live.client(mine[1]) as c:
        r = c.post(f"/api/v1/blocks/{block['id']}/approve")
        assert r.status_code == 403, r.text
        assert "different official" in r.json()["message"]
        assert c.get(f"/api/v1/blocks/{block['id']}").json()["status"] == "pending_approval"
