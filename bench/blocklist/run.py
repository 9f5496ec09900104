"""How long a national list takes to import, against the database's own floor and Unbound.

A ministry's list (Indonesia's TRUST+ runs to millions of names) arrives as a file. What is
measured, for the same seeded names in one run:

1. **tangkal**: ``tangkal block import FILE --by-official`` in a fresh database, as an operator
   runs it: every line validated (IDNA, public suffix list, duplicates), checked against open
   entries and the rails, written as block entries, published to the RPZ journal, and put on
   the hash-chained audit record, in one transaction. Wall time and the process's peak memory.
2. **the database's floor**: the same three tables (block entries, zone entries, journal rows)
   filled with the same number of rows by the bare driver (``COPY`` on PostgreSQL,
   ``executemany`` on SQLite), rows built before the clock starts: no validation, no
   application. tangkal's time divided by this is the cost of everything tangkal adds.
3. **the peer**: Unbound started with the same list as ``local-zone: ... always_nxdomain``
   lines, the way a national filter on Unbound takes a list, until it answers NXDOMAIN for the
   last name. That is the time a resolver operator waits for a list to be in force without
   tangkal; with tangkal the resolver instead follows the RPZ by transfer
   (``bench.rpz.run`` measures that).

    python -m bench.blocklist.run --names 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode

from bench.common import (
    REPO,
    command_line,
    free_port,
    fresh_pg_database,
    load_average,
    machine_table,
    markdown_table,
    now_utc,
    pg_server_info,
    proc_status_kib,
    write_section,
)
from bench.rpz.run import make_names

OUT = REPO / "docs" / "benchmarks-blocklist.md"
LEGAL_BASIS = "UU 1/2024 (ITE) Pasal 40 ayat (2b)"
REASON = "national list (bench)"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_rss_mb: float


def _peak_rss_mb(pid: int) -> float:
    """The process's own high-water mark (``VmHWM``). Not the rusage ``wait4`` returns: that
    counts the pages a forked child shared with this process before it ran ``exec``, and this
    process holds the whole list, so it overstated tangkal's peak by hundreds of megabytes."""
    try:
        return proc_status_kib(pid).get("VmHWM", 0) / 1024
    except OSError:  # exited meanwhile
        return 0.0


def _run_timed(argv: list[str], env: dict[str, str], timeout: float) -> Timed:
    """Run a command to its end; wall time and the peak resident memory of that process
    (read every 20 ms while it runs; the mark only grows, so the last reading is the peak
    up to 20 ms before the end)."""
    # stderr to a file, not a pipe: a full pipe would stall the child while we poll it
    with tempfile.TemporaryFile() as errors:
        t = time.monotonic()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        deadline = t + timeout
        peak = 0.0
        while True:
            peak = max(peak, _peak_rss_mb(proc.pid))
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{argv[:4]} took longer than {timeout:.0f} s")
            time.sleep(0.02)
        elapsed = time.monotonic() - t
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            errors.seek(0)
            err = errors.read().decode(errors="replace")
            raise RuntimeError(f"{' '.join(argv[:4])} exited {code}:\n{err[-3000:]}")
    return Timed(elapsed, peak)


def _tangkal(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "tangkal.cli.main", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )


def tangkal_import(url: str, names_file: Path, work: Path, timeout: float) -> Timed:
    env = {
        **os.environ,
        "TANGKAL_DATABASE_URL": url,
        "TANGKAL_DATA_DIR": str(work),
        "TANGKAL_LOG_LEVEL": "warning",
    }
    _tangkal(env, "db", "upgrade")
    _tangkal(env, "org", "create", "--kind", "regulator", "--name", "kominfo")
    return _run_timed(
        [
            sys.executable,
            "-m",
            "tangkal.cli.main",
            "block",
            "import",
            str(names_file),
            "--by-official",
            "--legal-basis",
            LEGAL_BASIS,
            "--reason",
            REASON,
        ],
        env,
        timeout,
    )


def floor_rows(names: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows an import writes, as the bare driver takes them (built before timing)."""
    import json
    import uuid

    from tangkal.blocklist.models import reverse_name

    now = "2026-11-29T00:00:00+00:00"
    assessment = json.dumps({"source": "bench", "reasons": [], "previous_blocks": 0})
    who = "operator@kominfo"
    entries = [
        (
            str(uuid.uuid4()),
            n,
            reverse_name(n),
            "nxdomain",
            "active",
            LEGAL_BASIS,
            REASON,
            who,
            who,
            now,
            False,
            who,
            who,
            now,
            now,
            now,
            0,
            assessment,
        )
        for n in names
    ]
    zone = [(n, "nxdomain", 1, now) for n in names]
    journal = [(1, n, "nxdomain") for n in names]
    return {"entries": entries, "zone": zone, "journal": journal}


ENTRY_COLUMNS = (
    "id, domain, rname, action, status, legal_basis, reason, requested_by, "
    "requested_by_key, requested_at, needs_second_approval, first_approved_by, "
    "first_approver_key, first_approved_at, effective_at, activated_at, "
    "previous_blocks, assessment"
)


def database_floor(url: str, names: list[str], work: Path) -> float:
    """The same rows into the same (migrated, empty) tables by the bare driver."""
    env = {**os.environ, "TANGKAL_DATABASE_URL": url, "TANGKAL_DATA_DIR": str(work)}
    _tangkal(env, "db", "upgrade")
    rows = floor_rows(names)
    changeset = (
        "INSERT INTO rpz_changesets (seq, serial, from_serial, committed_at, size) "
        "VALUES (1, 1, 0, '2026-11-29T00:00:00+00:00', {n})"
    )
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")  # as tangkal opens it
        t = time.monotonic()
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO block_entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * 18)})",
            rows["entries"],
        )
        conn.executemany(
            "INSERT INTO rpz_entries (name, action, serial, changed_at) VALUES (?, ?, ?, ?)",
            rows["zone"],
        )
        conn.execute(changeset.format(n=len(names)))
        conn.executemany(
            "INSERT INTO rpz_changes (seq, name, new_action) VALUES (?, ?, ?)", rows["journal"]
        )
        conn.execute("COMMIT")
        elapsed = time.monotonic() - t
        conn.close()
        return elapsed
    import psycopg

    with psycopg.connect(url) as conn:
        t = time.monotonic()
        with conn.cursor() as cur:
            for sql, key in (
                (f"COPY block_entries ({ENTRY_COLUMNS}) FROM STDIN", "entries"),
                ("COPY rpz_entries (name, action, serial, changed_at) FROM STDIN", "zone"),
            ):
                with cur.copy(sql) as copy:
                    for row in rows[key]:
                        copy.write_row(row)
            cur.execute(changeset.format(n=len(names)))
            with cur.copy("COPY rpz_changes (seq, name, new_action) FROM STDIN") as copy:
                for row in rows["journal"]:
                    copy.write_row(row)
        conn.commit()
        return time.monotonic() - t


def unbound_local_zones(names: list[str], work: Path, timeout: float) -> Timed | None:
    """Unbound with the list as local-zone lines: start until NXDOMAIN for the last name."""
    binary = shutil.which("unbound") or "/usr/sbin/unbound"
    if not Path(binary).exists():
        log("unbound not installed: peer row skipped (scripts/install-system-deps installs it)")
        return None
    port = free_port()
    conf = work / "unbound-local.conf"
    with conf.open("w") as f:
        f.write(
            "server:\n"
            f"  interface: 127.0.0.1@{port}\n  port: {port}\n  do-daemonize: no\n"
            '  username: ""\n  chroot: ""\n  use-syslog: no\n'
            f'  directory: "{work}"\n  pidfile: ""\n  num-threads: 1\n'
            "  do-not-query-localhost: yes\n  access-control: 127.0.0.0/8 allow\n"
        )
        for n in names:
            f.write(f'  local-zone: "{n}." always_nxdomain\n')
    last = names[-1] + "."
    t = time.monotonic()
    with open(work / "unbound.out", "wb") as out:
        proc = subprocess.Popen(
            [binary, "-d", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT
        )
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        "unbound exited:\n" + (work / "unbound.out").read_text()[-2000:]
                    )
                try:
                    answer = dns.query.udp(
                        dns.message.make_query(last, "A"), "127.0.0.1", port=port, timeout=0.3
                    )
                    if answer.rcode() == dns.rcode.NXDOMAIN:
                        break
                except (dns.exception.Timeout, OSError):
                    pass
                if time.monotonic() - t > timeout:
                    raise RuntimeError(f"unbound did not answer within {timeout:.0f} s")
                time.sleep(0.05)
            return Timed(time.monotonic() - t, _peak_rss_mb(proc.pid))
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def report(
    args: argparse.Namespace,
    rows: list[list[Any]],
    load_before: str,
    load_after: str,
    pg: dict[str, str],
) -> str:
    return "\n".join(
        [
            "## Importing a national list",
            "",
            f"{now_utc()}, {args.names:,} seeded names (shaped like a national list, as in "
            "`bench.rpz.run`), one run of each. Reproduce:",
            "",
            f"    {command_line()}",
            "",
            markdown_table(
                ["what", "database", "seconds", "names/s", "peak memory", "ratio to the floor"],
                rows,
            ),
            "",
            "- **tangkal**: `tangkal block import FILE --by-official` into a fresh database: every "
            "line validated (IDNA, public suffix list, duplicates), checked against open entries "
            "and the rails, written as block entries, published to the RPZ journal and recorded on "
            "the hash-chained audit record, all in one transaction (nothing is written if one line "
            "is bad).",
            "- **floor**: the same number of rows into the same three tables (block entries, zone "
            "entries, journal rows), built before the clock starts and written by the bare driver "
            "(`COPY` on PostgreSQL, `executemany` on SQLite) in one transaction: what the database "
            "alone costs.",
            "- **Unbound local-zone**: the peer way of enforcing a list, Unbound 1.x started with "
            'one `local-zone: "name." always_nxdomain` line per name, from start until it answers '
            "NXDOMAIN for the last name. A resolver following tangkal's RPZ instead gets the list "
            "by transfer (`python -m bench.rpz.run`).",
            "",
            f"Load average before / after: {load_before} / {load_after}.",
            "",
            machine_table(pg),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--names", type=int, default=1_000_000)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--skip-unbound", action="store_true")
    p.add_argument("--timeout", type=float, default=3600.0, help="per step, seconds")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    load_before = load_average()
    names = make_names(args.names)
    rows: list[list[Any]] = []
    pg: dict[str, str] = {}
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tangkal-bench-bl-")))
        names_file = work / "names.txt"
        names_file.write_text("\n".join(names) + "\n")
        for backend in args.backends.split(","):
            if backend == "postgresql":
                pg = pg_server_info()
                url = stack.enter_context(fresh_pg_database("tangkal_bench_import"))
                floor_url = stack.enter_context(fresh_pg_database("tangkal_bench_floor"))
            elif backend == "sqlite":
                url = f"sqlite:///{work}/import.db"
                floor_url = f"sqlite:///{work}/floor.db"
            else:
                p.error(f"unknown backend {backend!r}")
            log(f"{backend}: floor ...")
            floor = database_floor(floor_url, names, work)
            log(f"{backend}: floor {floor:.1f} s; tangkal import ...")
            imp = tangkal_import(url, names_file, work, args.timeout)
            log(f"{backend}: tangkal {imp.seconds:.1f} s, {imp.peak_rss_mb:.0f} MB")
            rows.append(
                [
                    "tangkal block import",
                    backend,
                    imp.seconds,
                    int(args.names / imp.seconds),
                    f"{imp.peak_rss_mb:,.0f} MB",
                    f"{imp.seconds / floor:.1f}×",
                ]
            )
            rows.append(
                [
                    "floor: bare driver, same rows",
                    backend,
                    floor,
                    int(args.names / floor),
                    "",
                    "1.0×",
                ]
            )
        if not args.skip_unbound:
            log("unbound with local-zone lines ...")
            ub = unbound_local_zones(names, work, args.timeout)
            if ub is not None:
                log(f"unbound {ub.seconds:.1f} s, {ub.peak_rss_mb:.0f} MB")
                rows.append(
                    [
                        "Unbound local-zone config, start → enforcing",
                        "—",
                        ub.seconds,
                        int(args.names / ub.seconds),
                        f"{ub.peak_rss_mb:,.0f} MB",
                        "",
                    ]
                )
    text = report(args, rows, load_before, load_average(), pg)
    write_section(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
