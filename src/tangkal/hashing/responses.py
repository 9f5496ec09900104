"""The shapes of the hash-bank API's answers, for ``/openapi.json`` and generated clients.

They describe what the bank modules build (``bank_dict``, ``content_dict``, the match list);
they do not build it. ``tests/unit/api/test_response_models.py`` drives the routes and checks
that each answer is the same JSON through its model as without it, so a field added to a
service and not here fails there instead of vanishing from the answer. Per-type maps
(``thresholds``, ``content``) are keyed by signal type name: the set of types is the
registry's, so it is not spelt out as fields here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tangkal.hashing import signals
from tangkal.hashing.quarantine_shapes import HeldOut


def _rules_schema(schema: dict[str, Any]) -> None:
    """``threshold_rules`` in the document: every registered type's thresholds by name, with
    their ranges, read from the registry when the document is made."""
    schema["properties"] = {
        st.name: {
            "type": "object",
            "properties": {
                r.name: {
                    "type": "integer",
                    "minimum": r.min,
                    "maximum": r.max,
                    "description": r.meaning.text,
                }
                for r in st.rules
            },
            "required": [r.name for r in st.rules],
        }
        for st in signals.REGISTRY
    }


class BankOut(BaseModel):
    id: str
    name: str
    kind: str = Field(description="own, shared or imported")
    source: str | None
    description: str | None
    shared: bool
    enabled: bool
    allowlist: bool = Field(description="a match here vouches for the content (suppresses others)")
    pdq_threshold: int | None = Field(None, description="view of thresholds['pdq']")
    text_threshold: int | None = Field(None, description="view of thresholds['text_near']")
    thresholds: dict[str, int] = Field(description="per signal type, the distance that matches")
    threshold_rules: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="per signal type, every threshold it has by name (vPDQ: query_share, "
        "banked_share, frame_distance); the first is the one in thresholds",
        json_schema_extra=_rules_schema,
    )
    owner_org_id: str | None
    created_at: str
    content: dict[str, int] = Field(description="signals held, per signal type")


class BankList(BaseModel):
    banks: list[BankOut]


class ContentOut(BaseModel):
    id: int
    signal_type: str
    signal: str
    label: str | None
    source_ref: str | None
    order_id: str | None
    evidence_id: str | None
    added_by: str | None
    created_at: str


class NotHashed(BaseModel):
    signal_type: str
    reason: str | None = Field(description="why the type could not hash the content")


class ContentAdded(BaseModel):
    added: list[ContentOut]
    duplicates: int
    not_hashed: list[NotHashed]


class ContentPage(BaseModel):
    content: list[ContentOut]
    next_after: int | None = Field(description="pass as ?after= for the next page; null at the end")


class ContentRemoved(BaseModel):
    removed: int


class Provenance(BaseModel):
    kind: str
    source: str | None
    owner_org_id: str | None
    order_id: str | None
    evidence_id: str | None
    source_ref: str | None
    added_by: str | None
    added_at: str


class MatchOut(BaseModel):
    bank: str
    bank_id: str
    content_id: int
    signal_type: str
    signal: str
    query_signal: str
    distance: int
    label: str | None
    allowlist: bool
    suppressed_by_allowlist: bool
    provenance: Provenance
    order_id: str | None
    feedback: dict[str, int] = Field(description="verdicts given so far, by verdict")


class QuerySignal(BaseModel):
    signal_type: str
    signal: str


class MatchAnswer(BaseModel):
    matches: list[MatchOut]
    signals: list[QuerySignal] = Field(description="what the upload was hashed to")
    not_hashed: list[NotHashed]
    held: list[HeldOut] = Field(
        default=[],
        description="banked contents this lookup found that are held for review (they "
        "suddenly matched far more than their history): not matches",
    )


class FeedbackOut(BaseModel):
    id: str
    content_id: int
    verdict: str


class SourceOut(BaseModel):
    """Where a banked signal came from (empty for content banked before it was recorded)."""

    kind: str | None = Field(None, description="upload, file, bank (a copy) or order")
    origin_content_id: int | None = Field(None, description="the original this is a copy of")
    origin_bank_id: str | None = None
    origin_org_id: str | None = None
    file_format: str | None = None
    file_name: str | None = None
    file_row: int | None = Field(None, description="line (or TAT entry) of the imported file")
    order_id: str | None = None
    reported_confirmed: int | None = Field(None, description="as the imported file reported")
    reported_false_positive: int | None = None


class OrgVerdictsOut(BaseModel):
    org_id: str
    org_name: str
    confirmed: int
    false_positive: int


class ContentTallyOut(BaseModel):
    content_id: int
    signal_type: str
    signal: str
    label: str | None
    confirmed: int = Field(description="verdicts on this content and its copies")
    false_positive: int
    orgs_confirmed: int = Field(description="organisations that confirmed at least once")
    orgs_rejected: int = Field(description="organisations that said false_positive")
    needs_review: bool = Field(description="rejected by at least review_orgs organisations")
    by_org: list[OrgVerdictsOut]
    source: SourceOut


class BankFeedbackOut(BaseModel):
    bank: str
    confirmed: int
    false_positive: int
    needs_review: int = Field(description="contents flagged for review")
    review_orgs: int = Field(description="rejecting organisations that flag a content")
    contents: list[ContentTallyOut]


class NoteOut(BaseModel):
    org_id: str
    org_name: str
    verdict: str
    note: str
    given_at: str


class ContentFeedbackOut(BaseModel):
    content_id: int
    bank: str
    confirmed: int
    false_positive: int
    orgs_confirmed: int
    orgs_rejected: int
    needs_review: bool
    source: SourceOut
    notes: list[NoteOut] = Field(
        description="every note for the bank's owner; the caller's own notes for anyone else"
    )
    by_org: list[OrgVerdictsOut] | None = Field(None, description="for the bank's owner only")


class EvidenceBankedOut(ContentAdded):
    linked_orders: list[str] = Field(description="earlier orders whose evidence matched")


class SkippedRows(BaseModel):
    count: int
    first_lines: list[int] = Field(description="line (or TAT entry) numbers of the first rows")


class ImportDone(BaseModel):
    added: int
    duplicates: int
    removed: int
    skipped: dict[str, SkippedRows] = Field(
        default_factory=dict,
        description="rows of unsupported signal types left out (skip_unsupported), by the "
        "type's name in the file",
    )


class IndexStats(BaseModel):
    """Per signal type, what its index reports (a size, or its layout and memory); the
    replay position of the index cache."""

    model_config = ConfigDict(extra="allow")
    applied_seq: int
    gaps: int
