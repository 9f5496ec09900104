"""Signed checkpoints of the audit chain, and checking the chain against one held elsewhere.

The hash chain alone shows an edit in the middle, but not a deleted tail, nor a tail
rewritten with recomputed hashes: the database holds everything the check compares. A
checkpoint is the chain's size and the hash of its last entry at a moment, signed with a
key kept outside the database (:mod:`tangkal.audit.signing`). Anyone may fetch one
(``GET /api/v1/public/audit/checkpoint``) and keep it; ``tangkal audit verify --checkpoint``
then refuses a chain shorter than the checkpoint or whose entry at its size has another hash.

Version 2 (``tangkal-audit-checkpoint/v2``) also signs the RFC 9162 Merkle root of the chain
at that size (:mod:`tangkal.audit.merkle`), so a holder can check an inclusion or a
consistency proof against it without the chain (:mod:`tangkal.audit.proofcheck`). The
change is additive: checkpoints signed before it have no ``root`` (a NULL column), are
served and checked as version 1 with the v1 message, and every new one is version 2.
Which message a checkpoint's signature is over follows from whether it carries a root, so
removing the root from a v2 checkpoint (to pass it off as v1) breaks its signature.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.audit import proofs, signing
from tangkal.audit.chain import GENESIS
from tangkal.audit.models import AuditCheckpoint, AuditEvent
from tangkal.audit.services import flush_pending
from tangkal.db.base import utcnow

VERSION_V1 = "tangkal-audit-checkpoint/v1"
VERSION_V2 = "tangkal-audit-checkpoint/v2"
VERSION = VERSION_V2  # what new checkpoints are


def message(size: int, head: str, signed_at: str, root: str | None = None) -> bytes:
    """What is signed: one line each, so no JSON canonicalisation is needed to check it.
    With a Merkle ``root`` (hex) the v2 text, which has it between the head and the time;
    without, the v1 text of the checkpoints signed before roots existed."""
    if root is None:
        return f"{VERSION_V1}\n{size}\n{head}\n{signed_at}\n".encode()
    return f"{VERSION_V2}\n{size}\n{head}\n{root}\n{signed_at}\n".encode()


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def _head(session: Session) -> tuple[int, str]:
    flush_pending(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


def as_dict(cp: AuditCheckpoint) -> dict[str, Any]:
    """The checkpoint as served and kept; ``root`` only in version 2."""
    out: dict[str, Any] = {
        "version": VERSION_V1 if cp.root is None else VERSION_V2,
        "seq": cp.size,  # the interface contract's name: the last entry's seq is the size
        "size": cp.size,
        "head": cp.head,
        "signed_at": _iso(cp.signed_at),
        "key_id": cp.key_id,
        "public_key": cp.public_key,
        "signature": cp.signature,
    }
    if cp.root is not None:
        out["root"] = cp.root
    return out


def make_if_grown(session: Session, key: Ed25519PrivateKey) -> AuditCheckpoint | None:
    """A new checkpoint unless the latest already has the chain's size, or the chain is
    empty (the periodic service: an idle system adds no rows)."""
    prev = latest(session)
    size = _head(session)[0]
    if (prev.size if prev is not None else 0) == size:
        return None
    return make(session, key)


def make(session: Session, key: Ed25519PrivateKey) -> AuditCheckpoint:
    """Sign the chain's current size, head and Merkle root (v2), and store the checkpoint."""
    size, head = _head(session)
    root = proofs.root_at(session, size).hex()
    at = utcnow()
    public_b64 = signing.public_key_b64(key)
    cp = AuditCheckpoint(
        size=size,
        head=head,
        root=root,
        signed_at=at,
        key_id=signing.key_id(public_b64),
        public_key=public_b64,
        signature=signing.sign(key, message(size, head, _iso(at), root)),
    )
    session.add(cp)
    session.flush()
    return cp


def latest(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    ok: bool
    problem: str | None = None


def parse(text: str) -> dict[str, Any]:
    """A checkpoint file as written by ``tangkal audit checkpoint``; ValueError naming what
    is wrong otherwise."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    if "size" not in value and "seq" in value:  # a checkpoint in the contract's terms
        value = {**value, "size": value["seq"]}
    for name, kind in (
        ("size", int),
        ("head", str),
        ("signed_at", str),
        ("public_key", str),
        ("signature", str),
    ):
        if not isinstance(value.get(name), kind) or isinstance(value.get(name), bool):
            raise ValueError(f"'{name}' is missing or not a {kind.__name__}")
    if value["size"] < 0:
        raise ValueError("'size' is negative")
    root = value.get("root")
    if root is not None and not _is_hash(root):
        raise ValueError("'root' is not a SHA-256 hash in hex")
    if value.get("version") == VERSION_V2 and root is None:
        raise ValueError(f"'root' is missing, and a {VERSION_V2} checkpoint signs one")
    return value


def _is_hash(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def signature_problem(
    checkpoint: dict[str, Any], *, trusted_public_key: str | None = None
) -> str | None:
    """Why a parsed checkpoint's signature does not hold (None when it does): under
    ``trusted_public_key`` when given, which a third party should pin, over the v1 or v2
    message as the checkpoint has a root or not. Needs no database."""
    public = checkpoint["public_key"]
    if trusted_public_key is not None and public != trusted_public_key:
        return "the checkpoint is signed by another key than the server's"
    signed = message(
        checkpoint["size"], checkpoint["head"], checkpoint["signed_at"], checkpoint.get("root")
    )
    if not signing.signature_ok(public, signed, checkpoint["signature"]):
        return "the checkpoint's signature does not verify"
    return None


def check(
    session: Session, checkpoint: dict[str, Any], *, trusted_public_key: str | None = None
) -> CheckpointCheck:
    """Whether the stored chain extends ``checkpoint`` (a parsed file): its signature holds
    (under ``trusted_public_key`` when given, which a third party should pin), the chain has
    at least its size entries, the entry at its size has its head hash and, for v2, the
    Merkle root of the first size entries (recomputed, not cached) is the signed one. Run after
    :func:`tangkal.audit.services.verify`, which checks the links up to the end."""
    size, head = checkpoint["size"], checkpoint["head"]
    problem = signature_problem(checkpoint, trusted_public_key=trusted_public_key)
    if problem is not None:
        return CheckpointCheck(False, problem)
    have, _ = _head(session)
    if have < size:
        return CheckpointCheck(
            False,
            f"the chain was truncated: {have} entries, the checkpoint of "
            f"{checkpoint['signed_at']} saw {size}",
        )
    at = (
        GENESIS
        if size == 0
        else session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == size))
    )
    if at != head:
        return CheckpointCheck(
            False,
            f"the chain was rewritten: entry {size} has another hash than the checkpoint of "
            f"{checkpoint['signed_at']} signed",
        )
    root = checkpoint.get("root")
    if root is not None and proofs.recompute_root(session, size).hex() != root:
        return CheckpointCheck(
            False,
            f"the chain was rewritten: the Merkle root of its first {size} entries is not the "
            f"one the checkpoint of {checkpoint['signed_at']} signed",
        )
    return CheckpointCheck(True)
