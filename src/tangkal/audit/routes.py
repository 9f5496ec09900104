"""HTTP routes for reading and verifying the audit chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.audit import checkpoints, proofs, services
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
    """The chain's size, head hash and RFC 9162 Merkle root at ``signed_at``, signed with
    Ed25519 over ``tangkal-audit-checkpoint/v2\\n{size}\\n{head}\\n{root}\\n{signed_at}\\n``
    (a checkpoint signed before roots existed has no ``root`` and is signed over
    ``tangkal-audit-checkpoint/v1\\n{size}\\n{head}\\n{signed_at}\\n``); keep it to check
    the chain later (``tangkal audit verify --checkpoint FILE``) and proofs against it
    (``tangkal audit check-proof``)."""

    model_config = ConfigDict(extra="allow")
    version: str
    seq: int
    size: int
    head: str
    root: str | None = None
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


_HEX = "hex SHA-256"
_BIG = 2**63 - 1


class InclusionProofOut(BaseModel):
    """RFC 9162 §2.1.3 inclusion proof: entry ``seq`` is leaf ``leaf_index`` of the tree of
    the first ``tree_size`` entries. Hash ``leaf_hash`` (SHA-256 of 0x00 and the entry's
    chain hash) up ``audit_path``; the result must be the ``root`` a signed v2 checkpoint of
    that size carries (``tangkal audit check-proof``). Hashes only, no entry's contents."""

    model_config = ConfigDict(extra="allow")
    kind: str = Field(description='"inclusion"')
    algorithm: str = Field(description="rfc9162-sha256")
    seq: int
    leaf_index: int
    tree_size: int
    entry_hash: str = Field(description="the entry's chain hash, the leaf's input (hex)")
    leaf_hash: str = Field(description=_HEX)
    audit_path: list[str] = Field(description="sibling hashes, leaf to root (hex)")
    root: str = Field(description="the tree's hash at tree_size (hex)")


class ConsistencyProofOut(BaseModel):
    """RFC 9162 §2.1.4 consistency proof: the tree of the first ``second`` entries extends
    the tree of the first ``first`` (nothing in it was changed or removed). Check it against
    the roots of signed v2 checkpoints of both sizes (``tangkal audit check-proof``)."""

    model_config = ConfigDict(extra="allow")
    kind: str = Field(description='"consistency"')
    algorithm: str = Field(description="rfc9162-sha256")
    first: int
    second: int
    first_root: str = Field(description=_HEX)
    second_root: str = Field(description=_HEX)
    proof: list[str] = Field(description="the RFC's PROOF(first, D[second]) (hex)")


@router.get(
    "/public/audit/proof/inclusion",
    response_model=InclusionProofOut,
    response_model_exclude_unset=True,
    tags=["public"],
)
def public_inclusion_proof(
    session: UnitOfWork,
    seq: int = Query(..., ge=1, le=_BIG, description="the entry (1 is the first)"),
    size: int | None = Query(
        None, ge=1, le=_BIG, description="the tree's size, e.g. a checkpoint's (default: now)"
    ),
) -> dict[str, Any]:
    """The inclusion proof of one entry (public, no token: sizes and hashes only)."""
    return proofs.inclusion(session, seq, size)


@router.get(
    "/public/audit/proof/consistency",
    response_model=ConsistencyProofOut,
    response_model_exclude_unset=True,
    tags=["public"],
)
def public_consistency_proof(
    session: UnitOfWork,
    first: int = Query(..., ge=1, le=_BIG, description="the earlier tree's size"),
    second: int | None = Query(
        None, ge=1, le=_BIG, description="the later tree's size (default: now)"
    ),
) -> dict[str, Any]:
    """The consistency proof between two sizes of the chain (public, no token)."""
    return proofs.consistency(session, first, second)
