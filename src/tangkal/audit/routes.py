"""HTTP routes for reading and verifying the audit chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.audit import services

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class VerifyOut(BaseModel):
    """The chain's check; ``first_bad_seq`` and ``problem`` name the first bad entry."""

    model_config = ConfigDict(extra="allow")  # answers only grow
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None
    head_hash: str | None


class EventOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    seq: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class EventList(BaseModel):
    model_config = ConfigDict(extra="allow")
    events: list[EventOut]


@router.get("/verify", response_model=VerifyOut, response_model_exclude_unset=True)
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


@router.get("", response_model=EventList, response_model_exclude_unset=True)
def list_events(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    after: int = Query(0, ge=0, le=2**63 - 1),
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
