"""Migration 0202: signals of any length (vPDQ videos), unique by their digest, up and down on
each backend, in a database of its own (the shared test database is never migrated down)."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa
from tests.unit.hashing.migration_rows import insert_regulator_bank

from tangkal.db.migrate import downgrade, upgrade
from tangkal.db.session import Database

LONG = json.dumps([f"{i:064x},100,{i:.3f}" for i in range(400)])  # 400 frames, about 30 KB


def _insert(conn: sa.Connection, signal_type: str, signal: str, digest: bool) -> None:
    cols = "bank_id, signal_type, signal, added_by, created_at"
    vals = "'b1', :t, :s, 'x', '2026-12-01'"
    params = {"t": signal_type, "s": signal}
    if digest:
        cols += ", signal_digest"
        vals += ", :d"
        params["d"] = hashlib.sha256(signal.encode()).hexdigest()
    conn.execute(sa.text(f"INSERT INTO hash_bank_content ({cols}) VALUES ({vals})"), params)


def test_long_signals_and_digests_up_and_down(unmigrated_db: Database) -> None:
    db = unmigrated_db
    upgrade(db, "0201_hashing_thresholds")
    with db.engine.begin() as conn:
        insert_regulator_bank(conn)
        _insert(conn, "md5", "a" * 32, digest=False)
    upgrade(db)
    with db.engine.begin() as conn:
        digest = conn.execute(sa.text("SELECT signal_digest FROM hash_bank_content")).scalar()
        assert digest == hashlib.sha256(b"a" * 32).hexdigest()
        _insert(conn, "vpdq", LONG, digest=True)  # past VARCHAR(1024) and a B-tree entry
        conn.execute(
            sa.text(
                "INSERT INTO hash_changes (content_id, op, signal_type, signal, at)"
                " VALUES (2, 'add', 'vpdq', :s, '2026-12-01')"
            ),
            {"s": LONG},
        )
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        _insert(conn, "vpdq", LONG, digest=True)  # unique by digest
    downgrade(db, "0201_hashing_thresholds")
    with db.engine.connect() as conn:
        rows = list(conn.execute(sa.text("SELECT signal_type, signal FROM hash_bank_content")))
        columns = {c["name"] for c in sa.inspect(conn).get_columns("hash_bank_content")}
        changes = conn.execute(sa.text("SELECT count(*) FROM hash_changes")).scalar()
    assert rows == [("md5", "a" * 32)]  # what fits the old column is kept
    assert "signal_digest" not in columns
    assert changes == 0
    upgrade(db)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM hash_bank_content")).scalar() == 1
