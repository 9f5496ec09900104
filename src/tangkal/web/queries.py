"""Reads the pages need that the domain services do not offer (yet).

Kept here so routes stay free of queries; each function is small and scoped the same way
the services scope theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, OrgKind, User
from tangkal.accounts.principal import Principal
from tangkal.blocklist.models import Appeal, BlockEntry
from tangkal.blocklist.services import parse_status
from tangkal.errors import NotFound
from tangkal.orders.models import Order


def signed_in_person(
    session: Session, user_id: str, org_id: str | None
) -> tuple[Principal, str, str, str | None] | None:
    """The person behind a console session, read afresh: (principal, name, organisation,
    the time zone they read times in or None for the profile's)."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.org_id != org_id:
        return None
    org = session.get(Organization, user.org_id)
    if org is None:
        return None
    principal = Principal(
        org_id=org.id,
        org_name=org.name,
        org_kind=org.kind,
        role=user.role,
        user_id=user.id,
        username=user.username,
    )
    return principal, user.display_name, org.display_name, user.timezone


@dataclass(frozen=True, slots=True)
class OrgName:
    id: str
    name: str
    display_name: str


def platforms(session: Session) -> list[OrgName]:
    """Platforms an order can be addressed to, for the new-order form."""
    rows = session.execute(
        select(Organization.id, Organization.name, Organization.display_name)
        .where(Organization.kind == OrgKind.PLATFORM)
        .order_by(Organization.display_name)
    ).all()
    return [OrgName(*r) for r in rows]


def org_names(session: Session, ids: set[str]) -> dict[str, str]:
    """Display names of organisations by id (for tables that show the platform)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Organization.id, Organization.display_name).where(Organization.id.in_(list(ids)))
    ).all()
    return {i: n for i, n in rows}


# ------------------------------------------------------------------ blocks (regulator only)


def search_blocks(
    session: Session,
    principal: Principal,
    text: str,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[BlockEntry]:
    """Entries whose name contains a fragment ("telegram"), for the regulator's list; the
    service's own search takes whole names only."""
    principal.require_kind(OrgKind.REGULATOR)
    fragment = text.strip().lower()
    q = select(BlockEntry).where(BlockEntry.domain.contains(fragment, autoescape=True))
    if status:
        q = q.where(BlockEntry.status == parse_status(status))
    q = q.order_by(BlockEntry.requested_at.desc(), BlockEntry.id).limit(limit).offset(offset)
    return list(session.scalars(q))


def block_counts(session: Session, principal: Principal) -> dict[str, int]:
    """Entries per status, for the filter chips of the regulator's list."""
    principal.require_kind(OrgKind.REGULATOR)
    rows = session.execute(
        select(BlockEntry.status, func.count()).group_by(BlockEntry.status)
    ).all()
    return {s.value: int(n) for s, n in rows}


@dataclass(frozen=True, slots=True)
class BlockSummary:
    id: str
    domain: str
    status: str
    action: str


def block_summaries(session: Session, ids: set[str]) -> dict[str, BlockSummary]:
    """The entries appeals point at, for the appeals table (regulator pages only)."""
    if not ids:
        return {}
    rows = session.execute(
        select(BlockEntry.id, BlockEntry.domain, BlockEntry.status, BlockEntry.action).where(
            BlockEntry.id.in_(list(ids))
        )
    ).all()
    return {i: BlockSummary(i, d, s.value, a.value) for i, d, s, a in rows}


def appeals_for_block(session: Session, block_id: str) -> list[Appeal]:
    """Appeals against one entry, shown on its page (regulator pages only)."""
    return list(
        session.scalars(
            select(Appeal)
            .where(Appeal.block_id == block_id)
            .order_by(Appeal.created_at.desc())
            .limit(100)
        )
    )


# ------------------------------------------------------------------ orders named by matches


def visible_order_refs(
    session: Session, principal: Principal, ids: set[str], limit: int = 50
) -> dict[str, str]:
    """References of those orders the caller may open (through the orders service, which
    scopes by organisation); the others are shown without a link."""
    from tangkal.orders.services import get_order

    out: dict[str, str] = {}
    for oid in sorted(ids)[:limit]:
        try:
            out[oid] = get_order(session, principal, oid).reference
        except NotFound:
            continue
    return out


# ------------------------------------------------------------------ the procedure


def visible_orders(principal: Principal) -> ColumnElement[bool]:
    """Orders the caller's organisation may see, as the orders service scopes them."""
    if principal.org_kind is OrgKind.PLATFORM:
        return Order.platform_org_id == principal.org_id
    if principal.org_kind is OrgKind.REGULATOR:
        return Order.regulator_org_id == principal.org_id
    return Order.id.is_(None)


def sanctions_of_order(session: Session, principal: Principal, order_id: str) -> dict[str, str]:
    """The sanctions an order is part of (named by an official, or joined by the
    escalation), newest first, with their status; the sanctions service reads each one
    where a page shows it."""
    from tangkal.sanctions.models import Sanction, SanctionOrder

    rows = session.execute(
        select(Sanction.id, Sanction.status)
        .join(SanctionOrder, Sanction.id == SanctionOrder.sanction_id)
        .join(Order, Order.id == SanctionOrder.order_id)
        .where(SanctionOrder.order_id == order_id, visible_orders(principal))
        .order_by(Sanction.proposed_at.desc())
        .limit(50)
    ).tuples()
    return {sid: status.value for sid, status in rows}


@dataclass(frozen=True, slots=True)
class SubjectView:
    """What an objection contests, as its list shows it: words and where it lives."""

    kind: str
    id: str
    label: str
    order_id: str | None = None  # the order page for an order, a warning or a fine
    sanction_id: str | None = None
    block_id: str | None = None


def objection_subjects(
    session: Session, principal: Principal, subjects: list[tuple[str, str]]
) -> dict[tuple[str, str], SubjectView]:
    """The subjects of the objections on a page, read in one query per kind and scoped to
    what the caller's organisation may see (the objection list is scoped by its service)."""
    from tangkal.orders.models import EscalationStep
    from tangkal.sanctions.models import Sanction

    out: dict[tuple[str, str], SubjectView] = {}
    by_kind: dict[str, set[str]] = {}
    for kind, sid in subjects:
        by_kind.setdefault(kind, set()).add(sid)
    if by_kind.get("order"):
        for oid, ref in session.execute(
            select(Order.id, Order.reference).where(
                Order.id.in_(list(by_kind["order"])), visible_orders(principal)
            )
        ):
            out[("order", oid)] = SubjectView("order", oid, ref, order_id=oid)
    steps = (by_kind.get("warning") or set()) | (by_kind.get("fine") or set())
    if steps:
        rows = session.execute(
            select(EscalationStep.id, EscalationStep.code, Order.id, Order.reference)
            .join(Order, Order.id == EscalationStep.order_id)
            .where(EscalationStep.id.in_(list(steps)), visible_orders(principal))
        )
        for step_id, code, oid, ref in rows:
            for kind in ("warning", "fine"):
                if step_id in by_kind.get(kind, set()):
                    out[(kind, step_id)] = SubjectView(kind, step_id, f"{ref} {code}", order_id=oid)
    if by_kind.get("sanction"):
        scope = (
            Sanction.platform_org_id == principal.org_id
            if principal.org_kind is OrgKind.PLATFORM
            else Sanction.regulator_org_id == principal.org_id
        )
        for sid, ref in session.execute(
            select(Sanction.id, Sanction.reference).where(
                Sanction.id.in_(list(by_kind["sanction"])), scope
            )
        ):
            out[("sanction", sid)] = SubjectView("sanction", sid, ref, sanction_id=sid)
    if by_kind.get("block"):
        for bid, domain in session.execute(
            select(BlockEntry.id, BlockEntry.domain).where(
                BlockEntry.id.in_(list(by_kind["block"]))
            )
        ):
            out[("block", bid)] = SubjectView(
                "block",
                bid,
                domain,
                block_id=bid if principal.org_kind is OrgKind.REGULATOR else None,
            )
    return out
