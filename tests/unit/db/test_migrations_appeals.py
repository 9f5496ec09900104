"""0112_blocklist_appeals keeps the appeals already received, on SQLite and PostgreSQL: their
status, a decision deadline (receipt + 14 days), the regulator of the block they contest;
and its downgrade keeps them too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tangkal.db.migrate import downgrade, upgrade
from tangkal.db.session import Database

RECEIVED = datetime(2017, 7, 15, 9, 30, tzinfo=UTC)


def _old_rows(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO block_entries (id, domain, rname, action, status, legal_basis, "
                "reason, requested_by, requested_by_key, requested_by_org_id, requested_at, "
                "needs_second_approval, effective_at, previous_blocks, assessment) VALUES "
                "('b1', 't.me', 'me.t', 'landing', 'active', 'UU 1/2024', 'propaganda', "
                "'kominfo/pejabat', 'user:1', 'org-kominfo', :at, false, :at, 0, '{}')"
            ),
            {"at": RECEIVED},
        )
        conn.execute(
            sa.text(
                "INSERT INTO block_appeals (id, reference, domain, block_id, contact_email, "
                "statement, status, created_at) VALUES ('a1', 'AP-0123456789', 't.me', 'b1', "
                "'warga@contoh.co.id', 'Saya memakai Telegram untuk kerja.', 'received', :at)"
            ),
            {"at": RECEIVED},
        )


def _appeal(db: Database) -> dict[str, object]:
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM block_appeals WHERE id = 'a1'")).mappings()
        return dict(row.one())


def _aware(value: object) -> datetime:
    if isinstance(value, str):  # SQLite's raw text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_existing_appeals_are_kept_with_a_deadline_and_their_regulator(
    unmigrated_db: Database,
) -> None:
    db = unmigrated_db
    upgrade(db, "0111_blocklist_sanction")
    _old_rows(db)
    upgrade(db, "0112_blocklist_appeals")
    row = _appeal(db)
    assert row["status"] == "received" and str(row["statement"]).startswith("Saya")
    assert _aware(row["decide_by"]) == RECEIVED + timedelta(days=14)
    assert row["regulator_org_id"] == "org-kominfo"
    assert row["follow_up_hash"] is None and row["decided_at"] is None
    # the status is checked by the database now
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE block_appeals SET status = 'lost' WHERE id = 'a1'"))

    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE block_appeals SET status = 'upheld' WHERE id = 'a1'"))
    downgrade(db, "0111_blocklist_sanction")
    row = _appeal(db)
    assert row["status"] == "upheld" and "decide_by" not in row
    upgrade(db, "heads")
    assert _appeal(db)["status"] == "upheld"
