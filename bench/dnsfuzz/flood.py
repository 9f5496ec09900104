"""Idle-connection flood against the RPZ primary, with the default limits (issue 12,
finding 3): how long subscribers' SOA and AXFR take while thousands of idle TCP
connections are held open and touched, and what the log says.

    python -m bench.dnsfuzz.flood
    python -m bench.dnsfuzz.flood --same 2000 --spread 200 --each 10 --rounds 20

The flood: ``--same`` connections from 127.0.0.1 and ``--spread`` other addresses (each
in its own /24 of 127.0.0.0/8) with ``--each`` connections apiece, none sending a query;
every second each one still open is touched with one byte (a message's length never
completed). Meanwhile an allow-listed subscriber (127.0.0.2) and a TSIG one (127.0.0.3)
take SOA over TCP and a full transfer, ``--rounds`` times. Reported: their times (median
and worst), the flood connections still open after each second, and the log lines the
refusals cost.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import time
from pathlib import Path
from statistics import median

import dns.message
import dns.query
import dns.tsig
import dns.tsigkeyring

from bench.common import command_line, free_port, machine_table, markdown_table, now_utc
from bench.dnsfuzz.run import cli, serving

ZONE = "rpz.tangkal."


def connect_idle(port: int, source: str, count: int) -> list[socket.socket]:
    out = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((source, 0))
            s.settimeout(2)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
        except OSError:
            s.close()
            continue
        out.append(s)
    return out


def touch(socks: list[socket.socket]) -> list[socket.socket]:
    """One byte on each; those the server has closed are dropped."""
    alive = []
    for s in socks:
        try:
            if s.recv(1) == b"":
                s.close()
                continue
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        try:
            s.send(b"\x00")
        except OSError:
            s.close()
            continue
        alive.append(s)
    return alive


def timed(port: int, source: str, ring: object = None, key: str = "") -> tuple[float, float]:
    """Seconds for SOA over TCP, and for a full transfer, from ``source``."""
    q = dns.message.make_query(ZONE, "SOA")
    kw = {"keyring": ring, "keyname": key, "keyalgorithm": dns.tsig.HMAC_SHA256} if ring else {}
    if ring is not None:
        q.use_tsig(ring, keyname=key, algorithm=dns.tsig.HMAC_SHA256)
    t0 = time.perf_counter()
    r = dns.query.tcp(q, "127.0.0.1", port=port, source=source, timeout=10)
    soa = time.perf_counter() - t0
    assert r.answer, "no SOA"
    t0 = time.perf_counter()
    msgs = list(
        dns.query.xfr("127.0.0.1", ZONE, port=port, source=source, timeout=10, lifetime=30, **kw)  # type: ignore[arg-type]
    )
    assert msgs, "no AXFR"
    return soa, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--same", type=int, default=2000)
    ap.add_argument("--spread", type=int, default=200)
    ap.add_argument("--each", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--write", type=Path, help="append the results as markdown here")
    args = ap.parse_args()
    with serving(
        allow=("flood-listed", "127.0.0.2/32"),
        env_extra={"TANGKAL_RPZ_REFUSED_LOG_INTERVAL": "5"},
    ) as (proc, port, log_path):
        work = log_path.parent
        env = {
            "TANGKAL_DATABASE_URL": f"sqlite:///{work}/fuzz.db",
            "TANGKAL_DATA_DIR": str(work),
        }
        cli(env, work, "org", "create", "--kind", "isp", "--name", "flood-keyed")
        key, secret = cli(env, work, "tsig", "create", "--org", "flood-keyed").split()
        cli(env, work, "subscriber", "add", "--org", "flood-keyed",
            "--notify", f"127.0.0.3:{free_port()}", "--key", key)  # fmt: skip
        ring = dns.tsigkeyring.from_text({key: secret})
        for attempt in range(100):  # the access list is re-read within a second
            try:
                timed(port, "127.0.0.3", ring, key)
                timed(port, "127.0.0.2")
                break
            except Exception:
                if attempt == 99:
                    raise
                time.sleep(0.1)
        base = [timed(port, "127.0.0.2") for _ in range(3)]
        log_before = len(log_path.read_text(errors="replace").splitlines())

        t0 = time.monotonic()
        flood = connect_idle(port, "127.0.0.1", args.same)
        for i in range(args.spread):
            flood += connect_idle(port, f"127.{1 + i // 250}.{i % 250}.1", args.each)
        opened = len(flood)
        connect_s = time.monotonic() - t0
        listed: list[tuple[float, float]] = []
        keyed: list[tuple[float, float]] = []
        still: list[int] = []
        for _ in range(args.rounds):
            listed.append(timed(port, "127.0.0.2"))
            keyed.append(timed(port, "127.0.0.3", ring, key))
            time.sleep(1.0)
            flood = touch(flood)
            still.append(len(flood))
        for s in flood:
            with contextlib.suppress(OSError):
                s.close()
        time.sleep(1.5)  # one summary interval would be 60 s: the line count is what matters
        lines = log_path.read_text(errors="replace").splitlines()[log_before:]
        summaries = sum("rpz refused (summary)" in line for line in lines)
        alive = proc.poll() is None

    def ms(xs: list[float]) -> str:
        return f"{median(xs) * 1000:.1f} / {max(xs) * 1000:.1f}"

    rows = [
        ("flood connections opened (accepted by the kernel)", f"{opened:,} in {connect_s:.1f} s"),
        ("flood connections still open after 1, 2, ... s", ", ".join(map(str, still))),
        ("allow-listed SOA ms, no flood (median / worst)", ms([b[0] for b in base])),
        ("allow-listed SOA ms under flood (median / worst)", ms([x[0] for x in listed])),
        ("allow-listed AXFR ms under flood", ms([x[1] for x in listed])),
        ("TSIG SOA ms under flood", ms([x[0] for x in keyed])),
        ("TSIG AXFR ms under flood", ms([x[1] for x in keyed])),
        ("server log lines during the flood (summary lines)", f"{len(lines)} ({summaries})"),
        ("server up at the end", str(alive)),
    ]
    text = (
        "## Idle-connection flood\n\n"
        f"`{command_line()}`, {now_utc()}, default limits (summary interval 5 s): "
        f"{args.same:,} idle connections from 127.0.0.1 and {args.each} from each of "
        f"{args.spread} other addresses, each "
        "in its own /24, touched every second.\n\n"
        + markdown_table(("measure", "value"), rows)
        + "\n\n"
        + machine_table()
        + "\n"
    )
    print(text)
    if args.write:
        with args.write.open("a") as f:
            f.write("\n" + text)
    return 0 if alive else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
