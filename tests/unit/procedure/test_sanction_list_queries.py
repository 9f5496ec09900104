"""A list of sanctions in the API's shape costs the same number of database statements for
10 sanctions as for 200, each of another platform with its own order and names: the
platforms, the blocks and the orders' references are read once for the whole list
(``services.to_dicts``), not once per sanction (counted on the database's own engine)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tangkal.accounts.models import Role
from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.sanctions import services
from tangkal.settings import Settings
from tests import bulk_rows as bulk
from tests.factories import Factory
from tests.support import statements_sent

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

OFFICIAL = "kominfo/official(official)"


def _sanctions(db: Database, regulator: str, k: int) -> None:
    rows = bulk.tables_for()
    now = datetime.now(UTC) - timedelta(days=1)
    for i in range(k):
        bulk.sanctioned_platform(rows, regulator, OFFICIAL, now + timedelta(seconds=i))
    bulk.insert_all(db, rows)


def test_the_listed_sanctions_are_read_in_a_fixed_number_of_statements(
    db: Database, factory: Factory
) -> None:
    regulator = factory.regulator()
    official = factory.principal(regulator, Role.OFFICIAL)

    def listed() -> tuple[int, list[dict[str, Any]]]:
        with db.unit_of_work() as s, statements_sent(db.engine) as seen:
            bodies = services.to_dicts(s, services.list_for(s, official, limit=1000), full=False)
        return len(seen), bodies

    _sanctions(db, regulator.id, 10)
    few, small = listed()
    _sanctions(db, regulator.id, 190)
    many, large = listed()
    assert len(small) == 10 and len(large) == 200
    assert many == few, (few, many)
    # 6 on PostgreSQL, 7 on SQLite: the sanctions, their orders and approvals (selectin), their
    # platforms, blocks and orders' references
    assert few <= 7
    first = large[0]
    assert first["platform"].startswith("p-") and len(first["blocks"]) == 2
    assert first["orders"][0]["reference"].startswith("O-")


def test_the_sanctions_api_list_costs_the_same_for_200_as_for_10(
    db: Database, factory: Factory, tmp_path: Path
) -> None:
    regulator = factory.regulator()
    token = factory.token(regulator, Role.OFFICIAL)
    with TestClient(create_app(db, Settings(data_dir=tmp_path), background=False)) as web:
        web.headers["Authorization"] = f"Bearer {token}"

        def listed() -> int:
            with statements_sent(db.engine) as seen:
                r = web.get("/api/v1/sanctions", params={"limit": 1000})
            assert r.status_code == 200, r.text[:500]
            return len(seen)

        listed()  # the first request of a process may read what later ones have cached
        _sanctions(db, regulator.id, 10)
        few = listed()
        _sanctions(db, regulator.id, 190)
        many = listed()
    assert many == few, (few, many)
