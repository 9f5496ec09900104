"""Filing orders and moving them through their states, each step on the audit record.

Every state change goes through ``_transition``, which checks that the change is allowed,
stamps the time and appends the audit event, so no path can move an order without leaving
a trace.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.orm import Session, selectinload

from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.db.base import new_id, utcnow
from tangkal.errors import InvalidInput, InvalidTransition, NotFound, TooLarge
from tangkal.locators import Locator, parse_locator
from tangkal.orders.clock import compute_deadline
from tangkal.orders.models import (
    OPEN_STATUSES,
    Clarification,
    Evidence,
    LocatorKey,
    Order,
    OrderLocator,
    OrderResponse,
    OrderStatus,
    OrderWarning,
    ResponseAction,
)
from tangkal.orders.schemas import EvidenceIn, OrderIn, ResponseIn, StatementOfReasons
from tangkal.settings import get_settings
from tangkal.sop.profile import SopProfile, active_profile

S = OrderStatus

# Which states each state may move to; anything else is an InvalidTransition.
# Any open order may be answered (or withdrawn by the regulator).
_ANSWERS = frozenset({S.COMPLIED, S.PARTIALLY_COMPLIED, S.DISPUTED, S.WITHDRAWN})

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.ISSUED: _ANSWERS | {S.DELIVERED, S.ACKNOWLEDGED, S.CLARIFICATION_REQUESTED, S.OVERDUE},
    S.DELIVERED: _ANSWERS | {S.ACKNOWLEDGED, S.CLARIFICATION_REQUESTED, S.OVERDUE},
    S.ACKNOWLEDGED: _ANSWERS | {S.CLARIFICATION_REQUESTED, S.OVERDUE},
    S.CLARIFICATION_REQUESTED: _ANSWERS | {S.ACKNOWLEDGED},
    S.OVERDUE: _ANSWERS | {S.CLARIFICATION_REQUESTED, S.ACKNOWLEDGED},
    S.PARTIALLY_COMPLIED: frozenset({S.COMPLIED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.COMPLIED, S.PARTIALLY_COMPLIED, S.WITHDRAWN}),
    S.COMPLIED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

ACTION_STATUS = {
    ResponseAction.REMOVED: S.COMPLIED,
    ResponseAction.RESTRICTED_IN_COUNTRY: S.COMPLIED,
    ResponseAction.ACCOUNT_SUSPENDED: S.COMPLIED,
    ResponseAction.PARTIALLY_DONE: S.PARTIALLY_COMPLIED,
    ResponseAction.NOT_DONE: S.DISPUTED,
}

ACTION_VISIBILITY = {
    ResponseAction.REMOVED: ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    ResponseAction.RESTRICTED_IN_COUNTRY: ["DECISION_VISIBILITY_CONTENT_DISABLED"],
    ResponseAction.ACCOUNT_SUSPENDED: ["DECISION_VISIBILITY_OTHER"],
    ResponseAction.PARTIALLY_DONE: ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    ResponseAction.NOT_DONE: [],
}


def _transition(
    session: Session,
    order: Order,
    to: OrderStatus,
    actor: Principal,
    action: str,
    data: dict[str, Any] | None = None,
) -> None:
    if to is not order.status and to not in TRANSITIONS[order.status]:
        raise InvalidTransition(
            f"Order {order.reference} is {order.status.value}; it cannot become {to.value}."
        )
    before = order.status
    order.status = to
    order.updated_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        action,
        "order",
        order.id,
        {"reference": order.reference, "from": before.value, "to": to.value, **(data or {})},
    )


# ---------------------------------------------------------------- filing


def _platform(session: Session, name_or_id: str) -> Organization:
    org = session.scalar(
        select(Organization).where(
            or_(Organization.name == name_or_id, Organization.id == name_or_id)
        )
    )
    if org is None or org.kind is not OrgKind.PLATFORM:
        raise InvalidInput(
            f"No platform named {name_or_id!r} is registered; check the name in the "
            "organisation directory (GET /api/v1/orgs).",
            field="platform",
        )
    return org


def parse_locators(texts: list[str]) -> list[tuple[str, Locator]]:
    """Canonicalise every locator, reporting all bad ones at once with their position."""
    parsed: list[tuple[str, Locator]] = []
    problems: list[str] = []
    for i, text in enumerate(texts):
        try:
            parsed.append((text, parse_locator(text)))
        except InvalidInput as exc:
            problems.append(f"locators[{i}] ({text[:80]!r}): {exc.message}")
    if problems:
        raise InvalidInput("; ".join(problems), field="locators")
    seen: dict[str, int] = {}
    unique: list[tuple[str, Locator]] = []
    for text, loc in parsed:
        if loc.canonical not in seen:
            seen[loc.canonical] = len(unique)
            unique.append((text, loc))
    return unique


def decode_evidence(item: EvidenceIn) -> bytes:
    limit = get_settings().max_evidence_bytes
    if len(item.content_base64) > (limit * 4) // 3 + 8:
        raise TooLarge(
            f"Evidence {item.filename!r} is larger than the limit of {limit} bytes.",
            field="evidence",
        )
    try:
        content = base64.b64decode(item.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            f"Evidence {item.filename!r} is not valid base64.", field="evidence"
        ) from None
    if not content:
        raise InvalidInput(
            f"Evidence {item.filename!r} is empty; attach the file itself.", field="evidence"
        )
    return content


def add_evidence(
    session: Session,
    actor: Principal,
    order: Order,
    filename: str,
    content_type: str,
    content: bytes,
) -> Evidence:
    limit = get_settings().max_evidence_bytes
    if not content:
        raise InvalidInput(
            f"Evidence {filename!r} is empty; attach the file itself.", field="evidence"
        )
    if len(content) > limit:
        raise TooLarge(
            f"Evidence {filename!r} is {len(content)} bytes; the limit is {limit}.",
            field="evidence",
        )
    ev = Evidence(
        order_id=order.id,
        filename=filename[:300],
        content_type=content_type[:200],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        md5=hashlib.md5(content, usedforsecurity=False).hexdigest(),
        content=content,
    )
    order.evidence.append(ev)
    session.flush()
    record(
        session,
        actor,
        "order.evidence_added",
        "order",
        order.id,
        {"evidence_id": ev.id, "filename": ev.filename, "sha256": ev.sha256, "size": ev.size},
    )
    return ev


def _reference(now: datetime) -> str:
    return f"ORD-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


def file_order(
    session: Session, actor: Principal, data: OrderIn, profile: SopProfile | None = None
) -> Order:
    actor.require(Role.ANALYST, Role.OFFICIAL)
    actor.require_kind(OrgKind.REGULATOR)
    profile = profile or active_profile()
    category = profile.category(data.category.strip().lower())
    urgency = profile.urgency_for(category.key, data.urgency)
    platform = _platform(session, data.platform.strip())
    locators = parse_locators(data.locators)
    evidence = [(e, decode_evidence(e)) for e in data.evidence]
    now = utcnow()
    deadline = profile.deadline(urgency)
    order = Order(
        id=new_id(),  # known before the flush, so locators, keys and outbox need no extra one
        reference=_reference(now),
        regulator_org_id=actor.org_id,
        platform_org_id=platform.id,
        category=category.key,
        urgency=urgency,
        legal_basis=data.legal_basis.strip(),
        reason=data.reason.strip(),
        status=S.ISSUED,
        sop_profile=profile.name,
        deadline_seconds=int(deadline.total_seconds()),
        created_by=actor.actor,
        issued_at=now,
        deadline_at=now + deadline,
        updated_at=now,
        # A new order has none of these; saying so spares four lazy-load queries later.
        evidence=[],
        clarifications=[],
        responses=[],
        warnings=[],
    )
    for pos, (text, loc) in enumerate(locators):
        order.locators.append(
            OrderLocator(
                position=pos,
                kind=loc.kind.value,
                canonical=loc.canonical,
                display=loc.display,
                url=loc.url,
                domain=loc.domain.name if loc.domain else None,
                submitted=text[:2100],
            )
        )
    session.add(order)
    for item, content in evidence:
        add_evidence(session, actor, order, item.filename, item.content_type, content)
    from tangkal.delivery.services import enqueue

    # The order, its locators and the outbox message go in one flush; the lookup keys,
    # never read back as objects, in one bulk INSERT.
    enqueue(session, platform, order, "order.issued", order_payload(order))
    keys: dict[str, bool] = {}
    for _, loc in locators:
        keys[loc.canonical] = True
        for k in loc.related_keys():
            keys.setdefault(k, False)
    if keys:
        rows = [{"order_id": order.id, "key": k, "primary": p} for k, p in keys.items()]
        session.execute(insert(LocatorKey), rows)
    record(
        session,
        actor,
        "order.issued",
        "order",
        order.id,
        {
            "reference": order.reference,
            "platform": platform.name,
            "category": category.key,
            "urgency": urgency,
            "deadline_seconds": order.deadline_seconds,
            "locators": [loc.canonical for _, loc in locators],
            "sop_profile": profile.name,
        },
    )
    return order


# ---------------------------------------------------------------- reading


def _scoped(principal: Principal) -> Select[Order]:
    """Orders the caller may see: the regulator its own filings, a platform its own orders."""
    q = select(Order)
    if principal.org_kind is OrgKind.PLATFORM:
        return q.where(Order.platform_org_id == principal.org_id)
    if principal.org_kind is OrgKind.REGULATOR:
        return q.where(Order.regulator_org_id == principal.org_id)
    return q.where(Order.id.is_(None))  # ISPs see no orders


def get_order(
    session: Session, principal: Principal, order_id: str, *, for_update: bool = False
) -> Order:
    q = (
        _scoped(principal)
        .where(Order.id == order_id)
        .options(
            selectinload(Order.locators),
            selectinload(Order.clarifications),
            selectinload(Order.responses),
            selectinload(Order.warnings),
            selectinload(Order.evidence),
        )
    )
    if for_update and session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=Order)
    order = session.scalar(q)
    if order is None:
        # Same answer whether it does not exist or belongs to someone else.
        raise NotFound(f"No order {order_id} among the orders your organisation can see.")
    return order


def list_orders(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    platform: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Order]:
    q = _scoped(principal)
    if status:
        try:
            q = q.where(Order.status == OrderStatus(status))
        except ValueError:
            known = ", ".join(s.value for s in OrderStatus)
            raise InvalidInput(
                f"Unknown status {status!r}; use one of: {known}.", field="status"
            ) from None
    if platform:
        org = session.scalar(
            select(Organization).where(
                or_(Organization.name == platform, Organization.id == platform)
            )
        )
        if org is None:
            raise InvalidInput(f"No organisation named {platform!r}.", field="platform")
        q = q.where(Order.platform_org_id == org.id)
    q = q.options(selectinload(Order.locators)).order_by(Order.issued_at.desc(), Order.id)
    return list(session.scalars(q.limit(limit).offset(offset)))


@dataclass(frozen=True, slots=True)
class RelatedOrder:
    id: str
    reference: str
    status: str
    issued_at: datetime
    shared: tuple[str, ...]
    same_item: bool


def related_orders(
    session: Session, principal: Principal, order: Order, limit: int = 50
) -> list[RelatedOrder]:
    """Other visible orders about the same item (or the same channel or domain)."""
    # One query with a fixed text (so its plan and parse are cached), the caller's scope
    # applied before the limit; not a second query with an IN list of hundreds of ids.
    keys = select(LocatorKey.key).where(LocatorKey.order_id == order.id)
    scope = _scoped(principal).whereclause
    q = (
        select(
            LocatorKey.order_id,
            LocatorKey.key,
            LocatorKey.primary,
            Order.reference,
            Order.status,
            Order.issued_at,
        )
        .join(Order, Order.id == LocatorKey.order_id)
        .where(LocatorKey.key.in_(keys), LocatorKey.order_id != order.id)
    )
    if scope is not None:
        q = q.where(scope)
    # Newest first, so a popular channel or domain shows its latest orders, not any subset.
    rows = session.execute(
        q.order_by(Order.issued_at.desc(), LocatorKey.order_id).limit(limit * 10)
    ).all()
    if not rows:
        return []
    own_primary = {k.canonical for k in order.locators}
    by_order: dict[str, list[tuple[str, bool]]] = {}
    heads: dict[str, tuple[str, OrderStatus, datetime]] = {}
    for oid, key, primary, reference, status, issued_at in rows:
        by_order.setdefault(oid, []).append((key, primary))
        heads[oid] = (reference, status, issued_at)
    out = []
    for oid, shared in by_order.items():
        reference, status, issued_at = heads[oid]
        same = any(p and k in own_primary for k, p in shared)
        out.append(
            RelatedOrder(
                oid,
                reference,
                status.value,
                issued_at,
                tuple(sorted({k for k, _ in shared})),
                same,
            )
        )
    out.sort(key=lambda r: r.issued_at, reverse=True)
    return out[:limit]


# ---------------------------------------------------------------- the clock


def mark_received(
    session: Session, order: Order, actor: Principal, basis: str, at: datetime | None = None
) -> bool:
    """Start the clock once, at the first authenticated receipt; later ones change nothing."""
    if order.received_at is not None or order.status not in OPEN_STATUSES:
        return False
    at = at or utcnow()
    order.received_at = at
    order.receipt_basis = basis
    if order.delivered_at is None:
        order.delivered_at = at
    order.deadline_at = compute_deadline(order, at)
    if order.status is S.ISSUED:
        _transition(
            session,
            order,
            S.DELIVERED,
            actor,
            "order.received",
            {"basis": basis, "deadline_at": order.deadline_at.isoformat()},
        )
    else:
        session.flush()
        record(
            session,
            actor,
            "order.received",
            "order",
            order.id,
            {"basis": basis, "deadline_at": order.deadline_at.isoformat()},
        )
    return True


def _require_platform(principal: Principal, order: Order) -> None:
    principal.require(Role.MODERATOR, Role.ADMIN)
    if principal.org_id != order.platform_org_id:
        raise NotFound(f"No order {order.id} among the orders your organisation can see.")


def acknowledge(session: Session, principal: Principal, order_id: str) -> Order:
    order = get_order(session, principal, order_id, for_update=True)
    _require_platform(principal, order)
    if order.acknowledged_at is not None:
        return order  # acknowledging twice is harmless and changes nothing
    now = utcnow()
    mark_received(session, order, principal, "acknowledged", now)
    order.acknowledged_at = now
    if order.status in (S.ISSUED, S.DELIVERED):
        _transition(session, order, S.ACKNOWLEDGED, principal, "order.acknowledged")
    else:
        record(
            session,
            principal,
            "order.acknowledged",
            "order",
            order.id,
            {"status": order.status.value},
        )
    return order


def request_clarification(
    session: Session, principal: Principal, order_id: str, question: str
) -> Order:
    order = get_order(session, principal, order_id, for_update=True)
    _require_platform(principal, order)
    if order.status not in OPEN_STATUSES or order.status is S.CLARIFICATION_REQUESTED:
        raise InvalidTransition(
            f"Order {order.reference} is {order.status.value}; a clarification can be asked "
            "only while it is open and no other question is pending."
        )
    now = utcnow()
    mark_received(session, order, principal, "clarification_requested", now)
    order.paused_at = now
    order.clarifications.append(
        Clarification(question=question.strip(), asked_by=principal.actor, asked_at=now)
    )
    _transition(
        session,
        order,
        S.CLARIFICATION_REQUESTED,
        principal,
        "order.clarification_requested",
        {"question": question.strip()[:2000]},
    )
    return order


def answer_clarification(
    session: Session, principal: Principal, order_id: str, answer: str
) -> Order:
    principal.require(Role.ANALYST, Role.OFFICIAL)
    order = get_order(session, principal, order_id, for_update=True)
    if order.status is not S.CLARIFICATION_REQUESTED:
        raise InvalidTransition(f"Order {order.reference} has no open clarification request.")
    now = utcnow()
    pending = [c for c in order.clarifications if c.answered_at is None]
    for c in pending:
        c.answer, c.answered_by, c.answered_at = answer.strip(), principal.actor, now
    if order.paused_at is not None:
        order.paused_seconds += max(0.0, (now - order.paused_at).total_seconds())
        order.paused_at = None
    order.deadline_at = compute_deadline(order, now)
    _transition(
        session,
        order,
        S.ACKNOWLEDGED,
        principal,
        "order.clarification_answered",
        {"answer": answer.strip()[:2000], "deadline_at": order.deadline_at.isoformat()},
    )
    platform = session.get(Organization, order.platform_org_id)
    assert platform is not None
    from tangkal.delivery.services import enqueue

    enqueue(session, platform, order, "order.clarification_answered", order_payload(order))
    return order


# ---------------------------------------------------------------- the answer


def build_statement(
    order: Order, action: ResponseAction, data: ResponseIn, profile_jurisdiction: str | None
) -> dict[str, Any]:
    if isinstance(data.statement, str):
        sor = StatementOfReasons(decision_facts=data.statement)
    else:
        sor = data.statement
    filled = sor.model_dump(mode="json", exclude_none=True)
    filled.setdefault("decision_visibility", ACTION_VISIBILITY[action])
    filled.setdefault("decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT")
    filled.setdefault("illegal_content_legal_ground", order.legal_basis)
    filled.setdefault("illegal_content_explanation", order.reason)
    filled.setdefault("automated_detection", False)
    filled.setdefault("automated_decision", "AUTOMATED_DECISION_NOT_AUTOMATED")
    filled.setdefault("territorial_scope", [profile_jurisdiction] if profile_jurisdiction else [])
    filled.setdefault("application_date", utcnow().date().isoformat())
    filled.setdefault("source_type", "SOURCE_TYPE_OTHER_NOTIFICATION")
    if not filled.get("decision_facts"):
        raise InvalidInput(
            "The statement of reasons needs the facts (decision_facts): what was done and why.",
            field="statement",
        )
    if action is ResponseAction.NOT_DONE and not (data.reason and data.reason.strip()):
        raise InvalidInput(
            "An answer of not_done needs a reason (the objection, sanggah).", field="reason"
        )
    if data.reason:
        filled["reason"] = data.reason.strip()
    return filled


def respond(session: Session, principal: Principal, order_id: str, data: ResponseIn) -> Order:
    order = get_order(session, principal, order_id, for_update=True)
    _require_platform(principal, order)
    action = ResponseAction(data.action)
    target = ACTION_STATUS[action]
    if target is not order.status and target not in TRANSITIONS[order.status]:
        raise InvalidTransition(
            f"Order {order.reference} is {order.status.value}; it can no longer be answered "
            f"with {action.value}."
        )
    from tangkal.sop.profile import get_profile

    try:
        jurisdiction = get_profile(order.sop_profile).jurisdiction
    except Exception:
        jurisdiction = None
    statement = build_statement(order, action, data, jurisdiction)
    now = utcnow()
    mark_received(session, order, principal, "responded", now)
    if order.paused_at is not None:  # answering ends any open clarification pause
        order.paused_seconds += max(0.0, (now - order.paused_at).total_seconds())
        order.paused_at = None
    late = order.status is S.OVERDUE or now > compute_deadline(order, now)
    order.responses.append(
        OrderResponse(
            action=action,
            statement=statement,
            responded_by=principal.actor,
            late=late,
            created_at=now,
        )
    )
    order.responded_at = now
    order.next_warning_at = None
    _transition(
        session,
        order,
        target,
        principal,
        "order.responded",
        {"action": action.value, "late": late, "statement": statement},
    )
    return order


def withdraw(session: Session, principal: Principal, order_id: str, reason: str) -> Order:
    principal.require(Role.OFFICIAL)
    order = get_order(session, principal, order_id, for_update=True)
    _transition(session, order, S.WITHDRAWN, principal, "order.withdrawn", {"reason": reason})
    return order


# ---------------------------------------------------------------- the scheduler


def tick(session: Session, now: datetime | None = None, batch: int = 200) -> dict[str, int]:
    """Deemed receipts, overdue marks and warning letters that are due.

    Rows are leased with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so any number of workers
    can run this at once without doing the same work twice.
    """
    from tangkal.accounts.principal import SYSTEM
    from tangkal.sop.profile import get_profile

    now = now or utcnow()
    counts = {"deemed_received": 0, "overdue": 0, "warnings": 0}
    pg = session.get_bind().dialect.name == "postgresql"

    def lease(q: Select[Order]) -> list[Order]:
        q = q.limit(batch)
        if pg:
            q = q.with_for_update(skip_locked=True)
        return list(session.scalars(q))

    profiles: dict[str, SopProfile] = {}

    def prof(name: str) -> SopProfile:
        if name not in profiles:
            profiles[name] = get_profile(name)
        return profiles[name]

    # 1. deemed receipt: nobody fetched or acknowledged the order in time
    for order in lease(select(Order).where(Order.status == S.ISSUED, Order.received_at.is_(None))):
        grace = prof(order.sop_profile).deemed_receipt_after
        if order.issued_at + grace <= now:
            mark_received(session, order, SYSTEM, "deemed", order.issued_at + grace)
            counts["deemed_received"] += 1
    # 2. overdue
    for order in lease(
        select(Order).where(
            Order.status.in_([S.ISSUED, S.DELIVERED, S.ACKNOWLEDGED]),
            Order.deadline_at <= now,
            Order.received_at.is_not(None),
        )
    ):
        if compute_deadline(order, now) > now:
            continue
        order.overdue_at = now
        p = prof(order.sop_profile)
        order.next_warning_at = now if p.warnings else None
        _transition(
            session,
            order,
            S.OVERDUE,
            SYSTEM,
            "order.overdue",
            {"deadline_at": order.deadline_at.isoformat()},
        )
        counts["overdue"] += 1
    # 3. warning letters, one per interval
    for order in lease(
        select(Order).where(
            Order.status == S.OVERDUE,
            Order.next_warning_at.is_not(None),
            Order.next_warning_at <= now,
        )
    ):
        p = prof(order.sop_profile)
        if order.warnings_issued >= len(p.warnings):
            order.next_warning_at = None
            continue
        w = p.warnings[order.warnings_issued]
        order.warnings.append(OrderWarning(code=w.code, fine=w.fine, issued_at=now))
        order.warnings_issued += 1
        interval = p.warning_interval or timedelta(seconds=order.deadline_seconds)
        order.next_warning_at = (
            (now + interval) if order.warnings_issued < len(p.warnings) else None
        )
        session.flush()
        record(
            session,
            SYSTEM,
            "order.warning_issued",
            "order",
            order.id,
            {
                "reference": order.reference,
                "code": w.code,
                "fine": w.fine,
                "currency": p.currency,
                "block_recommended": p.block_after_warnings
                and order.warnings_issued == len(p.warnings),
            },
        )
        platform = session.get(Organization, order.platform_org_id)
        if platform is not None:
            from tangkal.delivery.services import enqueue

            enqueue(
                session,
                platform,
                order,
                "order.warning_issued",
                {
                    **order_payload(order),
                    "warning": {"code": w.code, "fine": w.fine, "currency": p.currency},
                },
            )
        counts["warnings"] += 1
    return counts


# ---------------------------------------------------------------- shapes


def order_payload(order: Order) -> dict[str, Any]:
    """What a platform receives: enough to act without another request."""
    return {
        "id": order.id,
        "reference": order.reference,
        "status": order.status.value,
        "category": order.category,
        "urgency": order.urgency,
        "legal_basis": order.legal_basis,
        "reason": order.reason,
        "issued_at": order.issued_at.isoformat(),
        "deadline_at": order.deadline_at.isoformat(),
        "deadline_seconds": order.deadline_seconds,
        "clock_started_at": order.received_at.isoformat() if order.received_at else None,
        "locators": [
            {
                "kind": loc.kind,
                "canonical": loc.canonical,
                "display": loc.display,
                "url": loc.url,
                "submitted": loc.submitted,
            }
            for loc in order.locators
        ],
        "evidence": [
            {"id": e.id, "filename": e.filename, "sha256": e.sha256, "size": e.size}
            for e in order.evidence
        ],
    }


def order_dict(
    order: Order,
    *,
    now: datetime | None = None,
    related: list[RelatedOrder] | None = None,
    platform_name: str | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    body = order_payload(order)
    body.update(
        {
            "platform_org_id": order.platform_org_id,
            "platform": platform_name,
            "regulator_org_id": order.regulator_org_id,
            "sop_profile": order.sop_profile,
            "deadline_provisional": order.received_at is None,
            "receipt_basis": order.receipt_basis,
            "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
            "acknowledged_at": order.acknowledged_at.isoformat() if order.acknowledged_at else None,
            "clock_paused": order.paused_at is not None,
            "paused_seconds": round(
                order.paused_seconds
                + ((now - order.paused_at).total_seconds() if order.paused_at else 0.0),
                3,
            ),
            "responded_at": order.responded_at.isoformat() if order.responded_at else None,
            "overdue_at": order.overdue_at.isoformat() if order.overdue_at else None,
            "created_by": order.created_by,
            "clarifications": [
                {
                    "id": c.id,
                    "question": c.question,
                    "asked_at": c.asked_at.isoformat(),
                    "answer": c.answer,
                    "answered_at": c.answered_at.isoformat() if c.answered_at else None,
                }
                for c in order.clarifications
            ],
            "responses": [
                {
                    "id": r.id,
                    "action": r.action.value,
                    "statement": r.statement,
                    "late": r.late,
                    "created_at": r.created_at.isoformat(),
                    "responded_by": r.responded_by,
                }
                for r in order.responses
            ],
            "warnings": [
                {"code": w.code, "fine": w.fine, "issued_at": w.issued_at.isoformat()}
                for w in order.warnings
            ],
        }
    )
    if related is not None:
        body["related_orders"] = [
            {
                "id": r.id,
                "reference": r.reference,
                "status": r.status,
                "issued_at": r.issued_at.isoformat(),
                "shared_keys": list(r.shared),
                "same_item": r.same_item,
            }
            for r in related
        ]
    return body


def count_by_status(session: Session, principal: Principal) -> dict[str, int]:
    q = _scoped(principal).with_only_columns(Order.status, func.count()).group_by(Order.status)
    return {s.value: n for s, n in session.execute(q).all()}
