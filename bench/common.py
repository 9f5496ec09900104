"""Helpers every benchmark shares: the machine, memory, percentiles, PostgreSQL, pgbench,
markdown.

A benchmark figure means little without the machine and the command that produced it, so
every result table is built from :func:`machine_info` and the exact command line; and a
figure for tangkal means little without a figure for the raw database on the same machine,
which is what :func:`run_pgbench` gives.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN_URL = os.environ.get("TANGKAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- the machine


def machine_info() -> dict[str, str]:
    """What a reader needs to compare a figure with their own: cores, memory, versions."""
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
                break
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count() or 0),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB" if mem_kb else "unknown",
        "cpu": cpu or "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def load_average() -> str:
    """The 1/5/15-minute load: a busy machine (other jobs, tests) skews every figure."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def command_line() -> str:
    """The command as a reader would type it to reproduce the run."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(".py"):
        mod = Path(argv[0]).resolve()
        try:
            rel = mod.relative_to(REPO).with_suffix("")
            argv = ["-m", ".".join(rel.parts), *argv[1:]]
        except ValueError:
            pass
    return "python " + " ".join(shlex.quote(a) for a in argv)


def proc_status_kib(pid: int) -> dict[str, int]:
    """The sizes in ``/proc/PID/status`` (``VmRSS``, ``VmHWM``: the resident set and its
    high-water mark, ...), in KiB; OSError when the process is gone."""
    sizes = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.endswith(" kB"):
            sizes[key] = int(value.split()[0])
    return sizes


def rss_bytes(pid: int, *, children: bool = True) -> int:
    """Resident memory of a process (and, by default, all its descendants), from /proc."""
    total = 0
    pids = [pid, *(_descendants(pid) if children else [])]
    for p in pids:
        try:
            total += proc_status_kib(p).get("VmRSS", 0) * 1024
        except OSError:
            continue
    return total


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for k in kids:
            out.append(int(k))
            todo.append(int(k))
    return out


def _cpu_of(pids: list[int]) -> float:
    """User+system CPU time these processes have used so far (gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def cpu_seconds(pid: int, *, children: bool = True) -> float:
    """User+system CPU time a process (and its live descendants) has used so far."""
    return _cpu_of([pid, *(_descendants(pid) if children else [])])


def postgres_cpu_seconds(dbname: str) -> float:
    """CPU time used so far by PostgreSQL for one database: its backends plus the shared
    WAL writer, checkpointer and background writer (shared, but busy for this database
    while a benchmark runs). Only on the same machine as the server (/proc)."""
    shared = ("walwriter", "checkpointer", "background writer")
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("postgres:") and (f" {dbname} " in cmd or any(s in cmd for s in shared)):
            pids.append(int(proc.name))
    return _cpu_of(pids)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


# ---------------------------------------------------------------- statistics


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100): always a value that was really observed."""
    if not values:
        return math.nan
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    count: int
    p50: float
    p90: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, values: Sequence[float]) -> LatencySummary:
        ordered = sorted(values)
        if not ordered:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        return cls(
            len(ordered),
            percentile(ordered, 50),
            percentile(ordered, 90),
            percentile(ordered, 99),
            ordered[-1],
            sum(ordered) / len(ordered),
        )


# ---------------------------------------------------------------- markdown


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured table; numbers right-aligned so columns of figures read well."""
    rows = [[_cell(c) for c in r] for r in rows]
    align = [
        "---:" if rows and all(_numeric(r[i]) for r in rows) else "---" for i in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _numeric(cell: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d,]+(\.\d+)?( ?[a-zA-Z%/×]+)?", cell.strip()))


def machine_table(extra: dict[str, str] | None = None) -> str:
    info = {**machine_info(), **(extra or {})}
    return markdown_table(["machine", ""], list(info.items()))


# ---------------------------------------------------------------- PostgreSQL


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def pg_execute(url: str, *statements: str) -> list[Any]:
    """Run statements in autocommit (CREATE/DROP DATABASE need it); returns the last rows."""
    import psycopg

    rows: list[Any] = []
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        for sql in statements:
            cur = conn.execute(sql)
            rows = cur.fetchall() if cur.description else []
    return rows


def pg_server_info(url: str = PG_ADMIN_URL) -> dict[str, str]:
    names = [
        "server_version",
        "max_connections",
        "shared_buffers",
        "synchronous_commit",
        "fsync",
        "wal_level",
    ]
    out = {}
    for n in names:
        out[f"postgres {n}"] = str(pg_execute(url, f"SHOW {n}")[0][0])
    return out


@contextmanager
def fresh_pg_database(
    prefix: str = "tangkal_bench", admin_url: str = PG_ADMIN_URL
) -> Iterator[str]:
    """A new, empty database for one run, dropped afterwards whatever happens."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    pg_execute(admin_url, f'CREATE DATABASE "{name}"')
    base = admin_url.rpartition("/")[0]
    try:
        yield f"{base}/{name}"
    finally:
        pg_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pgbench_args(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pgbench from a ``postgresql://user@host:port/db`` URL."""
    from urllib.parse import urlsplit

    u = urlsplit(url)
    args = [
        "-h",
        u.hostname or "127.0.0.1",
        "-p",
        str(u.port or 5432),
        "-U",
        u.username or "postgres",
        u.path.lstrip("/"),
    ]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, env


@dataclass(frozen=True, slots=True)
class PgbenchResult:
    tps: float
    transactions: int
    failed: int
    latency_avg_ms: float
    clients: int
    threads: int
    duration: float
    script: str


def run_pgbench(
    url: str,
    script: str,
    *,
    clients: int,
    threads: int,
    duration: int,
    mode: str = "prepared",
    timeout_extra: float = 60.0,
) -> PgbenchResult:
    """Run one pgbench custom script (``-n``: no vacuum of the standard tables)."""
    conn, env = pgbench_args(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        cmd = [
            "pgbench",
            "-n",
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(duration),
            "-M",
            mode,
            "-f",
            path,
            *conn[:-1],
            conn[-1],
        ]
        proc = subprocess.run(
            cmd,
            env=env,
            capture_output=True,
            text=True,
            timeout=duration + timeout_extra,
            check=False,
        )
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
    text = proc.stdout
    tps = _grab(r"tps = ([\d.]+) \((?:without initial connection time|excluding)", text)
    done = int(_grab(r"number of transactions actually processed: (\d+)", text))
    failed_m = re.search(r"number of failed transactions: (\d+)", text)
    lat = _grab(r"latency average = ([\d.]+) ms", text)
    return PgbenchResult(
        tps,
        done,
        int(failed_m.group(1)) if failed_m else 0,
        lat,
        clients,
        threads,
        float(duration),
        script,
    )


def _grab(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    if not m:
        raise RuntimeError(f"could not find {pattern!r} in pgbench output:\n{text}")
    return float(m.group(1))


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(http_port: int, dns_port: int, *extra: str) -> list[str]:
    """The argv of a ``tangkal serve`` on loopback, as every benchmark starts it (each then
    chooses its own environment, log and supervision)."""
    return [sys.executable, "-m", "tangkal.cli.main", "serve", "--host", "127.0.0.1",
            "--port", str(http_port), "--dns-port", str(dns_port), *extra]  # fmt: skip


def wait_http(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers 200, failing early if ``proc`` dies."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before answering")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.1)


NOTES_MARKER = "<!-- notes: kept across runs -->"


def write_section(path: Path, text: str) -> None:
    """Write a benchmark's results file. Hand-written notes below :data:`NOTES_MARKER` (a
    run at another size, an analysis) survive a re-run; the figures above it are replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = text if text.endswith("\n") else text + "\n"
    if path.exists() and NOTES_MARKER in (old := path.read_text()):
        text += "\n" + NOTES_MARKER + old.split(NOTES_MARKER, 1)[1]
    path.write_text(text)


def add_load_arguments(
    p: argparse.ArgumentParser,
    *,
    duration: float,
    warmup: float,
    max_requests: int,
    duration_help: str | None = None,
) -> None:
    """The options every closed-loop load run takes (the intake benchmarks): how many
    clients, how long measured after how long a warm-up, and a cap on requests."""
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--duration", type=float, default=duration, help=duration_help)
    p.add_argument("--warmup", type=float, default=warmup)
    p.add_argument("--max-requests", type=int, default=max_requests)
