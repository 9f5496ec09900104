"""/healthz latency while decompression bombs are uploaded (issue 12, finding 1).

Starts a real ``tangkal serve`` on a fresh SQLite file, sends N grey PNGs of 7999x7999 (about
77 KB each, 64 million pixels decoded) to ``POST /api/v1/match`` at once, and asks /healthz
again and again until every upload is answered. Prints the uploads' answers and the health
checks' latency (median, p95, max), the figure quoted in docs/security.md::

    python3 -m bench.hashing.bench_bombs --bombs 4

Run it against another source tree (the code before a change) with ``PYTHONPATH=<tree>/src``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from PIL import Image
from tests.support import live_server


def bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (7999, 7999), 128).save(buf, "PNG")
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bombs", type=int, default=4)
    args = parser.parse_args()
    png = bomb()
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='tangkal-bombs-')) / 'bench.db'}"
    with live_server(url) as live:
        assert live.cli("org", "create", "--kind", "regulator", "--name", "bench").returncode == 0
        token = live.token("bench", "analyst")
        answers: list[tuple[int, float]] = []

        def upload() -> None:
            start = time.perf_counter()
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=live.url, headers=headers, timeout=600) as c:
                r = c.post("/api/v1/match", files={"file": ("bomb.png", png, "image/png")})
            answers.append((r.status_code, time.perf_counter() - start))

        threads = [threading.Thread(target=upload) for _ in range(args.bombs)]
        for t in threads:
            t.start()
        latencies: list[float] = []
        with httpx.Client(base_url=live.url, timeout=600) as c:
            for _ in range(100_000):
                start = time.perf_counter()
                c.get("/healthz").raise_for_status()
                latencies.append(time.perf_counter() - start)
                if not any(t.is_alive() for t in threads):
                    break
                time.sleep(0.05)
        for t in threads:
            t.join()
    latencies.sort()
    print(f"{args.bombs} bombs of {len(png)} bytes each (7999x7999 grey PNG)")
    for status, seconds in sorted(answers):
        print(f"  upload answered {status} after {seconds:.2f} s")
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(
        f"/healthz: {len(latencies)} checks, median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
