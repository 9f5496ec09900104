"""The DSA Transparency Database's rules (``tangkal.statements.dsa``): every statement the
API can store passes them, and what they refuse is refused naming the DSA field."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import hypothesis
import hypothesis.strategies as st
import pytest

from tangkal.orders.models import Evidence, Order, ResponseAction
from tangkal.orders.schemas import ResponseIn, StatementOfReasons
from tangkal.orders.services import build_statement
from tangkal.statements import dsa, export, fill

GOOD: dict[str, Any] = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "UU 5/2018 Pasal 13A",
    "illegal_content_explanation": "Bomb-making instructions.",
    "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "content_type": ["CONTENT_TYPE_TEXT"],
    "content_date": "2017-07-14",
    "application_date": "2020-01-01",
    "decision_facts": "Removed.",
    "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
    "automated_detection": "No",
    "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    "puid": "ORD-1-1",
}


def _without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k not in names}


# What the database refuses, each with the field its refusal names.
REFUSED: list[tuple[dict[str, Any], str]] = [
    *[
        (_without(name), name)
        for name in (
            "decision_ground",
            "category",
            "content_type",
            "content_date",
            "application_date",
            "decision_facts",
            "source_type",
            "automated_detection",
            "automated_decision",
            "puid",
        )
    ],
    ({**GOOD, "content_type": []}, "content_type"),
    ({**GOOD, "decision_facts": "   "}, "decision_facts"),
    (_without("decision_visibility"), "decision_visibility"),
    ({**GOOD, "decision_visibility": ["DECISION_VISIBILITY_GONE"]}, "decision_visibility"),
    ({**GOOD, "decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other"),
    ({**GOOD, "decision_monetary": "DECISION_MONETARY_OTHER"}, "decision_monetary_other"),
    ({**GOOD, "decision_monetary": "DECISION_MONETARY_FINE"}, "decision_monetary"),
    ({**GOOD, "decision_provision": "DECISION_PROVISION_BLOCKED"}, "decision_provision"),
    ({**GOOD, "decision_account": "DECISION_ACCOUNT_BANNED"}, "decision_account"),
    ({**GOOD, "account_type": "ACCOUNT_TYPE_GOVERNMENT"}, "account_type"),
    ({**GOOD, "content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other"),
    ({**GOOD, "content_type": ["CONTENT_TYPE_PODCAST"]}, "content_type"),
    ({**GOOD, "category": "STATEMENT_CATEGORY_TERRORISM"}, "category"),
    ({**GOOD, "category_addition": ["STATEMENT_CATEGORY_X"]}, "category_addition"),
    ({**GOOD, "category_specification": ["KEYWORD_BOMBS"]}, "category_specification"),
    ({**_without("illegal_content_legal_ground")}, "illegal_content_legal_ground"),
    ({**_without("illegal_content_explanation")}, "illegal_content_explanation"),
    (
        {**GOOD, "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT"},
        "incompatible_content_ground",
    ),
    (
        {
            **GOOD,
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "ToS 4.2",
        },
        "incompatible_content_explanation",
    ),
    (
        {
            **GOOD,
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "ToS 4.2",
            "incompatible_content_explanation": "Violent content.",
            "incompatible_content_illegal": "Maybe",
        },
        "incompatible_content_illegal",
    ),
    ({**GOOD, "territorial_scope": ["ID"]}, "territorial_scope"),
    ({**GOOD, "territorial_scope": ["EU"]}, "territorial_scope"),
    ({**GOOD, "territorial_scope": ["GB"]}, "territorial_scope"),
    ({**GOOD, "content_language": "id"}, "content_language"),
    ({**GOOD, "content_language": "XX"}, "content_language"),
    ({**GOOD, "content_date": "14-07-2017"}, "content_date"),
    ({**GOOD, "content_date": "2017-02-30"}, "content_date"),
    ({**GOOD, "content_date": "1999-12-31"}, "content_date"),
    ({**GOOD, "content_date": "2038-01-02"}, "content_date"),
    ({**GOOD, "application_date": "2019-12-31"}, "application_date"),
    ({**GOOD, "end_date_visibility_restriction": "2040-01-01"}, "end_date_visibility_restriction"),
    ({**GOOD, "end_date_account_restriction": "tomorrow"}, "end_date_account_restriction"),
    ({**GOOD, "source_type": "SOURCE_GOVERNMENT"}, "source_type"),
    ({**GOOD, "automated_detection": "yes"}, "automated_detection"),
    ({**GOOD, "automated_decision": "AUTOMATED_DECISION_SOMETIMES"}, "automated_decision"),
    ({**GOOD, "puid": "has space"}, "puid"),
    ({**GOOD, "puid": "ünïcode"}, "puid"),
    ({**GOOD, "puid": "x" * (dsa.SHORT + 1)}, "puid"),
    ({**GOOD, "content_id_ean": "123"}, "content_id_ean"),
    ({**GOOD, "decision_ground_reference_url": "not a url"}, "decision_ground_reference_url"),
    ({**GOOD, "anything_else": 1}, "anything_else"),
    *[
        ({**GOOD, name: "x" * (limit + 1)}, name)
        for name, limit in dsa.LIMITS.items()
        if name
        not in (
            "puid",
            "decision_ground_reference_url",
            "incompatible_content_ground",
            "incompatible_content_explanation",
            "decision_visibility_other",
            "decision_monetary_other",
            "content_type_other",
        )
    ],
]


@pytest.mark.parametrize(
    ("data", "field"), REFUSED, ids=[f"{f}-{i}" for i, (_, f) in enumerate(REFUSED)]
)
def test_what_the_dsa_refuses_is_refused_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(dsa.StatementRefused) as refused:
        dsa.check(data, prefix="statement.")
    assert refused.value.field == f"statement.{field}", refused.value.problems
    assert refused.value.to_dict()["problems"][0]["field"] == f"statement.{field}"
    assert f"statement.{field}" in refused.value.message


def test_what_the_dsa_takes_is_taken_and_what_does_not_belong_is_dropped() -> None:
    assert dsa.check(GOOD).puid == "ORD-1-1"
    taken = dsa.check(
        {
            **GOOD,
            "source_type": "SOURCE_VOLUNTARY",
            "source_identity": "dropped, as the database drops it",
            "decision_visibility_other": "dropped: no OTHER",
            "incompatible_content_illegal": "Yes",
            "territorial_scope": list(dsa.EEA_COUNTRIES),
            "content_language": "ID",
            "decision_ground_reference_url": "https://peraturan.go.id/uu-5-2018",
            "decision_account": "DECISION_ACCOUNT_SUSPENDED",
            "end_date_account_restriction": "2038-01-01",
        }
    )
    assert taken.source_identity is None and taken.decision_visibility_other is None
    assert taken.incompatible_content_illegal is None
    # only one of the four decisions is needed
    assert dsa.check(
        {
            **_without("decision_visibility"),
            "decision_provision": "DECISION_PROVISION_TOTAL_SUSPENSION",
        }
    )


def test_the_limits_stated_are_the_limits_enforced() -> None:
    for name, limit in dsa.LIMITS.items():
        base = {
            **GOOD,
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "g",
            "incompatible_content_explanation": "e",
            "decision_visibility": ["DECISION_VISIBILITY_OTHER"],
            "decision_visibility_other": "o",
            "decision_monetary": "DECISION_MONETARY_OTHER",
            "decision_monetary_other": "m",
            "content_type": ["CONTENT_TYPE_OTHER"],
            "content_type_other": "c",
        }
        if name.startswith("illegal_content"):
            base["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        text = (
            "https://e.id/" + "a" * (limit - 13)
            if name == "decision_ground_reference_url"
            else "a" * limit
        )
        assert getattr(dsa.check({**base, name: text}), name) == text
        with pytest.raises(dsa.StatementRefused, match=name):
            dsa.check({**base, name: text + "a"})
    assert (
        len(dsa.LANGUAGES) == 184 and len(dsa.EEA_COUNTRIES) == 30 and len(dsa.EU_COUNTRIES) == 27
    )
    assert len(dsa.CSV_COLUMNS) == 38 and dsa.CSV_COLUMNS[0] == "uuid"


def _order(category: str, legal_basis: str, reason: str, media: list[str]) -> Order:
    order = Order(
        reference="ORD-20170714-ABC",
        category=category,
        legal_basis=legal_basis,
        reason=reason,
        issued_at=datetime(2017, 7, 14, 3, tzinfo=UTC),
    )
    order.evidence = [
        Evidence(filename="e", content_type=m, size=1, sha256="", md5="") for m in media
    ]
    order.responses = []
    return order


def _stored_passes(kept: dict[str, Any]) -> None:
    assert dsa.check(fill.as_dsa(kept)) is not None


JURISDICTIONS = [None, "ID", "EU", "DE", "NO"]
CATEGORIES = [*fill.CATEGORIES, "other", "an_unknown_category"]
RESTRICTING = [a for a in ResponseAction if a is not ResponseAction.NOT_DONE]


@pytest.mark.parametrize(
    ("action", "category", "jurisdiction"),
    list(itertools.product(RESTRICTING, CATEGORIES, JURISDICTIONS)),
)
def test_every_old_style_answer_is_filled_into_a_statement_the_dsa_takes(
    action: ResponseAction, category: str, jurisdiction: str | None
) -> None:
    """A free-text statement (what clients have always sent), every action, category and
    jurisdiction, an order whose texts exceed the DSA's limits."""
    order = _order(category, "L" * 5000, "R" * 20000, ["image/png", "application/pdf"])
    kept = build_statement(
        order,
        action,
        ResponseIn(action=action.value, statement="Removed."),
        jurisdiction,
        "K" * 600,
    )
    _stored_passes(kept)
    assert kept["automated_detection"] is False  # the boolean the API has always answered


_texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(str.strip)
_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2038, 1, 1)).map(date.isoformat)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    """Statements a platform may send: any subset of the DSA's fields, each a value from
    the DSA's lists or a text within its limit (some of them breaking a rule)."""
    out: dict[str, Any] = {"decision_facts": draw(_texts)}
    options: dict[str, st.SearchStrategy[Any]] = {
        "decision_visibility": st.lists(
            st.sampled_from(dsa.DECISION_VISIBILITIES), max_size=3, unique=True
        ),
        "decision_visibility_other": _texts,
        "decision_monetary": st.sampled_from(dsa.DECISION_MONETARIES),
        "decision_monetary_other": _texts,
        "decision_provision": st.sampled_from(dsa.DECISION_PROVISIONS),
        "decision_account": st.sampled_from(dsa.DECISION_ACCOUNTS),
        "account_type": st.sampled_from(dsa.ACCOUNT_TYPES),
        "decision_ground": st.sampled_from(dsa.DECISION_GROUNDS),
        "incompatible_content_ground": _texts,
        "incompatible_content_explanation": _texts,
        "incompatible_content_illegal": st.sampled_from(["Yes", "No"]),
        "category": st.sampled_from(dsa.CATEGORIES),
        "category_specification": st.lists(st.sampled_from(dsa.KEYWORDS), max_size=3, unique=True),
        "content_type": st.lists(st.sampled_from(dsa.CONTENT_TYPES), max_size=3, unique=True),
        "content_type_other": _texts,
        "content_language": st.sampled_from(sorted(dsa.LANGUAGES)),
        "content_date": st.dates(min_value=date(1995, 1, 1), max_value=date(2040, 1, 1)).map(
            date.isoformat
        ),
        "territorial_scope": st.lists(
            st.sampled_from([*dsa.EEA_COUNTRIES, "ID", "US"]), max_size=3
        ),
        "application_date": _dates,
        "source_type": st.sampled_from(dsa.SOURCE_TYPES),
        "source_identity": _texts,
        "automated_detection": st.sampled_from([True, False, "Yes", "No"]),
        "automated_decision": st.sampled_from(dsa.AUTOMATED_DECISIONS),
        "puid": st.from_regex(r"[A-Za-z0-9_-]{1,20}|[a-z ]{1,5}", fullmatch=True),
    }
    for name in draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=12)):
        out[name] = draw(options[name])
    return out


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    statement=statements(),
    action=st.sampled_from(RESTRICTING),
    jurisdiction=st.sampled_from(JURISDICTIONS),
)
def test_every_statement_the_api_can_store_passes_the_dsa_rules(
    statement: dict[str, Any], action: ResponseAction, jurisdiction: str | None
) -> None:
    order = _order("terrorism", "UU 5/2018", "Propaganda.", [])
    data = ResponseIn(action=action.value, statement=StatementOfReasons.model_validate(statement))
    kept: dict[str, Any] | None = None
    try:
        kept = build_statement(order, action, data, jurisdiction, "Kominfo")
    except dsa.StatementRefused as refused:
        assert refused.problems and all(p.field.startswith("statement.") for p in refused.problems)
    if kept is not None:
        _stored_passes(kept)
        for name, value in statement.items():  # the platform's own values are the ones kept
            if name in kept and name != "automated_detection" and isinstance(value, str):
                assert kept[name] == value.strip()


def test_the_export_csv_and_cursor() -> None:
    row = {
        "uuid": "u1",
        "content_type": ["CONTENT_TYPE_TEXT"],
        "automated_detection": "No",
        "kind": "block",
    }
    lines = export.to_csv([row]).splitlines()
    assert lines[0].split(",") == list(export.CSV_COLUMNS)
    assert '"[""CONTENT_TYPE_TEXT""]"' in lines[1] and lines[1].endswith(",block")
    c = export.Cursor(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "id-1")
    assert export.Cursor.decode(c.encode()) == c
    for bad in ("", "!!", "bm90IGpzb24"):
        with pytest.raises(dsa.InvalidInput, match="cursor"):
            export.Cursor.decode(bad or "e30")
