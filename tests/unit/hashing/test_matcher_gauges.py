"""``tangkal_match_index_signals`` is set by :meth:`BankIndexes.sync` on its first sync and
when a sync applied changes, not on every sync (every match request syncs)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from tangkal.db.session import Database
from tangkal.hashing.matcher import INDEX_SIGNALS, BankIndexes
from tangkal.hashing.models import HashChange

PDQ = "f" * 64


def _shown() -> float | None:
    return REGISTRY.get_sample_value("tangkal_match_index_signals", {"signal_type": "pdq"})


def test_index_size_gauges_are_set_on_the_first_sync_and_on_change(
    db: Database, tmp_path: Path
) -> None:
    INDEX_SIGNALS.labels("pdq").set(-1)  # a marker: any set() of the gauge replaces it
    indexes = BankIndexes(db, tmp_path)
    assert indexes.sync() == 0
    assert _shown() == 0  # the first sync sets it, though nothing changed
    INDEX_SIGNALS.labels("pdq").set(-1)
    assert indexes.sync() == 0
    assert _shown() == -1  # nothing changed: not set again
    with db.unit_of_work() as s:
        s.add(HashChange(content_id=1, op="add", signal_type="pdq", signal=PDQ))
    assert indexes.sync() == 1
    assert _shown() == 1
