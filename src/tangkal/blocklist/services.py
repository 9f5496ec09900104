"""Block entries through their life: request, approval, taking effect, restoring, expiry.

Rules that hold for every path in (HTTP, CLI, the background service):

* at most one open entry (pending, scheduled or active) per name, enforced by the database;
* an entry that becomes effective, is restored, or expires is published to the RPZ in the
  same transaction (``tangkal.blocklist.publishing``);
* a block the rails flag (whole-service or protected) needs two different officials;
* every transition is appended to the audit chain, as the last write of the unit of work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tangkal import limits
from tangkal.accounts.approvals import approver_key, is_person
from tangkal.accounts.models import OrgKind, PlatformDomain, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.audit.services import events_for, record
from tangkal.blocklist.models import (
    OPEN_STATUSES,
    BlockAction,
    BlockEntry,
    BlockStatus,
    ProtectedName,
    reverse_name,
)
from tangkal.blocklist.publishing import publish
from tangkal.blocklist.rails import Assessment, assess, beneath_range
from tangkal.db.base import utcnow
from tangkal.enums import parse_enum
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, Msg, NotFound
from tangkal.locators import Domain

MAX_LEGAL_BASIS = limits.BLOCK_LEGAL_BASIS
MAX_REASON = limits.BLOCK_REASON
MAX_CATEGORY = 64
MAX_ORDER_ID = 100
_CATEGORY = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")

OBJECT_TYPE = "block_entry"


# --------------------------------------------------------------------------- values


def parse_action(value: str | BlockAction) -> BlockAction:
    return parse_enum(BlockAction, value, Msg("block action"), field="action")


def parse_status(value: str | BlockStatus) -> BlockStatus:
    return parse_enum(BlockStatus, value, Msg("block status"), field="status")


def required_text(value: str | None, field: str, limit: int, what: Msg) -> str:
    """``what`` names the field in words (a :class:`Msg`, so pages show it translated)."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(
            Msg(
                "A %(what)s is required (%(field)s); it is shown to the public "
                "and kept in the record.",
                what=what,
                field=field,
            ),
            field=field,
        )
    if len(text) > limit:
        raise InvalidInput(
            Msg(
                "The %(what)s is %(length)s characters long; at most %(limit)s are allowed.",
                what=what,
                length=len(text),
                limit=limit,
            ),
            field=field,
        )
    return text


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput(
            Msg(
                "%(field)s needs a time zone, e.g. 2025-08-10T12:00:00+07:00 "
                "or a trailing Z for UTC.",
                field=field,
            ),
            field=field,
        )
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class BlockRequest:
    """A checked request to block one name; build with :meth:`build`."""

    domain: Domain
    action: BlockAction
    legal_basis: str
    reason: str
    category: str | None = None
    order_id: str | None = None
    effective_at: datetime | None = None
    expires_at: datetime | None = None
    landing: str | None = None  # a landing of its own (Landing text); landing action only

    @classmethod
    def build(
        cls,
        *,
        domain: str | Domain,
        action: str | BlockAction,
        legal_basis: str | None,
        reason: str | None,
        category: str | None = None,
        order_id: str | None = None,
        effective_at: datetime | None = None,
        expires_at: datetime | None = None,
        now: datetime | None = None,
        landing: str | None = None,
    ) -> BlockRequest:
        now = now or utcnow()
        own = _own_landing(landing, action)
        d = domain if isinstance(domain, Domain) else Domain.parse(domain)
        cat = (category or "").strip().lower() or None
        if cat is not None and (len(cat) > MAX_CATEGORY or not _CATEGORY.match(cat)):
            raise InvalidInput(
                Msg(
                    "The category %(category)r must be a short word such as 'terrorism' "
                    "(letters, digits, '-' or '_', at most %(limit)s).",
                    category=category,
                    limit=MAX_CATEGORY,
                ),
                field="category",
            )
        oid = (order_id or "").strip() or None
        if oid is not None and len(oid) > MAX_ORDER_ID:
            raise InvalidInput(
                Msg(
                    "The order or case reference is at most %(limit)s characters.",
                    limit=MAX_ORDER_ID,
                ),
                field="order_id",
            )
        eff = _aware(effective_at, "effective_at")
        exp = _aware(expires_at, "expires_at")
        if exp is not None:
            start = max(eff or now, now)
            if exp <= start:
                raise InvalidInput(
                    Msg(
                        "expires_at must be later than the time the block takes effect "
                        "(%(start)s).",
                        start=start.isoformat(),
                    ),
                    field="expires_at",
                )
        return cls(
            landing=own,
            domain=d,
            action=parse_action(action),
            legal_basis=required_text(
                legal_basis, "legal_basis", MAX_LEGAL_BASIS, Msg("legal basis")
            ),
            reason=required_text(reason, "reason", MAX_REASON, Msg("reason")),
            category=cat,
            order_id=oid,
            effective_at=eff,
            expires_at=exp,
        )


def principal_key(principal: Principal) -> str:
    """Who asked for something (a block's requester): the user, else the token, else the
    actor. An approval is keyed by :func:`tangkal.accounts.approvals.approver_key`, which
    refuses a token of no one; a person's two keys are the same string."""
    if principal.user_id:
        return f"user:{principal.user_id}"
    if principal.token_id:
        return f"token:{principal.token_id}"
    return f"actor:{principal.actor}"


def _require_regulator(principal: Principal, *roles: Role) -> None:
    principal.require(*roles)
    if principal.org_kind is not OrgKind.REGULATOR and principal.org_id != "system":
        raise Forbidden(
            Msg(
                "Only the regulator decides blocks; your organisation is a %(kind)s.",
                kind=principal.org_kind,
            )
        )


# --------------------------------------------------------------------------- reading


def open_entry(session: Session, name: str) -> BlockEntry | None:
    return session.scalar(
        select(BlockEntry).where(BlockEntry.domain == name, BlockEntry.status.in_(OPEN_STATUSES))
    )


def _get(session: Session, block_id: str, *, for_update: bool = False) -> BlockEntry:
    q = select(BlockEntry).where(BlockEntry.id == block_id)
    if for_update:
        q = q.with_for_update()
    entry = session.scalar(q) if _UUID.match(block_id or "") else None
    if entry is None:
        raise NotFound(
            Msg("No block entry %(id)r. List entries with GET /api/v1/blocks.", id=block_id)
        )
    return entry


def _platform_filter(session: Session, org_id: str) -> Any:
    names = list(
        session.scalars(select(PlatformDomain.name).where(PlatformDomain.org_id == org_id))
    )
    if not names:
        return None
    conds = []
    for n in names:
        low, high = beneath_range(n)
        conds.append(BlockEntry.domain == n)
        conds.append((BlockEntry.rname > low) & (BlockEntry.rname < high))
    return or_(*conds)


def _visible(session: Session, principal: Principal, q: Select[Any]) -> Select[Any] | None:
    """Restrict ``q`` to what the caller may see; None when they may see nothing."""
    if principal.org_kind is OrgKind.REGULATOR or principal.role is Role.AUDITOR:
        return q
    if principal.org_kind is OrgKind.ISP:
        return q.where(BlockEntry.status == BlockStatus.ACTIVE)
    cond = _platform_filter(session, principal.org_id)
    return None if cond is None else q.where(cond)


def list_blocks(
    session: Session,
    principal: Principal,
    *,
    domain: str | None = None,
    status: str | None = None,
    beneath: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[BlockEntry]:
    """Entries the caller may see, newest first. ``domain`` matches the name itself, and with
    ``beneath`` also every name under it."""
    q = select(BlockEntry)
    if domain:
        name = Domain.parse(domain).name
        if beneath:
            low, high = beneath_range(name)
            q = q.where(
                (BlockEntry.domain == name) | ((BlockEntry.rname > low) & (BlockEntry.rname < high))
            )
        else:
            q = q.where(BlockEntry.domain == name)
    if status:
        q = q.where(BlockEntry.status == parse_status(status))
    vq = _visible(session, principal, q)
    if vq is None:
        return []
    vq = vq.order_by(BlockEntry.requested_at.desc(), BlockEntry.id).limit(limit).offset(offset)
    return list(session.scalars(vq))


def get_block(session: Session, principal: Principal, block_id: str) -> BlockEntry:
    entry = _get(session, block_id)
    vq = _visible(session, principal, select(BlockEntry.id).where(BlockEntry.id == entry.id))
    if vq is None or session.scalar(vq) is None:
        raise NotFound(
            Msg("No block entry %(id)r. List entries with GET /api/v1/blocks.", id=block_id)
        )
    return entry


def history(session: Session, entry: BlockEntry) -> dict[str, Any]:
    """The entry's audit events and every entry ever made for the same name."""
    events = events_for(session, OBJECT_TYPE, entry.id)
    others = session.scalars(
        select(BlockEntry)
        .where(BlockEntry.domain == entry.domain)
        .order_by(BlockEntry.requested_at)
    )
    return {
        "events": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "data": e.data,
            }
            for e in events
        ],
        "name_history": [
            {
                "id": o.id,
                "status": o.status.value,
                "action": o.action.value,
                "requested_at": _iso(o.requested_at),
                "activated_at": _iso(o.activated_at),
                "restored_at": _iso(o.restored_at),
                "expired_at": _iso(o.expired_at),
            }
            for o in others
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_dict(entry: BlockEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "domain": entry.domain,
        "domain_unicode": Domain(entry.domain).unicode,
        "action": entry.action.value,
        "landing": entry.landing,
        "status": entry.status.value,
        "legal_basis": entry.legal_basis,
        "reason": entry.reason,
        "category": entry.category,
        "order_id": entry.order_id,
        "sanction_id": entry.sanction_id,
        "requested_by": entry.requested_by,
        "requested_by_org_id": entry.requested_by_org_id,
        "requested_at": _iso(entry.requested_at),
        "needs_second_approval": entry.needs_second_approval,
        "approval_note": entry.approval_note,
        "approvals": [
            {"by": by, "at": _iso(at)}
            for by, at in (
                (entry.first_approved_by, entry.first_approved_at),
                (entry.second_approved_by, entry.second_approved_at),
            )
            if by
        ],
        "rejected_by": entry.rejected_by,
        "rejected_at": _iso(entry.rejected_at),
        "reject_reason": entry.reject_reason,
        "effective_at": _iso(entry.effective_at),
        "expires_at": _iso(entry.expires_at),
        "activated_at": _iso(entry.activated_at),
        "restored_at": _iso(entry.restored_at),
        "restored_by": entry.restored_by,
        "restore_reason": entry.restore_reason,
        "expired_at": _iso(entry.expired_at),
        "previous_blocks": entry.previous_blocks,
        "times_blocked": entry.previous_blocks + (1 if entry.activated_at else 0),
        "normalisation_may_be_refused": entry.previous_blocks >= 3,
        "assessment": entry.assessment,
    }


# --------------------------------------------------------------------------- transitions


def _conflict_open(existing: BlockEntry) -> Conflict:
    return Conflict(
        Msg(
            "%(domain)s already has block entry %(id)s (%(status)s); restore or reject that "
            "entry before making a new one.",
            domain=existing.domain,
            id=existing.id,
            status=existing.status,
        ),
        field="domain",
        existing_id=existing.id,
        existing_status=existing.status.value,
    )


def _own_landing(text: str | None, action: str | BlockAction) -> str | None:
    """A block's own landing page, checked (``cname:<name>`` or ``a:<ipv4>,aaaa:<ipv6>``);
    only a landing block has one. None or blank: the zone's default."""
    if text is None or not text.strip():
        return None
    from tangkal.rpz.values import Landing  # the blocklist's models never import DNS code

    if parse_action(action) is not BlockAction.LANDING:
        raise InvalidInput(
            Msg("A landing page is given only with the landing action."), field="landing"
        )
    return Landing.parse(text, field="landing").text()


def _take_effect(session: Session, entry: BlockEntry, now: datetime) -> int | None:
    """Approved: publish now, or leave it scheduled for the background service."""
    if entry.effective_at > now:
        entry.status = BlockStatus.SCHEDULED
        return None
    entry.status = BlockStatus.ACTIVE
    entry.activated_at = now
    return publish(
        session, [(entry.domain, entry.action, entry.landing)], reason=f"block {entry.id}"
    )


def _real_order(session: Session, principal: Principal, ref: str | None) -> str | None:
    """A block's ``order_id`` names a real order of the caller's organisation (its id or its
    reference); stored as the id, so the order, the block and the public lookup agree."""
    if ref is None:
        return None
    from tangkal.orders.models import Order

    q = select(Order.id).where((Order.id == ref) | (Order.reference == ref))
    if principal.org_id != "system":
        q = q.where(Order.regulator_org_id == principal.org_id)
    found = session.scalar(q)
    if found is None:
        raise InvalidInput(
            Msg(
                "No order %(ref)s among your organisation's orders; give the "
                "id or reference of the order this block enforces, or leave it "
                "out.",
                ref=ref,
            ),
            field="order_id",
        )
    return found


def create_block(
    session: Session, principal: Principal, req: BlockRequest, *, now: datetime | None = None
) -> tuple[BlockEntry, Assessment]:
    """An official's request takes effect at once unless the rails ask for a second
    official; an analyst's request waits for approval."""
    _require_regulator(principal, Role.OFFICIAL, Role.ANALYST)
    now = now or utcnow()
    name = req.domain.name
    existing = open_entry(session, name)
    if existing is not None:
        raise _conflict_open(existing)
    order_id = _real_order(session, principal, req.order_id)
    assessment = assess(session, req.domain)
    by_official = principal.role is Role.OFFICIAL
    entry = BlockEntry(
        domain=name,
        rname=reverse_name(name),
        action=req.action,
        landing=req.landing,
        status=BlockStatus.PENDING_APPROVAL,
        legal_basis=req.legal_basis,
        reason=req.reason,
        category=req.category,
        order_id=order_id,
        requested_by=principal.actor,
        requested_by_key=principal_key(principal),
        requested_by_org_id=None if principal.org_id == "system" else principal.org_id,
        requested_at=now,
        needs_second_approval=assessment.needs_second_approval,
        approval_note=" ".join(r for r in assessment.reasons if "approve" in r) or None,
        effective_at=req.effective_at or now,
        expires_at=req.expires_at,
        previous_blocks=assessment.previous_blocks,
        assessment=assessment.to_dict(),
    )
    if by_official and (is_person(principal) or not entry.needs_second_approval):
        # A flagged block asked for by a token of no one waits for two people's approvals:
        # the request is not one of them (tangkal.accounts.approvals).
        entry.first_approved_by = principal.actor
        entry.first_approver_key = entry.requested_by_key
        entry.first_approved_at = now
    session.add(entry)
    try:
        session.flush()
    except IntegrityError:
        # Another request for the same name committed between our check and our insert.
        raise Conflict(
            Msg(
                "%(name)s was just blocked by another request; reload the list "
                "and check the current entry.",
                name=name,
            ),
            field="domain",
        ) from None
    serial = None
    if by_official and not entry.needs_second_approval:
        serial = _take_effect(session, entry, now)
    session.flush()
    record(
        session,
        principal,
        "block.created",
        OBJECT_TYPE,
        entry.id,
        {
            "domain": name,
            "action": entry.action.value,
            "status": entry.status.value,
            "legal_basis": entry.legal_basis,
            "order_id": entry.order_id,
            "needs_second_approval": entry.needs_second_approval,
            "serial": serial,
        },
    )
    return entry, assessment


def approve(
    session: Session, principal: Principal, block_id: str, *, now: datetime | None = None
) -> BlockEntry:
    """Approve a pending entry; the second approval of a flagged block must come from a
    different official than the requester and the first approver."""
    _require_regulator(principal, Role.OFFICIAL)
    now = now or utcnow()
    entry = _get(session, block_id, for_update=True)
    if entry.status is not BlockStatus.PENDING_APPROVAL:
        raise InvalidTransition(
            Msg(
                "Block %(id)s on %(domain)s is %(status)s; only entries pending approval can "
                "be approved.",
                id=entry.id,
                domain=entry.domain,
                status=entry.status,
            )
        )
    if entry.sanction_id is not None:
        raise InvalidTransition(
            Msg(
                "Block %(id)s on %(domain)s belongs to sanction %(sanction)s and takes effect "
                "with it: approve the sanction (POST /api/v1/sanctions/%(sanction)s/approve).",
                id=entry.id,
                domain=entry.domain,
                sanction=entry.sanction_id,
            )
        )
    if entry.expires_at is not None and entry.expires_at <= now:
        raise InvalidTransition(
            Msg(
                "Block %(id)s expired before it was approved; reject it "
                "and make a new request if it is still needed.",
                id=entry.id,
            )
        )
    # The world may have changed since the request (a platform registered its domain, a name
    # was added to the protected list): judge the rails again at the moment of approval.
    fresh = assess(session, Domain(entry.domain))
    if fresh.needs_second_approval and not entry.needs_second_approval:
        entry.needs_second_approval = True
        entry.approval_note = " ".join(r for r in fresh.reasons if "approve" in r) or None
        entry.assessment = fresh.to_dict()
    key = approver_key(principal)  # people, not tokens: a token of no one cannot approve
    stage = "first"
    if entry.first_approver_key is None:
        if key == entry.requested_by_key:
            raise Forbidden(Msg("You requested this block, so another official must approve it."))
        entry.first_approved_by, entry.first_approver_key = principal.actor, key
        entry.first_approved_at = now
    else:
        if key in (entry.first_approver_key, entry.requested_by_key):
            if entry.approval_note:
                raise Forbidden(
                    Msg(
                        "This block needs a second official's approval (%(note)s) and %(first)s "
                        "has already approved it; a different official must give the second "
                        "approval.",
                        note=entry.approval_note,
                        first=entry.first_approved_by,
                    )
                )
            raise Forbidden(
                Msg(
                    "This block needs a second official's approval and %(first)s has already "
                    "approved it; a different official must give the second approval.",
                    first=entry.first_approved_by,
                )
            )
        entry.second_approved_by, entry.second_approver_key = principal.actor, key
        entry.second_approved_at = now
        stage = "second"
    serial = None
    if not entry.needs_second_approval or stage == "second":
        serial = _take_effect(session, entry, now)
    session.flush()
    record(
        session,
        principal,
        "block.approved",
        OBJECT_TYPE,
        entry.id,
        {
            "domain": entry.domain,
            "stage": stage,
            "status": entry.status.value,
            "serial": serial,
        },
    )
    return entry


def reject(
    session: Session,
    principal: Principal,
    block_id: str,
    reason: str | None,
    *,
    now: datetime | None = None,
) -> BlockEntry:
    _require_regulator(principal, Role.OFFICIAL)
    text = required_text(reason, "reason", MAX_REASON, Msg("reason for rejecting"))
    entry = _get(session, block_id, for_update=True)
    if entry.status is not BlockStatus.PENDING_APPROVAL:
        raise InvalidTransition(
            Msg(
                "Block %(id)s on %(domain)s is %(status)s; only entries pending approval can "
                "be rejected (restore an active block instead).",
                id=entry.id,
                domain=entry.domain,
                status=entry.status,
            )
        )
    if entry.sanction_id is not None:
        raise InvalidTransition(
            Msg(
                "Block %(id)s on %(domain)s belongs to sanction %(sanction)s: reject the "
                "sanction (POST /api/v1/sanctions/%(sanction)s/reject).",
                id=entry.id,
                domain=entry.domain,
                sanction=entry.sanction_id,
            )
        )
    entry.status = BlockStatus.REJECTED
    entry.rejected_by = principal.actor
    entry.rejected_at = now or utcnow()
    entry.reject_reason = text
    session.flush()
    record(
        session,
        principal,
        "block.rejected",
        OBJECT_TYPE,
        entry.id,
        {"domain": entry.domain, "reason": text},
    )
    return entry


def restore(
    session: Session,
    principal: Principal,
    block_id: str,
    reason: str | None,
    *,
    now: datetime | None = None,
) -> BlockEntry:
    """Normalisation: restore access to the name, published to the zone in this transaction."""
    _require_regulator(principal, Role.OFFICIAL)
    text = required_text(reason, "reason", MAX_REASON, Msg("reason for restoring access"))
    now = now or utcnow()
    entry = _get(session, block_id, for_update=True)
    if entry.status not in (BlockStatus.ACTIVE, BlockStatus.SCHEDULED):
        current = open_entry(session, entry.domain)
        hint: Msg | str = (
            Msg(
                " The current entry for this name is %(id)s (%(status)s).",
                id=current.id,
                status=current.status,
            )
            if current is not None
            else ""
        )
        when = entry.restored_at or entry.expired_at or entry.rejected_at
        if when:
            raise Conflict(
                Msg(
                    "%(domain)s is not blocked by entry %(id)s: that entry is %(status)s since "
                    "%(when)s, so there is nothing to restore.%(hint)s",
                    domain=entry.domain,
                    id=entry.id,
                    status=entry.status,
                    when=when.isoformat(),
                    hint=hint,
                ),
                existing_status=entry.status.value,
            )
        raise Conflict(
            Msg(
                "%(domain)s is not blocked by entry %(id)s: that entry is %(status)s, so there "
                "is nothing to restore.%(hint)s",
                domain=entry.domain,
                id=entry.id,
                status=entry.status,
                hint=hint,
            ),
            existing_status=entry.status.value,
        )
    was_active = entry.status is BlockStatus.ACTIVE
    entry.status = BlockStatus.RESTORED
    entry.restored_at = now
    entry.restored_by = principal.actor
    entry.restore_reason = text
    serial = None
    if was_active:
        serial = publish(session, [(entry.domain, None)], reason=f"restore {entry.id}")
    session.flush()
    record(
        session,
        principal,
        "block.restored",
        OBJECT_TYPE,
        entry.id,
        {
            "domain": entry.domain,
            "reason": text,
            "was_active": was_active,
            "serial": serial,
        },
    )
    return entry


def restore_name(
    session: Session,
    principal: Principal,
    domain: str,
    reason: str | None,
    *,
    now: datetime | None = None,
) -> BlockEntry:
    """Restore by name: the name's active (or scheduled) entry."""
    name = Domain.parse(domain).name
    entry = open_entry(session, name)
    if entry is None or entry.status is BlockStatus.PENDING_APPROVAL:
        if entry is not None:
            raise Conflict(
                Msg(
                    "%(name)s is not blocked, so there is nothing to restore (entry "
                    "%(id)s is still pending approval; reject it instead).",
                    name=name,
                    id=entry.id,
                )
            )
        raise Conflict(Msg("%(name)s is not blocked, so there is nothing to restore.", name=name))
    return restore(session, principal, entry.id, reason, now=now)


@dataclass(frozen=True, slots=True)
class DueResult:
    activated: tuple[str, ...]
    expired: tuple[str, ...]
    serial: int | None


def run_due(session: Session, *, now: datetime | None = None, limit: int = 1000) -> DueResult:
    """Activate scheduled entries whose time came; expire entries whose time ran out.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of
    workers can run this at once without two publishing the same change; on SQLite the
    single writer lock (BEGIN IMMEDIATE) serialises them.
    """
    now = now or utcnow()
    due_on = session.scalars(
        select(BlockEntry)
        .where(BlockEntry.status == BlockStatus.SCHEDULED, BlockEntry.effective_at <= now)
        .order_by(BlockEntry.effective_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    due_off = session.scalars(
        select(BlockEntry)
        .where(
            BlockEntry.status.in_(
                (BlockStatus.ACTIVE, BlockStatus.SCHEDULED, BlockStatus.PENDING_APPROVAL)
            ),
            BlockEntry.expires_at.is_not(None),
            BlockEntry.expires_at <= now,
        )
        .order_by(BlockEntry.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    changes: list[tuple[str, BlockAction | None] | tuple[str, BlockAction | None, str | None]] = []
    activated: list[BlockEntry] = []
    expired: list[BlockEntry] = []
    expiring = {e.id for e in due_off}
    for e in due_on:
        if e.id in expiring:
            continue  # its whole life lies in the past: it never takes effect
        e.status, e.activated_at = BlockStatus.ACTIVE, now
        changes.append((e.domain, e.action, e.landing))
        activated.append(e)
    for e in due_off:
        if e.status is BlockStatus.ACTIVE:
            changes.append((e.domain, None))
        e.status, e.expired_at = BlockStatus.EXPIRED, now
        expired.append(e)
    if not activated and not expired:
        return DueResult((), (), None)
    serial = publish(session, changes, reason="scheduled activation/expiry")
    session.flush()
    for e in activated:
        record(
            session,
            SYSTEM,
            "block.activated",
            OBJECT_TYPE,
            e.id,
            {"domain": e.domain, "serial": serial},
        )
    for e in expired:
        record(
            session,
            SYSTEM,
            "block.expired",
            OBJECT_TYPE,
            e.id,
            {"domain": e.domain, "serial": serial},
        )
    return DueResult(tuple(e.id for e in activated), tuple(e.id for e in expired), serial)


# --------------------------------------------------------------------------- protected list


def list_protected(session: Session) -> list[ProtectedName]:
    return list(session.scalars(select(ProtectedName).order_by(ProtectedName.name)))


def add_protected(
    session: Session, principal: Principal, name: str, note: str | None
) -> ProtectedName:
    """Public suffixes are allowed here (``go.id``): protecting one protects all beneath."""
    _require_regulator(principal, Role.OFFICIAL, Role.ADMIN)
    d = Domain.parse(name, allow_public_suffix=True, field="name")
    text = required_text(note, "note", 500, Msg("note saying why the name is protected"))
    if session.scalar(select(ProtectedName.id).where(ProtectedName.name == d.name)):
        raise Conflict(Msg("%(name)s is already on the protected list.", name=d.name), field="name")
    row = ProtectedName(name=d.name, note=text, created_by=principal.actor)
    session.add(row)
    session.flush()
    record(session, principal, "protected_name.added", "protected_name", d.name, {"note": text})
    return row


def remove_protected(session: Session, principal: Principal, name: str) -> None:
    _require_regulator(principal, Role.OFFICIAL, Role.ADMIN)
    d = Domain.parse(name, allow_public_suffix=True, field="name")
    row = session.scalar(select(ProtectedName).where(ProtectedName.name == d.name))
    if row is None:
        raise NotFound(Msg("%(name)s is not on the protected list.", name=d.name))
    session.delete(row)
    session.flush()
    record(session, principal, "protected_name.removed", "protected_name", d.name, {})


# --------------------------------------------------------------------------- public side
# (the lookup is ``blocklist.lookup``, appeals ``blocklist.appeals``; both ask this)


def effective_block(session: Session, domain: Domain) -> BlockEntry | None:
    """The active entry that decides the name: its own, else the nearest listed parent
    (the RPZ prefers the exact trigger, then the closest wildcard)."""
    candidates = [domain.name, *(a.name for a in domain.ancestors())]
    rows = session.scalars(
        select(BlockEntry).where(
            BlockEntry.domain.in_(candidates), BlockEntry.status == BlockStatus.ACTIVE
        )
    ).all()
    if not rows:
        return None
    return max(rows, key=lambda e: len(e.domain))
