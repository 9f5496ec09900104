"""``GET /api/v1/public/statements`` makes the same number of database statements for 10
sanctions (and refused restorations) as for 200, each of another platform, on each backend
(counted with a ``before_cursor_execute`` listener on the app's own engine)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, insert

from tangkal.accounts.models import Organization, OrgKind
from tangkal.api.app import create_app
from tangkal.blocklist.models import BlockAction, BlockEntry, BlockStatus
from tangkal.db.session import Database
from tangkal.normalisation.models import Normalisation, NormalisationStatus
from tangkal.orders.models import Order, OrderStatus
from tangkal.sanctions.models import Sanction, SanctionOrder, SanctionStatus
from tangkal.settings import Settings
from tests.factories import Factory


def _sanctions(db: Database, regulator: str, k: int) -> None:
    """``k`` platforms, each with an order, an active sanction over two of its names, and a
    refused request to restore one of them."""
    now = datetime.now(UTC) - timedelta(days=1)
    rows: dict[Any, list[dict[str, Any]]] = {
        t: [] for t in (Organization, Order, Sanction, SanctionOrder, BlockEntry, Normalisation)
    }
    for i in range(k):
        tag = uuid.uuid4().hex[:10]
        at = now + timedelta(seconds=i)
        platform, order, sanction = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        rows[Organization].append(
            {"id": platform, "kind": OrgKind.PLATFORM, "name": f"p-{tag}", "display_name": tag}
        )
        rows[Order].append(
            {
                "id": order,
                "reference": f"O-{tag}",
                "regulator_org_id": regulator,
                "platform_org_id": platform,
                "category": "terrorism",
                "urgency": "urgent",
                "legal_basis": "UU 5/2018",
                "reason": "propaganda",
                "status": OrderStatus.OVERDUE,
                "sop_profile": "indonesia",
                "deadline_seconds": 4 * 3600,
                "created_by": "kominfo/analyst(analyst)",
                "issued_at": at,
                "received_at": at,
                "deadline_at": at + timedelta(hours=4),
                "paused_seconds": 0.0,
                "steps_taken": 3,
                "updated_at": at,
            }
        )
        rows[Sanction].append(
            {
                "id": sanction,
                "reference": f"S-{tag}",
                "platform_org_id": platform,
                "regulator_org_id": regulator,
                "action": "block",
                "legal_basis": "PM 5/2020 pasal 15",
                "reason": "orders unanswered",
                "status": SanctionStatus.ACTIVE,
                "source": "official",
                "proposed_by": "kominfo/official(official)",
                "proposed_at": at,
                "sop_profile": "indonesia",
                "activated_at": at,
            }
        )
        rows[SanctionOrder].append({"sanction_id": sanction, "order_id": order})
        blocks = [str(uuid.uuid4()), str(uuid.uuid4())]
        for n, block in enumerate(blocks):
            domain = f"n{n}.{tag}.example"
            rows[BlockEntry].append(
                {
                    "id": block,
                    "domain": domain,
                    "rname": ".".join(reversed(domain.split("."))),
                    "action": BlockAction.NXDOMAIN,
                    "status": BlockStatus.ACTIVE,
                    "legal_basis": "PM 5/2020 pasal 15",
                    "reason": "sanction",
                    "category": "terrorism",
                    "sanction_id": sanction,
                    "requested_by": "kominfo/official(official)",
                    "requested_by_key": "kominfo/official",
                    "requested_by_org_id": regulator,
                    "requested_at": at,
                    "activated_at": at,
                }
            )
        rows[Normalisation].append(
            {
                "id": str(uuid.uuid4()),
                "reference": f"N-{tag}",
                "platform_org_id": platform,
                "regulator_org_id": regulator,
                "source": "platform",
                "domains": [f"n0.{tag}.example"],
                "block_ids": [blocks[0]],
                "reason": "removed the channels",
                "status": NormalisationStatus.REFUSED,
                "requested_by": f"p-{tag}/admin(admin)",
                "requested_at": at,
                "decide_by": at + timedelta(days=2),
                "sop_profile": "indonesia",
                "decided_by": "kominfo/official(official)",
                "decided_at": at + timedelta(hours=1),
                "decision_reason": "still reachable",
            }
        )
    with db.unit_of_work() as s:
        for table, values in rows.items():
            s.execute(insert(table), values)


def test_the_export_makes_a_fixed_number_of_queries(
    db: Database, factory: Factory, tmp_path: Path
) -> None:
    regulator = factory.regulator()
    app = create_app(db, Settings(data_dir=tmp_path), background=False)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def export() -> tuple[int, dict[str, Any]]:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            r = web.get("/api/v1/public/statements", params={"limit": 1000})
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert r.status_code == 200, r.text[:500]
        return len(statements), r.json()

    with TestClient(app) as web:
        export()  # the first request of a process may read what later ones have cached
        _sanctions(db, regulator.id, 10)
        few, small = export()
        _sanctions(db, regulator.id, 190)
        many, large = export()
    kinds = [item["kind"] for item in large["items"]]
    assert kinds.count("sanction") == 200 and kinds.count("normalisation_refusal") == 200
    assert len(small["items"]) == 20 and small["skipped"] == large["skipped"] == 0
    assert many == few, (few, many)
    # 8 on PostgreSQL, 9 on SQLite, before this 47 for 10 and 807 for 200 (four per platform)
    assert few <= 10  # the four kinds, their platforms, the sanctions' names and orders
    # the batched reads give each statement what the per-row reads gave it
    sanction = next(i for i in large["items"] if i["kind"] == "sanction")
    assert "(2 domain names: n0." in sanction["decision_facts"]
    assert sanction["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"  # its order's
    assert sanction["category_specification"] == ["KEYWORD_TERRORIST_CONTENT"]
    assert "after 1 order(s) went unanswered" in sanction["decision_facts"]
    refusal = next(i for i in large["items"] if i["kind"] == "normalisation_refusal")
    assert refusal["illegal_content_legal_ground"] == "PM 5/2020 pasal 15"  # its first block's
    assert refusal["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
