"""The RFC 9162 (Certificate Transparency v2) Merkle tree over the audit chain.

The hash chain proves order, but a reader holding a signed checkpoint of size and head can
check one entry, or that a later checkpoint extends an earlier one, only by fetching the
whole chain. A Merkle tree over the same entries answers both with O(log n) hashes: an
*inclusion proof* (RFC 9162 §2.1.3, the audit path) and a *consistency proof* (§2.1.4).

The tree's leaves are the entries in ``seq`` order; a leaf's input is the entry's chain hash
as bytes (``bytes.fromhex(event.hash)``), which already commits to everything the entry
says. Hashes are the RFC's: a leaf is SHA-256(0x00 || input), an inner node SHA-256(0x01 ||
left || right), and a list of n > 1 leaves splits at k, the largest power of two smaller
than n. The empty tree's hash is SHA-256 of nothing.

This module has three parts that share only :func:`leaf_hash` and :func:`node_hash`:

- the tree hash of a stream of leaves (:func:`root`), computed in one pass with a stack of
  the completed perfect subtrees (at most log2 n of them), so O(n) time and O(log n) memory;
- proof *generation* (:func:`inclusion_path`, :func:`consistency_proof`), the RFC's PATH and
  PROOF recursions over a callback that gives the hash of any range of leaves, and
  :class:`Subtrees`, which answers that callback with a cache (see its docstring);
- proof *verification* (:func:`verify_inclusion`, :func:`verify_consistency`), written from
  the RFC's verification algorithms (§2.1.3.2, §2.1.4.2) and not from the generator, so a
  mistake in one is not silently repeated in the other: the tests check each against a plain
  recursive reference.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Protocol

#: hash of the tree of no leaves (RFC 9162 §2.1.1)
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """k, the largest power of two smaller than ``n`` (n > 1): where the RFC splits."""
    return 1 << ((n - 1).bit_length() - 1)


# -- the tree hash in one pass ------------------------------------------------------------


class _Stack:
    """The completed perfect subtrees of a prefix of leaves, largest first: pushing a node
    merges it with the top while both cover the same number of leaves. Folding the stack
    right to left gives the RFC's tree hash, because the RFC's left subtrees are exactly the
    perfect subtrees of the binary digits of n, largest first."""

    __slots__ = ("heights", "nodes")

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.heights: list[int] = []

    def push(self, node: bytes, height: int) -> None:
        while self.heights and self.heights[-1] == height:
            node = node_hash(self.nodes.pop(), node)
            self.heights.pop()
            height += 1
        self.nodes.append(node)
        self.heights.append(height)

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        acc = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            acc = node_hash(node, acc)
        return acc


def root(leaves: Iterable[bytes]) -> bytes:
    """The Merkle Tree Hash of the leaf inputs, streamed once (O(log n) memory)."""
    stack = _Stack()
    for data in leaves:
        stack.push(leaf_hash(data), 0)
    return stack.root()


# -- proof generation ---------------------------------------------------------------------

#: the hash of the leaves [lo, hi), 0-based, hi > lo
RangeHash = Callable[[int, int], bytes]


def inclusion_path(index: int, size: int, subtree: RangeHash) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) for leaf ``index`` (0-based) in a tree of ``size``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:  # walking down; each step adds its sibling, so reverse at the end
        k = split(hi - lo)
        if m < k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, subtree: RangeHash) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]) between the trees of ``first`` and ``second``
    leaves; empty when they are the same size."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves")
    proof: list[bytes] = []
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:  # SUBPROOF(m, D[lo:hi], whole), outermost first: reverse at the end
        k = split(hi - lo)
        if m <= k:
            proof.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        proof.append(subtree(lo, hi))
    proof.reverse()
    return proof


class LeafSource(Protocol):
    """Where :class:`Subtrees` reads leaf inputs (0-based indices)."""

    def leaves(self, lo: int, hi: int) -> Iterator[bytes]:
        """The inputs of leaves [lo, hi), in order."""
        ...

    def some(self, indices: Sequence[int]) -> Mapping[int, bytes]:
        """The inputs of the given leaves."""
        ...


#: leaves per cached chunk: a proof reads at most about 2 * CHUNK leaves once its chunks are
#: cached, and the cache holds 32 bytes and a key per CHUNK leaves
CHUNK = 1024
_CACHE_MAX = 1 << 16  # chunks: 64 Mi leaves, about 6 MiB
_cache: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()
_cache_lock = threading.Lock()


class Subtrees:
    """The hash of any range of leaves, for proof generation, with completed chunks cached.

    What was chosen, and why: a proof needs the hashes of O(log n) ranges that together
    cover all n leaves, so computed plainly each proof reads the whole chain. The chain is
    append-only, so a perfect subtree of ``CHUNK`` aligned leaves, once complete, never
    changes: its hash is kept in a process-wide LRU cache and a warm proof reads only the
    leaves of the (at most two) chunks it does not fully cover, once each, plus one small
    query per range for the chunks' last leaves. Ranges the RFC's recursion asks for that
    are larger than a chunk start on a chunk boundary, so they are built from whole chunks
    and a tail.

    The cache key is the chunk's index *and* its last leaf's input: an entry's chain hash
    commits to every entry before it, so a chain replaced underneath (another database, a
    rewritten tail) misses the cache rather than being answered from it. An edit that breaks
    the chain's links inside a chunk is not seen here; ``tangkal audit verify`` finds it, and
    it recomputes roots from the chain without this cache. The cache is per process (each
    API worker warms its own), bounded, and lock-protected for the server's threads.
    """

    def __init__(self, source: LeafSource, *, chunk: int | None = None) -> None:
        self.source = source
        self.chunk = chunk or CHUNK  # read now, so a test can make chunks small
        # leaves of the partial chunks this instance (one proof) has read: a proof asks
        # for ranges of 1, 2, 4... leaves around its leaf, one read serves them all
        self._partial: dict[int, list[bytes]] = {}

    def _leaves(self, lo: int, hi: int) -> Iterator[bytes]:
        c = self.chunk
        while lo < hi:
            i = lo // c
            start, stop = i * c, min(hi, (i + 1) * c)
            have = self._partial.get(i)
            if have is None or len(have) < stop - start:
                have = self._partial[i] = list(self.source.leaves(start, stop))
            yield from have[lo - start : stop - start]
            lo = stop

    def __call__(self, lo: int, hi: int) -> bytes:
        c = self.chunk
        full = (hi - lo) // c if lo % c == 0 else 0
        stack = _Stack()
        if full:
            height = c.bit_length() - 1
            for node in self._chunks(lo // c, full):
                stack.push(node, height)
        for data in self._leaves(lo + full * c, hi):
            stack.push(leaf_hash(data), 0)
        return stack.root()

    def _chunks(self, first: int, count: int) -> list[bytes]:
        c = self.chunk
        indices = list(range(first, first + count))
        last = self.source.some([(i + 1) * c - 1 for i in indices])
        if len(last) != count:
            raise ValueError("the leaf source has fewer leaves than the range asked for")
        found: dict[int, bytes] = {}
        with _cache_lock:
            for i in indices:
                key = (i, last[(i + 1) * c - 1])
                if key in _cache:
                    _cache.move_to_end(key)
                    found[i] = _cache[key]
        missing = [i for i in indices if i not in found]
        run_start = 0
        while run_start < len(missing):  # consecutive missing chunks: one read for each run
            run_end = run_start
            while run_end + 1 < len(missing) and missing[run_end + 1] == missing[run_end] + 1:
                run_end += 1
            lo, hi = missing[run_start] * c, (missing[run_end] + 1) * c
            stack, i = _Stack(), missing[run_start]
            for n, data in enumerate(self.source.leaves(lo, hi), start=1):
                stack.push(leaf_hash(data), 0)
                if n % c == 0:
                    found[i] = stack.root()
                    stack, i = _Stack(), i + 1
            run_start = run_end + 1
        with _cache_lock:
            for i in missing:
                if i in found:  # a source shorter than asked leaves its chunk out
                    key = (i, last[(i + 1) * c - 1])
                    _cache[key] = found[i]
                    _cache.move_to_end(key)
            while len(_cache) > _CACHE_MAX:
                _cache.popitem(last=False)
        if len(found) != count:
            raise ValueError("the leaf source has fewer leaves than the range asked for")
        return [found[i] for i in indices]


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# -- proof verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ----------------------------------


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """Whether ``path`` proves the leaf hash ``leaf`` is leaf ``index`` of the tree of
    ``size`` leaves whose hash is ``expected_root`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``second`` leaves (hash ``second_root``) extends
    the tree of ``first`` leaves (hash ``first_root``) (RFC 9162 §2.1.4.2). The same size
    holds only with an empty proof and equal hashes; a first tree of no leaves is refused,
    since nothing can be proved about it."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the first tree is a node itself
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
