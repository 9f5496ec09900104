"""Indexes that find stored signals near a query: PDQ (multi-index hashing), exact digests, and
MinHash/LSH for near-duplicate text.

PDQ index design (:class:`PdqIndex`)
------------------------------------
The goal is every stored hash within Hamming distance ``r`` (31 by default) of a query, over ten
million 256-bit hashes, thousands of times a second on two cores, in well under 2 GB, with
additions and removals visible at once. Brute force reads 320 MB per query; a naive hash table
cannot tolerate 31 flipped bits. Multi-index hashing (Norouzi, Punjani and Fleet, 2012) can:

* The 256 bit positions are shuffled once (a fixed permutation, so that bits that are correlated
  in real images do not all land in the same substring) and split into ``m`` substrings.
* By pigeonhole, if two hashes differ in at most ``r`` bits, at least one substring differs in at
  most ``floor(r / m)`` bits. So a query probes, in each of the ``m`` tables, every bucket within
  that small radius of its own substring, and verifies the union of candidates with an exact
  popcount. The result is *exact* (recall 100% by construction), not approximate.
* ``m`` and the substring lengths are chosen per segment from a cost model (probes + expected
  candidates), which for 10 million hashes picks 11 substrings of 23-24 bits probed at radius 2:
  about 3,100 probes and about 3,000 candidates per query on uniform hashes.
* Each table is a CSR layout in plain numpy arrays: ``offsets`` (one per possible substring
  value, cumulated over all tables) and ``postings`` (row numbers grouped by substring value).
  Probing, gathering candidates and verifying are a dozen vectorised numpy calls per batch of
  queries, with no Python loop per candidate. Memory is about 135 bytes per hash at 10 million
  (less with groups: a group's shared substrings are listed once).
* Near-duplicate groups. Real banks hold many re-uploads of the same image, within a few bits
  of each other; they share most substrings, so every probe that meets such a cluster used to
  return all of it, and every member was verified (10 million clustered hashes: about 20,000
  candidates per query against 3,000 for uniform ones). At build time rows within 16 bits of a
  greedily chosen leader form a group, stored contiguously, leader first; the tables list each
  group once per distinct substring of its members, under the leader's row. A lookup compares
  the query with each candidate leader and expands a group only if the leader is within
  ``r + radius(group)``. This stays exact by the triangle inequality (a member within ``r``
  shares a probed substring with the query, so its group is a candidate, and its leader is
  within ``r + radius``), and an unrelated query is rejected by one comparison per cluster. On
  hashes with nothing to group, no groups are made and the layout is the plain one.
* If a query's candidate count would exceed a fraction of the segment (pathological skew, or a
  very large threshold), that query falls back to a chunked exact scan instead, so the cost is
  bounded by brute force.

Mutation without rebuilds: new hashes land in a small append buffer that is scanned exhaustively
(so they are visible to the very next lookup); a full buffer is frozen into a small segment of its
own, and small segments are merged with each other while that stays cheap. Removals set a
tombstone bit, visible at once. :meth:`PdqIndex.compact` merges all segments into one and drops
tombstoned rows; it builds outside the lock, so lookups continue during a compaction, and removals
made meanwhile are replayed onto the result. The whole index is saved to one file (header plus
aligned numpy arrays, written atomically) and loaded with ``mmap``, so a restart neither rehashes
images nor rebuilds tables.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tangkal.errors import Conflict, InvalidInput, NotFound

PDQ_BITS = 256
PDQ_BYTES = 32
DEFAULT_PDQ_THRESHOLD = 31

_PERM_SEED = 0x50445131  # fixed forever: saved files record the permutation anyway
_FILE_MAGIC = b"TKPDQIX1"
_ALIGN = 64


class IndexMatch(NamedTuple):
    """One stored entry near a query: the caller's id and the distance to the query."""

    id: int
    distance: int


# --- Conversions ---------------------------------------------------------------------------------


def pdq_hex_to_array(hashes: Sequence[str] | str) -> np.ndarray:
    """Hex PDQ hashes to an ``(n, 32)`` uint8 array, with a message naming the first bad one."""
    if isinstance(hashes, str):
        hashes = [hashes]
    try:
        raw = b"".join(bytes.fromhex(h) for h in hashes)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != PDQ_BYTES * len(hashes):
        for i, h in enumerate(hashes):
            try:
                ok = len(bytes.fromhex(h)) == PDQ_BYTES
            except (ValueError, TypeError):
                ok = False
            if not ok:
                raise InvalidInput(
                    f"PDQ hash #{i} ({str(h)[:70]!r}) is not 64 hexadecimal characters",
                    field="signal",
                )
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(hashes), PDQ_BYTES).copy()


def pdq_array_to_hex(arr: np.ndarray) -> list[str]:
    """Inverse of :func:`pdq_hex_to_array`."""
    a = np.ascontiguousarray(arr, dtype=np.uint8).reshape(-1, PDQ_BYTES)
    return [row.tobytes().hex() for row in a]


def _as_words(hashes: np.ndarray | Sequence[str] | str) -> np.ndarray:
    """Any accepted hash input to a contiguous ``(n, 4)`` uint64 array (raw byte order)."""
    if isinstance(hashes, str) or (
        isinstance(hashes, Sequence) and len(hashes) and isinstance(hashes[0], str)
    ):
        hashes = pdq_hex_to_array(hashes)
    arr = np.asarray(hashes)
    if arr.dtype == np.uint64 and arr.ndim == 2 and arr.shape[1] == 4:
        return np.ascontiguousarray(arr)
    if arr.size == 0:
        return np.zeros((0, 4), dtype=np.uint64)
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != PDQ_BYTES:
        raise InvalidInput(
            f"PDQ hashes must be hex strings or an (n, 32) uint8 array, got {arr.dtype} {arr.shape}"
        )
    return np.ascontiguousarray(arr).view(np.uint64)


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Hamming distance of two ``(k, 4)`` uint64 arrays, as int32.

    Summing the four columns explicitly is about 6x faster than ``.sum(axis=1)``, whose
    reduction over a length-4 axis does not vectorise.
    """
    c = np.bitwise_count(a ^ b)
    d = c[:, 0].astype(np.int32)
    d += c[:, 1]
    d += c[:, 2]
    d += c[:, 3]
    return d


def _row_distances(
    words: np.ndarray, a: np.ndarray | None, b: np.ndarray, chunk: int = 1 << 18
) -> np.ndarray:
    """Distances between rows ``a`` (None: every row in order) and rows ``b`` of ``words``, in
    chunks, so that a build over millions of pairs holds a few MB of temporaries, not GBs."""
    out = np.empty(b.shape[0], dtype=np.int32)
    for lo in range(0, b.shape[0], chunk):
        left = words[lo : lo + chunk] if a is None else words[a[lo : lo + chunk]]
        out[lo : lo + chunk] = _hamming(left, words[b[lo : lo + chunk]])
    return out


# --- Multi-index hashing plan --------------------------------------------------------------------


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def _within_radius(nbits: int, radius: int) -> int:
    """Number of ``nbits``-bit values within Hamming ``radius`` of a given one."""
    return sum(math.comb(nbits, k) for k in range(radius + 1))


def _radii(lens: list[int], threshold: int) -> list[int]:
    """Probe radius per table (-1: table not probed), by the refined pigeonhole principle.

    With ``threshold = rho * m + a`` (0 <= a < m), two hashes within ``threshold`` must agree to
    within ``rho`` bits on at least one of any ``a + 1`` chosen substrings, or to within
    ``rho - 1`` on one of the others (otherwise they differ in at least
    ``(a + 1)(rho + 1) + (m - a - 1) rho = threshold + 1`` bits). Giving the larger radius to the
    shortest substrings minimises probes: at 10 million hashes and threshold 31 this saves about
    9% of the work against the plain ``floor(r / m)`` rule, and at small thresholds it skips
    tables altogether.
    """
    m = len(lens)
    rho, a = divmod(threshold, m)
    order = sorted(range(m), key=lambda t: (lens[t], t))
    radii = [rho - 1] * m
    for t in order[: a + 1]:
        radii[t] = rho
    return radii


def choose_tables(n: int, threshold: int = DEFAULT_PDQ_THRESHOLD) -> list[int]:
    """Substring lengths for a segment of ``n`` hashes, chosen by a cost model.

    Cost per query = probes + 2 x expected candidates (a candidate costs a postings read and a
    32-byte gather), assuming uniform substrings; table memory (4 bytes per possible substring
    value) is capped at 12 bytes per hash plus 4 MB so small segments stay small.
    """
    best: tuple[float, list[int]] | None = None
    budget = 12 * n + (1 << 20)
    for m in range(8, 65):
        lens = _split(PDQ_BITS, m)
        if max(lens) > 26:
            continue
        if sum(1 << s for s in lens) > budget:
            continue
        probes = [_within_radius(s, r) for s, r in zip(lens, _radii(lens, threshold), strict=True)]
        cost = sum(p + 2.0 * p * n / (1 << s) for p, s in zip(probes, lens, strict=True))
        if best is None or cost < best[0]:
            best = (cost, lens)
    assert best is not None  # m = 64 (4-bit substrings) always fits the budget
    return best[1]


def _byte_permutation() -> np.ndarray:
    """Fixed shuffle of the 32 hash bytes before cutting substrings, so that a substring mixes
    distant DCT coefficients instead of 24 neighbouring (and more correlated) ones."""
    return np.random.default_rng(_PERM_SEED).permutation(PDQ_BYTES).astype(np.intp)


_BYTE_PERM = _byte_permutation()


def _keys(words: np.ndarray, lens: list[int], chunk: int = 1 << 20) -> np.ndarray:
    """Substring keys ``(n, m)`` uint32 of ``(n, 4)`` uint64 hashes, in bounded-memory chunks.

    The bytes are shuffled by :data:`_BYTE_PERM`, read as one 256-bit big-endian number, and
    cut into consecutive bit ranges of the given lengths (shifts and masks, no Python loop per
    hash).
    """
    n = words.shape[0]
    out = np.empty((n, len(lens)), dtype=np.uint32)
    raw = words.view(np.uint8).reshape(n, PDQ_BYTES)
    for lo in range(0, n, chunk):
        w = np.ascontiguousarray(raw[lo : lo + chunk][:, _BYTE_PERM]).view(">u8").astype(np.uint64)
        start = 0
        for t, s in enumerate(lens):
            word, off = divmod(start, 64)
            if off + s <= 64:
                key = (w[:, word] >> np.uint64(64 - off - s)) & np.uint64((1 << s) - 1)
            else:
                high = 64 - off
                low = s - high
                key = (w[:, word] & np.uint64((1 << high) - 1)) << np.uint64(low)
                key |= w[:, word + 1] >> np.uint64(64 - low)
            out[lo : lo + chunk, t] = key
            start += s
    return out


def _table_keys(
    words: np.ndarray,
    lens: list[int],
    t: int,
    *,
    rows: np.ndarray | None = None,
    chunk: int = 1 << 20,
    dtype: type[np.unsignedinteger[Any]] = np.uint32,
) -> np.ndarray:
    """Keys ``(n,)`` of table ``t`` alone (same values as ``_keys(...)[:, t]``; uint32 unless
    ``dtype`` says otherwise), for the given ``rows`` or all of them.

    Reads only the 3-5 (shuffled) bytes the substring spans, into the top of a big-endian
    64-bit word: about 15 times faster than cutting all tables from the whole 32 bytes, which
    matters because building and grouping take one table's keys at a time.
    """
    start, s = sum(lens[:t]), lens[t]
    b0, b1 = start // 8, (start + s - 1) // 8 + 1
    cols = _BYTE_PERM[b0:b1]
    shift = np.uint64(64 - (start - 8 * b0) - s)
    mask = np.uint64((1 << s) - 1)
    raw = words.view(np.uint8).reshape(words.shape[0], PDQ_BYTES)
    n = raw.shape[0] if rows is None else rows.shape[0]
    out = np.empty(n, dtype=dtype)
    buf = np.zeros((min(chunk, n), 8), dtype=np.uint8)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        b = buf[: hi - lo]
        if rows is None:
            b[:, : b1 - b0] = raw[lo:hi, cols]
        else:
            b[:, : b1 - b0] = raw[rows[lo:hi, None], cols[None, :]]
        out[lo:hi] = (b.view(">u8")[:, 0] >> shift) & mask
    return out


_FLIP_CACHE: dict[tuple[int, int], np.ndarray] = {}


def _flip_masks(nbits: int, radius: int) -> np.ndarray:
    """All ``nbits``-bit masks with at most ``radius`` bits set (0 first)."""
    key = (nbits, radius)
    if key not in _FLIP_CACHE:
        masks = [0]
        for k in range(1, radius + 1):
            for combo in itertools.combinations(range(nbits), k):
                masks.append(sum(1 << b for b in combo))
        _FLIP_CACHE[key] = np.array(masks, dtype=np.int64)
    return _FLIP_CACHE[key]


# --- Near-duplicate groups ------------------------------------------------------------------------

_GROUP_RADIUS = 16
"""Largest distance of a group member from its leader. Re-uploads of one image sit within a few
bits of each other; 16 keeps whole clusters of them in one group while a group's leader still
rejects unrelated queries (about 100 bits away) in one comparison."""

_GROUP_PASSES: tuple[tuple[int, int], ...] = ((0, 8), (1, 8), (2, 8), (3, 8), (0, 2), (1, 2))
"""(table, smallest run that may start a new group) of each grouping pass. Large runs seed the
groups first, so that a cluster's scattered variants later join its one big group instead of
forming many small ones; the last passes let pairs and triples group too."""


def _group_rows(
    words: np.ndarray, lens: list[int], radius: int = _GROUP_RADIUS
) -> np.ndarray | None:
    """Leader row of every row (a row leads itself), or None when no two rows group.

    Greedy and cheap, because it only decides speed, never correctness: any assignment in which
    each member is within ``radius`` of its leader keeps lookups exact (see
    :meth:`_Segment.search`). Each pass sorts the still unassigned rows (plus the existing
    leaders, placed first) by one table's substring; a run of equal substrings whose first row
    is a leader, or which is long enough to seed a group, takes in every unassigned row of the
    run within ``radius`` of that first row. Only rows whose substring is shared are sorted, so
    on uniform hashes (nothing to group) a pass costs little more than computing one key.
    """
    n = int(words.shape[0])
    leader = np.full(n, -1, dtype=np.int64)
    is_leader = np.zeros(n, dtype=bool)
    grouped = False
    for t, seed_min in _GROUP_PASSES:
        if t >= len(lens):
            continue
        un = np.flatnonzero(leader < 0)
        if un.size == 0:
            break
        size = 1 << lens[t]
        ku = _table_keys(words, lens, t, rows=None if un.size == n else un)
        count = np.bincount(ku, minlength=size)
        lead = np.flatnonzero(is_leader)
        if lead.size:
            kl = _table_keys(words, lens, t, rows=lead)
            has_leader = np.zeros(size, dtype=bool)
            has_leader[kl] = True
            sel = (count[ku] >= seed_min) | has_leader[ku]
        else:
            kl = np.zeros(0, dtype=np.uint32)
            sel = count[ku] >= seed_min
        un, ku = un[sel], ku[sel]
        if un.size == 0:
            continue
        if lead.size:
            used = np.bincount(ku, minlength=size)[kl] > 0
            lead, kl = lead[used], kl[used]
        # Sort by (substring, unassigned after leaders, row); rows fit in 32 bits. The
        # temporaries below are sized to the sorted rows, few on hashes with nothing to group.
        packed = np.concatenate([kl, ku]).astype(np.uint64) << np.uint64(33)
        del ku, kl
        packed[lead.size :] |= np.uint64(1 << 32)
        np.bitwise_or(packed, np.concatenate([lead, un]).astype(np.uint32), out=packed)
        del un, lead
        packed.sort()
        rows = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
        unassigned = (packed & np.uint64(1 << 32)) != 0
        np.right_shift(packed, np.uint64(33), out=packed)  # now the substrings
        start = np.ones(rows.shape[0], dtype=bool)
        np.not_equal(packed[1:], packed[:-1], out=start[1:])
        del packed
        starts = np.flatnonzero(start)
        del start
        run_len = np.diff(np.append(starts, rows.shape[0]))
        # A run's first row is its pivot: a leader if the run has one (leaders sort first).
        take = unassigned & np.repeat(~unassigned[starts] | (run_len >= seed_min), run_len)
        pivot = np.repeat(rows[starts], run_len)
        del unassigned, starts, run_len
        cand, piv = rows[take], pivot[take]
        near = _row_distances(words, cand, piv) <= radius
        cand, piv = cand[near], piv[near]
        if cand.size > np.count_nonzero(cand == piv):
            grouped = True
        leader[cand] = piv
        is_leader[piv] = True
    if not grouped:
        return None
    alone = leader < 0
    leader[alone] = np.flatnonzero(alone)
    return leader


# --- Segments ------------------------------------------------------------------------------------


@dataclass
class _Segment:
    """An immutable set of hashes with MIH tables; only ``alive`` (tombstones) changes."""

    words: np.ndarray  # (n, 4) uint64
    ids: np.ndarray  # (n,) int64, caller's ids
    id_order: np.ndarray  # (n,) argsort of ids, for removal by id
    alive: np.ndarray  # (n,) bool, writable
    lens: list[int]  # substring lengths; empty = exhaustive scan only
    offsets: np.ndarray  # (sum(2**s) + 1,) int64/uint32 CSR offsets over all tables
    postings: np.ndarray  # (<= m * n,) uint32 row numbers, or group leader rows with groups
    n_dead: int = 0
    # Near-duplicate groups (None: every row is its own group and postings hold rows). Rows are
    # stored group by group, leader first: group g is rows gstart[g] .. gstart[g + 1] - 1, all
    # within grad[g] bits of its leader, row gstart[g].
    gstart: np.ndarray | None = None  # (groups + 1,) uint32
    grad: np.ndarray | None = None  # (groups,) uint8

    def __post_init__(self) -> None:
        self._plans: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._max_radius = int(self.grad.max()) if self.grad is not None and self.grad.size else 0
        bases = [0]
        for s in self.lens[:-1]:
            bases.append(bases[-1] + (1 << s))
        self._bases = np.array(bases, dtype=np.int64)

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    @property
    def n_alive(self) -> int:
        return self.n - self.n_dead

    @classmethod
    def build(cls, words: np.ndarray, ids: np.ndarray, threshold: int) -> _Segment:
        """Build tables for ``words``; small inputs get no tables (a scan is cheaper).

        Near-duplicates are grouped first (:func:`_group_rows`); the rows are then stored group
        by group and the tables list each group once per distinct substring of its members,
        under its leader's row.
        """
        n = int(words.shape[0])
        words = np.ascontiguousarray(words, dtype=np.uint64)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        alive = np.ones(n, dtype=bool)
        if n <= _SCAN_MAX:
            empty = np.zeros(0, dtype=np.uint32)
            id_order = np.argsort(ids, kind="stable").astype(np.uint32)
            return cls(words, ids, id_order, alive, [], np.zeros(1, np.int64), empty)
        lens = choose_tables(n, threshold)
        leader = _group_rows(words, lens) if n < 2**31 else None
        gstart = grad = lead_row = None
        if leader is not None:
            words, ids, gstart, grad, lead_row = _regroup(words, ids, leader)
            del leader
        id_order = np.argsort(ids, kind="stable").astype(np.uint32 if n < 2**32 else np.int64)
        m = len(lens)
        off_dtype = np.uint32 if m * n < 2**32 else np.int64
        offsets: np.ndarray = np.zeros(sum(1 << s for s in lens) + 1, dtype=off_dtype)
        bases = np.concatenate([[0], np.cumsum([1 << s for s in lens])]).astype(np.int64)
        # Without groups every table has exactly n entries, written in place; with groups the
        # sizes are known only once deduplicated, so each table is kept apart and joined at the
        # end (never allocating the m * n upper bound).
        postings = np.empty(m * n if lead_row is None else 0, dtype=np.uint32)
        parts: list[np.ndarray] = [postings[:0]] * m

        def build_table(t: int) -> None:
            # One table at a time keeps the build's peak memory near the final size: per
            # thread, the keys of one table (4 bytes per hash), one sort buffer (8 bytes per
            # hash) and the bucket counts (8 bytes per bucket), never all at their largest.
            lo = int(bases[t])
            packed = _table_keys(words, lens, t, dtype=np.uint64)
            if lead_row is None:
                _fill_offsets(offsets[lo + 1 : lo + (1 << lens[t]) + 1], packed, lens[t])
            packed <<= np.uint64(32)
            np.bitwise_or(
                packed, np.arange(n, dtype=np.uint32) if lead_row is None else lead_row, out=packed
            )
            packed.sort()  # by key, ties by row: same order as a stable argsort, ~30% faster
            if lead_row is None:
                np.copyto(postings[t * n : (t + 1) * n], packed, casting="unsafe")  # low 32 bits
                return
            keep = np.empty(n, dtype=bool)  # one entry per (substring, group)
            keep[0] = True
            np.not_equal(packed[1:], packed[:-1], out=keep[1:])
            packed = packed[keep]
            del keep
            key = np.empty(packed.shape[0], dtype=np.uint32)
            np.right_shift(packed, np.uint64(32), out=key, casting="unsafe")
            _fill_offsets(offsets[lo + 1 : lo + (1 << lens[t]) + 1], key, lens[t])
            del key
            parts[t] = packed.astype(np.uint32)

        # Tables are independent: build them on two threads (numpy releases the GIL in sort).
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(build_table, range(m)))
        if lead_row is not None:
            postings = np.empty(sum(p.shape[0] for p in parts), dtype=np.uint32)
        start = 0
        for t in range(m):
            lo = int(bases[t])
            offsets[lo + 1 : lo + (1 << lens[t]) + 1] += start
            if lead_row is None:
                start += n
            else:
                postings[start : start + parts[t].shape[0]] = parts[t]
                start += parts[t].shape[0]
                parts[t] = postings[:0]  # free it
        return cls(words, ids, id_order, alive, lens, offsets, postings, gstart=gstart, grad=grad)

    # Lookups ------------------------------------------------------------------------------
    def _plan(self, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(table, flip mask, bucket base) of every probe for a threshold, cached."""
        if threshold not in self._plans:
            tables, masks = [], []
            for t, (s, r) in enumerate(zip(self.lens, _radii(self.lens, threshold), strict=True)):
                if r < 0:
                    continue
                fm = _flip_masks(s, r)
                tables.append(np.full(fm.shape[0], t, dtype=np.int64))
                masks.append(fm)
            ptable = np.concatenate(tables)
            self._plans[threshold] = (ptable, np.concatenate(masks), self._bases[ptable])
        return self._plans[threshold]

    def probe_count(self, threshold: int) -> int:
        """Buckets one query probes at this threshold."""
        if not self.lens:
            return 0
        radii = _radii(self.lens, threshold)
        return sum(_within_radius(s, r) for s, r in zip(self.lens, radii, strict=True) if r >= 0)

    def search(self, q: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Matches of queries ``q`` (B, 4): (query row, segment row, distance), deduplicated."""
        if self.n == 0 or q.shape[0] == 0:
            return _EMPTY3()
        if not self.lens or self.probe_count(threshold) > self.n // 4:
            return _scan(q, self.words, self.alive, threshold)
        ptable, pmask, pbase = self._plan(threshold)
        qkeys = _keys(q, self.lens).astype(np.int64)  # (B, m)
        buckets = (qkeys[:, ptable] ^ pmask) + pbase  # (B, P)
        starts = np.take(self.offsets, buckets).astype(np.int64)
        lens = np.take(self.offsets, buckets + 1).astype(np.int64) - starts
        per_query = lens.sum(axis=1)
        limit = max(self.n // 8, 65536)
        heavy = per_query > limit
        results = []
        if heavy.any():
            # Pathological skew for these queries: an exhaustive scan is cheaper and bounded.
            hq = np.flatnonzero(heavy)
            qi, rows, d = _scan(q[hq], self.words, self.alive, threshold)
            results.append((hq[qi], rows, d))
            lens[hq] = 0
        flat_lens = lens.ravel()
        total = int(flat_lens.sum())
        if total:
            ends_cum = np.cumsum(flat_lens)
            pos = np.repeat(starts.ravel() - (ends_cum - flat_lens), flat_lens)
            pos += np.arange(total, dtype=np.int64)
            cand = np.take(self.postings, pos)
            # Probes of one query are contiguous, so candidates come grouped by query.
            counts = lens.sum(axis=1)
            qidx = np.repeat(np.arange(q.shape[0], dtype=np.int64), counts)
            dist = _hamming(np.take(self.words, cand, axis=0), np.repeat(q, counts, axis=0))
            if self.gstart is not None:
                results.append(self._members(q, qidx, cand, dist, threshold))
                return _concat3(results)
            keep = dist <= threshold
            cand, qidx, dist = cand[keep], qidx[keep], dist[keep]
            keep = self.alive[cand]
            cand, qidx, dist = cand[keep].astype(np.int64), qidx[keep], dist[keep]
            # A close match is found through several tables: keep one of each (query, row).
            pair = qidx * self.n + cand
            _, first = np.unique(pair, return_index=True)
            results.append((qidx[first], cand[first], dist[first]))
        return _concat3(results)

    def _members(
        self, q: np.ndarray, qidx: np.ndarray, lead: np.ndarray, dist: np.ndarray, threshold: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Matches among the groups found by the probes, given each candidate leader's distance.

        Exact by the triangle inequality: a member ``x`` of group ``g`` within ``threshold`` of
        the query shares a probed substring with it (pigeonhole, as for plain rows), so ``g`` is
        among the candidates (it is listed under every member's substrings), and its leader is
        within ``threshold + grad[g]``, so the group passes the filter and ``x`` is verified.
        Unrelated queries are rejected by one comparison per group instead of one per member.
        """
        assert self.gstart is not None and self.grad is not None
        keep = dist <= threshold + self._max_radius
        qidx, lead, dist = qidx[keep], lead[keep].astype(np.int64), dist[keep]
        # A group is found through several tables and probes: keep one of each (query, group).
        _, first = np.unique(qidx * self.n + lead, return_index=True)
        qidx, lead, dist = qidx[first], lead[first], dist[first]
        g = np.searchsorted(self.gstart, lead, side="right") - 1
        keep = dist <= self.grad[g].astype(np.int32) + threshold
        qidx, g = qidx[keep], g[keep]
        lo = self.gstart[g].astype(np.int64)
        size = self.gstart[g + 1].astype(np.int64) - lo
        total = int(size.sum())
        if not total:
            return _EMPTY3()
        ends = np.cumsum(size)
        rows = np.repeat(lo - (ends - size), size) + np.arange(total, dtype=np.int64)
        qq = np.repeat(qidx, size)
        d = _hamming(np.take(self.words, rows, axis=0), np.take(q, qq, axis=0))
        keep = (d <= threshold) & self.alive[rows]
        return qq[keep], rows[keep], d[keep]

    def locate(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``ids`` argument, rows here) of the given ids that are alive here."""
        if self.n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # ``sorter`` instead of gathering the sorted ids: a few lookups into a segment of
        # millions of rows cost O(k log n), not a copy of the segment's ids per call
        at = np.searchsorted(self.ids, ids, sorter=self.id_order)
        at_c = np.minimum(at, self.n - 1)
        rows = self.id_order[at_c].astype(np.int64)
        found = self.ids[rows] == ids
        found &= self.alive[rows]
        return np.flatnonzero(found), rows[found]

    def kill(self, rows: np.ndarray) -> int:
        rows = rows[self.alive[rows]]
        self.alive[rows] = False
        self.n_dead += int(rows.shape[0])
        return int(rows.shape[0])

    def live(self) -> tuple[np.ndarray, np.ndarray]:
        """Alive (words, ids), in row order."""
        if self.n_dead == 0:
            return self.words, self.ids
        return self.words[self.alive], self.ids[self.alive]

    @property
    def n_groups(self) -> int:
        return self.n if self.gstart is None else int(self.gstart.shape[0]) - 1

    def nbytes(self) -> int:
        arrays = [self.words, self.ids, self.id_order, self.alive, self.offsets, self.postings]
        if self.gstart is not None and self.grad is not None:
            arrays += [self.gstart, self.grad]
        return sum(a.nbytes for a in arrays)


_SCAN_MAX = 2048
"""Segments up to this many rows have no tables: scanning 64 KB is cheaper than probing."""


def _EMPTY3() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = np.zeros(0, dtype=np.int64)
    return z, z.copy(), np.zeros(0, dtype=np.int32)


def _concat3(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        return _EMPTY3()
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]


_COUNT_LOCK = threading.Lock()


def _fill_offsets(out: np.ndarray, key: np.ndarray, bits: int) -> None:
    """CSR end offsets (relative to the table) of every bucket of one table into ``out``.

    The bucket counts are int64, 128 MB for a 24-bit table; the lock keeps the two build
    threads from holding two of them at once (counting takes a few per cent of a table's time).
    """
    with _COUNT_LOCK:
        # Keys are below 2**26: uint64 ones read as int64 are the same numbers, without a copy.
        counts = np.bincount(
            key.view(np.int64) if key.dtype == np.uint64 else key, minlength=1 << bits
        )
        np.cumsum(counts, out=out)


def _regroup(
    words: np.ndarray, ids: np.ndarray, leader: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows reordered group by group, leader first: (words, ids, gstart, grad, leader row of
    each new row)."""
    n = int(words.shape[0])
    rows = np.arange(n, dtype=np.uint64)
    # Sort by (leader, is a member, row); fits 64 bits because n < 2**31.
    packed = leader.astype(np.uint64) << np.uint64(33)
    packed |= (leader != np.arange(n)).astype(np.uint64) << np.uint64(32)
    packed |= rows
    packed.sort()
    order = (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(packed[1:] >> np.uint64(33), packed[:-1] >> np.uint64(33), out=first[1:])
    del packed
    words, ids = words[order], ids[order]
    del order
    starts = np.flatnonzero(first)
    lead_row = starts[np.cumsum(first) - 1].astype(np.uint32)
    del first
    dist = _row_distances(words, None, lead_row)
    grad = np.maximum.reduceat(dist, starts).astype(np.uint8)
    gstart = np.append(starts, n).astype(np.uint32)
    return words, ids, gstart, grad, lead_row


def _scan(
    q: np.ndarray, words: np.ndarray, alive: np.ndarray | None, threshold: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exhaustive matches of queries against rows, in chunks of bounded memory (~32 MB)."""
    n = words.shape[0]
    if n == 0 or q.shape[0] == 0:
        return _EMPTY3()
    out_q, out_r, out_d = [], [], []
    qchunk = max(1, min(q.shape[0], 64))
    rchunk = max(1024, (1 << 20) // qchunk)
    for qlo in range(0, q.shape[0], qchunk):
        qq = q[qlo : qlo + qchunk]
        for rlo in range(0, n, rchunk):
            block = words[rlo : rlo + rchunk]
            c = np.bitwise_count(qq[:, None, :] ^ block[None, :, :])
            d = c[:, :, 0].astype(np.int32)
            d += c[:, :, 1]
            d += c[:, :, 2]
            d += c[:, :, 3]
            qi, ri = np.nonzero(d <= threshold)
            if qi.size:
                rows = ri + rlo
                if alive is not None:
                    ok = alive[rows]
                    qi, ri, rows = qi[ok], ri[ok], rows[ok]
                out_q.append(qi + qlo)
                out_r.append(rows)
                out_d.append(d[qi, ri])
    if not out_q:
        return _EMPTY3()
    return (
        np.concatenate(out_q).astype(np.int64),
        np.concatenate(out_r).astype(np.int64),
        np.concatenate(out_d).astype(np.int32),
    )


# --- The index -----------------------------------------------------------------------------------


class PdqIndex:
    """All stored PDQ hashes within a Hamming threshold of a query (exact, see module docstring).

    Each stored hash carries a caller-chosen int64 ``id`` (for example the bank content row),
    unique among live entries. Thread-safe: lookups run concurrently with additions, removals
    and :meth:`compact`.
    """

    def __init__(
        self,
        *,
        threshold: int = DEFAULT_PDQ_THRESHOLD,
        buffer_size: int = 2048,
        auto_merge_max: int = 1_000_000,
    ) -> None:
        if not 0 <= threshold <= PDQ_BITS:
            raise InvalidInput(f"PDQ threshold must be 0..256, got {threshold}")
        self.threshold = threshold
        self.buffer_size = buffer_size
        self.auto_merge_max = auto_merge_max
        self._lock = threading.RLock()
        self._segments: list[_Segment] = []
        self._buf_words = np.zeros((buffer_size, 4), dtype=np.uint64)
        self._buf_ids = np.zeros(buffer_size, dtype=np.int64)
        self._buf_alive = np.zeros(buffer_size, dtype=bool)
        self._buf_n = 0
        self._compacting = False
        self._removed_while_compacting: list[np.ndarray] = []

    # Size and introspection -------------------------------------------------------------------
    def __len__(self) -> int:
        with self._lock:
            buffered = int(self._buf_alive[: self._buf_n].sum())
            return sum(s.n_alive for s in self._segments) + buffered

    def stats(self) -> dict[str, Any]:
        """Sizes, table layout and memory, for metrics and the benchmark."""
        with self._lock:
            segs: list[dict[str, Any]] = [
                {
                    "rows": s.n,
                    "dead": s.n_dead,
                    "tables": len(s.lens),
                    "groups": s.n_groups,
                    "substring_bits": sorted(set(s.lens)),
                    "bytes": s.nbytes(),
                }
                for s in self._segments
            ]
            return {
                "entries": len(self),
                "buffered": self._buf_n,
                "segments": segs,
                "bytes": sum(int(s["bytes"]) for s in segs) + self._buf_words.nbytes,
            }

    # Mutation -------------------------------------------------------------------------------
    def add(
        self, hashes: np.ndarray | Sequence[str] | str, ids: Iterable[int] | np.ndarray
    ) -> None:
        """Add hashes with their ids; visible to the next lookup.

        Raises InvalidInput for malformed hashes or a length mismatch and Conflict when an id is
        already present (remove it first to replace its hash).
        """
        words = _as_words(hashes)
        id_arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        if id_arr.ndim != 1 or id_arr.shape[0] != words.shape[0]:
            raise InvalidInput(
                f"got {words.shape[0]} hashes but {id_arr.size} ids; give one id per hash"
            )
        if words.shape[0] == 0:
            return
        sorted_ids = np.sort(id_arr)
        dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
        if dup.size:
            raise Conflict(f"id {int(sorted_ids[dup[0]])} appears twice in one addition")
        with self._lock:
            present = self._present(id_arr)
            if present.size:
                raise Conflict(
                    f"id {int(present[0])} is already in the index; remove it before re-adding"
                )
            if words.shape[0] >= self.buffer_size:
                self._segments.append(_Segment.build(words, id_arr, self.threshold))
                self._merge_small()
                return
            lo = 0
            while lo < words.shape[0]:
                room = self.buffer_size - self._buf_n
                take = min(room, words.shape[0] - lo)
                sl = slice(self._buf_n, self._buf_n + take)
                self._buf_words[sl] = words[lo : lo + take]
                self._buf_ids[sl] = id_arr[lo : lo + take]
                self._buf_alive[sl] = True
                self._buf_n += take
                lo += take
                if self._buf_n == self.buffer_size:
                    self._flush_buffer()

    def _present(self, ids: np.ndarray) -> np.ndarray:
        found = []
        for s in self._segments:
            pos, _ = s.locate(ids)
            found.append(ids[pos])
        n = self._buf_n
        if n:
            mask = np.isin(ids, self._buf_ids[:n][self._buf_alive[:n]])
            found.append(ids[mask])
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    def _flush_buffer(self) -> None:
        n = self._buf_n
        alive = self._buf_alive[:n]
        if alive.any():
            words, ids = self._buf_words[:n][alive].copy(), self._buf_ids[:n][alive].copy()
            self._segments.append(_Segment.build(words, ids, self.threshold))
        self._buf_n = 0
        self._buf_alive[:] = False
        self._merge_small()

    def _merge_small(self) -> None:
        """Size-tiered merging: fold the newest segment into the previous one while they are of
        comparable size and the merge stays cheap (bounded by ``auto_merge_max`` rows); bigger
        merges wait for :meth:`compact`, so one ``add`` never stalls on a huge rebuild."""
        segs = self._segments
        while len(segs) >= 2 and not self._compacting:
            a, b = segs[-2], segs[-1]
            if a.n_alive + b.n_alive > self.auto_merge_max or b.n_alive * 4 < a.n_alive:
                break
            wa, ia = a.live()
            wb, ib = b.live()
            merged = _Segment.build(
                np.concatenate([wa, wb]), np.concatenate([ia, ib]), self.threshold
            )
            segs[-2:] = [merged]

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove entries by id (tombstones, visible at once); returns how many were present."""
        id_arr = np.unique(
            np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        )
        if id_arr.size == 0:
            return 0
        removed = 0
        with self._lock:
            for s in self._segments:
                _, rows = s.locate(id_arr)
                removed += s.kill(rows)
            n = self._buf_n
            if n:
                mask = np.isin(self._buf_ids[:n], id_arr) & self._buf_alive[:n]
                removed += int(mask.sum())
                self._buf_alive[:n][mask] = False
            if self._compacting:
                self._removed_while_compacting.append(id_arr)
        return removed

    def remove_one(self, id_: int) -> None:
        """Remove one entry; NotFound when it is not in the index."""
        if not self.remove([id_]):
            raise NotFound(f"no PDQ entry with id {id_} in the index")

    def compact(self) -> None:
        """Merge every segment and the buffer into one, dropping removed entries.

        Builds outside the lock (lookups and additions continue; additions made meanwhile land in
        new segments), then swaps the result in and replays removals made during the build.
        """
        with self._lock:
            if self._compacting:
                return
            if self._buf_n:
                self._flush_buffer()
            snapshot = list(self._segments)
            if len(snapshot) <= 1 and all(s.n_dead == 0 for s in snapshot):
                return
            self._compacting = True
            self._removed_while_compacting = []
        try:
            parts = [s.live() for s in snapshot]
            words = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 4), np.uint64)
            ids = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
            merged = _Segment.build(words, ids, self.threshold)
            del parts, words, ids
            with self._lock:
                for removed in self._removed_while_compacting:
                    _, rows = merged.locate(removed)
                    merged.kill(rows)
                count = len(snapshot)
                assert self._segments[:count] == snapshot
                self._segments[:count] = [merged]
        finally:
            with self._lock:
                self._compacting = False
                self._removed_while_compacting = []

    # Lookups --------------------------------------------------------------------------------
    def search(self, query: str | np.ndarray, threshold: int | None = None) -> list[IndexMatch]:
        """Entries within ``threshold`` (default: the index's) of one hash, nearest first."""
        _, ids, dist = self.search_many(
            [query] if isinstance(query, str) else np.asarray(query).reshape(1, -1), threshold
        )
        order = np.lexsort((ids, dist))
        return [IndexMatch(int(ids[i]), int(dist[i])) for i in order]

    def search_many(
        self,
        queries: np.ndarray | Sequence[str],
        threshold: int | None = None,
        *,
        batch: int = 32,
        workers: int = 1,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Matches of many queries as three arrays ``(query_index, id, distance)``, grouped by
        query. Batching amortises numpy call overhead; ``workers=2`` runs batches on two
        threads (the heavy numpy calls release the GIL)."""
        thr = self.threshold if threshold is None else int(threshold)
        if not 0 <= thr <= PDQ_BITS:
            raise InvalidInput(f"PDQ threshold must be 0..256, got {thr}", field="threshold")
        q = _as_words(queries)
        with self._lock:
            segments = list(self._segments)
            n = self._buf_n
            buf = (self._buf_words[:n].copy(), self._buf_ids[:n].copy(), self._buf_alive[:n].copy())

        def run(lo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            qq = q[lo : lo + batch]
            parts = []
            for s in segments:
                qi, rows, d = s.search(qq, thr)
                parts.append((qi + lo, s.ids[rows], d))
            if n:
                qi, rows, d = _scan(qq, buf[0], buf[2], thr)
                parts.append((qi + lo, buf[1][rows], d))
            if not parts:
                return _EMPTY3()
            return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]

        starts = range(0, q.shape[0], batch)
        if workers > 1 and len(starts) > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                chunks = list(pool.map(run, starts))
        else:
            chunks = [run(lo) for lo in starts]
        if not chunks:
            return _EMPTY3()
        qi, ids, d = (np.concatenate(p) for p in zip(*chunks, strict=True))
        order = np.argsort(qi, kind="stable")
        return qi[order], ids[order], d[order]

    def live_ids(self) -> np.ndarray:
        """Ids of every live entry (any order): what an index built on top of this one (vPDQ's
        frames) needs to rebuild its own bookkeeping from a loaded file."""
        with self._lock:
            parts = [s.live()[1] for s in self._segments]
            n = self._buf_n
            parts.append(self._buf_ids[:n][self._buf_alive[:n]])
        return np.concatenate(parts).astype(np.int64, copy=False)

    def words_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, words): whether each given id is present, and its stored hash as an
        ``(n, 4)`` uint64 row (zeros where absent), in the order of ``ids``. For an index built
        on top of this one that compares whole groups of entries (vPDQ's videos)."""
        id_arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        out = np.zeros((id_arr.shape[0], 4), dtype=np.uint64)
        found = np.zeros(id_arr.shape[0], dtype=bool)
        with self._lock:
            for s in self._segments:
                pos, rows = s.locate(id_arr)
                out[pos] = s.words[rows]
                found[pos] = True
            n = self._buf_n
            if n and not found.all():
                bids, alive = self._buf_ids[:n], self._buf_alive[:n]
                hit = np.flatnonzero(np.isin(id_arr, bids[alive]) & ~found)
                if hit.size:
                    at = {int(i): r for r, i in enumerate(bids.tolist()) if alive[r]}
                    rows = np.array([at[int(i)] for i in id_arr[hit]], dtype=np.int64)
                    out[hit] = self._buf_words[rows]
                    found[hit] = True
        return found, out

    def hashes_of(self, ids: Iterable[int]) -> dict[int, str]:
        """Stored hex hash of each given id that is present (for answers and exports)."""
        id_arr = np.asarray(list(ids), dtype=np.int64)
        out: dict[int, str] = {}
        with self._lock:
            for s in self._segments:
                pos, rows = s.locate(id_arr)
                for p, r in zip(pos, rows, strict=True):
                    out[int(id_arr[p])] = s.words[r].view(np.uint8).tobytes().hex()
            wanted = set(id_arr.tolist())
            for i in range(self._buf_n):
                if self._buf_alive[i] and int(self._buf_ids[i]) in wanted:
                    out[int(self._buf_ids[i])] = self._buf_words[i].view(np.uint8).tobytes().hex()
        return out

    # Persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the whole index to one file, atomically (temp file, fsync, rename)."""
        path = Path(path)
        with self._lock:
            if self._buf_n:
                self._flush_buffer()
            segments = list(self._segments)
            header: dict[str, Any] = {"version": 2, "threshold": self.threshold, "segments": []}
            arrays: list[np.ndarray] = []
            for s in segments:
                entry: dict[str, Any] = {"lens": s.lens, "n_dead": s.n_dead, "arrays": {}}
                names = ["words", "ids", "id_order", "alive", "offsets", "postings"]
                if s.gstart is not None:
                    names += ["gstart", "grad"]
                for name in names:
                    a = np.ascontiguousarray(getattr(s, name))
                    entry["arrays"][name] = {
                        "dtype": a.dtype.str,
                        "shape": list(a.shape),
                        "index": len(arrays),
                    }
                    arrays.append(a)
                header["segments"].append(entry)
            # Offsets are filled in below once the header size is known.
            offsets: list[int] = []
            head = json.dumps(header).encode()
            pos = _round_up(len(_FILE_MAGIC) + 8 + len(head) + 4096, _ALIGN)
            for a in arrays:
                offsets.append(pos)
                pos = _round_up(pos + a.nbytes, _ALIGN)
            header["array_offsets"] = offsets
            head = json.dumps(header).encode()
            assert len(_FILE_MAGIC) + 8 + len(head) <= offsets[0] if offsets else True
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
            try:
                with open(tmp, "wb") as fh:
                    fh.write(_FILE_MAGIC)
                    fh.write(len(head).to_bytes(8, "little"))
                    fh.write(head)
                    for a, off in zip(arrays, offsets, strict=True):
                        fh.seek(off)
                        a.tofile(fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            finally:
                if tmp.exists():
                    tmp.unlink()

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mmap: bool = True) -> PdqIndex:
        """Open a saved index. With ``mmap`` the big arrays are mapped read-only and paged in
        on demand (a 10-million-hash index opens in milliseconds); tombstones are copied into
        memory because they change."""
        path = Path(path)
        try:
            with open(path, "rb") as fh:
                magic = fh.read(len(_FILE_MAGIC))
                if magic != _FILE_MAGIC:
                    raise InvalidInput(f"{path} is not a tangkal PDQ index file")
                size = int.from_bytes(fh.read(8), "little")
                header = json.loads(fh.read(size))
        except FileNotFoundError as exc:
            raise NotFound(f"no PDQ index file at {path}") from exc
        if header.get("version") not in (1, 2):  # 1: no groups (written before they existed)
            raise InvalidInput(
                f"{path}: unsupported PDQ index file version {header.get('version')}"
            )
        index = cls(threshold=int(header["threshold"]))
        offsets = header["array_offsets"]
        for entry in header["segments"]:
            arrs: dict[str, np.ndarray] = {}
            for name, meta in entry["arrays"].items():
                dtype = np.dtype(meta["dtype"])
                shape = tuple(meta["shape"])
                off = offsets[meta["index"]]
                count = int(np.prod(shape)) if shape else 1
                a: np.ndarray
                if mmap and count:
                    a = np.memmap(path, dtype=dtype, mode="r", offset=off, shape=shape)
                else:
                    a = np.fromfile(path, dtype=dtype, count=count, offset=off).reshape(shape)
                arrs[name] = a
            arrs["alive"] = np.array(arrs["alive"], dtype=bool)  # writable copy
            seg = _Segment(
                arrs["words"],
                arrs["ids"],
                arrs["id_order"],
                arrs["alive"],
                list(entry["lens"]),
                arrs["offsets"],
                arrs["postings"],
                n_dead=int(entry["n_dead"]),
                gstart=arrs.get("gstart"),
                grad=arrs.get("grad"),
            )
            index._segments.append(seg)
        return index


def _round_up(x: int, a: int) -> int:
    return (x + a - 1) // a * a


# --- Exact digests -------------------------------------------------------------------------------


class ExactIndex:
    """Exact-match index for md5, sha256 and normalised-text digests: signal -> ids.

    A dict is the right tool: lookups are O(1) and 10 million 32-byte digests fit in about
    2 GB of Python objects, which is more than PDQ's arrays; banks of that size should keep
    exact digests in the database index instead, which this class mirrors for small banks
    and tests.
    """

    def __init__(self) -> None:
        self._by_signal: dict[str, set[int]] = {}
        self._by_id: dict[int, str] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, signal: str, id_: int) -> None:
        """Add one (validated) signal; Conflict when the id is already present."""
        with self._lock:
            if id_ in self._by_id:
                raise Conflict(f"id {id_} is already in the index; remove it before re-adding")
            self._by_id[id_] = signal
            self._by_signal.setdefault(signal, set()).add(id_)

    def remove(self, id_: int) -> bool:
        """Remove one id; False when it was not there."""
        with self._lock:
            signal = self._by_id.pop(id_, None)
            if signal is None:
                return False
            ids = self._by_signal[signal]
            ids.discard(id_)
            if not ids:
                del self._by_signal[signal]
            return True

    def search(self, signal: str) -> list[IndexMatch]:
        """Ids stored with exactly this signal (distance 0)."""
        with self._lock:
            return [IndexMatch(i, 0) for i in sorted(self._by_signal.get(signal, ()))]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Atomic JSON dump (these indexes are small; the database is the source of truth)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with self._lock:
            data = json.dumps({"version": 1, "entries": list(self._by_id.items())})
        tmp.write_text(data)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ExactIndex:
        index = cls()
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise NotFound(f"no exact index file at {path}") from exc
        for id_, signal in data["entries"]:
            index.add(signal, int(id_))
        return index


# --- Near-duplicate text --------------------------------------------------------------------------


class MinHashLshIndex:
    """Locality-sensitive hashing over MinHash signatures (``text_near``).

    The 64 slots are cut into 32 bands of 2; two signatures become candidates when any band is
    identical, which happens with probability ``1 - (1 - J**2)**32`` for Jaccard similarity J
    (0.99 at J = 0.4). Candidates are verified by the real slot distance.
    """

    def __init__(self, slots: int = 64, rows_per_band: int = 2) -> None:
        if slots % rows_per_band:
            raise InvalidInput("slots must be a multiple of rows_per_band")
        self.slots = slots
        self.rows = rows_per_band
        self._sigs: dict[int, np.ndarray] = {}
        self._buckets: list[dict[bytes, set[int]]] = [{} for _ in range(slots // rows_per_band)]
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sigs)

    def _bands(self, sig: np.ndarray) -> list[bytes]:
        raw = np.ascontiguousarray(sig, dtype=np.uint32)
        return [
            raw[b * self.rows : (b + 1) * self.rows].tobytes() for b in range(len(self._buckets))
        ]

    def _sig(self, signal: str | np.ndarray) -> np.ndarray:
        from tangkal.hashing.text import signature_from_hex

        sig = signature_from_hex(signal) if isinstance(signal, str) else np.asarray(signal)
        if sig.shape != (self.slots,):
            raise InvalidInput(f"a text_near signature has {self.slots} slots, got {sig.shape}")
        return sig.astype(np.uint32)

    def add(self, signal: str | np.ndarray, id_: int) -> None:
        sig = self._sig(signal)
        with self._lock:
            if id_ in self._sigs:
                raise Conflict(f"id {id_} is already in the index; remove it before re-adding")
            self._sigs[id_] = sig
            for band, key in zip(self._buckets, self._bands(sig), strict=True):
                band.setdefault(key, set()).add(id_)

    def remove(self, id_: int) -> bool:
        with self._lock:
            sig = self._sigs.pop(id_, None)
            if sig is None:
                return False
            for band, key in zip(self._buckets, self._bands(sig), strict=True):
                members = band.get(key)
                if members is not None:
                    members.discard(id_)
                    if not members:
                        del band[key]
            return True

    def search(self, signal: str | np.ndarray, threshold: int) -> list[IndexMatch]:
        """Stored signatures within ``threshold`` differing slots, nearest first."""
        sig = self._sig(signal)
        with self._lock:
            cands: set[int] = set()
            for band, key in zip(self._buckets, self._bands(sig), strict=True):
                cands |= band.get(key, set())
            out = []
            for c in cands:
                d = int(np.count_nonzero(self._sigs[c] != sig))
                if d <= threshold:
                    out.append(IndexMatch(c, d))
        return sorted(out, key=lambda m: (m.distance, m.id))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Signatures only; buckets are rebuilt on load (cheap next to computing MinHashes)."""
        path = Path(path)
        with self._lock:
            ids = np.fromiter(self._sigs.keys(), dtype=np.int64, count=len(self._sigs))
            sigs = (
                np.stack(list(self._sigs.values()))
                if self._sigs
                else np.zeros((0, self.slots), np.uint32)
            )
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npz")
        np.savez(tmp, ids=ids, sigs=sigs, rows=np.array([self.rows]))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MinHashLshIndex:
        try:
            with np.load(path) as data:
                ids, sigs, rows = data["ids"], data["sigs"], int(data["rows"][0])
        except FileNotFoundError as exc:
            raise NotFound(f"no text index file at {path}") from exc
        index = cls(
            slots=sigs.shape[1] if sigs.ndim == 2 and sigs.shape[0] else 64, rows_per_band=rows
        )
        for id_, sig in zip(ids.tolist(), sigs, strict=True):
            index.add(sig, int(id_))
        return index
