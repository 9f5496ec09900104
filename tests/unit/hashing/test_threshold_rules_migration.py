"""Migration 0204: a bank's thresholds gain their name; existing rows become each type's first
threshold (vPDQ's unmatched share becomes its query share), a second rule of a type can be
stored, and downgrade keeps the first rules with their old values. Both backends, each in a
database of its own (the shared test database is never migrated down)."""

from __future__ import annotations

import sqlalchemy as sa
from tests.unit.hashing.migration_rows import insert_regulator_bank

from tangkal.db.migrate import downgrade, upgrade
from tangkal.db.session import Database


def _rows(db: Database) -> set[tuple[str, ...]]:
    with db.engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns("hash_bank_thresholds")}
        name = "name" if "name" in cols else "'-'"
        return set(
            conn.execute(
                sa.text(f"SELECT bank_id, signal_type, {name}, threshold FROM hash_bank_thresholds")
            )
        )


def test_threshold_rows_gain_their_name_and_come_back(unmigrated_db: Database) -> None:
    db = unmigrated_db
    upgrade(db, "0203_hashing_order_copies")
    with db.engine.begin() as conn:
        insert_regulator_bank(conn)
        for signal_type, value in (("pdq", 12), ("text_near", 30), ("vpdq", 25)):
            conn.execute(
                sa.text(
                    "INSERT INTO hash_bank_thresholds (bank_id, signal_type, threshold)"
                    " VALUES ('b1', :t, :v)"
                ),
                {"t": signal_type, "v": value},
            )
    upgrade(db)
    assert _rows(db) == {
        ("b1", "pdq", "distance", 12),
        ("b1", "text_near", "distance", 30),
        ("b1", "vpdq", "query_share", 75),  # 25% unmatched allowed = a query match of 75%
    }
    with db.engine.begin() as conn:  # a second rule of the same type is a row of its own
        conn.execute(
            sa.text(
                "INSERT INTO hash_bank_thresholds (bank_id, signal_type, name, threshold)"
                " VALUES ('b1', 'vpdq', 'banked_share', 50)"
            )
        )
    downgrade(db, "0203_hashing_order_copies")
    assert _rows(db) == {
        ("b1", "pdq", "-", 12),
        ("b1", "text_near", "-", 30),
        ("b1", "vpdq", "-", 25),
    }
    upgrade(db)
    assert ("b1", "vpdq", "query_share", 75) in _rows(db)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM hash_banks")).scalar() == 1
