"""The RFC 9162 Merkle tree: roots, audit paths and consistency proofs against a plain
recursive reference written from the RFC's definitions here, for every tree of 1 to 64
leaves, every leaf and every pair of sizes; and tampered proofs or wrong roots refused."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence

import pytest

from tangkal.audit import merkle

# The reference leaves and tree heads of Certificate Transparency's own test suite
# (RFC 6962 and RFC 9162 hash the same way), sizes 0 to 8.
CT_LEAVES = [
    bytes.fromhex(x)
    for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

N = 64
LEAVES = [hashlib.sha256(str(i).encode()).digest() for i in range(N)]  # like chain hashes


# -- the reference: the RFC's definitions, recursively, nothing shared with the code -------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


class ListLeaves:
    """A leaf source over a list, counting what it reads."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.data = list(leaves)
        self.read = 0

    def leaves(self, lo: int, hi: int) -> Iterator[bytes]:
        for i in range(lo, min(hi, len(self.data))):
            self.read += 1
            yield self.data[i]

    def some(self, indices: Sequence[int]) -> Mapping[int, bytes]:
        return {i: self.data[i] for i in indices if i < len(self.data)}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    merkle.clear_cache()
    yield
    merkle.clear_cache()


def _flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


# -- roots ---------------------------------------------------------------------------------


def test_the_roots_are_certificate_transparencys() -> None:
    for n, want in enumerate(CT_ROOTS):
        assert merkle.root(CT_LEAVES[:n]).hex() == want
        assert ref_mth(CT_LEAVES[:n]).hex() == want  # and the reference is the RFC's


@pytest.mark.parametrize("chunk", [1, 2, 4, 8, 1024])
def test_every_range_hash_is_the_reference_whatever_the_chunk(chunk: int) -> None:
    subtrees = merkle.Subtrees(ListLeaves(LEAVES), chunk=chunk)
    for n in range(1, N + 1):
        assert merkle.root(LEAVES[:n]) == ref_mth(LEAVES[:n])
        for lo in range(n):
            assert subtrees(lo, n) == ref_mth(LEAVES[lo:n]), (lo, n)


# -- inclusion -----------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [2, 8, 1024])
def test_every_audit_path_is_the_rfcs_and_verifies(chunk: int) -> None:
    subtrees = merkle.Subtrees(ListLeaves(LEAVES), chunk=chunk)
    for n in range(1, N + 1):
        tree = LEAVES[:n]
        r = ref_mth(tree)
        for m in range(n):
            path = merkle.inclusion_path(m, n, subtrees)
            assert path == ref_path(m, tree), (m, n)
            leaf = merkle.leaf_hash(tree[m])
            assert merkle.verify_inclusion(m, n, leaf, path, r), (m, n)


def test_a_tampered_audit_path_or_a_wrong_root_is_refused() -> None:
    for n in range(1, N + 1):
        tree = LEAVES[:n]
        r = ref_mth(tree)
        paths = [ref_path(m, tree) for m in range(n)]
        for m, path in enumerate(paths):
            leaf = merkle.leaf_hash(tree[m])
            assert not merkle.verify_inclusion(m, n, leaf, path, _flip(r))
            assert not merkle.verify_inclusion(m, n, _flip(leaf), path, r)
            assert not merkle.verify_inclusion(m, n, merkle.leaf_hash(b"other"), path, r)
            for i in range(len(path)):
                bad = [*path[:i], _flip(path[i]), *path[i + 1 :]]
                assert not merkle.verify_inclusion(m, n, leaf, bad, r), (m, n, i)
            assert not merkle.verify_inclusion(m, n, leaf, [*path, r], r)  # one too many
            if path:
                assert not merkle.verify_inclusion(m, n, leaf, path[:-1], r)  # one short
            # the same path claimed for another position or another size
            for other in range(n):
                if other != m and paths[other] != path:
                    assert not merkle.verify_inclusion(other, n, leaf, path, r)
            assert not merkle.verify_inclusion(m, n + 1, leaf, path, ref_mth(LEAVES[: n + 1]))
            assert not merkle.verify_inclusion(n, n, leaf, path, r)  # index past the end
            assert not merkle.verify_inclusion(-1, n, leaf, path, r)


def test_the_generator_refuses_a_leaf_outside_the_tree() -> None:
    subtrees = merkle.Subtrees(ListLeaves(LEAVES))
    for index, size in ((0, 0), (3, 3), (-1, 4)):
        with pytest.raises(ValueError, match="not in a tree"):
            merkle.inclusion_path(index, size, subtrees)


# -- consistency ---------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [2, 8, 1024])
def test_every_consistency_proof_is_the_rfcs_and_verifies(chunk: int) -> None:
    subtrees = merkle.Subtrees(ListLeaves(LEAVES), chunk=chunk)
    for n in range(1, N + 1):
        rn = ref_mth(LEAVES[:n])
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(m, n, subtrees)
            assert proof == ref_subproof(m, LEAVES[:n], True), (m, n)
            rm = ref_mth(LEAVES[:m])
            assert merkle.verify_consistency(m, n, rm, rn, proof), (m, n)


def test_a_tampered_consistency_proof_or_a_wrong_root_is_refused() -> None:
    for n in range(1, N + 1):
        rn = ref_mth(LEAVES[:n])
        for m in range(1, n + 1):
            proof = ref_subproof(m, LEAVES[:n], True)
            rm = ref_mth(LEAVES[:m])
            assert not merkle.verify_consistency(m, n, _flip(rm), rn, proof), (m, n)
            assert not merkle.verify_consistency(m, n, rm, _flip(rn), proof), (m, n)
            for i in range(len(proof)):
                bad = [*proof[:i], _flip(proof[i]), *proof[i + 1 :]]
                assert not merkle.verify_consistency(m, n, rm, rn, bad), (m, n, i)
            if proof:
                assert not merkle.verify_consistency(m, n, rm, rn, proof[:-1])
            assert not merkle.verify_consistency(m, n, rm, rn, [*proof, rn])
            # a rewritten first tree: its root no longer leads to the second
            rewritten = [*LEAVES[: m - 1], b"rewritten"]
            assert not merkle.verify_consistency(m, n, ref_mth(rewritten), rn, proof)
            if m < n:  # the proof for another first size
                assert not merkle.verify_consistency(m + 1, n, ref_mth(LEAVES[: m + 1]), rn, proof)
    assert not merkle.verify_consistency(0, 4, ref_mth([]), ref_mth(LEAVES[:4]), [])
    assert not merkle.verify_consistency(5, 4, ref_mth(LEAVES[:5]), ref_mth(LEAVES[:4]), [])


def test_the_generator_refuses_sizes_that_go_backwards_or_start_empty() -> None:
    subtrees = merkle.Subtrees(ListLeaves(LEAVES))
    for first, second in ((0, 3), (4, 3)):
        with pytest.raises(ValueError, match="no consistency proof"):
            merkle.consistency_proof(first, second, subtrees)


# -- the cache -----------------------------------------------------------------------------


def test_completed_chunks_are_cached_and_a_replaced_chain_misses_them() -> None:
    n = 40 * 8 + 5
    leaves = [hashlib.sha256(b"a%d" % i).digest() for i in range(n)]
    source = ListLeaves(leaves)
    subtrees = merkle.Subtrees(source, chunk=8)
    cold_path = merkle.inclusion_path(100, n, subtrees)
    cold = source.read
    assert cold >= n - 1  # the first proof reads (nearly) every leaf
    source.read = 0
    assert merkle.inclusion_path(100, n, subtrees) == cold_path == ref_path(100, leaves)
    assert source.read <= 2 * 8  # warm: only the leaves of chunks it does not fully cover
    # a chain with another entry inside the cached chunks: its chunk's last leaf differs
    # (a chain hash commits to all before it), so nothing stale is answered
    other = [*leaves]
    for i in range(7, n, 8):
        other[i] = hashlib.sha256(b"b%d" % i).digest()
    again = merkle.Subtrees(ListLeaves(other), chunk=8)
    assert again(0, n) == ref_mth(other)
    assert merkle.inclusion_path(100, n, again) == ref_path(100, other)


def test_a_source_shorter_than_the_range_is_an_error_not_a_smaller_tree() -> None:
    subtrees = merkle.Subtrees(ListLeaves(LEAVES[:20]), chunk=8)
    with pytest.raises(ValueError, match="fewer leaves"):
        subtrees(0, 32)
