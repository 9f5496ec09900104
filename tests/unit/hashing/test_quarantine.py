"""The quarantine on the database, time injected: counts from this process and others, the
hold written at once, a held allow-list entry suppressing nothing, release and removal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import Factory
from tests.support import statements_sent

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


def _lookup(db: Database, owner, idx: BankIndexes, held: list[dict[str, object]]) -> list[str]:
    """One matching lookup of ``PDQ`` in its own unit of work; the statements it sent."""
    with statements_sent(db.engine) as seen, db.unit_of_work() as s:
        matching.match(s, owner, idx, [matching.Query("pdq", PDQ)], held=held)
    return list(seen)


def test_a_matching_lookup_reads_the_hold_state_in_the_statement_loading_the_contents(
    db: Database, factory: Factory, tmp_path, monkeypatch
) -> None:
    owner = factory.principal(factory.regulator(), "analyst")
    with db.unit_of_work() as s:
        banks.create_bank(s, owner, "q-bank")
        add_signal(s, owner, "q-bank", "pdq", PDQ)
    idx = BankIndexes(db, tmp_path)
    quarantine._pending.clear()
    _lookup(db, owner, idx, [])  # the index loaded, the rate row written
    monkeypatch.setattr(quarantine, "FLUSH_EVERY", 1e9)  # no batch due: the usual lookup
    counted = _lookup(db, owner, idx, [])
    with monkeypatch.context() as m:  # no quarantine at all, for comparison
        m.setattr(quarantine, "screen", lambda *a, **kw: {})
        m.setattr(quarantine, "with_rates", lambda stmt: stmt)
        bare = _lookup(db, owner, idx, [])
    assert len(counted) == len(bare)
    reads = [st for st in counted if "hash_match_rates" in st]
    assert len(reads) == 1 and "hash_bank_content" in reads[0]
    assert "LEFT OUTER JOIN hash_match_rates" in reads[0]


def test_the_lookup_writing_the_batch_decides_on_the_count_it_wrote(
    db: Database, factory: Factory, tmp_path, monkeypatch
) -> None:
    # the contents (and their rate rows) are read before this lookup writes its process's
    # batch; the decision must include the batch, or a hold would wait a lookup too long
    owner = factory.principal(factory.regulator(), "analyst")
    floor = quarantine.rule().min_matches
    with db.unit_of_work() as s:
        banks.create_bank(s, owner, "q-bank")
        add_signal(s, owner, "q-bank", "pdq", PDQ)
    idx = BankIndexes(db, tmp_path)
    quarantine._pending.clear()
    monkeypatch.setattr(quarantine, "FLUSH_EVERY", 0.0)  # every lookup writes its batch
    held: list[dict[str, object]] = []
    for _ in range(floor):
        _lookup(db, owner, idx, held)
    assert held == []
    _lookup(db, owner, idx, held)
    assert [h["recent"] for h in held] == [floor + 1]
    assert quarantine._pending == {}
