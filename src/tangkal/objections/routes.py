"""HTTP routes for objections (sanggah): the platform files, an official decides."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from tangkal import limits
from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.api.openapi import choices, not_blank
from tangkal.objections import services
from tangkal.objections.models import ObjectionStatus

router = APIRouter(prefix="/api/v1", tags=["objections"])


class SubjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["order", "warning", "fine", "sanction", "block"]
    id: str = Field(max_length=100)


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: SubjectIn
    reason: str = Field(max_length=limits.OBJECTION_REASON, json_schema_extra=not_blank())
    evidence: list[str] = Field(
        default_factory=list,
        max_length=limits.OBJECTION_EVIDENCE_ITEMS,
        description="links or short descriptions of the evidence",
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["upheld", "rejected"]
    reason: str = Field(max_length=20000, json_schema_extra=not_blank())


class SubjectOut(BaseModel):
    kind: str
    id: str


class ObjectionOut(BaseModel):
    id: str
    reference: str
    status: str
    platform: str | None
    subject: SubjectOut
    order_id: str | None
    reason: str
    evidence: list[str]
    filed_by: str
    filed_at: str
    decide_by: str
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None


class ObjectionList(BaseModel):
    objections: list[ObjectionOut]


@router.post("/objections", status_code=201, response_model=ObjectionOut)
def file_objection(body: ObjectionIn, principal: CurrentPrincipal, session: UnitOfWork) -> Any:
    """Object to an order, a warning, a fine, a sanction or a block; while it is pending the
    order's escalation waits."""
    obj = services.file(
        session,
        principal,
        kind=body.subject.kind,
        subject_id=body.subject.id,
        reason=body.reason,
        evidence=body.evidence,
    )
    return services.to_dict(session, obj)


@router.get("/objections", response_model=ObjectionList)
def list_objections(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    status: str | None = Query(None, max_length=40, json_schema_extra=choices(ObjectionStatus)),
    order: str | None = Query(None, max_length=40, description="an order's id or reference"),
    limit: int = Query(100, ge=1, le=1000),
) -> Any:
    rows = services.list_for(session, principal, status=status, order=order, limit=limit)
    return {"objections": [services.to_dict(session, o) for o in rows]}


@router.get("/objections/{objection_id}", response_model=ObjectionOut)
def get_objection(objection_id: str, principal: CurrentPrincipal, session: UnitOfWork) -> Any:
    return services.to_dict(session, services.get(session, principal, objection_id))


@router.post("/objections/{objection_id}/decision", response_model=ObjectionOut)
def decide(
    objection_id: str, body: DecisionIn, principal: CurrentPrincipal, session: UnitOfWork
) -> Any:
    """Upheld: the warning or fine is annulled (kept, marked), the sanction withdrawn or
    lifted, the block restored, the order withdrawn. Rejected: the escalation resumes."""
    obj = services.decide(
        session, principal, objection_id, outcome=body.outcome, reason=body.reason
    )
    return services.to_dict(session, obj)
