"""The transparency figures, from real orders and blocks on each database backend."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from tangkal.blocklist import appeals
from tangkal.blocklist import services as blocklist
from tangkal.db.session import Database
from tangkal.orders import services as orders
from tangkal.orders.models import Order
from tangkal.orders.schemas import OrderIn, ResponseIn
from tangkal.sop.profile import load_profile
from tangkal.web import transparency
from tests.factories import SYSTEM_OFFICIAL, Factory


def _file(db: Database, factory: Factory, category: str, channel: str) -> tuple[str, object]:
    reg = factory.regulator()
    plat = factory.platform()
    analyst = factory.principal(reg, "analyst")
    with db.unit_of_work() as s:
        order = orders.file_order(
            s,
            analyst,
            OrderIn(
                platform=plat.name,
                category=category,
                locators=[f"https://t.me/{channel}/1"],
                legal_basis="UU 5/2018",
                reason="propaganda",
            ),
            load_profile("indonesia"),
        )
        return order.id, factory.principal(plat, "moderator")


def test_report_counts_orders_compliance_blocks_and_appeals(db: Database, factory: Factory) -> None:
    first, moderator = _file(db, factory, "terrorism", "channel_one")
    _file(db, factory, "terrorism", "channel_two")
    _file(db, factory, "gambling", "channel_three")
    with db.unit_of_work() as s:
        orders.acknowledge(s, moderator, first)
        o = s.get(Order, first)
        assert o is not None
        o.received_at = datetime.now(UTC) - timedelta(hours=2)  # received two hours ago
        orders.respond(
            s, moderator, first, ResponseIn(action="removed", statement="Removed the channel post")
        )
    with db.unit_of_work() as s:
        req = blocklist.BlockRequest.build(
            domain="t.me", action="nxdomain", legal_basis="UU 5/2018", reason="propaganda"
        )
        official = SYSTEM_OFFICIAL
        entry, _ = blocklist.create_block(s, official, req)
        appeals.submit(s, "t.me", "warga@contoh.co.id", "This blocks a whole service.")
    with db.unit_of_work() as s:
        r = transparency.report(s, load_profile("indonesia"))
    assert r.orders_total == 3
    assert {c.key: c.count for c in r.by_category} == {"terrorism": 2, "gambling": 1}
    assert [c.label_id for c in r.by_category] == ["Terorisme", "Perjudian"]
    assert sum(c.count for c in r.by_platform) == 3
    assert {c.key: c.count for c in r.by_outcome}["complied"] == 1
    assert r.complied == 1
    assert r.median_hours_to_compliance is not None
    assert 1.9 < r.median_hours_to_compliance < 2.1
    assert r.responses_on_time == 1
    assert r.blocks_active == 1
    assert sum(m.added for m in r.blocks_by_month) == 1
    assert r.appeals_total == 1
    assert entry.status.value == "active"

    rows = list(csv.DictReader(io.StringIO(transparency.to_csv(r))))
    by = {(row["section"], row["dimension"], row["key"]): row["value"] for row in rows}
    assert by[("orders", "total", "")] == "3"
    assert by[("orders", "category", "terrorism")] == "2"
    assert by[("blocks", "active", "")] == "1"
    assert by[("appeals", "total", "")] == "1"
    body = r.to_dict()
    assert body["orders"]["total"] == 3 and body["blocks"]["active"] == 1


def test_empty_database_gives_zeros_not_errors(db: Database) -> None:
    with db.unit_of_work() as s:
        r = transparency.report(s, load_profile("indonesia"))
    assert (r.orders_total, r.blocks_active, r.appeals_total) == (0, 0, 0)
    assert r.median_hours_to_compliance is None
    assert transparency.to_csv(r).startswith("section,dimension,key")


def test_csv_cells_cannot_start_a_spreadsheet_formula() -> None:
    assert transparency._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert transparency._cell("Telegram") == "Telegram"
