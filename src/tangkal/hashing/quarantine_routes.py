"""The API of the quarantine's review queue: a bank owner's held contents, and releasing
(with a new baseline) or removing one (the rule and the hold: :mod:`tangkal.hashing.quarantine`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.hashing import quarantine
from tangkal.hashing.quarantine_shapes import HeldOut

router = APIRouter(prefix="/api/v1", tags=["hash banks"])

BankName = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
ContentId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class HeldQueue(BaseModel):
    held: list[HeldOut]


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    baseline: float | None = Field(
        default=None,
        ge=0,
        le=1e9,
        description="Its accepted matches per window from now on; by default the rate that "
        "held it, so the same rate does not hold it again.",
    )


class Released(BaseModel):
    content_id: int
    released: bool
    baseline: float


class RemovedHeld(BaseModel):
    removed: int


@router.get("/banks/{name}/quarantine", response_model=HeldQueue)
def held_queue(name: BankName, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    """For the bank's owner: contents held because they suddenly matched far more than
    their history, oldest first. Lookups report them as held, never as matches."""
    return {"held": quarantine.queue(session, principal, name)}


@router.post("/banks/{name}/quarantine/{content_id}/release", response_model=Released)
def release_held(
    name: BankName,
    content_id: ContentId,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    body: ReleaseIn | None = None,
) -> dict[str, Any]:
    """The owner vouches for it: it matches again, with a new baseline."""
    return quarantine.release(
        session, principal, name, content_id, baseline=body.baseline if body else None
    )


@router.delete("/banks/{name}/quarantine/{content_id}", response_model=RemovedHeld)
def remove_held(
    name: BankName, content_id: ContentId, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """The owner agrees it is bad: it leaves the bank."""
    quarantine.remove_held(session, principal, name, content_id)
    return {"removed": content_id}
