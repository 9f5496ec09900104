"""Appending to and verifying the audit chain.

Appends are serialised (an advisory transaction lock on PostgreSQL, the single writer lock
on SQLite) so two transactions can never both build on the same predecessor. Callers should
append as late in their unit of work as they can: the lock is held until commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tangkal.audit.chain import GENESIS, canonical_json, entry_hash
from tangkal.audit.models import AuditEvent
from tangkal.db.base import utcnow

if TYPE_CHECKING:
    from tangkal.accounts.principal import Principal

_LOCK_KEY = 0x74616E6B  # "tank"


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def record(
    session: Session,
    actor: Principal,
    action: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; it becomes visible with the caller's commit, or never."""
    _lock(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    # Round-trip through JSON so what we hash is exactly what the database returns later.
    payload: dict[str, Any] = json.loads(canonical_json(data or {}))
    at = utcnow()
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor.actor,
        actor_org_id=None if actor.org_id == "system" else actor.org_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=payload,
        prev_hash=prev,
        hash=entry_hash(
            prev_hash=prev,
            seq=seq,
            at=at,
            actor=actor.actor,
            actor_org_id=None if actor.org_id == "system" else actor.org_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=payload,
        ),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_hash: str | None = None


def _iter_events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def verify(session: Session) -> VerifyResult:
    """Walk the chain from the start; report the first entry that is altered or missing."""
    expected_seq = 1
    prev = GENESIS
    checked = 0
    for ev in _iter_events(session):
        if ev.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq,
                                f"entry {expected_seq} is missing (next present is {ev.seq})")
        if ev.prev_hash != prev:
            return VerifyResult(False, checked, ev.seq,
                                f"entry {ev.seq} does not link to entry {ev.seq - 1}")
        want = entry_hash(
            prev_hash=ev.prev_hash,
            seq=ev.seq,
            at=ev.at,
            actor=ev.actor,
            actor_org_id=ev.actor_org_id,
            action=ev.action,
            object_type=ev.object_type,
            object_id=ev.object_id,
            data=ev.data,
        )
        if want != ev.hash:
            return VerifyResult(False, checked, ev.seq, f"entry {ev.seq} was altered")
        prev = ev.hash
        expected_seq += 1
        checked += 1
    return VerifyResult(True, checked, head_hash=prev if checked else None)


def events_for(session: Session, object_type: str, object_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.seq)
        )
    )


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def page(session: Session, *, after: int, limit: int, org_id: str | None) -> list[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.seq > after)
    if org_id is not None:
        q = q.where(AuditEvent.actor_org_id == org_id)
    return list(session.scalars(q.order_by(AuditEvent.seq).limit(limit)))
