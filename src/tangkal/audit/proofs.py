"""Merkle roots, inclusion and consistency proofs of the stored audit chain.

The tree (:mod:`tangkal.audit.merkle`) has one leaf per entry, leaf ``i`` (0-based) being
entry ``seq = i + 1``; its input is the entry's chain hash. What this module answers is
what ``GET /api/v1/public/audit/proof/*`` and ``tangkal audit prove`` show: sizes, indices
and hashes only, never an entry's contents, so it needs no sign-in and no tenant sees
another's data through it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.audit import merkle
from tangkal.audit.models import AuditEvent
from tangkal.audit.services import flush_pending
from tangkal.errors import Conflict, InvalidInput

ALGORITHM = "rfc9162-sha256"
_BATCH = 10_000
_IN_BATCH = 500


def _gap(lo: int, hi: int) -> Conflict:
    return Conflict(
        f"The audit chain is missing entries between {lo + 1} and {hi}, so no proof can be made "
        "over them; run `tangkal audit verify` to find the first bad entry."
    )


class ChainLeaves:
    """The chain's entries as leaf inputs, read in batches by ``seq`` (a leaf source for
    :class:`tangkal.audit.merkle.Subtrees`). A missing entry is an error, never a shorter
    tree: a proof over a chain with a hole would prove something else than it says."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def leaves(self, lo: int, hi: int) -> Iterator[bytes]:
        at = lo
        while at < hi:
            stop = min(hi, at + _BATCH)
            rows = (
                self.session.connection()
                .execute(  # Core rows: no ORM loading per row
                    select(AuditEvent.seq, AuditEvent.hash)
                    .where(AuditEvent.seq > at, AuditEvent.seq <= stop)
                    .order_by(AuditEvent.seq)
                )
                .all()
            )
            if len(rows) != stop - at:
                raise _gap(at, stop)
            for _, h in rows:
                yield bytes.fromhex(h)
            at = stop

    def some(self, indices: Sequence[int]) -> Mapping[int, bytes]:
        found: dict[int, bytes] = {}
        for start in range(0, len(indices), _IN_BATCH):
            seqs = [i + 1 for i in indices[start : start + _IN_BATCH]]
            for seq, h in self.session.connection().execute(
                select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(seqs))
            ):
                found[int(seq) - 1] = bytes.fromhex(h)
        if len(found) != len(indices):
            first = min(set(indices) - set(found))
            raise _gap(first, first + 1)
        return found


def tree_size(session: Session) -> int:
    """The chain's size: its last entry's ``seq`` (what a checkpoint signs)."""
    flush_pending(session)
    last = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    return int(last or 0)


def root_at(session: Session, size: int) -> bytes:
    """The tree hash of the first ``size`` entries, from the chunk cache where it can."""
    if size == 0:
        return merkle.EMPTY_ROOT
    return merkle.Subtrees(ChainLeaves(session))(0, size)


def recompute_root(session: Session, size: int) -> bytes:
    """The same, streamed from the chain without the cache: what verification uses."""
    return merkle.root(ChainLeaves(session).leaves(0, size))


def _within(session: Session, name: str, value: int) -> int:
    """``value`` checked as a tree size: at least 1 and at most the chain's size now."""
    have = tree_size(session)
    if value < 1:
        raise InvalidInput(
            f"{name} must be at least 1: a tree of no entries has nothing to prove.",
            field=name,
        )
    if value > have:
        raise InvalidInput(
            f"{name} is {value}, but the audit chain has {have} entries; ask for at most "
            f"{have} (the sizes of the signed checkpoints at /api/v1/public/audit/checkpoint "
            "are the useful ones).",
            field=name,
        )
    return value


def inclusion(session: Session, seq: int, size: int | None = None) -> dict[str, Any]:
    """The audit path of entry ``seq`` in the tree of ``size`` entries (default: all)."""
    have = tree_size(session)
    n = _within(session, "size", have if size is None else size)
    if seq < 1:
        raise InvalidInput("seq must be at least 1, the chain's first entry.", field="seq")
    if seq > have:
        raise InvalidInput(
            f"seq is {seq}, but the audit chain has {have} entries; ask for one of them.",
            field="seq",
        )
    if seq > n:
        raise InvalidInput(
            f"seq {seq} is not in the tree of the first {n} entries; ask with a size of at "
            f"least {seq} (a later checkpoint's, or none for the whole chain).",
            field="seq",
        )
    source = ChainLeaves(session)
    subtrees = merkle.Subtrees(source)
    entry = source.some([seq - 1])[seq - 1]
    return {
        "kind": "inclusion",
        "algorithm": ALGORITHM,
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": n,
        "entry_hash": entry.hex(),
        "leaf_hash": merkle.leaf_hash(entry).hex(),
        "audit_path": [h.hex() for h in merkle.inclusion_path(seq - 1, n, subtrees)],
        "root": subtrees(0, n).hex(),
    }


def consistency(session: Session, first: int, second: int | None = None) -> dict[str, Any]:
    """The proof that the tree of ``second`` entries (default: all) extends that of
    ``first``."""
    m = _within(session, "first", first)
    n = _within(session, "second", tree_size(session) if second is None else second)
    if m > n:
        raise InvalidInput(
            f"first ({m}) must not be larger than second ({n}): a proof shows that the later, "
            "larger tree extends the earlier one; swap them.",
            field="first",
        )
    subtrees = merkle.Subtrees(ChainLeaves(session))
    return {
        "kind": "consistency",
        "algorithm": ALGORITHM,
        "first": m,
        "second": n,
        "first_root": subtrees(0, m).hex(),
        "second_root": subtrees(0, n).hex(),
        "proof": [h.hex() for h in merkle.consistency_proof(m, n, subtrees)],
    }
