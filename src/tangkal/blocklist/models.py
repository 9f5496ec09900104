"""Block entries, the protected-name list and public appeals.

Entries are never deleted or overwritten by a later decision about the same name: restoring
access, expiry and rejection are transitions of the entry, and blocking the name again makes
a new entry. The history of a name is therefore simply all entries with that name.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tangkal.db.base import Base, enum_column, new_id, utcnow


class BlockAction(enum.StrEnum):
    """What resolvers answer for a blocked name; the same values as ``tangkal.rpz``'s
    ``RpzAction``, kept here so the blocklist's schema does not depend on the DNS code."""

    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    LANDING = "landing"  # laman labuh
    PASSTHRU = "passthru"  # allow-list: an exception beneath a blocked parent


class BlockStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    SCHEDULED = "scheduled"  # approved, waiting for its effective_at
    ACTIVE = "active"
    RESTORED = "restored"
    REJECTED = "rejected"
    EXPIRED = "expired"


REVERSED_NAME = String(253).with_variant(String(253, collation="C"), "postgresql")


def reverse_name(name: str) -> str:
    """``web.telegram.org`` -> ``org.telegram.web``."""
    return ".".join(reversed(name.split(".")))


#: Statuses in which an entry still "holds" its name: at most one such entry per name.
OPEN_STATUSES = (BlockStatus.PENDING_APPROVAL, BlockStatus.SCHEDULED, BlockStatus.ACTIVE)
_OPEN_SQL = "status IN ('pending_approval', 'scheduled', 'active')"


class BlockEntry(Base):
    """One decision to block one name (and, per the RPZ conventions, everything beneath it)."""

    __tablename__ = "block_entries"
    __table_args__ = (
        # The database itself guarantees one open entry per name, also under concurrent
        # requests on several workers; the service turns a clash into a 409 naming the entry.
        Index(
            "uq_block_entries_open_domain",
            "domain",
            unique=True,
            postgresql_where=text(_OPEN_SQL),
            sqlite_where=text(_OPEN_SQL),
        ),
        Index("ix_block_entries_status_effective", "status", "effective_at"),
        Index("ix_block_entries_status_expires", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    # The name with its labels reversed (``org.telegram.web``), compared bytewise: "every
    # entry beneath X" becomes an index range scan instead of a LIKE over millions of rows.
    rname: Mapped[str] = mapped_column(REVERSED_NAME, index=True)
    action: Mapped[BlockAction] = mapped_column(enum_column(BlockAction))
    # A landing block's own landing page where it differs from the zone's default
    # (tangkal.rpz.values.Landing text: ``cname:<name>`` or ``a:<ipv4>,aaaa:<ipv6>``).
    landing: Mapped[str | None] = mapped_column(String(400), default=None)
    status: Mapped[BlockStatus] = mapped_column(enum_column(BlockStatus))
    legal_basis: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64), default=None)
    # A plain reference to an order (tangkal.orders) or an outside case number, no FK: a
    # block may precede or outlive the order record.
    order_id: Mapped[str | None] = mapped_column(String(100), default=None, index=True)
    # The sanction this entry belongs to (tangkal.sanctions): approved, restored and lifted
    # with it; no FK, the blocklist's schema does not depend on the procedure's.
    sanction_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)

    requested_by: Mapped[str] = mapped_column(String(300))
    requested_by_key: Mapped[str] = mapped_column(String(300))
    requested_by_org_id: Mapped[str | None] = mapped_column(String(36), default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)

    needs_second_approval: Mapped[bool] = mapped_column(default=False)
    approval_note: Mapped[str | None] = mapped_column(Text, default=None)
    first_approved_by: Mapped[str | None] = mapped_column(String(300), default=None)
    first_approver_key: Mapped[str | None] = mapped_column(String(300), default=None)
    first_approved_at: Mapped[datetime | None] = mapped_column(default=None)
    second_approved_by: Mapped[str | None] = mapped_column(String(300), default=None)
    second_approver_key: Mapped[str | None] = mapped_column(String(300), default=None)
    second_approved_at: Mapped[datetime | None] = mapped_column(default=None)
    rejected_by: Mapped[str | None] = mapped_column(String(300), default=None)
    rejected_at: Mapped[datetime | None] = mapped_column(default=None)
    reject_reason: Mapped[str | None] = mapped_column(Text, default=None)

    effective_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    restored_at: Mapped[datetime | None] = mapped_column(default=None)
    restored_by: Mapped[str | None] = mapped_column(String(300), default=None)
    restore_reason: Mapped[str | None] = mapped_column(Text, default=None)
    expired_at: Mapped[datetime | None] = mapped_column(default=None)

    # How many entries for this name existed before this one (the n-th block of the name);
    # normalisation may be refused after more than three blocks.
    previous_blocks: Mapped[int] = mapped_column(Integer, default=0)
    # The proportionality assessment as shown when the entry was made.
    assessment: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProtectedName(Base):
    """A name (and everything beneath it) whose blocking needs a second official.

    Listing ``go.id`` protects every government name beneath it, even though ``go.id`` itself
    is a public suffix and can never be blocked.
    """

    __tablename__ = "protected_names"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(300), default="tangkal")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppealStatus(enum.StrEnum):
    """Where an appeal stands; the moves between them are ``tangkal.blocklist.appeals``'s
    state machine (``TRANSITIONS``), never decided by a page."""

    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    UPHELD = "upheld"  # decided: the block was wrong, access is restored
    REJECTED = "rejected"  # decided: the block stands


class Appeal(Base):
    """A member of the public contesting a block, decided by an official by ``decide_by``.

    The appellant follows it with the reference and a follow-up code given once at
    submission; only the code's SHA-256 is kept (``follow_up_hash``), so neither a leaked
    table nor a guessed reference opens someone's appeal.
    """

    __tablename__ = "block_appeals"
    __table_args__ = (Index("ix_block_appeals_status_decide_by", "status", "decide_by"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    block_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    # The regulator whose block is contested (the entry's requesting organisation); its
    # officials decide. None for a block made by the system (an import, the demo).
    regulator_org_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    contact_email: Mapped[str] = mapped_column(String(320))
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(
        enum_column(AppealStatus), default=AppealStatus.RECEIVED
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decide_by: Mapped[datetime] = mapped_column()
    follow_up_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(300), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(300), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
