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


class FindVia(enum.StrEnum):
    """Through which lookup a copy of an order's banked evidence was found
    (:class:`OrderCopy`): the API's match routes, HMA's, or the console's match form."""

    API_FILE = "api_file"  # POST /api/v1/match
    API_SIGNAL = "api_signal"  # GET /api/v1/match
    API_TEXT = "api_text"  # POST /api/v1/match/text
    HMA_FILE = "hma_file"  # HMA's /m/lookup with a file
    HMA_SIGNAL = "hma_signal"  # HMA's /m/raw_lookup, /m/lookup by URL or signal
    CONSOLE_FILE = "console_file"  # the console's match form, a file
    CONSOLE_TEXT = "console_text"  # the console's match form, a pasted message


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
    # the thresholds the owner set, one row per (signal type, threshold name); a threshold
    # without a row is the type's own default, so a default is said once, by the type
    thresholds: Mapped[list[BankThreshold]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="bank"
    )


class BankThreshold(Base):
    """A bank's value of one of a signal type's thresholds (``name``: one of the type's
    :attr:`~tangkal.hashing.signals.SignalType.rules`, such as PDQ's ``distance`` or vPDQ's
    ``banked_share``)."""

    __tablename__ = "hash_bank_thresholds"

    bank_id: Mapped[str] = mapped_column(
        ForeignKey("hash_banks.id", ondelete="CASCADE"), primary_key=True
    )
    signal_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True, default="distance")
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
    """One signal in a bank. Its integer id is the id the in-memory indexes carry.

    An id is never handed out twice, on either backend (on SQLite through ``AUTOINCREMENT``,
    migration 0207): its feedback, the copies' ``origin_content_id``, the order copies, the
    match rates and the change log name a content by id without a foreign key, and outlive
    it, so a reused id would give a removed content's verdicts and history to a new one. A
    batch migration that rebuilds this table must pass ``sqlite_autoincrement`` again (it is
    not reflected)."""

    __tablename__ = "hash_bank_content"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "signal_digest"),
        Index("ix_hash_content_lookup", "signal_type", "signal_digest"),
        {"sqlite_autoincrement": True},
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


class OrderCopy(Base):
    """One copy of an order's banked evidence that a lookup found: which banked signal, by
    which type and how near, who found it, when, and through which lookup.

    The audit chain keeps ``order.copy_matched`` as the tamper-evident record; this table is
    what the order's pages and API read, one indexed range per order, instead of parsing audit
    JSON. It keeps the bank's name and threshold as they were, so a find still reads rightly
    after its content is removed or the bank retuned (neither ``content_id`` nor ``order_id``
    is a foreign key: like ``BankContent.order_id``, the hashing branch depends only on core).
    """

    __tablename__ = "hash_order_copies"
    __table_args__ = (Index("ix_hash_order_copies_order_found", "order_id", "found_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(36))
    content_id: Mapped[int] = mapped_column(BigId)
    evidence_id: Mapped[str | None] = mapped_column(String(36), default=None)
    bank_id: Mapped[str] = mapped_column(String(36))
    bank_name: Mapped[str] = mapped_column(String(100))
    signal_type: Mapped[str] = mapped_column(String(32))
    distance: Mapped[int] = mapped_column(Integer)
    # the bank's threshold for the type when found: how near "distance" is, on the type's scale
    threshold: Mapped[int | None] = mapped_column(Integer, default=None)
    # the query's own signal where it is one short hash; a video's frame list is not copied
    # here (tens of kilobytes per find): the upload's SHA-256 names that lookup instead
    query_signal: Mapped[str | None] = mapped_column(Text, default=None)
    via: Mapped[FindVia] = mapped_column(enum_column(FindVia))
    upload_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    found_by_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    found_by: Mapped[str] = mapped_column(String(300))
    found_at: Mapped[datetime] = mapped_column(default=utcnow)


class SourceKind(enum.StrEnum):
    """Where a banked signal came from (:class:`ContentSource`)."""

    UPLOAD = "upload"  # a file or signal the bank's owner added itself
    FILE = "file"  # a row of an exchange file (te, csv, tat) imported into the bank
    BANK = "bank"  # copied from another bank of this tangkal (an export of it, imported)
    ORDER = "order"  # an order's evidence


class ContentSource(Base):
    """The provenance of one banked signal, in fields, not in ``source_ref``'s free text.

    ``origin_*`` name the content this one is a copy of, flattened to the first of a chain
    when the row is written (a copy of a copy names the original), so the feedback given on
    every copy is counted on the original in one indexed lookup (:mod:`tangkal.hashing.feedback`)
    and reaches the bank that first shared it. ``origin_content_id`` is not a foreign key: the
    original may be removed, and its copies keep saying where they came from.

    ``reported_*`` are the verdict counts an imported file carried for its row (tangkal's CSV
    export writes them), kept apart from feedback given here: they are the source's word, not
    verdicts of organisations known to this tangkal.
    """

    __tablename__ = "hash_content_sources"

    content_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("hash_bank_content.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[SourceKind] = mapped_column(enum_column(SourceKind))
    origin_content_id: Mapped[int | None] = mapped_column(BigId, index=True, default=None)
    origin_bank_id: Mapped[str | None] = mapped_column(String(36), default=None)
    origin_org_id: Mapped[str | None] = mapped_column(String(36), default=None)
    file_format: Mapped[str | None] = mapped_column(String(10), default=None)
    file_name: Mapped[str | None] = mapped_column(String(300), default=None)
    file_row: Mapped[int | None] = mapped_column(Integer, default=None)
    order_id: Mapped[str | None] = mapped_column(String(36), default=None)
    reported_confirmed: Mapped[int | None] = mapped_column(Integer, default=None)
    reported_false_positive: Mapped[int | None] = mapped_column(Integer, default=None)
