"""The audit chain's Merkle tree at 100,000 entries: roots and proofs, against the floor.

On each backend (a SQLite file and a fresh PostgreSQL database), ``--events`` chained audit
entries are written as the server writes them (one bulk insert per 10,000, hashes chained
with :func:`tangkal.audit.chain.entry_hash`), then measured, ``--repeat`` times each (the
median is shown):

- **floor, read**: ``SELECT seq, hash`` of every entry, in order: what any computation of a
  root that keeps nothing between requests must at least do;
- **floor, hash**: the RFC 9162 tree hash of the same leaves already in memory (2n − 1
  SHA-256 calls), no database;
- **root, streamed**: :func:`tangkal.audit.proofs.recompute_root`, what ``tangkal audit
  verify`` does for a v2 checkpoint (read + hash, O(log n) memory, no cache);
- **inclusion / consistency proof, cold**: the chunk cache emptied first;
- **inclusion / consistency proof, warm**: the next proofs, at random entries and sizes
  (a proof at size n, a consistency proof between a random earlier size and n);
- **after one more entry**: a proof at size n + 1 once the cache is warm for n.

    python -m bench.audit.merkle
    python -m bench.audit.merkle --events 100000 --repeat 7 --backends sqlite,postgresql

Writes docs/benchmarks-audit.md (the whole file: this is its only section).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select

from bench.common import (
    REPO,
    command_line,
    fresh_pg_database,
    load_average,
    machine_table,
    markdown_table,
    now_utc,
)

#: this process's CPU milliseconds of each measured step, by name: steadier than wall time
#: on a shared machine (it leaves out waiting for the CPU), but without PostgreSQL's share
CPU: dict[str, float] = {}


def _ms(
    fn: Callable[[], Any],
    repeat: int,
    before: Callable[[], None] | None = None,
    *,
    name: str = "",
) -> float:
    """The median wall milliseconds of ``repeat`` calls (and their median CPU, by name)."""
    times, cpu = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    if name:
        CPU[name] = statistics.median(cpu)
    return statistics.median(times)


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tangkal-bench-merkle-") as d:
            yield f"sqlite:///{d}/bench.db"
    else:
        with fresh_pg_database("tangkal_bench_merkle") as url:
            yield url.replace("postgresql://", "postgresql+psycopg://", 1)


def _fill(db: Any, n: int) -> None:
    from tangkal.audit.chain import GENESIS, entry_hash
    from tangkal.audit.models import AuditEvent
    from tangkal.db.base import utcnow
    from tangkal.db.bulk import insert_rows

    prev, start = GENESIS, utcnow()
    for lo in range(0, n, 10_000):
        rows = []
        for seq in range(lo + 1, min(n, lo + 10_000) + 1):
            at = start + timedelta(microseconds=seq)
            fields = {
                "seq": seq, "at": at, "actor": "system", "actor_org_id": None,
                "action": "bench.event", "object_type": "thing", "object_id": str(seq),
                "data": {"n": seq},
            }  # fmt: skip
            h = entry_hash(prev_hash=prev, **fields)
            rows.append({**fields, "prev_hash": prev, "hash": h})
            prev = h
        with db.unit_of_work() as s:
            insert_rows(s, cast(Table, AuditEvent.__table__), rows)


def measure(backend: str, n: int, repeat: int, seed: int) -> dict[str, Any]:
    from tangkal.audit import merkle, proofs
    from tangkal.audit.models import AuditEvent
    from tangkal.db.migrate import upgrade
    from tangkal.db.session import Database

    rnd = random.Random(seed)
    with _database(backend) as url:
        db = Database(url)
        try:
            upgrade(db)
            t0 = time.perf_counter()
            _fill(db, n)
            fill_s = time.perf_counter() - t0
            out: dict[str, Any] = {"backend": backend, "events": n, "fill_s": fill_s}
            with db.read_only() as s:
                leaves: list[bytes] = []

                def read() -> None:
                    rows = s.connection().execute(
                        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq)
                    )
                    leaves[:] = [bytes.fromhex(h) for _, h in rows]

                out["floor_read_ms"] = _ms(read, repeat)
                assert len(leaves) == n
                out["floor_hash_ms"] = _ms(lambda: merkle.root(leaves), repeat)
                want = merkle.root(leaves)
                out["root_streamed_ms"] = _ms(
                    lambda: proofs.recompute_root(s, n), repeat, name="streamed"
                )
                out["root_streamed_cpu_ms"] = CPU["streamed"]
                assert proofs.recompute_root(s, n) == want
                out["inclusion_cold_ms"] = _ms(
                    lambda: proofs.inclusion(s, rnd.randint(1, n), n), repeat, merkle.clear_cache
                )
                out["consistency_cold_ms"] = _ms(
                    lambda: proofs.consistency(s, rnd.randint(1, n), n),
                    repeat,
                    merkle.clear_cache,
                )
                proofs.inclusion(s, 1, n)  # warm the cache for size n
                inc: dict[str, Any] = {}

                def warm_inclusion() -> None:
                    inc.update(proofs.inclusion(s, rnd.randint(1, n), n))

                out["inclusion_warm_ms"] = _ms(warm_inclusion, repeat * 5, name="warm")
                out["inclusion_warm_cpu_ms"] = CPU["warm"]
                path = [bytes.fromhex(h) for h in inc["audit_path"]]
                assert merkle.verify_inclusion(
                    inc["leaf_index"], n, bytes.fromhex(inc["leaf_hash"]), path, want
                )
                out["path_hashes"] = len(path)
                out["root_warm_ms"] = _ms(lambda: proofs.root_at(s, n), repeat * 5)
                con: dict[str, Any] = {}

                def warm_consistency() -> None:
                    con.update(proofs.consistency(s, rnd.randint(1, n - 1), n))

                out["consistency_warm_ms"] = _ms(warm_consistency, repeat * 5)
                assert merkle.verify_consistency(
                    con["first"],
                    n,
                    bytes.fromhex(con["first_root"]),
                    want,
                    [bytes.fromhex(h) for h in con["proof"]],
                )
                out["consistency_hashes"] = len(con["proof"])
            _fill_one_more(db, n)
            with db.read_only() as s:
                out["after_one_more_ms"] = _ms(
                    lambda: proofs.inclusion(s, rnd.randint(1, n + 1), n + 1), repeat * 5
                )
        finally:
            db.dispose()
    return out


def _fill_one_more(db: Any, n: int) -> None:
    from tangkal.accounts.principal import SYSTEM
    from tangkal.audit.services import record

    with db.unit_of_work() as s:
        record(s, SYSTEM, "bench.event", "thing", str(n + 1))


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    rows = []
    for r in results:
        rows.append(
            [
                r["backend"],
                f"{r['floor_read_ms']:.1f} ms",
                f"{r['floor_hash_ms']:.1f} ms",
                f"{r['root_streamed_ms']:.1f} ms",
                f"{r['inclusion_cold_ms']:.1f} ms",
                f"{r['inclusion_warm_ms']:.2f} ms",
                f"{r['root_warm_ms']:.2f} ms",
                f"{r['consistency_cold_ms']:.1f} ms",
                f"{r['consistency_warm_ms']:.2f} ms",
                f"{r['after_one_more_ms']:.2f} ms",
                f"{r['root_streamed_ms'] / r['inclusion_warm_ms']:.0f}×",
                f"{r['root_streamed_cpu_ms']:.1f} / {r['inclusion_warm_cpu_ms']:.2f} ms",
            ]
        )
    table = markdown_table(
        [
            "backend",
            "floor: read all hashes",
            "floor: tree hash in memory",
            "root, streamed (verify)",
            "inclusion proof, cold",
            "inclusion proof, warm",
            "root, warm (checkpoint)",
            "consistency proof, cold",
            "consistency proof, warm",
            "proof at n + 1, warm for n",
            "streamed / warm proof",
            "this process's CPU: streamed root / warm proof",
        ],
        rows,
    )
    r0 = results[0]
    return f"""# Benchmarks: the audit chain's Merkle tree (issue 12)

{now_utc()}, load average {load_average()} at the end. {args.events:,} chained audit entries
per backend (written in {", ".join(f"{r['fill_s']:.1f} s ({r['backend']})" for r in results)}),
medians of {args.repeat} runs (warm proofs: {args.repeat * 5}), random entries and sizes
(seed {args.seed}). Reproduce:

    {command_line()}

{table}

A proof is {r0["path_hashes"]} hashes (inclusion) or {r0["consistency_hashes"]} (the last
consistency proof) at this size: about 32 × log2 n bytes, what a reader downloads instead of
the chain.

- **floor: read all hashes** is `SELECT seq, hash` of every entry; **floor: tree hash in
  memory** the RFC 9162 hash of the same leaves with no database. A root computed afresh
  costs at least their sum, and **root, streamed** (what `tangkal audit verify` does for a v2
  checkpoint: no cache, O(log n) memory) is close to it.
- The last column is the benchmark process's own CPU time (medians), steadier than wall
  time on a busy machine; on PostgreSQL it leaves out the server's share.
- **cold** proofs empty the chunk cache first: they read every leaf once and fill it.
- **warm** proofs use the cached hashes of completed 1,024-leaf chunks
  (`tangkal.audit.merkle.Subtrees`): they read at most two partial chunks and one small
  query for the chunks' last leaves. A proof at n + 1 after one more entry is as cheap: the
  completed chunks did not change.

{machine_table()}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks-audit.md")
    args = parser.parse_args()
    results = [
        measure(b.strip(), args.events, args.repeat, args.seed) for b in args.backends.split(",")
    ]
    text = report(results, args)
    args.output.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
