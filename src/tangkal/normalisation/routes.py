"""HTTP routes for normalisation requests and their decisions."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tangkal.api.deps import CurrentPrincipal, OptionalPrincipal, UnitOfWork
from tangkal.api.openapi import choices, not_blank
from tangkal.errors import RateLimited
from tangkal.normalisation import services
from tangkal.normalisation.models import NormalisationStatus
from tangkal.ratelimit import RateLimiter

router = APIRouter(prefix="/api/v1", tags=["normalisation"])
public_limiter = RateLimiter(limit=5, window=600.0)
#: following a request by its reference: generous for a person reloading the page, far too
#: slow to walk the references of a day (24 random bits each)
follow_limiter = RateLimiter(limit=60, window=600.0)


class NormalisationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: str | None = Field(default=None, max_length=200)
    domains: list[str] = Field(default_factory=list, max_length=100)
    reason: str = Field(max_length=20000, json_schema_extra=not_blank())
    conditions: dict[str, str] = Field(
        default_factory=dict, description="evidence per condition of the profile's checklist"
    )
    contact_email: str | None = Field(
        default=None, max_length=320, description="for a request from the public"
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["approved", "refused"]
    reason: str = Field(max_length=20000, json_schema_extra=not_blank())


class ConditionOut(BaseModel):
    name: str
    label_en: str
    label_id: str
    met: bool
    evidence: str | None = None


class BlockRef(BaseModel):
    id: str
    domain: str
    status: str


class Approval(BaseModel):
    by: str
    at: str


class NormalisationOut(BaseModel):
    id: str
    reference: str
    status: str
    source: str
    platform: str | None
    domains: list[str]
    reason: str
    requested_at: str
    decide_by: str
    conditions: list[ConditionOut]
    needs_second_official: bool
    may_be_refused: bool
    first_approval: Approval | None
    decided_at: str | None
    decision_reason: str | None
    blocks: list[BlockRef]
    requested_by: str | None = None
    decided_by: str | None = None


class PublicBlock(BaseModel):
    domain: str
    status: str


class PublicNormalisationOut(BaseModel):
    """A request as anyone holding its reference sees it: the decision and its clock."""

    reference: str
    status: str
    source: str
    platform: str | None
    domains: list[str]
    requested_at: str
    decide_by: str
    decided_at: str | None
    decision_reason: str | None
    conditions_met: list[str]
    blocks: list[PublicBlock]


class NormalisationList(BaseModel):
    normalisations: list[NormalisationOut]


@router.post("/normalisations", status_code=201, response_model=NormalisationOut)
def request_normalisation(
    body: NormalisationIn, request: Request, principal: OptionalPrincipal, session: UnitOfWork
) -> Any:
    """The platform asks for its sanctioned names; without a token, a domain's owner asks for
    that one domain (with a contact address)."""
    if principal is None:
        ip = request.client.host if request.client else "unknown"
        if not public_limiter.allow(ip):
            raise RateLimited("Too many requests from your address; please wait ten minutes.")
    row = services.request(
        session,
        principal,
        platform=body.platform,
        domains=body.domains,
        reason=body.reason,
        conditions=body.conditions,
        contact_email=body.contact_email,
    )
    return services.to_dict(session, row, public=principal is None)


@router.get("/normalisations", response_model=NormalisationList)
def list_normalisations(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    status: str | None = Query(None, max_length=40, json_schema_extra=choices(NormalisationStatus)),
    limit: int = Query(100, ge=1, le=1000),
) -> Any:
    rows = services.list_for(session, principal, status=status, limit=limit)
    return {"normalisations": [services.to_dict(session, r) for r in rows]}


@router.get("/normalisations/{nid}", response_model=NormalisationOut)
def get_normalisation(nid: str, principal: CurrentPrincipal, session: UnitOfWork) -> Any:
    return services.to_dict(session, services.get(session, principal, nid))


@router.post("/normalisations/{nid}/decision", response_model=NormalisationOut)
def decide(nid: str, body: DecisionIn, principal: CurrentPrincipal, session: UnitOfWork) -> Any:
    """Approved: the blocks are restored through the RPZ (after a second, different official
    where the profile says so). Refused: with reasons, on the case."""
    row = services.decide(session, principal, nid, outcome=body.outcome, reason=body.reason)
    return services.to_dict(session, row)


@router.get(
    "/public/normalisations/{reference}",
    response_model=PublicNormalisationOut,
    tags=["public"],
)
def follow(request: Request, session: UnitOfWork, reference: str = Path(max_length=40)) -> Any:
    """A request followed by its reference, without a token: its status, when it is decided
    by, and the decision with its reasons (not who asked, their reasons or their address)."""
    ip = request.client.host if request.client else "unknown"
    if not follow_limiter.allow(ip):
        raise RateLimited("Too many requests from your address; please wait ten minutes.")
    return services.public_view(session, services.by_reference(session, reference))
