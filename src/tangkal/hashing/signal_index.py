"""The one interface the bank indexes speak, so the matcher holds "an index per signal type"
without knowing which types exist.

A signal type names its index class (:attr:`tangkal.hashing.signals.SignalType.index_cls`, as
threatexchange's ``SignalType.get_index_cls`` does); the matcher builds one instance per
registered type, replays the ``hash_changes`` log into it and asks it for candidates. Two
kinds exist:

* in-memory near-neighbour indexes (:class:`PdqSignalIndex`, :class:`MinHashSignalIndex`),
  which answer what a database cannot (Hamming or slot distance within a radius);
* :class:`ColumnLookup` for exact types: the database's indexed ``(signal_type, signal)``
  column already answers equality at any size, so holding ten million digests in Python
  objects would only cost memory. It carries nothing and says so (``in_database``).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from tangkal.hashing.index import IndexMatch, MinHashLshIndex, PdqIndex


class SignalIndex(ABC):
    """What the matcher needs from an index: batch add and remove by content id, a search
    within a distance, a size, and a file to survive restarts."""

    in_database: ClassVar[bool] = False
    """True when lookups are answered by the database column instead of by this object."""

    @abstractmethod
    def add(self, items: Sequence[tuple[str, int]]) -> None:
        """Add (validated signal, content id) pairs; an id already present is replaced, so
        replaying the log after a restart never duplicates an entry."""

    @abstractmethod
    def remove(self, ids: Sequence[int]) -> None:
        """Forget content ids (unknown ids are ignored)."""

    @abstractmethod
    def search(self, signal: str, threshold: int) -> list[IndexMatch]:
        """Stored entries within ``threshold`` of ``signal``."""

    @abstractmethod
    def __len__(self) -> int: ...

    def stats(self) -> Any:
        """What ``/api/v1/hashing/stats`` shows for this type (its size by default)."""
        return len(self)

    @abstractmethod
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to one file atomically."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | os.PathLike[str]) -> SignalIndex:
        """Read a file written by :meth:`save` (OSError or ValueError when unusable)."""


class ColumnLookup(SignalIndex):
    """Exact types: candidates come from the database's indexed column (see module doc)."""

    in_database = True

    def add(self, items: Sequence[tuple[str, int]]) -> None:
        return None

    def remove(self, ids: Sequence[int]) -> None:
        return None

    def search(self, signal: str, threshold: int) -> list[IndexMatch]:
        raise NotImplementedError("exact signals are looked up in the database")

    def __len__(self) -> int:
        return 0

    def stats(self) -> Any:
        return "database"

    def save(self, path: str | os.PathLike[str]) -> None:
        return None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ColumnLookup:
        return cls()


class PdqSignalIndex(SignalIndex):
    """:class:`~tangkal.hashing.index.PdqIndex` behind the common interface."""

    def __init__(self, index: PdqIndex | None = None) -> None:
        self.index = index if index is not None else PdqIndex()

    def add(self, items: Sequence[tuple[str, int]]) -> None:
        if not items:
            return
        ids = np.array([cid for _, cid in items], dtype=np.int64)
        self.index.remove(ids)
        self.index.add([sig for sig, _ in items], ids)

    def remove(self, ids: Sequence[int]) -> None:
        if ids:
            self.index.remove(np.array(list(ids), dtype=np.int64))

    def search(self, signal: str, threshold: int) -> list[IndexMatch]:
        return self.index.search(signal, threshold)

    def __len__(self) -> int:
        return len(self.index)

    def stats(self) -> Any:
        return self.index.stats()

    def save(self, path: str | os.PathLike[str]) -> None:
        self.index.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PdqSignalIndex:
        return cls(PdqIndex.load(path))


class MinHashSignalIndex(SignalIndex):
    """:class:`~tangkal.hashing.index.MinHashLshIndex` behind the common interface."""

    def __init__(self, index: MinHashLshIndex | None = None) -> None:
        self.index = index if index is not None else MinHashLshIndex()

    def add(self, items: Sequence[tuple[str, int]]) -> None:
        for signal, cid in items:
            self.index.remove(cid)
            self.index.add(signal, cid)

    def remove(self, ids: Sequence[int]) -> None:
        for cid in ids:
            self.index.remove(cid)

    def search(self, signal: str, threshold: int) -> list[IndexMatch]:
        return self.index.search(signal, threshold)

    def __len__(self) -> int:
        return len(self.index)

    def save(self, path: str | os.PathLike[str]) -> None:
        self.index.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MinHashSignalIndex:
        try:
            return cls(MinHashLshIndex.load(path))
        except Exception as exc:  # NotFound, a truncated npz: rebuilt from the log
            raise ValueError(f"unusable text index file {path}: {exc}") from exc
