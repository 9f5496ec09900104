"""Metrics read from the database at scrape time: orders by state, overdue orders, outbox.

These are facts about the shared database, not about one process, so they are not kept in
prometheus-client's per-process values: under ``--workers N`` a gauge set by one worker is
one series per pid, stale when that worker dies, and a worker that never filed an order would
say nothing. Asking the database when ``/metrics`` is scraped gives every worker the same
answer, right after a restart too, the way postgres_exporter and similar exporters work.

Each scrape costs three small aggregate queries: ``GROUP BY status`` over the orders and the
outbox, and a count of open orders past their deadline on ``ix_orders_deadline``
(status, deadline_at). On a database that does not answer the collector reports
``tangkal_metrics_database_up 0`` and no database families, so a scrape still succeeds and
the outage is itself a series an alert can use (``/readyz`` says the same to a balancer).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.delivery.models import DeliveryStatus, OutboxMessage
from tangkal.orders.models import OPEN_STATUSES, Order, OrderStatus


class DatabaseCollector(Collector):
    """A prometheus-client collector over one :class:`Database`; see the module text."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "tangkal_metrics_database_up",
            "1 when the database answered this scrape's queries, 0 when it did not",
        )
        try:
            with self.db.read_only() as s:
                orders = dict(
                    s.execute(select(Order.status, func.count()).group_by(Order.status)).all()
                )
                overdue = s.scalar(
                    select(func.count())
                    .select_from(Order)
                    .where(Order.status.in_(OPEN_STATUSES), Order.deadline_at < utcnow())
                )
                outbox = dict(
                    s.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    ).all()
                )
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_state = GaugeMetricFamily(
            "tangkal_orders", "Orders in the database by state", labels=["status"]
        )
        for status in OrderStatus:  # every state, 0 included, so a series never vanishes
            by_state.add_metric([status.value], orders.get(status, 0))
        yield by_state
        late = GaugeMetricFamily(
            "tangkal_orders_overdue",
            "Open orders past their deadline now (whether or not the scheduler has marked "
            "them overdue yet)",
        )
        late.add_metric([], overdue or 0)
        yield late
        messages = GaugeMetricFamily(
            "tangkal_delivery_messages",
            "Messages to platforms in the outbox by state (pending = waiting for a retry)",
            labels=["status"],
        )
        for d in DeliveryStatus:
            messages.add_metric([d.value], outbox.get(d, 0))
        yield messages
