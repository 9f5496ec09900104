"""HTTP routes for block entries, the rails, the protected list, the public lookup and appeals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.blocklist import services
from tangkal.blocklist.rails import assess
from tangkal.blocklist.responses import (
    AppealList,
    AppealReceived,
    AssessmentOut,
    BlockCreated,
    BlockDetail,
    BlockList,
    BlockOut,
    LookupOut,
    ProtectedList,
    ProtectedOut,
    ProtectedRemoved,
)
from tangkal.errors import Forbidden, RateLimited
from tangkal.locators import Domain
from tangkal.ratelimit import RateLimiter

router = APIRouter(prefix="/api/v1", tags=["blocks"])


class BlockIn(BaseModel):
    domain: str = Field(max_length=1000, description="The name to block (Unicode or A-labels)")
    action: str = Field(description="nxdomain, nodata, landing or passthru")
    legal_basis: str = Field(max_length=2000)
    reason: str = Field(max_length=20000)
    order_id: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=200)
    effective_at: datetime | None = None
    expires_at: datetime | None = None


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=20000)


class ProtectedIn(BaseModel):
    name: str = Field(max_length=1000)
    note: str = Field(max_length=2000)


class AppealIn(BaseModel):
    domain: str = Field(max_length=1000)
    contact_email: str = Field(max_length=1000)
    statement: str = Field(max_length=20000)


@router.post(
    "/blocks", status_code=201, response_model=BlockCreated, response_model_exclude_unset=True
)
def create_block(body: BlockIn, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    """An official's block takes effect at once (published to the RPZ in this transaction)
    unless the rails need a second official; an analyst's waits for approval."""
    req = services.BlockRequest.build(
        domain=body.domain,
        action=body.action,
        legal_basis=body.legal_basis,
        reason=body.reason,
        category=body.category,
        order_id=body.order_id,
        effective_at=body.effective_at,
        expires_at=body.expires_at,
    )
    entry, assessment = services.create_block(session, principal, req)
    return {**services.to_dict(entry), "assessment": assessment.to_dict()}


@router.get("/blocks/assess", response_model=AssessmentOut, response_model_exclude_unset=True)
def assess_block(
    principal: CurrentPrincipal, session: UnitOfWork, domain: str = Query(..., max_length=1000)
) -> dict[str, Any]:
    """What a block on the name would touch, before anyone decides."""
    principal.require(Role.ANALYST, Role.OFFICIAL, Role.AUDITOR, Role.ADMIN)
    principal.require_kind(OrgKind.REGULATOR)
    return assess(session, Domain.parse(domain)).to_dict()


@router.get("/blocks/protected", response_model=ProtectedList, response_model_exclude_unset=True)
def list_protected(principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    principal.require_kind(OrgKind.REGULATOR)
    return {
        "protected": [
            {
                "name": p.name,
                "note": p.note,
                "created_by": p.created_by,
                "created_at": p.created_at.isoformat(),
            }
            for p in services.list_protected(session)
        ]
    }


@router.post(
    "/blocks/protected",
    status_code=201,
    response_model=ProtectedOut,
    response_model_exclude_unset=True,
)
def add_protected(
    body: ProtectedIn, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    row = services.add_protected(session, principal, body.name, body.note)
    return {"name": row.name, "note": row.note, "created_by": row.created_by}


@router.delete(
    "/blocks/protected/{name}", response_model=ProtectedRemoved, response_model_exclude_unset=True
)
def remove_protected(name: str, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    services.remove_protected(session, principal, name)
    return {"name": name, "removed": True}


@router.get("/blocks", response_model=BlockList, response_model_exclude_unset=True)
def list_blocks(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    domain: str | None = Query(None, max_length=1000),
    status: str | None = Query(None, max_length=40),
    beneath: bool = Query(False, description="also entries for names beneath domain"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> dict[str, Any]:
    """Regulator and auditors see all; an ISP sees active blocks; a platform sees blocks on
    its own registered domains."""
    if principal.org_kind is OrgKind.ISP and status and status != "active":
        raise Forbidden("An ISP sees only active blocks; leave out status or use status=active.")
    entries = services.list_blocks(
        session,
        principal,
        domain=domain,
        status=status,
        beneath=beneath,
        limit=limit,
        offset=offset,
    )
    return {"blocks": [services.to_dict(e) for e in entries], "limit": limit, "offset": offset}


@router.get("/blocks/{block_id}", response_model=BlockDetail, response_model_exclude_unset=True)
def get_block(block_id: str, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    entry = services.get_block(session, principal, block_id)
    return {**services.to_dict(entry), "history": services.history(session, entry)}


@router.post(
    "/blocks/{block_id}/approve", response_model=BlockOut, response_model_exclude_unset=True
)
def approve_block(
    block_id: str, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    return services.to_dict(services.approve(session, principal, block_id))


@router.post(
    "/blocks/{block_id}/reject", response_model=BlockOut, response_model_exclude_unset=True
)
def reject_block(
    block_id: str,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    body: ReasonIn = Body(default_factory=ReasonIn),
) -> dict[str, Any]:
    return services.to_dict(services.reject(session, principal, block_id, body.reason))


@router.delete("/blocks/{block_id}", response_model=BlockOut, response_model_exclude_unset=True)
def restore_block(
    block_id: str,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    body: ReasonIn = Body(default_factory=ReasonIn),
) -> dict[str, Any]:
    """Normalisation: restore access, published to the RPZ in the same transaction."""
    return services.to_dict(services.restore(session, principal, block_id, body.reason))


# ------------------------------------------------------------------ public, no token


@router.get(
    "/public/lookup", tags=["public"], response_model=LookupOut, response_model_exclude_unset=True
)
def public_lookup(
    request: Request, session: UnitOfWork, domain: str = Query("", max_length=1000)
) -> dict[str, Any]:
    """Is this name blocked, since when, on what legal basis, and how to appeal."""
    base = request.app.state.settings.public_base_url
    return services.lookup(session, domain, base_url=base)


appeal_limiter = RateLimiter(limit=5, window=600.0)


@router.post(
    "/public/appeals",
    status_code=202,
    tags=["public"],
    response_model=AppealReceived,  # documentation: the route answers a JSONResponse
)
def submit_appeal(body: AppealIn, request: Request, session: UnitOfWork) -> JSONResponse:
    ip = request.client.host if request.client else "unknown"
    if not appeal_limiter.allow(ip):
        raise RateLimited(
            "Too many appeals from your address; please wait ten minutes and try again."
        )
    appeal = services.submit_appeal(session, body.domain, body.contact_email, body.statement)
    return JSONResponse(
        status_code=202,
        content={
            "reference": appeal.reference,
            "domain": appeal.domain,
            "status": appeal.status,
            "message": f"Your appeal was received; quote {appeal.reference} in any follow-up.",
        },
    )


@router.get("/appeals", response_model=AppealList, response_model_exclude_unset=True)
def list_appeals(
    principal: CurrentPrincipal, session: UnitOfWork, limit: int = Query(100, ge=1, le=1000)
) -> dict[str, Any]:
    return {
        "appeals": [
            services.appeal_to_dict(a)
            for a in services.list_appeals(session, principal, limit=limit)
        ]
    }
