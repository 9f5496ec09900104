"""How much CPU each layer of the order-intake path costs, before any database work.

One command::

    python -m bench.orders.floor --clients 50 --duration 10

For each layer of ``bench.orders.floor_app`` (bare ASGI, FastAPI, body parsing, order
preparation, answer shaping) it starts uvicorn with that layer, drives it with the same load
generator and clients as ``bench.orders.intake``, and measures the server's CPU per request
(``/proc``, so other load on the machine skews it little). The figures are the floor under
tangkal's intake: what a request costs before the database is involved. They answer the
question behind the intake aim (a quarter of PostgreSQL's raw insert rate on this machine):
how much CPU per order is left for the application once PostgreSQL has taken its share, and
how much of that the HTTP stack alone uses. Results go to ``docs/benchmarks-orders-floor.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    REPO,
    add_load_arguments,
    command_line,
    cpu_seconds,
    free_port,
    load_average,
    machine_table,
    markdown_table,
    now_utc,
    write_section,
)
from bench.orders.floor_app import LAYERS

DOC = REPO / "docs" / "benchmarks-orders-floor.md"

WHAT = {
    "asgi": "uvicorn + a bare ASGI app (reads the body, fixed answer)",
    "fastapi": "+ FastAPI route (telemetry off, as served)",
    "parse": "+ OrderIn parsed and validated by pydantic-core",
    "prepare": "+ prepare_order (role, SOP, locators, keys)",
    "shape": "+ the answer shaped and encoded (no related orders)",
}


@dataclass(frozen=True)
class LayerRun:
    layer: str
    rate: float
    cpu_ms: float
    errors: int


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("uvicorn did not listen within 60 s")


def run_layer(layer: str, a: argparse.Namespace) -> LayerRun:
    port = free_port()
    env = {
        **os.environ,
        "BENCH_FLOOR_LAYER": layer,
        "PYTHONPATH": os.pathsep.join(p for p in [str(REPO), str(REPO / "src")] if p),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.orders.floor_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, server)
        before = cpu_seconds(server.pid)
        load = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.orders.load",
                "--url",
                f"http://127.0.0.1:{port}",
                "--token",
                "unused",
                "--platform",
                "Telegram",
                "--clients",
                str(a.clients),
                "--duration",
                str(a.duration),
                "--warmup",
                str(a.warmup),
                "--max-requests",
                str(a.max_requests),
            ],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=a.warmup + a.duration + 300,
            check=False,
        )
        after = cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if load.returncode not in (0, 1):
        raise RuntimeError(f"the load generator failed:\n{load.stderr}")
    r = json.loads(load.stdout)
    requests = r["ok"] + r["warmup_requests"]
    return LayerRun(
        layer, r["ok"] / r["elapsed"], (after - before) * 1000 / max(1, requests), r["errors"]
    )


def report(a: argparse.Namespace, runs: list[LayerRun], load_before: str, load_after: str) -> str:
    rows = []
    previous = 0.0
    for run in runs:
        rows.append(
            [
                f"`{run.layer}`: {WHAT[run.layer]}",
                f"{run.rate:,.0f}",
                f"{run.cpu_ms:.3f}",
                f"{run.cpu_ms - previous:+.3f}" if previous else "",
                run.errors,
            ]
        )
        previous = run.cpu_ms
    return "\n".join(
        [
            "# Benchmark: the floor under order intake (no database)",
            "",
            f"- command: `{command_line()}`",
            f"- date: {now_utc()}; {a.clients} clients, {a.duration:.0f} s per layer after "
            f"{a.warmup:.0f} s warm-up; load average before {load_before}, after {load_after}",
            "",
            markdown_table(
                [
                    "layer (each adds to the one above)",
                    "requests/s",
                    "server CPU ms/request",
                    "added",
                    "errors",
                ],
                rows,
            ),
            "",
            "Server CPU per request counts warm-up and measured requests (`/proc`, all the "
            "server's threads). None of these layers touches the database: tangkal's writer "
            "(rows, COPY, hash chain, related orders, commit) comes on top, and PostgreSQL's "
            "own CPU per order on top of that (`python -m bench.orders.intake`).",
            "",
            machine_table({}),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="CPU per request of each intake layer, no database.")
    add_load_arguments(
        p,
        duration=10.0,
        warmup=2.0,
        max_requests=400_000,
        duration_help="measured seconds per layer",
    )
    p.add_argument("--layers", default=",".join(LAYERS), help="comma-separated subset")
    p.add_argument("--out", default=str(DOC), help="markdown file to write ('-': none)")
    a = p.parse_args(argv)
    layers = [x for x in a.layers.split(",") if x]
    unknown = set(layers) - set(LAYERS)
    if unknown:
        p.error(f"unknown layer(s) {sorted(unknown)}; choose from {', '.join(LAYERS)}")
    load_before = load_average()
    runs = []
    for layer in layers:
        print(f"[bench] layer {layer}", file=sys.stderr, flush=True)
        runs.append(run_layer(layer, a))
    text = report(a, runs, load_before, load_average())
    sys.stdout.write(text)
    if a.out != "-":
        write_section(Path(a.out), text)
        print(f"[bench] wrote {a.out}", file=sys.stderr, flush=True)
    return 1 if any(r.errors for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
