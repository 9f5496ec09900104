"""A sanction groups the blocks of one decision about a platform with its reasons.

The blocks themselves are ordinary block entries (``blocklist``) carrying the sanction's id,
so the RPZ, the public lookup and restoring work the same for them as for any block; the
sanction adds what the procedure needs: the orders and warnings it answers, the approvals
of distinct people, and its own life (pending, active, rejected, withdrawn, lifted).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tangkal.db.base import Base, enum_column, new_id, utcnow


class SanctionStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    REJECTED = "rejected"  # an official refused it before it took effect
    WITHDRAWN = "withdrawn"  # an upheld objection ended it before it took effect
    LIFTED = "lifted"  # its blocks were restored (normalisation, upheld objection)


class Sanction(Base):
    __tablename__ = "sanctions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    platform_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    regulator_org_id: Mapped[str | None] = mapped_column(String(36), default=None)
    action: Mapped[str] = mapped_column(String(16))
    legal_basis: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text)
    # the message ``reason`` was written from, when a template wrote it (the escalation):
    # its English template (the catalogue's message id) and parameters, so a page renders
    # it in the reader's language; None for an official's words and older sanctions
    reason_msgid: Mapped[str | None] = mapped_column(Text, default=None)
    reason_params: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    status: Mapped[SanctionStatus] = mapped_column(enum_column(SanctionStatus))
    # who proposed it: an official, or the scheduler after the profile's last warning
    source: Mapped[str] = mapped_column(String(16))
    proposed_by: Mapped[str] = mapped_column(String(300))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    officials_required: Mapped[int] = mapped_column(default=2)
    sop_profile: Mapped[str] = mapped_column(String(100))
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_by: Mapped[str | None] = mapped_column(String(300), default=None)
    end_reason: Mapped[str | None] = mapped_column(Text, default=None)

    orders: Mapped[list[SanctionOrder]] = relationship(
        cascade="all, delete-orphan", order_by="SanctionOrder.order_id"
    )
    approvals: Mapped[list[SanctionApproval]] = relationship(
        cascade="all, delete-orphan", order_by="SanctionApproval.approved_at"
    )


class SanctionOrder(Base):
    """An order the sanction answers (its warnings are the order's escalation steps)."""

    __tablename__ = "sanction_orders"

    sanction_id: Mapped[str] = mapped_column(
        ForeignKey("sanctions.id", ondelete="CASCADE"), primary_key=True
    )
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True, index=True)


class SanctionApproval(Base):
    """One person's approval; unique per person, so two tokens of one official are one."""

    __tablename__ = "sanction_approvals"
    __table_args__ = (UniqueConstraint("sanction_id", "approver_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sanction_id: Mapped[str] = mapped_column(ForeignKey("sanctions.id", ondelete="CASCADE"))
    approver_key: Mapped[str] = mapped_column(String(300))
    approved_by: Mapped[str] = mapped_column(String(300))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
