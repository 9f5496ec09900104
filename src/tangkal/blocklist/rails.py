"""Proportionality rails: what a block on a name would touch, shown before it is approved.

The 2017 block of Telegram's web names was a whole-service block decided and executed
without anyone having to look at its collateral. Here every block request carries an
assessment, and two kinds of block cannot take effect on one official's word: a block of a
registered platform's domain (the whole service goes dark) and a block touching the
protected list (DNS infrastructure, the state's own names, infrastructure millions rely on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, PlatformDomain
from tangkal.blocklist.models import (
    BlockEntry,
    BlockStatus,
    ProtectedName,
    reverse_name,
)
from tangkal.locators import Domain

#: How many names beneath a candidate the assessment lists by name.
SAMPLE_SIZE = 10
#: Normalisation (restoring access) may be refused after more than this many blocks.
NORMALISATION_REFUSAL_AFTER = 3

_LISTED = (BlockStatus.ACTIVE, BlockStatus.SCHEDULED)


@dataclass(frozen=True, slots=True)
class PlatformHit:
    platform: str
    platform_id: str
    domain: str
    relation: str  # "same", "beneath" (candidate is beneath it) or "contains" (it is beneath)


@dataclass(frozen=True, slots=True)
class ProtectedHit:
    name: str
    note: str
    relation: str  # "same", "beneath" or "contains"


@dataclass(frozen=True, slots=True)
class Assessment:
    """What a block on ``domain`` touches; immutable, built only by :func:`assess`."""

    domain: str
    listed_beneath_count: int
    listed_beneath_sample: tuple[str, ...]
    covered_by: tuple[str, ...]  # listed parents whose block already covers the name
    platforms: tuple[PlatformHit, ...]
    protected: tuple[ProtectedHit, ...]
    previous_blocks: int
    reasons: tuple[str, ...] = field(default=())

    @property
    def whole_service(self) -> bool:
        return bool(self.platforms)

    @property
    def is_protected(self) -> bool:
        return bool(self.protected)

    @property
    def needs_second_approval(self) -> bool:
        return self.whole_service or self.is_protected

    @property
    def normalisation_may_be_refused(self) -> bool:
        return self.previous_blocks >= NORMALISATION_REFUSAL_AFTER

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "needs_second_approval": self.needs_second_approval,
            "reasons": list(self.reasons),
            "whole_service": self.whole_service,
            "platforms": [
                {"platform": p.platform, "domain": p.domain, "relation": p.relation}
                for p in self.platforms
            ],
            "protected": self.is_protected,
            "protected_names": [
                {"name": p.name, "note": p.note, "relation": p.relation} for p in self.protected
            ],
            "listed_beneath": {
                "count": self.listed_beneath_count,
                "sample": list(self.listed_beneath_sample),
            },
            "covered_by": list(self.covered_by),
            "collateral": {
                "listed_names_touched": self.listed_beneath_count,
                "platform_domains_touched": len(self.platforms),
                "protected_names_touched": len(self.protected),
            },
            "previous_blocks": self.previous_blocks,
            "normalisation_may_be_refused": self.normalisation_may_be_refused,
        }


def beneath_range(name: str) -> tuple[str, str]:
    """Bounds of the reversed names strictly beneath ``name`` ('/' sorts right after '.')."""
    r = reverse_name(name)
    return r + ".", r + "/"


def label_suffixes(name: str) -> list[str]:
    """``a.b.go.id`` -> ``[a.b.go.id, b.go.id, go.id, id]``: the name and all it is beneath."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def _relation(candidate: str, other: str) -> str:
    if candidate == other:
        return "same"
    return "beneath" if candidate.endswith("." + other) else "contains"


def platform_hits(session: Session, name: str) -> list[PlatformHit]:
    """Registered platform domains equal to, above or beneath ``name``."""
    upward = label_suffixes(name)
    rows = session.execute(
        select(PlatformDomain.name, Organization.name, Organization.id)
        .join(Organization, Organization.id == PlatformDomain.org_id)
        .where(
            PlatformDomain.name.in_(upward)
            | PlatformDomain.name.endswith("." + name, autoescape=True)
        )
        .order_by(PlatformDomain.name)
    ).all()
    return [PlatformHit(org, org_id, d, _relation(name, d)) for d, org, org_id in rows]


def protected_hits(session: Session, name: str) -> list[ProtectedHit]:
    """Protected names equal to, above or beneath ``name``."""
    rows = session.execute(
        select(ProtectedName.name, ProtectedName.note)
        .where(
            ProtectedName.name.in_(label_suffixes(name))
            | ProtectedName.name.endswith("." + name, autoescape=True)
        )
        .order_by(ProtectedName.name)
    ).all()
    return [ProtectedHit(n, note, _relation(name, n)) for n, note in rows]


def previous_block_count(session: Session, name: str) -> int:
    """How many times the name has been blocked before (entries that took effect)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(BlockEntry)
            .where(BlockEntry.domain == name, BlockEntry.activated_at.is_not(None))
        )
        or 0
    )


def assess(session: Session, domain: Domain) -> Assessment:
    """Everything a block on ``domain`` would touch, read from the current database."""
    name = domain.name
    low, high = beneath_range(name)
    beneath = (BlockEntry.rname > low) & (BlockEntry.rname < high) & BlockEntry.status.in_(_LISTED)
    count = int(session.scalar(select(func.count()).select_from(BlockEntry).where(beneath)) or 0)
    sample = tuple(
        session.scalars(
            select(BlockEntry.domain).where(beneath).order_by(BlockEntry.rname).limit(SAMPLE_SIZE)
        )
    )
    covered_by = tuple(
        session.scalars(
            select(BlockEntry.domain)
            .where(
                BlockEntry.domain.in_([a.name for a in domain.ancestors()]),
                BlockEntry.status.in_(_LISTED),
            )
            .order_by(func.length(BlockEntry.domain).desc())
        )
    )
    platforms = tuple(platform_hits(session, name))
    protected = tuple(protected_hits(session, name))
    previous = previous_block_count(session, name)

    reasons: list[str] = []
    for p in platforms:
        if p.relation == "contains":
            reasons.append(
                f"{p.domain} ({p.platform}'s registered domain) lies beneath {name}: the block "
                f"takes out that platform's service; a second official must approve."
            )
        else:
            reasons.append(
                f"{name} is {'' if p.relation == 'same' else 'beneath '}the registered domain "
                f"{p.domain} of the platform {p.platform}: this is a whole-service block; "
                f"a second official must approve."
            )
    for h in protected:
        where = {"same": "is", "beneath": "is beneath", "contains": "contains"}[h.relation]
        reasons.append(
            f"{name} {where} the protected name {h.name} ({h.note}); a second official must "
            f"approve."
        )
    if count:
        reasons.append(f"{count} listed name(s) lie beneath {name} and would be covered too.")
    if covered_by:
        reasons.append(f"{name} is already covered by the block on {covered_by[0]}.")
    if previous >= NORMALISATION_REFUSAL_AFTER:
        reasons.append(
            f"{name} has been blocked {previous} times before; normalisation may be refused "
            f"after more than {NORMALISATION_REFUSAL_AFTER} blocks."
        )
    return Assessment(
        domain=name,
        listed_beneath_count=count,
        listed_beneath_sample=sample,
        covered_by=covered_by,
        platforms=platforms,
        protected=protected,
        previous_blocks=previous,
        reasons=tuple(reasons),
    )
