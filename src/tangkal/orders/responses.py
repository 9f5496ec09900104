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
