"""The audit record over real HTTP and the real command line (issue 12, findings 4 and 5).

4. ``GET /api/v1/audit`` showed one regulator the other's order events and every regulator
   a platform's private bank events: each event now records whom it concerns.
5. ``tangkal audit verify`` said "intact" after the last entry was deleted or the tail was
   rewritten with recomputed hashes: a signed checkpoint kept elsewhere now pins the chain.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import create_engine, text

from tangkal.accounts import services as accounts
from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import SYSTEM
from tangkal.audit.chain import entry_hash
from tangkal.audit.checkpoints import message
from tangkal.db.session import Database
from tests.support import LiveServer, backends, live_server, server_database, unique

TERROR = {
    "category": "terrorism",
    "legal_basis": "UU 5/2018 Pasal 13A",
    "reason": "Public channel posting bomb-making instructions.",
}


def _org(live: LiveServer, kind: str, prefix: str) -> str:
    name = unique(prefix)
    r = live.cli("org", "create", "--kind", kind, "--name", name)
    assert r.returncode == 0, r.stderr
    return name


def _events(live: LiveServer, token: str) -> list[dict[str, Any]]:
    """Every event the token may read, page by page (bounded)."""
    out: list[dict[str, Any]] = []
    after = 0
    with live.client(token) as c:
        for _ in range(100):
            r = c.get("/api/v1/audit", params={"after": after, "limit": 1000})
            assert r.status_code == 200, r.text
            page = r.json()["events"]
            if not page:
                return out
            out.extend(page)
            after = page[-1]["seq"]
    raise AssertionError("more than 100 pages of audit events")


def test_each_organisation_reads_only_the_events_that_concern_it(live: LiveServer) -> None:
    reg_a, reg_b = _org(live, "regulator", "reg-a"), _org(live, "regulator", "reg-b")
    plat = _org(live, "platform", "plat")
    orders: dict[str, str] = {}
    for n, reg in enumerate((reg_a, reg_b)):
        with live.client(live.token(reg, "analyst")) as c:
            r = c.post(
                "/api/v1/orders",
                json={
                    "platform": plat,
                    "locators": [f"https://t.me/{unique('chan').replace('-', '_')}_{n}"],
                    **TERROR,
                },
            )
        assert r.status_code == 201, r.text
        orders[reg] = r.json()["id"]
    with live.client(live.token(plat, "admin")) as c:
        r = c.post("/api/v1/banks", json={"name": unique("private-bank"), "shared": False})
    assert r.status_code == 201, r.text
    bank_id = r.json()["id"]

    seen_a = _events(live, live.token(reg_a, "official"))
    seen_b = _events(live, live.token(reg_b, "auditor"))
    seen_p = _events(live, live.token(plat, "admin"))

    def ids(events: list[dict[str, Any]]) -> set[str]:
        return {e["object_id"] for e in events}

    # each regulator reads its own order's events, not the other's
    assert orders[reg_a] in ids(seen_a) and orders[reg_b] not in ids(seen_a)
    assert orders[reg_b] in ids(seen_b) and orders[reg_a] not in ids(seen_b)
    # nobody but the platform reads its private bank's events
    assert bank_id not in ids(seen_a) | ids(seen_b)
    assert bank_id in ids(seen_p)
    # the platform reads both orders it was sent
    assert {orders[reg_a], orders[reg_b]} <= ids(seen_p)
    # and the chain's integrity is still checked over all of it
    with live.client(live.token(reg_a, "auditor")) as c:
        assert c.get("/api/v1/audit/verify").json()["ok"] is True


@pytest.fixture(params=backends())
def own_server(request: pytest.FixtureRequest) -> Iterator[tuple[LiveServer, str]]:
    """A server of its own: these tests tamper with the chain."""
    env = {"TANGKAL_AUDIT_CHECKPOINT_INTERVAL": "0.2"}
    with server_database(str(request.param)) as url, live_server(url, env) as srv:
        yield srv, url


def _signature_holds(cp: dict[str, Any]) -> bool:
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(cp["public_key"]))
    try:
        pub.verify(
            base64.b64decode(cp["signature"]),
            message(cp["size"], cp["head"], cp["signed_at"], cp.get("root")),
        )
    except Exception:
        return False
    return True


def test_a_kept_checkpoint_shows_truncation_and_a_rewritten_tail(
    own_server: tuple[LiveServer, str], tmp_path: Path
) -> None:
    live, url = own_server
    db = Database(url)
    try:
        with db.unit_of_work() as session:  # each org and token is an event
            org = accounts.create_org(session, SYSTEM, kind=OrgKind.REGULATOR, name=unique("reg"))
            for role in (Role.ANALYST, Role.OFFICIAL, Role.AUDITOR):
                accounts.create_token(session, SYSTEM, org, role)
    finally:
        db.dispose()

    # the server signs checkpoints by itself; anyone fetches the latest, without a token, and
    # checks it themselves
    with live.client() as c:
        for _ in range(300):  # bounded: the service signs every 0.2 s
            resp = c.get("/api/v1/public/audit/checkpoint")
            assert resp.status_code == 200, resp.text
            public = resp.json()
            if public["size"] >= 4:
                break
            time.sleep(0.1)
    assert _signature_holds(public) and public["size"] >= 4
    # the transparency page shows a checkpoint, in both languages
    with live.client(follow_redirects=True) as web:
        en = web.get("/public/transparency", params={"lang": "en"}).text
        assert "The audit record" in en and "Public key (Ed25519)" in en
        assert public["public_key"] in en
        id_ = web.get("/public/transparency", params={"lang": "id"}).text
        assert "Catatan audit" in id_ and "Kunci publik (Ed25519)" in id_

    # a third party keeps one made now
    kept = tmp_path / "checkpoint.json"
    r = live.cli("audit", "checkpoint", "-o", str(kept))
    assert r.returncode == 0, r.stderr
    cp = json.loads(kept.read_text())
    assert _signature_holds(cp) and cp["public_key"] == public["public_key"]
    assert cp["size"] >= public["size"]
    live.token(org.name, "admin")  # the chain grows past the checkpoint: still consistent
    r = live.cli("audit", "verify", "--checkpoint", str(kept))
    assert r.returncode == 0, r.stderr

    # a checkpoint signed by another key than the one pinned is refused
    other = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    r = live.cli("audit", "verify", "--checkpoint", str(kept), "--public-key", other)
    assert r.returncode == 1 and "another key" in r.stderr, r.stderr
    r = live.cli("audit", "verify", "--checkpoint", str(kept), "--public-key", cp["public_key"])
    assert r.returncode == 0, r.stderr
    # a forged checkpoint (another size) does not verify
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**cp, "size": cp["size"] - 1}))
    r = live.cli("audit", "verify", "--checkpoint", str(forged))
    assert r.returncode == 1 and "signature" in r.stderr

    engine = create_engine(url)
    try:
        # rewrite entry size-1 to the end with recomputed hashes: the chain alone is intact
        start = cp["size"] - 1
        with engine.begin() as conn:
            rows = conn.execute(
                text(
                    "SELECT seq, at, actor, actor_org_id, action, object_type, object_id, data, "
                    "prev_hash FROM audit_events WHERE seq >= :s ORDER BY seq"
                ),
                {"s": start},
            ).all()
            prev = rows[0].prev_hash
            for row in rows:
                data = json.loads(row.data) if isinstance(row.data, str) else dict(row.data)
                if row.seq == start:
                    data["rewritten"] = True
                at = row.at
                if isinstance(at, str):  # SQLite hands back text
                    from datetime import datetime

                    at = datetime.fromisoformat(at)
                if at.tzinfo is None:
                    from datetime import UTC

                    at = at.replace(tzinfo=UTC)
                h = entry_hash(
                    prev_hash=prev,
                    seq=row.seq,
                    at=at,
                    actor=row.actor,
                    actor_org_id=row.actor_org_id,
                    action=row.action,
                    object_type=row.object_type,
                    object_id=row.object_id,
                    data=data,
                )
                conn.execute(
                    text(
                        "UPDATE audit_events SET data = :d, prev_hash = :p, hash = :h "
                        "WHERE seq = :s"
                    ),
                    {"d": json.dumps(data), "p": prev, "h": h, "s": row.seq},
                )
                prev = h
        r = live.cli("audit", "verify")
        assert r.returncode == 0, r.stderr  # what finding 5 was: nothing outside pins it
        r = live.cli("audit", "verify", "--checkpoint", str(kept))
        assert r.returncode == 1 and "rewritten" in r.stderr, r.stderr

        # delete the tail back to before the checkpoint: truncated
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": cp["size"]})
        r = live.cli("audit", "verify", "--checkpoint", str(kept))
        assert r.returncode == 1 and "truncated" in r.stderr, r.stderr
    finally:
        engine.dispose()


def test_a_bad_signing_key_stops_the_server_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "audit.key"
    bad.write_text("not a key\n")
    with server_database("sqlite") as url:
        from tests.support import run_cli

        env = {"TANGKAL_DATABASE_URL": url, "TANGKAL_AUDIT_KEY_FILE": str(bad)}
        r = run_cli("serve", "--port", "0", "--dns-port", "0", env=env, timeout=60)
    assert r.returncode != 0
    assert "audit signing key" in r.stderr and str(bad) in r.stderr
