"""HTTP routes for reading and verifying the audit chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.audit import checkpoints, services
from tangkal.audit.signing import load_key

router = APIRouter(prefix="/api/v1", tags=["audit"])


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


@router.get("/audit/verify", response_model=VerifyOut, response_model_exclude_unset=True)
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


@router.get("/audit", response_model=EventList, response_model_exclude_unset=True)
def list_events(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    after: int = Query(0, ge=0, le=2**63 - 1),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """The events that concern the caller's organisation: its own acts and those on what it
    owns (a regulator's orders, a platform's banks). Another regulator's orders and a
    platform's private bank stay theirs; regulators also share the events that concern no
    organisation. The whole chain's integrity is public through ``/verify`` and the signed
    checkpoint, without its contents."""
    principal.require(Role.AUDITOR, Role.OFFICIAL, Role.ADMIN)
    events = services.page(
        session,
        after=after,
        limit=limit,
        org_id=principal.org_id,
        common=principal.org_kind is OrgKind.REGULATOR,
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


class CheckpointOut(BaseModel):
    """The chain's size and head hash at ``signed_at``, signed with Ed25519 over
    ``tangkal-audit-checkpoint/v1\\n{size}\\n{head}\\n{signed_at}\\n``; keep it to check the
    chain later (``tangkal audit verify --checkpoint FILE``)."""

    model_config = ConfigDict(extra="allow")
    version: str
    seq: int
    size: int
    head: str
    signed_at: str
    key_id: str
    public_key: str
    signature: str


@router.get(
    "/public/audit/checkpoint",
    response_model=CheckpointOut,
    response_model_exclude_unset=True,
    tags=["public"],
)
def public_checkpoint(request: Request, session: UnitOfWork) -> dict[str, Any]:
    """The latest signed checkpoint (public, no token); one is made now if none exists yet."""
    cp = checkpoints.latest(session) or checkpoints.make(
        session, load_key(request.app.state.settings)
    )
    return checkpoints.as_dict(cp)
