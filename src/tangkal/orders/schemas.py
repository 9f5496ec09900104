"""Request and response shapes for orders (pydantic), kept apart from the ORM models."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DecisionVisibility = Literal[
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
]

AutomatedDecision = Literal[
    "AUTOMATED_DECISION_NOT_AUTOMATED",
    "AUTOMATED_DECISION_PARTIALLY",
    "AUTOMATED_DECISION_FULLY",
]

# What a platform did about an order (``ResponseAction`` in the models, as form values).
ActionName = Literal[
    "removed", "restricted_in_country", "account_suspended", "partially_done", "not_done"
]


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=300)
    content_type: str = Field(default="application/octet-stream", max_length=200)
    content_base64: str = Field(description="The file, base64-encoded")


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: str = Field(min_length=1, max_length=200, description="Platform name or id")
    category: str = Field(min_length=1, max_length=50)
    locators: list[str] = Field(min_length=1, max_length=500)
    legal_basis: str = Field(min_length=1, max_length=5000)
    reason: str = Field(min_length=1, max_length=20000)
    urgency: str | None = Field(default=None, max_length=30)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=20)


class StatementOfReasons(BaseModel):
    """The DSA transparency-database fields; unset ones are filled from the order.

    Unknown fields are refused (each named in the 422): they were once kept, and a
    statement could carry megabytes of anything into the order and its audit record."""

    model_config = ConfigDict(extra="forbid")
    decision_visibility: list[DecisionVisibility] | None = None
    decision_ground: (
        Literal["DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"] | None
    ) = None
    illegal_content_legal_ground: str | None = Field(default=None, max_length=5000)
    illegal_content_explanation: str | None = Field(default=None, max_length=20000)
    decision_facts: str | None = Field(default=None, max_length=20000)
    automated_detection: bool | None = None
    automated_decision: AutomatedDecision | None = None
    territorial_scope: list[Annotated[str, Field(max_length=10)]] | None = Field(
        default=None, max_length=300
    )
    application_date: date | None = None
    source_type: str | None = Field(default=None, max_length=200)
    content_type: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=20
    )


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: ActionName
    statement: StatementOfReasons | str = Field(
        description="A statement of reasons: the DSA fields, or free text taken as the facts"
    )
    reason: str | None = Field(
        default=None, max_length=20000, description="Required when the action is not_done"
    )


class ClarificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=20000)


class ClarificationAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, max_length=20000)


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return value
