"""Sustained order intake over HTTP on PostgreSQL, against the raw insert rate of that database.

One command does the whole run::

    python -m bench.orders.intake --clients 50 --duration 30

1. creates a fresh PostgreSQL database (dropped at the end, whatever happens);
2. migrates it, creates a regulator, a platform and an analyst token through the real CLI;
3. starts a real ``tangkal serve`` on loopback (``--workers N`` if given);
4. runs the load generator (``bench.orders.load``) in a separate process: ``--clients``
   concurrent clients filing distinct, realistic orders, after a warm-up, bounded by
   ``--duration`` and ``--max-requests``; every non-201 counts as an error;
5. checks the database afterwards: one order, one outbox message and one audit event per
   201, and ``tangkal audit verify`` passes;
6. runs pgbench on the same database for the same duration and clients: one plain
   single-row INSERT of a row as wide as an order (the raw rate), and, for context, the
   transactional shape of an order (four tables plus the audit lock) and the writes of one
   group commit of 40 orders with one client (what PostgreSQL alone can take in tangkal's
   write pattern: the database side's ceiling);
7. prints a markdown report and writes it to ``docs/benchmarks-orders.md``.

Why the comparison with pgbench: a figure in orders per second means little on its own; as a
fraction of what the same PostgreSQL on the same machine can insert, it says how much the
application costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    PG_ADMIN_URL,
    REPO,
    LatencySummary,
    PgbenchResult,
    add_load_arguments,
    command_line,
    cpu_seconds,
    free_port,
    fresh_pg_database,
    human_bytes,
    load_average,
    machine_table,
    markdown_table,
    now_utc,
    pg_execute,
    pg_server_info,
    postgres_cpu_seconds,
    rss_bytes,
    run_pgbench,
    serve_command,
    wait_http,
    write_section,
)

DOC = REPO / "docs" / "benchmarks-orders.md"

# An order row as wide as tangkal's: ids, reference, category, texts, timestamps.
# pgbench substitutes ":name" even inside string literals, so the literals avoid colons.
RAW_TABLES = """
CREATE TABLE bench_raw_orders (
  id varchar(36) PRIMARY KEY, reference varchar(40) UNIQUE NOT NULL,
  regulator_org_id varchar(36) NOT NULL, platform_org_id varchar(36) NOT NULL,
  category varchar(50) NOT NULL, urgency varchar(30) NOT NULL, legal_basis text NOT NULL,
  reason text NOT NULL, status varchar(32) NOT NULL, sop_profile varchar(100) NOT NULL,
  deadline_seconds int NOT NULL, created_by varchar(300) NOT NULL,
  issued_at timestamptz NOT NULL, deadline_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL);
CREATE INDEX ON bench_raw_orders (platform_org_id, status);
CREATE INDEX ON bench_raw_orders (regulator_org_id, status);
CREATE INDEX ON bench_raw_orders (status, deadline_at);
CREATE TABLE bench_raw_locators (
  id bigserial PRIMARY KEY, order_id varchar(36) NOT NULL REFERENCES bench_raw_orders(id),
  position int NOT NULL, kind varchar(40) NOT NULL, canonical varchar(2100) NOT NULL,
  display varchar(2100) NOT NULL, url varchar(2100), domain varchar(253),
  submitted varchar(2100) NOT NULL);
CREATE INDEX ON bench_raw_locators (order_id);
CREATE INDEX ON bench_raw_locators (canonical);
CREATE TABLE bench_raw_keys (
  id bigserial PRIMARY KEY, order_id varchar(36) NOT NULL REFERENCES bench_raw_orders(id),
  key varchar(2100) NOT NULL, "primary" boolean NOT NULL, UNIQUE (order_id, key));
CREATE INDEX ON bench_raw_keys (key);
CREATE TABLE bench_raw_outbox (
  id varchar(36) PRIMARY KEY, platform_org_id varchar(36) NOT NULL, order_id varchar(36),
  event varchar(60) NOT NULL, payload jsonb NOT NULL, status varchar(32) NOT NULL,
  attempts int NOT NULL, next_attempt_at timestamptz NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX ON bench_raw_outbox (status, next_attempt_at);
CREATE INDEX ON bench_raw_outbox (order_id);
CREATE TABLE bench_raw_audit (
  seq bigint PRIMARY KEY, at timestamptz NOT NULL, actor varchar(300) NOT NULL,
  action varchar(100) NOT NULL, object_type varchar(50) NOT NULL,
  object_id varchar(100) NOT NULL, data jsonb NOT NULL, prev_hash varchar(64) NOT NULL,
  hash varchar(64) UNIQUE NOT NULL);
INSERT INTO bench_raw_audit VALUES (0, now(), 'genesis', 'genesis', 'none', '0', '{}',
  repeat('0', 64), repeat('0', 64));
"""

_ORDER_VALUES = """(gen_random_uuid()::text, 'ORD-' || md5(random()::text),
  '0b6f1f3e-6a55-4c1a-9a3f-0c6c2f3d9a11', 'c620c7c0-40fa-4bb0-a53b-59876c40a639',
  'terrorism', 'urgent',
  'UU 5/2018 (Pemberantasan Tindak Pidana Terorisme) jo. UU ITE Pasal 40 ayat 2b',
  'Public channel posting step-by-step instructions for building an improvised explosive '
  || 'device, with a call to attack police posts.',
  'issued', 'indonesia', 14400, 'Kominfo/token-ea9483b7(analyst)', now(),
  now() + interval '4 hours', now())"""

RAW_INSERT = f"INSERT INTO bench_raw_orders VALUES {_ORDER_VALUES};\n"

ORDER_SHAPE = f"""BEGIN;
SELECT gen_random_uuid()::text AS oid \\gset
INSERT INTO bench_raw_orders VALUES {_ORDER_VALUES.replace("gen_random_uuid()::text", ":oid", 1)};
INSERT INTO bench_raw_locators
  (order_id, position, kind, canonical, display, url, domain, submitted)
  VALUES (:oid, 0, 'telegram_post', 'telegram%post/chan' || :oid || '/123', 't.me/chan/123',
          'https%//t.me/chan/123', 't.me', 'https%//t.me/s/chan/123'),
         (:oid, 1, 'url', 'url%example.com/a/' || :oid, 'https%//example.com/a/b',
          'https%//example.com/a/b', 'example.com', 'https%//example.com/a/b');
INSERT INTO bench_raw_keys (order_id, key, "primary") VALUES
  (:oid, 'telegram%post/chan' || :oid || '/123', true), (:oid, 'telegram%chan/' || :oid, false),
  (:oid, 'url%example.com/a/' || :oid, true), (:oid, 'domain%example.com', false);
INSERT INTO bench_raw_outbox VALUES (gen_random_uuid()::text,
  'c620c7c0-40fa-4bb0-a53b-59876c40a639', :oid, 'order.issued',
  jsonb_build_object('event', 'order.issued', 'id', :oid::text, 'reason', repeat('x', 400)),
  'inbox', 0, now(), now());
SELECT pg_advisory_xact_lock(1953066603);
SELECT seq AS last_seq, hash AS last_hash FROM bench_raw_audit ORDER BY seq DESC LIMIT 1 \\gset
INSERT INTO bench_raw_audit VALUES (:last_seq::bigint + 1, now(), 'Kominfo/token-ea9483b7(analyst)',
  'order.issued', 'order', :oid, jsonb_build_object('reference', 'ORD-x', 'locators', 2),
  :last_hash, encode(sha256((:last_hash::text || :oid::text)::bytea), 'hex'));
COMMIT;
"""


# tangkal's own write pattern with no application at all: what one group-commit writer sends
# for a batch of BATCH orders (one multi-row insert per table, the audit lock, the head of the
# chain, the chained events), as one pgbench transaction with one client, like the one writer.
# Its rate times BATCH is what this PostgreSQL can take in that shape if it had the machine to
# itself: the ceiling for the database side of intake. (tangkal also looks up related orders
# and checks tokens and platforms per batch: this ceiling leaves those out.)
BATCH = 40
BATCH_SHAPE = f"""BEGIN;
WITH o AS (
  INSERT INTO bench_raw_orders SELECT {_ORDER_VALUES[1:-1]} FROM generate_series(1, {BATCH})
  RETURNING id),
l AS (
  INSERT INTO bench_raw_locators
    (order_id, position, kind, canonical, display, url, domain, submitted)
  SELECT o.id, p, 'url', 'url%example.com/a/' || o.id || '/' || p, 'https%//example.com/a/b',
         'https%//example.com/a/b', 'example.com', 'https%//example.com/a/b'
  FROM o, generate_series(0, 1) p RETURNING 1),
k AS (
  INSERT INTO bench_raw_keys (order_id, key, "primary")
  SELECT o.id, v.key || o.id, v.p FROM o,
    (VALUES ('telegram%post/chan/', true), ('telegram%chan/', false),
            ('url%example.com/a/', true)) AS v(key, p)
  UNION ALL SELECT o.id, 'domain%example.com', false FROM o RETURNING 1),
x AS (
  INSERT INTO bench_raw_outbox SELECT gen_random_uuid()::text,
    'c620c7c0-40fa-4bb0-a53b-59876c40a639', o.id, 'order.issued',
    jsonb_build_object('event', 'order.issued', 'id', o.id, 'reason', repeat('x', 400)),
    'inbox', 0, now(), now() FROM o RETURNING 1)
SELECT (SELECT count(*) FROM o) + (SELECT count(*) FROM l) + (SELECT count(*) FROM k)
  + (SELECT count(*) FROM x);
SELECT pg_advisory_xact_lock(1953066603);
SELECT seq AS last_seq, hash AS last_hash FROM bench_raw_audit ORDER BY seq DESC LIMIT 1 \\gset
INSERT INTO bench_raw_audit SELECT :last_seq::bigint + g, now(),
  'Kominfo/token-ea9483b7(analyst)', 'order.issued', 'order', g::text,
  jsonb_build_object('reference', 'ORD-x', 'locators', 2), :last_hash,
  encode(sha256((:last_hash::text || g::text)::bytea), 'hex') FROM generate_series(1, {BATCH}) g;
COMMIT;
"""


@dataclass
class ServerRun:
    result: dict[str, Any]
    rss_before: int
    rss_after: int
    server_cpu_s: float
    postgres_cpu_s: float
    load_before: str
    load_after: str
    db_counts: dict[str, int]
    audit_verify: str


def _env(url: str, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TANGKAL_DATABASE_URL": url,
        "TANGKAL_DATA_DIR": str(workdir),
        "TANGKAL_LOG_LEVEL": "warning",
        "TANGKAL_SCHEDULER_INTERVAL": "1.0",
        "PYTHONPATH": os.pathsep.join(
            p for p in [str(REPO), os.environ.get("PYTHONPATH", "")] if p
        ),
    }


def _cli(env: dict[str, str], *args: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "tangkal.cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"tangkal {' '.join(args)} failed:\n{proc.stderr}{proc.stdout}")
    return proc.stdout


def run_tangkal(url: str, a: argparse.Namespace, log: Any) -> ServerRun:
    dbname = url.rsplit("/", 1)[-1].split("?", 1)[0]
    workdir = Path(tempfile.mkdtemp(prefix="tangkal-bench-"))
    env = _env(url, workdir)
    try:
        _cli(env, "db", "upgrade", cwd=workdir)
        _cli(env, "org", "create", "--kind", "regulator", "--name", "Kominfo", cwd=workdir)
        _cli(
            env,
            "org",
            "create",
            "--kind",
            "platform",
            "--name",
            "Telegram",
            "--domain",
            "t.me",
            "--domain",
            "telegram.org",
            cwd=workdir,
        )
        token = _cli(
            env, "token", "create", "--org", "Kominfo", "--role", "analyst", cwd=workdir
        ).strip()
        port = free_port()
        cmd = serve_command(port, 0)
        if a.workers:
            cmd += ["--workers", str(a.workers)]
        server_log = workdir / "server.log"
        with open(server_log, "wb") as out:
            server = subprocess.Popen(
                cmd, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/healthz", server)
            time.sleep(1.0)  # let every worker process finish starting
            rss_before = rss_bytes(server.pid)
            load_before = load_average()
            cpu_before = cpu_seconds(server.pid)
            pg_before = postgres_cpu_seconds(dbname)
            log(
                f"server pid {server.pid} on {base}; load: {a.clients} clients, "
                f"{a.warmup:.0f} s warm-up, {a.duration:.0f} s measured"
            )
            load_cmd = [
                sys.executable,
                "-m",
                "bench.orders.load",
                "--url",
                base,
                "--platform",
                "Telegram",
                "--clients",
                str(a.clients),
                "--duration",
                str(a.duration),
                "--warmup",
                str(a.warmup),
                "--max-requests",
                str(a.max_requests),
            ]
            load = subprocess.run(
                load_cmd,
                env={**env, "TANGKAL_BENCH_TOKEN": token},
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=a.warmup + a.duration + 300,
                check=False,
            )
            if load.returncode != 0:
                raise RuntimeError(f"the load generator failed:\n{load.stderr}")
            result = json.loads(load.stdout)
            server_cpu = cpu_seconds(server.pid) - cpu_before
            postgres_cpu = postgres_cpu_seconds(dbname) - pg_before
            rss_after = rss_bytes(server.pid)
            load_after = load_average()
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server.returncode not in (0, -15):
            log(
                f"server exited with {server.returncode}; log:\n"
                + server_log.read_text(errors="replace")[-3000:]
            )
        counts = {}
        for table in (
            "orders",
            "order_locators",
            "order_locator_keys",
            "outbox_messages",
            "audit_events",
        ):
            counts[table] = int(pg_execute(url, f"SELECT count(*) FROM {table}")[0][0])
        verify = subprocess.run(
            [sys.executable, "-m", "tangkal.cli.main", "audit", "verify"],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        verdict = (verify.stdout + verify.stderr).strip().splitlines()
        return ServerRun(
            result,
            rss_before,
            rss_after,
            server_cpu,
            postgres_cpu,
            load_before,
            load_after,
            counts,
            ("ok: " if verify.returncode == 0 else "FAILED: ") + (verdict[-1] if verdict else ""),
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_raw(
    url: str, a: argparse.Namespace, log: Any
) -> tuple[PgbenchResult, PgbenchResult | None, PgbenchResult | None]:
    pg_execute(url, RAW_TABLES)
    log(
        f"pgbench raw single-row INSERT: {a.clients} clients, -j {a.pgbench_threads}, "
        f"{a.duration:.0f} s"
    )
    raw = run_pgbench(
        url, RAW_INSERT, clients=a.clients, threads=a.pgbench_threads, duration=int(a.duration)
    )
    shape = None
    if not a.no_shape:
        log("pgbench order-shaped transaction (4 tables + audit lock)")
        shape = run_pgbench(
            url, ORDER_SHAPE, clients=a.clients, threads=a.pgbench_threads, duration=int(a.duration)
        )
    batch = None
    if not a.no_shape:
        log(f"pgbench batched order shape ({BATCH} orders per transaction, one client)")
        batch = run_pgbench(url, BATCH_SHAPE, clients=1, threads=1, duration=int(a.duration))
    return raw, shape, batch


def report(
    a: argparse.Namespace,
    run: ServerRun,
    raw: PgbenchResult,
    shape: PgbenchResult | None,
    batch: PgbenchResult | None,
    pg: dict[str, str],
) -> str:
    r = run.result
    lat = LatencySummary.of(r["latencies_ms"])
    rate = r["ok"] / r["elapsed"] if r["elapsed"] else 0.0
    ratio = rate / raw.tps if raw.tps else 0.0
    expected = r["ok"] + r["warmup_requests"]
    rows: list[list[Any]] = [
        [
            "tangkal `POST /api/v1/orders` (201s)",
            f"{rate:,.0f} orders/s",
            f"{lat.p50:.1f}",
            f"{lat.p99:.1f}",
            f"{lat.max:.1f}",
            r["errors"],
            f"{r['ok']:,} in {r['elapsed']:.1f} s",
        ],
        [
            "pgbench raw single-row INSERT",
            f"{raw.tps:,.0f} inserts/s",
            "",
            "",
            "",
            raw.failed,
            f"avg {raw.latency_avg_ms:.2f} ms",
        ],
    ]
    if shape is not None:
        rows.append(
            [
                "pgbench order-shaped tx (4 tables + audit lock)",
                f"{shape.tps:,.0f} tx/s",
                "",
                "",
                "",
                shape.failed,
                f"avg {shape.latency_avg_ms:.2f} ms",
            ]
        )
    if batch is not None:
        rows.append(
            [
                f"pgbench batched order shape ({BATCH} orders/tx, 1 client: the writes of one "
                "group commit, no application)",
                f"{batch.tps * BATCH:,.0f} orders/s",
                "",
                "",
                "",
                batch.failed,
                f"{batch.tps:,.1f} tx/s, avg {batch.latency_avg_ms:.2f} ms",
            ]
        )
    cpu_ms_per_order = run.server_cpu_s * 1000 / max(1, expected)
    pg_ms_per_order = run.postgres_cpu_s * 1000 / max(1, expected)
    ceiling = (os.cpu_count() or 1) * 1000 / max(1e-9, cpu_ms_per_order + pg_ms_per_order)
    aim_ratio = "met" if ratio >= 0.25 else "NOT met"
    aim_p99 = "met" if lat.p99 < 100 else "NOT met"
    lines = [
        f"### Order intake, {a.clients} clients, {a.duration:.0f} s "
        f"(server workers: {a.workers or 1})",
        "",
        f"- command: `{command_line()}`",
        f"- date: {now_utc()}",
        "",
        markdown_table(["what", "rate", "p50 ms", "p99 ms", "max ms", "errors", "note"], rows),
        "",
        f"- **ratio tangkal ÷ raw inserts: {ratio:.3f}** (aim ≥ 0.25: {aim_ratio}); "
        f"**p99 {lat.p99:.1f} ms** (aim < 100 ms: {aim_p99})"
        + (f"; tangkal ÷ order-shaped tx: {rate / shape.tps:.3f}" if shape else "")
        + (
            f"; the batched order shape alone (PostgreSQL with the machine to itself) ÷ raw "
            f"inserts: {batch.tps * BATCH / raw.tps:.3f}, tangkal ÷ it: "
            f"{rate / (batch.tps * BATCH):.3f}"
            if batch and raw.tps and batch.tps
            else ""
        ),
        f"- errors: {r['errors']} (any non-201 is an error)"
        + (
            ""
            if not r["first_errors"]
            else "; first: " + " / ".join(f"`{e[:160]}`" for e in r["first_errors"][:3])
        ),
        f"- warm-up: {a.warmup:.0f} s, {r['warmup_requests']:,} requests (not measured); "
        f"max requests {a.max_requests:,}",
        f"- afterwards in the database: {run.db_counts['orders']:,} orders "
        f"(expected {expected:,}), {run.db_counts['order_locators']:,} locators, "
        f"{run.db_counts['order_locator_keys']:,} keys, "
        f"{run.db_counts['outbox_messages']:,} outbox messages, "
        f"{run.db_counts['audit_events']:,} audit events; `tangkal audit verify`: "
        f"{run.audit_verify}",
        f"- server: RSS {human_bytes(run.rss_before)} before, {human_bytes(run.rss_after)} "
        f"after (all processes); CPU {run.server_cpu_s:.1f} s "
        f"({run.server_cpu_s / r['elapsed'] / (os.cpu_count() or 1) * 100:.0f}% of the "
        f"machine over the measured window, warm-up included)",
        f"- server CPU per order: {cpu_ms_per_order:.1f} ms (all server processes, warm-up "
        f"and measured requests; the figure least skewed by other load on the machine)",
        f"- PostgreSQL CPU per order: {pg_ms_per_order:.2f} ms (its backends for this "
        f"database plus WAL writer, checkpointer, background writer); so the machine's "
        f"{os.cpu_count()} cores could serve at most about {ceiling:,.0f} orders/s this way "
        f"if nothing else ran (server + PostgreSQL CPU per order)",
        f"- load generator: CPU {r['client_cpu_s']:.1f} s in the measured window "
        f"(it shares the {os.cpu_count()} cores with the server and PostgreSQL)",
        f"- load average (1/5/15 min) before the load: {run.load_before}, after: "
        f"{run.load_after} (other jobs on the machine skew every figure)",
        f"- pgbench: `-M prepared -c {raw.clients} -j {raw.threads} -T {raw.duration:.0f} -n`, "
        f"scripts in `bench/orders/intake.py` (RAW_INSERT, ORDER_SHAPE; "
        f"BATCH_SHAPE with `-c 1 -j 1`)",
        "",
        machine_table(pg),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Order intake over HTTP vs raw PostgreSQL inserts.")
    add_load_arguments(
        p, duration=30.0, warmup=5.0, max_requests=200_000, duration_help="measured seconds"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="tangkal serve --workers N (default: not passed, one process)",
    )
    p.add_argument("--pgbench-threads", type=int, default=2)
    p.add_argument(
        "--no-shape", action="store_true", help="skip the order-shaped pgbench transaction"
    )
    p.add_argument("--pg", default=PG_ADMIN_URL, help="admin URL of the PostgreSQL to use")
    p.add_argument("--out", default=str(DOC), help="markdown file to write ('-': none)")
    a = p.parse_args(argv)
    if shutil.which("pgbench") is None:
        p.error("pgbench is not installed (Debian: postgresql-contrib / postgresql-client)")

    def log(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    pg = pg_server_info(a.pg)
    with fresh_pg_database("tangkal_bench", a.pg) as url:
        log(f"fresh database {url.rpartition('/')[2]}")
        run = run_tangkal(url, a, log)
        raw, shape, batch = run_raw(url, a, log)
    text = report(a, run, raw, shape, batch, pg)
    sys.stdout.write(text)
    if a.out != "-":
        out = Path(a.out)
        write_section(out, "# Benchmark: order intake\n\n" + text)
        log(f"wrote {a.out}")
    return 1 if run.result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
