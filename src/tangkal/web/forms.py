"""Checking what people type into the console's forms, before any service is called.

A form that is wrong comes back with every problem next to the field it belongs to (one
error per bad locator line, with its line number), instead of one summary line; the services
check everything again, so nothing here is the last line of defence.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from fastapi.responses import Response
from sqlalchemy.orm import Session

from tangkal import limits
from tangkal.blocklist.services import BlockRequest
from tangkal.errors import InvalidInput, Msg
from tangkal.locators import Domain, parse_locator
from tangkal.orders.schemas import EvidenceIn, OrderIn
from tangkal.web.display import parse_wib

MAX_LINES = limits.ORDER_LOCATORS


def N_(message: str) -> str:
    """Marks a message for the catalogue; the page translates it when it shows it."""
    return message


MAX_EVIDENCE_FILES = limits.ORDER_EVIDENCE_FILES


@dataclass(frozen=True, slots=True)
class LineError:
    line: int  # 1-based, as the person sees it
    text: str
    message: str | Msg  # translated when shown (the ``t`` filter)


@dataclass
class OrderForm:
    """The new-order form as submitted: kept so a refused form is shown again as typed."""

    platform: str = ""
    category: str = ""
    legal_basis: str = ""
    reason: str = ""
    locators: str = ""
    errors: dict[str, str | Msg] = field(default_factory=dict)
    line_errors: list[LineError] = field(default_factory=list)
    #: the names of the files that were chosen when the form was refused: a browser cannot
    #: put chosen files back into a file input, so the page asks for them again by name
    files_to_choose_again: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.legal_basis = limits.one_line_break(self.legal_basis)
        self.reason = limits.one_line_break(self.reason)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.line_errors

    def lines(self) -> list[tuple[int, str]]:
        return [
            (i, t.strip()) for i, t in enumerate(self.locators.splitlines(), start=1) if t.strip()
        ]

    def check(self, categories: set[str], platforms: set[str]) -> None:
        if self.platform not in platforms:
            self.errors["platform"] = N_("Choose the platform the order is addressed to.")
        if self.category not in categories:
            self.errors["category"] = N_("Choose a category from the SOP.")
        if not self.legal_basis.strip():
            self.errors["legal_basis"] = N_("Give the legal basis (it is pre-filled per category).")
        elif len(self.legal_basis) > limits.ORDER_LEGAL_BASIS:
            self.errors["legal_basis"] = too_long(self.legal_basis, limits.ORDER_LEGAL_BASIS)
        if not self.reason.strip():
            self.errors["reason"] = N_("Say why the content is unlawful; the platform sees this.")
        elif len(self.reason) > limits.ORDER_REASON:
            self.errors["reason"] = too_long(self.reason, limits.ORDER_REASON)
        lines = self.lines()
        if not lines:
            self.errors["locators"] = N_(
                "Give at least one locator (a URL, domain or Telegram link), one per line."
            )
        elif len(lines) > MAX_LINES:
            self.errors["locators"] = Msg(
                "At most %(n)s items per order (this one has %(count)s); split it.",
                n=MAX_LINES,
                count=len(lines),
            )
        for number, text in lines[:MAX_LINES]:
            try:
                parse_locator(text)
            except InvalidInput as exc:
                self.line_errors.append(LineError(number, text[:200], exc.msg))

    def to_order(self, evidence: list[EvidenceIn]) -> OrderIn:
        return OrderIn(
            platform=self.platform,
            category=self.category,
            locators=[t for _, t in self.lines()],
            legal_basis=self.legal_basis.strip(),
            reason=self.reason.strip(),
            evidence=evidence,
        )


def too_long(text: str, limit: int) -> Msg:
    """The error beside a field over its limit, with the limit and how far over it is."""
    return Msg(
        "At most %(limit)s characters; this has %(count)s. Shorten it by %(over)s.",
        limit=limit,
        count=len(text),
        over=len(text) - limit,
    )


def evidence_item(filename: str, content_type: str, content: bytes) -> EvidenceIn:
    return EvidenceIn(
        filename=(filename or "evidence")[:300],
        content_type=(content_type or "application/octet-stream")[:200],
        content_base64=base64.b64encode(content).decode(),
    )


BLOCK_ACTIONS = ("nxdomain", "nodata", "landing", "passthru")


@dataclass
class BlockForm:
    """The new-block form as submitted; every problem is kept next to its field.

    ``assessed`` is the name whose proportionality assessment the analyst last saw (the
    assessment panel carries it as a hidden field): a block is only created for the name
    that was assessed, so nobody files a whole-service block without having seen it.
    """

    domain: str = ""
    action: str = "nxdomain"
    legal_basis: str = ""
    reason: str = ""
    category: str = ""
    order_id: str = ""
    expires_at: str = ""
    assessed: str = ""
    errors: dict[str, str | Msg] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.legal_basis = limits.one_line_break(self.legal_basis)
        self.reason = limits.one_line_break(self.reason)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def seen_assessment(self) -> bool:
        return bool(self.domain.strip()) and self.assessed.strip() == self.domain.strip()

    def build(self, categories: set[str]) -> BlockRequest | None:
        """The checked request, or None with ``errors`` filled in."""
        if not self.domain.strip():
            self.errors["domain"] = N_("Give the domain name to block, e.g. example.com.")
        else:
            try:
                Domain.parse(self.domain.strip())
            except InvalidInput as exc:
                self.errors["domain"] = exc.msg
        if self.action not in BLOCK_ACTIONS:
            self.errors["action"] = N_("Choose what resolvers should answer.")
        if self.category and self.category not in categories:
            self.errors["category"] = N_("Choose a category from the SOP.")
        if not self.legal_basis.strip():
            self.errors["legal_basis"] = N_("Give the legal basis; it is shown to the public.")
        elif len(self.legal_basis) > limits.BLOCK_LEGAL_BASIS:
            self.errors["legal_basis"] = too_long(self.legal_basis, limits.BLOCK_LEGAL_BASIS)
        if not self.reason.strip():
            self.errors["reason"] = N_("Say why the name is blocked; it is kept in the record.")
        elif len(self.reason) > limits.BLOCK_REASON:
            self.errors["reason"] = too_long(self.reason, limits.BLOCK_REASON)
        expires = None
        try:
            expires = parse_wib(self.expires_at, "expires_at")
        except InvalidInput as exc:
            self.errors["expires_at"] = exc.msg
        if self.errors:
            return None
        try:
            return BlockRequest.build(
                domain=self.domain.strip(),
                action=self.action,
                legal_basis=self.legal_basis,
                reason=self.reason,
                category=self.category or None,
                order_id=self.order_id or None,
                expires_at=expires,
            )
        except InvalidInput as exc:
            self.errors[exc.field or "form"] = exc.msg
            return None


# ------------------------------------------------------------------ the procedure's forms


T = TypeVar("T")


class Refusable(Protocol):
    def refused(self, exc: Exception, msg: Msg) -> bool: ...


def in_savepoint(
    session: Session,
    form: Refusable,
    take: Callable[[], T],
    again: Callable[[int, str | None], Response],
    refusals: tuple[type[Exception], ...],
    error: Callable[[Any], str],
) -> T | Response:
    """Take a decision of a console form in a savepoint: its result, or, when the service
    refuses it, ``again(status, problem)``, the page once more with the person's text.

    The savepoint undoes whatever the refused service had written, so the page rendered
    after it reads the unit of work as it was; the refusal goes beside the form's field it
    names (``problem`` None), or above the form (``error(exc)``) when it names none of them,
    since the item may have been decided meanwhile and the form no longer be offered.
    """
    try:
        with session.begin_nested():
            return take()
    except refusals as exc:
        refusal: Any = exc
        beside = form.refused(exc, refusal.msg)
        return again(refusal.status_code, None if beside else error(exc))


@dataclass
class DecisionForm:
    """An approve/reject or decide form of one item (a sanction, an objection, a request to
    restore access), kept as typed so a refused one comes back with the text and the error
    beside its field. ``target`` is the id of the item the form belongs to, so a list page
    opens the right one again."""

    target: str = ""
    outcome: str = ""
    reason: str = ""
    errors: dict[str, str | Msg] = field(default_factory=dict)

    def check(self, outcomes: tuple[str, ...], missing_reason: str) -> bool:
        if outcomes and self.outcome not in outcomes:
            self.errors["outcome"] = N_("Choose the decision.")
        if not self.reason.strip():
            self.errors["reason"] = missing_reason
        return not self.errors

    def refused(self, exc: Exception, msg: Msg) -> bool:
        """A service's refusal beside the field it names; False when it names none of this
        form's fields (the page then shows it above everything, since the form itself may
        no longer be offered: the item was decided meanwhile)."""
        name = getattr(exc, "field", None)
        if name in ("outcome", "reason"):
            self.errors[name] = msg
            return True
        return False


MAX_EVIDENCE_LINES = limits.OBJECTION_EVIDENCE_ITEMS


@dataclass
class ObjectionForm:
    """A platform's objection (sanggah) to an order, a warning letter, a fine or a
    sanction: the reason, and evidence one item per line (a link or a short description)."""

    kind: str = ""
    subject_id: str = ""
    reason: str = ""
    evidence: str = ""
    errors: dict[str, str | Msg] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reason = limits.one_line_break(self.reason)
        self.evidence = limits.one_line_break(self.evidence)

    def lines(self) -> list[str]:
        return [t.strip() for t in self.evidence.splitlines() if t.strip()]

    def check(self, kinds: tuple[str, ...]) -> bool:
        if self.kind not in kinds or not self.subject_id.strip():
            self.errors["form"] = N_("An unknown subject was sent; reload the page.")
        if not self.reason.strip():
            self.errors["reason"] = N_("Say why you object; the regulator decides on it.")
        elif len(self.reason) > limits.OBJECTION_REASON:
            self.errors["reason"] = too_long(self.reason, limits.OBJECTION_REASON)
        if len(self.lines()) > MAX_EVIDENCE_LINES:
            self.errors["evidence"] = Msg(
                "At most %(n)s lines of evidence; put the rest into a document and link it.",
                n=MAX_EVIDENCE_LINES,
            )
        elif any(len(t) > limits.OBJECTION_EVIDENCE_ITEM for t in self.lines()):
            self.errors["evidence"] = Msg(
                "Each line of evidence may have at most %(n)s characters.",
                n=limits.OBJECTION_EVIDENCE_ITEM,
            )
        return not self.errors

    def refused(self, exc: Exception, msg: Msg) -> bool:
        """Beside its field, or False: the page shows it above (see ``DecisionForm``)."""
        name = getattr(exc, "field", None)
        if name in ("reason", "evidence"):
            self.errors[name] = msg
            return True
        return False


@dataclass
class NormalisationForm:
    """A request to restore access: the reason and the evidence for each condition of the
    profile's checklist (by the condition's name); on the public form also the one domain
    and an e-mail address to answer."""

    reason: str = ""
    conditions: dict[str, str] = field(default_factory=dict)
    domains: list[str] = field(default_factory=list)
    domain: str = ""
    contact_email: str = ""
    errors: dict[str, str | Msg] = field(default_factory=dict)

    @classmethod
    def from_lists(
        cls, names: list[str], evidence: list[str], known: set[str], **values: Any
    ) -> NormalisationForm:
        """The checklist as the browser sends it: each condition's name (a hidden field)
        followed by its evidence, in the order of the page."""
        form = cls(**values)
        if len(names) != len(evidence) or not set(names) <= known:
            form.errors["form"] = N_("The list of conditions was sent incomplete; reload the page.")
        form.conditions = {n: e for n, e in zip(names, evidence, strict=False) if n in known}
        return form

    @property
    def conditions_touched(self) -> bool:
        """Evidence was given, or refused, for a condition (the optional part is shown)."""
        return any(v.strip() for v in self.conditions.values()) or any(
            k.startswith("conditions.") for k in self.errors
        )

    def check(self, *, public: bool) -> bool:
        if not self.reason.strip():
            self.errors["reason"] = N_("Say why access should be restored.")
        if public:
            if not self.domain.strip():
                self.errors["domain"] = N_("Give the blocked domain, e.g. contoh.co.id.")
            if not self.contact_email.strip():
                self.errors["contact_email"] = N_("Give an e-mail address where we can answer you.")
        return not self.errors

    def refused(self, exc: Exception, msg: Msg) -> None:
        name = getattr(exc, "field", None) or "form"
        if name.startswith("conditions."):
            self.errors[name] = msg
        elif name == "domains":
            self.errors["domain" if self.domain else "domains"] = msg
        elif name in ("reason", "contact_email"):
            self.errors[name] = msg
        else:
            self.errors["form"] = msg


# ------------------------------------------------------------------ request validation
#
# FastAPI checks each form field's declared limits (``Form(max_length=...)``, ``ge=``, an
# ``int`` type) before a route runs, and pydantic words what it refuses in English ("String
# should have at most 20000 characters"). The pages say it in the reader's language instead,
# naming the field by the label the form shows beside it. The API's 422 body is pydantic's
# own text and is not built here (``tangkal.api.errors``).

#: The label a form shows for a field, by the field's name, for the fields whose name means
#: the same on every page; the labels are the templates' own messages (a ``Msg`` each, so
#: the page translates the label where it fills it into the sentence).
FIELD_LABELS: dict[str, Msg] = {
    "org": Msg("Organisation"),
    "username": Msg("User name"),
    "password": Msg("Password"),
    "domain": Msg("Domain name"),
    "contact_email": Msg("Your e-mail address"),
    "statement": Msg("Why should the block be lifted?"),
    "status": Msg("Status"),
    "platform": Msg("Platform"),
    "category": Msg("Category"),
    "legal_basis": Msg("Legal basis"),
    "reason": Msg("Reason"),
    "locators": Msg("Content to take down — one URL, domain or Telegram link per line"),
    "evidence": Msg("Evidence (optional; screenshots, archives)"),
    "question": Msg("Your question"),
    "answer": Msg("Your answer"),
    "decision_facts": Msg("Facts and circumstances of the decision"),
    "visibility": Msg("Visibility restriction applied"),
    "automated_detection": Msg("Automated detection used?"),
    "automated_decision": Msg("Automated decision"),
    "name": Msg("Name"),
    "q": Msg("Name"),
    "note": Msg("Why it is protected"),
    "description": Msg("Description"),
    "kind": Msg("Kind"),
    "source": Msg("Source (provenance)"),
    "pdq_threshold": Msg("PDQ threshold (0–256 bits)"),
    "text_threshold": Msg("Text threshold"),
    "file": Msg("File"),
    "label": Msg("Label (optional)"),
    "format": Msg("Format"),
    "message": Msg("Message"),
    "bank": Msg("Put into bank"),
    "order_id": Msg("Order or case reference (optional)"),
    "expires_at": Msg("Expires (optional, WIB)"),
    "outcome": Msg("Decision"),
    "evidence_text": Msg("Evidence"),
    "condition": Msg("Condition"),
    "subject_id": Msg("What you object to"),
}

#: Where one field name carries a different label on one form: (route path, field) → label.
ROUTE_FIELD_LABELS: dict[tuple[str, str], Msg] = {
    ("/console/orders/new", "reason"): Msg("Reason (shown to the platform)"),
    ("/console/orders/{order_id}/response", "action"): Msg("What did you do?"),
    ("/console/orders/{order_id}/response", "reason"): Msg("Objection (required if not done)"),
    ("/console/orders/{order_id}/withdraw", "reason"): Msg("Reason for withdrawing"),
    ("/console/blocks/new", "action"): Msg("What resolvers answer"),
    ("/console/blocks/{block_id}/restore", "reason"): Msg("Reason for restoring access"),
    ("/console/blocks/{block_id}/reject", "reason"): Msg("Reason for rejecting"),
    ("/public/appeal", "domain"): Msg("Blocked domain"),
    ("/console/banks/{name}/import", "file"): Msg("Hash list file"),
    ("/console/orders/{order_id}/objection", "reason"): Msg("Why do you object?"),
    ("/console/orders/{order_id}/objection", "evidence"): Msg(
        "Evidence (one item per line: a link or a short description)"
    ),
    ("/console/sanctions/{sanction_id}/objection", "reason"): Msg("Why do you object?"),
    ("/console/sanctions/{sanction_id}/objection", "evidence"): Msg(
        "Evidence (one item per line: a link or a short description)"
    ),
    ("/console/sanctions/{sanction_id}/reject", "reason"): Msg("Reason for rejecting"),
    ("/console/objections/{objection_id}/decision", "reason"): Msg("Reason for the decision"),
    ("/console/normalisations/{nid}/decision", "reason"): Msg("Reason for the decision"),
    ("/console/normalisations/new", "reason"): Msg("Why should access be restored?"),
    ("/console/normalisations/new", "evidence"): Msg("Evidence"),
    ("/public/normalisation", "reason"): Msg("Why should access be restored?"),
    ("/public/normalisation", "evidence"): Msg("Evidence"),
    ("/public/normalisation", "domain"): Msg("Blocked domain"),
    ("/console/escalations/propose", "reason"): Msg("Reason (shown to the platform)"),
}


def field_name(route: str, name: str) -> str | Msg:
    """The field as its form labels it (translated where shown); a field the page does not
    label (a hidden field, a query parameter) by its own name, which is what an engineer
    looking at the request sees."""
    label = ROUTE_FIELD_LABELS.get((route, name)) or FIELD_LABELS.get(name)
    return label or name


def _field_of(error: Mapping[str, Any]) -> str | None:
    """The form field a request-validation error is about (its ``loc`` is ``("body", name)``
    or ``("query", name)``), or None when it names none."""
    loc = [p for p in error.get("loc", ()) if isinstance(p, str)]
    return loc[1] if len(loc) > 1 else None


def request_problem(error: Mapping[str, Any], route: str) -> Msg:
    """One of pydantic's request-validation errors (an item of ``exc.errors()``) as a
    message a page can translate. The types here are the ones the web forms can raise (a
    ``max_length`` exceeded, a required or whole-number field, a number out of its range, a
    file where text belongs or text where a file belongs); any other says only that the field
    could not be accepted, rather than quoting pydantic's English."""
    name = _field_of(error)
    if name is None:
        return Msg("The form could not be accepted as it was sent; reload the page and try again.")
    what = field_name(route, name)
    kind = error.get("type")
    ctx = error.get("ctx") or {}
    if kind == "string_too_long":
        return Msg(
            "“%(field)s” is too long; shorten it to at most %(limit)s characters.",
            field=what,
            limit=limits.stated(ctx["max_length"]) if "max_length" in ctx else None,
        )
    if kind == "missing":
        return Msg("“%(field)s” is required; fill it in and send the form again.", field=what)
    if kind == "int_parsing":
        return Msg("“%(field)s” must be a whole number.", field=what)
    if kind == "greater_than_equal":
        return Msg("“%(field)s” must be %(limit)s or more.", field=what, limit=ctx.get("ge"))
    if kind == "less_than_equal":
        return Msg("“%(field)s” must be %(limit)s or less.", field=what, limit=ctx.get("le"))
    if kind == "string_type":
        return Msg("“%(field)s” must be text, not a file.", field=what)
    if kind == "string_control_character":
        return Msg(
            "“%(field)s” contains a control character that cannot be stored; remove it "
            "(only tabs and line breaks are accepted) and send the form again.",
            field=what,
        )
    if kind == "value_error" and "UploadFile" in str(error.get("msg", "")):
        return Msg("“%(field)s” must be a file chosen with the file picker.", field=what)
    return Msg("“%(field)s” could not be accepted as it was sent.", field=what)


def request_problems(errors: Sequence[Mapping[str, Any]], route: str) -> tuple[Msg, ...]:
    """Every field FastAPI refused on a form posted to ``route`` (the route's path
    template, e.g. ``/console/orders/{order_id}/withdraw``), once per field."""
    seen: dict[str, Msg] = {}
    for error in errors:
        seen.setdefault(_field_of(error) or "", request_problem(error, route))
    return tuple(seen.values())


# ------------------------------------------------------------------ one text, kept


@dataclass
class KeptText:
    """A one-field form of a page with several (an order's question, answer, withdrawal):
    which form was sent, its text as typed, and the error beside its field, so a refused
    form comes back on its page with nothing lost."""

    name: str = ""
    text: str = ""
    errors: dict[str, str | Msg] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.text = limits.one_line_break(self.text)

    def value(self, name: str) -> str:
        return self.text if name == self.name else ""

    def errors_for(self, name: str) -> dict[str, str | Msg]:
        return self.errors if name == self.name else {}

    def check(self, limit: int, missing: str | Msg) -> bool:
        if not self.text.strip():
            self.errors[self.name] = missing
        elif len(self.text) > limit:
            self.errors[self.name] = too_long(self.text, limit)
        return not self.errors

    def refused(self, exc: Exception, msg: Msg) -> bool:
        """A refusal of the text itself beside the field; False for anything else (the
        order's state changed meanwhile, a role): the page then says it above, since the
        form may no longer be offered, and shows the text kept there."""
        name = getattr(exc, "field", None)
        if isinstance(exc, InvalidInput) and name in (
            None,
            self.name,
            "reason",
            "question",
            "answer",
        ):
            self.errors[self.name] = msg
            return True
        return False
