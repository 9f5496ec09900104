"""The database's counts on ``/metrics``: orders by state, overdue orders, the outbox."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tangkal.accounts.models import Role
from tangkal.api.dbmetrics import DatabaseCollector
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.delivery.models import DeliveryStatus
from tangkal.orders import services
from tangkal.orders.models import Order, OrderStatus
from tangkal.orders.schemas import OrderIn
from tests.factories import Factory


def _scrape(db: Database) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db))
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _file(db: Database, factory: Factory, n: int) -> list[str]:
    reg, tg = factory.regulator(), factory.platform(domains=["t.me"])
    analyst = factory.principal(reg, Role.ANALYST)
    ids = []
    with db.unit_of_work() as s:
        for i in range(n):
            order = OrderIn(
                platform=tg.name,
                category="terrorism",
                locators=[f"https://t.me/s/kanal_{i}/1"],
                legal_basis="UU 5/2018",
                reason="bomb-making instructions",
            )
            ids.append(services.file_order(s, analyst, order).id)
    return ids


def test_every_state_is_a_series_and_the_counts_are_the_databases(
    db: Database, factory: Factory
) -> None:
    ids = _file(db, factory, 3)
    with db.unit_of_work() as s:
        s.get_one(Order, ids[0]).status = OrderStatus.WITHDRAWN
    seen = _scrape(db)
    assert seen["tangkal_metrics_database_up"] == {(): 1.0}
    orders = {dict(k)["status"]: v for k, v in seen["tangkal_orders"].items()}
    assert set(orders) == {s.value for s in OrderStatus}  # 0 included: no series vanishes
    assert orders["issued"] == 2 and orders["withdrawn"] == 1 and orders["complied"] == 0
    messages = {dict(k)["status"]: v for k, v in seen["tangkal_delivery_messages"].items()}
    assert set(messages) == {d.value for d in DeliveryStatus}
    assert sum(messages.values()) == 3  # one message to the platform per order


def test_an_open_order_past_its_deadline_is_overdue_before_the_scheduler_marks_it(
    db: Database, factory: Factory
) -> None:
    ids = _file(db, factory, 3)
    with db.unit_of_work() as s:
        late = s.get_one(Order, ids[0])
        late.deadline_at = utcnow() - timedelta(minutes=5)  # still "issued": not yet marked
        closed = s.get_one(Order, ids[1])
        closed.deadline_at = utcnow() - timedelta(minutes=5)
        closed.status = OrderStatus.COMPLIED  # answered: not overdue however late
    assert _scrape(db)["tangkal_orders_overdue"] == {(): 1.0}


def test_a_database_that_does_not_answer_is_a_series_not_a_failed_scrape(tmp_path) -> None:
    gone = Database(f"sqlite:///{tmp_path}/missing/none.db")  # the directory does not exist
    seen = _scrape(gone)
    assert seen == {"tangkal_metrics_database_up": {(): 0.0}}
