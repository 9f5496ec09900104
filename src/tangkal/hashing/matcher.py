"""The process's in-memory view of every bank: a PDQ index and a text LSH index, kept in step
with the database by replaying the ``hash_changes`` log.

The database is the record; the indexes are a cache of it that answers near-neighbour
questions a database cannot. Exact signals (MD5, SHA-256, normalised text) need no cache:
they are looked up by their indexed column. On start the PDQ index is loaded from its file in
the data directory (written atomically after changes, so a restart does not rehash or
rebuild), then the log is replayed from the file's position.

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

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tangkal.db.session import Database
from tangkal.hashing.index import MinHashLshIndex, PdqIndex
from tangkal.hashing.models import HashChange

GAP_PATIENCE = 30.0  # seconds a missing sequence number is waited for
SAVE_EVERY = 5000  # changes between saves of the PDQ index file
MAX_PDQ_SEARCH = 64


class BankIndexes:
    """PDQ and text-near indexes for one database, shared by every request of a process."""

    def __init__(self, db: Database, data_dir: Path) -> None:
        self.db = db
        self.dir = data_dir / "hash-index"
        self.pdq = PdqIndex(threshold=31)
        self.text = MinHashLshIndex()
        self.applied_seq = 0
        self._gaps: dict[int, float] = {}  # missing seq -> first seen missing
        self._since_save = 0
        self._lock = threading.Lock()
        self._last_sync = 0.0
        self._load()

    # persistence ------------------------------------------------------------------------
    def _meta_path(self) -> Path:
        return self.dir / "meta.json"

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
            self.pdq = PdqIndex.load(self.dir / "pdq.idx")
            self.applied_seq = int(info["applied_seq"])
            self._gaps = {int(g): time.monotonic() for g in info.get("gaps", [])}
        except (OSError, ValueError, KeyError):
            self.pdq, self.applied_seq, self._gaps = PdqIndex(threshold=31), 0, {}
        # text signatures are small: rebuilt from the log on every start
        if self.applied_seq:
            self._replay_text_upto(self.applied_seq)

    def save(self) -> None:
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.pdq.save(self.dir / "pdq.idx")
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
    def _replay_text_upto(self, upto: int) -> None:
        with self.db.read_only() as s:
            rows = s.execute(
                select(HashChange.seq, HashChange.content_id, HashChange.op, HashChange.signal)
                .where(HashChange.signal_type == "text_near", HashChange.seq <= upto)
                .order_by(HashChange.seq)
            ).all()
        for _, cid, op, signal in rows:
            self._apply_text(cid, op, signal)

    def _apply_text(self, cid: int, op: str, signal: str) -> None:
        if op == "add":
            self.text.remove(cid)
            self.text.add(signal, cid)
        else:
            self.text.remove(cid)

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
        now = time.monotonic()
        pdq_add: list[tuple[str, int]] = []
        count = 0
        for seq, cid, op, stype, signal in rows:
            if seq <= self.applied_seq and seq not in self._gaps:
                continue
            self._gaps.pop(seq, None)
            for missing in range(self.applied_seq + 1, seq):
                self._gaps.setdefault(missing, now)
            self.applied_seq = max(self.applied_seq, seq)
            count += 1
            if stype == "pdq":
                if op == "add":
                    pdq_add.append((signal, cid))
                else:
                    if pdq_add:
                        self._flush_pdq(pdq_add)
                        pdq_add = []
                    self.pdq.remove([cid])
            elif stype == "text_near":
                self._apply_text(cid, op, signal)
        if pdq_add:
            self._flush_pdq(pdq_add)
        for seq, seen in list(self._gaps.items()):
            if now - seen > GAP_PATIENCE:
                del self._gaps[seq]
        self._since_save += count
        return count

    def _flush_pdq(self, items: list[tuple[str, int]]) -> None:
        ids = np.array([cid for _, cid in items], dtype=np.int64)
        self.pdq.remove(ids)  # re-adding after a restart replays: replace, never duplicate
        self.pdq.add([sig for sig, _ in items], ids)

    def stats(self) -> dict[str, Any]:
        return {
            "pdq": self.pdq.stats(),
            "text_near": len(self.text),
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
