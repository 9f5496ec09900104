"""The console's statement-of-reasons form: what it sends, where refusals go, how a kept
statement reads in both languages."""

from __future__ import annotations

import pytest

from tangkal.errors import Msg
from tangkal.statements import dsa
from tangkal.web.i18n import Formatter
from tangkal.web.statement_form import ACTIONS, MAXLENGTH, ON_FORM, StatementForm, context


def test_the_form_sends_what_was_chosen_and_no_empty_field() -> None:
    form = StatementForm(
        action="removed",
        decision_facts="Both posts removed.",
        visibility=["DECISION_VISIBILITY_CONTENT_REMOVED"],
        content_type=["CONTENT_TYPE_IMAGE"],
        automated_detection="yes",
    )
    body = form.build()
    assert body is not None and body.action == "removed"
    sent = body.statement.model_dump(exclude_none=True)  # type: ignore[union-attr]
    assert sent["content_type"] == ["CONTENT_TYPE_IMAGE"] and sent["automated_detection"] is True
    assert "category" not in sent and "content_date" not in sent  # filled from the order


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"action": "burned", "decision_facts": "x"}, "action"),
        ({"action": "removed", "decision_facts": "  "}, "decision_facts"),
        ({"action": "not_done", "decision_facts": "x"}, "reason"),
    ],
)
def test_what_the_form_itself_refuses_is_beside_its_field(kw: dict[str, str], field: str) -> None:
    form = StatementForm(**kw)
    assert form.build() is None and field in form.errors


def test_the_dsa_rules_refusals_go_beside_their_fields_or_above_the_form() -> None:
    refused = dsa.StatementRefused(
        [
            dsa.Problem("content_type_other", Msg("x"), Msg("beside")),
            dsa.Problem("content_date", Msg("date")),
        ],
        prefix="statement.",
    )
    form = StatementForm()
    assert form.refused(refused) is True
    assert form.errors["content_type_other"].template == "beside"  # type: ignore[union-attr]
    assert form.errors["content_date"].template == "date"  # type: ignore[union-attr]
    elsewhere = dsa.StatementRefused([dsa.Problem("puid", Msg("bad"))], prefix="statement.")
    assert StatementForm().refused(elsewhere) is False
    assert set(ON_FORM) >= {"decision_facts", "content_type_other", "category"}
    assert MAXLENGTH["decision_facts"] == dsa.FACTS and len(ACTIONS) == 5


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_kept_statement_reads_in_words(lang: str) -> None:
    rows = context(Formatter(lang), None)["sor_rows"](
        {
            "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"],
            "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
            "territorial_scope": ["DE", "FR"],
            "content_language": "ID",
            "automated_detection": False,
            "decision_facts": "Withheld.",
        }
    )
    text = " ".join(f"{k} {v}" for k, v in rows)
    assert "DECISION_" not in text and "STATEMENT_CATEGORY" not in text
    assert "decision_facts" not in text and "territorial_scope" not in text
    expected = {
        "id": ("Akses ke konten dinonaktifkan", "Jerman", "Indonesia", "Tidak"),
        "en": ("Access to the content disabled", "Germany", "Indonesian", "No"),
    }[lang]
    for words in expected:
        assert words in text, (words, text)
