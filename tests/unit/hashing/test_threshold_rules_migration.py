"""Migration 0204: a bank's thresholds gain their name; existing rows become each type's first
threshold (vPDQ's unmatched share becomes its query share), a second rule of a type can be
stored, and downgrade keeps the first rules with their old values. Both backends, each in a
database of its own (the shared test database is never migrated down)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from tests import support
from tests.conftest import BACKENDS

from tangkal.db.migrate import alembic_config, upgrade
from tangkal.db.session import Database


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'm.db'}")
        yield db
        db.dispose()
    else:
        url = support.create_pg_database()
        db = Database(url)
        yield db
        db.dispose()
        support.drop_pg_database(url)


def _rows(db: Database) -> set[tuple[str, ...]]:
    with db.engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns("hash_bank_thresholds")}
        name = "name" if "name" in cols else "'-'"
        return set(
            conn.execute(
                sa.text(f"SELECT bank_id, signal_type, {name}, threshold FROM hash_bank_thresholds")
            )
        )


def test_threshold_rows_gain_their_name_and_come_back(fresh: Database) -> None:
    db = fresh
    upgrade(db, "0203_hashing_order_copies")
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO organizations (id, kind, name, display_name, delivery_channel,"
                " created_at) VALUES ('o1', 'regulator', 'r', 'R', 'pull', '2026-12-01')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO hash_banks (id, name, owner_org_id, kind, shared, enabled,"
                " allowlist, created_by, created_at)"
                " VALUES ('b1', 'b1', 'o1', 'own', true, true, false, 'x', '2026-12-01')"
            )
        )
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
    command.downgrade(alembic_config(db), "0203_hashing_order_copies")
    assert _rows(db) == {
        ("b1", "pdq", "-", 12),
        ("b1", "text_near", "-", 30),
        ("b1", "vpdq", "-", 25),
    }
    upgrade(db)
    assert ("b1", "vpdq", "query_share", 75) in _rows(db)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM hash_banks")).scalar() == 1
