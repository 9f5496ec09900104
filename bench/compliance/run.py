"""Probe-round benchmark: the 11 Telegram names of 2017 at every registered resolver.

    python -m bench.compliance.run                       # 100 ISP resolvers + 2 controls
    python -m bench.compliance.run --resolvers 100 300 --rounds 5

What is timed is `tangkal.compliance.services.run_round` as the worker calls it: read
the plan from the database, ask every resolver about every name (A and AAAA, UDP with TCP
fallback, the per-resolver rate limit and concurrency of the settings in force) plus its
policy zone's SOA, judge each answer against the decision and the controls, and store every
result with its history. The resolvers are small DNS servers in a separate process
(`serve_fleet`), one UDP socket and one TCP listener per resolver on 127.0.0.1: the
ISP resolvers answer the blocked names NXDOMAIN (one ISP in ten ignores the block, so the
round has non-compliant results to store), the controls answer them as the internet does.

The same run measures the floor: the same queries sent with bare ``dns.asyncquery.udp``
from the same process, with the same concurrency bounds and no rate limit, nothing
judged or stored. The ratio says what the judgement, the rate limit and the storage cost
on top of asking. The database is a fresh SQLite file (``--pg`` for PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from bench.common import (
    fresh_pg_database,
    load_average,
    machine_table,
    markdown_table,
    now_utc,
    write_section,
)
from tangkal.db.session import forget_databases
from tangkal.demo import TELEGRAM_NAMES

#: the 11 names Indonesia blocked on 14 July 2017
NAMES = TELEGRAM_NAMES
REAL = "149.154.167.99"
ZONE = "rpz.tangkal."
OUT = Path(__file__).resolve().parents[2] / "docs" / "benchmarks-compliance.md"


# ------------------------------------------------------------------------ the resolvers


def _answer(data: bytes, *, filtering: bool) -> bytes | None:
    try:
        q = dns.message.from_wire(data)
    except Exception:
        return None
    r = dns.message.make_response(q)
    r.flags |= dns.flags.RA
    question = q.question[0]
    name = question.name.to_text().rstrip(".")
    if question.rdtype == dns.rdatatype.SOA and question.name.to_text() == ZONE:
        soa = f"ns.{ZONE} hostmaster.{ZONE} 42 60 60 3600 5"
        r.answer.append(dns.rrset.from_text(ZONE, 60, "IN", "SOA", soa))
    elif name in NAMES and filtering:
        r.set_rcode(dns.rcode.NXDOMAIN)
    elif question.rdtype == dns.rdatatype.A:
        r.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", REAL))
    return r.to_wire()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, filtering: bool) -> None:
        self.filtering = filtering

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        out = _answer(data, filtering=self.filtering)
        if out is not None:
            self.transport.sendto(out, addr)


def serve_fleet(n: int, controls: int, pipe: Connection) -> None:
    """Run ``n`` filtering resolvers (every tenth ignores the block) and ``controls``
    unfiltered ones; send their ports through ``pipe``; serve until the pipe closes."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ports: list[int] = []
        for i in range(n + controls):
            filtering = i < n and i % 10 != 9

            async def tcp(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter, f: bool = filtering
            ) -> None:
                try:
                    size = int.from_bytes(await reader.readexactly(2), "big")
                    out = _answer(await reader.readexactly(size), filtering=f)
                    if out is not None:
                        writer.write(len(out).to_bytes(2, "big") + out)
                        await writer.drain()
                except (asyncio.IncompleteReadError, ConnectionError):
                    pass
                finally:
                    writer.close()

            for _try in range(50):  # a UDP port the kernel gives may be taken for TCP
                transport, _ = await loop.create_datagram_endpoint(
                    lambda f=filtering: _Udp(f), local_addr=("127.0.0.1", 0)
                )
                port = transport.get_extra_info("sockname")[1]
                try:
                    await asyncio.start_server(tcp, "127.0.0.1", port)
                except OSError:
                    transport.close()
                    continue
                ports.append(port)
                break
            else:
                raise RuntimeError("no port free for both UDP and TCP in 50 tries")
        pipe.send(ports)
        await loop.run_in_executor(None, pipe.recv)  # anything, or EOF: stop

    with contextlib.suppress(EOFError):
        asyncio.run(main())


# ------------------------------------------------------------------------ the database


def setup(url: str, ports: Sequence[int], n: int) -> None:
    """A regulator, ISPs of ten resolvers each, the controls, and the 11 names blocked."""
    from tangkal.accounts import services as accounts
    from tangkal.accounts.models import OrgKind, Role
    from tangkal.accounts.principal import SYSTEM, Principal
    from tangkal.blocklist import services as blocks
    from tangkal.compliance import services as compliance
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import get_database

    db = get_database(url)
    upgrade(db)
    with db.unit_of_work() as s:
        reg = accounts.create_org(s, SYSTEM, kind=OrgKind.REGULATOR, name="kominfo")
        s.flush()
        official = Principal(reg.id, reg.name, reg.kind, Role.OFFICIAL, username="pejabat")
        isps = [
            accounts.create_org(s, SYSTEM, kind=OrgKind.ISP, name=f"isp-{i:03d}")
            for i in range((n + 9) // 10)
        ]
        s.flush()
        for i, port in enumerate(ports):
            if i < n:
                compliance.add_resolver(
                    s,
                    official,
                    address=f"127.0.0.1:{port}",
                    org=isps[i // 10].name,
                    name=f"r{i:04d}",
                )
            else:
                compliance.add_resolver(
                    s, official, address=f"127.0.0.1:{port}", control=True, name=f"c{i}"
                )
        for name in NAMES:
            req = blocks.BlockRequest.build(
                domain=name,
                action="nxdomain",
                legal_basis="UU ITE Pasal 40 ayat 2b",
                reason="Terrorist propaganda left up after three warnings (bench).",
            )
            blocks.create_block(s, official, req)


# ------------------------------------------------------------------------ the timing


@dataclass
class Size:
    resolvers: int
    controls: int
    probes: int
    rounds: list[float]
    floors: list[float]
    counts: dict[str, int]
    load: str


async def _floor(ports: Sequence[int]) -> float:
    """The same queries, bare: dnspython over UDP, the prober's concurrency bounds."""
    from tangkal.compliance.probe import CONCURRENCY, PER_RESOLVER

    every = asyncio.Semaphore(CONCURRENCY)
    each = {p: asyncio.Semaphore(PER_RESOLVER) for p in ports}

    async def ask(port: int, name: str, rdtype: dns.rdatatype.RdataType) -> None:
        async with every, each[port]:
            q = dns.message.make_query(name, rdtype)
            await dns.asyncquery.udp(q, "127.0.0.1", timeout=2.0, port=port)

    t0 = time.perf_counter()
    await asyncio.gather(
        *(ask(p, ZONE, dns.rdatatype.SOA) for p in ports),
        *(
            ask(p, n, t)
            for p in ports
            for n in NAMES
            for t in (dns.rdatatype.A, dns.rdatatype.AAAA)
        ),
    )
    return time.perf_counter() - t0


def measure(n: int, controls: int, rounds: int, url: str) -> Size:
    from tangkal.compliance import services as compliance
    from tangkal.db.session import get_database
    from tangkal.settings import Settings

    here, there = multiprocessing.Pipe()
    fleet = multiprocessing.get_context("fork").Process(
        target=serve_fleet, args=(n, controls, there), daemon=True
    )
    fleet.start()
    try:
        ports = here.recv()
        setup(url, ports, n)
        db = get_database(url)
        settings = Settings(database_url=url)
        times: list[float] = []
        floors: list[float] = []
        counts: dict[str, int] = {}
        probes = 0
        asyncio.run(_floor(ports))  # warm: sockets, dnspython's first imports
        for _ in range(rounds):
            t0 = time.perf_counter()
            summary = asyncio.run(compliance.run_round(db, settings, NAMES, "bench"))
            times.append(time.perf_counter() - t0)
            floors.append(asyncio.run(_floor(ports)))
            counts, probes = summary.counts, summary.probes
        return Size(n, controls, probes, times, floors, counts, load_average())
    finally:
        here.send("stop")
        fleet.join(timeout=10)
        if fleet.is_alive():
            fleet.kill()


def report(sizes: list[Size], args: argparse.Namespace, backend: str) -> str:
    rows = []
    for s in sizes:
        med, floor = statistics.median(s.rounds), statistics.median(s.floors)
        rows.append(
            (
                f"{len(NAMES)} × {s.resolvers} (+{s.controls} controls)",
                f"{s.probes:,}",
                f"{med:.2f} s",
                f"{max(s.rounds):.2f} s",
                f"{floor:.2f} s",
                f"{med / floor:.1f}×",
                ", ".join(f"{k} {v}" for k, v in sorted(s.counts.items()) if v),
                s.load,
            )
        )
    return "\n".join(
        [
            "# Benchmark: a probe round over the 11 names at every registered resolver",
            "",
            f"Run {now_utc()} with `python -m bench.compliance.run "
            f"--resolvers {' '.join(map(str, args.resolvers))} --rounds {args.rounds}"
            f"{' --pg' if args.pg else ''}`; database: {backend}.",
            "",
            (__doc__ or "").split("\n\n", 2)[2].strip(),
            "",
            markdown_table(
                [
                    "names × resolvers",
                    "name probes",
                    "round, median",
                    "round, max",
                    "bare queries, median",
                    "round / bare",
                    "results of the last round",
                    "load (1, 5, 15 min)",
                ],
                rows,
            ),
            "",
            "A name probe is one name at one resolver: an A and an AAAA query (and, once per "
            "resolver per round, the policy zone's SOA). Aim (issue 10): a round of 11 names × "
            "100 resolvers within 10 s.",
            "",
            machine_table(),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--resolvers", type=int, nargs="+", default=[100])
    ap.add_argument("--controls", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pg", action="store_true", help="a fresh PostgreSQL database")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if args.rounds < 1 or any(n < 1 or n > 5000 for n in args.resolvers):
        ap.error("--rounds at least 1; --resolvers between 1 and 5000")
    sizes = []
    backend = "PostgreSQL" if args.pg else "SQLite"
    with tempfile.TemporaryDirectory(prefix="tangkal-bench-compliance-") as tmp:
        for n in args.resolvers:
            with contextlib.ExitStack() as stack:
                if args.pg:
                    url = stack.enter_context(fresh_pg_database("tangkal_bench_probe"))
                else:
                    url = f"sqlite:///{tmp}/probe-{n}.db"
                os.environ["TANGKAL_DATABASE_URL"] = url
                sizes.append(measure(n, args.controls, args.rounds, url))
                stack.callback(forget_databases)
            s = sizes[-1]
            print(
                f"{n} resolvers: round median {statistics.median(s.rounds):.2f} s, bare "
                f"{statistics.median(s.floors):.2f} s, {s.counts}",
                flush=True,
            )
    write_section(args.out, report(sizes, args, backend))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
