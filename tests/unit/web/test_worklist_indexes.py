"""The indexes of migration ``0013_orders_worklist`` serve the page statement of the inbox and
of the regulator's board as ``web.worklist.read_page`` sends it.

Why these tests: a planner uses an expression index only for the very expression the query
sorts by, and a partial index only where it can prove the query implies the index's
predicate, and the comparison of models with migrations (tests/unit/db/test_migrations.py)
checks neither: Alembic compares an expression index's key on PostgreSQL but not its WHERE,
and skips expression indexes on SQLite altogether. So the definitions are read back from
the migrated database, and the page's own statements, captured as sent with their bound
parameters, are put to ``EXPLAIN`` on each backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from tangkal.accounts.principal import Principal
from tangkal.db.migrate import downgrade, upgrade
from tangkal.db.session import Database
from tangkal.orders.models import OPEN_STATUSES, OrderStatus
from tangkal.sop.profile import load_profile
from tangkal.web import worklist
from tests.factories import Factory
from tests.unit.web.worklist_seed import Spec, file_orders, world

MIGRATION, BEFORE = "0013_orders_worklist", "0012_orders_escalation"
SCOPES = {
    "ix_orders_platform_worklist": "platform_org_id",
    "ix_orders_regulator_worklist": "regulator_org_id",
}
BANDS = worklist.bands_for(load_profile("indonesia").deadlines.values())


def _definitions(db: Database) -> dict[str, str]:
    """Each worklist index's definition as the database itself reports it."""
    with db.engine.connect() as c:
        if db.engine.dialect.name == "postgresql":
            rows = c.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'orders'")
            )
        else:
            rows = c.execute(
                text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'index' AND tbl_name = 'orders'"
                )
            )
        return {name: sql for name, sql in rows if name in SCOPES}


def test_each_worklist_index_keys_its_scope_then_the_pages_sort_key(db: Database) -> None:
    defs = _definitions(db)
    assert set(defs) == set(SCOPES)
    for name, scope in SCOPES.items():
        key = re.sub(r"[()\s]", "", defs[name].split(" WHERE ")[0].split("(", 1)[1])
        assert key == f"{scope},paused_atISNOTNULL,deadline_at,id", defs[name]


def test_each_backends_index_predicate_is_one_its_planner_can_use_for_the_page(
    db: Database, backend: str
) -> None:
    """PostgreSQL: partial on the open statuses, which the migration writes out
    (migrations do not import app code) and which must be the models' ``OPEN_STATUSES``,
    or the index would miss orders the page reads and the planner, unable to prove the
    page's ``IN`` implies it, would not use it. SQLite: no predicate, since SQLite matches a
    partial index's ``IN`` list only against the same literals and the page binds its
    statuses."""
    for name, sql in _definitions(db).items():
        if backend == "postgresql":
            where = sql.split(" WHERE ", 1)[1]
            statuses = set(re.findall(r"'([a-z_]+)'", where))
            assert statuses == {s.value for s in OPEN_STATUSES}, (name, sql)
        else:
            assert " WHERE " not in sql.upper(), (name, sql)


def test_the_downgrade_drops_the_worklist_indexes_and_the_upgrade_brings_them_back(
    unmigrated_db: Database,
) -> None:
    db = unmigrated_db
    upgrade(db)
    assert set(_definitions(db)) == set(SCOPES)
    downgrade(db, BEFORE)
    assert _definitions(db) == {}
    upgrade(db)
    assert set(_definitions(db)) == set(SCOPES)


# ------------------------------------------------------------------ the plans


def _specs(n: int, tag: str) -> list[Spec]:
    """Running clocks of both classes, some overdue, a tenth paused, a tenth answered."""
    return [
        Spec(
            f"{tag}_chan_{i:04d}",
            ago=timedelta(minutes=(i * 7) % 1500),
            category="gambling" if i % 3 else "terrorism",
            status=(
                OrderStatus.COMPLIED
                if i % 10 == 9
                else OrderStatus.CLARIFICATION_REQUESTED
                if i % 10 == 8
                else OrderStatus.ISSUED
            ),
            paused=i % 10 == 8,
        )
        for i in range(n)
    ]


@contextmanager
def _page_statements(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The row statements ``read_page`` sends, with their parameters, as the driver got them."""
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, stmt: str, params: Any, *_: Any) -> None:
        if "FROM orders JOIN" in stmt:
            seen.append((stmt, params))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)


def _plan(db: Database, stmt: str, params: Any) -> list[str]:
    with db.engine.connect() as c:
        if db.engine.dialect.name == "postgresql":
            # A few hundred rows fit in a handful of pages, where a sequential scan and a
            # sort can cost less than any index; off, the planner picks its cheapest index
            # path, which is ours only if the statement as written can use it.
            c.execute(text("SET LOCAL enable_seqscan = off"))
            return [r[0] for r in c.exec_driver_sql("EXPLAIN " + stmt, params)]
        return [r[-1] for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params)]


@pytest.mark.parametrize("reader", ["platform", "regulator"])
def test_the_first_and_the_next_page_are_read_in_order_from_the_scopes_index(
    db: Database, factory: Factory, reader: str
) -> None:
    """EXPLAIN of the page statement as sent, page 1 and the page after its cursor: the
    orders are read through the reader's worklist index with no sort step, and on
    PostgreSQL the next page starts the index scan at the cursor (the row-value comparison
    is an index condition, not a filter over the entries before it).

    PostgreSQL runs with ``enable_seqscan = off``: at a few hundred orders a sequential
    scan can be the cheaper plan (one seen for the inbox's second page), which says
    nothing about whether the index is usable, the point of the test. No other setting is
    changed, so another index (``ix_orders_platform_status``) stays a choice the planner
    could make instead."""
    w = world(factory)
    now = datetime.now(UTC)
    file_orders(db, w.analyst, w.platform, _specs(400, "a"), now)
    file_orders(db, w.analyst, w.other, _specs(400, "b"), now)
    with db.engine.begin() as c:
        c.execute(text("ANALYZE"))
    who: Principal = w.moderator if reader == "platform" else w.analyst
    index = (
        "ix_orders_platform_worklist" if reader == "platform" else "ix_orders_regulator_worklist"
    )
    with _page_statements(db) as sent, db.unit_of_work() as s:
        first = worklist.read_page(s, who, worklist.ListQuery(), BANDS, now)
        assert first.next is not None and len(first.rows) == worklist.PAGE_SIZE
        worklist.read_page(s, who, worklist.ListQuery(after=first.next), BANDS, now)
    assert len(sent) == 2
    postgres = db.engine.dialect.name == "postgresql"
    for page, (stmt, params) in zip(("first", "next"), sent, strict=True):
        plan = _plan(db, stmt, params)
        shown = "\n".join(plan)
        if postgres:
            scan = [p for p in plan if " on orders" in p]
            assert len(scan) == 1 and f"Index Scan using {index} on orders" in scan[0], shown
            assert not any("Sort" in p for p in plan), shown
            if page == "next":
                cond = plan[plan.index(scan[0]) + 1]
                assert "Index Cond:" in cond and "ROW((paused_at IS NOT NULL)" in cond, shown
        else:
            assert any(p.startswith(f"SEARCH orders USING INDEX {index} ") for p in plan), shown
            assert not any("TEMP B-TREE FOR ORDER BY" in p for p in plan), shown
