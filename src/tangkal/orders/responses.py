"""The answers of the order routes, as models: what ``/openapi.json`` promises a client.

They describe the dictionaries that :mod:`tangkal.orders.shapes` and the services already
build; the routes keep building those. Every model admits fields it does not name
(``extra="allow"``) and the routes serialise with ``response_model_exclude_unset``, so the
JSON a client receives is exactly what it was before the models: a field the model lacks is
passed on, not dropped, and a field the answer leaves out (``fine`` on a step without one) is
not added as ``null``. A generated client gets typed attributes for what is named here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """A model that passes on the fields it does not name (the contract only grows)."""

    model_config = ConfigDict(extra="allow")


class LocatorOut(Open):
    kind: str = Field(description="url, domain, telegram, ...")
    canonical: str
    display: str
    url: str | None = None
    submitted: str = Field(description="the locator as the analyst wrote it")


class EvidenceRef(Open):
    id: str | None = Field(description="null in the answer of the request that made it")
    filename: str
    sha256: str
    size: int


class ClarificationOut(Open):
    id: str | None = Field(description="null in the answer of the request that made it")
    question: str
    asked_at: str
    answer: str | None = None
    answered_at: str | None = None


class ResponseOut(Open):
    id: str | None = Field(description="null in the answer of the request that made it")
    action: str
    statement: dict[str, Any] = Field(description="the statement of reasons as stored")
    late: bool
    created_at: str
    responded_by: str


class WarningOut(Open):
    id: str | None = Field(description="null in the answer of the request that made it")
    code: str
    kind: str
    fine: int | None = None
    issued_at: str
    annulled: bool


class StepOut(Open):
    """An escalation step taken; ``fine``/``currency`` only where one applies."""

    id: str | None = Field(description="null in the answer of the request that made it")
    code: str
    kind: str
    at: str
    due_at: str
    fine: int | None = None
    currency: str | None = None
    fine_annulled: bool | None = None
    annulled: bool
    annulled_what: str | None = Field(default=None, description="warning or fine")
    sanction_id: str | None = None


class NextStepOut(Open):
    code: str
    kind: str
    due_at: str
    if_unanswered: bool | None = Field(
        default=None, description="true while the deadline has not passed yet"
    )


class RelatedOrderOut(Open):
    id: str
    reference: str
    status: str
    issued_at: str
    shared_keys: list[str]
    same_item: bool


class OrderPayload(Open):
    """What a platform receives about an order (the webhook's and the inbox's ``data``)."""

    id: str
    reference: str
    status: str
    category: str
    urgency: str
    legal_basis: str
    reason: str
    issued_at: str
    deadline_at: str
    deadline_seconds: int
    clock_started_at: str | None
    locators: list[LocatorOut]
    evidence: list[EvidenceRef]


class OrderOut(OrderPayload):
    """An order as the API shows it to the regulator and to its platform."""

    platform_org_id: str
    platform: str | None
    regulator_org_id: str
    sop_profile: str
    deadline_provisional: bool
    receipt_basis: str | None
    delivered_at: str | None
    acknowledged_at: str | None
    clock_paused: bool
    paused_seconds: float
    responded_at: str | None
    overdue_at: str | None
    created_by: str | None
    clarifications: list[ClarificationOut]
    responses: list[ResponseOut]
    warnings: list[WarningOut]
    escalation: list[StepOut]
    next_step: NextStepOut | None
    escalation_held_by: str | None
    related_orders: list[RelatedOrderOut] | None = Field(
        default=None, description="earlier orders about the same items (one order's answers)"
    )


class OrderList(Open):
    orders: list[OrderOut]
    limit: int
    offset: int


class DeliveryOut(Open):
    message_id: str
    event: str
    status: str
    attempt_at: str | None
    status_code: int | None
    error: str | None


class DeliveryList(Open):
    deliveries: list[DeliveryOut]


class EvidenceOut(Open):
    id: str
    filename: str
    size: int
    sha256: str
    md5: str


class InboxMessage(Open):
    """One message of the pull channel: its ``event`` and ``data`` as a webhook has them."""

    id: str
    event: str
    order_id: str | None
    created_at: str
    data: dict[str, Any] | None = None


class Inbox(Open):
    messages: list[InboxMessage]


class SopOut(Open):
    """The SOP profile in force, as ``tangkal sop show`` describes it."""

    name: str
    title: str | None = None
    source: str | None = Field(default=None, description="the file it was read from")


class BankedSignalOut(Open):
    """A signal banked from the order's evidence."""

    content_id: int
    evidence_id: str | None
    signal_type: str
    signal: str
    bank: str | None = Field(description="null: a bank the caller may not see (private)")
    bank_shared: bool = Field(description="matched by every organisation's lookups")
    bank_enabled: bool
    added_by: str
    added_at: str


class CopyFoundOut(Open):
    """A copy of the evidence that a lookup found."""

    id: int
    content_id: int = Field(description="the banked signal it matched")
    evidence_id: str | None
    bank: str = Field(description="the bank's name when found")
    signal_type: str
    distance: int = Field(description="on the signal type's own scale; 0 is identical")
    threshold: int | None = Field(description="the bank's threshold for the type when found")
    query_signal: str | None = Field(description="the lookup's signal, where it is one hash")
    via: str = Field(
        description="api_file, api_signal, api_text, hma_file, hma_signal, console_file, "
        "console_text"
    )
    upload_sha256: str | None = Field(description="SHA-256 of the uploaded file, if any")
    found_by_org_id: str
    found_by_org: str
    found_by: str
    found_at: str


class CopiesFoundOut(Open):
    total: int = Field(description="every find the caller is told of")
    shown_in_full: int = Field(
        description="finds shown in full: all for the regulator, its own for the platform"
    )
    by_other_organisations: int | None = Field(
        description="for the platform: finds by others (other platforms, the regulator), "
        "counted and not named; null for the regulator, who is shown them all"
    )
    finds: list[CopyFoundOut] = Field(description="the newest 100 shown in full, newest first")


class LinkedOrderOut(Open):
    id: str
    reference: str
    status: str
    issued_at: str
    shared_keys: list[str] = Field(description="content:<id> keys of the matching banked signals")


class OrderMatchesOut(Open):
    """An order's evidence in the hash banks: what is banked, the copies found, and the
    orders whose evidence matched it (``GET /api/v1/orders/{id}/matches``)."""

    order_id: str
    banked: list[BankedSignalOut]
    copies_found: CopiesFoundOut
    linked_orders: list[LinkedOrderOut]
