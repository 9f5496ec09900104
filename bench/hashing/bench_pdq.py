"""PDQ index benchmark: tangkal's PdqIndex against threatexchange's PDQIndex (HMA's library).

One command::

    python -m bench.hashing.bench_pdq --n 10000000          # full run (several minutes)
    python -m bench.hashing.bench_pdq --n 200000 --quick    # a minute or so

For each data set (uniform random hashes, and clustered hashes shaped like real image hashes)
it writes the hashes and one shared query set to a scratch directory, then runs every
contender in its own subprocess (so resident memory is that contender's own) on the same
hashes and queries:

* ``bruteforce``: faiss ``IndexBinaryFlat`` range search: the ground truth for recall, and
  the speed of an exhaustive scan;
* ``tangkal``: :class:`tangkal.hashing.index.PdqIndex`;
* ``threatexchange``: ``threatexchange.signal_type.pdq.pdq_index.PDQIndex``, the index
  ``PdqSignal.get_index_cls()`` returns (faiss ``IndexBinaryMultiHash``, 16 x 16 bits).

Queries are a realistic mix: half are near-copies of indexed hashes at Hamming distances spread
over 0..31 (they must match), half are unrelated hashes from the same distribution. Every timed
loop is bounded by a query count and a wall-clock budget. Results go to stdout as a markdown
table and to ``docs/benchmarks-hashing.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.hashing.contenders import ROOT, cell, own_rss_mb, run_contender, write_marked_section

THRESHOLD = 31


# --- Data ----------------------------------------------------------------


def _flip_bits(
    h: np.ndarray, counts: np.ndarray, rng: np.random.Generator, *, distinct: bool = True
) -> np.ndarray:
    """Flip ``counts[i]`` random bits of row ``i``. With ``distinct`` the positions differ, so
    the result is at exactly that distance; without, positions may repeat (cheap, for bulk
    cluster members, where "at most" is what matters)."""
    out = h.copy()
    kmax = int(counts.max(initial=0))
    if kmax == 0:
        return out
    if distinct:  # first kmax of a random permutation per row (argsort of noise)
        pos = np.argsort(rng.random((h.shape[0], 256), dtype=np.float32), axis=1)[:, :kmax]
    else:
        pos = rng.integers(0, 256, size=(h.shape[0], kmax))
    use = np.arange(kmax)[None, :] < counts[:, None]
    rows = np.broadcast_to(np.arange(h.shape[0])[:, None], pos.shape)[use]
    p = pos[use]
    np.bitwise_xor.at(out, (rows, p // 8), (1 << (7 - p % 8)).astype(np.uint8))
    return out


def _latent_hashes(n: int, rng: np.random.Generator, g: np.ndarray) -> np.ndarray:
    """Hashes whose bits are correlated like PDQ bits of real photos: the sign pattern of a
    random 256 x 24 projection of a Gaussian latent, plus per-bit noise. Each bit is still about
    50/50, but substrings are far from uniform, which is what breaks naive MIH bucket balance."""
    z = rng.standard_normal((n, g.shape[1]), dtype=np.float32)
    x = z @ g.T + 0.6 * rng.standard_normal((n, 256), dtype=np.float32)
    return np.packbits(x > 0, axis=1)


def make_data(kind: str, n: int, n_queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(indexed hashes (n, 32) uint8, queries (n_queries, 32) uint8)."""
    rng = np.random.default_rng(seed)
    chunk = 1 << 20
    if kind == "uniform":
        hashes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
        unrelated = rng.integers(0, 256, size=(n_queries - n_queries // 2, 32), dtype=np.uint8)
    elif kind == "clustered":
        g = rng.standard_normal((256, 24)).astype(np.float32)
        per = 100
        n_centres = max(1, n // per)
        centres = _latent_hashes(n_centres, rng, g)
        hashes = np.empty((n, 32), dtype=np.uint8)
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            owner = np.arange(lo, hi) % n_centres
            flips = rng.integers(0, 9, size=hi - lo)  # members within 0..8 bits of their centre
            hashes[lo:hi] = _flip_bits(centres[owner], flips, rng, distinct=False)
        unrelated = _latent_hashes(n_queries - n_queries // 2, rng, g)
    else:
        raise SystemExit(f"unknown data kind {kind!r}")
    src = hashes[rng.integers(0, n, size=n_queries // 2)]
    noise = np.asarray(rng.integers(0, THRESHOLD + 1, size=src.shape[0]))
    near = _flip_bits(src, noise, rng)
    queries = np.concatenate([near, unrelated])
    queries = queries[rng.permutation(queries.shape[0])]
    return hashes, queries


# --- Measuring ----------------------------------------------------------------


def _timed(fn: Any, items: int, budget_s: float) -> tuple[float, int]:
    """Run ``fn(i)`` for i in range(items) until done or the budget is spent; (per second, n)."""
    t0 = time.perf_counter()
    done = 0
    for i in range(items):
        fn(i)
        done += 1
        if time.perf_counter() - t0 > budget_s:
            break
    return done / (time.perf_counter() - t0), done


def _pairs_to_json(pairs: set[tuple[int, int]]) -> list[list[int]]:
    return sorted([q, r] for q, r in pairs)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Run one contender in this process and return its measurements."""
    hashes = np.load(args.data)  # into anonymous memory, before the baseline
    queries = np.load(args.queries)
    truth_n = args.truth_queries
    base_rss, _ = own_rss_mb()
    out: dict[str, Any] = {"contender": args.worker, "n": int(hashes.shape[0])}
    nq = queries.shape[0]
    if args.worker == "bruteforce":
        import faiss

        index = faiss.IndexBinaryFlat(256)
        t0 = time.perf_counter()
        index.add(hashes)
        out["build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        lims, _dist, ids = index.range_search(queries[:truth_n], THRESHOLD + 1)
        el = time.perf_counter() - t0
        out["batched_qps"] = truth_n / el
        pairs = set()
        for q in range(truth_n):
            for r in ids[lims[q] : lims[q + 1]].tolist():
                pairs.add((q, int(r)))
        out["truth"] = _pairs_to_json(pairs)
    elif args.worker == "tangkal":
        sys.path.insert(0, str(ROOT / "src"))
        from tangkal.hashing.index import PdqIndex

        index = PdqIndex(threshold=THRESHOLD)
        t0 = time.perf_counter()
        index.add(hashes, np.arange(hashes.shape[0], dtype=np.int64))
        out["build_s"] = time.perf_counter() - t0
        del hashes
        out["rss_after_build_mb"], _ = own_rss_mb()
        out["index_bytes_mb"] = index.stats()["bytes"] / 2**20
        index.search_many(queries[:256])  # warm up page tables and caches
        out["single_qps"], out["single_n"] = _timed(
            lambda i: index.search(queries[i]), min(nq, 5000), args.budget
        )
        for workers in (1, 2):
            t0 = time.perf_counter()
            done = 0
            for lo in range(0, nq, 2048):
                index.search_many(queries[lo : lo + 2048], workers=workers)
                done = min(nq, lo + 2048)
                if time.perf_counter() - t0 > args.budget:
                    break
            out[f"batched_qps_{workers}t"] = done / (time.perf_counter() - t0)
        qi, ids, _ = index.search_many(queries[:truth_n])
        out["found"] = _pairs_to_json(set(zip(qi.tolist(), ids.tolist(), strict=True)))
        # Memory is taken here, before the persistence check below maps a second copy of the
        # index (the reloaded file) into this same process.
        out["rss_mb"], out["peak_rss_mb"] = own_rss_mb()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "pdq.idx"
            t0 = time.perf_counter()
            index.save(path)
            out["save_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            loaded = PdqIndex.load(path)
            loaded.search_many(queries[:64])
            out["load_s"] = time.perf_counter() - t0
            del loaded
    elif args.worker == "threatexchange":
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex

        hexes = [h.tobytes().hex() for h in hashes]
        del hashes
        t0 = time.perf_counter()
        te = PDQIndex(entries=zip(hexes, range(len(hexes)), strict=True))
        out["build_s"] = time.perf_counter() - t0
        del hexes
        out["rss_after_build_mb"], _ = own_rss_mb()
        qhex = [h.tobytes().hex() for h in queries]
        te.query(qhex[0])
        out["single_qps"], out["single_n"] = _timed(
            lambda i: te.query(qhex[i]), min(nq, 5000), args.budget
        )
        # Batched: the underlying faiss range search on a list (OpenMP uses both cores).
        t0 = time.perf_counter()
        done = 0
        for lo in range(0, nq, 256):
            te.index.search_with_distance_in_result(qhex[lo : lo + 256], THRESHOLD)
            done = min(nq, lo + 256)
            if time.perf_counter() - t0 > args.budget:
                break
        out["batched_qps_2t"] = done / (time.perf_counter() - t0)
        found = set()
        for q in range(truth_n):
            for m in te.query(qhex[q]):
                found.add((q, int(m.metadata)))
        out["found"] = _pairs_to_json(found)
    else:
        raise SystemExit(f"unknown worker {args.worker!r}")
    cur, peak = own_rss_mb()
    out.setdefault("rss_mb", cur)
    out.setdefault("peak_rss_mb", peak)
    out["baseline_rss_mb"] = base_rss
    return out


# --- Orchestration ----------------------------------------------------------------


def _run_worker(name: str, data: Path, queries: Path, args: argparse.Namespace) -> dict[str, Any]:
    argv = ["--data", str(data), "--queries", str(queries)]
    argv += ["--truth-queries", str(args.truth_queries), "--budget", str(args.budget)]
    return run_contender("bench.hashing.bench_pdq", name, argv, args.timeout)


def _recall(found: list[list[int]], truth: set[tuple[int, int]]) -> tuple[float, int]:
    got = {(q, r) for q, r in found}
    if not truth:
        return 1.0, 0
    return len(got & truth) / len(truth), len(got - truth)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=200_000, help="indexed hashes per data set")
    p.add_argument("--queries-n", type=int, default=20_000, help="queries per data set")
    p.add_argument("--truth-queries", type=int, default=500, help="queries checked for recall")
    p.add_argument("--budget", type=float, default=20.0, help="seconds per timed loop (max)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per contender (max)")
    p.add_argument("--kinds", default="uniform,clustered")
    p.add_argument("--contenders", default="bruteforce,tangkal,threatexchange")
    p.add_argument(
        "--te-max-n",
        type=int,
        default=10_000_000,
        help="skip threatexchange above this many hashes",
    )
    p.add_argument("--quick", action="store_true", help="smaller query counts and budgets")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks-hashing.md"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--queries", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=20170714)
    args = p.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    if args.quick:
        args.queries_n = min(args.queries_n, 5000)
        args.budget = min(args.budget, 5.0)

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tangkal-bench-") as tmp:
        for kind in args.kinds.split(","):
            print(f"{kind}: generating {args.n} hashes", file=sys.stderr)
            t0 = time.perf_counter()
            hashes, queries = make_data(kind, args.n, args.queries_n, args.seed)
            data_path, q_path = Path(tmp) / f"{kind}.npy", Path(tmp) / f"{kind}-q.npy"
            np.save(data_path, hashes)
            np.save(q_path, queries)
            del hashes
            print(f"  generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            results = {}
            for name in args.contenders.split(","):
                if name == "threatexchange" and args.n > args.te_max_n:
                    results[name] = {"contender": name, "error": f"skipped above {args.te_max_n}"}
                    continue
                results[name] = _run_worker(name, data_path, q_path, args)
            bf = results.get("bruteforce") or {}
            truth = {(q, r) for q, r in bf.get("truth", [])}
            for name, res in results.items():
                if res is None:
                    continue
                row = {
                    "kind": kind,
                    **{k: v for k, v in res.items() if k not in ("truth", "found")},
                }
                if "found" in res and "truth" in bf:
                    row["recall"], row["extra"] = _recall(res["found"], truth)
                if name == "bruteforce":
                    row["recall"], row["extra"] = 1.0, 0
                    row["true_pairs"] = len(truth)
                rows.append(row)
    report = render(rows, args)
    print(report)
    write_marked_section(Path(args.out), report, "bench_pdq")
    return 0


def render(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    cmd = "python -m bench.hashing.bench_pdq " + " ".join(
        a for a in sys.argv[1:] if not a.startswith("--worker")
    )
    load = os.getloadavg()
    lines = [
        "## PDQ index: tangkal against threatexchange (HMA) and brute force",
        "",
        f"Command: `{cmd.strip()}` (threshold {THRESHOLD}; {args.queries_n} queries per data set, "
        f"half near-copies at distance 0..31, half unrelated; recall on the first "
        f"{args.truth_queries} against faiss brute force).",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, numpy {np.__version__}; load average at the end "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} (other work on the machine slows every row).",
        "",
        "| data | index | hashes | build s | lookups/s 1 thread (one call per query) | "
        "lookups/s batched 1 thread | lookups/s batched 2 threads | recall | false extra | "
        "RSS MB | peak RSS MB | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        note = r.get("error", "")
        if r["contender"] == "bruteforce":
            note = note or (
                f"faiss IndexBinaryFlat range search (OpenMP); {r.get('true_pairs', 0)} true pairs"
            )
            batched1, batched2 = None, r.get("batched_qps")
        else:
            batched1, batched2 = r.get("batched_qps_1t"), r.get("batched_qps_2t")
        if r["contender"] == "tangkal" and "save_s" in r:
            note = (
                note or f"save {r['save_s']:.1f} s, load (mmap) + first batch {r['load_s']:.2f} s"
            )
        if r["contender"] == "threatexchange" and not note:
            note = "PDQIndex (faiss IndexBinaryMultiHash 16x16, nflip 1); RSS includes its hex list"
        lines.append(
            f"| {r['kind']} | {r['contender']} | {r.get('n', args.n):,} | "
            f"{cell(r.get('build_s'), '.1f')} | {cell(r.get('single_qps'), ',.0f')} | "
            f"{cell(batched1, ',.0f')} | {cell(batched2, ',.0f')} | "
            f"{cell(r.get('recall'), '.4f')} | {cell(r.get('extra'), 'd')} | "
            f"{cell(r.get('rss_mb'), ',.0f')} | {cell(r.get('peak_rss_mb'), ',.0f')} | {note} |"
        )
    lines += [
        "",
        "RSS is the contender's own subprocess after all lookups (VmRSS), peak is VmHWM; both "
        "include the input hashes loaded from disk before building (32 bytes per hash), which "
        "tangkal's index keeps as its own storage. For tangkal both are taken before the "
        "save/load check, which maps the saved file a second time into the same process. "
        "threatexchange's RSS includes the list of hex strings its index keeps.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
