"""Events are chained at commit, inside the caller's transaction, and follow its fate."""

from __future__ import annotations

from tangkal.accounts.principal import SYSTEM
from tangkal.audit.services import events_for, record, verify
from tangkal.db.session import Database


def _actions(db: Database) -> list[str]:
    with db.read_only() as s:
        assert verify(s).ok
        return [e.action for e in events_for(s, "thing", "1")]


def test_events_are_written_in_the_order_recorded_when_the_unit_commits(db: Database) -> None:
    with db.unit_of_work() as s:
        record(s, SYSTEM, "a.first", "thing", "1")
        record(s, SYSTEM, "a.second", "thing", "1")
    with db.unit_of_work() as s:
        record(s, SYSTEM, "a.third", "thing", "1")
    assert _actions(db) == ["a.first", "a.second", "a.third"]


def test_a_unit_of_work_reads_its_own_events_before_commit(db: Database) -> None:
    with db.unit_of_work() as s:
        record(s, SYSTEM, "a.first", "thing", "1")
        assert [e.action for e in events_for(s, "thing", "1")] == ["a.first"]
        record(s, SYSTEM, "a.second", "thing", "1")
    assert _actions(db) == ["a.first", "a.second"]


def test_a_rolled_back_savepoint_discards_only_the_events_recorded_inside_it(db: Database) -> None:
    with db.unit_of_work() as s:
        record(s, SYSTEM, "a.before", "thing", "1")
        try:
            with s.begin_nested():
                record(s, SYSTEM, "a.inside_failed", "thing", "1")
                raise ValueError("refused")
        except ValueError:
            pass
        with s.begin_nested():
            record(s, SYSTEM, "a.inside_released", "thing", "1")
        record(s, SYSTEM, "a.after", "thing", "1")
    assert _actions(db) == ["a.before", "a.inside_released", "a.after"]


def test_a_failed_unit_of_work_leaves_nothing_staged_for_the_next(db: Database) -> None:
    session_factory = db.sessions
    s = session_factory()
    try:
        record(s, SYSTEM, "a.lost", "thing", "1")
        s.rollback()
        record(s, SYSTEM, "a.kept", "thing", "1")
        s.commit()
    finally:
        s.close()
    assert _actions(db) == ["a.kept"]
