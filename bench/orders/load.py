"""The load generator: N concurrent clients filing orders over HTTP, in its own process.

It runs apart from the server so that the client's work (building bodies, parsing answers)
does not share the server's interpreter; on a small machine it still shares the cores,
which is why its CPU time is reported alongside the result.

Usage (normally started by ``bench.orders.intake``)::

    python -m bench.orders.load --url http://127.0.0.1:8080 --token TK --platform P \\
        --clients 50 --duration 30 --warmup 5 --max-requests 200000 --out result.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

CATEGORIES = [
    "terrorism",
    "terrorism",
    "terrorism",
    "radicalism",
    "public_order",
    "gambling",
    "fraud",
    "hate_speech",
    "disinformation",
]
LEGAL = {
    "terrorism": "UU 5/2018 (Pemberantasan Tindak Pidana Terorisme) jo. UU ITE Pasal 40 ayat 2b; "
    "Permenkominfo 5/2020 Pasal 13",
    "radicalism": "UU ITE Pasal 40 ayat 2a; Permenkominfo 5/2020 Pasal 9 ayat 4",
    "public_order": "Permenkominfo 5/2020 Pasal 9 ayat 4 huruf b",
    "gambling": "UU ITE Pasal 27 ayat 2; KUHP Pasal 303",
    "fraud": "UU ITE Pasal 28 ayat 1",
    "hate_speech": "UU ITE Pasal 28 ayat 2 (SARA)",
    "disinformation": "UU 1/1946 Pasal 14-15; UU ITE Pasal 28 ayat 1",
}
REASONS = [
    "Public channel posting step-by-step instructions for building an improvised explosive "
    "device (TATP), with photographs of components and a call to attack police posts.",
    "Recruitment message for a designated terrorist organisation; encourages hijrah and "
    "donations through a named account; reported by the public through aduan konten.",
    "Video glorifying the 2016 Thamrin attack with instructions to repeat it in Jakarta.",
    "Online gambling operator advertising deposits by bank transfer and e-wallet.",
    "Impersonation of a bank's support account asking customers for one-time codes.",
]


def order_body(seq: int, client: int, platform: str, rng: random.Random) -> dict[str, Any]:
    """A realistic, distinct order: 1 to 3 locators, Telegram links in their many forms and
    web URLs, never the same item twice in a run (so no body is a duplicate)."""
    tag = f"{client:02d}x{seq:07d}"
    forms = [
        lambda: f"https://t.me/s/chan{tag}/{rng.randint(1, 99999)}",
        lambda: f"t.me/chan{tag}/{rng.randint(1, 99999)}",
        lambda: f"https://telegram.me/Chan{tag}/{rng.randint(1, 99999)}",
        lambda: f"tg://resolve?domain=chan{tag}&post={rng.randint(1, 99999)}",
        lambda: f"https://t.me/+Inv{tag}AbCdEf",
        lambda: f"https://t.me/chan{tag}",
        lambda: (
            f"https://www.example{rng.randint(1, 50)}.com/forum/thread-{tag}?page=2&utm_source=x"
        ),
        lambda: f"http://blog-{tag}.wordpress.com/2017/07/{rng.randint(1, 28)}/post-{tag}/",
        lambda: f"https://files{rng.randint(1, 9)}.example.org/dl/{tag}.pdf",
    ]
    n = rng.choice((1, 1, 2, 2, 3))
    locators = [rng.choice(forms)() for _ in range(n)]
    category = rng.choice(CATEGORIES)
    return {
        "platform": platform,
        "category": category,
        "locators": locators,
        "legal_basis": LEGAL[category],
        "reason": rng.choice(REASONS) + f" Report {tag}.",
    }


@dataclass
class Result:
    clients: int
    duration: float
    warmup: float
    max_requests: int
    started: float = 0.0
    elapsed: float = 0.0
    ok: int = 0
    errors: int = 0
    warmup_requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)
    client_cpu_s: float = 0.0


async def run(
    url: str,
    token: str,
    platform: str,
    clients: int,
    duration: float,
    warmup: float,
    max_requests: int,
    seed: int,
) -> Result:
    res = Result(clients, duration, warmup, max_requests)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    issued = 0
    measuring = False
    stop_at = 0.0

    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=httpx.Timeout(60.0)
    ) as http:

        async def worker(idx: int) -> None:
            nonlocal issued
            rng = random.Random(seed * 1000 + idx)
            seq = 0
            while True:
                now = time.perf_counter()
                if measuring and (now >= stop_at or issued >= max_requests):
                    return
                if not measuring and now >= stop_at:  # end of warm-up: wait for the switch
                    await asyncio.sleep(0.001)
                    continue
                seq += 1
                body = json.dumps(order_body(seq, idx, platform, rng))
                counted = measuring
                if counted:
                    issued += 1
                t0 = time.perf_counter()
                try:
                    r = await http.post("/api/v1/orders", content=body)
                    status, text = r.status_code, r.text
                except httpx.HTTPError as exc:
                    status, text = 0, f"{type(exc).__name__}: {exc}"
                ms = (time.perf_counter() - t0) * 1000
                if not counted:
                    res.warmup_requests += 1
                    if status != 201 and len(res.first_errors) < 5:
                        res.first_errors.append(f"(warm-up) HTTP {status}: {text[:300]}")
                    continue
                if status == 201:
                    res.ok += 1
                    res.latencies_ms.append(ms)
                else:
                    res.errors += 1
                    if len(res.first_errors) < 5:
                        res.first_errors.append(f"HTTP {status}: {text[:300]}")

        stop_at = time.perf_counter() + warmup
        tasks = [asyncio.create_task(worker(i)) for i in range(clients)]
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        # switch to the measured phase; requests in flight finish as warm-up
        cpu0 = time.process_time()
        res.started = time.perf_counter()
        stop_at = res.started + duration
        measuring = True
        await asyncio.gather(*tasks)
        res.elapsed = time.perf_counter() - res.started
        res.client_cpu_s = time.process_time() - cpu0
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--token", default=os.environ.get("TANGKAL_BENCH_TOKEN"))
    p.add_argument("--platform", required=True)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--max-requests", type=int, default=500_000)
    p.add_argument("--seed", type=int, default=2017)
    p.add_argument("--out", default="-")
    a = p.parse_args(argv)
    if not a.token:
        p.error("--token (or TANGKAL_BENCH_TOKEN) is required")
    coro = run(a.url, a.token, a.platform, a.clients, a.duration, a.warmup, a.max_requests, a.seed)
    try:
        import uvloop

        res = uvloop.run(coro)
    except ImportError:
        res = asyncio.run(coro)
    text = json.dumps(asdict(res))
    if a.out == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
