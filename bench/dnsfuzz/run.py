"""DNS fuzz run: random and mutated packets at a running ``tangkal serve`` primary.

    python -m bench.dnsfuzz.run --packets 100000
    python -m bench.dnsfuzz.run --packets 100000 --write docs/benchmarks-dnsfuzz.md

Starts ``tangkal serve`` on a fresh SQLite database in a temporary directory, with a few
names in the zone and a subscriber allow-listed for 127.0.0.1 (so fuzzed AXFR and IXFR
reach the transfer code, not only the refusal), then sends the packets of
:mod:`bench.dnsfuzz.fuzz` over UDP and TCP, checking every ``--soa-every`` packets that a
clean SOA query is answered. Reported: packets a second, crashes (the process exiting),
SOA checks failed, requests that raised inside the server (``rpz request failed`` in its
log: answered SERVFAIL, but a bug), and the server's resident memory before and after.
The exit status is 1 if any of those is not zero.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import (
    command_line,
    free_port,
    human_bytes,
    machine_table,
    markdown_table,
    now_utc,
    rss_bytes,
    serve_command,
    wait_http,
    write_section,
)
from bench.dnsfuzz import fuzz


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "tangkal.cli.main", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode != 0:
        raise RuntimeError(f"tangkal {' '.join(args)} failed: {r.stderr}")
    return r.stdout


@contextmanager
def serving(
    allow: tuple[str, str] | None = None, env_extra: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """A ``tangkal serve`` on a fresh SQLite database with a few names in its zone (and,
    with ``allow`` = (organisation, network), a subscriber allow-listed for that network),
    answering SOA; yields the process, its DNS port and its log file."""
    work = Path(tempfile.mkdtemp(prefix="tangkal-dnsfuzz-"))
    http, dns_port = free_port(), free_port()
    env = {
        "TANGKAL_DATABASE_URL": f"sqlite:///{work}/fuzz.db",
        "TANGKAL_DATA_DIR": str(work),
        "TANGKAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{http}",
        **(env_extra or {}),
    }
    cli(env, work, "db", "upgrade")
    if allow:
        org, net = allow
        cli(env, work, "org", "create", "--kind", "isp", "--name", org)
        cli(env, work, "subscriber", "add", "--org", org,
            "--notify", f"127.0.0.1:{free_port()}", "--allow-ip", net)  # fmt: skip
    names = [f"n{i}.fuzz-tangkal.com" for i in range(20)]
    cli(env, work, "rpz", "publish", *names, "--reason", "fuzz")
    log_path = work / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            serve_command(http, dns_port),
            env={**os.environ, **env},
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{http}/healthz", proc)
        for _ in range(100):
            if fuzz.soa_ok("127.0.0.1", dns_port):
                break
            time.sleep(0.1)
        yield proc, dns_port, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--soa-every", type=int, default=500)
    ap.add_argument("--tcp-share", type=float, default=0.03)
    ap.add_argument("--write", type=Path, help="write the results as markdown here")
    args = ap.parse_args()

    with serving(allow=("fuzz-isp", "127.0.0.1/32")) as (proc, dns_port, log_path):
        rss_before = rss_bytes(proc.pid)
        res = fuzz.run(
            "127.0.0.1",
            dns_port,
            args.packets,
            seed=args.seed,
            soa_every=args.soa_every,
            tcp_share=args.tcp_share,
            alive=lambda: proc.poll() is None,
        )
        res.crashes = 0 if proc.poll() is None else 1
        rss_after = rss_bytes(proc.pid) if proc.poll() is None else 0
        errors = log_path.read_text(errors="replace").count("rpz request failed")
    rows = [
        (
            "packets sent",
            f"{res.packets:,} ({res.udp:,} UDP, {res.tcp:,} TCP in "
            f"{res.tcp_connections:,} connections)",
        ),
        ("packets a second", f"{res.rate:,.0f}"),
        ("seconds", f"{res.seconds:.1f}"),
        ("crashes (server exited)", str(res.crashes)),
        ("SOA checks failed", f"{res.soa_failures} of {res.soa_checks}"),
        ("requests that raised in the server", str(errors)),
        ("server memory before / after", f"{human_bytes(rss_before)} / {human_bytes(rss_after)}"),
    ]
    text = (
        "# DNS fuzz run\n\n"
        f"`{command_line()}`, {now_utc()}, seed {args.seed}: random and mutated DNS packets "
        "(bench/dnsfuzz/fuzz.py) at a running `tangkal serve` primary over UDP and TCP, a "
        f"clean SOA query every {args.soa_every} packets.\n\n"
        + markdown_table(("measure", "value"), rows)
        + "\n\n"
        + machine_table()
        + "\n"
    )
    if res.failures:
        text += "\nNoted (first 20):\n\n" + "".join(f"- {f}\n" for f in res.failures[:20])
    print(text)
    if args.write:
        write_section(args.write, text)
    return 1 if res.crashes or res.soa_failures or errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
