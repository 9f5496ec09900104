"""Rows the hashing migration tests write with plain SQL before they upgrade: a regulator
``o1`` and its bank ``b1``, in the columns every hashing revision from 0201 on has (the
models cannot write them: they describe the newest schema, not the one being migrated)."""

from __future__ import annotations

import sqlalchemy as sa


def insert_regulator_bank(conn: sa.Connection) -> None:
    """The regulator ``o1`` and its own shared bank ``b1`` (id and name alike)."""
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
