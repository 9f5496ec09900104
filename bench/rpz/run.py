"""RPZ benchmark: tangkal's primary against NSD serving the same zone, in one run.

    python -m bench.rpz.run --names 1000000
    python -m bench.rpz.run --names 7000000 --output docs/benchmarks-rpz.md

Steps, each timed:
1. make N distinct realistic names (seeded), sorted, and load them straight into the
   database's zone table (the state a long-running regulator would be in);
2. export the zone with ``tangkal rpz export --format rpz`` (the file NSD then serves);
3. start ``tangkal serve`` cold (no snapshot: built from the database) and time until it
   answers SOA; full transfer (AXFR) to a raw-socket client that counts records;
4. commit single-name change sets and time commit -> NOTIFY received -> IXFR received by a
   client subscribed like a resolver;
5. restart ``tangkal serve`` (snapshot + journal) and time until it answers SOA again;
6. start NSD on the exported file, time until it answers SOA, full transfer with the same
   client; peak resident memory of both servers.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import dns.message
import dns.query

from bench.common import (
    command_line,
    load_average,
    machine_info,
    now_utc,
    proc_status_kib,
    serve_command,
)

REPO = Path(__file__).resolve().parent.parent.parent
ZONE = "rpz.tangkal."
TLDS = [
    "com",
    "net",
    "org",
    "info",
    "xyz",
    "id",
    "co.id",
    "top",
    "site",
    "online",
    "biz",
    "web.id",
    "my.id",
    "club",
    "live",
]
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- names


def make_names(n: int, seed: int = 2017) -> list[str]:
    """N distinct names shaped like a national blocklist: a registrable name, a quarter of
    them with one more label in front, over common and Indonesian TLDs."""
    rng = random.Random(seed)
    names: set[str] = set()
    while len(names) < n:
        missing = n - len(names)
        blob = rng.randbytes(missing * 24)
        lens = rng.randbytes(missing * 3)
        for i in range(missing):
            raw = blob[i * 24 : (i + 1) * 24]
            llen = 6 + lens[3 * i] % 11
            label = "".join(ALPHABET[b % 36] for b in raw[:llen])
            name = f"{label}.{TLDS[lens[3 * i + 1] % len(TLDS)]}"
            if lens[3 * i + 2] % 4 == 0:
                sub = "".join(ALPHABET[b % 36] for b in raw[16 : 16 + 3 + lens[3 * i] % 6])
                name = f"{sub}.{name}"
            names.add(name)
    return sorted(names)


def load_database(url: str, names: list[str]) -> int:
    """Bulk-load the zone table (and the serial row); returns the serial."""
    from tangkal.db.base import utcnow
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database
    from tangkal.rpz.journal import current_serial, ensure_state

    db = Database(url)
    upgrade(db)
    with db.unit_of_work() as s:
        ensure_state(s)
    with db.read_only() as s:
        serial = current_serial(s)
    now = utcnow().isoformat()
    if db.is_sqlite:
        import sqlite3

        path = url.split("///", 1)[1]
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN")
        batch = 200_000
        for i in range(0, len(names), batch):
            conn.executemany(
                "INSERT INTO rpz_entries (name, action, serial, changed_at) VALUES (?,?,?,?)",
                ((n, "nxdomain", serial, now) for n in names[i : i + batch]),
            )
        conn.commit()
        conn.close()
    else:
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy("COPY rpz_entries (name, action, serial, changed_at) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for n in names:
                    copy.write_row((n, "nxdomain", serial, now))
            raw.commit()
        finally:
            raw.close()
    db.dispose()
    return serial


def add_subscriber(url: str, notify_port: int) -> None:
    from tangkal.accounts import services as accounts
    from tangkal.accounts.models import OrgKind
    from tangkal.accounts.principal import SYSTEM
    from tangkal.db.session import Database
    from tangkal.rpz import services

    db = Database(url)
    with db.unit_of_work() as s:
        accounts.create_org(s, SYSTEM, kind=OrgKind.ISP, name="bench-isp")
        services.add_subscriber(
            s, SYSTEM, "bench-isp", f"127.0.0.1:{notify_port}", ["127.0.0.1/32"]
        )
    db.dispose()


# ------------------------------------------------------------------------ DNS clients


def zone_wire(zone: str = ZONE) -> bytes:
    return (
        b"".join(bytes((len(lab),)) + lab.encode() for lab in zone.rstrip(".").split(".")) + b"\x00"
    )


def soa_serial(port: int, timeout: float = 1.0) -> int | None:
    try:
        r = dns.query.udp(
            dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=timeout
        )
    except Exception:
        return None
    if not r.answer:
        return None
    return int(r.answer[0][0].serial)


def wait_soa(
    port: int,
    *,
    serial: int | None = None,
    limit: float = 900,
    proc: subprocess.Popen[bytes] | None = None,
) -> float:
    """Seconds until the server answers SOA (with ``serial`` if given)."""
    t0 = time.monotonic()
    while True:
        got = soa_serial(port, timeout=0.2)
        if got is not None and (serial is None or got == serial):
            return time.monotonic() - t0
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        if time.monotonic() - t0 > limit:
            raise RuntimeError("server never answered SOA")
        time.sleep(0.02)


@dataclass
class Transfer:
    seconds: float
    records: int
    messages: int
    bytes: int


# --edns: every transfer query carries an EDNS(0) OPT record, so each answer message
# carries one too (RFC 6891); compare with a run without it for what EDNS costs.
EDNS_OPT = b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0)
USE_EDNS = False


def raw_axfr(
    port: int, expected: int, *, qtype: int = 252, serial: int | None = None, timeout: float = 600
) -> Transfer:
    """A minimal AXFR/IXFR reader on a raw socket: send the query, read length-prefixed
    messages, add up ANCOUNT until ``expected`` records arrived. No parsing beyond the
    header, so the client costs the same whatever server it reads from."""
    qid = random.randrange(1 << 16)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 1 if serial is not None else 0,
                    1 if USE_EDNS else 0)  # fmt: skip
    q += zone_wire() + struct.pack(">HH", qtype, 1)
    if serial is not None:
        q += (
            b"\xc0\x0c"
            + struct.pack(">HHIH", 6, 1, 0, 22)
            + b"\x00\x00"
            + struct.pack(">IIIII", serial, 0, 0, 0, 0)
        )
    if USE_EDNS:
        q += EDNS_OPT
    t0 = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.sendall(struct.pack(">H", len(q)) + q)
    buf = bytearray(8 << 20)
    view = memoryview(buf)
    have = 0
    pos = 0
    records = messages = total = 0
    try:
        while records < expected:
            # parse complete frames in buf[pos:have]
            while have - pos >= 2:
                length = (buf[pos] << 8) | buf[pos + 1]
                if have - pos - 2 < length:
                    break
                msg_start = pos + 2
                rcode = buf[msg_start + 3] & 0x0F
                if rcode:
                    raise RuntimeError(f"transfer refused (rcode {rcode})")
                records += (buf[msg_start + 6] << 8) | buf[msg_start + 7]
                messages += 1
                total += length
                pos = msg_start + length
            if records >= expected:
                break
            if pos == have:
                pos = have = 0
            elif len(buf) - have < 70_000:
                buf[: have - pos] = buf[pos:have]
                have -= pos
                pos = 0
            n = sock.recv_into(view[have:])
            if n == 0:
                break
            have += n
    finally:
        sock.close()
    return Transfer(time.monotonic() - t0, records, messages, total)


@dataclass
class Probe:
    """SOA queries asked over UDP while a full transfer ran (the loop's responsiveness)."""

    asked: int
    longest_s: float
    transfer: Transfer


def axfr_with_soa_probe(port: int, expected: int) -> Probe:
    """A full transfer while another thread asks for the SOA over UDP, one query after the
    other: the longest wait for an answer is about the longest the server's event loop was
    held by the transfer (plus up to one GIL switch interval, 5 ms, on this side)."""
    q = struct.pack(">HHHHHH", 0x5A5A, 0, 1, 0, 0, 0) + zone_wire() + struct.pack(">HH", 6, 1)
    waits: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
            while not done.is_set():
                t = time.monotonic()
                s.send(q)
                s.recv(4096)
                # counted even if the answer came after the transfer: it was asked during it
                waits.append(time.monotonic() - t)

    th = threading.Thread(target=probe, daemon=True)
    th.start()
    try:
        tr = raw_axfr(port, expected)
    finally:
        done.set()
        th.join(15)
    assert tr.records == expected, (tr, expected)
    return Probe(len(waits), max(waits, default=float("nan")), tr)


# --------------------------------------------------------------------------- processes


def rss(pid: int) -> tuple[int, int]:
    """(VmHWM, VmRSS) in KiB."""
    sizes = proc_status_kib(pid)
    return sizes.get("VmHWM", 0), sizes.get("VmRSS", 0)


def tree(pid: int) -> list[int]:
    out = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for c in children:
        out += tree(int(c))
    return out


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    peak_kib: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def sample(self) -> None:
        for pid in tree(self.proc.pid):
            with suppress(OSError):
                self.peak_kib = max(self.peak_kib, rss(pid)[0])

    def total_pss_kib(self) -> int:
        return sum(pss_kib(p) for p in tree(self.proc.pid))

    def stop(self) -> None:
        self.sample()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_tangkal(env: dict[str, str], workdir: Path, dns_port: int) -> Server:
    http = free_port()
    log_file = open(workdir / "tangkal.log", "ab")  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(
        serve_command(http, dns_port),
        env={**os.environ, **env},
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    return Server(proc, dns_port)


def best_axfr(name: str, server: Server, port: int, expected: int, repeat: int) -> Transfer:
    """The fastest of ``repeat`` full transfers, each checked for every record."""
    transfers = []
    for _ in range(repeat):
        tr = raw_axfr(port, expected)
        assert tr.records == expected, (tr, expected)
        transfers.append(tr)
        server.sample()
        log(f"{name} AXFR {tr.records} records {tr.bytes / 1e6:.0f} MB in {tr.seconds:.2f}s")
    return min(transfers, key=lambda x: x.seconds)


def start_nsd(workdir: Path, zone_file: Path, port: int) -> Server:
    conf = workdir / "nsd.conf"
    conf.write_text(f"""server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  username: ""
  chroot: ""
  zonesdir: "{workdir}"
  database: ""
  pidfile: "{workdir}/nsd.pid"
  xfrdfile: "{workdir}/xfrd.state"
  xfrdir: "{workdir}"
  zonelistfile: "{workdir}/zone.list"
  logfile: "{workdir}/nsd.log"
  server-count: 1
  reuseport: no
remote-control:
  control-enable: no
zone:
  name: {ZONE}
  zonefile: {zone_file}
  provide-xfr: 127.0.0.1 NOKEY
""")
    proc = subprocess.Popen(
        ["/usr/sbin/nsd", "-d", "-c", str(conf)],
        stdout=open(workdir / "nsd.out", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    return Server(proc, port)


# ---------------------------------------------------------------------------- changes


def change_latency(
    url: str, dns_port: int, notify_sock: socket.socket, names: list[str], rounds: int
) -> list[dict[str, float]]:
    """Commit one-name change sets; time until NOTIFY arrives and until the IXFR is in."""
    from tangkal.db.session import Database
    from tangkal.rpz.journal import RpzAction, ZoneChange, publish

    db = Database(url)
    results = []
    serial = soa_serial(dns_port)
    assert serial is not None
    notify_sock.settimeout(0.05)
    while True:  # drain NOTIFYs from start-up
        try:
            data, addr = notify_sock.recvfrom(4096)
            notify_sock.sendto(data[:2] + bytes([data[2] | 0x80]) + data[3:], addr)
        except TimeoutError:
            break
    notify_sock.settimeout(10)
    for i in range(rounds):
        name = names[0]
        action = RpzAction.NXDOMAIN if i % 2 else RpzAction.LANDING  # change, change back
        t0 = time.monotonic()
        with db.unit_of_work() as s:
            new = publish(s, [ZoneChange(name, action)], reason="bench")
        t_commit = time.monotonic()
        while True:
            data, addr = notify_sock.recvfrom(4096)
            ack = bytearray(data)
            ack[2] |= 0x80
            notify_sock.sendto(bytes(ack), addr)
            if data[-20:-16] == struct.pack(">I", new):
                break
        t_notify = time.monotonic()
        # SOA new, SOA old, the 2 old records, SOA new, the 2 new records, SOA new
        want = 8
        tr = raw_axfr(dns_port, expected=want, qtype=251, serial=serial, timeout=10)
        t_ixfr = time.monotonic()
        assert tr.records == want, tr
        serial = new
        results.append(
            {"commit": t_commit - t0, "notify": t_notify - t_commit, "ixfr": t_ixfr - t_commit}
        )
    db.dispose()
    return results


def resolver_latency(
    url: str, dns_port: int, listed: str, rounds: int, *, zonefile: bool
) -> dict[str, Any]:
    """Unbound following the zone like an ISP resolver: how long it takes to load the whole
    zone at first, and from a committed one-name block until it answers NXDOMAIN for it."""
    from tests.functional.dns import servers as S

    from tangkal.db.session import Database
    from tangkal.rpz.journal import RpzAction, ZoneChange, publish

    out: dict[str, Any] = {}
    port = free_port()
    from tangkal.accounts import services as accounts
    from tangkal.accounts.models import OrgKind
    from tangkal.accounts.principal import SYSTEM
    from tangkal.rpz import services

    db = Database(url)
    with db.unit_of_work() as s:
        accounts.create_org(s, SYSTEM, kind=OrgKind.ISP, name="bench-unbound")
        services.add_subscriber(s, SYSTEM, "bench-unbound", f"127.0.0.2:{port}", ["127.0.0.1/32"])
    time.sleep(3)  # the server refreshes its subscriber list every 2 s

    def rcode(r: S.Process, name: str) -> str:
        try:
            return S.answer_of(r.query(name, "A", timeout=0.5))[0]
        except Exception:
            return "timeout"

    with S.nsd({S.AUTH_ZONE: S.auth_zone_text()}, host="127.0.0.9") as auth:
        t0 = time.monotonic()
        with S.unbound(
            host="127.0.0.2",
            port=port,
            rpz_zone=ZONE,
            primary=("127.0.0.1", dns_port),
            auth=(auth.host, auth.port),
            zonefile=zonefile,
        ) as ub:
            while rcode(ub, listed + ".") != "NXDOMAIN":
                if time.monotonic() - t0 > 900:
                    raise RuntimeError("Unbound never loaded the zone:\n" + ub.log()[-3000:])
                time.sleep(0.2)
            out["unbound_load_s"] = time.monotonic() - t0
            out["unbound_peak_rss_mb"] = rss(ub.proc.pid)[0] / 1024
            log(
                f"Unbound enforcing the zone {out['unbound_load_s']:.1f}s after start, "
                f"{out['unbound_peak_rss_mb']:.0f} MB"
            )
            lat = []
            for i in range(rounds):
                name = f"bench-{i}-{random.randrange(1 << 30)}.{S.AUTH_ZONE.rstrip('.')}"
                assert rcode(ub, name + ".") == "NOERROR"
                with db.unit_of_work() as s:
                    publish(s, [ZoneChange(name, RpzAction.NXDOMAIN)], reason="bench")
                t = time.monotonic()
                while rcode(ub, name + ".") != "NXDOMAIN":
                    if time.monotonic() - t > 30:
                        raise RuntimeError("Unbound never enforced a change")
                    time.sleep(0.002)
                lat.append(time.monotonic() - t)
            out["unbound_enforce"] = lat
            out["unbound_peak_rss_mb"] = rss(ub.proc.pid)[0] / 1024
            log(
                f"Unbound enforcing a committed change: median {1000 * median(lat):.1f} ms, "
                f"max {1000 * max(lat):.1f} ms"
            )
    db.dispose()
    return out


# ------------------------------------------------------------------------------ main


def run(args: argparse.Namespace) -> str:
    global USE_EDNS
    USE_EDNS = bool(args.edns)
    work = Path(tempfile.mkdtemp(prefix="tangkal-bench-rpz-", dir=args.workdir))
    url = args.database_url or f"sqlite:///{work}/tangkal.db"
    n = args.names
    results: dict[str, Any] = {}
    log(f"work dir {work}; {n} names; database {url.split('@')[-1]}")

    t = time.monotonic()
    names = make_names(n)
    results["make_names_s"] = time.monotonic() - t
    sample_names = [names[len(names) // 3], names[len(names) // 2], names[-7]]
    log(f"names made in {results['make_names_s']:.1f}s")

    t = time.monotonic()
    load_database(url, names)
    results["db_load_s"] = time.monotonic() - t
    del names
    log(f"database loaded in {results['db_load_s']:.1f}s")

    env = {
        "TANGKAL_DATABASE_URL": url,
        "TANGKAL_DATA_DIR": str(work),
        "TANGKAL_LOG_LEVEL": "warning",
    }
    notify_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    notify_sock.bind(("127.0.0.1", 0))
    add_subscriber(url, notify_sock.getsockname()[1])

    zone_file = work / "rpz.tangkal.zone"
    t = time.monotonic()
    with open(zone_file, "wb") as f:
        r = subprocess.run(
            [sys.executable, "-m", "tangkal.cli.main", "rpz", "export", "--format", "rpz"],
            env={**os.environ, **env},
            stdout=f,
            stderr=subprocess.PIPE,
            cwd=work,
        )
    if r.returncode:
        raise RuntimeError(r.stderr.decode())
    results["export_s"] = time.monotonic() - t
    results["zone_file_mb"] = zone_file.stat().st_size / 1e6
    log(f"exported {results['zone_file_mb']:.0f} MB in {results['export_s']:.1f}s")
    expected = 2 * n + 3

    # -- tangkal, cold
    dns_port = free_port()
    tk = start_tangkal({**env, "TANGKAL_LOG_LEVEL": "info"}, work, dns_port)
    results["tangkal_cold_start_s"] = wait_soa(dns_port, proc=tk.proc)
    tk.sample()
    log(f"tangkal cold start (build from database) {results['tangkal_cold_start_s']:.1f}s")
    results["tangkal_axfr"] = best_axfr("tangkal", tk, dns_port, expected, args.repeat)
    pr = axfr_with_soa_probe(dns_port, expected)
    results["tangkal_probe"] = pr
    log(
        f"tangkal AXFR with an SOA probe: {pr.transfer.seconds:.2f}s, {pr.asked} SOA "
        f"asked meanwhile, longest wait {1000 * pr.longest_s:.1f} ms"
    )
    lat = change_latency(url, dns_port, notify_sock, sample_names, args.changes)
    tk.sample()
    results["changes"] = lat
    log(
        "change -> IXFR median {:.1f} ms, max {:.1f} ms".format(
            1000 * median(x["ixfr"] for x in lat), 1000 * max(x["ixfr"] for x in lat)
        )
    )
    if args.resolver == "unbound":
        results.update(
            resolver_latency(
                url, dns_port, sample_names[1], args.changes, zonefile=not args.unbound_no_zonefile
            )
        )
        tk.sample()
    results["tangkal_pss_mb"] = tk.total_pss_kib() / 1024
    expected += 2 * len(results.get("unbound_enforce", []))  # names the resolver test added
    tk.stop()
    serial_now = None
    # -- tangkal, restart (snapshot + journal)
    tk2 = start_tangkal(env, work, dns_port)
    results["tangkal_restart_s"] = wait_soa(dns_port, proc=tk2.proc)
    serial_now = soa_serial(dns_port)
    tr = raw_axfr(dns_port, expected)
    assert tr.records == expected
    tk2.sample()
    tk2.stop()
    results["tangkal_peak_rss_mb"] = max(tk.peak_kib, tk2.peak_kib) / 1024
    results["tangkal_restart_peak_rss_mb"] = tk2.peak_kib / 1024
    log(
        f"tangkal restart {results['tangkal_restart_s']:.2f}s (serial {serial_now}); "
        f"peak RSS {results['tangkal_peak_rss_mb']:.0f} MB"
    )

    # -- NSD on the same zone file
    if not args.skip_nsd:
        nsd_port = free_port()
        nsd = start_nsd(work, zone_file, nsd_port)
        results["nsd_start_s"] = wait_soa(nsd_port, proc=nsd.proc)
        nsd.sample()
        log(f"NSD answering after {results['nsd_start_s']:.1f}s")
        results["nsd_axfr"] = best_axfr("NSD", nsd, nsd_port, expected, args.repeat)
        results["nsd_pss_mb"] = nsd.total_pss_kib() / 1024
        nsd.stop()
        results["nsd_peak_rss_mb"] = nsd.peak_kib / 1024
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return report(args, results)


def report(args: argparse.Namespace, r: dict[str, Any]) -> str:
    m = machine_info()
    n = args.names
    tk: Transfer = r["tangkal_axfr"]
    lines = [
        f"### RPZ, {n:,} names ({2 * n + 3:,} records), {now_utc()}",
        "",
        f"`{command_line()}` on {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, "
        f"{m['os']}, Python {m['python']}; load before the run {args.load_before}. "
        f"Database: {'SQLite' if not args.database_url else 'PostgreSQL'}.",
        "",
        "| | tangkal | NSD 4.6 |",
        "|---|---|---|",
    ]
    nsd: Transfer | None = r.get("nsd_axfr")

    def rate(t: Transfer) -> str:
        return (
            f"{t.seconds:.2f} s ({t.records / t.seconds / 1e6:.2f} M records/s, "
            f"{t.bytes / t.seconds / 1e6:.0f} MB/s, {t.messages} messages)"
        )

    lines.append(
        f"| full transfer (AXFR, raw-socket client, best of {args.repeat}) | "
        f"{rate(tk)} | {rate(nsd) if nsd else 'not run'} |"
    )
    pr: Probe = r["tangkal_probe"]
    lines.append(
        f"| SOA over UDP during a full transfer (one query after another) | "
        f"longest wait {1000 * pr.longest_s:.1f} ms, {pr.asked} asked during "
        f"{pr.transfer.seconds:.2f} s | - |"
    )

    def nsd_fig(key: str, fmt: str) -> str:
        return fmt.format(r[key]) if key in r else "not run"

    lines.append(
        f"| start until answering SOA, cold | {r['tangkal_cold_start_s']:.1f} s "
        f"(zone built from the database) | "
        f"{nsd_fig('nsd_start_s', '{:.1f} s (zone file)')} |"
    )
    lines.append(
        f"| restart until answering SOA | {r['tangkal_restart_s']:.2f} s "
        f"(snapshot + journal) | {nsd_fig('nsd_start_s', '{:.1f} s')} |"
    )
    lines.append(
        f"| peak resident memory (VmHWM, largest process) | "
        f"{r['tangkal_peak_rss_mb']:.0f} MB | {nsd_fig('nsd_peak_rss_mb', '{:.0f} MB')} |"
    )
    lines.append(
        f"| proportional set size, all processes, at the end | "
        f"{r['tangkal_pss_mb']:.0f} MB | {nsd_fig('nsd_pss_mb', '{:.0f} MB')} |"
    )
    ch = r["changes"]
    ixfr = sorted(1000 * x["ixfr"] for x in ch)
    notify = sorted(1000 * x["notify"] for x in ch)
    lines.append(
        f"| one change: commit -> NOTIFY received ({len(ch)} changes) | "
        f"median {median(notify):.1f} ms, max {max(notify):.1f} ms | - |"
    )
    lines.append(
        f"| one change: commit -> IXFR received by the client | "
        f"median {median(ixfr):.1f} ms, max {max(ixfr):.1f} ms | - |"
    )
    if "unbound_enforce" in r:
        ub = sorted(1000 * x for x in r["unbound_enforce"])
        lines.append(
            f"| one change: commit -> Unbound 1.17 answering NXDOMAIN (NOTIFY, IXFR; "
            f"{len(ub)} changes) | median {median(ub):.1f} ms, max {max(ub):.1f} ms "
            f"| - |"
        )
        lines.append(
            f"| Unbound: start until enforcing the whole zone (AXFR, load) | "
            f"{r['unbound_load_s']:.1f} s, {r['unbound_peak_rss_mb']:.0f} MB peak | - |"
        )
    lines += [
        "",
        f"Preparation (not part of the comparison): names made in {r['make_names_s']:.1f} s, "
        f"bulk-loaded into the zone table in {r['db_load_s']:.1f} s, exported with "
        f"`tangkal rpz export` ({r['zone_file_mb']:.0f} MB zone file) in {r['export_s']:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--names", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=2, help="full transfers per server")
    p.add_argument("--changes", type=int, default=20, help="single-name change sets timed")
    p.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    p.add_argument("--workdir", default=None, help="where the temp directory goes")
    p.add_argument("--skip-nsd", action="store_true")
    p.add_argument(
        "--edns",
        action="store_true",
        help="transfer queries carry an EDNS(0) OPT record (so do the answers)",
    )
    p.add_argument(
        "--resolver",
        choices=["none", "unbound"],
        default="none",
        help="also time a real Unbound following the zone",
    )
    p.add_argument(
        "--unbound-no-zonefile",
        action="store_true",
        help="Unbound keeps the zone in memory only (no zonefile: written per update)",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--output", default=None, help="append the markdown result to this file")
    args = p.parse_args()
    args.load_before = load_average()
    text = run(args)
    print(text)
    if args.output:
        with open(args.output, "a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
