"""The transparency page's round trips to the database do not grow with the orders: the
same number of statements for 10 orders as for 1,000 (counted with a
``before_cursor_execute`` listener on the app's own engine), on each backend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.orders.models import Order, OrderResponse, OrderStatus, ResponseAction
from tangkal.settings import Settings
from tangkal.sop.profile import load_profile
from tangkal.web.transparency_data import CHARTS
from tangkal.web.transparency_pages import localise
from tests.factories import Factory
from tests.support import statements_sent


def _orders(db: Database, regulator: str, platform: str, k: int) -> None:
    now = datetime.now(UTC)
    orders, answers = [], []
    for i in range(k):
        at = now - timedelta(days=i % 330, hours=3)
        oid = str(uuid.uuid4())
        orders.append(
            {
                "id": oid,
                "reference": f"P-{uuid.uuid4().hex[:12]}",
                "regulator_org_id": regulator,
                "platform_org_id": platform,
                "category": ("terrorism", "gambling", "radicalism")[i % 3],
                "urgency": "urgent",
                "legal_basis": "UU 5/2018",
                "reason": "propaganda",
                "status": OrderStatus.COMPLIED if i % 4 else OrderStatus.OVERDUE,
                "sop_profile": "indonesia",
                "deadline_seconds": 4 * 3600,
                "created_by": "kominfo/analyst(analyst)",
                "issued_at": at,
                "received_at": at,
                "deadline_at": at + timedelta(hours=4),
                "overdue_at": None if i % 4 else at + timedelta(hours=4),
                "paused_seconds": 0.0,
                "steps_taken": 0,
                "updated_at": at,
            }
        )
        if i % 4:
            answers.append(
                {
                    "id": str(uuid.uuid4()),
                    "order_id": oid,
                    "action": ResponseAction.REMOVED,
                    "statement": {},
                    "responded_by": "telegram/moderator(moderator)",
                    "late": i % 7 == 0,
                    "created_at": at + timedelta(hours=1 + i % 5),
                }
            )
    with db.unit_of_work() as s:
        s.execute(insert(Order), orders)
        s.execute(insert(OrderResponse), answers)


def test_the_page_makes_a_fixed_number_of_queries(
    db: Database, factory: Factory, tmp_path: Path
) -> None:
    reg, plat = factory.regulator(), factory.platform()
    app = create_app(db, Settings(data_dir=tmp_path), background=False)

    def page() -> tuple[int, str]:
        with statements_sent(db.engine) as seen:
            r = web.get("/public/transparency", params={"lang": "en"})
        assert r.status_code == 200, r.text[:500]
        return len(seen), r.text

    with TestClient(app) as web:
        page()  # the first request of a process may read what later ones have cached
        _orders(db, reg.id, plat.id, 10)
        few, _ = page()
        _orders(db, reg.id, plat.id, 990)
        many, html = page()
    assert many == few
    assert few <= 40  # a small fixed number: the key figures, each chart, the checkpoint
    # orders by category, time to action and share within the deadline have figures
    assert html.count('role="img"') == 3
    assert all(f"/public/transparency/data/{key}.csv" in html for key in CHARTS)


def test_localised_tables_say_what_the_data_says() -> None:
    from tangkal.web.i18n import Formatter
    from tangkal.web.transparency_data import ChartData, SeriesData

    kind = CHARTS["within_deadline"]
    data = ChartData(
        "within_deadline",
        ("Telegram",),
        (
            SeriesData("share", "Within (%)", "Dalam tenggat (%)", (33.3,)),
            SeriesData("on_time", "On time", "Tepat waktu", (1,), drawn=False),
        ),
    )
    chart = localise(kind, data, Formatter("id"), load_profile("indonesia"))
    assert chart.title == "Porsi yang dijawab dalam tenggat, per platform"
    assert chart.category_title == "Platform"
    assert [s.label for s in chart.series] == ["Dalam tenggat (%)", "Tepat waktu"]
    assert chart.cell(33.3, chart.series[0]) == "33,3%"  # a share, Indonesian decimal comma
    assert chart.cell(1, chart.series[1]) == "1"  # a count, not a share
    months = localise(
        CHARTS["blocks"],
        ChartData("blocks", ("2017-07",), (SeriesData("added", "Added", "Ditambahkan", (11,)),)),
        Formatter("id"),
        load_profile("indonesia"),
    )
    assert months.categories == ("Juli 2017",) and months.category_title == "Bulan"
