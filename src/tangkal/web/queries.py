"""Reads the pages need that the domain services do not offer (yet).

Kept here so routes stay free of queries; each function is small and scoped the same way
the services scope theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, OrgKind, User
from tangkal.accounts.principal import Principal
from tangkal.blocklist.models import Appeal, BlockEntry
from tangkal.blocklist.services import parse_status
from tangkal.errors import NotFound


def signed_in_person(session: Session, user_id: str,
                     org_id: str | None) -> tuple[Principal, str, str] | None:
    """The person behind a console session, read afresh: (principal, name, organisation)."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.org_id != org_id:
        return None
    org = session.get(Organization, user.org_id)
    if org is None:
        return None
    principal = Principal(org_id=org.id, org_name=org.name, org_kind=org.kind, role=user.role,
                          user_id=user.id, username=user.username)
    return principal, user.display_name, org.display_name


@dataclass(frozen=True, slots=True)
class OrgName:
    id: str
    name: str
    display_name: str


def platforms(session: Session) -> list[OrgName]:
    """Platforms an order can be addressed to, for the new-order form."""
    rows = session.execute(
        select(Organization.id, Organization.name, Organization.display_name)
        .where(Organization.kind == OrgKind.PLATFORM).order_by(Organization.display_name)
    ).all()
    return [OrgName(*r) for r in rows]


def org_names(session: Session, ids: set[str]) -> dict[str, str]:
    """Display names of organisations by id (for tables that show the platform)."""
    if not ids:
        return {}
    rows = session.execute(select(Organization.id, Organization.display_name)
                           .where(Organization.id.in_(list(ids)))).all()
    return {i: n for i, n in rows}


# ------------------------------------------------------------------ blocks (regulator only)


def search_blocks(session: Session, principal: Principal, text: str, *,
                  status: str | None = None, limit: int = 50,
                  offset: int = 0) -> list[BlockEntry]:
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
    rows = session.execute(select(BlockEntry.status, func.count())
                           .group_by(BlockEntry.status)).all()
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
    rows = session.execute(select(BlockEntry.id, BlockEntry.domain, BlockEntry.status,
                                  BlockEntry.action).where(BlockEntry.id.in_(list(ids)))).all()
    return {i: BlockSummary(i, d, s.value, a.value) for i, d, s, a in rows}


def appeals_for_block(session: Session, block_id: str) -> list[Appeal]:
    """Appeals against one entry, shown on its page (regulator pages only)."""
    return list(session.scalars(select(Appeal).where(Appeal.block_id == block_id)
                                .order_by(Appeal.created_at.desc()).limit(100)))


# ------------------------------------------------------------------ orders named by matches


def visible_order_refs(session: Session, principal: Principal,
                       ids: set[str], limit: int = 50) -> dict[str, str]:
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

