"""HTTP routes for block entries, the rails, the protected list, the public lookup and appeals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tangkal import limits
from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.api.openapi import choices
from tangkal.blocklist import appeals, lookup, services
from tangkal.blocklist.models import AppealStatus, BlockStatus
from tangkal.blocklist.rails import assess
from tangkal.blocklist.responses import (
    AppealList,
    AppealOut,
    AppealPublicOut,
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
    legal_basis: str = Field(max_length=limits.BLOCK_LEGAL_BASIS)
    reason: str = Field(max_length=limits.BLOCK_REASON)
    order_id: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=200)
    effective_at: datetime | None = None
    expires_at: datetime | None = None
    landing: str | None = Field(
        default=None,
        max_length=400,
        description="landing blocks only: a landing page of its own where it differs from "
        "the zone's (TANGKAL_RPZ_LANDING): cname:<name> or a:<ipv4>,aaaa:<ipv6>",
    )


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=limits.BLOCK_DECISION_REASON)


class ProtectedIn(BaseModel):
    name: str = Field(max_length=1000)
    note: str = Field(max_length=2000)


class AppealIn(BaseModel):
    domain: str = Field(max_length=2000, description="the blocked domain, or a pasted URL")
    contact_email: str = Field(max_length=1000)
    statement: str = Field(max_length=appeals.MAX_STATEMENT)


class FollowIn(BaseModel):
    code: str = Field(max_length=100, description="the follow-up code given at submission")


class AppealDecisionIn(BaseModel):
    outcome: Literal["upheld", "rejected"]
    reason: str = Field(max_length=appeals.MAX_DECISION_REASON)


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
        landing=body.landing,
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
    status: str | None = Query(None, max_length=40, json_schema_extra=choices(BlockStatus)),
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
    request: Request,
    session: UnitOfWork,
    domain: str = Query("", max_length=2000, description="a domain (the contract's name)"),
    q: str = Query("", max_length=2000, description="a domain or a pasted URL"),
) -> dict[str, Any]:
    """Is this name blocked, since when, on what legal basis, by which order or sanction,
    how to appeal, and do the ISPs follow it. ``q`` also takes a pasted URL or Telegram
    link; a name beneath a blocked domain is blocked by it."""
    base = request.app.state.settings.public_base_url
    return lookup.lookup(session, q or domain, base_url=base)


appeal_limiter = RateLimiter(limit=5, window=600.0)
#: Following is reading, but each try is a guess at a code: a few dozen per address.
follow_limiter = RateLimiter(limit=30, window=600.0)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/public/appeals",
    status_code=202,
    tags=["public"],
    response_model=AppealReceived,  # documentation: the route answers a JSONResponse
)
def submit_appeal(body: AppealIn, request: Request, session: UnitOfWork) -> JSONResponse:
    """An appeal against a block in force; the answer carries the reference and, once only,
    the follow-up code that opens its status."""
    if not appeal_limiter.allow(_client(request)):
        raise RateLimited(
            "Too many appeals from your address; please wait ten minutes and try again."
        )
    done = appeals.submit(session, body.domain, body.contact_email, body.statement)
    a = done.appeal
    base = request.app.state.settings.public_base_url.rstrip("/")
    return JSONResponse(
        status_code=202,
        content={
            "reference": a.reference,
            "domain": a.domain,
            "status": a.status.value,
            "follow_up_code": done.follow_up_code,
            "decide_by": a.decide_by.isoformat(),
            "status_url": f"{base}/public/appeals/{a.reference}",
            "message": f"Your appeal was received; quote {a.reference} in any follow-up and "
            "keep the follow-up code: it is shown only once.",
        },
    )


@router.post(
    "/public/appeals/{reference}/follow",
    tags=["public"],
    response_model=AppealPublicOut,
    response_model_exclude_unset=True,
)
def follow_appeal(
    reference: str, body: FollowIn, request: Request, session: UnitOfWork
) -> dict[str, Any]:
    """An appeal's status for whoever holds its reference and follow-up code (a POST, so
    the code stays out of addresses and logs)."""
    if not follow_limiter.allow(_client(request)):
        raise RateLimited(
            "Too many requests from your address; please wait ten minutes and try again."
        )
    return appeals.public_view(appeals.follow(session, reference, body.code))


# ------------------------------------------------------------------ officials


@router.get("/appeals", response_model=AppealList, response_model_exclude_unset=True)
def list_appeals(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    status: str = Query(
        "open",
        max_length=40,
        description="open, decided, all or a status",
        json_schema_extra=choices(AppealStatus, "open", "decided", "all"),
    ),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """The officials' queue: open appeals by decision deadline, soonest first."""
    rows = appeals.queue(session, principal, status=status, limit=limit)
    return {"appeals": [appeals.to_dict(a, principal) for a in rows]}


@router.get("/appeals/{appeal_id}", response_model=AppealOut, response_model_exclude_unset=True)
def get_appeal(appeal_id: str, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    return appeals.to_dict(appeals.get(session, principal, appeal_id), principal)


@router.post(
    "/appeals/{appeal_id}/review", response_model=AppealOut, response_model_exclude_unset=True
)
def review_appeal(
    appeal_id: str, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """An official takes the appeal under review; the appellant sees it."""
    return appeals.to_dict(appeals.take_under_review(session, principal, appeal_id), principal)


@router.post(
    "/appeals/{appeal_id}/decision", response_model=AppealOut, response_model_exclude_unset=True
)
def decide_appeal(
    appeal_id: str, body: AppealDecisionIn, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """Upheld restores access to the contested name (through the RPZ, in this transaction);
    rejected keeps the block. The reasons are the appellant's to read."""
    row = appeals.decide(session, principal, appeal_id, outcome=body.outcome, reason=body.reason)
    return appeals.to_dict(row, principal)
