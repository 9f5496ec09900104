"""The process's in-memory view of every bank: one index per registered signal type (the
class the type names, :attr:`~tangkal.hashing.signals.SignalType.index_cls`), kept in step with
the database by replaying the ``hash_changes`` log.

The database is the record; the indexes are a cache of it that answers near-neighbour
questions a database cannot. Exact types (their index is a
:class:`~tangkal.hashing.signal_index.ColumnLookup`) need no cache: they are looked up by their
indexed column. On start each index is loaded from its file in the data directory (written
atomically after changes, so a restart does not rehash or rebuild), then the log is replayed
from the files' position; when any type's file is missing or unusable (a type added since, a
file of another database) every index is rebuilt from the log, so they never disagree.

Commit order is not sequence order on PostgreSQL (a transaction may take seq 10 and commit
after seq 11), so the replay remembers recent gaps and re-reads them until they are filled
or old enough to be rolled-back sequence values.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tangkal.db.session import Database
from tangkal.hashing import signals
from tangkal.hashing.models import HashChange
from tangkal.hashing.signal_index import SignalIndex

GAP_PATIENCE = 30.0  # seconds a missing sequence number is waited for
SAVE_EVERY = 5000  # changes between saves of the index files

#: Each worker holds its own copy of the indexes, kept in step from the change log; the most
#: recently changed copy of a live worker is the one to show ("livemostrecent").
INDEX_SIGNALS = Gauge(
    "tangkal_match_index_signals",
    "Signals in the in-memory match index, by signal type",
    ["signal_type"],
    multiprocess_mode="livemostrecent",
)


class BankIndexes:
    """An index per registered signal type for one database, shared by every request of a
    process."""

    def __init__(
        self, db: Database, data_dir: Path, registry: signals.SignalRegistry | None = None
    ) -> None:
        self.db = db
        self.dir = data_dir / "hash-index"
        self.registry = registry or signals.REGISTRY
        self.indexes: dict[str, SignalIndex] = self._empty()
        self.applied_seq = 0
        self._gaps: dict[int, float] = {}  # missing seq -> first seen missing
        self._since_save = 0
        self._lock = threading.Lock()
        self._last_sync = 0.0
        self._gauged = False  # the index-size gauges were set once
        self._load()

    def _empty(self) -> dict[str, SignalIndex]:
        return {st.name: st.new_index() for st in self.registry}

    def index(self, signal_type: str) -> SignalIndex:
        """The index of one registered type."""
        return self.indexes[self.registry.get(signal_type).name]

    # persistence ------------------------------------------------------------------------
    def _meta_path(self) -> Path:
        return self.dir / "meta.json"

    def _file(self, name: str) -> Path:
        return self.dir / f"{name}.idx"

    def _load(self) -> None:
        meta = self._meta_path()
        if not meta.exists():
            return
        try:
            info = json.loads(meta.read_text())
            with self.db.read_only() as s:
                top = int(s.scalar(select(func.max(HashChange.seq))) or 0)
            if info.get("database") != self.db.url or int(info["applied_seq"]) > top:
                return  # a file of another database, or of a database that was reset
            loaded = {
                st.name: st.index_cls.load(self._file(st.name))
                for st in self.registry
                if not st.index_cls.in_database
            }
            self.indexes = {**self._empty(), **loaded}
            self.applied_seq = int(info["applied_seq"])
            self._gaps = {int(g): time.monotonic() for g in info.get("gaps", [])}
        except Exception:  # any unusable file: rebuild every index from the log
            self.indexes, self.applied_seq, self._gaps = self._empty(), 0, {}

    def save(self) -> None:
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            for name, index in self.indexes.items():
                if not index.in_database:
                    index.save(self._file(name))
            tmp = self._meta_path().with_suffix(".tmp")
            tmp.write_text(
                json.dumps(
                    {
                        "database": self.db.url,
                        "applied_seq": self.applied_seq,
                        "gaps": sorted(self._gaps),
                    }
                )
            )
            tmp.replace(self._meta_path())
            self._since_save = 0

    # replay -----------------------------------------------------------------------------
    def sync(self, session: Session | None = None, *, max_age: float = 0.0) -> int:
        """Apply committed changes not yet seen; returns how many were applied.

        The log is read *without* holding the index lock: on SQLite a reader may wait for the
        writer, and the writer may be a request that is itself waiting to sync. Applying is
        idempotent (already-applied sequence numbers are skipped), so two concurrent syncs are
        harmless.
        """
        if max_age and time.monotonic() - self._last_sync < max_age:
            return 0
        with self._lock:
            low = min([self.applied_seq, *self._gaps]) if self._gaps else self.applied_seq
        if session is not None:
            rows = self._fetch(session, low)
        else:
            with self.db.read_only() as s:
                rows = self._fetch(s, low)
        with self._lock:
            applied = self._apply(rows)
            self._last_sync = time.monotonic()
            if applied or not self._gauged:  # not on every match request: only on change
                self._gauged = True
                for name, index in self.indexes.items():
                    INDEX_SIGNALS.labels(name).set(len(index))
        if self._since_save >= SAVE_EVERY:
            self.save()
        return applied

    @staticmethod
    def _fetch(session: Session, low: int) -> list[Any]:
        return list(
            session.execute(
                select(
                    HashChange.seq,
                    HashChange.content_id,
                    HashChange.op,
                    HashChange.signal_type,
                    HashChange.signal,
                )
                .where(HashChange.seq > low)
                .order_by(HashChange.seq)
                .limit(100_000)
            ).all()
        )

    def _apply(self, rows: list[Any]) -> int:
        """Apply log rows in order, batching consecutive additions of one type (the PDQ index
        adds a batch far faster than one row at a time)."""
        now = time.monotonic()
        pending: tuple[str, list[tuple[str, int]]] | None = None
        count = 0

        def flush() -> None:
            nonlocal pending
            if pending is not None:
                self.indexes[pending[0]].add(pending[1])
                pending = None

        for seq, cid, op, stype, signal in rows:
            if seq <= self.applied_seq and seq not in self._gaps:
                continue
            self._gaps.pop(seq, None)
            for missing in range(self.applied_seq + 1, seq):
                self._gaps.setdefault(missing, now)
            self.applied_seq = max(self.applied_seq, seq)
            count += 1
            index = self.indexes.get(stype)
            if index is None or index.in_database:
                continue  # answered by the database column, or a type no longer registered
            if op == "add":
                if pending is not None and pending[0] != stype:
                    flush()
                if pending is None:
                    pending = (stype, [])
                pending[1].append((signal, cid))
            else:
                flush()
                index.remove([cid])
        flush()
        for seq, seen in list(self._gaps.items()):
            if now - seen > GAP_PATIENCE:
                del self._gaps[seq]
        self._since_save += count
        return count

    def stats(self) -> dict[str, Any]:
        return {
            **{name: index.stats() for name, index in self.indexes.items()},
            "applied_seq": self.applied_seq,
            "gaps": len(self._gaps),
        }


_instances: dict[str, BankIndexes] = {}
_instances_lock = threading.Lock()


def indexes_for(db: Database, data_dir: Path) -> BankIndexes:
    key = f"{db.url}|{data_dir.resolve()}"
    with _instances_lock:
        inst = _instances.get(key)
        if inst is None:
            inst = _instances[key] = BankIndexes(db, data_dir)
        return inst


def forget_indexes() -> None:
    with _instances_lock:
        _instances.clear()
