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
    landing: str | None = Field(
        default=None, description="its own landing page where it differs from the zone's"
    )
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
    decide_within: float | None = Field(
        default=None, description="seconds the regulator has to decide an appeal (SOP profile)"
    )
    follow: str | None = Field(
        default=None, description="where an appeal is followed, {reference} filled in"
    )


class LookupOrder(Open):
    """The order a block enforces, as the public may know it (never its locators)."""

    reference: str
    legal_basis: str | None
    category: str | None
    issued_at: str | None


class LookupSanction(Open):
    """The sanction a block belongs to and its case: the platform and the orders behind it."""

    reference: str
    status: str
    legal_basis: str
    platform: str | None
    since: str | None
    orders: list[str]


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
    query: str | None = Field(default=None, description="the text looked up, as given")
    allow_listed: bool | None = None
    matched: str | None = None
    via_parent: bool | None = None
    covers_subdomains: bool | None = Field(
        default=None, description="a block covers every name beneath its domain (RPZ *.name)"
    )
    since: str | None = None
    requested_at: str | None = None
    expires_at: str | None = None
    action: str | None = None
    legal_basis: str | None = None
    category: str | None = None
    case_reference: str | None = None
    order_reference: str | None = None
    order: LookupOrder | None = None
    sanction: LookupSanction | None = None
    block_id: str | None = None
    appeal: AppealHow | None = None


class AppealReceived(Open):
    reference: str
    domain: str
    status: str
    message: str
    follow_up_code: str | None = Field(
        default=None, description="shown once; with the reference it opens the appeal's status"
    )
    decide_by: str | None = None
    status_url: str | None = None


class AppealOut(Open):
    id: str
    reference: str
    domain: str
    block_id: str | None
    contact_email: str
    statement: str
    status: str
    created_at: str | None
    decide_by: str | None = None
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    decision_reason: str | None = None
    actions: list[str] | None = Field(
        default=None, description="what the caller may do next: review, uphold, reject"
    )


class AppealList(Open):
    appeals: list[AppealOut]


class AppealStep(Open):
    status: str
    at: str | None


class AppealPublicOut(Open):
    """What an appellant sees with the reference and the follow-up code."""

    reference: str
    domain: str
    status: str
    received_at: str | None
    decide_by: str | None
    under_review_at: str | None
    decided_at: str | None
    outcome: str | None
    decision_reason: str | None
    access_restored: bool
    steps: list[AppealStep]
