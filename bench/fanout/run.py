"""Fan-out benchmark: one change committed, then the time until N subscribers all hold the
new serial, with tangkal's primary and with BIND 9.18 as the primary of the same zone.

    python -m bench.fanout.run                      # N = 1,000 and 10,000
    python -m bench.fanout.run --subscribers 1000 --rounds 5 --bind-limit 120

The N subscribers are simulated in this process (:mod:`bench.fanout.client`): each listens
for NOTIFY on its own UDP port on 127.0.0.1 and pulls IXFR over TCP signed with its own
TSIG key (hmac-sha256). For each primary and each N:

1. the primary is started with N subscribers registered (tangkal: ``tangkal serve`` on a
   SQLite file, one key and one subscriber per simulated resolver, each bound to its key;
   BIND: ``named`` in a temporary directory with the same zone, the N keys, every
   subscriber an ``also-notify`` target and ``allow-transfer`` to the N keys);
2. every subscriber pulls the zone once (not timed);
3. a round: one change is committed (tangkal: ``rpz.journal.publish`` of one name;
   BIND: a signed dynamic update of one name), and the clock runs from the commit's
   return until every subscriber holds the new serial (NOTIFY received, acknowledged,
   IXFR pulled and its TSIG checked); rounds are repeated and their median reported.

BIND runs twice: with its default ``notify-rate`` (20 a second) and with it raised to the
rate tangkal's notifier uses. Both BIND runs set ``notify-delay 0`` (otherwise a change
within 5 s of the last is held back) and ``startup-notify-rate`` to the raised rate (so the
NOTIFYs BIND sends on start are done before the first round) and ``transfers-out 10000``
(its default of 10 concurrent outbound transfers refuses the rest, which then retry);
these are stated with the figures.
A round that does not complete within ``--bind-limit`` seconds is stopped and reported as
how many subscribers held the serial by then.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update

from bench.common import (
    command_line,
    cpu_seconds,
    free_port,
    load_average,
    machine_info,
    markdown_table,
    now_utc,
    rss_bytes,
    serve_command,
)
from bench.fanout.client import Fleet

ZONE = "rpz.tangkal."
NOTIFY_RATE = 10_000  # tangkal's Notifier.RATE; BIND's raised notify-rate


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def zone_names(n: int) -> list[str]:
    return [f"blocked-{i:05}.example" for i in range(n)]


@dataclass
class Result:
    primary: str
    subscribers: int
    rounds: list[float | None] = field(default_factory=list)  # None: not within the limit
    partial: list[tuple[float, int]] = field(default_factory=list)  # (limit, holding)
    first_10pct: list[float] = field(default_factory=list)
    notified: list[tuple[float, float, float]] = field(default_factory=list)
    peak_rss: int = 0
    server_cpu: list[float] = field(default_factory=list)  # CPU seconds of the primary
    client_cpu: list[float] = field(default_factory=list)  # and of this process, per round
    notes: str = ""


def soa_serial(port: int) -> int | None:
    try:
        r = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=0.5)
    except Exception:
        return None
    return int(r.answer[0][0].serial) if r.answer else None


def wait_soa(
    port: int, proc: subprocess.Popen[bytes], limit: float = 300, serial: int | None = None
) -> int:
    deadline = time.monotonic() + limit
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        got = soa_serial(port)
        if got is not None and (serial is None or got == serial):
            return got
        if time.monotonic() > deadline:
            raise RuntimeError("server never answered SOA")
        time.sleep(0.05)


def free_dns_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1. A port merely free for TCP may be one
    of the subscribers' ten thousand UDP ports, and the primary then fails to bind."""
    import socket

    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = int(t.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no port free for both TCP and UDP")


def _die_with_parent() -> None:
    """In the child: SIGTERM when the bench dies, so no server outlives an interrupted run."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------- tangkal


def tangkal_setup(
    url: str, names: list[str], keys: list[tuple[str, bytes]], ports: list[int]
) -> None:
    """Schema, zone, one ISP, and per subscriber a key and a subscriber bound to it (rows
    written directly: the setup is not what is measured)."""
    from tangkal.accounts import services as accounts
    from tangkal.accounts.models import OrgKind
    from tangkal.accounts.principal import SYSTEM
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database
    from tangkal.rpz.journal import RpzAction, ZoneChange, publish
    from tangkal.rpz.models import Subscriber, TsigKey

    db = Database(url)
    upgrade(db)
    with db.unit_of_work() as s:
        org = accounts.create_org(s, SYSTEM, kind=OrgKind.ISP, name="bench-isp")
        publish(s, [ZoneChange(n, RpzAction.NXDOMAIN) for n in names], reason="bench zone")
        for (name, secret), port in zip(keys, ports, strict=True):
            s.add(
                TsigKey(
                    org_id=org.id, name=name.rstrip("."), secret=base64.b64encode(secret).decode()
                )
            )
            s.add(
                Subscriber(
                    org_id=org.id,
                    notify_host="127.0.0.1",
                    notify_port=port,
                    allow_ips=[],
                    tsig_key_name=name.rstrip("."),
                )
            )
    db.dispose()


class TangkalPrimary:
    name = "tangkal"

    def __init__(
        self, workdir: Path, names: list[str], keys: list[tuple[str, bytes]], ports: list[int]
    ) -> None:
        self.workdir = workdir
        self.url = f"sqlite:///{workdir / 'tangkal.db'}"
        tangkal_setup(self.url, names, keys, ports)
        env = {
            **os.environ,
            "TANGKAL_DATABASE_URL": self.url,
            "TANGKAL_DATA_DIR": str(workdir / "data"),
            # Every simulated subscriber connects from 127.0.0.1 before its TSIG is seen, so
            # the per-address and per-prefix flood limits would refuse them: lift them here,
            # where one address stands for ten thousand ISPs.
            "TANGKAL_RPZ_TCP_PER_ADDRESS": str(len(keys) + 64),
            "TANGKAL_RPZ_TCP_PER_PREFIX": str(len(keys) + 64),
            "TANGKAL_RPZ_TCP_CONNECTIONS": str(len(keys) + 1024),
        }
        self.log = open(workdir / "tangkal.log", "ab")  # noqa: SIM115 - closed in stop()
        for attempt in range(3):  # a free port can be taken before the server binds it
            self.port = free_dns_port()
            self.proc = subprocess.Popen(
                serve_command(free_port(), self.port),
                env=env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                preexec_fn=_die_with_parent,
            )
            try:
                self.serial = wait_soa(self.port, self.proc)
                break
            except RuntimeError:
                stop(self.proc)
                if attempt == 2:
                    raise
        from tangkal.db.session import Database

        self.db = Database(self.url)
        self.counter = 0

    def change(self) -> int:
        from tangkal.rpz.journal import RpzAction, ZoneChange, publish

        self.counter += 1
        with self.db.unit_of_work() as s:
            self.serial = publish(
                s,
                [ZoneChange(f"round-{self.counter}.example", RpzAction.NXDOMAIN)],
                reason="bench round",
            )
        return self.serial

    def stop(self) -> None:
        self.db.dispose()
        stop(self.proc)
        self.log.close()


# ---------------------------------------------------------------------------------- BIND


class BindPrimary:
    def __init__(
        self,
        workdir: Path,
        names: list[str],
        keys: list[tuple[str, bytes]],
        ports: list[int],
        *,
        notify_rate: int | None,
    ) -> None:
        self.name = "BIND 9.18, notify-rate " + (
            f"{notify_rate}" if notify_rate else "default (20)"
        )
        self.workdir = workdir
        self.port = free_dns_port()
        self.serial = 2017071400
        self.update_key = ("bench-update.", base64.b64encode(secrets.token_bytes(32)).decode())
        zone_file = workdir / "rpz.db"
        lines = [
            f"$ORIGIN {ZONE}",
            "$TTL 60",
            f"@ SOA ns.localhost. hostmaster.localhost. {self.serial} 3600 600 86400 60",
            "@ NS localhost.",
        ]
        for n in names:
            lines += [f"{n} CNAME .", f"*.{n} CNAME ."]
        zone_file.write_text("\n".join(lines) + "\n")
        key_stmts = "".join(
            f'key "{k}" {{ algorithm hmac-sha256; secret "{base64.b64encode(sec).decode()}"; }};\n'
            for k, sec in keys
        )
        acl = " ".join(f'key "{k}";' for k, _ in keys)
        notify_to = " ".join(f"127.0.0.1 port {p};" for p in ports)
        rate = f"notify-rate {notify_rate};" if notify_rate else ""
        (workdir / "named.conf").write_text(f"""options {{
  directory "{workdir}";
  pid-file "{workdir}/named.pid";
  listen-on port {self.port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
  notify-source 127.0.0.1;
  notify-delay 0;
  startup-notify-rate {NOTIFY_RATE};
  {rate}
  tcp-clients 10000;
  transfers-out 10000;
  tcp-listen-queue 4096;
}};
key "{self.update_key[0]}" {{ algorithm hmac-sha256; secret "{self.update_key[1]}"; }};
{key_stmts}
controls {{ }};
logging {{
  channel main {{ file "{workdir}/named.log"; severity info; print-time yes; }};
  category default {{ main; }};
  category xfer-out {{ null; }};
  category notify {{ null; }};
}};
zone "{ZONE.rstrip(".")}" {{
  type primary;
  file "{zone_file}";
  notify explicit;
  also-notify {{ {notify_to} }};
  allow-transfer {{ {acl} }};
  allow-update {{ key "{self.update_key[0]}"; }};
}};
""")
        self.out = open(workdir / "named.out", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ["/usr/sbin/named", "-f", "-n", "2", "-c", str(workdir / "named.conf")],
            stdout=self.out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            preexec_fn=_die_with_parent,
        )
        self.serial = wait_soa(self.port, self.proc)
        self.counter = 0
        self.ring = dns.tsigkeyring.from_text({self.update_key[0]: self.update_key[1]})

    def change(self) -> int:
        self.counter += 1
        upd = dns.update.UpdateMessage(
            ZONE,
            keyring=self.ring,
            keyname=dns.name.from_text(self.update_key[0]),
            keyalgorithm=dns.tsig.HMAC_SHA256,
        )
        upd.add(f"round-{self.counter}.example.{ZONE}", 60, "CNAME", ".")
        r = dns.query.tcp(upd, "127.0.0.1", port=self.port, timeout=10)
        if r.rcode() != dns.rcode.NOERROR:
            raise RuntimeError(f"BIND refused the update: {dns.rcode.to_text(r.rcode())}")
        self.serial += 1
        return self.serial

    def stop(self) -> None:
        stop(self.proc)
        self.out.close()


# ---------------------------------------------------------------------------------- runs


def keys_for(n: int) -> list[tuple[str, bytes]]:
    return [(f"sub-{i:05}.bench.", secrets.token_bytes(32)) for i in range(n)]


async def measure(fleet: Fleet, primary: Any, rounds: int, limit: float, result: Result) -> None:
    fleet.primary = ("127.0.0.1", primary.port)
    fleet.reset()
    try:
        await _rounds(fleet, primary, rounds, limit, result)
    finally:
        fleet.primary = ("127.0.0.1", 0)  # NOTIFYs of the next primary's start: ignored


async def _rounds(fleet: Fleet, primary: Any, rounds: int, limit: float, result: Result) -> None:
    t0 = time.monotonic()
    await fleet.sync(primary.serial, 600)
    log(
        f"{primary.name}: {len(fleet.subs)} subscribers hold serial {primary.serial} "
        f"(initial pull {time.monotonic() - t0:.1f} s; "
        f"{sum(s.errors for s in fleet.subs)} failed pulls retried, last: {fleet.last_error})"
    )
    await asyncio.sleep(2)  # NOTIFYs of the start-up round settle
    for r in range(rounds):
        fleet.phases.clear()
        cpu0, mine0 = cpu_seconds(primary.proc.pid), time.process_time()
        serial = await asyncio.to_thread(primary.change)
        t0 = time.monotonic()
        fleet.expect(serial)
        done = await fleet.wait_all(serial, limit)
        took = time.monotonic() - t0
        result.server_cpu.append(cpu_seconds(primary.proc.pid) - cpu0)
        result.client_cpu.append(time.process_time() - mine0)
        times = sorted(s.held_at.get(serial, float("inf")) - t0 for s in fleet.subs)
        tenth = times[max(len(times) // 10 - 1, 0)]
        told = sorted(s.notified_at.get(serial, float("inf")) - t0 for s in fleet.subs)
        result.notified.append((told[0], told[len(told) // 2], told[-1]))
        if os.environ.get("FANOUT_PHASES") and fleet.phases:
            ph = fleet.phases
            conn = sorted(b - a for a, b, _ in ph)
            xfer = sorted(c - b for _, b, c in ph)
            start = sorted(a - t0 for a, _, _ in ph)
            log(
                f"  phases: start p50 {start[len(ph) // 2]:.3f} "
                f"p90 {start[len(ph) * 9 // 10]:.3f}; "
                f"connect p50 {conn[len(ph) // 2]:.3f} p90 {conn[len(ph) * 9 // 10]:.3f} max "
                f"{conn[-1]:.3f}; transfer p50 {xfer[len(ph) // 2]:.3f} p90 "
                f"{xfer[len(ph) * 9 // 10]:.3f} max {xfer[-1]:.3f}"
            )
        result.first_10pct.append(tenth)
        result.peak_rss = max(result.peak_rss, rss_bytes(primary.proc.pid))
        if done:
            result.rounds.append(took)
            log(
                f"{primary.name}, N={len(fleet.subs)}, round {r + 1}: all hold serial "
                f"{serial} after {took:.3f} s (10% after {tenth:.3f} s; NOTIFY first/median/"
                f"last {told[0]:.3f}/{told[len(told) // 2]:.3f}/{told[-1]:.3f} s; "
                f"{sum(s.errors for s in fleet.subs)} failed pulls retried so far)"
            )
        else:
            held = fleet.holding(serial)
            result.rounds.append(None)
            result.partial.append((limit, held))
            log(
                f"{primary.name}, N={len(fleet.subs)}, round {r + 1}: {held} of "
                f"{len(fleet.subs)} hold serial {serial} after the {limit:.0f} s limit"
            )
            break  # the primary is still notifying: a next round would not start clean
        await asyncio.sleep(1.5)


async def run_size(n: int, args: argparse.Namespace, workroot: Path) -> list[Result]:
    keys = keys_for(n)
    fleet = Fleet(keys, ZONE, tcp_limit=args.tcp_limit)
    await fleet.open()
    ports = [s.port for s in fleet.subs]
    names = zone_names(args.names)
    results = []
    try:
        if "tangkal" in args.primaries:
            d = Path(tempfile.mkdtemp(prefix="tangkal-fanout-", dir=workroot))
            log(f"tangkal: setting up {n} subscribers")
            primary = await asyncio.to_thread(TangkalPrimary, d, names, keys, ports)
            res = Result("tangkal", n)
            try:
                await measure(fleet, primary, rounds_for(n, args), args.limit, res)
            finally:
                primary.stop()
            results.append(res)
        # BIND with the raised rate right after tangkal, so the two figures to compare are
        # measured minutes apart on a machine whose load moves; the default rate's rounds
        # (N/20 s each) last.
        for rate in ([NOTIFY_RATE] if "bind-raised" in args.primaries else []) + (
            [None] if "bind" in args.primaries else []
        ):
            d = Path(tempfile.mkdtemp(prefix="bind-fanout-", dir=workroot))
            log(f"BIND: starting with {n} also-notify targets, notify-rate {rate or 20}")
            bind = await asyncio.to_thread(BindPrimary, d, names, keys, ports, notify_rate=rate)
            res = Result(bind.name, n)
            try:
                rounds = (
                    rounds_for(n, args)
                    if rate
                    else (args.bind_default_rounds if n / 20 < args.bind_limit else 1)
                )
                await measure(fleet, bind, rounds, args.bind_limit, res)
            finally:
                bind.stop()
            results.append(res)
    finally:
        fleet.close()
    return results


def rounds_for(n: int, args: argparse.Namespace) -> int:
    return args.large_rounds if n >= 10_000 else args.rounds


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def report(results: list[Result], args: argparse.Namespace) -> str:
    rows = []
    base: dict[int, float] = {}
    for r in results:
        done = [x for x in r.rounds if x is not None]
        med = median(done) if done else None
        if r.primary == "tangkal" and med is not None:
            base[r.subscribers] = med
        ratio = ""
        if r.primary != "tangkal" and med is not None and base.get(r.subscribers):
            ratio = f"{med / base[r.subscribers]:.1f}x"
        partial = "; ".join(
            f"{held:,} of {r.subscribers:,} after {lim:.0f} s" for lim, held in r.partial
        )
        rows.append(
            [
                r.primary,
                f"{r.subscribers:,}",
                len(r.rounds),
                fmt(med),
                fmt(min(done) if done else None),
                fmt(max(done) if done else None),
                fmt(median(r.first_10pct)) if r.first_10pct else "—",
                ratio or ("not within the limit" if partial else ""),
                partial,
                f"{median(r.server_cpu):.2f}" if r.server_cpu else "—",
                f"{median(r.client_cpu):.2f}" if r.client_cpu else "—",
                f"{r.peak_rss / 2**20:.0f} MiB",
            ]
        )
    m = machine_info()
    head = (
        f"Run {now_utc()} on {m['nproc']} cores ({m['cpu']}), {m['ram']}, {m['os']}, "
        f"Python {m['python']}; load average before: {args.load_before}; "
        f"zone of {args.names} names; command: `{command_line()}`\n\n"
    )
    return head + markdown_table(
        [
            "primary",
            "subscribers",
            "rounds",
            "median s (all hold the serial)",
            "min s",
            "max s",
            "median s (first 10%)",
            "median vs tangkal",
            "bounded rounds",
            "primary CPU s per round (median)",
            "client CPU s per round (median)",
            "primary peak RSS",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subscribers", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument(
        "--large-rounds", type=int, default=3, help="rounds at 10,000 subscribers and more"
    )
    ap.add_argument("--names", type=int, default=100, help="names in the zone")
    ap.add_argument(
        "--limit",
        type=float,
        default=60,
        help="seconds a tangkal round may take before it counts as failed",
    )
    ap.add_argument(
        "--bind-limit",
        type=float,
        default=120,
        help="seconds a BIND round may take before it is stopped",
    )
    ap.add_argument(
        "--bind-default-rounds",
        type=int,
        default=3,
        help="rounds with BIND's default notify-rate (each takes N/20 s)",
    )
    ap.add_argument(
        "--primaries",
        nargs="+",
        default=["tangkal", "bind", "bind-raised"],
        choices=["tangkal", "bind", "bind-raised"],
    )
    ap.add_argument(
        "--tcp-limit",
        type=int,
        default=2000,
        help="transfers the simulated subscribers keep open at once",
    )
    args = ap.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = max(args.subscribers) + args.tcp_limit + 200
    if hard < need:
        ap.error(f"{need} file descriptors needed; ulimit -Hn is {hard}")
    if shutil.which("named") is None and not Path("/usr/sbin/named").exists():
        args.primaries = [p for p in args.primaries if p == "tangkal"]
        log("named not found: BIND skipped")
    args.load_before = load_average()
    workroot = Path(tempfile.mkdtemp(prefix="fanout-"))
    results: list[Result] = []
    try:
        for n in args.subscribers:
            results += asyncio.run(run_size(n, args, workroot))
    finally:
        if not os.environ.get("FANOUT_KEEP"):
            with suppress(OSError):
                shutil.rmtree(workroot)
    print(report(results, args))


if __name__ == "__main__":
    main()
