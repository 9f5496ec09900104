"""Escalation of non-compliance: a name still not compliant at an ISP's resolver once the SOP
profile's grace has passed goes on the case file and to the ISP.

The grace is the profile's ``[compliance]`` table: ``grace_after_block`` while the decision
is a block (the resolver should refuse the name as the block's action says),
``grace_after_restore`` once it is open again (2017: ISPs had 1x24 hours to normalise).
It counts from when the resolver was first seen not compliant in this episode (``since``),
which is the first probe after the change that made it wrong, so the ISP gets the whole
grace to follow each decision.

Escalating is, in one unit of work under the rounds' lock: an audit event
``compliance.escalated`` on the block entry concerned (the active one deciding the name for
a block; the last one restored or expired for an open name), which is what puts it on the
platform's case file next to the block and its restoration; one message per ISP with every
name newly overdue, through the delivery outbox to the ISP's channel (its webhook when it has
one, else its pull inbox, ``GET /api/v1/inbox``); and ``escalated_at`` on each result, so a
name × resolver × episode is escalated once, not every round. ``store_round`` clears the mark
when the state changes or the decision turns between blocked and open: a new episode.

A name that was never blocked has no decision that was disobeyed, and is left alone here
(the board still shows it not compliant).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import literal, or_, select, update
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization
from tangkal.accounts.principal import SYSTEM
from tangkal.audit.services import record
from tangkal.blocklist.models import BlockEntry, BlockStatus
from tangkal.compliance.compare import OPEN
from tangkal.compliance.models import ProbeResult, ProbeState, Resolver
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.delivery.services import enqueue
from tangkal.sop.profile import Compliance, format_duration

EVENT = "compliance.not_compliant"  # the message to the ISP
AUDIT_ACTION = "compliance.escalated"  # the case file's event
BATCH = 1000  # results escalated per pass at most (the rest at the next)

ESCALATIONS = Counter(
    "tangkal_compliance_escalations_total",
    "Names escalated as still not compliant at an ISP's resolver after the grace",
    ["isp", "stage"],
)


def stage_of(expected: str) -> str:
    """``block`` while the decision blocks the name, ``restore`` once it is open again."""
    return "restore" if expected == OPEN else "block"


def due_at(since: datetime, expected: str, grace: Compliance) -> datetime:
    return since + grace.grace(expected)


def overdue(
    state: ProbeState | str, since: datetime, expected: str, grace: Compliance, now: datetime
) -> bool:
    """Not compliant for longer than the profile's grace (the board's filter, and what is
    escalated)."""
    return str(state) == ProbeState.NOT_COMPLIANT.value and due_at(since, expected, grace) <= now


@dataclass(frozen=True, slots=True)
class Escalated:
    isp: str
    resolver: str
    domain: str
    stage: str
    block_id: str


def _enclosing(name: str) -> list[str]:
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def entry_concerned(session: Session, domain: str, expected: str) -> BlockEntry | None:
    """The block entry whose decision the resolver does not follow: for a blocked name the
    active entry deciding it (its own, else its nearest listed parent's, as the RPZ applies
    ``*.parent``); for an open name the entry last lifted (restored or expired)."""
    names = _enclosing(domain)
    if expected != OPEN:
        rows = {
            e.domain: e
            for e in session.scalars(
                select(BlockEntry).where(
                    BlockEntry.domain.in_(names), BlockEntry.status == BlockStatus.ACTIVE
                )
            )
        }
        return next((rows[n] for n in names if n in rows), None)
    lifted = list(
        session.scalars(
            select(BlockEntry).where(
                BlockEntry.domain.in_(names),
                BlockEntry.status.in_([BlockStatus.RESTORED, BlockStatus.EXPIRED]),
            )
        )
    )
    if not lifted:
        return None
    # the nearest name first, then the latest lifting
    return min(
        lifted,
        key=lambda e: (
            names.index(e.domain),
            -(e.restored_at or e.expired_at or e.effective_at).timestamp(),
        ),
    )


def _candidates(session: Session, grace: Compliance, now: datetime) -> list[int]:
    """Results due for escalation, oldest first: not compliant past their stage's grace, not
    yet escalated in this episode, at an ISP's resolver. An open name counts only where a
    block of it (or of a parent) was lifted, so names never blocked, which are never
    escalated, cannot crowd out the others pass after pass."""
    base = (
        select(ProbeResult.id)
        .join(Resolver, Resolver.id == ProbeResult.resolver_id)
        .where(
            ProbeResult.state == ProbeState.NOT_COMPLIANT,
            ProbeResult.escalated_at.is_(None),
            Resolver.control.is_(False),
            Resolver.org_id.is_not(None),
        )
        .order_by(ProbeResult.since)
    )
    lifted = (
        select(BlockEntry.id)
        .where(
            BlockEntry.status.in_([BlockStatus.RESTORED, BlockStatus.EXPIRED]),
            or_(
                BlockEntry.domain == ProbeResult.domain,
                ProbeResult.domain.like(literal("%.") + BlockEntry.domain),
            ),
        )
        .exists()
    )
    ids = list(
        session.scalars(
            base.where(
                ProbeResult.expected != OPEN, ProbeResult.since <= now - grace.grace_after_block
            ).limit(BATCH)
        )
    )
    if len(ids) < BATCH:
        ids += session.scalars(
            base.where(
                ProbeResult.expected == OPEN,
                ProbeResult.since <= now - grace.grace_after_restore,
                lifted,
            ).limit(BATCH - len(ids))
        )
    return ids


def escalate_due(db: Database, grace: Compliance, now: datetime | None = None) -> list[Escalated]:
    """Escalate every result not compliant for longer than its grace and not yet escalated
    in this episode. Reads first without writing, so an idle server takes no write lock."""
    from tangkal.compliance.services import _lock, show_address

    now = now or utcnow()
    with db.read_only() as s:
        if not _candidates(s, grace, now):
            return []
    done: list[Escalated] = []
    with db.unit_of_work() as s:
        _lock(s)  # one writer with the rounds, so an episode is escalated exactly once
        ids = _candidates(s, grace, now)
        if not ids:
            return []
        rows = s.execute(
            select(ProbeResult, Resolver, Organization)
            .join(Resolver, Resolver.id == ProbeResult.resolver_id)
            .join(Organization, Organization.id == Resolver.org_id)
            .where(ProbeResult.id.in_(ids))
            .order_by(Organization.name, ProbeResult.domain, Resolver.name)
        ).all()
        per_isp: dict[str, list[dict[str, Any]]] = defaultdict(list)
        orgs: dict[str, Organization] = {}
        marked: list[int] = []
        for result, resolver, org in rows:
            entry = entry_concerned(s, result.domain, result.expected)
            if entry is None:
                continue  # never blocked: no decision was disobeyed
            stage = stage_of(result.expected)
            item = {
                "domain": result.domain,
                "stage": stage,
                "expected": result.expected,
                "observed": result.observed,
                "since": result.since.isoformat(),
                "due_at": due_at(result.since, result.expected, grace).isoformat(),
                "grace": format_duration(grace.grace(result.expected)),
                "grace_seconds": grace.grace(result.expected).total_seconds(),
                "resolver": resolver.name,
                "resolver_id": resolver.id,
                "block_id": entry.id,
                "block_domain": entry.domain,
                "legal_basis": entry.legal_basis,
                "sanction_id": entry.sanction_id,
            }
            record(
                s,
                SYSTEM,
                AUDIT_ACTION,
                "block_entry",
                entry.id,
                {
                    **{k: v for k, v in item.items() if k not in ("legal_basis",)},
                    "isp": org.name,
                    "isp_id": org.id,
                },
            )
            per_isp[org.id].append({**item, "address": show_address(resolver.host, resolver.port)})
            orgs[org.id] = org
            marked.append(result.id)
            done.append(Escalated(org.name, resolver.name, result.domain, stage, entry.id))
            ESCALATIONS.labels(org.name, stage).inc()
        for org_id, items in per_isp.items():
            enqueue(
                s,
                orgs[org_id],
                None,
                EVENT,
                {
                    "isp": orgs[org_id].name,
                    "escalated_at": now.isoformat(),
                    "names": sorted({i["domain"] for i in items}),
                    "items": items,
                    "what": (
                        "These names are still not answered as the regulator decided at your "
                        "resolvers after the SOP's grace; this is on the case file."
                    ),
                },
            )
        if marked:
            s.execute(
                update(ProbeResult).where(ProbeResult.id.in_(marked)).values(escalated_at=now)
            )
    return done
