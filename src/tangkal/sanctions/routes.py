"""HTTP routes for sanctions: propose, list, read, approve (one person each), reject."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.api.openapi import choices
from tangkal.sanctions import services
from tangkal.sanctions.models import SanctionStatus

router = APIRouter(prefix="/api/v1", tags=["sanctions"])


class SanctionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: str = Field(max_length=200, description="The platform's name or id")
    action: str | None = Field(
        default=None,
        max_length=20,
        description="nxdomain, nodata or landing (default: the profile's)",
    )
    legal_basis: str | None = Field(default=None, max_length=2000)
    reason: str = Field(max_length=20000)
    orders: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="ids or references of the orders it answers",
    )


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=20000)


class BlockRef(BaseModel):
    id: str
    domain: str
    status: str
    action: str


class OrderRef(BaseModel):
    id: str
    reference: str | None


class Approval(BaseModel):
    by: str
    at: str


class SanctionOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    reference: str
    platform: str | None
    status: str
    action: str
    legal_basis: str
    reason: str
    source: str
    proposed_at: str
    officials_required: int
    approvals: list[Approval]
    orders: list[OrderRef]
    blocks: list[BlockRef]
    already_blocked: list[str] = Field(default_factory=list)


class SanctionList(BaseModel):
    sanctions: list[SanctionOut]


@router.post("/sanctions", status_code=201, response_model=SanctionOut)
def propose(body: SanctionIn, principal: CurrentPrincipal, session: UnitOfWork) -> Any:
    """Pending blocks for every registered domain of the platform, effective when the
    profile's number of different officials (people, not tokens) approve."""
    sanction, made = services.propose(
        session,
        principal,
        platform=body.platform,
        action=body.action,
        legal_basis=body.legal_basis,
        reason=body.reason,
        orders=body.orders,
    )
    return {
        **services.to_dict(session, sanction, full=False),
        "already_blocked": [e.domain for e in made.already_blocked],
    }


@router.get("/sanctions", response_model=SanctionList)
def list_sanctions(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    platform: str | None = Query(None, max_length=200),
    status: str | None = Query(None, max_length=40, json_schema_extra=choices(SanctionStatus)),
    order: str | None = Query(None, max_length=40, description="an order's id or reference"),
    limit: int = Query(100, ge=1, le=1000),
) -> Any:
    rows = services.list_for(
        session, principal, platform=platform, status=status, order=order, limit=limit
    )
    return {"sanctions": services.to_dicts(session, rows, full=False)}


@router.get("/sanctions/{sanction_id}", response_model=SanctionOut)
def get_sanction(sanction_id: str, principal: CurrentPrincipal, session: UnitOfWork) -> Any:
    return services.to_dict(session, services.get(session, principal, sanction_id))


@router.post("/sanctions/{sanction_id}/approve", response_model=SanctionOut)
def approve(sanction_id: str, principal: CurrentPrincipal, session: UnitOfWork) -> Any:
    """One official's approval of all its blocks; the last one needed publishes them."""
    return services.to_dict(session, services.approve(session, principal, sanction_id))


@router.post("/sanctions/{sanction_id}/reject", response_model=SanctionOut)
def reject(
    sanction_id: str,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    body: ReasonIn = Body(default_factory=ReasonIn),
) -> Any:
    return services.to_dict(session, services.reject(session, principal, sanction_id, body.reason))
