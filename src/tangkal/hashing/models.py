"""Hash banks, their contents, match feedback, and the change log the indexes follow."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tangkal.db.base import Base, enum_column, new_id, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class BankKind(enum.StrEnum):
    OWN = "own"  # curated by the organisation itself
    IMPORTED = "imported"  # loaded from a hash exchange (TAT, ThreatExchange, ...)
    ORDER = "order"  # the evidence of takedown orders


class Bank(Base):
    __tablename__ = "hash_banks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    owner_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[BankKind] = mapped_column(enum_column(BankKind))
    source: Mapped[str | None] = mapped_column(String(200), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # shared banks are matched by every organisation; private ones only by their owner
    shared: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    # matches in an allow-list bank suppress matches of the same query elsewhere
    allowlist: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the thresholds the owner set, one row per signal type; a type without a row uses the
    # type's own default (tangkal.hashing.services.thresholds_of), so a default is said once
    thresholds: Mapped[list[BankThreshold]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="bank"
    )


class BankThreshold(Base):
    """A bank's threshold for one signal type: the largest distance that still matches."""

    __tablename__ = "hash_bank_thresholds"

    bank_id: Mapped[str] = mapped_column(
        ForeignKey("hash_banks.id", ondelete="CASCADE"), primary_key=True
    )
    signal_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer)

    bank: Mapped[Bank] = relationship(back_populates="thresholds")


def signal_digest(signal: str) -> str:
    """SHA-256 hex of a signal: what uniqueness and exact lookups index. A signal may be a
    video's hundreds of frame hashes (vPDQ, tens of kilobytes), past what a B-tree index entry
    holds (PostgreSQL: about 2.7 KB), so the column itself is not indexed."""
    return hashlib.sha256(signal.encode("utf-8")).hexdigest()


def _digest_default(context: Any) -> str:
    return signal_digest(context.get_current_parameters()["signal"])


class BankContent(Base):
    """One signal in a bank. Its integer id is the id the in-memory indexes carry."""

    __tablename__ = "hash_bank_content"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "signal_digest"),
        Index("ix_hash_content_lookup", "signal_type", "signal_digest"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bank_id: Mapped[str] = mapped_column(ForeignKey("hash_banks.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(32))
    signal: Mapped[str] = mapped_column(Text)
    signal_digest: Mapped[str] = mapped_column(String(64), default=_digest_default)
    label: Mapped[str | None] = mapped_column(String(300), default=None)
    source_ref: Mapped[str | None] = mapped_column(String(300), default=None)
    order_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    evidence_id: Mapped[str | None] = mapped_column(String(36), default=None)
    added_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    bank: Mapped[Bank] = relationship()


class HashChange(Base):
    """Append-only log of additions and removals; every process's index replays it, so a
    change is visible to lookups in every worker within one poll interval."""

    __tablename__ = "hash_changes"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    content_id: Mapped[int] = mapped_column(BigId)
    op: Mapped[str] = mapped_column(String(8))  # "add" | "remove"
    signal_type: Mapped[str] = mapped_column(String(32))
    signal: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MatchFeedback(Base):
    __tablename__ = "hash_match_feedback"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    content_id: Mapped[int] = mapped_column(BigId, index=True)
    org_id: Mapped[str] = mapped_column(String(36))
    verdict: Mapped[str] = mapped_column(String(20))  # confirmed | false_positive
    query_signal: Mapped[str | None] = mapped_column(Text, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    given_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
