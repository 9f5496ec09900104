"""Migration 0201: the per-type threshold columns of ``hash_banks`` become rows of
``hash_bank_thresholds`` with their values, and come back on downgrade.

SQLite only: it migrates a database of its own down and up, which the shared PostgreSQL
test database must not be (the schema test covers PostgreSQL's upgraded shape)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tangkal.db.migrate import upgrade
from tangkal.db.session import Database


def test_thresholds_move_to_their_table_and_back(tmp_path: Path) -> None:
    from alembic import command

    from tangkal.db.migrate import alembic_config

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade(db, "0200_hashing")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO organizations (id, kind, name, display_name, delivery_channel,"
                    " created_at) VALUES ('o1', 'regulator', 'r', 'R', 'pull', '2026-12-01')"
                )
            )
            for bank, pdq, text in (("b1", 31, 20), ("b2", 12, 38)):
                conn.execute(
                    sa.text(
                        "INSERT INTO hash_banks (id, name, owner_org_id, kind, shared, enabled,"
                        " allowlist, pdq_threshold, text_threshold, created_by, created_at)"
                        " VALUES (:id, :id, 'o1', 'own', 1, 1, 0, :pdq, :text, 'x',"
                        " '2026-12-01')"
                    ),
                    {"id": bank, "pdq": pdq, "text": text},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO hash_bank_content (bank_id, signal_type, signal, added_by,"
                    " created_at) VALUES ('b1', 'md5', :sig, 'x', '2026-12-01')"
                ),
                {"sig": "a" * 32},
            )
        upgrade(db)
        with db.engine.connect() as conn:
            rows = set(
                conn.execute(
                    sa.text("SELECT bank_id, signal_type, threshold FROM hash_bank_thresholds")
                )
            )
            columns = {c["name"] for c in sa.inspect(conn).get_columns("hash_banks")}
            content = conn.execute(sa.text("SELECT count(*) FROM hash_bank_content")).scalar()
        assert content == 1  # the banks' content survives (no table copy, no cascade)
        assert rows == {
            ("b1", "pdq", 31),
            ("b1", "text_near", 20),
            ("b2", "pdq", 12),
            ("b2", "text_near", 38),
        }
        assert not {"pdq_threshold", "text_threshold"} & columns
        command.downgrade(alembic_config(db), "0200_hashing")
        with db.engine.connect() as conn:
            back = set(
                conn.execute(sa.text("SELECT id, pdq_threshold, text_threshold FROM hash_banks"))
            )
        assert back == {("b1", 31, 20), ("b2", 12, 38)}
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM hash_bank_content")).scalar() == 1
    finally:
        db.dispose()
