"""Requests to restore access (normalisasi), with the profile's checklist and clock."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tangkal.db.base import Base, enum_column, new_id, utcnow


class NormalisationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # the blocks were restored
    REFUSED = "refused"


class Normalisation(Base):
    __tablename__ = "normalisations"
    __table_args__ = (Index("ix_normalisations_status_decide_by", "status", "decide_by"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    platform_org_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id"), default=None, index=True
    )
    # the regulator that decides it (one tenant never sees another's)
    regulator_org_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    # "platform" (its own sanction) or "public" (a domain's owner, through the public pages)
    source: Mapped[str] = mapped_column(String(16))
    contact_email: Mapped[str | None] = mapped_column(String(320), default=None)
    domains: Mapped[list[Any]] = mapped_column(default=list)
    block_ids: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str] = mapped_column(Text)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[NormalisationStatus] = mapped_column(enum_column(NormalisationStatus))
    requested_by: Mapped[str] = mapped_column(String(300))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decide_by: Mapped[datetime]
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    sop_profile: Mapped[str] = mapped_column(String(100))
    needs_second_official: Mapped[bool] = mapped_column(default=False)
    first_approved_by: Mapped[str | None] = mapped_column(String(300), default=None)
    first_approver_key: Mapped[str | None] = mapped_column(String(300), default=None)
    first_approved_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(300), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
