"""Objections (sanggah) with the decision the profile's clock asks for."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tangkal.db.base import Base, enum_column, new_id, utcnow


class SubjectKind(enum.StrEnum):
    ORDER = "order"
    WARNING = "warning"  # an escalation step (the letter and any fine with it)
    FINE = "fine"  # only the fine of an escalation step
    SANCTION = "sanction"
    BLOCK = "block"


class ObjectionStatus(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Objection(Base):
    __tablename__ = "objections"
    __table_args__ = (
        Index("ix_objections_status_decide_by", "status", "decide_by"),
        Index("ix_objections_subject", "subject_kind", "subject_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    platform_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    # the regulator that decides it (one tenant never sees another's)
    regulator_org_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(enum_column(SubjectKind))
    subject_id: Mapped[str] = mapped_column(String(36))
    # the order whose escalation waits for the decision, where there is one
    order_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[ObjectionStatus] = mapped_column(enum_column(ObjectionStatus))
    filed_by: Mapped[str] = mapped_column(String(300))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decide_by: Mapped[datetime]
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(300), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
