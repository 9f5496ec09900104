"""The audit chain detects an altered or a missing entry and names the first bad one."""

from __future__ import annotations

from sqlalchemy import delete, update

from tangkal.accounts.principal import SYSTEM
from tangkal.audit.models import AuditEvent
from tangkal.audit.services import record, verify
from tangkal.db.session import Database


def _fill(db: Database, n: int) -> None:
    with db.unit_of_work() as s:
        for i in range(n):
            record(s, SYSTEM, "test.event", "thing", str(i), {"i": i, "note": "ä ✓"})


def test_intact_chain_verifies(db: Database) -> None:
    _fill(db, 5)
    with db.read_only() as s:
        result = verify(s)
    assert result.ok and result.checked == 5


def test_altered_entry_is_named(db: Database) -> None:
    _fill(db, 5)
    with db.unit_of_work() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(data={"i": 99}))
    with db.read_only() as s:
        result = verify(s)
    assert not result.ok and result.first_bad_seq == 3 and "altered" in (result.problem or "")


def test_missing_entry_is_named(db: Database) -> None:
    _fill(db, 5)
    with db.unit_of_work() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    with db.read_only() as s:
        result = verify(s)
    assert not result.ok and result.first_bad_seq == 2 and "missing" in (result.problem or "")


def test_rolled_back_unit_leaves_no_event(db: Database) -> None:
    try:
        with db.unit_of_work() as s:
            record(s, SYSTEM, "test.event", "thing", "x")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.read_only() as s:
        assert verify(s).checked == 0
