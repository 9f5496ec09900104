"""The quarantine on the database, time injected: counts from this process and others, the
hold written at once, a held allow-list entry suppressing nothing, release and removal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import Factory

from tangkal.db.session import Database
from tangkal.hashing import banks, matching, quarantine
from tangkal.hashing.content import add_signal, list_content
from tangkal.hashing.matcher import BankIndexes
from tangkal.hashing.models import BankContent

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_counts_of_other_processes_and_the_hold(db: Database, factory: Factory, tmp_path) -> None:
    owner = factory.principal(factory.regulator(), "analyst")
    floor = quarantine.rule().min_matches
    with db.unit_of_work() as s:
        banks.create_bank(s, owner, "q-bank")
        cid = add_signal(s, owner, "q-bank", "pdq", PDQ).added[0].id
    quarantine._pending.clear()
    for i in range(floor):  # half written by "another process", half only counted here
        with db.unit_of_work() as s:
            c = s.get(BankContent, cid)
            at = T0 + timedelta(seconds=i)
            assert quarantine.screen(s, {cid: c}, now=at, flush=i < floor // 2) == {}
    with db.unit_of_work() as s:
        held = quarantine.screen(s, {cid: s.get(BankContent, cid)}, now=T0 + timedelta(minutes=1))
    assert held[cid].recent == floor + 1 and held[cid].limit == floor
    quarantine._pending.clear()  # a fresh process still sees the hold
    idx = BankIndexes(db, tmp_path)
    with db.unit_of_work() as s:
        found: list[dict[str, object]] = []
        assert matching.match(s, owner, idx, [matching.Query("pdq", PDQ)], held=found) == []
        assert [h["content_id"] for h in found] == [cid]
        assert [q["content_id"] for q in quarantine.queue(s, owner, "q-bank")] == [cid]
    with db.unit_of_work() as s:
        quarantine.remove_held(s, owner, "q-bank", cid)
    with db.unit_of_work() as s:
        assert list_content(s, owner, "q-bank") == []
        assert quarantine.queue(s, owner, "q-bank") == []
