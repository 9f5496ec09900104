"""Tables of the RPZ: current entries, the change journal, the serial, keys and subscribers.

``rpz_entries`` is the zone as it is now (one row per listed name); ``rpz_changesets`` and
``rpz_changes`` are the journal from which IXFR is answered and from which every DNS server
process learns what changed; ``rpz_state`` holds the one serial, locked while a change set
is written so serials strictly grow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tangkal.db.base import Base, enum_column, new_id, utcnow
from tangkal.rpz.values import RpzAction

BigId = BigInteger().with_variant(Integer(), "sqlite")
# Byte order for names on PostgreSQL too, so "ORDER BY name" agrees with Python's sort
# and the primary key index streams the zone in the order the zone engine keeps it.
NameType = String(253).with_variant(String(253, collation="C"), "postgresql")


def _action_column(name: str) -> Enum:
    """Like ``enum_column`` but with its own constraint name: ``rpz_changes`` has two."""
    return Enum(
        RpzAction,
        name=name,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        create_constraint=True,
    )


class RpzState(Base):
    """The single row (id=1) that carries the serial; its row lock orders change sets."""

    __tablename__ = "rpz_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    serial: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The landing (Landing.text()) the zone's landing entries point to now; a different
    # configured landing is published as a change set at start (journal.sync_landing).
    landing: Mapped[str | None] = mapped_column(String(400), default=None)


class RpzEntry(Base):
    """One listed name; it stands for two triggers, ``name`` and ``*.name``."""

    __tablename__ = "rpz_entries"

    name: Mapped[str] = mapped_column(NameType, primary_key=True)
    action: Mapped[RpzAction] = mapped_column(enum_column(RpzAction))
    # A landing block's own landing (Landing.text()) where it differs from the zone's
    # default; NULL: the default (rpz_state.landing), and it follows a changed default.
    landing: Mapped[str | None] = mapped_column(String(400), default=None)
    serial: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RpzChangeSet(Base):
    """One committed change set: the step from ``from_serial`` to ``serial``.

    ``seq`` grows by one per change set and never wraps, unlike the serial, so it is
    what servers poll on and what orders the journal.
    """

    __tablename__ = "rpz_changesets"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    serial: Mapped[int] = mapped_column(BigInteger, index=True)
    from_serial: Mapped[int] = mapped_column(BigInteger)
    committed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    size: Mapped[int] = mapped_column(Integer, default=0)


class RpzChange(Base):
    """One name's step within a change set: what it was and what it became."""

    __tablename__ = "rpz_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(
        ForeignKey("rpz_changesets.seq", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(253))
    old_action: Mapped[RpzAction | None] = mapped_column(
        _action_column("rpz_old_action"), default=None
    )
    new_action: Mapped[RpzAction | None] = mapped_column(
        _action_column("rpz_new_action"), default=None
    )
    # For landing steps, the landing meant (Landing.text()): IXFR deletes exactly the
    # records a secondary holds even after the landing changed. NULL: the zone's default.
    old_landing: Mapped[str | None] = mapped_column(String(400), default=None)
    new_landing: Mapped[str | None] = mapped_column(String(400), default=None)


class TsigKey(Base):
    """An ISP's TSIG key (hmac-sha256). The secret is stored because the server signs with
    it; it is shown once on creation and never again through the API."""

    __tablename__ = "rpz_tsig_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), unique=True)
    algorithm: Mapped[str] = mapped_column(String(50), default="hmac-sha256")
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Subscriber(Base):
    """A resolver (or secondary) of an ISP that follows the zone.

    Where NOTIFY goes, which addresses may transfer without TSIG, what tells its transfers
    apart from other subscribers' (a TSIG key of its own, the source address and port it
    transfers from), and what it last transferred, so the lag of every ISP is known. When
    the server could not tell which of several subscribers a transfer came from, it credits
    them as a group: ``credit_shared_with`` names the others (docs/rpz-subscribers.md).
    """

    __tablename__ = "rpz_subscribers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    notify_host: Mapped[str] = mapped_column(String(100))
    notify_port: Mapped[int] = mapped_column(Integer, default=53)
    allow_ips: Mapped[list[Any]] = mapped_column(default=list)
    last_serial: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_transfer_at: Mapped[datetime | None] = mapped_column(default=None)
    last_transfer_kind: Mapped[str | None] = mapped_column(String(8), default=None)
    last_notify_ack_serial: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_notify_ack_at: Mapped[datetime | None] = mapped_column(default=None)
    # Identification (all optional): the one key it signs with, where it transfers from.
    tsig_key_name: Mapped[str | None] = mapped_column(String(200), default=None)
    transfer_host: Mapped[str | None] = mapped_column(String(100), default=None)
    transfer_port: Mapped[int | None] = mapped_column(Integer, default=None)
    # How its last credited transfer was told apart ("key", "allow-ip+source-port", ...),
    # and, when it could not be, the other subscribers credited with it.
    last_identified_by: Mapped[str | None] = mapped_column(String(64), default=None)
    credit_shared_with: Mapped[list[Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
