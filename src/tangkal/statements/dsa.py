"""The EU DSA Transparency Database's rules for a statement of reasons, as typed data.

Read from the database's own request validation (``app/Http/Requests/StatementStoreRequest.php``),
its model constants (``app/Models/Statement.php``), its lists of countries and languages
(``app/Services/EuropeanCountriesService.php``, ``EuropeanLanguagesService.php``) and its CSV
export (``app/Exports/StatementExportTrait.php``) in github.com/digital-services-act/
transparency-database at commit ``69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b`` (2026-06-24).
Written here from that reading, not translated line by line: a statement this module accepts
is one that database's API accepts, and every refusal names the DSA field it is about.

Why one module: the API's refusals, the console form's ``maxlength`` and choices, the public
export and the tests all read the same tables, so a limit stated is the limit enforced.

What the database does that this module mirrors on purpose:

* a field that only belongs with another value (``decision_visibility_other`` without
  ``DECISION_VISIBILITY_OTHER``, the illegal-content fields on a terms-and-conditions ground,
  ``source_identity`` of a voluntary decision) is *dropped*, as the database's
  ``exclude_unless`` / ``exclude_if`` rules drop it, not refused;
* texts are trimmed and an empty text counts as absent (its request middleware does both);
* ``content_id`` (an object keyed by identifier kind) is not taken: ``content_id_ean`` says the
  same for the one kind the database knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from tangkal.errors import InvalidInput, Msg

#: Where these rules were read (shown in the export's metadata and in docs/statements.md).
DSA_DB_REPOSITORY: Final = "https://github.com/digital-services-act/transparency-database"
DSA_DB_COMMIT: Final = "69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b"

# ------------------------------------------------------------------ the lists of values

DecisionVisibility = Literal[
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
]
DecisionMonetary = Literal[
    "DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER"
]
DecisionProvision = Literal[
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
]
DecisionAccount = Literal["DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"]
AccountType = Literal["ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"]
DecisionGround = Literal["DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"]
YesNo = Literal["Yes", "No"]
ContentType = Literal[
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_VIDEO",
    "CONTENT_TYPE_OTHER",
]
Category = Literal[
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
]
Keyword = Literal[
    "KEYWORD_ADULT_SEXUAL_MATERIAL",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
    "KEYWORD_ANIMAL_HARM",
    "KEYWORD_BIOMETRIC_DATA_BREACH",
    "KEYWORD_BULLYING_AGAINST_GIRLS",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
    "KEYWORD_COORDINATED_HARM",
    "KEYWORD_COPYRIGHT_INFRINGEMENT",
    "KEYWORD_CYBER_BULLYING_INTIMIDATION",
    "KEYWORD_CYBER_HARASSMENT",
    "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
    "KEYWORD_CYBER_INCITEMENT",
    "KEYWORD_CYBER_STALKING",
    "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
    "KEYWORD_DATA_FALSIFICATION",
    "KEYWORD_DEFAMATION",
    "KEYWORD_DESIGN_INFRINGEMENT",
    "KEYWORD_DISCRIMINATION",
    "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
    "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
    "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_HATE_SPEECH",
    "KEYWORD_HIDDEN_ADVERTISEMENT",
    "KEYWORD_HUMAN_EXPLOITATION",
    "KEYWORD_HUMAN_TRAFFICKING",
    "KEYWORD_ILLEGAL_ORGANIZATIONS",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
    "KEYWORD_INAUTHENTIC_ACCOUNTS",
    "KEYWORD_INAUTHENTIC_LISTINGS",
    "KEYWORD_INAUTHENTIC_USER_REVIEWS",
    "KEYWORD_INCITEMENT_AGAINST_WOMEN",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
    "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_LANGUAGE_REQUIREMENTS",
    "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
    "KEYWORD_MISSING_PROCESSING_GROUND",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
    "KEYWORD_NONCOMPLIANCE_PRICING",
    "KEYWORD_NUDITY",
    "KEYWORD_PATENT_INFRINGEMENT",
    "KEYWORD_PHISHING",
    "KEYWORD_PROHIBITED_PRODUCTS",
    "KEYWORD_PYRAMID_SCHEMES",
    "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
    "KEYWORD_RISK_PUBLIC_HEALTH",
    "KEYWORD_SELF_MUTILATION",
    "KEYWORD_STALKING",
    "KEYWORD_SUICIDE",
    "KEYWORD_TERRORIST_CONTENT",
    "KEYWORD_TRADE_SECRET_INFRINGEMENT",
    "KEYWORD_TRADEMARK_INFRINGEMENT",
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
    "KEYWORD_UNLAWFUL_SALE_ANIMALS",
    "KEYWORD_UNSAFE_CHALLENGES",
    "KEYWORD_UNSAFE_PRODUCTS",
    "KEYWORD_VIOLATION_EU_LAW",
    "KEYWORD_VIOLATION_NATIONAL_LAW",
    "KEYWORD_OTHER",
]
SourceType = Literal[
    "SOURCE_ARTICLE_16",
    "SOURCE_TRUSTED_FLAGGER",
    "SOURCE_TYPE_OTHER_NOTIFICATION",
    "SOURCE_VOLUNTARY",
]
AutomatedDecision = Literal[
    "AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"
]

#: The territorial scope the database takes: the countries of the European Economic Area.
EEA_COUNTRIES: Final[tuple[str, ...]] = (
    *("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"),
    *("IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE"),
    *("SI", "SK"),
)
#: The member states of the Union (a profile whose jurisdiction is ``EU`` covers them).
EU_COUNTRIES: Final[tuple[str, ...]] = tuple(
    c for c in EEA_COUNTRIES if c not in ("IS", "LI", "NO")
)
EeaCountry = Annotated[str, AfterValidator(lambda v: _eea(v))]

#: ``content_language``: ISO 639-1 codes in capitals, the database's list (184 codes).
_LANGUAGE_LIST: Final = (
    "AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BH BI BS BR BG MY CA KM CH CE NY "
    "ZH CU CV KW CO CR HR CS DA DV NL DZ EN EO ET EE FO FJ FI FR FF GD GL LG KA DE KI EL KL GN "
    "GU HT HA HE HZ HI HO HU IS IO IG ID IA IE IU IK GA IT JA JV KN KR KS KK RW KV KG KO KJ KU "
    "KY LO LA LV LB LI LN LT LU MK MG MS ML MT GV MI MR MH RO MN NA NV ND NG NE SE NO NB NN II "
    "OC OJ OR OM OS PI PA PS FA PL PT QU RM RN RU SM SG SA SC SR SN SD SI SK SL SO ST NR ES SU "
    "SW SS SV TL TY TG TA TT TE TH BO TI TO TS TN TR TK TW UG UK UR UZ VE VI VO WA CY FY WO XH "
    "YI YO ZA ZU"
)
LANGUAGES: Final[frozenset[str]] = frozenset(_LANGUAGE_LIST.split())

DECISION_VISIBILITIES: Final = get_args(DecisionVisibility)
DECISION_MONETARIES: Final = get_args(DecisionMonetary)
DECISION_PROVISIONS: Final = get_args(DecisionProvision)
DECISION_ACCOUNTS: Final = get_args(DecisionAccount)
ACCOUNT_TYPES: Final = get_args(AccountType)
DECISION_GROUNDS: Final = get_args(DecisionGround)
CONTENT_TYPES: Final = get_args(ContentType)
CATEGORIES: Final = get_args(Category)
KEYWORDS: Final = get_args(Keyword)
SOURCE_TYPES: Final = get_args(SourceType)
AUTOMATED_DECISIONS: Final = get_args(AutomatedDecision)

# ------------------------------------------------------------------ limits and dates

#: The database's three lengths of text; ``LIMITS`` says which field has which.
SHORT: Final = 500
LONG: Final = 2000
FACTS: Final = 5000

#: The longest text the database takes in each field (characters).
LIMITS: Final[dict[str, int]] = {
    "decision_visibility_other": SHORT,
    "decision_monetary_other": SHORT,
    "category_specification_other": SHORT,
    "decision_ground_reference_url": SHORT,
    "illegal_content_legal_ground": SHORT,
    "illegal_content_explanation": LONG,
    "incompatible_content_ground": SHORT,
    "incompatible_content_explanation": LONG,
    "content_type_other": SHORT,
    "decision_facts": FACTS,
    "source_identity": SHORT,
    "puid": SHORT,
}

#: Dates are ``YYYY-MM-DD`` within these bounds (inclusive; None: no lower bound).
DATE_BOUNDS: Final[dict[str, tuple[date | None, date]]] = {
    "content_date": (date(2000, 1, 1), date(2038, 1, 1)),
    "application_date": (date(2020, 1, 1), date(2038, 1, 1)),
    "end_date_account_restriction": (None, date(2038, 1, 1)),
    "end_date_monetary_restriction": (None, date(2038, 1, 1)),
    "end_date_service_restriction": (None, date(2038, 1, 1)),
    "end_date_visibility_restriction": (None, date(2038, 1, 1)),
}

#: A field required when another holds a value (a list field: contains it), and dropped
#: otherwise: (field, the field it depends on, the value).
REQUIRED_WITH: Final[tuple[tuple[str, str, str], ...]] = (
    ("decision_visibility_other", "decision_visibility", "DECISION_VISIBILITY_OTHER"),
    ("decision_monetary_other", "decision_monetary", "DECISION_MONETARY_OTHER"),
    ("content_type_other", "content_type", "CONTENT_TYPE_OTHER"),
    ("illegal_content_legal_ground", "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
    ("illegal_content_explanation", "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
    ("incompatible_content_ground", "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
    ("incompatible_content_explanation", "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
)
#: A field kept only when another holds a value, never required: (field, depends on, value).
ONLY_WITH: Final[tuple[tuple[str, str, str], ...]] = (
    ("incompatible_content_illegal", "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
)
#: A field dropped when another holds a value: (field, depends on, value).
DROPPED_WITH: Final[tuple[tuple[str, str, str], ...]] = (
    ("source_identity", "source_type", "SOURCE_VOLUNTARY"),
)
#: At least one of these says what was decided.
DECISIONS: Final = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
)

_PUID = re.compile(r"[A-Za-z0-9_-]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EAN = re.compile(r"[0-9]{13}")


class DsaRuleError(ValueError):
    """A value the database refuses, with the words for the person who wrote it."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.text)
        self.msg = msg


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise DsaRuleError(Msg("Not one of the DSA database's values for this field."))
    return value


def _eea(value: str) -> str:
    if value not in EEA_COUNTRIES:
        raise DsaRuleError(
            Msg(
                "Only countries of the European Economic Area, as two-letter codes "
                "(e.g. DE); leave it empty for a decision outside the EEA."
            )
        )
    return value


def _date(value: str) -> str:
    if not _DATE.fullmatch(value):
        raise DsaRuleError(Msg("Give a date as YYYY-MM-DD."))
    try:
        date.fromisoformat(value)
    except ValueError:
        raise DsaRuleError(Msg("There is no such date.")) from None
    return value


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise DsaRuleError(Msg("Give a full web address, starting with https://."))
    return value


def _puid(value: str) -> str:
    if not _PUID.fullmatch(value):
        raise DsaRuleError(Msg("Only letters A to Z, digits, '-' and '_' are allowed."))
    return value


def _ean(value: str) -> str:
    if not _EAN.fullmatch(value):
        raise DsaRuleError(Msg("An EAN-13 code is 13 digits."))
    return value


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise DsaRuleError(Msg("Give the language as a two-letter ISO 639-1 code, e.g. ID or EN."))
    return value


Text500 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=SHORT)]
Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=LONG)]


Date = Annotated[str, AfterValidator(_date)]


def _blank_to_none(data: Any) -> Any:
    """An empty text or an empty list is absent, as the database's middleware makes it."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, str) and not v.strip():
            v = None
        out[k] = v
    return out


class DsaStatement(BaseModel):
    """One statement of reasons exactly as the DSA Transparency Database's API takes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision_visibility: list[DecisionVisibility] | None = Field(default=None, max_length=7)
    decision_visibility_other: Text500 | None = None
    end_date_visibility_restriction: Date | None = None
    decision_monetary: DecisionMonetary | None = None
    decision_monetary_other: Text500 | None = None
    end_date_monetary_restriction: Date | None = None
    decision_provision: DecisionProvision | None = None
    end_date_service_restriction: Date | None = None
    decision_account: DecisionAccount | None = None
    end_date_account_restriction: Date | None = None
    account_type: AccountType | None = None
    decision_ground: DecisionGround
    decision_ground_reference_url: Annotated[Text500, AfterValidator(_url)] | None = None
    illegal_content_legal_ground: Text500 | None = None
    illegal_content_explanation: Text2000 | None = None
    incompatible_content_ground: Text500 | None = None
    incompatible_content_explanation: Text2000 | None = None
    incompatible_content_illegal: YesNo | None = None
    category: Category
    category_addition: list[Category] | None = Field(default=None, max_length=16)
    category_specification: list[Keyword] | None = Field(default=None, max_length=70)
    category_specification_other: Text500 | None = None
    content_type: list[ContentType] = Field(min_length=1, max_length=8)
    content_type_other: Text500 | None = None
    content_language: Annotated[str, AfterValidator(_language)] | None = None
    content_date: Date
    content_id_ean: Annotated[str, AfterValidator(_ean)] | None = None
    territorial_scope: list[EeaCountry] | None = Field(default=None, max_length=30)
    application_date: Date
    decision_facts: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=FACTS)
    ]
    source_type: SourceType
    source_identity: Text500 | None = None
    automated_detection: YesNo
    automated_decision: AutomatedDecision
    puid: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=SHORT),
        AfterValidator(_puid),
    ]

    @model_validator(mode="before")
    @classmethod
    def _absent_when_blank(cls, data: Any) -> Any:
        data = _blank_to_none(data)
        if not isinstance(data, dict):
            return data
        # The database drops what does not belong with the values given (exclude_unless).
        for name, on, value in (*REQUIRED_WITH, *ONLY_WITH):
            if not _holds(data.get(on), value):
                data.pop(name, None)
        for name, on, value in DROPPED_WITH:
            if _holds(data.get(on), value):
                data.pop(name, None)
        return data

    @model_validator(mode="after")
    def _cross_field_rules(self) -> DsaStatement:
        problems: list[Problem] = []
        for name, on, value in REQUIRED_WITH:
            if _holds(getattr(self, on), value) and not getattr(self, name):
                problems.append(
                    Problem(
                        name,
                        Msg("Required with %(value)s in %(on)s.", value=value, on=on),
                        Msg("Required with the choice made above."),
                    )
                )
        if not any(getattr(self, d) for d in DECISIONS):
            problems.append(
                Problem(
                    "decision_visibility",
                    Msg(
                        "Say what was decided: a visibility, monetary, service or account "
                        "restriction (at least one)."
                    ),
                )
            )
        for name, (low, high) in DATE_BOUNDS.items():
            raw = getattr(self, name)
            if raw is None:
                continue
            day = date.fromisoformat(raw)
            if (low is not None and day < low) or day > high:
                problems.append(
                    Problem(
                        name,
                        Msg(
                            "The date must lie between %(low)s and %(high)s.",
                            low=(low or date.min).isoformat(),
                            high=high.isoformat(),
                        ),
                    )
                )
        if problems:
            raise StatementRules(problems)
        return self


class StatementRules(ValueError):
    """The cross-field rules a statement broke, each naming its field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.msg.text}" for p in problems))
        self.problems = problems


def _holds(current: Any, value: str) -> bool:
    if isinstance(current, list):
        return value in current
    return bool(current == value)


@dataclass(frozen=True)
class Problem:
    """One refusal: the DSA field and what is wrong with it (translatable)."""

    field: str
    msg: Msg
    #: The words for a form, where ``msg`` names API values a page does not show.
    hint: Msg | None = None


class StatementRefused(InvalidInput):
    """A statement of reasons the DSA database would refuse; ``problems`` name each field."""

    def __init__(self, problems: list[Problem], prefix: str = "") -> None:
        self.problems = [Problem(prefix + p.field, p.msg, p.hint) for p in problems]
        first = self.problems[0]
        more = len(self.problems) - 1
        text = f"{first.field}: {first.msg.text}"
        if more:
            text += f" (and {more} more problem(s))"
        super().__init__(
            Msg(
                "The statement of reasons would be refused by the DSA database: %(problem)s",
                problem=text,
            ),
            field=first.field,
        )

    def to_dict(self) -> dict[str, Any]:
        """The error body with every refused field in ``problems``, as the API's other
        refusals of a body list theirs."""
        return {
            **super().to_dict(),
            "problems": [{"field": p.field, "message": p.msg.text} for p in self.problems],
        }


def _problem_of(err: Any) -> list[Problem]:
    """Pydantic's error as the DSA field it concerns and words a page can translate."""
    loc = [str(p) for p in err.get("loc", ())]
    name = loc[0] if loc else "statement"
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, StatementRules):
        return cause.problems
    if isinstance(cause, DsaRuleError):
        return [Problem(name, cause.msg)]
    kind = err.get("type", "")
    if (
        kind == "missing"
        or kind == "string_too_short"
        or (kind == "too_short" and name == "content_type")
    ):
        return [Problem(name, Msg("This field is required."))]
    if kind == "string_too_long":
        limit = (err.get("ctx") or {}).get("max_length", LIMITS.get(name, 0))
        return [Problem(name, Msg("At most %(max)s characters.", max=limit))]
    if kind in ("literal_error", "enum"):
        return [Problem(name, Msg("Not one of the DSA database's values for this field."))]
    if kind == "extra_forbidden":
        return [Problem(name, Msg("Not a field of the DSA database's statement of reasons."))]
    if kind == "too_long":
        return [Problem(name, Msg("Too many values."))]
    return [Problem(name, Msg("Not the right kind of value for this field."))]


def check(data: dict[str, Any], *, prefix: str = "") -> DsaStatement:
    """The statement as the database would take it, or :class:`StatementRefused` naming every
    field it would refuse (``prefix`` is put before each name, e.g. ``statement.``)."""
    try:
        return DsaStatement.model_validate(data)
    except ValidationError as exc:
        problems = [p for err in exc.errors() for p in _problem_of(err)]
        raise StatementRefused(problems, prefix) from None


#: The columns of the database's CSV export, in its order.
CSV_COLUMNS: Final[tuple[str, ...]] = (
    "uuid",
    "decision_visibility",
    "decision_visibility_other",
    "end_date_visibility_restriction",
    "decision_monetary",
    "decision_monetary_other",
    "end_date_monetary_restriction",
    "decision_provision",
    "end_date_service_restriction",
    "decision_account",
    "end_date_account_restriction",
    "account_type",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "category",
    "category_addition",
    "category_specification",
    "category_specification_other",
    "content_type",
    "content_type_other",
    "content_language",
    "content_date",
    "content_id_ean",
    "territorial_scope",
    "application_date",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "platform_name",
    "platform_uid",
    "created_at",
)


def shorten(text: str, field: str) -> str:
    """A text tangkal fills in from its own records, cut to the field's limit with an
    ellipsis: the full text stays on the order; the statement cannot carry more."""
    text = text.strip()
    limit = LIMITS[field]
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
