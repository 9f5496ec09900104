"""The escalation of an order: when it next needs the scheduler, and taking what is due.

Every order carries ``next_due_at``: the one moment at which something can next happen to it
without anybody acting (deemed receipt, the deadline, the profile's next step). It is set by
:func:`plan` whenever the order changes and is NULL while nothing can fall due (answered,
clarification pending, objection pending, escalation complete). A scheduler pass therefore
reads only the index range ``next_due_at <= now``: its cost follows what is due, not how many
orders are open, and a million quiet orders cost it nothing.

A pass leases due orders with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL), so any number of
scheduler processes share the work without taking a step twice; the unique (order, code)
of :class:`~tangkal.orders.models.EscalationStep` is the last guard. Each order is handled
in a savepoint: an order that fails (its profile no longer loaded, say) is reported, put
off, and never stops the others.

A pass sends about five statements per order that takes a step (savepoint, one UPDATE of
the order, the step, the platform's message, release): the batch's locators, steps and
evidence (without its content) are read with the lease, the platforms once per pass, and
nothing is flushed in between, so the order row is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tangkal.accounts.models import Organization, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.audit.services import record
from tangkal.db import locks
from tangkal.db.base import new_id, utcnow
from tangkal.errors import ConfigurationError, InvalidTransition, Msg
from tangkal.orders.clock import compute_deadline
from tangkal.orders.models import EscalationStep, Order, OrderStatus
from tangkal.orders.shapes import order_payload
from tangkal.sop.profile import SopProfile, Step, UnknownProfile, get_profile
from tangkal.sop.steps import STEP_KINDS

if TYPE_CHECKING:
    from tangkal.orders.filing import NewOrder

S = OrderStatus
log = structlog.get_logger("tangkal.escalation")

#: an order whose profile cannot be read is looked at again after this long
RETRY_UNREADABLE = timedelta(minutes=5)

STEPS_TAKEN = Counter("tangkal_escalation_steps_total", "Escalation steps taken, by kind", ["kind"])
SKIPPED = Counter(
    "tangkal_escalation_skipped_total",
    "Orders the scheduler could not advance (profile not loaded, error), put off and retried",
    ["reason"],
)
STEP_LAG = Counter(
    "tangkal_escalation_step_lag_seconds_total",
    "Sum of seconds between a step's due moment and its recording",
)


def step_due(order: Order | NewOrder, profile: SopProfile) -> tuple[Step, datetime] | None:
    """The next step of an overdue order and the moment it is due, from the steps taken."""
    i = order.steps_taken
    if order.status is not S.OVERDUE or i >= len(profile.steps):
        return None
    step = profile.steps[i]
    interval = timedelta(seconds=order.deadline_seconds)
    if i == 0:
        base = order.deadline_at
    else:
        prev = max(
            (s for s in order.steps if s.position == i - 1), key=lambda s: s.due_at, default=None
        )
        base = prev.due_at if prev is not None else order.deadline_at
    return step, base + step.wait_for(order.urgency, interval, first=i == 0)


def plan(order: Order, profile: SopProfile, now: datetime) -> datetime | None:
    """When the scheduler must next look at ``order`` (None: nothing can fall due)."""
    if order.held_by is not None or order.paused_at is not None:
        return None
    if order.status is S.ISSUED and order.received_at is None:
        return order.issued_at + profile.deemed_receipt_after
    if order.status in (S.ISSUED, S.DELIVERED, S.ACKNOWLEDGED):
        return compute_deadline(order, now)
    due = step_due(order, profile)
    return due[1] if due else None


def reschedule(order: Order, now: datetime | None = None, *, resume: bool = False) -> None:
    """Set ``next_due_at`` after a change. ``resume``: the escalation was held (an objection)
    and goes on from where it stood: a step that fell due meanwhile is due now, not
    back-dated, and the ones after it keep their intervals from there."""
    now = now or utcnow()
    try:
        due = plan(order, get_profile(order.sop_profile), now)
    except ConfigurationError:
        due = now  # the scheduler reports the unreadable profile and puts the order off
    if resume and due is not None and due < now:
        due = now
    order.next_due_at = due


@dataclass
class PassResult:
    deemed_received: int = 0
    overdue: int = 0
    steps: int = 0
    skipped: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    #: the pass stopped after an order that took a transaction lock (``stop_after_lock``):
    #: orders it leased are left for the next pass, which may begin as soon as this commits
    stopped_early: bool = False

    def as_dict(self) -> dict[str, int]:
        return {
            "deemed_received": self.deemed_received,
            "overdue": self.overdue,
            "steps": self.steps,
            "skipped": self.skipped,
        }


class _Taking:
    """The :class:`~tangkal.sop.steps.StepContext` for one step on one order."""

    def __init__(
        self,
        session: Session,
        order: Order,
        profile: SopProfile,
        platform: Organization | None,
        due: datetime,
        now: datetime,
    ) -> None:
        self.session, self.order, self.profile = session, order, profile
        self.platform, self.due, self.now = platform, due, now
        self.why_not: str | None = None

    def fine_for(self, step: Step) -> int:
        assert step.fine is not None
        return step.fine.compute(
            late=max(timedelta(0), self.due - self.order.deadline_at),
            items=len(self.order.locators),
        )

    def take(self, step: Step, *, fine: int, event: str, data: dict[str, Any]) -> None:
        order = self.order
        # the id is given here, not at the INSERT, so that the step's event and message
        # can name it without a flush (each flush would write the order row again)
        row = EscalationStep(
            id=new_id(),
            order_id=order.id,
            position=order.steps_taken,
            code=step.code,
            kind=step.kind,
            fine=fine,
            currency=self.profile.currency if fine else "",
            due_at=self.due,
            issued_at=self.now,
            sanction_id=data.get("sanction_id"),
        )
        order.steps.append(row)
        order.steps_taken += 1
        info = {
            "id": row.id,
            "code": step.code,
            "kind": step.kind,
            "label_en": step.label_en,
            "label_id": step.label_id,
            "fine": fine,
            "currency": row.currency,
            "due_at": self.due.isoformat(),
            **data,
        }
        record(
            self.session,
            SYSTEM,
            event,
            "order",
            order.id,
            {"reference": order.reference, "platform_org_id": order.platform_org_id, **info},
        )
        if self.platform is not None:
            from tangkal.delivery.services import enqueue

            enqueue(
                self.session, self.platform, order, event, {**order_payload(order), "step": info}
            )
        STEPS_TAKEN.labels(step.kind).inc()
        STEP_LAG.inc(max(0.0, (self.now - self.due).total_seconds()))

    def propose_sanction(self, step: Step) -> str | None:
        from tangkal.errors import Conflict
        from tangkal.sanctions.services import propose_for_order

        try:
            with self.session.begin_nested():
                return propose_for_order(self.session, self.order, self.profile, step, self.now).id
        except Conflict as exc:
            # nothing to block (no registered names, all blocked already): the step is
            # still the escalation's, recorded with why no sanction came of it
            self.why_not = exc.message
            return None


def advance(
    session: Session,
    order: Order,
    profile: SopProfile,
    now: datetime,
    result: PassResult,
    platforms: dict[str, Organization | None] | None = None,
) -> None:
    """Do everything that is due for ``order`` at ``now``, in order, then plan the next.

    ``platforms``: the pass's platforms by id, read once per pass (the identity map keeps
    an organisation only while something refers to it, so each order would read it again).
    """
    from tangkal.orders.services import mark_received, transition

    if order.status is S.ISSUED and order.received_at is None:
        deemed = order.issued_at + profile.deemed_receipt_after
        if deemed <= now:
            mark_received(session, order, SYSTEM, "deemed", deemed)
            result.deemed_received += 1
    if (
        order.status in (S.ISSUED, S.DELIVERED, S.ACKNOWLEDGED)
        and order.received_at
        and order.paused_at is None
        and compute_deadline(order, now) <= now
    ):
        order.overdue_at = now
        transition(
            session,
            order,
            S.OVERDUE,
            SYSTEM,
            "order.overdue",
            {"deadline_at": order.deadline_at.isoformat()},
        )
        result.overdue += 1
        order.next_due_at = None
    platforms = {} if platforms is None else platforms
    # Steps: the first is due as planned (``next_due_at`` may have been moved by a
    # resumed escalation); each later one its wait after the one before.
    first = True
    while order.held_by is None:
        due = step_due(order, profile)
        if due is None:
            break
        step, when = due
        if first and order.next_due_at is not None:
            when = max(when, order.next_due_at)
        if when > now:
            break
        first = False
        if order.platform_org_id not in platforms:
            with session.no_autoflush:  # the order's pending changes are not what it reads
                platforms[order.platform_org_id] = session.get(Organization, order.platform_org_id)
        platform = platforms[order.platform_org_id]
        STEP_KINDS[step.kind].perform(_Taking(session, order, profile, platform, when, now), step)
        result.steps += 1
        result.by_kind[step.kind] = result.by_kind.get(step.kind, 0) + 1
        order.next_due_at = None
    order.next_due_at = plan(order, profile, now)


def run_due(
    session: Session,
    now: datetime | None = None,
    batch: int = 500,
    *,
    stop_after_lock: bool = False,
) -> PassResult:
    """One scheduler pass over the orders whose ``next_due_at`` has come.

    ``stop_after_lock``: end the pass after an order that took a transaction lock
    (:mod:`tangkal.db.locks`; the sanction proposal does, on PostgreSQL), so that the
    caller commits and releases it after that one order instead of holding it through the
    rest of a batch of hundreds. Every other scheduler process proposing against the
    same platform waits for that lock, and a transaction holding two of them (two
    platforms' proposals in one batch) could deadlock with another holding them in the
    other order; stopping after the first keeps it to one lock, held for one order.
    Proposals are rare (the last step of an escalation), so the extra commits cost
    little, and a smaller batch for everybody would cost every pass instead. The orders
    leased but not reached are free again at that commit (``result.stopped_early``
    tells the scheduler to go on at once). The scheduler sets it; a caller that runs
    passes inside a unit of work of its own (the demo, tests) leaves it off and has
    every due order advanced.
    """
    now = now or utcnow()
    q = (
        select(Order)
        .where(Order.next_due_at.is_not(None), Order.next_due_at <= now)
        .order_by(Order.next_due_at)
        .limit(batch)
        .options(
            selectinload(Order.steps),
            selectinload(Order.locators),
            # what a step's message lists (``Evidence.content`` is deferred: the files
            # themselves, by default up to 20 of 20 MB an order, stay in the database)
            selectinload(Order.evidence),
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=Order)
    result = PassResult()
    profiles: dict[str, SopProfile | ConfigurationError] = {}
    platforms: dict[str, Organization | None] = {}
    locks_before = locks.held(session)
    for order in session.scalars(q).all():
        if order.sop_profile not in profiles:
            try:
                profiles[order.sop_profile] = get_profile(order.sop_profile)
            except ConfigurationError as exc:
                profiles[order.sop_profile] = exc
        profile = profiles[order.sop_profile]
        if isinstance(profile, ConfigurationError):
            _skip(
                order,
                now,
                result,
                "profile_not_loaded" if isinstance(profile, UnknownProfile) else "profile_invalid",
                str(profile),
            )
            continue
        try:
            with session.begin_nested():
                advance(session, order, profile, now, result, platforms)
        except Exception as exc:  # one order's failure never stops the others
            session.expire(order)
            _skip(order, now, result, "error", f"{type(exc).__name__}: {exc}")
        # a lock survives its savepoint's rollback: held either way until commit
        if stop_after_lock and locks.held(session) > locks_before:
            result.stopped_early = True
            break
    session.flush()
    return result


def take_now(
    session: Session,
    principal: Principal,
    order_id: str,
    code: str,
    reason: str,
    now: datetime | None = None,
) -> Order:
    """An official takes the order's next step before it is due (an urgent case cannot wait
    the interval); only the next one, in the profile's order."""
    from tangkal.orders.services import get_order

    principal.require(Role.OFFICIAL)
    now = now or utcnow()
    order = get_order(session, principal, order_id, for_update=True)
    profile = get_profile(order.sop_profile)
    step = profile.step(code.strip())  # a step the profile does not have: 422 naming them
    due = step_due(order, profile)
    if order.held_by is not None:
        raise InvalidTransition(
            Msg(
                "The escalation of %(ref)s waits for objection %(id)s; decide it first.",
                ref=order.reference,
                id=order.held_by,
            )
        )
    if due is None:
        raise InvalidTransition(
            Msg(
                "Order %(ref)s is %(status)s with %(n)s steps taken; it has no next step to take.",
                ref=order.reference,
                status=order.status,
                n=order.steps_taken,
            )
        )
    if due[0].code != step.code:
        raise InvalidTransition(
            Msg(
                "The next step of %(ref)s is %(next)s, not %(code)s: steps "
                "are taken in the profile's order.",
                ref=order.reference,
                next=due[0].code,
                code=step.code,
            )
        )
    platform = session.get(Organization, order.platform_org_id)
    STEP_KINDS[step.kind].perform(_Taking(session, order, profile, platform, now, now), step)
    record(
        session,
        principal,
        "order.step_taken_early",
        "order",
        order.id,
        {
            "reference": order.reference,
            "code": step.code,
            "planned_due_at": due[1].isoformat(),
            "reason": reason,
        },
    )
    order.next_due_at = plan(order, profile, now)
    session.flush()
    return order


def _skip(order: Order, now: datetime, result: PassResult, reason: str, detail: str) -> None:
    log.error(
        "escalation_order_skipped",
        order=order.id,
        reference=order.reference,
        profile=order.sop_profile,
        reason=reason,
        detail=detail,
        retry_at=(now + RETRY_UNREADABLE).isoformat(),
    )
    order.next_due_at = now + RETRY_UNREADABLE
    result.skipped += 1
    SKIPPED.labels(reason).inc()


def describe(order: Order | NewOrder, profile: SopProfile | None, now: datetime) -> dict[str, Any]:
    """The ``escalation`` and ``next_step`` of an order's API answer (also of one about to
    be written by a group commit: nothing taken yet, the first step due if unanswered)."""
    steps = [
        {
            "id": s.id,
            "code": s.code,
            "kind": s.kind,
            "at": s.issued_at.isoformat(),
            "due_at": s.due_at.isoformat(),
            **({"fine": s.fine, "currency": s.currency} if s.fine else {}),
            **({"fine_annulled": True} if s.fine_annulled_at and s.fine else {}),
            # an upheld objection annulled the step, or only its fine ("what" says which)
            "annulled": s.annulled_at is not None or s.fine_annulled_at is not None,
            **(
                {"annulled_what": "warning" if s.annulled_at else "fine"}
                if s.annulled_at or s.fine_annulled_at
                else {}
            ),
            **({"sanction_id": s.sanction_id} if s.sanction_id else {}),
        }
        for s in sorted(order.steps, key=lambda s: s.position)
    ]
    nxt: dict[str, Any] | None = None
    if profile is not None and order.held_by is None:
        due = step_due(order, profile)
        if due is not None:
            step, when = due
            if order.next_due_at is not None:
                when = max(when, order.next_due_at)
            nxt = {"code": step.code, "kind": step.kind, "due_at": when.isoformat()}
        elif order.status in (S.ISSUED, S.DELIVERED, S.ACKNOWLEDGED) and profile.steps:
            first = profile.steps[0]
            interval = timedelta(seconds=order.deadline_seconds)
            when = compute_deadline(order, now) + first.wait_for(
                order.urgency, interval, first=True
            )
            nxt = {
                "code": first.code,
                "kind": first.kind,
                "due_at": when.isoformat(),
                "if_unanswered": True,
            }
    return {"escalation": steps, "next_step": nxt, "escalation_held_by": order.held_by}
