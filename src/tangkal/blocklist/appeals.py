"""Appeals: a member of the public contests a block, follows it, and an official decides it.

The life of an appeal is a small state machine (``TRANSITIONS``): received → under review →
upheld or rejected (an official may also decide straight from received). The console and
the API ask :func:`allowed` what a person may do next; no page re-derives it.

Following an appeal needs its reference *and* a follow-up code given once, at submission.
References are short and appear in e-mails and on screens, so on their own they would let
anyone read anyone's appeal (and, by trying references, find them); the code carries 80
random bits and only its SHA-256 is stored. A fast hash is enough for a random secret of
that size (argon2 is for what people choose), and a wrong reference and a wrong code are
refused with the same words, so the answer tells nothing about which references exist.

An upheld appeal restores access through the same path as an official's restoring or an
upheld objection (``services.restore``: the entry restored and the name removed from the
RPZ in the same transaction), never a parallel one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, exists, or_, select, true
from sqlalchemy.orm import Session

from tangkal import limits
from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.audit.models import AuditEvent
from tangkal.audit.services import record
from tangkal.blocklist import services
from tangkal.blocklist.models import Appeal, AppealStatus, BlockAction, BlockEntry, BlockStatus
from tangkal.db.base import utcnow
from tangkal.enums import parse_enum
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, Msg, NotFound
from tangkal.locators import Domain, parse_locator
from tangkal.sop.profile import SopProfile, active_profile

OBJECT_TYPE = "block_appeal"
#: The statement's limit, as the form states it and the API enforces it (``tangkal.limits``).
MAX_STATEMENT = limits.APPEAL_STATEMENT
MIN_STATEMENT = 10
MAX_DECISION_REASON = limits.APPEAL_DECISION_REASON
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand
_CODE_LENGTH = 16  # 16 x 5 bits = 80 bits


class Action(StrEnum):
    """What an official may do to an appeal."""

    REVIEW = "review"  # take it under review
    UPHOLD = "uphold"  # decide: the block was wrong, restore access
    REJECT = "reject"  # decide: the block stands


TRANSITIONS: dict[AppealStatus, dict[Action, AppealStatus]] = {
    AppealStatus.RECEIVED: {
        Action.REVIEW: AppealStatus.UNDER_REVIEW,
        Action.UPHOLD: AppealStatus.UPHELD,
        Action.REJECT: AppealStatus.REJECTED,
    },
    AppealStatus.UNDER_REVIEW: {
        Action.UPHOLD: AppealStatus.UPHELD,
        Action.REJECT: AppealStatus.REJECTED,
    },
    AppealStatus.UPHELD: {},
    AppealStatus.REJECTED: {},
}
#: The words for each status and action, one table for the pages, the console and the
#: refusals (a page renders them in the reader's language through the catalogues).
WORDS: dict[str, Msg] = {
    AppealStatus.RECEIVED.value: Msg("Received"),
    AppealStatus.UNDER_REVIEW.value: Msg("Under review"),
    AppealStatus.UPHELD.value: Msg("Upheld: access restored"),
    AppealStatus.REJECTED.value: Msg("Rejected: the block stands"),
    "decided": Msg("Decided"),
    Action.REVIEW.value: Msg("Take under review"),
    Action.UPHOLD.value: Msg("Uphold: restore access"),
    Action.REJECT.value: Msg("Reject: keep the block"),
}
OPEN = (AppealStatus.RECEIVED, AppealStatus.UNDER_REVIEW)
DECIDED = (AppealStatus.UPHELD, AppealStatus.REJECTED)
#: Who reads the officials' queue, and who acts in it.
READERS = (Role.OFFICIAL, Role.ANALYST, Role.AUDITOR, Role.ADMIN)
DECIDERS = (Role.OFFICIAL,)


def allowed(appeal: Appeal, principal: Principal | None) -> tuple[Action, ...]:
    """The actions ``principal`` may take on ``appeal`` now (none for a reader)."""
    if principal is None or principal.role not in DECIDERS:
        return ()
    if principal.org_kind is not OrgKind.REGULATOR:
        return ()
    return tuple(TRANSITIONS[appeal.status])


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def normalise_code(code: str) -> str:
    """What a person typed, as the code was given: upper case, without spaces or dashes."""
    return re.sub(r"[\s-]", "", code or "").upper()


def _new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _CODE_LENGTH, 4))


def parse_target(text: str, *, field: str = "domain") -> Domain:
    """A domain, or the host of a pasted URL or Telegram link (``tangkal.locators``): what
    a member of the public copies from the address bar."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidInput(
            Msg("Give the domain name or paste the address (URL) of the page."), field=field
        )
    if "/" not in raw and ":" not in raw and "@" not in raw:
        return Domain.parse(raw, field=field)
    try:
        loc = parse_locator(raw)
    except InvalidInput as exc:
        # The locator grammar is an order's (a Telegram link must name a valid channel);
        # the lookup needs only the host, so a link it refuses may still name a blocked one.
        host = _host(raw)
        if host is None:
            raise InvalidInput(exc.msg, field=field) from None
        try:
            return Domain.parse(host, field=field)
        except InvalidInput:
            raise InvalidInput(exc.msg, field=field) from None
    if loc.domain is None:
        raise InvalidInput(
            Msg(
                "%(text)s names a server by its IP address; the blocklist holds domain names.",
                text=raw[:80],
            ),
            field=field,
        )
    return loc.domain


def _host(raw: str) -> str | None:
    try:
        parts = urlsplit(raw if "://" in raw else f"//{raw}")
        return parts.hostname
    except ValueError:
        return None


# --------------------------------------------------------------------------- submission


@dataclass(frozen=True, slots=True)
class Submitted:
    """A new appeal and its follow-up code, which is shown once and never stored."""

    appeal: Appeal
    follow_up_code: str


def submit(
    session: Session,
    target: str,
    contact_email: str | None,
    statement: str | None,
    *,
    now: datetime | None = None,
    profile: SopProfile | None = None,
) -> Submitted:
    """Anyone may appeal a block that is in force; the name may be one beneath it."""
    d = parse_target(target)
    email = (contact_email or "").strip()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidInput(
            Msg("Give an e-mail address where we can answer you, e.g. nama@contoh.co.id."),
            field="contact_email",
        )
    text = services.required_text(
        limits.one_line_break(statement or ""), "statement", MAX_STATEMENT, Msg("statement")
    )
    if len(text) < MIN_STATEMENT:
        raise InvalidInput(
            Msg("Say in a sentence or two why the block should be lifted."), field="statement"
        )
    entry = services.effective_block(session, d)
    if entry is None or entry.action is BlockAction.PASSTHRU:
        raise Conflict(
            Msg("%(name)s is not blocked, so there is nothing to appeal.", name=d.unicode),
            field="domain",
        )
    now = now or utcnow()
    profile = profile or active_profile()
    code = _new_code()
    appeal = Appeal(
        reference="AP-" + secrets.token_hex(5).upper(),
        domain=d.name,
        block_id=entry.id,
        regulator_org_id=entry.requested_by_org_id,
        contact_email=email,
        statement=text,
        status=AppealStatus.RECEIVED,
        created_at=now,
        decide_by=now + profile.appeals.decide_within,
        follow_up_hash=_hash(code),
    )
    session.add(appeal)
    session.flush()
    record(
        session,
        SYSTEM,
        "appeal.received",
        OBJECT_TYPE,
        appeal.id,
        {
            "reference": appeal.reference,
            "domain": d.name,
            "block_id": entry.id,
            "source": "public",
            "decide_by": appeal.decide_by.isoformat(),
        },
    )
    return Submitted(appeal, code)


# --------------------------------------------------------------------------- the public


def follow(session: Session, reference: str, code: str) -> Appeal:
    """The appeal a reference and its follow-up code open; one refusal for either wrong."""
    ref = (reference or "").strip().upper()
    row = session.scalar(select(Appeal).where(Appeal.reference == ref)) if ref else None
    given = _hash(code) if normalise_code(code) else ""
    if (
        row is None
        or row.follow_up_hash is None
        or not hmac.compare_digest(row.follow_up_hash, given)
    ):
        raise NotFound(
            Msg(
                "No appeal matches this reference and follow-up code. Check both as they "
                "were shown when you sent the appeal (e.g. AP-1A2B3C4D5E and ABCD-EFGH-JKLM-"
                "NPQR)."
            ),
            field="code",
        )
    return row


def public_view(row: Appeal) -> dict[str, Any]:
    """What the appellant sees: the steps so far, the deadline, the decision and its
    reasons; never who decided nor the contact address."""
    steps: list[dict[str, Any]] = [{"status": "received", "at": _iso(row.created_at)}]
    if row.reviewed_at is not None:
        steps.append({"status": "under_review", "at": _iso(row.reviewed_at)})
    if row.decided_at is not None:
        steps.append({"status": "decided", "at": _iso(row.decided_at)})
    return {
        "reference": row.reference,
        "domain": row.domain,
        "status": row.status.value,
        "received_at": _iso(row.created_at),
        "decide_by": _iso(row.decide_by),
        "under_review_at": _iso(row.reviewed_at),
        "decided_at": _iso(row.decided_at),
        "outcome": row.status.value if row.status in DECIDED else None,
        "decision_reason": row.decision_reason,
        "access_restored": row.status is AppealStatus.UPHELD,
        "steps": steps,
    }


# --------------------------------------------------------------------------- officials


def _reader(principal: Principal, *roles: Role) -> None:
    principal.require(*roles)
    if principal.org_kind is not OrgKind.REGULATOR and principal.org_id != "system":
        raise Forbidden(
            Msg(
                "Only the regulator reads and decides appeals; your organisation is a %(kind)s.",
                kind=principal.org_kind,
            )
        )


def _scope(principal: Principal) -> Any:
    """A regulator's own appeals, and those against blocks the system made (imports)."""
    if principal.org_id == "system":
        return true()
    return or_(Appeal.regulator_org_id == principal.org_id, Appeal.regulator_org_id.is_(None))


def queue(
    session: Session,
    principal: Principal,
    *,
    status: str = "open",
    limit: int = 200,
) -> list[Appeal]:
    """The officials' queue: open appeals by decision deadline, soonest first; ``status=all``
    adds the decided ones after them (newest decision first)."""
    _reader(principal, *READERS)
    q = select(Appeal).where(_scope(principal))
    if status == "open":
        q = q.where(Appeal.status.in_(OPEN)).order_by(Appeal.decide_by, Appeal.created_at)
    elif status == "decided":
        q = q.where(Appeal.status.in_(DECIDED)).order_by(Appeal.decided_at.desc())
    elif status == "all":
        still_open = case((Appeal.status.in_(OPEN), 0), else_=1)
        q = q.order_by(still_open, Appeal.decide_by, Appeal.created_at.desc())
    else:
        q = q.where(Appeal.status == parse_enum(AppealStatus, status, Msg("appeal status")))
        q = q.order_by(Appeal.decide_by)
    return list(session.scalars(q.limit(limit)))


def get(session: Session, principal: Principal, appeal_id: str, *, lock: bool = False) -> Appeal:
    _reader(principal, *READERS)
    q = select(Appeal).where(Appeal.id == appeal_id, _scope(principal))
    if lock:
        q = q.with_for_update()
    row = session.scalar(q)
    if row is None:
        raise NotFound(
            Msg("No appeal %(id)r. List appeals with GET /api/v1/appeals.", id=appeal_id)
        )
    return row


def _move(row: Appeal, principal: Principal, action: Action) -> AppealStatus:
    nxt = TRANSITIONS[row.status].get(action)
    if nxt is None or action not in allowed(row, principal):
        raise InvalidTransition(
            Msg(
                'Appeal %(ref)s (%(status)s): "%(action)s" is not possible now.',
                ref=row.reference,
                status=WORDS[row.status.value],
                action=WORDS[action.value],
            ),
            existing_status=row.status.value,
        )
    return nxt


def take_under_review(
    session: Session, principal: Principal, appeal_id: str, *, now: datetime | None = None
) -> Appeal:
    """An official says the appeal is being looked at; the appellant sees it."""
    _reader(principal, *DECIDERS)
    row = get(session, principal, appeal_id, lock=True)
    row.status = _move(row, principal, Action.REVIEW)
    row.reviewed_by, row.reviewed_at = principal.actor, now or utcnow()
    session.flush()
    record(
        session,
        principal,
        "appeal.under_review",
        OBJECT_TYPE,
        row.id,
        {"reference": row.reference, "domain": row.domain},
    )
    return row


def decide(
    session: Session,
    principal: Principal,
    appeal_id: str,
    *,
    outcome: str,
    reason: str | None,
    now: datetime | None = None,
) -> Appeal:
    """Upheld: the contested block is restored through ``services.restore`` (the RPZ in
    this transaction) when it is still in force; rejected: the block stands. Either way
    the reasons are the appellant's to read."""
    _reader(principal, *DECIDERS)
    actions = {"upheld": Action.UPHOLD, "rejected": Action.REJECT}
    if outcome not in actions:
        raise InvalidInput(
            Msg('The outcome is "upheld" or "rejected", not %(o)r.', o=outcome), field="outcome"
        )
    text = services.required_text(
        reason, "reason", MAX_DECISION_REASON, Msg("reason for the decision")
    )
    now = now or utcnow()
    row = get(session, principal, appeal_id, lock=True)
    row.status = _move(row, principal, actions[outcome])
    effect: dict[str, Any] = {}
    if row.status is AppealStatus.UPHELD and row.block_id is not None:
        entry = session.get(BlockEntry, row.block_id)
        if entry is not None and entry.status in (BlockStatus.ACTIVE, BlockStatus.SCHEDULED):
            services.restore(
                session, principal, entry.id, f"Appeal {row.reference} upheld: {text}", now=now
            )
            effect = {"block_restored": entry.id}
        else:
            effect = {"block_restored": None}  # lifted already, by another decision
    row.decided_by, row.decided_at, row.decision_reason = principal.actor, now, text
    session.flush()
    record(
        session,
        principal,
        f"appeal.{outcome}",
        OBJECT_TYPE,
        row.id,
        {"reference": row.reference, "domain": row.domain, "reason": text, **effect},
    )
    return row


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_dict(row: Appeal, principal: Principal | None = None) -> dict[str, Any]:
    """An appeal as officials read it, with what the reader may do next."""
    return {
        "id": row.id,
        "reference": row.reference,
        "domain": row.domain,
        "block_id": row.block_id,
        "contact_email": row.contact_email,
        "statement": row.statement,
        "status": row.status.value,
        "created_at": _iso(row.created_at),
        "decide_by": _iso(row.decide_by),
        "reviewed_by": row.reviewed_by,
        "reviewed_at": _iso(row.reviewed_at),
        "decided_by": row.decided_by,
        "decided_at": _iso(row.decided_at),
        "decision_reason": row.decision_reason,
        "actions": [a.value for a in allowed(row, principal)],
    }


# --------------------------------------------------------------------------- reminders

#: the audit action that warns officials an appeal's decision time is running out; the
#: record is also the mark that the warning was given, so each appeal is reminded once
REMINDED = "appeal.decision_due"


class Band(StrEnum):
    """How near an open appeal's decision deadline is, as the queue groups it."""

    DUE_SOON = "due_soon"  # within the profile's ``[appeals] warn_before``
    OVERDUE = "overdue"  # ``decide_by`` has passed


BAND_WORDS: dict[str, Msg] = {
    Band.DUE_SOON.value: Msg("Decision due soon"),
    Band.OVERDUE.value: Msg("Decision overdue"),
}


def reminder_lead(profile: SopProfile | None = None) -> timedelta:
    """How long before ``decide_by`` officials are warned: ``[appeals] warn_before``, or a
    quarter of ``decide_within`` when the profile says nothing."""
    return (profile or active_profile()).appeals.warning_lead()


def band(row: Appeal, now: datetime, lead: timedelta) -> Band | None:
    """Overdue, due soon (within ``lead``), or nothing to flag; a decided appeal has none."""
    if row.status not in OPEN:
        return None
    if row.decide_by <= now:
        return Band.OVERDUE
    if row.decide_by <= now + lead:
        return Band.DUE_SOON
    return None


def remind_due(
    session: Session, now: datetime, *, profile: SopProfile | None = None, limit: int = 200
) -> int:
    """Officials are warned on the record, once per appeal, when an open appeal's decision
    time is within the lead (or past): the same way objections and normalisation requests
    remind them (the audit record concerns the deciding regulator, whose people read it in
    their organisation's record; the queue shows the band). Nothing is e-mailed: officials
    have no address in the system, and the appellant's address is for the decision only.

    The reminder's own audit record marks it as given (``NOT EXISTS`` over the audit
    index), so no column is needed; appeals another worker is reminding are skipped."""
    lead = reminder_lead(profile)
    reminded = exists().where(
        AuditEvent.object_type == OBJECT_TYPE,
        AuditEvent.object_id == Appeal.id,
        AuditEvent.action == REMINDED,
    )
    rows = list(
        session.scalars(
            select(Appeal)
            .where(Appeal.status.in_(OPEN), Appeal.decide_by <= now + lead, ~reminded)
            .order_by(Appeal.decide_by)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        record(
            session,
            SYSTEM,
            REMINDED,
            OBJECT_TYPE,
            row.id,
            {
                "reference": row.reference,
                "domain": row.domain,
                "regulator_org_id": row.regulator_org_id,
                "decide_by": row.decide_by.isoformat(),
                "overdue": row.decide_by <= now,
            },
        )
    return len(rows)
