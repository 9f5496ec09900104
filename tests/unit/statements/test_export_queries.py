"""``GET /api/v1/public/statements`` makes the same number of database statements for 10
sanctions (and refused restorations) as for 200, each of another platform, on each backend
(counted with a ``before_cursor_execute`` listener on the app's own engine)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.normalisation.models import Normalisation, NormalisationStatus
from tangkal.settings import Settings
from tests import bulk_rows as bulk
from tests.factories import Factory
from tests.support import statements_sent


def _sanctions(db: Database, regulator: str, k: int) -> None:
    """``k`` platforms, each with an order, an active sanction over two of its names, and a
    refused request to restore one of them."""
    now = datetime.now(UTC) - timedelta(days=1)
    official = "kominfo/official(official)"
    rows = bulk.tables_for(Normalisation)
    for i in range(k):
        at = now + timedelta(seconds=i)
        made = bulk.sanctioned_platform(rows, regulator, official, at)
        tag = made.tag
        rows[Normalisation].append(
            {
                "id": str(uuid.uuid4()),
                "reference": f"N-{tag}",
                "platform_org_id": made.platform,
                "regulator_org_id": regulator,
                "source": "platform",
                "domains": [f"n0.{tag}.example"],
                "block_ids": [made.blocks[0]],
                "reason": "removed the channels",
                "status": NormalisationStatus.REFUSED,
                "requested_by": f"p-{tag}/admin(admin)",
                "requested_at": at,
                "decide_by": at + timedelta(days=2),
                "sop_profile": "indonesia",
                "decided_by": official,
                "decided_at": at + timedelta(hours=1),
                "decision_reason": "still reachable",
            }
        )
    bulk.insert_all(db, rows)


def test_the_export_makes_a_fixed_number_of_queries(
    db: Database, factory: Factory, tmp_path: Path
) -> None:
    regulator = factory.regulator()
    app = create_app(db, Settings(data_dir=tmp_path), background=False)

    def export() -> tuple[int, dict[str, Any]]:
        with statements_sent(db.engine) as seen:
            r = web.get("/api/v1/public/statements", params={"limit": 1000})
        assert r.status_code == 200, r.text[:500]
        return len(seen), r.json()

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
