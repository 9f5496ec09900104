"""vPDQ (video) matching benchmark: tangkal's frame index against threatexchange's VPDQIndex.

One command::

    python -m bench.hashing.bench_vpdq --videos 10000 --frames 300

Hashing 10,000 real videos here would take hours of ffmpeg decoding, and the matching cost
does not depend on where the frame hashes came from, so the banked videos are *synthetic
frame-hash sequences*: each video is ``--frames`` random PDQ hashes (uniform bits, quality
100, one a second). Queries are half copies and half unrelated videos:

* a copy is a random contiguous stretch (60-100%) of a banked video with every frame
  perturbed by 0-12 flipped bits (a re-encode moves a frame's PDQ hash by a few bits), so by
  vPDQ's rule it matches its source (query match 100% at a frame distance of 31);
* an unrelated query is fresh random frames, which match nothing.

Both contenders run in their own subprocess (resident memory is theirs alone) on the same
frames and queries, with vPDQ's defaults (frame distance 31, query match at least 80%):

* ``tangkal``: :class:`tangkal.hashing.video.VpdqSignalIndex` (the PDQ multi-index over every
  banked frame, then both shares per candidate video);
* ``threatexchange``: ``threatexchange.extensions.vpdq.vpdq_index.VPDQIndex`` (what
  ``VPDQSignal.get_index_cls()`` returns: a faiss ``IndexBinaryFlat`` over the unique frames,
  that is a brute-force range search per query frame).

Both are given the same JSON signal strings (threatexchange's format), to build from and to
look up, so parsing is in both builds and both lookups. threatexchange's search, being
exhaustive, is the physical floor of recall: tangkal's recall is measured against its
answers, and both against the copies' known sources.

Results go to stdout as markdown and into ``docs/benchmarks-hashing.md``.
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

FRAME_DISTANCE = 31
QUERY_PCT = 80.0


# --- Data ----------------------------------------------------------------


def make_data(
    videos: int, frames: int, queries: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[int]]:
    """(banked frames as videos x frames x 32 bytes, -, query frame arrays, each query's
    source video or -1)."""
    rng = np.random.default_rng(seed)
    banked = rng.integers(0, 256, size=(videos, frames, 32), dtype=np.uint8)
    out: list[np.ndarray] = []
    source: list[int] = []
    for i in range(queries):
        if i % 2 == 0:
            v = int(rng.integers(0, videos))
            length = int(rng.integers(int(0.6 * frames), frames + 1))
            start = int(rng.integers(0, frames - length + 1))
            q = banked[v, start : start + length].copy()
            bits = np.unpackbits(q, axis=1)
            for row, k in enumerate(rng.integers(0, 13, size=length)):
                pos = rng.choice(256, size=int(k), replace=False)
                bits[row, pos] ^= 1
            out.append(np.packbits(bits, axis=1))
            source.append(v)
        else:
            length = int(rng.integers(int(0.6 * frames), frames + 1))
            out.append(rng.integers(0, 256, size=(length, 32), dtype=np.uint8))
            source.append(-1)
    return banked, np.empty(0), out, source


def _signal(frames: np.ndarray) -> str:
    """threatexchange's vPDQ signal string of frames (quality 100, one a second)."""
    return json.dumps([f"{row.tobytes().hex()},100,{t:.3f}" for t, row in enumerate(frames)])


# --- Measuring ----------------------------------------------------------------


def worker(args: argparse.Namespace) -> dict[str, Any]:
    data = np.load(Path(args.data) / "banked.npy", mmap_mode="r")
    with np.load(Path(args.data) / "queries.npz") as z:
        queries = [z[f"q{i}"] for i in range(len(z.files))]
    base_rss, _ = own_rss_mb()
    out: dict[str, Any] = {"contender": args.worker, "videos": int(data.shape[0])}
    found: list[list[int]] = []
    t0 = time.perf_counter()
    if args.worker == "tangkal":
        sys.path.insert(0, str(ROOT / "src"))
        from tangkal.hashing.video import VpdqSignalIndex

        index = VpdqSignalIndex()
        index.add([(_signal(np.asarray(data[v])), v) for v in range(data.shape[0])])
        threshold = int(100 - QUERY_PCT)
        signals = [_signal(q) for q in queries]  # a client sends the string; not timed

        def lookup(i: int) -> list[int]:
            return sorted(m.id for m in index.search(signals[i], threshold))

    else:
        from threatexchange.extensions.vpdq.vpdq_index import VPDQIndex

        te: Any = VPDQIndex(query_match_threshold_pct=QUERY_PCT)
        for v in range(data.shape[0]):
            te.add(_signal(np.asarray(data[v])), v)
        signals = [_signal(q) for q in queries]  # a client sends the string; not timed

        def lookup(i: int) -> list[int]:
            return sorted(int(m.metadata) for m in te.query(signals[i]))

    out["build_s"] = time.perf_counter() - t0
    out["rss_after_build_mb"], _ = own_rss_mb()
    t0 = time.perf_counter()
    for i in range(len(queries)):
        found.append(lookup(i))
        if time.perf_counter() - t0 > args.budget:
            break
    elapsed = time.perf_counter() - t0
    out["queries_done"] = len(found)
    out["lookups_per_s"] = len(found) / elapsed
    out["rss_mb"], out["peak_rss_mb"] = own_rss_mb()
    out["baseline_rss_mb"] = base_rss
    out["found"] = found
    return out


# --- Orchestration ----------------------------------------------------------------


def _run_worker(name: str, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    argv = ["--data", str(data), "--budget", str(args.budget)]
    return run_contender("bench.hashing.bench_vpdq", name, argv, args.timeout)


def _recall(found: list[list[int]], truth: list[list[int]]) -> tuple[float, int]:
    """Share of the truth's (query, video) pairs found, over the queries both answered, and
    the pairs found that the truth does not have."""
    n = min(len(found), len(truth))
    want = {(i, v) for i in range(n) for v in truth[i]}
    got = {(i, v) for i in range(n) for v in found[i]}
    return (len(got & want) / len(want) if want else 1.0), len(got - want)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--videos", type=int, default=10_000, help="banked videos")
    p.add_argument("--frames", type=int, default=300, help="frames per banked video")
    p.add_argument("--queries", type=int, default=400, help="query videos (half copies)")
    p.add_argument("--budget", type=float, default=60.0, help="seconds of lookups (max)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per contender (max)")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks-hashing.md"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    t0 = time.perf_counter()
    banked, _, queries, source = make_data(args.videos, args.frames, args.queries, args.seed)
    print(f"data: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-vpdq-") as tmp:
        np.save(Path(tmp) / "banked.npy", banked)
        arrays: dict[str, Any] = {f"q{i}": q for i, q in enumerate(queries)}
        np.savez(Path(tmp) / "queries.npz", **arrays)
        del banked
        results = {
            name: _run_worker(name, Path(tmp), args) for name in ("tangkal", "threatexchange")
        }
    expected = [[v] if v >= 0 else [] for v in source]
    te_found = results["threatexchange"].get("found")
    rows = []
    for res in results.values():
        row = {k: v for k, v in res.items() if k != "found"}
        if "found" in res:
            row["recall_sources"], row["extra_sources"] = _recall(res["found"], expected)
            if te_found is not None:
                row["recall_te"], row["extra_te"] = _recall(res["found"], te_found)
        rows.append(row)
    report = render(rows, args)
    print(report)
    write_marked_section(Path(args.out), report, "bench_vpdq")
    return 0


def render(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    cmd = "python -m bench.hashing.bench_vpdq " + " ".join(sys.argv[1:])
    load = os.getloadavg()
    lines = [
        "## vPDQ (video): tangkal's frame index against threatexchange's VPDQIndex",
        "",
        f"Command: `{cmd.strip()}`: {args.videos:,} banked videos of {args.frames} frames "
        f"({args.videos * args.frames:,} frame hashes), {args.queries} query videos (half "
        "trimmed copies with 0-12 bits of noise per frame, half unrelated); vPDQ's rule with "
        f"its defaults (frame distance {FRAME_DISTANCE}, query match at least {QUERY_PCT:.0f}%). "
        "Frame hashes are synthetic (random PDQ hashes per video; hashing 10,000 real videos "
        "would take hours of decoding and does not change the matching cost); each contender "
        f"runs its lookups for at most {args.budget:.0f} s.",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, numpy {np.__version__}; load average at the end "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}.",
        "",
        "| index | videos | build s | queries timed | lookups/s | recall vs sources | "
        "recall vs threatexchange | extra vs threatexchange | RSS MB | peak RSS MB | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        note = r.get("error", "")
        if r["contender"] == "threatexchange" and not note:
            note = "VPDQIndex: faiss IndexBinaryFlat (exhaustive) over unique frames"
        if r["contender"] == "tangkal" and not note:
            note = "VpdqSignalIndex: PdqIndex (multi-index hashing) over every frame"
        lines.append(
            f"| {r['contender']} | {r.get('videos', args.videos):,} | "
            f"{cell(r.get('build_s'), '.1f')} | {cell(r.get('queries_done'), 'd')} | "
            f"{cell(r.get('lookups_per_s'), ',.2f')} | {cell(r.get('recall_sources'), '.4f')} | "
            f"{cell(r.get('recall_te'), '.4f')} | {cell(r.get('extra_te'), 'd')} | "
            f"{cell(r.get('rss_mb'), ',.0f')} | {cell(r.get('peak_rss_mb'), ',.0f')} | {note} |"
        )
    lines += [
        "",
        "A lookup is one query video (all its frames) against every banked video, answered "
        "with the videos that match. Recall against threatexchange counts the (query, video) "
        "pairs its exhaustive search found over the queries both contenders timed. RSS is the "
        "contender's subprocess after its lookups (VmRSS; peak VmHWM), including the banked "
        "frames mapped from the data file.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
