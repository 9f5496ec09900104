"""The console's statement-of-reasons form and display (an order's page, for its platform).

The choices, the ``maxlength`` of every text and the refusals come from the DSA rules
themselves (``tangkal.statements.dsa``): the form offers what the API takes, states the
limits the API enforces, and a refusal comes back beside its field, in the page's language,
with everything the person wrote still in the form. Words for every field and every DSA code
are in ``tangkal.web.labels`` (``dsa_field``, ``dsa_value``); countries and languages are
named by Babel's locale data in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, get_args

from babel import Locale

from tangkal.errors import InvalidInput, Msg
from tangkal.orders.schemas import ActionName, ResponseIn, StatementOfReasons
from tangkal.statements import dsa
from tangkal.web.i18n import Formatter
from tangkal.web.labels import N_

ACTIONS: Final[tuple[str, ...]] = get_args(ActionName)

#: The fields the form shows (by their DSA names; ``visibility`` is the checkboxes'
#: form name, kept from before). Any other field's refusal is shown above the form.
ON_FORM: Final = (
    "action",
    "decision_facts",
    "decision_visibility",
    "decision_visibility_other",
    "decision_ground",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "category",
    "content_type",
    "content_type_other",
    "content_date",
    "source_type",
    "automated_detection",
    "automated_decision",
    "reason",
)

#: Each text's ``maxlength``: the DSA's limit where it has one.
MAXLENGTH: Final[dict[str, int]] = {**dsa.LIMITS, "reason": 20000, "content_date": 10}


@dataclass
class StatementForm:
    """The response form as submitted (empty: as first shown)."""

    action: str = ""
    decision_facts: str = ""
    visibility: list[str] = field(default_factory=list)
    decision_visibility_other: str = ""
    decision_ground: str = "DECISION_GROUND_ILLEGAL_CONTENT"
    incompatible_content_ground: str = ""
    incompatible_content_explanation: str = ""
    category: str = ""
    content_type: list[str] = field(default_factory=list)
    content_type_other: str = ""
    content_date: str = ""
    source_type: str = "SOURCE_TYPE_OTHER_NOTIFICATION"
    automated_detection: str = "no"
    automated_decision: str = "AUTOMATED_DECISION_NOT_AUTOMATED"
    reason: str = ""
    errors: dict[str, str | Msg] = field(default_factory=dict)

    def build(self) -> ResponseIn | None:
        """The answer for the API's rules, or None with ``errors`` filled in."""
        if self.action not in ACTIONS:
            self.errors["action"] = N_("Choose what was done with the content.")
        if not self.decision_facts.strip():
            self.errors["decision_facts"] = N_(
                "Describe the facts of the decision: what was done and why."
            )
        if self.action == "not_done" and not self.reason.strip():
            self.errors["reason"] = N_("An answer of not done needs the objection.")
        if self.errors:
            return None
        values: dict[str, Any] = {
            "decision_facts": self.decision_facts,
            "decision_visibility": self.visibility or None,
            "decision_visibility_other": self.decision_visibility_other,
            "decision_ground": self.decision_ground,
            "incompatible_content_ground": self.incompatible_content_ground,
            "incompatible_content_explanation": self.incompatible_content_explanation,
            "category": self.category,
            "content_type": self.content_type or None,
            "content_type_other": self.content_type_other,
            "content_date": self.content_date,
            "source_type": self.source_type,
            "automated_detection": self.automated_detection == "yes",
            "automated_decision": self.automated_decision,
        }
        sor = StatementOfReasons.model_validate(
            {k: v for k, v in values.items() if v not in (None, "")}
        )
        return ResponseIn.model_validate(
            {"action": self.action, "statement": sor, "reason": self.reason.strip() or None}
        )

    def refused(self, exc: InvalidInput) -> bool:
        """Each refused field beside itself; False when one is not on the form (the page
        then shows the refusal above it)."""
        problems = getattr(exc, "problems", None) or [dsa.Problem(exc.field or "", exc.msg)]
        shown = True
        for p in problems:
            name = p.field.removeprefix("statement.")
            if name in ON_FORM:
                self.errors.setdefault(name, p.hint or p.msg)
            else:
                shown = False
        return shown


def _named(fmt: Formatter, codes: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    return [{"value": c, "label": fmt.label("dsa_value", c)} for c in codes]


def context(fmt: Formatter, form: StatementForm | None) -> dict[str, Any]:
    """What the order page needs for the form and the display of statements."""
    return {
        "sor": form or StatementForm(),
        "sor_actions": ACTIONS,
        "sor_visibility": _named(fmt, dsa.DECISION_VISIBILITIES),
        "sor_grounds": _named(fmt, dsa.DECISION_GROUNDS),
        "sor_categories": _named(fmt, dsa.CATEGORIES),
        "sor_content_types": _named(fmt, dsa.CONTENT_TYPES),
        "sor_sources": _named(fmt, dsa.SOURCE_TYPES),
        "sor_automated": _named(fmt, dsa.AUTOMATED_DECISIONS),
        "sor_max": MAXLENGTH,
        "sor_rows": rows_for(fmt),
    }


def rows_for(fmt: Formatter) -> Callable[[dict[str, Any]], list[tuple[str, str]]]:
    """The display of a kept statement: (field in words, value in words) in the DSA's
    order, tangkal's ``reason`` last."""
    locale = Locale.parse(fmt.lang)

    def value(name: str, v: Any) -> str:
        if isinstance(v, bool):
            return fmt.gettext("Yes") if v else fmt.gettext("No")
        if isinstance(v, list):
            return ", ".join(value(name, x) for x in v)
        text = str(v)
        if name == "territorial_scope":
            return str(locale.territories.get(text, text))
        if name == "content_language":
            return str(locale.languages.get(text.lower(), text))
        if text in fmt_codes:
            return fmt.label("dsa_value", text)
        return text

    def rows(statement: dict[str, Any]) -> list[tuple[str, str]]:
        order = [c for c in dsa.CSV_COLUMNS if c in statement]
        order += [k for k in statement if k not in order]
        return [(fmt.label("dsa_field", k), value(k, statement[k])) for k in order]

    return rows


fmt_codes: Final[frozenset[str]] = frozenset(
    (
        *dsa.DECISION_VISIBILITIES,
        *dsa.DECISION_MONETARIES,
        *dsa.DECISION_PROVISIONS,
        *dsa.DECISION_ACCOUNTS,
        *dsa.ACCOUNT_TYPES,
        *dsa.DECISION_GROUNDS,
        *dsa.CONTENT_TYPES,
        *dsa.CATEGORIES,
        *dsa.KEYWORDS,
        *dsa.SOURCE_TYPES,
        *dsa.AUTOMATED_DECISIONS,
        "Yes",
        "No",
    )
)
