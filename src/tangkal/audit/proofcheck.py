"""Checking a proof file against signed checkpoints, offline: no database, no server.

A reader holds v2 checkpoints (signed size, head and Merkle root) and fetches a proof from
anywhere, the server included, which need not be trusted: the proof's own ``root`` fields
are ignored, and the hashes it proves are checked against the roots the checkpoints sign.

- An inclusion proof of entry ``seq`` in the tree of ``tree_size`` entries needs a
  checkpoint of that size; the audit path from the leaf must reach its root.
- A consistency proof from ``first`` to ``second`` entries needs checkpoints of both sizes;
  the proof must lead from the one root to the other, which shows the later checkpoint's
  chain extends the earlier one's (nothing before ``first`` was changed or removed).

Two checkpoints of one size, both validly signed but with different roots, are refused
whatever the proof: the log has shown two histories (a split view), which is the finding.
A v1 checkpoint has no root and cannot back a proof; it can still be checked against the
chain itself with ``tangkal audit verify --checkpoint``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tangkal.audit import checkpoints, merkle


class ProofRefused(ValueError):
    """The proof does not hold, or cannot be checked with the checkpoints given; the
    message says which and what to do."""


@dataclass(frozen=True, slots=True)
class Checked:
    """What a proof that holds showed, in a sentence."""

    summary: str


def _hash(value: object, name: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise ProofRefused(f"'{name}' is not a SHA-256 hash in hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ProofRefused(f"'{name}' is not a SHA-256 hash in hex") from None


def _int(proof: dict[str, Any], name: str) -> int:
    value = proof.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofRefused(f"'{name}' is missing or not a whole number")
    return value


def _hashes(proof: dict[str, Any], name: str) -> list[bytes]:
    value = proof.get(name)
    if not isinstance(value, list):
        raise ProofRefused(f"'{name}' is missing or not a list of hashes")
    return [_hash(v, f"{name}[{i}]") for i, v in enumerate(value)]


def parse(text: str) -> dict[str, Any]:
    """A proof file (the endpoint's answer, or ``tangkal audit prove``'s output)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProofRefused(f"not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(value, dict) or value.get("kind") not in ("inclusion", "consistency"):
        raise ProofRefused('not a proof: "kind" is neither "inclusion" nor "consistency"')
    return value


def _roots(held: Sequence[dict[str, Any]], trusted_public_key: str | None) -> dict[int, bytes]:
    """The signed root of each checkpoint, by size; refuses one whose signature fails."""
    roots: dict[int, bytes] = {}
    for cp in held:
        problem = checkpoints.signature_problem(cp, trusted_public_key=trusted_public_key)
        if problem is not None:
            raise ProofRefused(f"{problem} (checkpoint of size {cp['size']})")
        if cp.get("root") is not None:
            root = bytes.fromhex(cp["root"])
            if roots.get(cp["size"], root) != root:  # both signed: the log showed two trees
                raise ProofRefused(
                    f"two checkpoints of size {cp['size']} are both signed but have different "
                    "roots: the log has shown different histories; keep both files as evidence"
                )
            roots[cp["size"]] = root
    return roots


def _root_of(roots: dict[int, bytes], size: int) -> bytes:
    if size not in roots:
        raise ProofRefused(
            f"no signed v2 checkpoint of size {size} was given; pass the checkpoint of that "
            "size with --checkpoint (a v1 checkpoint has no Merkle root to check against)"
        )
    return roots[size]


def check(
    proof: dict[str, Any],
    held: Sequence[dict[str, Any]],
    *,
    trusted_public_key: str | None = None,
    entry_hash: str | None = None,
) -> Checked:
    """Whether ``proof`` (parsed) holds against the parsed checkpoints ``held``; with
    ``entry_hash``, an inclusion proof must also be of the entry with that chain hash.
    Raises :class:`ProofRefused` naming the reason otherwise."""
    roots = _roots(held, trusted_public_key)
    if proof["kind"] == "inclusion":
        seq, size = _int(proof, "seq"), _int(proof, "tree_size")
        if not 1 <= seq <= size:
            raise ProofRefused(f"entry {seq} cannot be in a tree of {size} entries")
        leaf = _hash(proof.get("leaf_hash"), "leaf_hash")
        if proof.get("entry_hash") is not None:
            entry = _hash(proof.get("entry_hash"), "entry_hash")
            if merkle.leaf_hash(entry) != leaf:
                raise ProofRefused("'leaf_hash' is not the leaf hash of 'entry_hash'")
        if entry_hash is not None and proof.get("entry_hash") != entry_hash.lower():
            raise ProofRefused(f"the proof is of another entry than {entry_hash}")
        path = _hashes(proof, "audit_path")
        if not merkle.verify_inclusion(seq - 1, size, leaf, path, _root_of(roots, size)):
            raise ProofRefused(
                f"the inclusion proof does not hold: entry {seq} is not in the tree the "
                f"checkpoint of size {size} signed"
            )
        return Checked(f"entry {seq} is in the signed tree of {size} entries")
    first, second = _int(proof, "first"), _int(proof, "second")
    if not 0 < first <= second:
        raise ProofRefused(f"no consistency proof goes from {first} to {second} entries")
    steps = _hashes(proof, "proof")
    if not merkle.verify_consistency(
        first, second, _root_of(roots, first), _root_of(roots, second), steps
    ):
        raise ProofRefused(
            f"the consistency proof does not hold: the signed tree of {second} entries does "
            f"not extend the signed tree of {first}"
        )
    return Checked(f"the signed tree of {second} entries extends the signed tree of {first}")
