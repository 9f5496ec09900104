"""The answers of the block, lookup and appeal routes, as models for ``/openapi.json``.

As in :mod:`tangkal.orders.responses`: they describe the dictionaries the services build,
admit the fields they do not name, and the routes serialise with
``response_model_exclude_unset``, so the JSON is what it was before the models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """Passes on the fields it does not name (the contract only grows)."""

    model_config = ConfigDict(extra="allow")


class ApprovalOut(Open):
    by: str
    at: str | None


class BlockOut(Open):
    """One block entry: what it blocks, how, why, who approved it, and its life."""

    id: str
    domain: str = Field(description="A-labels")
    domain_unicode: str
    action: str = Field(description="nxdomain, nodata, landing or passthru")
    status: str
    legal_basis: str
    reason: str
    category: str | None
    order_id: str | None
    sanction_id: str | None
    requested_by: str | None
    requested_at: str | None
    needs_second_approval: bool
    approvals: list[ApprovalOut]
    rejected_at: str | None
    effective_at: str | None
    expires_at: str | None
    activated_at: str | None
    restored_at: str | None
    expired_at: str | None
    previous_blocks: int
    times_blocked: int
    normalisation_may_be_refused: bool
    assessment: dict[str, Any] | None = Field(description="the rails' assessment when filed")


class AssessmentOut(Open):
    """The proportionality rails' view of a name before it is blocked."""

    domain: str
    needs_second_approval: bool
    reasons: list[str]
    whole_service: bool
    platforms: list[dict[str, Any]]
    protected: bool
    protected_names: list[dict[str, Any]]
    listed_beneath: dict[str, Any]
    covered_by: list[str]
    collateral: dict[str, int]
    previous_blocks: int
    normalisation_may_be_refused: bool


class BlockCreated(BlockOut):
    assessment: AssessmentOut  # type: ignore[assignment]


class BlockEventOut(Open):
    seq: int
    at: str
    actor: str
    action: str
    data: dict[str, Any]


class NameHistoryOut(Open):
    id: str
    status: str
    action: str
    requested_at: str | None
    activated_at: str | None
    restored_at: str | None
    expired_at: str | None


class HistoryOut(Open):
    events: list[BlockEventOut]
    name_history: list[NameHistoryOut]


class BlockDetail(BlockOut):
    history: HistoryOut


class BlockList(Open):
    blocks: list[BlockOut]
    limit: int
    offset: int


class ProtectedOut(Open):
    name: str
    note: str
    created_by: str | None
    created_at: str | None = None


class ProtectedList(Open):
    protected: list[ProtectedOut]


class ProtectedRemoved(Open):
    name: str
    removed: bool


class LookupHistory(Open):
    times_blocked: int
    times_restored: int
    times_expired: int


class AppealHow(Open):
    how: str
    url: str
    api: str


class LookupOut(Open):
    """What the public may know about a name; the block's fields only when one applies."""

    domain: str
    domain_unicode: str
    blocked: bool
    history: LookupHistory
    verification: dict[str, Any] | None = Field(
        description="how many ISPs' resolvers were checked and comply"
    )
    message: str
    allow_listed: bool | None = None
    matched: str | None = None
    via_parent: bool | None = None
    since: str | None = None
    expires_at: str | None = None
    action: str | None = None
    legal_basis: str | None = None
    category: str | None = None
    case_reference: str | None = None
    order_reference: str | None = None
    block_id: str | None = None
    appeal: AppealHow | None = None


class AppealReceived(Open):
    reference: str
    domain: str
    status: str
    message: str


class AppealOut(Open):
    id: str
    reference: str
    domain: str
    block_id: str | None
    contact_email: str
    statement: str
    status: str
    created_at: str | None


class AppealList(Open):
    appeals: list[AppealOut]
