"""Blocks decided together: the entries of one sanction, made, approved and ended as one.

A sanction over a platform's eleven names must reach resolvers as one change (one serial,
one NOTIFY, one IXFR), and be undone the same way; doing it entry by entry would publish
eleven serials and leave resolvers briefly half-blocked. The entries are ordinary block
entries carrying ``sanction_id``, so the public lookup, the zone and the history treat them
as any other; only their approval is the sanction's (people counted there), never their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.blocklist.models import BlockAction, BlockEntry, BlockStatus, reverse_name
from tangkal.blocklist.publishing import publish
from tangkal.blocklist.rails import assess
from tangkal.blocklist.services import OBJECT_TYPE, open_entry, principal_key
from tangkal.locators import Domain


@dataclass(frozen=True, slots=True)
class Made:
    entries: tuple[BlockEntry, ...]
    already_blocked: tuple[BlockEntry, ...]  # names with an open entry of their own


def make_pending(
    session: Session,
    actor: Principal,
    *,
    sanction_id: str,
    names: Sequence[str],
    action: BlockAction,
    legal_basis: str,
    reason: str,
    category: str | None,
    order_id: str | None,
    now: datetime,
) -> Made:
    """Pending entries for ``names``; a name that already has an open entry keeps it and is
    reported, so a sanction never fails over one name blocked earlier by hand."""
    made: list[BlockEntry] = []
    existing: list[BlockEntry] = []
    for name in names:
        current = open_entry(session, name)
        if current is not None:
            existing.append(current)
            continue
        assessment = assess(session, Domain(name))
        entry = BlockEntry(
            domain=name,
            rname=reverse_name(name),
            action=action,
            status=BlockStatus.PENDING_APPROVAL,
            legal_basis=legal_basis[:500],
            reason=reason,
            category=category,
            order_id=order_id,
            sanction_id=sanction_id,
            requested_by=actor.actor,
            requested_by_key=principal_key(actor),
            requested_by_org_id=None if actor.org_id == "system" else actor.org_id,
            requested_at=now,
            needs_second_approval=True,
            approval_note="part of a sanction: approved with the sanction",
            effective_at=now,
            previous_blocks=assessment.previous_blocks,
            assessment=assessment.to_dict(),
        )
        session.add(entry)
        made.append(entry)
    session.flush()
    for entry in made:
        record(
            session,
            actor,
            "block.created",
            OBJECT_TYPE,
            entry.id,
            {
                "domain": entry.domain,
                "action": entry.action.value,
                "status": entry.status.value,
                "legal_basis": entry.legal_basis,
                "order_id": entry.order_id,
                "sanction_id": sanction_id,
                "needs_second_approval": True,
                "serial": None,
            },
        )
    return Made(tuple(made), tuple(existing))


def entries_of(session: Session, sanction_id: str, *, for_update: bool = False) -> list[BlockEntry]:
    q = select(BlockEntry).where(BlockEntry.sanction_id == sanction_id).order_by(BlockEntry.domain)
    if for_update:
        q = q.with_for_update()
    return list(session.scalars(q))


def activate(
    session: Session,
    actor: Principal,
    entries: Sequence[BlockEntry],
    approvers: Sequence[tuple[str, str, datetime]],
    now: datetime,
) -> int | None:
    """Every pending entry takes effect in one change set; ``approvers`` are the (actor,
    key, at) of the sanction's approvals, recorded on each entry."""
    pending = [e for e in entries if e.status is BlockStatus.PENDING_APPROVAL]
    first = approvers[0] if approvers else None
    second = approvers[1] if len(approvers) > 1 else None
    for e in pending:
        if first:
            e.first_approved_by, e.first_approver_key, e.first_approved_at = first
        if second:
            e.second_approved_by, e.second_approver_key, e.second_approved_at = second
        e.status = BlockStatus.ACTIVE
        e.activated_at = now
    serial = publish(
        session,
        [(e.domain, e.action, e.landing) for e in pending],
        reason=f"sanction {pending[0].sanction_id}" if pending else None,
    )
    session.flush()
    for e in pending:
        record(
            session,
            actor,
            "block.approved",
            OBJECT_TYPE,
            e.id,
            {
                "domain": e.domain,
                "stage": "sanction",
                "status": e.status.value,
                "sanction_id": e.sanction_id,
                "serial": serial,
            },
        )
    return serial


def end(
    session: Session, actor: Principal, entries: Sequence[BlockEntry], reason: str, now: datetime
) -> int | None:
    """Active entries are restored, pending ones rejected; one change set for all."""
    restored: list[BlockEntry] = []
    rejected: list[BlockEntry] = []
    for e in entries:
        if e.status in (BlockStatus.ACTIVE, BlockStatus.SCHEDULED):
            if e.status is BlockStatus.ACTIVE:
                restored.append(e)
            e.status, e.restored_at, e.restored_by = BlockStatus.RESTORED, now, actor.actor
            e.restore_reason = reason
        elif e.status is BlockStatus.PENDING_APPROVAL:
            e.status, e.rejected_at, e.rejected_by = BlockStatus.REJECTED, now, actor.actor
            e.reject_reason = reason
            rejected.append(e)
    serial = publish(
        session,
        [(e.domain, None) for e in restored],
        reason=f"sanction {entries[0].sanction_id} ended" if restored else None,
    )
    session.flush()
    for e in restored:
        record(
            session,
            actor,
            "block.restored",
            OBJECT_TYPE,
            e.id,
            {
                "domain": e.domain,
                "reason": reason,
                "was_active": True,
                "serial": serial,
                "sanction_id": e.sanction_id,
            },
        )
    for e in rejected:
        record(
            session,
            actor,
            "block.rejected",
            OBJECT_TYPE,
            e.id,
            {"domain": e.domain, "reason": reason, "sanction_id": e.sanction_id},
        )
    return serial
