"""Measurements behind the notes in docs/benchmarks-scheduler.md (not part of the run).

``pass-cost``: what one scheduler pass costs per due order (overdue + ST1, batches of 500,
three rounds) and per order carrying a 2 MB evidence file (100 orders): milliseconds and
SQL statements per order, and how much the process's peak memory grew. Run it against
another copy of the code to compare (``PYTHONPATH=/path/to/other/src``); it prints which
``tangkal`` it measured.

``burst``: ``--due`` orders due at once (overdue + ST1) taken by one ``OrderScheduler.tick()``
(batches of 500, as the run's backlog phase), ``--rounds`` times, on a fresh database with
``--background`` open orders that are not due: seconds per tick, the process's CPU seconds
in it (steadier than wall time on a shared machine: it leaves out the waits for a busy
server) and statements per order. Also run against another copy of the code to compare.

``dead-entries``: the idle lease as orders are taken and leave dead versions behind in the
``next_due_at <= now`` range of ``ix_orders_next_due`` (autovacuum off for the table, so the
growth up to where it would fire shows): the pass, the plan the planner picks, and the same
lease as a plain index scan, which marks the dead entries it meets so later scans skip them.

    python -m bench.scheduler.experiments pass-cost
    python -m bench.scheduler.experiments burst --due 1000 --rounds 3 --background 100000
    python -m bench.scheduler.experiments dead-entries --orders 100000 --taken 10000,40000,50000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table

from bench.common import fresh_pg_database, load_average, pg_execute, proc_status_kib
from bench.scheduler import run as R


def pass_cost(args: argparse.Namespace) -> dict[str, Any]:
    import tangkal
    from tangkal.db.bulk import insert_rows
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database
    from tangkal.orders.models import Evidence
    from tangkal.orders.scheduler import OrderScheduler

    out: dict[str, Any] = {"tangkal": tangkal.__file__}
    with fresh_pg_database("tangkal_bench_cost") as url:
        db = Database(url)
        try:
            upgrade(db)
            orgs = R.make_orgs(db)
            sched = OrderScheduler(db, 1.0)
            ms, stmts = [], []
            for k in range(args.rounds):
                rows = [
                    R.due_order(i, f"C{k}", orgs, R.utc() - timedelta(seconds=1))
                    for i in range(args.due)
                ]
                R.write(db, rows)
                with R.statements(db.engine) as seen:
                    t = time.perf_counter()
                    counts = sched.run_once()
                    ms.append((time.perf_counter() - t) / args.due * 1e3)
                stmts.append(len(seen) / args.due)
                assert counts["steps"] == args.due, counts
            out["ms_per_order"] = [round(x, 1) for x in ms]
            out["statements_per_order"] = round(statistics.median(stmts), 2)
            rows = [
                R.due_order(i, "EV", orgs, R.utc() - timedelta(seconds=1))
                for i in range(args.evidence_orders)
            ]
            R.write(db, rows)
            blob = os.urandom(args.evidence_mb * 1024 * 1024)
            for j in range(0, len(rows), 10):
                with db.unit_of_work() as s:
                    insert_rows(
                        s,
                        cast(Table, Evidence.__table__),
                        [
                            {
                                "id": f"ev-{j + i}",
                                "order_id": rows[j + i][0]["id"],
                                "filename": "bukti.jpg",
                                "content_type": "image/jpeg",
                                "size": len(blob),
                                "sha256": "0" * 64,
                                "md5": "0" * 32,
                                "content": blob,
                                "created_at": R.utc(),
                            }
                            for i in range(min(10, len(rows) - j))
                        ],
                    )
            peak = proc_status_kib(os.getpid())["VmHWM"]
            with R.statements(db.engine) as seen:
                t = time.perf_counter()
                sched.run_once()
                elapsed = time.perf_counter() - t
            out[f"with_{args.evidence_mb}MB_evidence_ms_per_order"] = round(
                elapsed / len(rows) * 1e3, 1
            )
            out["with_evidence_statements_per_order"] = round(len(seen) / len(rows), 2)
            out["with_evidence_peak_memory_growth_mb"] = round(
                (proc_status_kib(os.getpid())["VmHWM"] - peak) / 1024
            )
        finally:
            db.dispose()
    return out


def burst(args: argparse.Namespace) -> dict[str, Any]:
    import tangkal
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database
    from tangkal.orders.scheduler import OrderScheduler

    out: dict[str, Any] = {"tangkal": tangkal.__file__, "background": args.background}
    ticks, cpu, stmts = [], [], []
    with fresh_pg_database("tangkal_bench_burst") as url:
        db = Database(url)
        try:
            upgrade(db)
            orgs = R.make_orgs(db)
            if args.background:
                R.load(url, args.background, orgs, 2017)
            sched = OrderScheduler(db, 1.0)
            out["load_before"] = load_average()
            for r in range(args.rounds):
                now = R.utc()
                R.write(
                    db,
                    [
                        R.due_order(i, f"BU{r}", orgs, now - timedelta(seconds=1 + i / args.due))
                        for i in range(args.due)
                    ],
                )
                with R.statements(db.engine) as seen:
                    t, c = time.perf_counter(), time.process_time()
                    counts = sched.tick()
                    ticks.append(round(time.perf_counter() - t, 2))
                    cpu.append(round(time.process_time() - c, 2))
                stmts.append(round(len(seen) / args.due, 2))
                assert counts["steps"] == args.due and counts["overdue"] == args.due, counts
            out["load_after"] = load_average()
        finally:
            db.dispose()
    out |= {"tick_s": ticks, "cpu_s": cpu, "statements_per_order": stmts}
    return out


def dead_entries(args: argparse.Namespace) -> list[dict[str, Any]]:
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database
    from tangkal.orders.scheduler import OrderScheduler

    results: list[dict[str, Any]] = []
    with fresh_pg_database("tangkal_bench_dead") as url:
        db = Database(url)
        try:
            upgrade(db)
            orgs = R.make_orgs(db)
            R.load(url, args.orders, orgs, 2017)
            pg_execute(url, "ALTER TABLE orders SET (autovacuum_enabled = false)")
            sched = OrderScheduler(db, 1.0)
            with R.statements(db.engine) as seen:
                sched.tick()
            stmt, params = R.lease_statement(seen)
            taken = 0
            for k in [0, *(int(x) for x in args.taken.split(","))]:
                if k:
                    # what a pass leaves behind for each order it takes: the version that
                    # was due, one more due version from an intermediate flush, then the
                    # order moved ahead to its next step
                    pick = (
                        f"WITH o AS (SELECT id FROM orders WHERE received_at IS NOT NULL "
                        f"ORDER BY id OFFSET {taken} LIMIT {k}) UPDATE orders SET "
                        "next_due_at = {} FROM o WHERE orders.id = o.id"
                    )
                    pg_execute(
                        url,
                        pick.format("now() - interval '1 minute'"),
                        pick.format("now() - interval '30 seconds'"),
                        pick.format("now() + interval '4 hours'"),
                    )
                    taken += k
                ticks = R.timed(sched.tick, 20)
                plan = R.explain(db, stmt, params, R.utc())
                plain = []
                for _ in range(2):
                    with db.engine.connect() as conn:
                        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
                        now = R.utc()
                        p = {key: (now if hasattr(v, "tzinfo") else v) for key, v in params.items()}
                        plain.append(
                            R.plan_summary(
                                [
                                    r[0]
                                    for r in conn.exec_driver_sql(
                                        "EXPLAIN (ANALYZE, BUFFERS) " + stmt, p
                                    ).all()
                                ]
                            )
                        )
                        conn.rollback()
                dead = pg_execute(
                    url, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'orders'"
                )[0][0]
                results.append(
                    {
                        "orders_taken": taken,
                        "n_dead_tup": dead,
                        "idle_tick_ms_p50": round(statistics.median(ticks) * 1e3, 2),
                        "lease_as_planned": R.plan_summary(plan),
                        "plain_index_scan_first": plain[0],
                        "plain_index_scan_again": plain[1],
                    }
                )
                print(json.dumps(results[-1]), flush=True)
        finally:
            db.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("pass-cost")
    c.add_argument("--due", type=int, default=500)
    c.add_argument("--rounds", type=int, default=3)
    c.add_argument("--evidence-orders", type=int, default=100)
    c.add_argument("--evidence-mb", type=int, default=2)
    b = sub.add_parser("burst")
    b.add_argument("--due", type=int, default=1000)
    b.add_argument("--rounds", type=int, default=3)
    b.add_argument("--background", type=int, default=0, help="open orders not due")
    d = sub.add_parser("dead-entries")
    d.add_argument("--orders", type=int, default=100_000)
    d.add_argument(
        "--taken",
        default="10000,40000,50000",
        help="orders taken between measurements, comma-separated",
    )
    args = p.parse_args(argv)
    if args.what == "pass-cost":
        print(json.dumps(pass_cost(args)))
    elif args.what == "burst":
        print(json.dumps(burst(args)))
    else:
        dead_entries(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
