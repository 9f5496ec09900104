"""Tables of the compliance measurement: resolvers to probe, the current result per resolver
and name, the history of state changes, the rounds, and the worker's cursor.

``compliance_results`` holds one row per (resolver, name): what the decision expected, what
the resolver answered, and since when that state holds; every change of state appends a row
to ``compliance_history``, which survives the resolver's removal (no foreign key). Only the
addresses in ``compliance_resolvers`` are ever sent a query.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tangkal.db.base import Base, enum_column, new_id, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class ProbeState(enum.StrEnum):
    COMPLIANT = "compliant"
    NOT_COMPLIANT = "not_compliant"
    UNREACHABLE = "unreachable"  # no usable answer (timeout, garbage, SERVFAIL, REFUSED)


class Resolver(Base):
    """A resolver address to probe: an ISP's (``org_id``) or an unfiltered control (NULL)."""

    __tablename__ = "compliance_resolvers"
    __table_args__ = (UniqueConstraint("host", "port", name="uq_compliance_resolvers_address"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), default=None, index=True
    )
    control: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(100))
    host: Mapped[str] = mapped_column(String(64))  # the IP address in its canonical text
    port: Mapped[int] = mapped_column(Integer, default=53)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the policy zone's SOA as this resolver answers it (None: it does not answer it)
    soa_serial: Mapped[int | None] = mapped_column(BigInteger, default=None)
    serial_lag: Mapped[int | None] = mapped_column(Integer, default=None)
    soa_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    # a control resolver seen answering as a filter does; not used as control meanwhile
    filtering_since: Mapped[datetime | None] = mapped_column(default=None)
    filtering_note: Mapped[str | None] = mapped_column(String(500), default=None)


class ProbeResult(Base):
    """The current state of one name at one resolver (upserted by every round)."""

    __tablename__ = "compliance_results"
    __table_args__ = (
        UniqueConstraint("resolver_id", "domain", name="uq_compliance_results_resolver_domain"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resolver_id: Mapped[str] = mapped_column(
        ForeignKey("compliance_resolvers.id", ondelete="CASCADE")
    )
    domain: Mapped[str] = mapped_column(String(253), index=True)
    expected: Mapped[str] = mapped_column(String(16))  # nxdomain, nodata, landing or open
    observed: Mapped[str] = mapped_column(String(300))
    state: Mapped[ProbeState] = mapped_column(enum_column(ProbeState))
    since: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    serial_lag: Mapped[int | None] = mapped_column(Integer, default=None)
    # when this not-compliant episode went on the case file and to the ISP (None: not yet);
    # cleared whenever the state changes or the decision turns between blocked and open, so
    # each episode is escalated once, never every round
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)


class ProbeHistory(Base):
    """One change of state of a name at a resolver (the first result counts as a change)."""

    __tablename__ = "compliance_history"
    __table_args__ = (
        Index("ix_compliance_history_resolver_domain_at", "resolver_id", "domain", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resolver_id: Mapped[str] = mapped_column(String(36))
    org_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16), default=None)
    to_state: Mapped[ProbeState] = mapped_column(enum_column(ProbeState))
    expected: Mapped[str] = mapped_column(String(16))
    observed: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ProbeRound(Base):
    """What one round probed and found (the API's and the worker's rounds alike)."""

    __tablename__ = "compliance_rounds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    trigger: Mapped[str] = mapped_column(String(16))  # change, periodic, recheck, manual
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
    names: Mapped[int] = mapped_column(Integer, default=0)
    resolvers: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)


class ProbeCursor(Base):
    """The single row (id=1) of the worker: the last journal change set probed, where the
    rotating sample of the list stands, and when the last periodic round ran."""

    __tablename__ = "compliance_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    journal_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    sample_after: Mapped[str] = mapped_column(String(253), default="")
    periodic_at: Mapped[datetime | None] = mapped_column(default=None)
