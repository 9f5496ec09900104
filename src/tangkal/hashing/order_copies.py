"""Copies of an order's evidence found by lookups, and what an order's page shows of them.

Writing: a lookup whose matches include content banked from an order's evidence (an upload to
``/api/v1/match``, a signal, a forwarded text, HMA's ``/m/...``, the console's match form)
records one :class:`~tangkal.hashing.models.OrderCopy` per matched banked signal and, as
before, the audit event ``order.copy_matched`` on that order. Allow-list matches, and matches
an allow-list suppressed, are not copies of the evidence and are not recorded.

Reading: :func:`for_order` is the order's "evidence in the banks" section, the same for the
console page and ``GET /api/v1/orders/{id}/matches``. Only the order's two parties get this
far (the order is looked up in the caller's scope first: anyone else gets the order's 404).
Then:

- the regulator of the order sees every find, named: which organisation, when, through which
  lookup, how near;
- the platform the order is addressed to sees its own finds in full, and of everyone else's
  (another platform, the regulator itself) only how many there were. That a copy is
  circulating elsewhere is what the platform needs to weigh the order; who else looked, and
  what they uploaded, is the other organisation's business with the regulator, and naming them
  would tell one platform about another's moderation. So: a count, no names, no times, no
  signals.

The evidence's bank status shows every signal banked from the order's evidence, with its bank
named where the caller may see that bank (shared, or its own); the regulator's private bank is
"a private bank" to the platform. The signals themselves are the evidence's hashes, which the
platform can compute from the evidence it already has.

Cost: whatever the number of finds, one query for the banked signals and one for the finds
(the newest :data:`ROWS` visible, with the counts as window functions over the same scan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select, true
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, OrgKind
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.hashing.banks import thresholds_of
from tangkal.hashing.models import Bank, BankContent, FindVia, OrderCopy

if TYPE_CHECKING:
    from tangkal.orders.models import Order
    from tangkal.orders.shapes import RelatedOrder

#: Finds listed per order (newest first); the counts cover all of them.
ROWS = 100

#: Longest query signal kept on a find (a PDQ hash is 64 characters, a video's frames far more).
QUERY_SIGNAL_KEPT = 512

#: The key prefix under which banking links orders through their matching content
#: (``orders.models.LocatorKey``, written by banking an order's evidence).
CONTENT_KEY = "content:"


# ---------------------------------------------------------------- writing


def record_finds(
    session: Session,
    principal: Principal,
    matches: Sequence[dict[str, Any]],
    *,
    via: FindVia,
    upload_sha256: str | None = None,
) -> list[OrderCopy]:
    """Record, on each order whose banked evidence ``matches`` includes, that a copy was found.

    ``matches`` are the match answer's rows (:func:`tangkal.hashing.matching.match`); their
    banks are in the session already (the match loaded them), so this adds no reads. One row
    per banked signal matched, and one ``order.copy_matched`` audit event per order.
    """
    hits = [
        m
        for m in matches
        if m.get("order_id") and not m.get("allowlist") and not m.get("suppressed_by_allowlist")
    ]
    rows: list[OrderCopy] = []
    for m in hits:
        bank = session.get(Bank, m["bank_id"])
        content = session.get(BankContent, m["content_id"])
        query = m.get("query_signal")
        rows.append(
            OrderCopy(
                order_id=m["order_id"],
                content_id=m["content_id"],
                evidence_id=content.evidence_id if content is not None else None,
                bank_id=m["bank_id"],
                bank_name=m["bank"],
                signal_type=m["signal_type"],
                distance=int(m["distance"]),
                threshold=thresholds_of(bank).get(m["signal_type"]) if bank is not None else None,
                query_signal=query if query and len(query) <= QUERY_SIGNAL_KEPT else None,
                via=via,
                upload_sha256=upload_sha256,
                found_by_org_id=principal.org_id,
                found_by=principal.actor,
            )
        )
    if not rows:
        return rows
    session.add_all(rows)
    session.flush()
    for order_id in sorted({r.order_id for r in rows}):
        mine = [r for r in rows if r.order_id == order_id]
        record(
            session,
            principal,
            "order.copy_matched",
            "order",
            order_id,
            {
                "by_org": principal.org_name,
                "via": via.value,
                "upload_sha256": upload_sha256,
                "matches": [
                    {
                        "find_id": r.id,
                        "content_id": r.content_id,
                        "signal_type": r.signal_type,
                        "distance": r.distance,
                    }
                    for r in mine
                ],
            },
        )
    return rows


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class BankedSignal:
    """One signal banked from the order's evidence."""

    content_id: int
    evidence_id: str | None
    signal_type: str
    signal: str
    bank: str | None  # None: a bank the caller may not see
    bank_shared: bool
    bank_enabled: bool
    added_by: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Find:
    """One copy found, as the caller may see it."""

    id: int
    content_id: int
    evidence_id: str | None
    bank: str
    signal_type: str
    distance: int
    threshold: int | None
    query_signal: str | None
    via: FindVia
    upload_sha256: str | None
    org_id: str
    org_name: str
    found_by: str
    found_at: datetime


@dataclass(frozen=True, slots=True)
class OrderMatches:
    """The order's evidence in the banks: what is banked, the copies found, the orders linked.

    ``total`` counts every find the caller is told of; ``finds`` lists the newest of the
    caller's visible ones (all for the regulator, its own for the platform); ``by_others``
    counts the finds a platform is told of but not shown (None for the regulator, who is
    shown them all).
    """

    banked: list[BankedSignal]
    finds: list[Find]
    total: int
    shown_total: int
    by_others: int | None
    linked_orders: list[RelatedOrder]

    def as_dict(self) -> dict[str, Any]:
        return {
            "banked": [
                {
                    "content_id": b.content_id,
                    "evidence_id": b.evidence_id,
                    "signal_type": b.signal_type,
                    "signal": b.signal,
                    "bank": b.bank,
                    "bank_shared": b.bank_shared,
                    "bank_enabled": b.bank_enabled,
                    "added_by": b.added_by,
                    "added_at": b.added_at.isoformat(),
                }
                for b in self.banked
            ],
            "copies_found": {
                "total": self.total,
                "shown_in_full": self.shown_total,
                "by_other_organisations": self.by_others,
                "finds": [
                    {
                        "id": f.id,
                        "content_id": f.content_id,
                        "evidence_id": f.evidence_id,
                        "bank": f.bank,
                        "signal_type": f.signal_type,
                        "distance": f.distance,
                        "threshold": f.threshold,
                        "query_signal": f.query_signal,
                        "via": f.via.value,
                        "upload_sha256": f.upload_sha256,
                        "found_by_org_id": f.org_id,
                        "found_by_org": f.org_name,
                        "found_by": f.found_by,
                        "found_at": f.found_at.isoformat(),
                    }
                    for f in self.finds
                ],
            },
            "linked_orders": [
                {
                    "id": r.id,
                    "reference": r.reference,
                    "status": r.status,
                    "issued_at": r.issued_at.isoformat(),
                    "shared_keys": list(r.shared),
                }
                for r in self.linked_orders
            ],
        }


def sees_all(principal: Principal, order: Order) -> bool:
    """The order's regulator is shown every find; its platform only its own."""
    return principal.org_kind is OrgKind.REGULATOR and principal.org_id == order.regulator_org_id


def for_order(
    session: Session,
    principal: Principal,
    order: Order,
    related: Sequence[RelatedOrder],
    *,
    rows: int = ROWS,
) -> OrderMatches:
    """The order's evidence in the banks as ``principal`` may see it (module docstring).

    ``order`` must come from ``orders.services.get_order`` (so the caller is one of its
    parties) and ``related`` from ``orders.services.related_orders`` for the same caller; the
    orders linked through matching evidence are those of them that share a content key.
    """
    return OrderMatches(
        banked=_banked(session, principal, order.id),
        linked_orders=[r for r in related if any(k.startswith(CONTENT_KEY) for k in r.shared)],
        **_finds(session, principal, order, rows),
    )


def _banked(session: Session, principal: Principal, order_id: str) -> list[BankedSignal]:
    q = (
        select(
            BankContent.id,
            BankContent.evidence_id,
            BankContent.signal_type,
            BankContent.signal,
            BankContent.added_by,
            BankContent.created_at,
            Bank.name,
            Bank.shared,
            Bank.enabled,
            Bank.owner_org_id,
        )
        .join(Bank, Bank.id == BankContent.bank_id)
        .where(BankContent.order_id == order_id)
        .order_by(BankContent.id)
    )
    return [
        BankedSignal(
            content_id=r.id,
            evidence_id=r.evidence_id,
            signal_type=r.signal_type,
            signal=r.signal,
            bank=r.name if r.shared or r.owner_org_id == principal.org_id else None,
            bank_shared=r.shared,
            bank_enabled=r.enabled,
            added_by=r.added_by,
            added_at=r.created_at,
        )
        for r in session.execute(q)
    ]


def _finds(session: Session, principal: Principal, order: Order, rows: int) -> dict[str, Any]:
    """The visible finds and the counts, in one statement.

    The counts are window functions over the order's finds, computed before the LIMIT, so
    they cover every find while only ``rows`` come back. For a platform, its own finds sort
    first and the others' rows that fill the rest of the page are counted, never shown.
    """
    everything = sees_all(principal, order)
    own = true() if everything else (OrderCopy.found_by_org_id == principal.org_id)
    newest = (OrderCopy.found_at.desc(), OrderCopy.id.desc())
    q = (
        select(
            OrderCopy,
            Organization.display_name,
            own.label("own"),
            func.sum(case((own, 1), else_=0)).over().label("own_n"),
            func.count().over().label("n"),
        )
        .join(Organization, Organization.id == OrderCopy.found_by_org_id)
        .where(OrderCopy.order_id == order.id)
        .order_by(*newest if everything else (case((own, 0), else_=1), *newest))
        .limit(rows)
    )
    result = session.execute(q).all()
    total = int(result[0].n) if result else 0
    shown = int(result[0].own_n or 0) if result else 0
    finds = [
        Find(
            id=c.id,
            content_id=c.content_id,
            evidence_id=c.evidence_id,
            bank=c.bank_name,
            signal_type=c.signal_type,
            distance=c.distance,
            threshold=c.threshold,
            query_signal=c.query_signal,
            via=c.via,
            upload_sha256=c.upload_sha256,
            org_id=c.found_by_org_id,
            org_name=name,
            found_by=c.found_by,
            found_at=c.found_at,
        )
        for c, name, is_own, _, _ in result
        if everything or is_own
    ]
    return {
        "finds": finds,
        "total": total,
        "shown_total": shown,
        "by_others": None if everything else total - shown,
    }
