"""Filing orders and moving them through their states, each step on the audit record.

Every state change goes through ``transition``, which checks that the change is allowed,
stamps the time, plans the order's next scheduler moment and appends the audit event, so no
path can move an order without leaving a trace or leave its escalation clock stale.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    Select,
    String,
    bindparam,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql.util import ClauseAdapter

from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.db.base import new_id, utcnow
from tangkal.errors import InvalidInput, InvalidTransition, Msg, NotFound
from tangkal.orders.clock import compute_deadline
from tangkal.orders.escalation import reschedule
from tangkal.orders.filing import (
    NewEvidence,
    check_evidence_total,
    is_platform,
    prepare_order,
    unknown_platform,
    write_orders,
)
from tangkal.orders.models import (
    OPEN_STATUSES,
    Clarification,
    Evidence,
    LocatorKey,
    Order,
    OrderResponse,
    OrderStatus,
    ResponseAction,
)
from tangkal.orders.schemas import OrderIn, ResponseIn, StatementOfReasons
from tangkal.orders.shapes import RelatedOrder, order_dict, order_payload
from tangkal.sop.profile import SopProfile
from tangkal.statements import dsa
from tangkal.statements import fill as statement_fill

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
    # disputed: a not_done answer is an objection; rejected, the escalation resumes
    S.DISPUTED: frozenset(
        {S.COMPLIED, S.PARTIALLY_COMPLIED, S.WITHDRAWN, S.OVERDUE, S.ACKNOWLEDGED}
    ),
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


def transition(
    session: Session,
    order: Order,
    to: OrderStatus,
    actor: Principal,
    action: str,
    data: dict[str, Any] | None = None,
) -> None:
    if to is not order.status and to not in TRANSITIONS[order.status]:
        raise InvalidTransition(
            Msg(
                "Order %(ref)s is %(status)s; it cannot become %(to)s.",
                ref=order.reference,
                status=order.status,
                to=to,
            )
        )
    before = order.status
    order.status = to
    order.updated_at = utcnow()
    reschedule(order, order.updated_at)
    # not flushed: the row is written with the caller's other changes to it (autoflush
    # before any query; the scheduler's overdue order then takes a step: one UPDATE, not two)
    record(
        session,
        actor,
        action,
        "order",
        order.id,
        {"reference": order.reference, "from": before.value, "to": to.value, **(data or {})},
    )


# ---------------------------------------------------------------- filing


def find_platforms(session: Session, refs: Collection[str]) -> dict[str, Organization]:
    """Organisations by the names or ids callers gave, in one query (a group commit looks up
    a whole batch's at once); the caller checks that each is a platform."""
    rows = session.scalars(
        select(Organization).where(or_(Organization.name.in_(refs), Organization.id.in_(refs)))
    )
    found: dict[str, Organization] = {}
    for org in rows:
        found[org.id] = org
        found[org.name] = org
    return found


def _platform(session: Session, name_or_id: str) -> Organization:
    org = find_platforms(session, [name_or_id]).get(name_or_id)
    if org is None or not is_platform(org):
        raise unknown_platform(name_or_id)
    return org


def add_evidence(
    session: Session,
    actor: Principal,
    order: Order,
    filename: str,
    content_type: str,
    content: bytes,
) -> Evidence:
    new = NewEvidence.of(filename, content_type, content)
    check_evidence_total(len(order.evidence), sum(e.size for e in order.evidence), 1, new.size)
    ev = Evidence(**new.row(order.id))
    order.evidence.append(ev)
    session.flush()
    record(session, actor, "order.evidence_added", "order", order.id, new.audit_data())
    return ev


def file_order(
    session: Session, actor: Principal, data: OrderIn, profile: SopProfile | None = None
) -> Order:
    """File one order in the caller's unit of work and return it as stored.

    The same two steps as the group-committed HTTP intake (:mod:`tangkal.orders.intake`):
    check and shape in memory, then write; here the batch is just this one order.
    """
    new = prepare_order(actor, data, profile)
    platform = _platform(session, new.platform)
    write_orders(session, [(actor, new.for_platform(platform.id), platform)])
    order = session.get(Order, new.id)
    assert order is not None  # written just above, in this transaction
    return order


# ---------------------------------------------------------------- reading


def _scope_clause(org_kind: OrgKind, org_id: str) -> ColumnElement[bool]:
    """Orders an organisation may see: a regulator its own filings, a platform its own orders."""
    if org_kind is OrgKind.PLATFORM:
        return Order.platform_org_id == org_id
    if org_kind is OrgKind.REGULATOR:
        return Order.regulator_org_id == org_id
    return Order.id.is_(None)  # ISPs see no orders


def _scoped(principal: Principal) -> Select[Order]:
    return select(Order).where(_scope_clause(principal.org_kind, principal.org_id))


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
            # In the same statement as the order row: under READ COMMITTED a separate
            # SELECT could see a step the scheduler committed after the row was read, and
            # the answer would list a step that ``steps_taken`` and ``next_step`` do not count.
            joinedload(Order.steps),
            selectinload(Order.evidence),
        )
    )
    if for_update and session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=Order)
    order = session.scalars(q).unique().one_or_none()
    if order is None:
        # Same answer whether it does not exist or belongs to someone else.
        raise NotFound(
            Msg("No order %(id)s among the orders your organisation can see.", id=order_id)
        )
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
                Msg(
                    "Unknown status %(status)r; use one of: %(known)s.", status=status, known=known
                ),
                field="status",
            ) from None
    if platform:
        org = session.scalar(
            select(Organization).where(
                or_(Organization.name == platform, Organization.id == platform)
            )
        )
        if org is None:
            raise InvalidInput(
                Msg("No organisation named %(name)r.", name=platform), field="platform"
            )
        q = q.where(Order.platform_org_id == org.id)
    q = q.options(selectinload(Order.locators), joinedload(Order.steps)).order_by(
        Order.issued_at.desc(), Order.id
    )
    return list(session.scalars(q.limit(limit).offset(offset)).unique())


def related_orders(
    session: Session, principal: Principal, order: Order, limit: int = 50
) -> list[RelatedOrder]:
    """Other visible orders about the same item (or the same channel or domain)."""
    keys = list(session.scalars(select(LocatorKey.key).where(LocatorKey.order_id == order.id)))
    own = {loc.canonical for loc in order.locators}
    return related_for(session, principal, [(order.id, keys, own)], limit)[order.id]


def order_detail(session: Session, principal: Principal, order_id: str) -> dict[str, Any]:
    """One order as its page and ``GET /api/v1/orders/{id}`` show it: with its platform's
    name and up to fifty related orders."""
    order = get_order(session, principal, order_id)
    platform = session.get(Organization, order.platform_org_id)
    return order_dict(
        order,
        related=related_orders(session, principal, order),
        platform_name=platform.name if platform else None,
    )


def _newest(key: Any, window: int) -> Select[str, str, bool]:
    """A key's newest entries, straight off the (key, id) index."""
    return (
        select(LocatorKey.order_id, LocatorKey.key, LocatorKey.primary)
        .where(LocatorKey.key == key)
        .order_by(LocatorKey.id.desc())
        .limit(window)
    )


@functools.lru_cache(maxsize=256)
def _related_statement(window: int, org_kind: OrgKind, org_id: str) -> Select[Any]:
    """The PostgreSQL related-orders statement for one caller's scope, built once.

    One statement of fixed shape (the keys are one array parameter), so SQLAlchemy builds
    and compiles it once per scope, not per batch: building it cost the intake's writer
    as much as running it. Both steps are LATERAL with a LIMIT, which PostgreSQL cannot
    flatten into a join (and so cannot turn into a hash of every order): each key walks
    its index backwards, each entry finds its order by primary key.
    """
    wanted = (
        func.unnest(bindparam("keys", type_=ARRAY(String)))
        .table_valued("key")
        .render_derived(name="wanted")
    )
    entries = _newest(wanted.c.key, window).lateral()
    order = (
        select(
            Order.reference,
            Order.status,
            Order.issued_at,
            Order.regulator_org_id,
            Order.platform_org_id,
        )
        .where(Order.id == entries.c.order_id)
        .limit(1)
        .lateral()
    )
    q = (
        select(
            entries.c.order_id,
            entries.c.key,
            entries.c.primary,
            order.c.reference,
            # Read as they come from the driver: most rows are dropped before they are shown
            # (related_for converts the few it keeps), and the enum and UTC conversions of
            # every row were a tenth of the intake writer's time.
            type_coerce(order.c.status, String),
            type_coerce(order.c.issued_at, DateTime(timezone=True)),
        )
        .select_from(wanted)
        .join(entries, true())
        .join(order, true())
    )
    scope = _scope_clause(org_kind, org_id)
    return q.where(ClauseAdapter(order).traverse(scope))


def related_for(
    session: Session,
    principal: Principal,
    orders: Sequence[tuple[str, Collection[str], Collection[str]]],
    limit: int = 50,
) -> dict[str, list[RelatedOrder]]:
    """For each (order id, its lookup keys, its own items): the other orders the caller may
    see that share a key, newest first, at most ``limit`` each.

    On PostgreSQL one statement for any number of orders, so a group commit of a hundred
    new orders looks them all up at once (on SQLite one in-process query per key). Per key
    only the newest entries are read, from the (key, id) index, so a domain named in ten
    thousand orders costs no more than one named in ten.
    """
    out: dict[str, list[RelatedOrder]] = {oid: [] for oid, _, _ in orders}
    all_keys = sorted({k for _, keys, _ in orders for k in keys})
    if not all_keys:
        return out
    # Per key, the newest entries straight off the (key, id) index, then their orders and
    # the caller's scope. Reading the key table alone first keeps the plan the same
    # whatever the planner believes about the orders table (a fast-growing table has
    # stale statistics, and joining first once cost a scan of all of a regulator's
    # orders). The cost of that: the caller's related orders are found among the newest
    # ``limit`` entries of each key, not beyond, which a platform sharing a popular domain
    # with other platforms may notice. Rows come in any order: they are sorted below.
    window = limit + 1  # a key's newest orders may include the one asked about

    rows: list[Any] = []
    if session.get_bind().dialect.name == "postgresql":
        q = _related_statement(window, principal.org_kind, principal.org_id)
        # Core rows through the session's connection: nothing here needs the ORM layer.
        rows.extend(session.connection().execute(q, {"keys": all_keys}).all())
    else:
        scope = _scope_clause(principal.org_kind, principal.org_id)
        # SQLite runs in this process: one indexed query per key costs no round trip.
        for key in all_keys:
            one = _newest(key, window).subquery()
            q = (
                select(one.c.order_id, one.c.key, one.c.primary)
                .add_columns(Order.reference, Order.status, Order.issued_at)
                .select_from(one)
                .join(Order, Order.id == one.c.order_id)
            )
            rows.extend(session.execute(q.where(scope)).all())
    holders: dict[str, list[tuple[str, bool]]] = {}  # key -> [(order id, primary)]
    heads: dict[str, tuple[str, str, datetime]] = {}  # the status as text, any time zone
    for oid, key, primary, reference, status, issued_at in rows:
        holders.setdefault(key, []).append((oid, primary))
        heads[oid] = (reference, status, issued_at)
    for oid, keys, own in orders:
        shared: dict[str, list[tuple[str, bool]]] = {}  # other order -> [(key, primary)]
        for key in keys:
            for other, primary in holders.get(key, ()):
                if other != oid:
                    shared.setdefault(other, []).append((key, primary))
        # Newest first, then only the first ``limit`` are shaped.
        chosen = sorted(shared, key=lambda o: (heads[o][2], o), reverse=True)[:limit]
        found = []
        for other in chosen:
            pairs = shared[other]
            reference, status, issued_at = heads[other]
            found.append(
                RelatedOrder(
                    other,
                    reference,
                    str(status),
                    issued_at.astimezone(UTC),
                    tuple(sorted({k for k, _ in pairs})),
                    any(p and k in own for k, p in pairs),
                )
            )
        out[oid] = found
    return out


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
        transition(
            session,
            order,
            S.DELIVERED,
            actor,
            "order.received",
            {"basis": basis, "deadline_at": order.deadline_at.isoformat()},
        )
    else:
        reschedule(order, at)
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
        raise NotFound(
            Msg("No order %(id)s among the orders your organisation can see.", id=order.id)
        )


def acknowledge(session: Session, principal: Principal, order_id: str) -> Order:
    order = get_order(session, principal, order_id, for_update=True)
    _require_platform(principal, order)
    if order.acknowledged_at is not None:
        return order  # acknowledging twice is harmless and changes nothing
    now = utcnow()
    mark_received(session, order, principal, "acknowledged", now)
    order.acknowledged_at = now
    if order.status in (S.ISSUED, S.DELIVERED):
        transition(session, order, S.ACKNOWLEDGED, principal, "order.acknowledged")
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
            Msg(
                "Order %(ref)s is %(status)s; a clarification can be asked only while it is "
                "open and no other question is pending.",
                ref=order.reference,
                status=order.status,
            )
        )
    now = utcnow()
    mark_received(session, order, principal, "clarification_requested", now)
    order.paused_at = now
    order.clarifications.append(
        Clarification(question=question.strip(), asked_by=principal.actor, asked_at=now)
    )
    transition(
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
        raise InvalidTransition(
            Msg("Order %(ref)s has no open clarification request.", ref=order.reference)
        )
    now = utcnow()
    pending = [c for c in order.clarifications if c.answered_at is None]
    for c in pending:
        c.answer, c.answered_by, c.answered_at = answer.strip(), principal.actor, now
    if order.paused_at is not None:
        order.paused_seconds += max(0.0, (now - order.paused_at).total_seconds())
        order.paused_at = None
    order.deadline_at = compute_deadline(order, now)
    transition(
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
    order: Order,
    action: ResponseAction,
    data: ResponseIn,
    profile_jurisdiction: str | None,
    regulator: str | None = None,
) -> dict[str, Any]:
    """The statement of reasons as it is kept: the platform's fields over what tangkal knows
    from the order (``tangkal.statements.fill``), checked against the DSA Transparency
    Database's rules (``tangkal.statements.dsa``); a refusal names the field as
    ``statement.<field>``. A ``not_done`` answer restricts nothing, so it is no DSA statement:
    it is kept with the same filling and not checked against the DSA (nor exported)."""
    if isinstance(data.statement, str):
        sor = StatementOfReasons(decision_facts=data.statement)
    else:
        sor = data.statement
    if not (sor.decision_facts or "").strip():
        raise InvalidInput(
            Msg(
                "The statement of reasons needs the facts (decision_facts): what was done and why."
            ),
            field="statement.decision_facts",
        )
    if action is ResponseAction.NOT_DONE and not (data.reason and data.reason.strip()):
        raise InvalidInput(
            Msg("An answer of not_done needs a reason (the objection, sanggah)."), field="reason"
        )
    given = statement_fill.as_dsa(sor.model_dump(exclude_none=True))
    filled = statement_fill.defaults(
        action=action.value,
        legal_basis=order.legal_basis,
        reason=order.reason,
        category=order.category,
        media_types=[e.content_type for e in order.evidence],
        issued_on=order.issued_at.date(),
        answered_on=utcnow().date(),
        jurisdiction=profile_jurisdiction,
        regulator=regulator,
        reference=order.reference,
        number=len(order.responses) + 1,
    )
    merged = statement_fill.merge(given, filled)
    if action is ResponseAction.NOT_DONE:
        kept = {k: v for k, v in merged.items() if v is not None}
        kept["automated_detection"] = kept.get("automated_detection") == "Yes"
    else:
        kept = statement_fill.stored(dsa.check(merged, prefix="statement."))
    if data.reason:
        kept["reason"] = data.reason.strip()
    return kept


def respond(session: Session, principal: Principal, order_id: str, data: ResponseIn) -> Order:
    order = get_order(session, principal, order_id, for_update=True)
    _require_platform(principal, order)
    action = ResponseAction(data.action)
    target = ACTION_STATUS[action]
    if target is not order.status and target not in TRANSITIONS[order.status]:
        raise InvalidTransition(
            Msg(
                "Order %(ref)s is %(status)s; it can no longer be answered with %(action)s.",
                ref=order.reference,
                status=order.status,
                action=action,
            )
        )
    from tangkal.sop.profile import get_profile

    try:
        jurisdiction = get_profile(order.sop_profile).jurisdiction
    except Exception:
        jurisdiction = None
    regulator = session.get(Organization, order.regulator_org_id)
    statement = build_statement(
        order, action, data, jurisdiction, regulator.name if regulator else None
    )
    now = utcnow()
    mark_received(session, order, principal, "responded", now)
    if order.paused_at is not None:  # answering ends any open clarification pause
        order.paused_seconds += max(0.0, (now - order.paused_at).total_seconds())
        order.paused_at = None
    late = order.status is S.OVERDUE or now > compute_deadline(order, now)
    order.responses.append(
        OrderResponse(
            id=new_id(),  # the answer names it (the public export's uuid) before any flush
            action=action,
            statement=statement,
            responded_by=principal.actor,
            late=late,
            created_at=now,
        )
    )
    order.responded_at = now
    transition(
        session,
        order,
        target,
        principal,
        "order.responded",
        {"action": action.value, "late": late, "statement": statement},
    )
    if action is ResponseAction.NOT_DONE:
        # The answer contests the order: an objection the regulator decides; the
        # escalation waits for it and resumes if it is rejected.
        from tangkal.objections.services import from_not_done

        from_not_done(session, principal, order, (data.reason or "").strip(), now)
    return order


def withdraw(session: Session, principal: Principal, order_id: str, reason: str) -> Order:
    principal.require(Role.OFFICIAL)
    order = get_order(session, principal, order_id, for_update=True)
    transition(session, order, S.WITHDRAWN, principal, "order.withdrawn", {"reason": reason})
    return order


def count_by_status(session: Session, principal: Principal) -> dict[str, int]:
    q = _scoped(principal).with_only_columns(Order.status, func.count()).group_by(Order.status)
    return {s.value: n for s, n in session.execute(q).all()}
