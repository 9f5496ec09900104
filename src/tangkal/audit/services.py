"""Appending to and verifying the audit chain.

Appends are serialised (an advisory transaction lock on PostgreSQL, the single writer lock
on SQLite) so two transactions can never both build on the same predecessor. The lock is
held until commit, so every append serialises with every other: its hold time bounds the
write rate of the whole system. That is why :func:`record` only *stages* an event in the
caller's session, and the staged events are chained and written in one batch just before
the unit of work commits (a ``before_commit`` hook): the lock is then held for a select,
one insert and the commit, never for the rest of a request. The event is still in the
caller's transaction: it commits with the change it records, or neither does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, Table, event, func, or_, select, text
from sqlalchemy.orm import Session, SessionTransaction

from tangkal.audit import concerns
from tangkal.audit.chain import GENESIS, canonical_json, entry_hash
from tangkal.audit.models import AuditConcern, AuditEvent
from tangkal.db.base import utcnow
from tangkal.db.bulk import insert_rows

if TYPE_CHECKING:
    from tangkal.accounts.principal import Principal

_LOCK_KEY = 0x74616E6B  # "tank"


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


_PENDING = "tangkal.audit.pending"


@dataclass(frozen=True, slots=True)
class _Staged:
    tx: SessionTransaction | None  # the (nested) transaction it was recorded in
    actor: str
    actor_org_id: str | None
    action: str
    object_type: str
    object_id: str
    data: dict[str, Any]


def record(
    session: Session,
    actor: Principal,
    action: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Record one event; it is chained and written just before the caller's commit, or
    never (a rollback, also of a savepoint it was recorded in, discards it)."""
    # Round-trip through JSON so what we hash is exactly what the database returns later.
    payload: dict[str, Any] = json.loads(canonical_json(data or {}))
    # Begin the unit's transaction now if nothing has yet, so that rolling it back (which
    # is what discards the staged events) is an event we hear of.
    tx = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append(
        _Staged(
            tx,
            actor.actor,
            None if actor.org_id == "system" else actor.org_id,
            action,
            object_type,
            str(object_id),
            payload,
        )
    )


def flush_pending(session: Session) -> int:
    """Chain and write the staged events now; returns how many. Called before commit, and
    by readers of the chain so a unit of work sees its own events."""
    staged: list[_Staged] = session.info.pop(_PENDING, [])
    if not staged:
        return 0
    # Whom each event concerns is read before the lock: it is a read of the subjects' rows,
    # and the lock serialises every writer of the system.
    session.flush()
    owners = concerns.owners(session, {(s.object_type, s.object_id) for s in staged})
    _lock(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    at: datetime = utcnow()
    rows = []
    concern_rows: list[dict[str, Any]] = []
    for item in staged:
        seq += 1
        orgs = owners.get((item.object_type, item.object_id), set()) | concerns.from_data(item.data)
        if item.actor_org_id:
            orgs.add(item.actor_org_id)
        concern_rows.extend({"seq": seq, "org_id": org} for org in sorted(orgs))
        h = entry_hash(
            prev_hash=prev,
            seq=seq,
            at=at,
            actor=item.actor,
            actor_org_id=item.actor_org_id,
            action=item.action,
            object_type=item.object_type,
            object_id=item.object_id,
            data=item.data,
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": item.actor,
                "actor_org_id": item.actor_org_id,
                "action": item.action,
                "object_type": item.object_type,
                "object_id": item.object_id,
                "data": item.data,
                "prev_hash": prev,
                "hash": h,
            }
        )
        prev = h
    # One bulk insert (a COPY on PostgreSQL), no ORM objects: nothing reads them back as
    # objects in this unit of work, and every statement here runs under the lock.
    insert_rows(session, cast(Table, AuditEvent.__table__), rows)
    if concern_rows:
        insert_rows(session, cast(Table, AuditConcern.__table__), concern_rows)
    return len(rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # releasing a savepoint: the outermost commit writes them
    flush_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    staged: list[_Staged] | None = session.info.get(_PENDING)
    if not staged:
        return
    if previous.parent is None:  # the whole unit of work rolled back
        session.info.pop(_PENDING, None)
    elif previous.nested:  # a savepoint: drop what was recorded inside it

        def inside(tx: SessionTransaction | None) -> bool:
            while tx is not None:
                if tx is previous:
                    return True
                tx = tx.parent
            return False

        session.info[_PENDING] = [s for s in staged if not inside(s.tx)]


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
    flush_pending(session)
    expected_seq = 1
    prev = GENESIS
    checked = 0
    for ev in _iter_events(session):
        if ev.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                expected_seq,
                f"entry {expected_seq} is missing (next present is {ev.seq})",
            )
        if ev.prev_hash != prev:
            return VerifyResult(
                False, checked, ev.seq, f"entry {ev.seq} does not link to entry {ev.seq - 1}"
            )
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
    flush_pending(session)
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.seq)
        )
    )


def count(session: Session) -> int:
    flush_pending(session)
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def concerning(org_id: str, *, common: bool = False) -> ColumnElement[bool]:
    """Events that concern ``org_id``; with ``common``, also those concerning no
    organisation at all (the system acting on what nobody owns), which regulators share."""
    mine = AuditEvent.seq.in_(select(AuditConcern.seq).where(AuditConcern.org_id == org_id))
    if not common:
        return mine
    anyone = select(AuditConcern.seq).where(AuditConcern.seq == AuditEvent.seq).exists()
    return or_(mine, ~anyone)


def page(
    session: Session, *, after: int, limit: int, org_id: str, common: bool = False
) -> list[AuditEvent]:
    """A page of the events that concern ``org_id`` (see :func:`concerning`)."""
    flush_pending(session)
    q = select(AuditEvent).where(AuditEvent.seq > after, concerning(org_id, common=common))
    return list(session.scalars(q.order_by(AuditEvent.seq).limit(limit)))
