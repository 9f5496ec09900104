"""ExactIndex: md5/sha256/text digests to ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from tangkal.errors import Conflict, NotFound
from tangkal.hashing.index import ExactIndex, IndexMatch
from tangkal.hashing.signals import REGISTRY


def test_add_search_remove_and_persist(tmp_path: Path) -> None:
    md5 = REGISTRY.get("md5")
    a = md5.hash_bytes(b"propaganda.mp4 bytes").signal
    b = md5.hash_bytes(b"other bytes").signal
    assert a and b
    index = ExactIndex()
    index.add(a, 1)
    index.add(a, 2)  # the same file in two banks
    index.add(b, 3)
    assert index.search(a) == [IndexMatch(1, 0), IndexMatch(2, 0)]
    with pytest.raises(Conflict):
        index.add(b, 1)
    assert index.remove(1) and not index.remove(1)
    assert index.search(a) == [IndexMatch(2, 0)]
    path = tmp_path / "md5.json"
    index.save(path)
    loaded = ExactIndex.load(path)
    assert len(loaded) == 2 and loaded.search(b) == [IndexMatch(3, 0)]
    with pytest.raises(NotFound):
        ExactIndex.load(tmp_path / "missing.json")
