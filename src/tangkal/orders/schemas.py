"""Request and response shapes for orders (pydantic), kept apart from the ORM models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from tangkal import limits
from tangkal.api.openapi import choices_later
from tangkal.statements import dsa

# The DSA's lists, named here for the code that has always imported them from orders.
DecisionVisibility = dsa.DecisionVisibility
AutomatedDecision = dsa.AutomatedDecision

# What a platform did about an order (``ResponseAction`` in the models, as form values).
ActionName = Literal[
    "removed", "restricted_in_country", "account_suspended", "partially_done", "not_done"
]


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=300)
    content_type: str = Field(default="application/octet-stream", max_length=200)
    content_base64: str = Field(description="The file, base64-encoded")


def _profile_categories() -> list[str]:
    from tangkal.sop.profile import active_profile

    return sorted(active_profile().categories)


def _profile_urgencies() -> list[str]:
    from tangkal.sop.profile import active_profile

    return sorted(active_profile().deadlines)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: str = Field(min_length=1, max_length=200, description="Platform name or id")
    category: str = Field(
        min_length=1,
        max_length=50,
        description="a category of the SOP profile the server runs (GET /api/v1/sop)",
        json_schema_extra=choices_later(_profile_categories),
    )
    locators: list[str] = Field(min_length=1, max_length=limits.ORDER_LOCATORS)
    legal_basis: str = Field(min_length=1, max_length=limits.ORDER_LEGAL_BASIS)
    reason: str = Field(min_length=1, max_length=limits.ORDER_REASON)
    urgency: str | None = Field(
        default=None,
        max_length=30,
        description="one of the profile's deadlines; none: the category's own",
        json_schema_extra=choices_later(_profile_urgencies),
    )
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=limits.ORDER_EVIDENCE_FILES)


_Code = Annotated[str, Field(max_length=80)]
_Codes = list[_Code]


def _text(limit: int = 20000) -> Any:
    """A bound on the size of what is parsed; the DSA's own limit is checked after, where the
    refusal can name the field plainly (``statement.decision_facts``)."""
    return Field(default=None, max_length=limit)


#: The DSA's lists of values, for the OpenAPI document (the rules themselves are checked by
#: ``tangkal.statements.dsa`` after the order's values are filled in).
_DSA_VALUES: dict[str, tuple[str, ...]] = {
    "decision_visibility": dsa.DECISION_VISIBILITIES,
    "decision_monetary": dsa.DECISION_MONETARIES,
    "decision_provision": dsa.DECISION_PROVISIONS,
    "decision_account": dsa.DECISION_ACCOUNTS,
    "account_type": dsa.ACCOUNT_TYPES,
    "decision_ground": dsa.DECISION_GROUNDS,
    "incompatible_content_illegal": ("Yes", "No"),
    "category": dsa.CATEGORIES,
    "category_addition": dsa.CATEGORIES,
    "category_specification": dsa.KEYWORDS,
    "content_type": dsa.CONTENT_TYPES,
    "content_language": tuple(sorted(dsa.LANGUAGES)),
    "territorial_scope": dsa.EEA_COUNTRIES,
    "source_type": dsa.SOURCE_TYPES,
    "automated_decision": dsa.AUTOMATED_DECISIONS,
}


def _document_dsa(schema: dict[str, Any]) -> None:
    """The document states the DSA's values, limits and date format for each field, so a
    generated client offers what the API takes."""
    for name, prop in schema.get("properties", {}).items():
        for branch in prop.get("anyOf", [prop]):
            target = branch.get("items", branch) if branch.get("type") == "array" else branch
            if target.get("type") != "string":
                continue
            if name in _DSA_VALUES:
                target["enum"] = list(_DSA_VALUES[name])
            if name in dsa.LIMITS:
                target["maxLength"] = dsa.LIMITS[name]
            if name in dsa.DATE_BOUNDS:
                target["format"] = "date"


class StatementOfReasons(BaseModel):
    """A platform's statement of reasons in the DSA Transparency Database's fields.

    Every field may be left out: tangkal fills what it knows from the order
    (``tangkal.statements.fill``), then the whole statement is checked against the
    database's rules (``tangkal.statements.dsa``), and a refusal names the DSA field
    (``statement.<field>``). Here only the shape is bounded, so that what is refused is
    refused once, by those rules, in their words. ``automated_detection`` is ``true``/
    ``false`` as it always was, or the database's ``Yes``/``No``.

    Unknown fields are refused (each named in the 422): they were once kept, and a
    statement could carry megabytes of anything into the order and its audit record."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_dsa)
    decision_visibility: _Codes | None = Field(default=None, max_length=10)
    decision_visibility_other: str | None = _text()
    end_date_visibility_restriction: str | None = _text(40)
    decision_monetary: _Code | None = None
    decision_monetary_other: str | None = _text()
    end_date_monetary_restriction: str | None = _text(40)
    decision_provision: _Code | None = None
    end_date_service_restriction: str | None = _text(40)
    decision_account: _Code | None = None
    end_date_account_restriction: str | None = _text(40)
    account_type: _Code | None = None
    decision_ground: _Code | None = None
    decision_ground_reference_url: str | None = _text()
    illegal_content_legal_ground: str | None = _text()
    illegal_content_explanation: str | None = _text()
    incompatible_content_ground: str | None = _text()
    incompatible_content_explanation: str | None = _text()
    incompatible_content_illegal: _Code | None = None
    category: _Code | None = None
    category_addition: _Codes | None = Field(default=None, max_length=20)
    category_specification: _Codes | None = Field(default=None, max_length=80)
    category_specification_other: str | None = _text()
    content_type: _Codes | None = Field(default=None, max_length=10)
    content_type_other: str | None = _text()
    content_language: str | None = _text(10)
    content_date: str | None = _text(40)
    content_id_ean: str | None = _text(40)
    territorial_scope: _Codes | None = Field(default=None, max_length=40)
    application_date: str | None = _text(40)
    decision_facts: str | None = _text()
    source_type: _Code | None = None
    source_identity: str | None = _text()
    automated_detection: StrictBool | dsa.YesNo | None = None
    automated_decision: _Code | None = None
    puid: str | None = _text()


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
    question: str = Field(min_length=1, max_length=limits.CLARIFICATION)


class ClarificationAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, max_length=limits.CLARIFICATION)


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return value
