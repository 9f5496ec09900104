"""How an order is shown: to the platform it is sent to, and to API callers.

Kept apart from the services so that the same functions shape an order that is already
stored (an ORM ``Order``) and one that is about to be written in a group commit (a
:class:`~tangkal.orders.filing.NewOrder`): both answer the same attribute names, and a
client cannot tell from the answer which path filed its order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tangkal.db.base import utcnow

if TYPE_CHECKING:
    from tangkal.orders.filing import NewOrder
    from tangkal.orders.models import Order


@dataclass(frozen=True, slots=True)
class RelatedOrder:
    id: str
    reference: str
    status: str
    issued_at: datetime
    shared: tuple[str, ...]
    same_item: bool


def order_payload(order: Order | NewOrder) -> dict[str, Any]:
    """What a platform receives: enough to act without another request."""
    return {
        "id": order.id,
        "reference": order.reference,
        "status": order.status.value,
        "category": order.category,
        "urgency": order.urgency,
        "legal_basis": order.legal_basis,
        "reason": order.reason,
        "issued_at": order.issued_at.isoformat(),
        "deadline_at": order.deadline_at.isoformat(),
        "deadline_seconds": order.deadline_seconds,
        "clock_started_at": order.received_at.isoformat() if order.received_at else None,
        "locators": [
            {
                "kind": loc.kind,
                "canonical": loc.canonical,
                "display": loc.display,
                "url": loc.url,
                "submitted": loc.submitted,
            }
            for loc in order.locators
        ],
        "evidence": [
            {"id": e.id, "filename": e.filename, "sha256": e.sha256, "size": e.size}
            for e in order.evidence
        ],
    }


def _escalation(order: Order | NewOrder, now: datetime) -> dict[str, Any]:
    from tangkal.orders.escalation import describe
    from tangkal.sop.profile import get_profile

    try:
        profile = get_profile(order.sop_profile)
    except Exception:  # the answer still shows what was done
        profile = None
    return describe(order, profile, now)


def order_dict(
    order: Order | NewOrder,
    *,
    now: datetime | None = None,
    related: list[RelatedOrder] | None = None,
    platform_name: str | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    body = order_payload(order)
    body.update(
        {
            "platform_org_id": order.platform_org_id,
            "platform": platform_name,
            "regulator_org_id": order.regulator_org_id,
            "sop_profile": order.sop_profile,
            "deadline_provisional": order.received_at is None,
            "receipt_basis": order.receipt_basis,
            "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
            "acknowledged_at": order.acknowledged_at.isoformat() if order.acknowledged_at else None,
            "clock_paused": order.paused_at is not None,
            "paused_seconds": round(
                order.paused_seconds
                + ((now - order.paused_at).total_seconds() if order.paused_at else 0.0),
                3,
            ),
            "responded_at": order.responded_at.isoformat() if order.responded_at else None,
            "overdue_at": order.overdue_at.isoformat() if order.overdue_at else None,
            "created_by": order.created_by,
            "clarifications": [
                {
                    "id": c.id,
                    "question": c.question,
                    "asked_at": c.asked_at.isoformat(),
                    "answer": c.answer,
                    "answered_at": c.answered_at.isoformat() if c.answered_at else None,
                }
                for c in order.clarifications
            ],
            "responses": [
                {
                    "id": r.id,
                    "action": r.action.value,
                    "statement": r.statement,
                    "late": r.late,
                    "created_at": r.created_at.isoformat(),
                    "responded_by": r.responded_by,
                }
                for r in order.responses
            ],
            # the letters as before (annulled ones marked); the whole escalation below
            "warnings": [
                {
                    "id": w.id,
                    "code": w.code,
                    "kind": w.kind,
                    "fine": w.fine_due,
                    "issued_at": w.issued_at.isoformat(),
                    "annulled": w.annulled_at is not None,
                }
                for w in order.steps
            ],
        }
    )
    body.update(_escalation(order, now))
    if related is not None:
        body["related_orders"] = [
            {
                "id": r.id,
                "reference": r.reference,
                "status": r.status,
                "issued_at": r.issued_at.isoformat(),
                "shared_keys": list(r.shared),
                "same_item": r.same_item,
            }
            for r in related
        ]
    return body
