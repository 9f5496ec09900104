"""HTTP routes for reading and verifying the audit chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.audit import services

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/verify")
def verify(principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    principal.require(Role.AUDITOR, Role.OFFICIAL, Role.ADMIN)
    r = services.verify(session)
    return {
        "ok": r.ok,
        "checked": r.checked,
        "first_bad_seq": r.first_bad_seq,
        "problem": r.problem,
        "head_hash": r.head_hash,
    }


@router.get("")
def list_events(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    after: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """Regulator auditors and officials read the whole chain; others read their own acts."""
    principal.require(Role.AUDITOR, Role.OFFICIAL, Role.ADMIN)
    own_only = principal.org_kind is not OrgKind.REGULATOR
    events = services.page(
        session, after=after, limit=limit, org_id=principal.org_id if own_only else None
    )
    return {
        "events": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "data": e.data,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in events
        ]
    }
