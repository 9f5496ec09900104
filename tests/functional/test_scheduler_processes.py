"""Three scheduler processes on one database take every escalation step once.

Production may run the scheduler in more than one process (several servers, a restart while
a pass is running); ``orders.escalation.run_due`` leases due orders with ``FOR UPDATE SKIP
LOCKED`` and the unique (order, code) of a step is the last guard. These tests drive that
with real OS processes, each running ``OrderScheduler`` in its own ``PeriodicService`` loop
as ``tangkal serve`` does, on one fresh database, while orders of a drill profile (Indonesia
14,400 times faster: deemed receipt after 6 s, a 1 s deadline, the steps a second apart) run
through their escalation.

1. 1,000 orders, the three warning letters (ST1-ST3): one process is killed with SIGKILL
   while it is inside a transaction, and started again. Afterwards every order took each
   step exactly once, with one audit event and one message to the platform per step; no
   process failed a pass or skipped an order; the audit chain verifies; more than one
   process took steps.
2. The sanction proposal (the last step) reached by several processes at once, on
   PostgreSQL and on a SQLite file: one sanction for the platform with every order, no
   order skipped, proposals taken in more than one process. On PostgreSQL this holds
   because ``sanctions.services.propose_for_order`` takes an advisory lock per platform
   before it looks for the open sanction (without it, two processes each create one and
   the second fails on ``uq_block_entries_open_domain``); on SQLite because every writer
   holds the database's write lock from ``BEGIN IMMEDIATE``.

Nothing here waits on the wall clock for a result: the tests poll the database until the
work is done, or fail with what was done after a generous limit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import pytest
import tomli_w
from sqlalchemy import bindparam, text

from tests import support

pytestmark = [pytest.mark.slow]

ORDERS = 1000
PROCESSES = 3
SPEED = 14400  # Indonesia's 4 h urgent deadline becomes 1 s
INTERVAL = 0.2  # seconds between a process's passes
# Orders leased per transaction. Production leases 500: with 1,000 orders due that is work
# for two of the three processes, each holding 500 orders in one long transaction. Fifty
# makes the processes race for every lease (what these tests are about).
BATCH = 50
POLL_LIMIT = 120.0  # seconds to wait for the steps before failing with diagnostics
PROCESS_LIMIT = 240.0  # a scheduler process gives up on its own after this long
DOMAINS = ["t.me", "telegram.me", "telegram.org", "web.telegram.org"]
FAILURES = ("IntegrityError", "escalation_order_skipped", "periodic_pass_failed", "Traceback")

# One scheduler process: the real service loop; every pass that did something is also
# printed as one JSON line, so the parent can count who took what, even for a process that
# is killed before it ends; so is every sanction proposal the process makes. On PostgreSQL
# ``application_name`` lets the parent find its transactions.
SCHEDULER = r"""
import asyncio, json, os, sys, time
from pathlib import Path

from tangkal.db.session import Database
from tangkal.logging import configure_logging
from tangkal.orders.scheduler import OrderScheduler
from tangkal.sanctions import services as sanctions

name, url, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
interval, limit, batch = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
configure_logging()
propose_for_order = sanctions.propose_for_order


def proposing(session, order, *args, **kwargs):
    sanction = propose_for_order(session, order, *args, **kwargs)
    print("PROPOSED " + json.dumps({"name": name, "order": order.id}), flush=True)
    return sanction


sanctions.propose_for_order = proposing  # escalation imports it when it proposes


class Counting(OrderScheduler):
    def report(self, result):
        super().report(result)
        if any(result.values()):
            print("PASS " + json.dumps({"name": name, "pid": os.getpid(), **result}), flush=True)


async def main():
    db = Database(url + "?application_name=" + name if url.startswith("postgres") else url)
    service = Counting(db, interval, batch)
    with db.unit_of_work() as s:  # connected and able to work before the parent goes on
        s.connection()
    print("READY", name, os.getpid(), flush=True)
    await service.start()
    until = time.monotonic() + limit
    while not stop.exists() and time.monotonic() < until:
        await asyncio.sleep(0.05)
    await service.stop()
    db.dispose()
    print("DONE", name, flush=True)


asyncio.run(main())
"""


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (not the shared test database: the
    scheduler processes see every order in it)."""
    yield from _pg_url()


@pytest.fixture(params=support.backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each backend under test: PostgreSQL as :func:`pg_url`, or a
    SQLite file the processes share (WAL, ``BEGIN IMMEDIATE`` writers)."""
    if request.param == "postgresql":
        yield from _pg_url()
    else:
        yield f"sqlite:///{tmp_path / 'scheduler.db'}"


def _pg_url() -> Iterator[str]:
    if not support.pg_available():
        message = (
            f"!!! PostgreSQL NOT REACHABLE at {support.PG_ADMIN_URL}: the multi-process "
            "scheduler tests did NOT run !!!"
        )
        print("\n" + message, file=sys.stderr)
        if os.environ.get("TANGKAL_REQUIRE_PG") == "1" or os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = support.create_pg_database("tangkal_sched")
    try:
        yield url
    finally:
        support.drop_pg_database(url)


@dataclass
class Scheduler:
    """One scheduler process; its stdout and stderr go to one file."""

    name: str
    proc: subprocess.Popen[bytes]
    out_path: Path
    out: IO[bytes]
    killed: bool = False
    exit_code: int | None = None

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def passes(self) -> list[dict[str, Any]]:
        return [json.loads(ln[5:]) for ln in self.output().splitlines() if ln.startswith("PASS ")]

    def proposals(self) -> int:
        """Sanction proposals this process made (proposed or joined), committed or not."""
        return sum(1 for ln in self.output().splitlines() if ln.startswith("PROPOSED "))


@dataclass
class Fleet:
    url: str
    workdir: Path
    env: dict[str, str]
    stop: Path
    procs: list[Scheduler] = field(default_factory=list)

    def start(self, name: str) -> Scheduler:
        path = self.workdir / f"{name}.log"
        out = path.open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SCHEDULER,
                name,
                self.url,
                str(self.stop),
                str(INTERVAL),
                str(PROCESS_LIMIT),
                str(BATCH),
            ],
            env=self.env,
            cwd=str(Path(support.__file__).resolve().parent.parent),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        sched = Scheduler(name, proc, path, out)
        self.procs.append(sched)
        return sched

    def wait_ready(self, scheds: list[Scheduler], limit: float = 60.0) -> None:
        until = time.monotonic() + limit
        for s in scheds:
            while "READY" not in s.output():
                if s.proc.poll() is not None:
                    self.fail(f"{s.name} exited {s.proc.returncode} before it was ready")
                if time.monotonic() > until:
                    self.fail(f"{s.name} not ready after {limit:.0f} s")
                time.sleep(0.05)

    def finish(self) -> None:
        """Ask every process to stop, wait for them (bounded), close their files."""
        self.stop.touch()
        for s in self.procs:
            if s.killed or s.exit_code is not None:
                continue
            try:
                s.exit_code = s.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                s.proc.kill()
                s.exit_code = s.proc.wait(timeout=10)
        for s in self.procs:
            s.out.close()

    def logs(self) -> str:
        return "\n".join(
            f"--- {s.name} (exit {s.exit_code}):\n{s.output()[-2500:]}" for s in self.procs
        )

    def fail(self, why: str) -> None:
        self.finish()
        pytest.fail(f"{why}\n{self.logs()}")

    def failures(self) -> list[str]:
        return [f"{s.name}: {bad}" for s in self.procs for bad in FAILURES if bad in s.output()]

    def in_transaction(self, db: Any, limit: float) -> Scheduler | None:
        """A live process whose connection is inside a transaction right now (a pass
        half-way through its writes), found through ``pg_stat_activity``."""
        live = {s.name: s for s in self.procs if not s.killed}
        until = time.monotonic() + limit
        while time.monotonic() < until:
            with db.engine.connect() as conn:
                names = (
                    conn.execute(
                        text(
                            "SELECT application_name FROM pg_stat_activity WHERE datname = "
                            "current_database() AND xact_start IS NOT NULL "
                            "AND backend_xid IS NOT NULL "
                            "AND application_name = ANY(:names)"
                        ),
                        {"names": list(live)},
                    )
                    .scalars()
                    .all()
                )
            if names:
                return live[names[0]]
            time.sleep(0.02)
        return None


def drill_profile(workdir: Path, *, letters_only: bool) -> tuple[Any, Path]:
    """Indonesia, SPEED times faster, as a TOML file the processes load through
    ``TANGKAL_SOP_PROFILE``. ``letters_only``: without the last step, the sanction
    proposal."""
    from tangkal.sop.profile import load_profile

    name = f"indonesia-procs-{os.getpid()}-{time.monotonic_ns() % 10**8}"
    document = load_profile("indonesia").derive(SPEED, name=name).document()
    if letters_only:
        steps = document["escalation"]["steps"]
        document["escalation"]["steps"] = [s for s in steps if s["kind"] == "warning_letter"]
    path = workdir / f"{name}.toml"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    # remembered by name in this process too (filing and reading use it)
    profile = load_profile(str(path))
    assert len(profile.steps) >= 3 and all(
        step.wait_for("urgent", timedelta(seconds=1), first=i == 0) <= timedelta(seconds=1)
        for i, step in enumerate(profile.steps)
    ), "the drill should take several steps, about a second apart"
    return profile, path


def file_orders(db: Any, profile: Any, count: int, spread: timedelta) -> list[str]:
    """``count`` urgent orders filed in one batch through the filing path (``prepare_order``,
    ``write_orders``), issued over ``spread``, the first of them 5 s ago: their deemed
    receipts (6 s after issue) start a second from now, and their deadlines and steps fall
    within that spread of each other."""
    from tangkal.accounts import services as accounts
    from tangkal.accounts.models import Organization, OrgKind, Role
    from tangkal.accounts.principal import SYSTEM, Principal
    from tangkal.db.base import utcnow
    from tangkal.orders.filing import prepare_order, write_orders
    from tangkal.orders.schemas import OrderIn

    with db.unit_of_work() as s:
        reg = accounts.create_org(s, SYSTEM, kind=OrgKind.REGULATOR, name="kominfo")
        plat = accounts.create_org(
            s, SYSTEM, kind=OrgKind.PLATFORM, name="telegram", domains=DOMAINS
        )
        reg_id, plat_id = reg.id, plat.id
    analyst = Principal(
        org_id=reg_id,
        org_name="kominfo",
        org_kind=OrgKind.REGULATOR,
        role=Role.ANALYST,
        username="analyst",
    )
    base = utcnow() - timedelta(seconds=5)
    prepared = [
        prepare_order(
            analyst,
            OrderIn(
                platform="telegram",
                category="terrorism",
                locators=[f"https://t.me/kanal_uji_{i}/{i % 97 + 1}"],
                legal_basis="UU 5/2018; Permenkominfo 5/2020 Pasal 15 ayat 6",
                reason="Attack instructions in a public channel (test)",
            ),
            profile,
            now=base + spread * (i / count),
        )
        for i in range(count)
    ]
    with db.unit_of_work() as s:
        platform = s.get(Organization, plat_id)
        assert platform is not None
        write_orders(s, [(analyst, o.for_platform(plat_id), platform) for o in prepared])
    return [o.id for o in prepared]


def step_count(db: Any, ids: list[str]) -> dict[str, int]:
    with db.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM escalation_steps WHERE order_id IN :ids), "
                "(SELECT count(*) FROM orders WHERE id IN :ids AND received_at IS NOT NULL), "
                "(SELECT count(*) FROM orders WHERE id IN :ids AND status = 'overdue')"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": ids},
        ).one()
    return {"steps": int(row[0]), "received": int(row[1]), "overdue": int(row[2])}


def wait_for_steps(
    db: Any,
    ids: list[str],
    steps: int,
    fleet: Fleet,
    limit: float,
    *,
    stop_on_failure: bool = False,
) -> dict[str, int]:
    """Poll until ``steps`` steps of these orders are on the record; fail with the counts
    and the processes' output if a process dies or ``limit`` passes. ``stop_on_failure``:
    return as soon as a process reports a failure (the assertions then say what)."""
    start = time.monotonic()
    until, said = start + limit, start
    while True:
        now = step_count(db, ids)
        if now["steps"] >= steps or (stop_on_failure and fleet.failures()):
            return now
        dead = [s.name for s in fleet.procs if not s.killed and s.proc.poll() is not None]
        if dead:
            fleet.fail(f"{', '.join(dead)} exited early; {now} of {steps} steps")
        if time.monotonic() > until:
            fleet.fail(f"after {limit:.0f} s: {now} of {steps} steps")
        if time.monotonic() - said > 10:
            said = time.monotonic()
            print(f"[{said - start:5.1f} s] {now} of {steps} steps", file=sys.stderr)
        time.sleep(0.25)


def child_env(url: str, profile_path: Path, workdir: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("TANGKAL_")},
        "TANGKAL_DATABASE_URL": url,
        "TANGKAL_SOP_PROFILE": str(profile_path),
        "TANGKAL_DATA_DIR": str(workdir),
        "TANGKAL_LOG_LEVEL": "info",
    }


def per_step(conn: Any, sql: str, ids: list[str]) -> dict[tuple[str, str], int]:
    q = text(sql).bindparams(bindparam("ids", expanding=True)) if "IN :ids" in sql else text(sql)
    return {(o, c): n for o, c, n in conn.execute(q, {"ids": ids}).all()}


STEPS_SQL = (
    "SELECT order_id, code, count(*) FROM escalation_steps WHERE order_id IN :ids GROUP BY 1, 2"
)
EVENTS_SQL = (
    "SELECT object_id, data->>'code', count(*) FROM audit_events WHERE object_type = 'order' "
    "AND object_id = ANY(:ids) AND action IN ('order.warning_issued', 'order.fine_imposed', "
    "'order.noncompliance_reported', 'order.sanction_proposed') GROUP BY 1, 2"
)
MESSAGES_SQL = (
    "SELECT order_id, payload->'data'->'step'->>'code', count(*) FROM outbox_messages "
    "WHERE order_id = ANY(:ids) AND payload->'data' ? 'step' GROUP BY 1, 2"
)


@pytest.mark.postgres
def test_three_scheduler_processes_take_each_step_once(pg_url: str, tmp_path: Path) -> None:
    from tangkal.audit.services import verify
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database

    db = Database(pg_url)
    try:
        upgrade(db)
        profile, profile_path = drill_profile(tmp_path, letters_only=True)
        codes = [step.code for step in profile.steps]
        total = ORDERS * len(codes)
        fleet = Fleet(
            pg_url, tmp_path, child_env(pg_url, profile_path, tmp_path), tmp_path / "stop"
        )
        first = [fleet.start(f"s{i}") for i in range(PROCESSES)]
        fleet.wait_ready(first)

        ids = file_orders(db, profile, ORDERS, timedelta(seconds=3))

        # SIGKILL a process while its connection is inside a writing transaction, once a
        # fifth of the steps are on the record; then start it again
        wait_for_steps(db, ids, total // 5, fleet, POLL_LIMIT)
        victim = fleet.in_transaction(db, limit=30.0)
        if victim is None:
            fleet.fail("no scheduler process was inside a transaction for 30 s")
        assert victim is not None
        os.kill(victim.proc.pid, signal.SIGKILL)
        victim.exit_code = victim.proc.wait(timeout=30)
        victim.killed = True
        assert victim.exit_code == -signal.SIGKILL
        before = step_count(db, ids)
        again = fleet.start(f"{victim.name}-restarted")
        fleet.wait_ready([again])

        done = wait_for_steps(db, ids, total, fleet, POLL_LIMIT)
        time.sleep(1.0)  # a step taken twice would have its chance to show
        fleet.finish()
        logs = fleet.logs()
        print(f"\nkilled {victim.name} inside a transaction at {before['steps']} of {total} steps")

        for s in fleet.procs:
            if not s.killed:
                assert s.exit_code == 0, f"{s.name} exited {s.exit_code}\n{logs}"
        assert fleet.failures() == [], logs

        expected = {(i, c): 1 for i in ids for c in codes}
        with db.engine.connect() as conn:
            steps = per_step(conn, STEPS_SQL, ids)
            events = per_step(conn, EVENTS_SQL, ids)
            messages = per_step(conn, MESSAGES_SQL, ids)
            orders = conn.execute(
                text(
                    "SELECT status, steps_taken, count(*) FROM orders WHERE id = ANY(:ids) "
                    "GROUP BY 1, 2"
                ),
                {"ids": ids},
            ).all()
            received = conn.execute(
                text(
                    "SELECT count(*) FROM audit_events WHERE action = 'order.received' "
                    "AND object_id = ANY(:ids)"
                ),
                {"ids": ids},
            ).scalar()
        assert steps == expected, f"{len(set(expected) - set(steps))} steps missing\n{logs}"
        assert done["steps"] == total and done["received"] == ORDERS
        assert events == expected, "one audit event per step"
        assert messages == expected, "one message to the platform per step"
        assert received == ORDERS, "each order deemed received once"
        assert [tuple(r) for r in orders] == [("overdue", len(codes), ORDERS)]

        with db.unit_of_work() as session:
            chain = verify(session)
        assert chain.ok, chain.problem

        # the work was shared: more than one process took steps; and no process reported
        # a step another took (a killed one may have died between a pass's commit and its
        # report, so the sum may fall short, never exceed)
        taken = {s.name: sum(p["steps"] for p in s.passes()) for s in fleet.procs}
        print(f"steps taken per process: {taken} (of {total})")
        assert sum(1 for n in taken.values() if n > 0) > 1, taken
        assert sum(taken.values()) <= total, taken
    finally:
        db.dispose()


SANCTION_ORDERS = 60


def test_concurrent_sanction_proposals_make_one_sanction(db_url: str, tmp_path: Path) -> None:
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database

    db = Database(db_url)
    try:
        upgrade(db)
        profile, profile_path = drill_profile(tmp_path, letters_only=False)
        codes = [step.code for step in profile.steps]
        assert profile.steps[-1].kind == "sanction_proposal"
        total = SANCTION_ORDERS * len(codes)
        fleet = Fleet(
            db_url, tmp_path, child_env(db_url, profile_path, tmp_path), tmp_path / "stop"
        )
        fleet.wait_ready([fleet.start(f"p{i}") for i in range(PROCESSES)])
        # issued together: every process holds a share of them when the proposals fall due
        ids = file_orders(db, profile, SANCTION_ORDERS, timedelta(0))
        wait_for_steps(db, ids, total, fleet, POLL_LIMIT, stop_on_failure=True)
        time.sleep(1.0)
        fleet.finish()
        logs = fleet.logs()
        with db.engine.connect() as conn:
            steps = per_step(conn, STEPS_SQL, ids)
            sanctions = conn.execute(
                text(
                    "SELECT s.reference, count(so.order_id) FROM sanctions s "
                    "JOIN sanction_orders so ON so.sanction_id = s.id GROUP BY 1"
                )
            ).all()
            blocks = conn.execute(
                text(
                    "SELECT domain, count(*) FROM block_entries WHERE status = "
                    "'pending_approval' GROUP BY 1"
                )
            ).all()
        assert fleet.failures() == [], logs
        assert steps == {(i, c): 1 for i in ids for c in codes}
        assert len(sanctions) == 1 and sanctions[0][1] == SANCTION_ORDERS, sanctions
        assert sorted(tuple(b) for b in blocks) == [(d, 1) for d in sorted(DOMAINS)], blocks
        proposed = {s.name: s.proposals() for s in fleet.procs}
        print(f"\nsanction proposals per process: {proposed} (of {SANCTION_ORDERS})")
        assert sum(proposed.values()) == SANCTION_ORDERS, proposed
        if db_url.startswith("postgresql"):
            # the race was run: proposals were made in more than one process (each commits
            # its batch right after a proposal, so the others lease the rest at once). On
            # SQLite one writer at a time holds the database, and the one that just
            # committed usually takes the write lock again before the waiting ones.
            assert sum(1 for n in proposed.values() if n > 0) > 1, proposed
    finally:
        db.dispose()
