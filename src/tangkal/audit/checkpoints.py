"""Signed checkpoints of the audit chain, and checking the chain against one held elsewhere.

The hash chain alone shows an edit in the middle, but not a deleted tail, nor a tail
rewritten with recomputed hashes: the database holds everything the check compares. A
checkpoint is the chain's size and the hash of its last entry at a moment, signed with a
key kept outside the database (:mod:`tangkal.audit.signing`). Anyone may fetch one
(``GET /api/v1/public/audit/checkpoint``) and keep it; ``tangkal audit verify --checkpoint``
then refuses a chain shorter than the checkpoint or whose entry at its size has another hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.audit import signing
from tangkal.audit.chain import GENESIS
from tangkal.audit.models import AuditCheckpoint, AuditEvent
from tangkal.audit.services import flush_pending
from tangkal.db.base import utcnow

VERSION = "tangkal-audit-checkpoint/v1"


def message(size: int, head: str, signed_at: str) -> bytes:
    """What is signed: one line each, so no JSON canonicalisation is needed to check it."""
    return f"{VERSION}\n{size}\n{head}\n{signed_at}\n".encode()


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def _head(session: Session) -> tuple[int, str]:
    flush_pending(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


def as_dict(cp: AuditCheckpoint) -> dict[str, Any]:
    return {
        "version": VERSION,
        "seq": cp.size,  # the interface contract's name: the last entry's seq is the size
        "size": cp.size,
        "head": cp.head,
        "signed_at": _iso(cp.signed_at),
        "key_id": cp.key_id,
        "public_key": cp.public_key,
        "signature": cp.signature,
    }


def make_if_grown(session: Session, key: Ed25519PrivateKey) -> AuditCheckpoint | None:
    """A new checkpoint unless the latest already has the chain's size, or the chain is
    empty (the periodic service: an idle system adds no rows)."""
    prev = latest(session)
    size = _head(session)[0]
    if (prev.size if prev is not None else 0) == size:
        return None
    return make(session, key)


def make(session: Session, key: Ed25519PrivateKey) -> AuditCheckpoint:
    """Sign the chain's current size and head, and store the checkpoint."""
    size, head = _head(session)
    at = utcnow()
    public_b64 = signing.public_key_b64(key)
    cp = AuditCheckpoint(
        size=size,
        head=head,
        signed_at=at,
        key_id=signing.key_id(public_b64),
        public_key=public_b64,
        signature=signing.sign(key, message(size, head, _iso(at))),
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
    return value


def check(
    session: Session, checkpoint: dict[str, Any], *, trusted_public_key: str | None = None
) -> CheckpointCheck:
    """Whether the stored chain extends ``checkpoint`` (a parsed file): its signature holds
    (under ``trusted_public_key`` when given, which a third party should pin), the chain has
    at least its size entries, and the entry at its size has its head hash. Run after
    :func:`tangkal.audit.services.verify`, which checks the links up to the end."""
    size, head = checkpoint["size"], checkpoint["head"]
    public = checkpoint["public_key"]
    if trusted_public_key is not None and public != trusted_public_key:
        return CheckpointCheck(False, "the checkpoint is signed by another key than the server's")
    if not signing.signature_ok(
        public, message(size, head, checkpoint["signed_at"]), checkpoint["signature"]
    ):
        return CheckpointCheck(False, "the checkpoint's signature does not verify")
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
    return CheckpointCheck(True)
