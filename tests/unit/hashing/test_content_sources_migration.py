"""Migration 0205: provenance in fields, backfilled from what content already says, up and
down on each backend, in a database of its own (the shared test database is never migrated
down)."""

from __future__ import annotations

import sqlalchemy as sa
from tests.unit.hashing.migration_rows import insert_regulator_bank

from tangkal.db.migrate import downgrade, upgrade
from tangkal.db.session import Database


def test_sources_backfilled_up_and_dropped_down(unmigrated_db: Database) -> None:
    db = unmigrated_db
    upgrade(db, "0204_hashing_threshold_rules")
    with db.engine.begin() as conn:
        insert_regulator_bank(conn)
        for i, (ref, order) in enumerate(
            [(None, None), ("import:csv", None), ("tat:77", None), ("a.png", "ord-1")], 1
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO hash_bank_content (id, bank_id, signal_type, signal,"
                    " signal_digest, source_ref, order_id, added_by, created_at)"
                    " VALUES (:i, 'b1', 'md5', :s, :d, :r, :o, 'x', '2026-12-01')"
                ),
                {"i": i, "s": f"{i:032x}", "d": f"{i:064x}", "r": ref, "o": order},
            )
    upgrade(db)
    with db.engine.connect() as conn:
        got = conn.execute(
            sa.text(
                "SELECT content_id, kind, file_format, order_id FROM hash_content_sources"
                " ORDER BY content_id"
            )
        ).all()
    assert [tuple(r) for r in got] == [
        (1, "upload", None, None),
        (2, "file", "csv", None),
        (3, "file", "tat", None),
        (4, "order", None, "ord-1"),
    ]
    downgrade(db, "0204_hashing_threshold_rules")
    assert "hash_content_sources" not in sa.inspect(db.engine).get_table_names()
