"""Merkle proofs of the audit record over real HTTP, checked offline by the real command line.

A reader fetches signed checkpoints from the public endpoint, then an inclusion proof of one
entry and a consistency proof between two checkpoints, and checks both with ``tangkal audit
check-proof`` on a machine without the database; after an entry is rewritten (the chain's
hashes recomputed, so the chain alone still looks intact) the server's new proofs no longer
hold against the checkpoints the reader kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tangkal.audit.chain import entry_hash
from tests.support import LiveServer, backends, live_server, run_cli_here, server_database, unique


@pytest.fixture(params=backends())
def own_server(request: pytest.FixtureRequest) -> Iterator[tuple[LiveServer, str]]:
    """A server of its own: the test rewrites its chain."""
    env = {"TANGKAL_AUDIT_CHECKPOINT_INTERVAL": "0.2"}
    with server_database(str(request.param)) as url, live_server(url, env) as srv:
        yield srv, url


def _grow(live: LiveServer) -> None:
    """A few entries: an organisation and its tokens are each one."""
    org = unique("reg")
    assert live.cli("org", "create", "--kind", "regulator", "--name", org).returncode == 0
    live.token(org, "analyst")
    live.token(org, "auditor")


def _checkpoint_past(live: LiveServer, size: int, path: Path) -> dict[str, Any]:
    """The first checkpoint the server signs by itself past ``size``, kept in ``path``."""
    with live.client() as c:
        for _ in range(300):  # bounded: the service signs every 0.2 s
            r = c.get("/api/v1/public/audit/checkpoint")
            assert r.status_code == 200, r.text
            cp: dict[str, Any] = r.json()
            if cp["size"] > size:
                path.write_text(r.text)
                return cp
            time.sleep(0.1)
    raise AssertionError(f"no checkpoint past {size} in 30 s")


def _offline(*args: str) -> Any:
    """``tangkal audit <args>`` with a database that does not exist: offline means offline."""
    return run_cli_here("audit", *args, env={"TANGKAL_DATABASE_URL": "sqlite:////nonexistent/x.db"})


def _fetch(live: LiveServer, path: str, params: dict[str, int], keep: Path) -> dict[str, Any]:
    with live.client() as c:  # no token: the proofs are public
        r = c.get(path, params=params)
    assert r.status_code == 200, r.text
    keep.write_text(r.text)
    body: dict[str, Any] = r.json()
    return body


def test_proofs_fetched_over_http_check_offline_and_a_rewrite_is_caught(
    own_server: tuple[LiveServer, str], tmp_path: Path
) -> None:
    live, url = own_server
    _grow(live)
    old_file, new_file = tmp_path / "old.json", tmp_path / "new.json"
    old = _checkpoint_past(live, 2, old_file)
    assert old["version"] == "tangkal-audit-checkpoint/v2" and len(old["root"]) == 64
    _grow(live)
    new = _checkpoint_past(live, old["size"], new_file)
    # the transparency page shows the root too, which the signature covers
    with live.client(follow_redirects=True) as web:
        assert "Merkle root (RFC 9162)" in web.get("/public/transparency?lang=en").text
        assert "Akar Merkle (RFC 9162)" in web.get("/public/transparency?lang=id").text

    inc_file = tmp_path / "inclusion.json"
    inc = _fetch(
        live, "/api/v1/public/audit/proof/inclusion", {"seq": 2, "size": old["size"]}, inc_file
    )
    # hashes and sizes only: nothing of what the entry says, nor who it concerns
    assert set(inc) == {
        "kind", "algorithm", "seq", "leaf_index", "tree_size", "entry_hash", "leaf_hash",
        "audit_path", "root",
    }  # fmt: skip
    assert inc["leaf_index"] == 1 and inc["tree_size"] == old["size"]
    r = _offline("check-proof", str(inc_file), "--checkpoint", str(old_file),
                 "--public-key", old["public_key"], "--entry-hash", inc["entry_hash"])  # fmt: skip
    assert r.returncode == 0 and "entry 2 is in the signed tree" in r.stdout, r.stderr

    con_file = tmp_path / "consistency.json"
    con = _fetch(
        live,
        "/api/v1/public/audit/proof/consistency",
        {"first": old["size"], "second": new["size"]},
        con_file,
    )
    assert set(con) == {"kind", "algorithm", "first", "second", "first_root", "second_root",
                        "proof"}  # fmt: skip
    assert con["first_root"] == old["root"] and con["second_root"] == new["root"]
    r = _offline("check-proof", str(con_file), "--checkpoint", str(old_file),
                 "--checkpoint", str(new_file))  # fmt: skip
    assert r.returncode == 0 and "extends the signed tree" in r.stdout, r.stderr
    # only one of the two checkpoints: the other root is not taken from the proof
    r = _offline("check-proof", str(con_file), "--checkpoint", str(new_file))
    assert r.returncode == 1 and f"checkpoint of size {old['size']}" in r.stderr, r.stderr
    # the same answers from the local database
    r = live.cli("audit", "prove", "--seq", "2", "--size", str(old["size"]))
    assert r.returncode == 0 and json.loads(r.stdout) == inc, r.stderr
    r = live.cli("audit", "prove", "--first", str(old["size"]), "--size", str(new["size"]))
    assert r.returncode == 0 and json.loads(r.stdout) == con, r.stderr
    r = live.cli("audit", "verify", "--checkpoint", str(new_file))
    assert r.returncode == 0 and "Merkle root" in r.stdout, r.stderr

    # parameters a person got wrong: 422 naming the field and what to ask instead
    with live.client() as c:
        for path, params, field in (
            ("inclusion", {"seq": 1, "size": 0}, "size"),
            ("inclusion", {"seq": old["size"] + 1, "size": old["size"]}, "seq"),
            ("inclusion", {"seq": 1, "size": 10**9}, "size"),
            ("consistency", {"first": new["size"], "second": old["size"]}, "first"),
            ("consistency", {"first": 0}, "first"),
        ):
            r = c.get(f"/api/v1/public/audit/proof/{path}", params=params)
            assert r.status_code == 422, (path, params, r.text)
            assert r.json()["field"] == field and field in r.json()["message"], r.text

    # rewrite entry 2 and recompute every later hash: the chain alone is intact again
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            rows = conn.execute(
                text(
                    "SELECT seq, at, actor, actor_org_id, action, object_type, object_id, data, "
                    "prev_hash FROM audit_events WHERE seq >= 2 ORDER BY seq"
                )
            ).all()
            prev = rows[0].prev_hash
            for row in rows:
                data = json.loads(row.data) if isinstance(row.data, str) else dict(row.data)
                if row.seq == 2:
                    data["rewritten"] = True
                at = datetime.fromisoformat(row.at) if isinstance(row.at, str) else row.at
                at = at if at.tzinfo else at.replace(tzinfo=UTC)
                h = entry_hash(
                    prev_hash=prev, seq=row.seq, at=at, actor=row.actor,
                    actor_org_id=row.actor_org_id, action=row.action,
                    object_type=row.object_type, object_id=row.object_id, data=data,
                )  # fmt: skip
                conn.execute(
                    text("UPDATE audit_events SET data = :d, prev_hash = :p, hash = :h "
                         "WHERE seq = :s"),
                    {"d": json.dumps(data), "p": prev, "h": h, "s": row.seq},
                )  # fmt: skip
                prev = h
    finally:
        engine.dispose()
    assert live.cli("audit", "verify").returncode == 0  # nothing inside the database shows it

    # the server's proofs now are of the rewritten chain: they hold against no kept checkpoint
    forged_inc = _fetch(
        live, "/api/v1/public/audit/proof/inclusion", {"seq": 2, "size": old["size"]}, inc_file
    )
    assert forged_inc["entry_hash"] != inc["entry_hash"]
    r = _offline("check-proof", str(inc_file), "--checkpoint", str(old_file))
    assert r.returncode == 1 and "does not hold" in r.stderr, r.stderr
    _fetch(
        live,
        "/api/v1/public/audit/proof/consistency",
        {"first": old["size"], "second": new["size"]},
        con_file,
    )
    r = _offline("check-proof", str(con_file), "--checkpoint", str(old_file),
                 "--checkpoint", str(new_file))  # fmt: skip
    assert r.returncode == 1 and "does not hold" in r.stderr, r.stderr
    # and the kept checkpoint, checked against the chain, names the rewrite
    r = live.cli("audit", "verify", "--checkpoint", str(old_file))
    assert r.returncode == 1 and "rewritten" in r.stderr, r.stderr
