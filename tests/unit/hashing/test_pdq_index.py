"""PdqIndex: exactness against brute force, mutation without rebuilds, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tangkal.errors import Conflict, InvalidInput, NotFound
from tangkal.hashing.index import (
    PdqIndex,
    _as_words,
    _keys,
    _radii,
    _table_keys,
    choose_tables,
    pdq_array_to_hex,
    pdq_hex_to_array,
)


def _random(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32), dtype=np.uint8)


def _flip(h: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(h)
    bits[rng.choice(256, size=k, replace=False)] ^= 1
    return np.packbits(bits)


def _clustered(n_centres: int, per: int, seed: int) -> np.ndarray:
    """Clusters of near-identical hashes, as re-uploads of the same images produce."""
    rng = np.random.default_rng(seed)
    centres = _random(n_centres, seed + 1)
    out = [_flip(c, int(rng.integers(0, 8)), rng) for c in centres for _ in range(per)]
    return np.stack(out)


def _brute(index_hashes: np.ndarray, ids: np.ndarray, q: np.ndarray, thr: int) -> set[tuple]:
    a = np.unpackbits(index_hashes, axis=1).astype(np.int16)
    b = np.unpackbits(q, axis=1).astype(np.int16)
    d = (a[None, :, :] != b[:, None, :]).sum(axis=2)
    qi, ri = np.nonzero(d <= thr)
    return {(int(x), int(ids[y]), int(d[x, y])) for x, y in zip(qi, ri, strict=True)}


def _queries(hashes: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    near = [_flip(hashes[rng.integers(0, len(hashes))], int(k), rng) for k in range(0, 40)]
    near = near[: n // 2]
    return np.concatenate([np.stack(near), _random(n - len(near), seed + 9)])


@pytest.mark.parametrize("kind", ["uniform", "clustered"])
@pytest.mark.parametrize("threshold", [0, 8, 31, 45])
def test_exact_against_brute_force(kind: str, threshold: int) -> None:
    hashes = _random(6000, 1) if kind == "uniform" else _clustered(300, 20, 2)
    ids = np.arange(len(hashes), dtype=np.int64) * 7 + 3
    index = PdqIndex()
    index.add(hashes, ids)
    q = _queries(hashes, 60, 3)
    qi, got_ids, dist = index.search_many(q, threshold)
    got = set(zip(qi.tolist(), got_ids.tolist(), dist.tolist(), strict=True))
    assert got == _brute(hashes, ids, q, threshold)


def test_refined_pigeonhole_radii_cover_the_threshold() -> None:
    for lens in ([24, 24, 24] + [23] * 8, [16] * 16, [13] * 4 + [12] * 17):
        for thr in range(0, 64):
            radii = _radii(lens, thr)
            # Hashes differing in thr bits spread as (radius+1) per table must exceed thr.
            assert sum(r + 1 for r in radii) == thr + 1


def test_cost_model_picks_long_substrings_for_big_indexes() -> None:
    assert len(choose_tables(10_000_000)) == 11
    assert len(choose_tables(100_000)) >= 14


def test_one_table_keys_equal_the_full_cut() -> None:
    words = _as_words(_random(3000, 13))
    rows = np.array([5, 0, 2999, 17, 17], dtype=np.int64)
    for lens in (choose_tables(10_000_000), choose_tables(100_000), [16] * 16, [26] * 9 + [22]):
        full = _keys(words, lens)
        for t in range(len(lens)):
            assert (_table_keys(words, lens, t, chunk=1000) == full[:, t]).all()
            assert (_table_keys(words, lens, t, rows=rows) == full[rows, t]).all()


def test_near_duplicate_groups_stay_exact_through_removals() -> None:
    hashes = _clustered(150, 30, 14)  # members within 0..7 bits of their centre
    ids = np.arange(len(hashes), dtype=np.int64) + 1000
    index = PdqIndex()
    index.add(hashes, ids)
    seg = index._segments[0]
    assert seg.gstart is not None and seg.grad is not None
    assert index.stats()["segments"][0]["groups"] < len(hashes) // 10
    sizes = np.diff(seg.gstart.astype(np.int64))
    leaders = seg.words[seg.gstart[:-1].astype(np.int64)]
    for g in range(len(sizes)):  # every member within its group's radius of the leader
        lo = int(seg.gstart[g])
        members = seg.words[lo : lo + sizes[g]]
        d = np.bitwise_count(members ^ leaders[g]).sum(axis=1)
        assert d.max() == seg.grad[g] <= 16
    q = _queries(hashes, 60, 15)
    for thr in (0, 5, 31, 50):
        qi, got_ids, dist = index.search_many(q, thr)
        got = set(zip(qi.tolist(), got_ids.tolist(), dist.tolist(), strict=True))
        assert got == _brute(hashes, ids, q, thr)
    # Removing leaders hides them but keeps their groups' other members findable.
    gone = seg.ids[seg.gstart[:-1][sizes > 1].astype(np.int64)][:40]
    assert index.remove(gone) == 40
    keep = ~np.isin(ids, gone)
    qi, got_ids, dist = index.search_many(q, 31)
    got = set(zip(qi.tolist(), got_ids.tolist(), dist.tolist(), strict=True))
    assert got == _brute(hashes[keep], ids[keep], q, 31)
    assert not set(got_ids.tolist()) & set(gone.tolist())


def test_additions_and_removals_are_visible_at_once() -> None:
    hashes = _random(5000, 4)
    index = PdqIndex(buffer_size=256)
    index.add(hashes[:4000], np.arange(4000))
    assert all(m.distance > 0 for m in index.search(hashes[4500]))
    # One at a time (buffer), then a batch bigger than the buffer (own segment).
    for i in range(4000, 4300):
        index.add(hashes[i : i + 1], [i])
        assert index.search(hashes[i])[0] == (i, 0)
    index.add(hashes[4300:], np.arange(4300, 5000))
    assert index.search(pdq_array_to_hex(hashes[4999:])[0])[0] == (4999, 0)
    assert len(index) == 5000
    assert index.remove([10, 4100, 4999, 123456]) == 3
    for i in (10, 4100, 4999):
        assert all(m.id != i for m in index.search(hashes[i]))
    assert len(index) == 4997
    with pytest.raises(NotFound):
        index.remove_one(10)


def test_compaction_keeps_results_and_drops_tombstones() -> None:
    hashes = _random(3000, 5)
    index = PdqIndex(buffer_size=128)
    for lo in range(0, 3000, 100):
        index.add(hashes[lo : lo + 100], np.arange(lo, lo + 100))
    index.remove(np.arange(0, 3000, 3))
    q = _queries(hashes, 40, 6)
    before = index.search_many(q)
    index.compact()
    assert len(index.stats()["segments"]) == 1
    assert index.stats()["segments"][0]["dead"] == 0
    after = index.search_many(q)
    for a, b in zip(before, after, strict=True):
        assert a.tolist() == b.tolist()


def test_duplicate_ids_conflict() -> None:
    index = PdqIndex()
    h = _random(3, 7)
    index.add(h[:1], [1])
    with pytest.raises(Conflict, match="already"):
        index.add(h[1:2], [1])
    with pytest.raises(Conflict, match="twice"):
        index.add(h[1:3], [5, 5])
    index.remove([1])
    index.add(h[1:2], [1])  # re-adding after removal is fine


def test_bad_input_is_rejected_with_a_message() -> None:
    index = PdqIndex()
    with pytest.raises(InvalidInput, match="#1"):
        index.add(["0" * 64, "xyz"], [1, 2])
    with pytest.raises(InvalidInput, match="ids"):
        index.add(_random(2, 8), [1])
    with pytest.raises(InvalidInput, match="threshold"):
        index.search("0" * 64, threshold=300)


@pytest.mark.parametrize("mmap", [True, False])
def test_save_and_load_round_trip(tmp_path: Path, mmap: bool) -> None:
    hashes = _clustered(200, 20, 9)
    index = PdqIndex(buffer_size=512)
    index.add(hashes[:3500], np.arange(3500))
    index.add(hashes[3500:3600], np.arange(3500, 3600))  # still in the buffer
    index.remove([5, 3550])
    path = tmp_path / "pdq.idx"
    index.save(path)
    loaded = PdqIndex.load(path, mmap=mmap)
    assert len(loaded) == len(index) == 3598
    q = _queries(hashes, 50, 10)
    for a, b in zip(index.search_many(q), loaded.search_many(q), strict=True):
        assert a.tolist() == b.tolist()
    # The loaded index stays mutable.
    loaded.add(hashes[3600:3700], np.arange(3600, 3700))
    loaded.remove([6])
    assert len(loaded) == 3697
    assert loaded.hashes_of([7])[7] == pdq_array_to_hex(hashes[7:8])[0]


def test_loads_files_written_before_groups(tmp_path: Path) -> None:
    hashes = _random(4000, 16)  # nothing to group: the same layout as a version 1 file
    index = PdqIndex()
    index.add(hashes, np.arange(4000))
    path = tmp_path / "pdq.idx"
    index.save(path)
    raw = path.read_bytes()
    assert raw.count(b'"version": 2') == 1 and b"gstart" not in raw
    path.write_bytes(raw.replace(b'"version": 2', b'"version": 1'))
    loaded = PdqIndex.load(path)
    q = _queries(hashes, 40, 17)
    for a, b in zip(index.search_many(q), loaded.search_many(q), strict=True):
        assert a.tolist() == b.tolist()


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        PdqIndex.load(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.write_bytes(b"not an index")
    with pytest.raises(InvalidInput, match="not a tangkal PDQ index"):
        PdqIndex.load(bad)


def test_hex_round_trip() -> None:
    h = _random(5, 11)
    assert (pdq_hex_to_array(pdq_array_to_hex(h)) == h).all()


def test_concurrent_search_during_compaction() -> None:
    import threading

    hashes = _random(8000, 12)
    index = PdqIndex(buffer_size=512)
    for lo in range(0, 8000, 500):
        index.add(hashes[lo : lo + 500], np.arange(lo, lo + 500))
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for i in range(0, 8000, 97):
                assert index.search(hashes[i])[0] == (i, 0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    index.compact()
    t.join()
    assert not errors
