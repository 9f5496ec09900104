"""Orders, their locators, evidence, clarifications, responses and warnings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column, relationship

from tangkal.db.base import Base, enum_column, new_id, utcnow


class OrderStatus(enum.StrEnum):
    ISSUED = "issued"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    CLARIFICATION_REQUESTED = "clarification_requested"
    COMPLIED = "complied"
    PARTIALLY_COMPLIED = "partially_complied"
    DISPUTED = "disputed"
    OVERDUE = "overdue"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = frozenset(
    {
        OrderStatus.ISSUED,
        OrderStatus.DELIVERED,
        OrderStatus.ACKNOWLEDGED,
        OrderStatus.CLARIFICATION_REQUESTED,
        OrderStatus.OVERDUE,
    }
)


class ResponseAction(enum.StrEnum):
    REMOVED = "removed"
    RESTRICTED_IN_COUNTRY = "restricted_in_country"
    ACCOUNT_SUSPENDED = "account_suspended"
    PARTIALLY_DONE = "partially_done"
    NOT_DONE = "not_done"


class ReceiptBasis(enum.StrEnum):
    """What started an order's deadline clock (``Order.receipt_basis``, stored as its value):
    the platform's first authenticated sign of receipt, or receipt deemed by the SOP when
    none came. Named here so the pages can word each one (``tangkal.web.labels``)."""

    WEBHOOK = "webhook"
    INBOX = "inbox"
    ACKNOWLEDGED = "acknowledged"
    CLARIFICATION_REQUESTED = "clarification_requested"
    RESPONDED = "responded"
    DEEMED = "deemed"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_platform_status", "platform_org_id", "status"),
        Index("ix_orders_regulator_status", "regulator_org_id", "status"),
        Index("ix_orders_deadline", "status", "deadline_at"),
        Index(
            "ix_orders_next_due",
            "next_due_at",
            postgresql_where=text("next_due_at IS NOT NULL"),
            sqlite_where=text("next_due_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    regulator_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    platform_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    category: Mapped[str] = mapped_column(String(50))
    urgency: Mapped[str] = mapped_column(String(30))
    legal_basis: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus))
    sop_profile: Mapped[str] = mapped_column(String(100))
    deadline_seconds: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    # The legal clock: starts at authenticated receipt (or deemed receipt), pauses while a
    # clarification is open; deadline_at is recomputed on every change of those.
    received_at: Mapped[datetime | None] = mapped_column(default=None)
    receipt_basis: Mapped[str | None] = mapped_column(String(40), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_seconds: Mapped[float] = mapped_column(default=0.0)
    deadline_at: Mapped[datetime]
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
    overdue_at: Mapped[datetime | None] = mapped_column(default=None)
    # The escalation: how many of the profile's steps were taken, and the next moment the
    # scheduler has anything to do for this order (deemed receipt, the deadline, the next
    # step). NULL while nothing can fall due (answered, paused, an objection pending), so
    # the scheduler's pass reads only the index range of what is due: O(due), not O(open).
    steps_taken: Mapped[int] = mapped_column(default=0)
    next_due_at: Mapped[datetime | None] = mapped_column(default=None)
    # An objection (sanggah) that holds the escalation until it is decided.
    held_by: Mapped[str | None] = mapped_column(String(36), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    locators: Mapped[list[OrderLocator]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLocator.position"
    )
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Evidence.created_at"
    )
    clarifications: Mapped[list[Clarification]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Clarification.asked_at"
    )
    responses: Mapped[list[OrderResponse]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderResponse.created_at"
    )
    steps: Mapped[list[EscalationStep]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="EscalationStep.position",
    )


def _worklist_index(name: str, scope: InstrumentedAttribute[str]) -> Index:
    """An index on the open orders' sort key within one scope, for ``web.worklist.read_page``.

    The inbox (a platform's orders) and the regulator's board (a regulator's) read open
    orders with ``scope = :org AND status IN (<open>)``, ordered by ``(paused_at IS NOT
    NULL, deadline_at, id)`` from a keyset cursor on that same row value. With an index on
    exactly ``(scope, (paused_at IS NOT NULL), deadline_at, id)`` the database reads a
    page's 51 entries in order from the cursor on; without it it reads every open order of
    the scope and sorts them (docs/benchmarks-worklist.md). The key's middle part is the
    query's own expression (``Order.paused_at.is_not(None)``), not a retyped one: the
    planner matches expressions, not intentions.

    On PostgreSQL the index is partial on the open statuses, built from
    :data:`OPEN_STATUSES` (the state machine's own set, never retyped), so answered orders,
    which pile up for ever, cost it nothing; the planner proves the query's ``status IN
    (...)``, bound parameters and all, implies it. On SQLite it is the same index over
    every order: SQLite matches a partial index's ``IN`` list only against a query that
    spells the same literals, and the page binds its statuses as parameters, so a partial
    index there is one the page never reads (checked with ``EXPLAIN QUERY PLAN``). The
    expression key itself is no problem on SQLite. Migration ``0013_orders_worklist``
    creates both.
    """
    return Index(
        name,
        scope,
        Order.paused_at.is_not(None),
        Order.deadline_at,
        Order.id,
        postgresql_where=Order.status.in_(sorted(OPEN_STATUSES)),
    )


_worklist_index("ix_orders_platform_worklist", Order.platform_org_id)
_worklist_index("ix_orders_regulator_worklist", Order.regulator_org_id)


class OrderLocator(Base):
    """One reported item, stored in canonical form so the same content is one key."""

    __tablename__ = "order_locators"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    canonical: Mapped[str] = mapped_column(String(2100), index=True)
    display: Mapped[str] = mapped_column(String(2100))
    url: Mapped[str | None] = mapped_column(String(2100), default=None)
    domain: Mapped[str | None] = mapped_column(String(253), default=None)
    submitted: Mapped[str] = mapped_column(String(2100))

    order: Mapped[Order] = relationship(back_populates="locators")


class LocatorKey(Base):
    """Keys under which an order's items are found again: the item itself and what it
    belongs to (a post's channel, a URL's registrable domain)."""

    __tablename__ = "order_locator_keys"
    __table_args__ = (
        UniqueConstraint("order_id", "key"),
        # Newest first per key straight from the index: a domain named in ten thousand
        # orders costs the "related orders" lookup no more than one named in ten.
        Index("ix_order_locator_keys_key_id", "key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(2100))
    primary: Mapped[bool] = mapped_column(default=True)


class Evidence(Base):
    __tablename__ = "order_evidence"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    md5: Mapped[str] = mapped_column(String(32))
    # Deferred: read only where the file itself is served or hashed. Everything else that
    # loads an order's evidence (the platform's message of every escalation step, the API
    # answer) lists its id, name, hash and size, and would otherwise carry up to 20 files
    # of 20 MB per order in the session.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="evidence")


class Clarification(Base):
    __tablename__ = "order_clarifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str] = mapped_column(String(300))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text, default=None)
    answered_by: Mapped[str | None] = mapped_column(String(300), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)

    order: Mapped[Order] = relationship(back_populates="clarifications")


class OrderResponse(Base):
    """The platform's answer with a statement of reasons (DSA transparency-database fields)."""

    __tablename__ = "order_responses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    action: Mapped[ResponseAction] = mapped_column(enum_column(ResponseAction))
    statement: Mapped[dict[str, Any]]
    responded_by: Mapped[str] = mapped_column(String(300))
    late: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="responses")


class EscalationStep(Base):
    """A step of the profile's escalation taken on an order: a warning letter (surat
    teguran), a fine, a report, a sanction proposal.

    The unique (order, code) pair makes a step happen once whatever number of schedulers
    race for it. An upheld objection annuls a step or just its fine: the row stays, marked,
    so the record shows both what was done and that it was undone.
    """

    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("order_id", "code"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    code: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(40))
    fine: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="")
    due_at: Mapped[datetime]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    sanction_id: Mapped[str | None] = mapped_column(String(36), default=None)
    annulled_at: Mapped[datetime | None] = mapped_column(default=None)
    fine_annulled_at: Mapped[datetime | None] = mapped_column(default=None)
    annulled_by_objection: Mapped[str | None] = mapped_column(String(36), default=None)

    order: Mapped[Order] = relationship(back_populates="steps")

    @property
    def fine_due(self) -> int:
        """The fine still owed: none once the step or its fine was annulled."""
        return 0 if (self.annulled_at or self.fine_annulled_at) else self.fine


class IdempotencyRecord(Base):
    """A request that carried an ``Idempotency-Key``: its answer is replayed on a retry."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(36))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
