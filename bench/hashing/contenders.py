"""What the hash-matching benchmarks share: each contender in its own subprocess, its memory
read from inside, and the benchmark's own marked section of the results file.

A contender runs in a subprocess of its own so that its resident memory is its alone (the
data the orchestrator generated is not counted against it) and so that one contender's
crash or timeout is a row that says so, not a lost run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def own_rss_mb() -> tuple[float, float]:
    """(current resident set, peak resident set) of this process in MB, from /proc."""
    cur = peak = 0.0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cur, peak


def run_contender(module: str, name: str, argv: list[str], timeout: float) -> dict[str, Any]:
    """Run ``python -m module --worker name *argv``; its last stdout line is its JSON result.

    A timeout or a failure comes back as ``{"contender", "error"}``, which the tables print
    as such, so the other contenders' figures from the same run are still reported.
    """
    cmd = [sys.executable, "-m", module, "--worker", name, *argv]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        print(f"  {name}: timed out after {timeout} s", file=sys.stderr)
        return {"contender": name, "error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        print(f"  {name}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
        return {"contender": name, "error": proc.stderr.strip().splitlines()[-1][:200]}
    print(f"  {name}: done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def write_marked_section(path: Path, report: str, key: str) -> None:
    """Replace the text between ``<!-- key:start -->`` and ``<!-- key:end -->`` (appending
    the section if it is not there yet), keeping everything else: several benchmarks and
    hand-written notes share one results file."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    block = f"{start}\n{report.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else ""
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + block
    path.write_text(text)


def cell(x: Any, spec: str) -> str:
    """A table cell: the value formatted, or ``-`` where the contender has no figure."""
    return "-" if x is None else format(x, spec)
