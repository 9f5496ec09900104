"""The order page's "evidence in the hash banks" section, for both of the order's parties.

What each side is shown is decided once, in :mod:`tangkal.hashing.order_copies` (the same as
``GET /api/v1/orders/{id}/matches``); this module only words it for the page: evidence file
names instead of ids, shortened signals, each find's closeness on its type's scale and bank
threshold (:func:`tangkal.web.display.closeness`, as the match page shows it). Times stay
datetimes: the template renders them in the reader's zone (``|dt``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from tangkal.accounts.principal import Principal
from tangkal.hashing import order_copies
from tangkal.orders.models import Order
from tangkal.orders.shapes import RelatedOrder
from tangkal.web.display import closeness, short_signal


def context(
    session: Session, principal: Principal, order: Order, related: Sequence[RelatedOrder]
) -> dict[str, Any]:
    """``bank_matches`` for ``order_detail.html``: two queries whatever the number of finds."""
    found = order_copies.for_order(session, principal, order, related)
    files = {e.id: e.filename for e in order.evidence}
    return {
        "bank_matches": {
            "banked": [
                {
                    "b": b,
                    "file": files.get(b.evidence_id or "", ""),
                    "short": short_signal(b.signal),
                }
                for b in found.banked
            ],
            "finds": [
                {
                    "f": f,
                    "file": files.get(f.evidence_id or "", ""),
                    "closeness": closeness(f.signal_type, f.distance, f.threshold),
                    "short": short_signal(f.query_signal or f.upload_sha256 or ""),
                    "full": f.query_signal or f.upload_sha256 or "",
                }
                for f in found.finds
            ],
            "total": found.total,
            "shown_total": found.shown_total,
            "by_others": found.by_others,
            "sees_all": found.by_others is None,
            "linked": found.linked_orders,
        }
    }
