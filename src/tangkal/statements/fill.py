"""What tangkal knows of a statement of reasons that the platform did not say.

A platform answers an order with as little as a sentence of facts (the API has always taken
that). The DSA database needs more; tangkal fills each missing field from the order, and
only from what the order says, so the platform's own values always win:

=========================  ===================================================================
``decision_*``             from the action (removed → content removed, restricted in the
                           country → access disabled, account suspended → account suspended)
``decision_ground``        illegal content (an order is about unlawful content)
``illegal_content_*``      the order's legal basis and reason, cut to the DSA's limits
``category``,              the order's category through ``CATEGORIES`` below (unknown:
``category_specification``  "type not specified by the notifier")
``content_type``           the evidence's media types; without any, "other: content named by
                           the order's links"
``content_date``           the day the order was issued: the content was online then, and the
                           order is the earliest record tangkal has of it
``application_date``       the day of the answer
``territorial_scope``      the profile's jurisdiction when it is in the EEA (``EU``: the member
                           states); none otherwise (the database takes EEA countries only)
``source_type``            another type of notification (an authority's order), the
                           regulator's name as ``source_identity``
``automated_*``            not automated
``puid``                   the order's reference and the answer's number on it (``-1``, ``-2``)
=========================  ===================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any, Final

from tangkal.statements import dsa

#: An order's category (the SOP profiles' keys) as the DSA's category and keywords.
CATEGORIES: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "terrorism": ("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", ("KEYWORD_TERRORIST_CONTENT",)),
    "radicalism": (
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ("KEYWORD_INCITEMENT_VIOLENCE_HATRED",),
    ),
    "csam": ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS", ("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",)),
    "public_order": ("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", ()),
    "gambling": (
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        ("KEYWORD_GOODS_SERVICES_NOT_PERMITTED",),
    ),
    "pornography": ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS", ("KEYWORD_ADULT_SEXUAL_MATERIAL",)),
    "disinformation": (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        ("KEYWORD_MISINFORMATION_DISINFORMATION",),
    ),
    "hate_speech": ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", ("KEYWORD_HATE_SPEECH",)),
    "insult": ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", ("KEYWORD_DEFAMATION",)),
    "fraud": ("STATEMENT_CATEGORY_SCAMS_AND_FRAUD", ()),
}
UNSPECIFIED: Final = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"

#: What each answer of a platform decided, in the DSA's fields (``not_done``: nothing).
ACTION_DECISION: Final[dict[str, dict[str, Any]]] = {
    "removed": {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"]},
    "restricted_in_country": {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"]},
    "account_suspended": {"decision_account": "DECISION_ACCOUNT_SUSPENDED"},
    "partially_done": {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"]},
    "not_done": {},
}

_MEDIA: Final = {
    "image/": "CONTENT_TYPE_IMAGE",
    "video/": "CONTENT_TYPE_VIDEO",
    "audio/": "CONTENT_TYPE_AUDIO",
    "text/": "CONTENT_TYPE_TEXT",
}
NAMED_BY_LINKS: Final = "Content named by the order's links (type not stated by the platform)"


def category_of(category: str | None) -> tuple[str, list[str]]:
    """The DSA category and keywords of an order's (or a block's) category."""
    main, keywords = CATEGORIES.get(category or "", (UNSPECIFIED, ()))
    return main, list(keywords)


def territorial_scope(jurisdiction: str | None) -> list[str] | None:
    """The EEA countries a profile's jurisdiction covers; None outside the EEA."""
    if jurisdiction == "EU":
        return list(dsa.EU_COUNTRIES)
    if jurisdiction in dsa.EEA_COUNTRIES:
        return [jurisdiction]
    return None


def content_types(media_types: Iterable[str]) -> list[str]:
    """The DSA content types of the evidence's media types, in the DSA's order."""
    found = {kind for m in media_types for prefix, kind in _MEDIA.items() if m.startswith(prefix)}
    return [c for c in dsa.CONTENT_TYPES if c in found]


def puid(reference: str, number: int) -> str:
    """A platform unique identifier the database takes, from tangkal's reference."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", reference).strip("-") or "tangkal"
    return f"{safe}-{number}"[: dsa.SHORT]


def defaults(
    *,
    action: str,
    legal_basis: str,
    reason: str,
    category: str | None,
    media_types: Iterable[str],
    issued_on: date,
    answered_on: date,
    jurisdiction: str | None,
    regulator: str | None,
    reference: str,
    number: int,
) -> dict[str, Any]:
    """Every field tangkal can fill for an answer to an order, in the DSA's values."""
    main, keywords = category_of(category)
    kinds = content_types(media_types)
    out: dict[str, Any] = {
        **ACTION_DECISION[action],
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": dsa.shorten(legal_basis, "illegal_content_legal_ground"),
        "illegal_content_explanation": dsa.shorten(reason, "illegal_content_explanation"),
        "category": main,
        "content_type": kinds or ["CONTENT_TYPE_OTHER"],
        "content_date": issued_on.isoformat(),
        "application_date": answered_on.isoformat(),
        "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "puid": puid(reference, number),
    }
    if keywords:
        out["category_specification"] = keywords
    if not kinds:
        out["content_type_other"] = NAMED_BY_LINKS
    scope = territorial_scope(jurisdiction)
    if scope:
        out["territorial_scope"] = scope
    if regulator:
        out["source_identity"] = dsa.shorten(regulator, "source_identity")
    return out


def merge(given: dict[str, Any], filled: dict[str, Any]) -> dict[str, Any]:
    """The platform's values over tangkal's. A platform that states its own decision (any
    of the four restriction fields) replaces the whole decision derived from the action;
    one that states its own content type replaces the "other" text that came with tangkal's."""
    out = dict(filled)
    if any(given.get(d) for d in dsa.DECISIONS):
        for d in dsa.DECISIONS:
            out.pop(d, None)
    if given.get("content_type"):
        out.pop("content_type_other", None)
    if given.get("decision_ground") == "DECISION_GROUND_INCOMPATIBLE_CONTENT":
        out.pop("illegal_content_legal_ground", None)
        out.pop("illegal_content_explanation", None)
    if given.get("source_type") == "SOURCE_VOLUNTARY":
        out.pop("source_identity", None)
    out.update({k: v for k, v in given.items() if v is not None})
    return out


def stored(statement: dsa.DsaStatement) -> dict[str, Any]:
    """The statement as tangkal keeps it: the DSA's fields and values, except
    ``automated_detection``, which stays the boolean the API has always answered."""
    out = statement.model_dump(mode="json", exclude_none=True)
    out["automated_detection"] = out["automated_detection"] == "Yes"
    return out


def as_dsa(kept: dict[str, Any]) -> dict[str, Any]:
    """A kept statement in the DSA's values, without tangkal's own keys (``reason``)."""
    out = {k: v for k, v in kept.items() if k in dsa.DsaStatement.model_fields}
    detected = out.get("automated_detection")
    if isinstance(detected, bool):
        out["automated_detection"] = "Yes" if detected else "No"
    return out
