"""The escalation scheduler against the clock, at 100,000 and 1,000,000 open orders.

What is measured, per size, on a fresh PostgreSQL database (one run, one command):

1. **Load**: N open orders that are not due for hours (received in the last day under the
   shipped ``indonesia`` profile, a mix of unreceived, delivered and acknowledged, urgent and
   normal; ``next_due_at`` where the profile puts it, 2 to 24 hours ahead), each with one
   locator, written through ``tangkal.db.bulk.insert_rows`` (one COPY per table and chunk),
   then ``VACUUM (ANALYZE)``, as autovacuum would leave a table that size.
2. **Idle pass**: ``OrderScheduler.tick()`` (the real pass: the ``next_due_at`` lease, the
   objection and normalisation reminders, one unit of work) when nothing is due; median of
   ``--idle-passes``. Beside it, in the same run: the **floor**, the same lease as one bare SQL
   statement through psycopg (no ORM, no session); the **before** reference, the previous
   scheduler's leases through the ORM (it leased the first 200 unreceived orders whether or
   not they were due, then the received orders past their deadline); and **no index**, the
   due condition evaluated over every open order by PostgreSQL itself (a sequential scan:
   what any scheduler without a due-moment index must at least pay).
3. ``EXPLAIN (ANALYZE, BUFFERS)`` of the lease statement exactly as SQLAlchemy sent it
   (captured from a real pass), with nothing due and with ``--due`` orders due.
4. **Real time**: ``--due`` orders whose deadlines fall within ``--window`` seconds, a few
   seconds after the load; the real ``OrderScheduler`` runs its ``PeriodicService`` loop at
   the production interval (1 s) while they pass. For every order: the escalation step's
   ``issued_at`` minus its ``due_at`` (the pass's clock), the ``overdue_at`` minus the
   deadline, and the chained audit event's ``at`` minus ``due_at`` (stamped just before the
   commit: when the step is on the record).
5. **Backlog**: ``--due`` orders already due at once, ``--rounds`` times: one ``tick()`` that
   takes them all (overdue + ST1 + audit + outbox per order), SQL statements per order, and
   the floor of just reading and locking those rows with their locators and steps.

    python -m bench.scheduler.run --orders 100000,1000000 --due 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import Engine, Table, event, select, text

from bench.common import (
    REPO,
    command_line,
    fresh_pg_database,
    load_average,
    machine_table,
    markdown_table,
    now_utc,
    percentile,
    pg_server_info,
    write_section,
)

OUT = REPO / "docs" / "benchmarks-scheduler.md"
PROFILE = "indonesia"
CHUNK = 10_000
TELEGRAM = ["t.me", "telegram.me", "telegram.org", "web.telegram.org"]
LEGAL = "UU 5/2018 jo. UU 1/2024 (ITE) Pasal 40 ayat 2b; Permenkominfo 5/2020 Pasal 15 ayat 6"
REASON = "Public channel posting attack instructions (bench)"
OPEN = ("issued", "delivered", "acknowledged", "clarification_requested", "overdue")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def utc() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- rows


def _orders_table() -> Table:
    from tangkal.orders.models import Order

    return cast(Table, Order.__table__)


def _locators_table() -> Table:
    from tangkal.orders.models import OrderLocator

    return cast(Table, OrderLocator.__table__)


@dataclass(frozen=True)
class Orgs:
    regulator: str
    platform: str


def make_orgs(db: Any) -> Orgs:
    from tangkal.accounts import services as accounts
    from tangkal.accounts.models import OrgKind
    from tangkal.accounts.principal import SYSTEM

    with db.unit_of_work() as s:
        reg = accounts.create_org(s, SYSTEM, kind=OrgKind.REGULATOR, name="kominfo")
        plat = accounts.create_org(
            s, SYSTEM, kind=OrgKind.PLATFORM, name="telegram", domains=TELEGRAM
        )
        return Orgs(reg.id, plat.id)


def order_row(
    i: int,
    tag: str,
    orgs: Orgs,
    *,
    status: str,
    urgency: str,
    issued: datetime,
    received: datetime | None,
    acknowledged: datetime | None,
    deadline_seconds: int,
    next_due: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One order and its locator, in the columns filing writes (``NewOrder.order_row``)
    plus the receipt columns a delivered or acknowledged order has by then."""
    from tangkal.db.base import new_id
    from tangkal.orders.filing import NewLocator, NewOrder
    from tangkal.orders.models import OrderStatus

    start = received or issued
    url = f"https://t.me/kanal_{tag.lower()}_{i}/{i % 997 + 1}"
    loc = NewLocator(
        position=0,
        kind="telegram_post",
        canonical=f"telegram:post/kanal_{tag.lower()}_{i}/{i % 997 + 1}",
        display=url.removeprefix("https://"),
        url=url,
        domain="t.me",
        submitted=url,
    )
    order = NewOrder(
        id=new_id(),
        reference=f"ORD-BENCH-{tag}-{i:08d}",
        platform="telegram",
        regulator_org_id=orgs.regulator,
        category="terrorism" if urgency == "urgent" else "gambling",
        urgency=urgency,
        legal_basis=LEGAL,
        reason=REASON,
        sop_profile=PROFILE,
        deadline_seconds=deadline_seconds,
        created_by="analyst@kominfo",
        issued_at=issued,
        deadline_at=start + timedelta(seconds=deadline_seconds),
        locators=(loc,),
        evidence=(),
        keys=(),
        platform_org_id=orgs.platform,
        status=OrderStatus(status),
        next_due_at=next_due,
    )
    row = order.order_row()
    row.update(
        received_at=received,
        receipt_basis="inbox" if received else None,
        delivered_at=received,
        acknowledged_at=acknowledged,
    )
    return row, loc.row(order.id)


def _template(orgs: Orgs) -> tuple[list[str], list[str]]:
    """The columns filing writes for an order and a locator (``NewOrder.order_row``,
    ``NewLocator.row``) plus the receipt columns a received order has by then: the bulk
    load below writes exactly these, so a column added to filing shows up here as a
    refusal, not as a silently different row."""
    row, loc = due_order(0, "T", orgs, utc())
    return list(row), list(loc)


def _defaults(table: Table, given: list[str]) -> dict[str, str]:
    """COPY text for the columns a row leaves out that have a Python-side default (as
    ``insert_rows`` fills them in); a callable default would need a value per row."""
    from sqlalchemy.sql.schema import ColumnDefault

    out = {}
    for column in table.c:
        if column.key in given or not isinstance(column.default, ColumnDefault):
            continue
        if column.default.is_callable:
            raise RuntimeError(f"{table.name}.{column.key} has a per-row default")
        value = column.default.arg
        out[column.key] = "\\N" if value is None else str(value)
    return out


_SECONDS: dict[int, str] = {}


def _ts(epoch: float) -> str:
    """A timestamp to the second as COPY text (background rows need no finer clock; a
    cached string per second is a fifth of the cost of ``datetime.isoformat``)."""
    s = int(epoch)
    text = _SECONDS.get(s)
    if text is None:
        text = _SECONDS[s] = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(s))
    return text


def _uuid(i: int, rng: random.Random) -> str:
    """A version-4-shaped UUID whose first twelve hex digits are ``i``: increasing, so the
    load appends to the primary-key index instead of a million random inserts into it
    (which made COPY four times slower at a million rows on this machine); the due orders
    get ``new_id()``'s random ones, as filing gives them."""
    h = f"{i:012x}{rng.getrandbits(80):020x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


#: the columns that differ between background orders, in the order of their placeholders
VARYING = (
    "id",
    "reference",
    "category",
    "urgency",
    "status",
    "deadline_seconds",
    "issued_at",
    "deadline_at",
    "next_due_at",
    "updated_at",
    "received_at",
    "receipt_basis",
    "delivered_at",
    "acknowledged_at",
)
LOC_VARYING = ("order_id", "canonical", "display", "url", "submitted")


def _line_format(cols: list[str], varying: tuple[str, ...], const: dict[str, str]) -> str:
    """One COPY text line as a %-format: constants in place, ``%s`` for the varying columns
    in ``varying``'s order. A column that is neither is refused here."""
    slots = {c: i for i, c in enumerate(varying)}
    order = sorted((c for c in cols if c in slots), key=cols.index)
    if [slots[c] for c in order] != sorted(slots[c] for c in order) or len(order) != len(varying):
        raise RuntimeError(f"the varying columns must appear in the order {varying}: {cols}")
    return "\t".join("%s" if c in slots else const[c].replace("%", "%%") for c in cols) + "\n"


def background_copy(
    start: int, stop: int, now: float, rng: random.Random, fmt: str, loc_fmt: str
) -> tuple[bytes, bytes]:
    """COPY text for open orders nothing will happen to for at least two hours: 20 %
    unreceived (deemed received 24 h after issue), 30 % urgent received in the last 2 h (4 h
    deadline), 50 % normal received in the last 22 h (24 h deadline); the received ones half
    acknowledged. Formatted here, not through ``insert_rows``: building a million
    ``NewOrder`` objects and their bound values costs this process minutes, and nothing about
    these rows is read by the passes being measured except their ``next_due_at``."""
    out: list[str] = []
    locs: list[str] = []
    null = "\\N"
    for i in range(start, stop):
        u = rng.random()
        oid = _uuid(i, rng)
        if u < 0.2:
            issued = now - rng.uniform(0, 22 * 3600)
            issued_s = _ts(issued)
            due = _ts(issued + 86400)
            out.append(
                fmt
                % (
                    oid,
                    f"ORD-BENCH-B-{i:08d}",
                    "gambling",
                    "normal",
                    "issued",
                    "86400",
                    issued_s,
                    due,
                    due,
                    issued_s,
                    null,
                    null,
                    null,
                    null,
                )
            )
        else:
            urgent = u < 0.5
            span, seconds = (7200, 14400) if urgent else (79200, 86400)
            received = now - rng.uniform(0, span)
            issued_s = _ts(received - rng.uniform(1, 600))
            received_s = _ts(received)
            due = _ts(received + seconds)
            acked = _ts(received + 30) if rng.random() < 0.5 else None
            out.append(
                fmt
                % (
                    oid,
                    f"ORD-BENCH-B-{i:08d}",
                    "terrorism" if urgent else "gambling",
                    "urgent" if urgent else "normal",
                    "acknowledged" if acked else "delivered",
                    str(seconds),
                    issued_s,
                    due,
                    due,
                    issued_s,
                    received_s,
                    "inbox",
                    received_s,
                    acked or null,
                )
            )
        path = f"kanal_b_{i}/{i % 997 + 1}"
        url = f"https://t.me/{path}"
        locs.append(loc_fmt % (oid, f"telegram:post/{path}", f"t.me/{path}", url, url))
    return "".join(out).encode(), "".join(locs).encode()


def due_order(i: int, tag: str, orgs: Orgs, deadline: datetime) -> tuple[dict, dict]:
    """An acknowledged urgent order whose 4-hour deadline is ``deadline``."""
    received = deadline - timedelta(hours=4)
    return order_row(
        i,
        tag,
        orgs,
        status="acknowledged",
        urgency="urgent",
        issued=received - timedelta(minutes=3),
        received=received,
        acknowledged=received + timedelta(seconds=30),
        deadline_seconds=14400,
        next_due=deadline,
    )


def write(db: Any, rows: Sequence[tuple[dict, dict]]) -> None:
    """Orders and their locators as filing writes them: ``db.bulk.insert_rows`` (COPY)."""
    from tangkal.db.bulk import insert_rows

    with db.unit_of_work() as s:
        insert_rows(s, _orders_table(), [r for r, _ in rows])
        insert_rows(s, _locators_table(), [loc for _, loc in rows])


@dataclass
class Loaded:
    copy_s: float
    index_s: float
    vacuum_s: float


def load(url: str, n: int, orgs: Orgs, seed: int) -> Loaded:
    """N background orders and their locators by COPY in one transaction. The tables'
    secondary indexes are dropped first and rebuilt afterwards from their own definitions
    (``pg_indexes.indexdef``: the same indexes, built by sorting instead of a million
    random inserts); rows are formatted while PostgreSQL takes the previous chunk
    (``QueuedLibpqWriter``); then ``VACUUM (ANALYZE)``, as autovacuum would leave a
    table that size."""
    import psycopg
    from psycopg.copy import QueuedLibpqWriter

    from bench.common import pg_execute

    cols, loc_cols = _template(orgs)
    fixed = _defaults(_orders_table(), cols)
    loc_fixed = _defaults(_locators_table(), loc_cols)
    cols, loc_cols = cols + list(fixed), loc_cols + list(loc_fixed)
    fmt = _line_format(
        cols,
        VARYING,
        {
            **fixed,
            "regulator_org_id": orgs.regulator,
            "platform_org_id": orgs.platform,
            "legal_basis": LEGAL,
            "reason": REASON,
            "sop_profile": PROFILE,
            "created_by": "analyst@kominfo",
            "steps_taken": "0",
        },
    )
    loc_fmt = _line_format(
        loc_cols,
        LOC_VARYING,
        {**loc_fixed, "position": "0", "kind": "telegram_post", "domain": "t.me"},
    )
    rng = random.Random(seed)
    now = time.time()
    t = time.monotonic()
    with psycopg.connect(url) as conn:
        defs = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename IN ('orders', 'order_locators') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ).fetchall()
        for name, _ in defs:
            conn.execute(f'DROP INDEX "{name}"')
        locators: list[bytes] = []
        with conn.cursor() as cur:
            with cur.copy(
                f"COPY orders ({', '.join(cols)}) FROM STDIN", writer=QueuedLibpqWriter(cur)
            ) as copy:
                for start in range(0, n, CHUNK):
                    orders, locs = background_copy(
                        start, min(n, start + CHUNK), now, rng, fmt, loc_fmt
                    )
                    copy.write(orders)
                    locators.append(locs)
            with cur.copy(
                f"COPY order_locators ({', '.join(loc_cols)}) FROM STDIN",
                writer=QueuedLibpqWriter(cur),
            ) as copy:
                for chunk in locators:
                    copy.write(chunk)
        locators.clear()
        copied = time.monotonic() - t
        t = time.monotonic()
        for _, definition in defs:
            conn.execute(definition)
        conn.commit()
        indexed = time.monotonic() - t
    t = time.monotonic()
    pg_execute(url, "VACUUM (ANALYZE) orders", "VACUUM (ANALYZE) order_locators")
    return Loaded(copied, indexed, time.monotonic() - t)


# ---------------------------------------------------------------- measuring


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine sends meanwhile, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def hook(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def lease_statement(seen: list[tuple[str, Any]]) -> tuple[str, Any]:
    for stmt, params in seen:
        if "FOR UPDATE" in stmt and "next_due_at" in stmt:
            return stmt, params
    raise RuntimeError("the pass sent no next_due_at lease:\n" + "\n".join(s for s, _ in seen))


def explain(db: Any, stmt: str, params: Any, now: datetime) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the captured lease with ``now`` as its moment; the
    transaction is rolled back (ANALYZE really locks the rows)."""
    params = {k: (now if isinstance(v, datetime) else v) for k, v in params.items()}
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params).all()
        conn.rollback()
    return [r[0] for r in rows]


def plan_summary(plan: list[str]) -> str:
    """What the lease's plan reads: the node that scans ``ix_orders_next_due`` (a plain
    index scan, or a bitmap index scan feeding a sort), the index entries it visited, the
    buffers and the time; and whether it is a range of that index (an ``Index Cond`` on
    ``next_due_at``, no sequential scan anywhere)."""
    body = "\n".join(plan)
    node = next(
        (ln.strip().removeprefix("->").strip() for ln in plan if "ix_orders_next_due" in ln), ""
    )
    ranged = (
        "ix_orders_next_due" in body
        and "Seq Scan" not in body
        and any("Index Cond" in ln and "next_due_at <=" in ln for ln in plan)
    )
    kind = node.split("  (")[0] if node else "no scan of ix_orders_next_due"
    actual = node[node.find("(actual") :] if "(actual" in node else ""
    buffers = next((ln.strip() for ln in plan if "Buffers:" in ln), "")
    exe = next((ln.strip() for ln in plan if ln.strip().startswith("Execution Time")), "")
    verdict = "an index range scan" if ranged else "**not** an index range scan"
    sort = ", then a Sort" if any(ln.strip().startswith("->  Sort") for ln in plan) else ""
    return f"{verdict}: {kind} {actual}{sort}; top node {buffers}; {exe}"


def timed(fn: Callable[[], Any], n: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


FLOOR_LEASE = (
    "SELECT * FROM orders WHERE next_due_at IS NOT NULL AND next_due_at <= %s "
    "ORDER BY next_due_at LIMIT %s FOR UPDATE OF orders SKIP LOCKED"
)


def floor_read(conn: Any, limit: int) -> int:
    """The bare floor of what a pass reads: the due rows, locked, with their locators and
    steps, as tuples through psycopg; rolled back."""
    with conn.transaction(force_rollback=True):
        rows = conn.execute(FLOOR_LEASE, (utc(), limit)).fetchall()
        ids = [r[0] for r in rows]
        if ids:
            conn.execute("SELECT * FROM order_locators WHERE order_id = ANY(%s)", (ids,)).fetchall()
            conn.execute(
                "SELECT * FROM escalation_steps WHERE order_id = ANY(%s)", (ids,)
            ).fetchall()
    return len(rows)


NO_INDEX = (
    "SELECT count(*) FROM orders WHERE status IN ('issued', 'delivered', 'acknowledged', "
    "'overdue') AND CASE WHEN received_at IS NULL THEN issued_at + interval '24 hours' "
    "ELSE received_at + make_interval(secs => deadline_seconds + paused_seconds) END <= %s"
)


def _no_index_scan(conn: Any) -> Any:
    return conn.execute(NO_INDEX, (utc(),)).fetchall()


def old_lease(db: Any) -> int:
    """The previous scheduler's leases (git show 4365aad~1:src/tangkal/orders/services.py,
    ``tick``) through the ORM: the first 200 unreceived orders whether or not they are due,
    then the received orders past their deadline (by ``ix_orders_deadline``). Its third
    lease read a warnings column that no longer exists and is left out."""
    from tangkal.orders.models import Order, OrderStatus

    S = OrderStatus
    now = utc()
    with db.unit_of_work() as s:
        a = s.scalars(
            select(Order)
            .where(Order.status == S.ISSUED, Order.received_at.is_(None))
            .limit(200)
            .with_for_update(skip_locked=True)
        ).all()
        b = s.scalars(
            select(Order)
            .where(
                Order.status.in_([S.ISSUED, S.DELIVERED, S.ACKNOWLEDGED]),
                Order.deadline_at <= now,
                Order.received_at.is_not(None),
            )
            .limit(200)
            .with_for_update(skip_locked=True)
        ).all()
        return len(a) + len(b)


@dataclass
class Pass:
    at: float
    seconds: float
    result: dict[str, int]


def timed_scheduler(db: Any, interval: float) -> Any:
    """The real ``OrderScheduler`` (its own ``PeriodicService`` loop), each tick timed."""
    from tangkal.orders.scheduler import OrderScheduler

    class Timed(OrderScheduler):
        passes: list[Pass]

        def tick(self) -> dict[str, int]:
            at, t = time.time(), time.perf_counter()
            result = super().tick()
            self.passes.append(Pass(at, time.perf_counter() - t, result))
            return result

        def report(self, result: dict[str, int]) -> None:
            pass  # measured, not logged

    sched = Timed(db, interval)
    sched.passes = []
    return sched


def steps_of(db: Any, ids: list[str]) -> int:
    with db.read_only() as s:
        return int(
            s.scalar(
                text("SELECT count(*) FROM escalation_steps WHERE order_id = ANY(:ids)"),
                {"ids": ids},
            )
            or 0
        )


async def run_real_time(db: Any, ids: list[str], interval: float, limit: float) -> Any:
    sched = timed_scheduler(db, interval)
    await sched.start()
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            if await asyncio.to_thread(steps_of, db, ids) >= len(ids):
                break
            await asyncio.sleep(0.5)
    finally:
        await sched.stop()
    return sched


def lags(db: Any, ids: list[str]) -> dict[str, list[float]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT EXTRACT(EPOCH FROM s.issued_at - s.due_at), "
                "EXTRACT(EPOCH FROM o.overdue_at - o.deadline_at), "
                "EXTRACT(EPOCH FROM a.at - s.due_at), s.code "
                "FROM escalation_steps s JOIN orders o ON o.id = s.order_id "
                "JOIN audit_events a ON a.object_type = 'order' AND a.object_id = s.order_id "
                "AND a.action = 'order.warning_issued' "
                "WHERE s.order_id = ANY(:ids)"
            ),
            {"ids": ids},
        ).all()
    if len(rows) != len(ids):
        raise RuntimeError(f"{len(rows)} steps on the record for {len(ids)} due orders")
    return {
        "step": [float(r[0]) for r in rows],
        "overdue": [float(r[1]) for r in rows],
        "recorded": [float(r[2]) for r in rows],
    }


# ---------------------------------------------------------------- one size


@dataclass
class SizeResult:
    n: int
    load: Loaded | None = None
    idle: list[float] = field(default_factory=list)
    idle_statements: int = 0
    floor_idle: list[float] = field(default_factory=list)
    before: list[float] = field(default_factory=list)
    before_rows: int = 0
    no_index: list[float] = field(default_factory=list)
    plan_idle: list[str] = field(default_factory=list)
    plan_due: list[str] = field(default_factory=list)
    lag: dict[str, list[float]] = field(default_factory=dict)
    rt_passes: list[Pass] = field(default_factory=list)
    rt_seconds: float = 0.0
    backlog: list[float] = field(default_factory=list)
    backlog_statements: list[int] = field(default_factory=list)
    floor_due: list[float] = field(default_factory=list)
    burst_lag: list[float] = field(default_factory=list)
    idle_after: list[float] = field(default_factory=list)
    plan_after: list[str] = field(default_factory=list)
    processed: int = 0
    skipped: int = 0
    audit_ok: bool = False
    audit_checked: int = 0


@dataclass
class Size:
    """One size's database, loaded, with its scheduler and the captured lease."""

    url: str
    db: Any
    orgs: Orgs
    sched: Any
    stmt: str
    params: Any
    res: SizeResult


def prepare(url: str, n: int, args: argparse.Namespace) -> Size:
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database
    from tangkal.orders.scheduler import OrderScheduler

    res = SizeResult(n)
    db = Database(url)
    upgrade(db)
    orgs = make_orgs(db)
    log(f"{n:,}: loading ...")
    res.load = ld = load(url, n, orgs, args.seed)
    log(
        f"{n:,}: COPY {ld.copy_s:.1f} s ({n / ld.copy_s:,.0f} orders/s), indexes "
        f"{ld.index_s:.1f} s, VACUUM ANALYZE {ld.vacuum_s:.1f} s"
    )
    sched = OrderScheduler(db, 1.0)
    with statements(db.engine) as seen:
        counts = sched.tick()
    if any(counts.values()):
        raise RuntimeError(f"something was due in the background load: {counts}")
    res.idle_statements = len(seen)
    stmt, params = lease_statement(seen)
    res.plan_idle = explain(db, stmt, params, utc())
    res.before_rows = old_lease(db)
    return Size(url, db, orgs, sched, stmt, params, res)


def idle_interleaved(sizes: list[Size], args: argparse.Namespace) -> None:
    """The idle pass, its floor and the old leases, one size after the other in turn, so
    that whatever else the machine is doing weighs on every size alike (the ratio between
    sizes is the figure)."""
    import psycopg

    conns = [psycopg.connect(z.url, autocommit=True) for z in sizes]
    try:
        for i in range(3 + args.idle_passes):
            for z, conn in zip(sizes, conns, strict=True):
                for target, fn in (
                    (z.res.idle, z.sched.tick),
                    (z.res.floor_idle, lambda c=conn, b=z.sched.batch: floor_read(c, b)),
                    (z.res.before, lambda d=z.db: old_lease(d)),
                ):
                    t = time.perf_counter()
                    fn()
                    if i >= 3:  # the first rounds warm caches and statements
                        target.append(time.perf_counter() - t)
        for z, conn in zip(sizes, conns, strict=True):
            scan: Callable[[], Any] = partial(_no_index_scan, conn)
            z.res.no_index = timed(scan, args.scan_passes, warmup=1)
            r = z.res
            log(
                f"{r.n:,}: idle pass p50 {statistics.median(r.idle) * 1e3:.2f} ms (floor "
                f"{statistics.median(r.floor_idle) * 1e3:.2f}, before "
                f"{statistics.median(r.before) * 1e3:.2f}, no index "
                f"{statistics.median(r.no_index) * 1e3:.0f})"
            )
    finally:
        for conn in conns:
            conn.close()


def run_due_phases(z: Size, args: argparse.Namespace) -> None:
    """Deadlines passing under the real loop, then backlogs, then idle again."""
    import psycopg

    from tangkal.audit.services import verify

    res, db, orgs, sched, n = z.res, z.db, z.orgs, z.sched, z.res.n
    t0 = utc() + timedelta(seconds=args.lead)
    rows = [
        due_order(i, "RT", orgs, t0 + timedelta(seconds=args.window * i / args.due))
        for i in range(args.due)
    ]
    write(db, rows)
    ids = [r["id"] for r, _ in rows]
    log(
        f"{n:,}: {args.due} deadlines from {t0:%H:%M:%S} over {args.window:g} s; "
        f"scheduler loop at {args.interval:g} s ..."
    )
    t = time.monotonic()
    rt = asyncio.run(run_real_time(db, ids, args.interval, args.lead + args.window + args.grace))
    res.rt_seconds = time.monotonic() - t
    res.rt_passes = rt.passes
    res.skipped = sum(p.result.get("skipped", 0) for p in rt.passes)
    res.lag = lags(db, ids)
    log(
        f"{n:,}: step lag p50 {percentile(res.lag['step'], 50):.2f} s, max "
        f"{max(res.lag['step']):.2f} s; {len(rt.passes)} passes"
    )

    # backlog: --due orders due at once, one tick takes them
    with psycopg.connect(z.url, autocommit=True) as conn:
        for r in range(args.rounds):
            now = utc()
            rows = [
                due_order(i, f"BL{r}", orgs, now - timedelta(seconds=1 + i / args.due))
                for i in range(args.due)
            ]
            write(db, rows)
            res.floor_due.extend(timed(lambda: floor_read(conn, args.due), 3, warmup=1))
            if r == 0:
                res.plan_due = explain(db, z.stmt, z.params, utc())
            with statements(db.engine) as seen:
                t = time.perf_counter()
                counts = sched.tick()
                res.backlog.append(time.perf_counter() - t)
            res.backlog_statements.append(len(seen))
            res.skipped += counts["skipped"]
            if counts["steps"] != args.due or counts["overdue"] != args.due:
                raise RuntimeError(f"backlog round {r}: {counts}")
            res.burst_lag.extend(lags(db, [row["id"] for row, _ in rows])["recorded"])
    log(f"{n:,}: backlog tick {statistics.median(res.backlog):.2f} s for {args.due}")
    # idle again: the index range below now holds the entries of the rows just updated
    res.processed = args.due * (1 + args.rounds)
    res.idle_after = timed(sched.tick, args.idle_passes)
    res.plan_after = explain(db, z.stmt, z.params, utc())
    log(
        f"{n:,}: idle pass after {res.processed:,} processed: p50 "
        f"{statistics.median(res.idle_after) * 1e3:.2f} ms"
    )
    with db.unit_of_work() as s:
        v = verify(s)
    res.audit_ok, res.audit_checked = v.ok, v.checked


# ---------------------------------------------------------------- report


def ms(values: Sequence[float], p: float = 50) -> float:
    return percentile(values, p) * 1e3


def report(
    args: argparse.Namespace,
    results: list[SizeResult],
    wall: float,
    load_before: str,
    load_after: str,
    pg: dict[str, str],
) -> str:
    small, big = results[0], results[-1]
    worst = max(max(r.lag["recorded"]) for r in results)
    lines = [
        "## Escalation scheduler: what is due, among many open orders",
        "",
        f"{now_utc()}. {' and '.join(f'{r.n:,}' for r in results)} open orders that are "
        f"not due (a fresh database each), then {args.due:,} deadlines within "
        f"{args.window:g} s under the real scheduler loop, then {args.rounds} backlogs of "
        f"{args.due:,} orders due at once; whole run {wall:.0f} s. Reproduce:",
        "",
        f"    {command_line()}",
        "",
        f"- **Every step within 30 s of its due moment**: {'met' if worst <= 30 else 'NOT met'}"
        f", largest {worst:.2f} s from due moment to the step's audit event.",
    ]
    if len(results) > 1:
        lines.append(
            f"- **Idle pass flat in the open orders**: {ms(big.idle):.2f} ms at {big.n:,} "
            f"against {ms(small.idle):.2f} ms at {small.n:,}, "
            f"**{ms(big.idle) / ms(small.idle):.2f}×** (the seq scan without the index: "
            f"{ms(big.no_index) / ms(small.no_index):.1f}×)."
        )
    lines += [
        f"- **Lease plan at {big.n:,}**: {plan_summary(big.plan_idle)}.",
        "",
        f"### From deadline to the step on the record (real loop, interval {args.interval:g} s)",
        "",
        markdown_table(
            [
                "open orders",
                "passes",
                "longest pass",
                "step issued_at − due_at p50 / p95 / max",
                "overdue_at − deadline p50 / p95 / max",
                "audit event at − due_at p50 / p95 / max",
                "skipped",
            ],
            [
                [
                    r.n,
                    len(r.rt_passes),
                    f"{max(p.seconds for p in r.rt_passes) * 1e3:.0f} ms",
                    _pct(r.lag["step"]),
                    _pct(r.lag["overdue"]),
                    _pct(r.lag["recorded"]),
                    r.skipped,
                ]
                for r in results
            ],
        ),
        "",
        "`issued_at` and `overdue_at` are the pass's clock (taken when the pass starts); the "
        "audit event's `at` is stamped when the pass's events are chained, just before its "
        "commit: the step is on the record from then. A pass waits the interval after the "
        "previous one ended, so a step waits up to one interval plus that pass.",
        "",
        "### One pass with nothing due",
        "",
        markdown_table(
            [
                "open orders",
                "tangkal tick p50 / p95",
                "floor: bare lease p50",
                "tangkal / floor",
                "before: old leases p50",
                "before / tangkal",
                "no index: seq scan p50",
                "no index / tangkal",
                "tangkal tick after the run p50",
            ],
            [
                [
                    r.n,
                    f"{ms(r.idle):.2f} / {ms(r.idle, 95):.2f} ms",
                    f"{ms(r.floor_idle):.2f} ms",
                    f"{ms(r.idle) / ms(r.floor_idle):.1f}×",
                    f"{ms(r.before):.2f} ms",
                    f"{ms(r.before) / ms(r.idle):.1f}×",
                    f"{ms(r.no_index):.0f} ms",
                    f"{ms(r.no_index) / ms(r.idle):.0f}×",
                    f"{ms(r.idle_after):.2f} ms",
                ]
                for r in results
            ],
        ),
        "",
        f"### One pass with {args.due:,} due",
        "",
        markdown_table(
            [
                "open orders",
                "tangkal tick (median)",
                "orders/s",
                "floor: read + lock p50",
                "tangkal / floor",
                "SQL statements per order",
                "due → audit event p50 / p95 / max",
            ],
            [
                [
                    r.n,
                    f"{statistics.median(r.backlog):.2f} s",
                    int(args.due / statistics.median(r.backlog)),
                    f"{ms(r.floor_due):.1f} ms",
                    f"{statistics.median(r.backlog) * 1e3 / ms(r.floor_due):.0f}×",
                    f"{statistics.median(r.backlog_statements) / args.due:.1f}",
                    _pct(r.burst_lag),
                ]
                for r in results
            ],
        ),
        "",
    ]
    if len(results) > 1:
        lines += [
            f"At {big.n:,} against {small.n:,} open orders: idle tick "
            f"{ms(big.idle) / ms(small.idle):.2f}×, floor "
            f"{ms(big.floor_idle) / ms(small.floor_idle):.2f}×, before "
            f"{ms(big.before) / ms(small.before):.2f}×, no index "
            f"{ms(big.no_index) / ms(small.no_index):.1f}×; tick with {args.due:,} due "
            f"{statistics.median(big.backlog) / statistics.median(small.backlog):.2f}×.",
            "",
        ]
    lines += [
        f"- **tangkal tick**: `OrderScheduler.tick()`, median of {args.idle_passes} when "
        f"nothing is due: the `next_due_at` lease, the objection and normalisation reminders, "
        f"begin and commit ({small.idle_statements} statements). *After the run*: the same, "
        f"once {small.processed:,} orders have been taken (the lease's index range then holds "
        "the entries their updates left behind until vacuum removes them).",
        "- **floor**: the same lease (`next_due_at <= now ORDER BY next_due_at LIMIT n FOR "
        "UPDATE OF orders SKIP LOCKED`, then the due rows' locators and steps) as bare SQL "
        "through psycopg, rows as tuples, rolled back: reading and locking the due rows "
        "without the application.",
        "- **before**: the previous scheduler's leases through the ORM (git `4365aad~1`, "
        "`orders.services.tick`): the first 200 unreceived orders, due or not, then the "
        f"received orders past their deadline: {small.before_rows} rows read and locked by "
        "every idle pass. Its cost is flat too (a `LIMIT` on an index) but it locks 200 rows "
        "that are not due in every pass, and an unreceived order beyond the first 200 was "
        "never deemed received.",
        f"- **no index**: the due condition computed by PostgreSQL over every open order, "
        f"median of {args.scan_passes}: the least a scheduler without a due-moment index pays.",
        f"- **{args.due:,} due**: one `tick()` over {args.due:,} orders already due (overdue, "
        f"ST1, audit events, outbox messages; batches of 500, each one transaction), median "
        f"of {args.rounds} rounds; statements are those sent through SQLAlchemy (the audit "
        "COPY is not counted). *due → audit event*: for each of those orders, from its due "
        "moment (1-2 s before the tick) to its step's audit event, stamped just before its "
        "batch commits: a burst is on the record a batch at a time.",
        "- Load (orders and one locator each, the columns filing writes; COPY with the "
        "secondary indexes dropped and rebuilt from their own definitions, then VACUUM "
        "ANALYZE): " + "; ".join(_load_text(r) for r in results) + ". The due orders are "
        "written by `db.bulk.insert_rows` (filing's COPY) into the indexed tables.",
        "- Audit chain verified after each size: "
        + ", ".join(
            f"{r.audit_checked:,} events " + ("intact" if r.audit_ok else "BROKEN") for r in results
        )
        + ".",
        "",
        f"### EXPLAIN (ANALYZE, BUFFERS) of the lease at {big.n:,} open orders",
        "",
        "The statement as SQLAlchemy sent it in a real pass, run with the moment of the "
        "measurement and rolled back.",
        "",
        f"Nothing due: {plan_summary(big.plan_idle)}.",
        "",
        "```",
        *big.plan_idle,
        "```",
        "",
        f"{args.due:,} due: {plan_summary(big.plan_due)}.",
        "",
        "```",
        *big.plan_due,
        "```",
        "",
        f"Nothing due, after the run ({big.processed:,} orders taken): "
        f"{plan_summary(big.plan_after)}.",
        "",
        *(
            f"At {r.n:,}: nothing due: {plan_summary(r.plan_idle)}. {args.due:,} due: "
            f"{plan_summary(r.plan_due)}. After the run: {plan_summary(r.plan_after)}.\n"
            for r in results[:-1]
        ),
        f"Load average before / after: {load_before} / {load_after}.",
        "",
        machine_table(pg),
        "",
    ]
    return "\n".join(lines)


def _load_text(r: SizeResult) -> str:
    ld = r.load
    assert ld is not None
    total = ld.copy_s + ld.index_s + ld.vacuum_s
    return (
        f"{r.n:,} in {total:.1f} s (COPY {ld.copy_s:.1f} s, {r.n / ld.copy_s:,.0f} "
        f"orders/s; indexes {ld.index_s:.1f} s; VACUUM ANALYZE {ld.vacuum_s:.1f} s)"
    )


def _pct(values: Sequence[float]) -> str:
    return f"{percentile(values, 50):.2f} / {percentile(values, 95):.2f} / {max(values):.2f} s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument(
        "--orders", default="100000,1000000", help="open orders per size, comma-separated"
    )
    p.add_argument("--due", type=int, default=1000)
    p.add_argument(
        "--window", type=float, default=60.0, help="seconds over which the deadlines fall"
    )
    p.add_argument(
        "--lead",
        type=float,
        default=5.0,
        help="seconds from writing the due orders to the first deadline",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=60.0,
        help="seconds after the last deadline before the run gives up",
    )
    p.add_argument("--interval", type=float, default=1.0, help="the scheduler's interval")
    p.add_argument("--idle-passes", type=int, default=50)
    p.add_argument("--scan-passes", type=int, default=10)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seed", type=int, default=2017)
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--json", help="also write the raw figures here")
    args = p.parse_args(argv)
    sizes = [int(x) for x in args.orders.split(",") if x.strip()]
    t = time.monotonic()
    load_before = load_average()
    pg = pg_server_info()
    with ExitStack() as stack:
        prepared: list[Size] = []
        for n in sizes:
            url = stack.enter_context(fresh_pg_database("tangkal_bench_sched"))
            prepared.append(prepare(url, n, args))
            stack.callback(prepared[-1].db.dispose)
        idle_interleaved(prepared, args)
        for z in prepared:
            run_due_phases(z, args)
        results = [z.res for z in prepared]
    wall = time.monotonic() - t
    out = report(args, results, wall, load_before, load_average(), pg)
    from pathlib import Path

    write_section(Path(args.out), out)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {k: v for k, v in r.__dict__.items() if k != "rt_passes"}
                    | {"rt_passes": [p.__dict__ for p in r.rt_passes]}
                    for r in results
                ],
                indent=1,
                default=str,
            )
        )
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
