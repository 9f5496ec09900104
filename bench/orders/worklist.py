"""The inbox's and the regulator's board's page query on PostgreSQL: keyset by time left
against the OFFSET paging it replaced, at page 1 and deep in the list, with the indexes
migration ``0013_orders_worklist`` adds (the schema as migrated) and with them dropped (what
the page cost before).

One fresh database; ``--orders`` orders, half addressed to the platform whose inbox is
read (the other half to another, so the scope filter has work to do), all issued by the
regulator whose board is read; a tenth paused, a tenth answered. Each figure is the median
of ``--repeat`` calls of the page's Python function (rows as the page reads them) and, for
the keyset statement, PostgreSQL's own ``EXPLAIN ANALYZE`` execution time. Rewrites
``docs/benchmarks-worklist.md``::

    python -m bench.orders.worklist --orders 20000 --repeat 9
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, text, update

from bench.common import (
    REPO,
    command_line,
    fresh_pg_database,
    load_average,
    machine_table,
    markdown_table,
    now_utc,
    write_section,
)

OUT = REPO / "docs" / "benchmarks-worklist.md"
MIGRATION = "0013_orders_worklist"
#: The indexes the migration adds, by the reader they serve (``tangkal.orders.models``).
INDEXES = ("ix_orders_platform_worklist", "ix_orders_regulator_worklist")


def _seed(db: Any, n: int) -> tuple[Any, Any, Any]:
    """``n`` orders in one write per thousand, deadlines spread over the last 25 hours."""
    from tangkal.accounts import services as accounts
    from tangkal.accounts.models import Organization, OrgKind, Role
    from tangkal.accounts.principal import SYSTEM, Principal
    from tangkal.orders.filing import prepare_order, write_orders
    from tangkal.orders.models import Order, OrderStatus
    from tangkal.orders.schemas import OrderIn

    with db.unit_of_work() as s:
        reg = accounts.create_org(s, SYSTEM, kind=OrgKind.REGULATOR, name="bench-kominfo")
        orgs = [
            accounts.create_org(s, SYSTEM, kind=OrgKind.PLATFORM, name=f"bench-platform-{i}")
            for i in range(2)
        ]
        ids = [reg.id, *(o.id for o in orgs)]
    analyst = Principal(
        org_id=ids[0], org_name="bench-kominfo", org_kind=OrgKind.REGULATOR, role=Role.ANALYST
    )
    moderator = Principal(
        org_id=ids[1], org_name="bench-platform-0", org_kind=OrgKind.PLATFORM, role=Role.MODERATOR
    )
    now = datetime.now(UTC)
    for start in range(0, n, 1000):
        with db.unit_of_work() as s:
            platforms = [s.get(Organization, i) for i in ids[1:]]
            batch = []
            for i in range(start, min(n, start + 1000)):
                org = platforms[i % 2]
                assert org is not None
                new = prepare_order(
                    analyst,
                    OrderIn(
                        platform=org.name,
                        category="gambling" if i % 3 else "terrorism",
                        locators=[f"https://t.me/bench_chan_{i:06d}/1"],
                        legal_basis="UU 11/2008",
                        reason="bench",
                    ),
                    now=now - timedelta(minutes=(i * 7) % 1500),
                ).for_platform(org.id)
                batch.append((analyst, new, org))
            write_orders(s, batch)
            paused = [o.id for k, (_, o, _) in enumerate(batch) if k % 10 == 8]
            done = [o.id for k, (_, o, _) in enumerate(batch) if k % 10 == 9]
            s.execute(
                update(Order)
                .where(Order.id.in_(paused))
                .values(status=OrderStatus.CLARIFICATION_REQUESTED, paused_at=now)
            )
            s.execute(update(Order).where(Order.id.in_(done)).values(status=OrderStatus.COMPLIED))
    return moderator, analyst, now


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--depth", type=int, default=20, help="the deep page's number")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database
    from tangkal.orders import services as orders
    from tangkal.sop.profile import load_profile
    from tangkal.web import worklist

    bands = worklist.bands_for(load_profile("indonesia").deadlines.values())
    load_at_start = load_average()
    with fresh_pg_database("tangkal_bench_worklist") as url:
        db = Database(url)
        upgrade(db)
        with db.engine.connect() as c:
            there = set(
                c.execute(
                    text("SELECT indexname FROM pg_indexes WHERE tablename = 'orders'")
                ).scalars()
            )
        assert set(INDEXES) <= there, f"{MIGRATION} did not create {INDEXES}"
        moderator, analyst, now = _seed(db, args.orders)
        with db.engine.begin() as c:
            c.execute(text("ANALYZE"))
        pages: list[tuple[str, Any, Any, int]] = []
        for who, reader in (("inbox", moderator), ("board", analyst)):
            lq = worklist.ListQuery()
            with db.unit_of_work() as s:
                for _ in range(args.depth - 1):
                    page = worklist.read_page(s, reader, lq, bands, now)
                    assert page.next is not None, "fewer orders than the deep page needs"
                    lq = worklist.ListQuery(after=page.next)
            pages.append((f"{who}, page 1", reader, worklist.ListQuery(), 0))
            pages.append(
                (f"{who}, page {args.depth}", reader, lq, (args.depth - 1) * worklist.PAGE_SIZE)
            )
        # the keyset row statement as sent, to ask PostgreSQL how it runs it
        seen: dict[str, tuple[str, Any]] = {}
        current = [""]

        def grab(_c: Any, _cur: Any, stmt: str, params: Any, *_: Any) -> None:
            if "FROM orders JOIN" in stmt:
                seen[current[0]] = (stmt, params)

        event.listen(db.engine, "before_cursor_execute", grab)

        def measure() -> list[list[Any]]:
            rows = []
            for name, reader, page_q, offset in pages:
                current[0] = name
                with db.unit_of_work() as s:
                    ks = _median_ms(
                        partial(worklist.read_page, s, reader, page_q, bands, now), args.repeat
                    )
                    counts = _median_ms(
                        partial(worklist.band_counts, s, reader, page_q, bands, now), args.repeat
                    )
                    off = _median_ms(
                        partial(
                            orders.list_orders,
                            s,
                            reader,
                            limit=worklist.PAGE_SIZE + 1,
                            offset=offset,
                        ),
                        args.repeat,
                    )
                stmt, params = seen[name]
                raw = db.engine.raw_connection()
                try:
                    cur = raw.cursor()
                    spent = []
                    for _ in range(args.repeat):
                        cur.execute("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) " + stmt, params)
                        plan = [r[0] for r in cur.fetchall()]
                        found = re.search(r"Execution Time: ([\d.]+)", plan[-1])
                        assert found, plan[-1]
                        spent.append(float(found[1]))
                finally:
                    raw.close()
                scan = next((p for p in plan if "Scan" in p and " on orders" in p), "")
                rows.append(
                    [
                        name,
                        f"{ks:.2f}",
                        f"{statistics.median(spent):.2f}",
                        f"{counts:.2f}",
                        f"{off:.2f}",
                        scan.split("  (")[0].strip().removeprefix("-> ").strip(),
                    ]
                )
            return rows

        migrated = measure()
        with db.engine.begin() as c:
            for name in INDEXES:
                c.execute(text(f"DROP INDEX {name}"))
            c.execute(text("ANALYZE orders"))
        dropped = measure()
        event.remove(db.engine, "before_cursor_execute", grab)
        db.dispose()

    head = [
        "page",
        "keyset page in all (ms)",
        "its row statement, PostgreSQL execution (ms)",
        "its band counts (ms)",
        "OFFSET page it replaced (ms)",
        "plan of the orders table",
    ]
    report = "\n".join(
        [
            "# Benchmarks: the inbox and the regulator's board by time left (issue 13)",
            "",
            f"    {command_line()}",
            "",
            f"Run {now_utc()}, load average {load_at_start} at the start, "
            f"{load_average()} at the end. {args.orders:,} orders, half of them in the inbox "
            "read, all of them on the board read; medians of "
            f"{args.repeat} calls. Keyset page: `web.worklist.read_page` (the rows with their "
            "item count and first item, and the band counts); OFFSET page: "
            "`orders.services.list_orders` at the same depth (issue order, the page's former "
            "query).",
            "",
            f"The schema as migrated (with `{INDEXES[0]}` and `{INDEXES[1]}`, migration "
            f"`{MIGRATION}`):",
            "",
            markdown_table(head, migrated),
            "",
            f"The same database with both indexes dropped (the schema before `{MIGRATION}`):",
            "",
            markdown_table(head, dropped),
            "",
            machine_table(),
        ]
    )
    write_section(args.out, report)
    print(report)


if __name__ == "__main__":
    main()
