"""The legal clock of an order, as pure functions of its timestamps.

The deadline runs from authenticated receipt (or deemed receipt when nobody fetched the
order), excludes time spent waiting for the regulator's clarification, and is recomputed
whenever one of those changes. Before receipt, ``deadline_at`` is provisional: what it would
be had the order been received at issue.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tangkal.orders.filing import NewOrder
    from tangkal.orders.models import Order


def compute_deadline(order: Order | NewOrder, now: datetime) -> datetime:
    start = order.received_at or order.issued_at
    paused = order.paused_seconds
    if order.paused_at is not None:
        paused += max(0.0, (now - order.paused_at).total_seconds())
    return start + timedelta(seconds=order.deadline_seconds + paused)


def remaining(order: Order | NewOrder, now: datetime) -> timedelta:
    return compute_deadline(order, now) - now
