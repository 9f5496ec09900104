"""Audit events: each row carries the hash of its predecessor, so any edit or deletion shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tangkal.db.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(300))
    actor_org_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditConcern(Base):
    """One organisation an event concerns (the acting one, the subject's owners).

    Kept beside the chain rather than in it: who may read an event is a question of access,
    not of what happened, so it can be backfilled for old entries without rewriting hashes.
    """

    __tablename__ = "audit_concerns"
    __table_args__ = (Index("ix_audit_concerns_org", "org_id", "seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class AuditCheckpoint(Base):
    """A signed statement of the chain's size, head and (v2) Merkle root at a moment.

    A copy kept outside the database (by an auditor, a newspaper) pins the chain: deleting
    the tail or rewriting it with recomputed hashes no longer verifies against it.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    head: Mapped[str] = mapped_column(String(64))
    #: RFC 9162 Merkle root (hex) of the first ``size`` entries; NULL in the v1 checkpoints
    #: signed before roots were, which still verify with the v1 message
    root: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
