"""The API of feedback's way back: a bank owner's tallies of the verdicts on its contents,
and one content's verdicts and notes (who sees what: :mod:`tangkal.hashing.feedback`).
Giving a verdict stays ``POST /api/v1/match/{content_id}/feedback`` beside the match routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.hashing import feedback
from tangkal.hashing import responses as shapes

router = APIRouter(prefix="/api/v1", tags=["hash banks"])


@router.get(
    "/banks/{name}/feedback",
    response_model=shapes.BankFeedbackOut,
    response_model_exclude_unset=True,
)
def bank_feedback(
    name: str,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    sort: Literal["rejected", "confirmed", "content"] = "rejected",
    review_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """For the bank's owner: every content with verdicts (given on it or on a copy of it in
    another bank), with the counts per organisation, most rejected first; ``review_only``
    keeps the ones that several organisations rejected."""
    return feedback.bank_feedback(
        session, principal, name, sort=sort, review_only=review_only, limit=limit
    ).as_dict()


@router.get(
    "/content/{content_id}/feedback",
    response_model=shapes.ContentFeedbackOut,
    response_model_exclude_unset=True,
)
def content_feedback(
    content_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    principal: CurrentPrincipal,
    session: UnitOfWork,
) -> dict[str, Any]:
    """One banked content's verdicts: totals for anyone who can see it, per organisation and
    with every note for its bank's owner, with only the caller's own notes otherwise."""
    return feedback.content_feedback(session, principal, content_id)
