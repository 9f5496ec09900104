"""The journal: serials grow per committed change set, no-ops spend no serial, history kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tangkal.db.session import Database
from tangkal.errors import InvalidInput
from tangkal.rpz.journal import (
    RpzAction,
    ZoneChange,
    changesets_after,
    current_serial,
    publish,
    seq_for_serial,
)
from tangkal.rpz.models import RpzEntry
from tangkal.rpz.values import serial_lt, serial_next


def entries(db: Database) -> dict[str, RpzAction]:
    with db.read_only() as s:
        return dict(s.execute(select(RpzEntry.name, RpzEntry.action)).all())


def test_each_change_set_gets_the_next_serial_and_is_journalled(db: Database) -> None:
    with db.unit_of_work() as s:
        first = publish(
            s,
            [ZoneChange("t.me", RpzAction.NXDOMAIN), ZoneChange("telegram.org", RpzAction.LANDING)],
            reason="order 1",
        )
    with db.unit_of_work() as s:
        second = publish(s, [ZoneChange("t.me", None)])
    assert second == serial_next(first)
    with db.read_only() as s:
        assert current_serial(s) == second
        sets = changesets_after(s, 0)
    assert [c.serial for c in sets] == [first, second]
    assert [(c.name, c.old, c.new) for c in sets[1].changes] == [("t.me", RpzAction.NXDOMAIN, None)]
    assert entries(db) == {"telegram.org": RpzAction.LANDING}


def test_a_change_set_that_changes_nothing_spends_no_serial(db: Database) -> None:
    with db.unit_of_work() as s:
        serial = publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
    with db.unit_of_work() as s:
        assert (
            publish(
                s, [ZoneChange("t.me", RpzAction.NXDOMAIN), ZoneChange("not-listed.example", None)]
            )
            == serial
        )
        assert publish(s, []) == serial
    with db.read_only() as s:
        assert len(changesets_after(s, 0)) == 1


def test_a_rolled_back_unit_of_work_leaves_neither_entry_nor_serial(db: Database) -> None:
    with db.unit_of_work() as s:
        serial = publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        publish(s, [ZoneChange("web.telegram.org", RpzAction.NXDOMAIN)])
        raise RuntimeError("the block failed after the zone change")
    with db.read_only() as s:
        assert current_serial(s) == serial
    assert entries(db) == {"t.me": RpzAction.NXDOMAIN}


def test_changing_an_action_is_journalled_with_the_old_action(db: Database) -> None:
    with db.unit_of_work() as s:
        publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
    with db.unit_of_work() as s:
        serial = publish(s, [ZoneChange("t.me", RpzAction.LANDING)])
    with db.read_only() as s:
        seq = seq_for_serial(s, serial)
        assert seq is not None
        (cs,) = changesets_after(s, seq - 1)
    assert cs.changes[0].old == RpzAction.NXDOMAIN and cs.changes[0].new == RpzAction.LANDING
    assert entries(db) == {"t.me": RpzAction.LANDING}


@pytest.mark.parametrize(
    "bad", ["", "T.ME", "t.me.", "tld", "bücher.de", "a..b", "-a.com", "x" * 64 + ".com", "a b.com"]
)
def test_non_canonical_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        ZoneChange(bad, RpzAction.NXDOMAIN)


def test_the_same_name_twice_with_different_actions_is_refused(db: Database) -> None:
    with pytest.raises(InvalidInput), db.unit_of_work() as s:
        publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN), ZoneChange("t.me", None)])


def test_serial_arithmetic_follows_rfc_1982_across_the_wrap() -> None:
    assert serial_next(2**32 - 1) == 1
    assert serial_lt(2**32 - 5, 3)
    assert not serial_lt(3, 2**32 - 5)
    assert serial_lt(1, 2)


def test_pruning_keeps_at_least_30_days_and_drops_older_change_sets(db: Database) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from tangkal.db.base import utcnow
    from tangkal.rpz.journal import prune_journal
    from tangkal.rpz.models import RpzChangeSet

    with db.unit_of_work() as s:
        publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
    with db.unit_of_work() as s:
        publish(s, [ZoneChange("telegram.org", RpzAction.NXDOMAIN)])
    with db.unit_of_work() as s:
        s.execute(
            update(RpzChangeSet)
            .where(RpzChangeSet.seq == 1)
            .values(committed_at=utcnow() - timedelta(days=100))
        )
    with pytest.raises(InvalidInput), db.unit_of_work() as s:
        prune_journal(s, keep_days=7)
    with db.unit_of_work() as s:
        assert prune_journal(s, keep_days=90) == 1
    with db.read_only() as s:
        assert [c.seq for c in changesets_after(s, 0)] == [2]
    assert entries(db) == {"t.me": RpzAction.NXDOMAIN, "telegram.org": RpzAction.NXDOMAIN}
