"""The load generator: N concurrent clients filing orders over HTTP, in its own process.

It runs apart from the server so that the client's work (building bodies, parsing answers)
does not share the server's interpreter; on a small machine it still shares the cores,
which is why its CPU time is reported alongside the result, and why the client is kept as
lean as Python allows: httpx with 50 pooled connections spent 1 to 4 ms of CPU per request
here, so it, not the server, set the pace once the server got fast. So each client is one
keep-alive HTTP/1.1 connection driven by asyncio protocol callbacks (no task, future or timer
per request); the request bytes are built before the clock starts; an answer is read only as
far as its status line, Content-Length and body length; one watchdog pass a second enforces
the 60 s timeout. That costs about 11 us of CPU per request at full speed (some 30 us at a
few hundred requests/s, when every answer wakes the loop on its own).

Usage (normally started by ``bench.orders.intake``)::

    python -m bench.orders.load --url http://127.0.0.1:8080 --token TK --platform P \\
        --clients 50 --duration 30 --warmup 5 --max-requests 200000 --out result.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from bench.common import add_load_arguments

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

# The pre-built requests are capped by size, not count: about 550 bytes each, so 64 MiB holds
# roughly 120,000 requests -- 24 s at 5,000 orders/s; about 1 s to build and 95 MB resident --
# before the pool is reused with new tags (RequestPool.take), which keeps memory bounded
# however long or fast the run is.
POOL_MAX_BYTES = 64 * 1024 * 1024
TIMEOUT_S = 60.0
# After a failed connect, wait this long before the next attempt so that a dead server shows
# up as errors rather than as a busy loop that eats the CPU of the machine being measured.
RECONNECT_PAUSE_S = 0.05


def order_body(seq: int, client: int, platform: str, rng: random.Random) -> dict[str, Any]:
    """A realistic, distinct order: 1 to 3 locators, Telegram links in their many forms and
    web URLs, never the same item twice in a run (so no body is a duplicate)."""
    tag = _tag(client, seq)
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


def _tag(client: int, seq: int) -> str:
    """The string that makes an order distinct; every locator and the reason carry it."""
    return f"{client:02d}x{seq:07d}"


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


class RequestPool:
    """Complete request bytes, handed out in order to whichever client asks next.

    Bodies are made by ``order_body``: client ``c``'s ``s``-th body from
    the generator seeded ``seed * 1000 + c`` -- interleaved over the clients (the k-th request
    is client ``k % clients``, seq ``k // clients + 1``), so the same seed gives the same
    bodies whichever connection sends them. They are built before the clock starts, up to
    ``want`` requests or ``max_bytes``. Past the end of the pool, request ``i`` reuses entry
    ``i % n`` with its tag's seq moved up by ``(i // n) * per_client`` (one replace and one
    concatenation, a few microseconds): still realistic, still never a duplicate.
    """

    def __init__(
        self,
        head: bytes,
        platform: str,
        clients: int,
        seed: int,
        want: int,
        max_bytes: int = POOL_MAX_BYTES,
    ) -> None:
        self.head = head
        self.clients = clients
        rngs = [random.Random(seed * 1000 + c) for c in range(clients)]
        reqs: list[bytes] = []
        size = 0
        k = 0
        while k < max(want, 1) and size < max_bytes:
            client = k % clients
            body = json.dumps(order_body(k // clients + 1, client, platform, rngs[client]))
            req = self._request(body.encode())
            reqs.append(req)
            size += len(req)
            k += 1
        self.reqs = reqs
        self.nbytes = size
        self.per_client = -(-len(reqs) // clients)  # the highest seq any client has in the pool
        self.next = 0

    def _request(self, body: bytes) -> bytes:
        return self.head + b"%d\r\n\r\n" % len(body) + body

    def take(self) -> bytes:
        i = self.next
        self.next = i + 1
        if i < len(self.reqs):
            return self.reqs[i]
        rnd, k = divmod(i, len(self.reqs))
        client, seq = k % self.clients, k // self.clients + 1
        req = self.reqs[k]
        body = req[req.index(b"\r\n\r\n") + 4 :]
        old, new = _tag(client, seq), _tag(client, seq + rnd * self.per_client)
        return self._request(body.replace(old.encode(), new.encode()))


class Load:
    """The run's shared state: phase, counters, the result, and the clients' connections.

    A client is a chain of connections (``_Conn``), one after another when the server closes
    or drops one; exactly one connection of each chain is live (or connecting) at a time.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        pool: RequestPool,
        res: Result,
    ) -> None:
        self.loop = loop
        self.host = host
        self.port = port
        self.pool = pool
        self.res = res
        self.max_requests = res.max_requests
        self.measuring = False
        self.stop_at = 0.0
        self.issued = 0
        self.parked: list[_Conn] = []
        self.switched = loop.create_future()  # set when the measured phase begins
        self.active = res.clients
        self.done = loop.create_future()  # set when the last client has finished
        self.live: set[_Conn] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def admit(self) -> int:
        """May a client issue a request now? 1: yes, measured; 0: yes, warm-up;
        -1: no, the run is over for it; -2: not yet, warm-up is over (wait for the switch)."""
        if self.measuring:
            if time.perf_counter() >= self.stop_at or self.issued >= self.max_requests:
                return -1
            self.issued += 1
            return 1
        return -2 if time.perf_counter() >= self.stop_at else 0

    def record(self, counted: bool, status: int, text: str, ms: float) -> None:
        res = self.res
        if not counted:
            res.warmup_requests += 1
            if status != 201 and len(res.first_errors) < 5:
                res.first_errors.append(f"(warm-up) HTTP {status}: {text[:300]}")
        elif status == 201:
            res.ok += 1
            res.latencies_ms.append(ms)
        else:
            res.errors += 1
            if len(res.first_errors) < 5:
                res.first_errors.append(f"HTTP {status}: {text[:300]}")

    def finish(self) -> None:
        self.active -= 1
        if self.active == 0 and not self.done.done():
            self.done.set_result(None)

    def connect(self) -> None:
        """Start the next connection of a client's chain; it sends as soon as it is made."""
        task = self.loop.create_task(self._connect())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _connect(self) -> None:
        while True:
            try:
                await self.loop.create_connection(lambda: _Conn(self), self.host, self.port)
                return
            except OSError as exc:
                # the request this connection was for fails, as an HTTP client's would
                admitted = self.admit()
                if admitted == -1:
                    self.finish()
                    return
                if admitted == -2:
                    await self.switched
                    continue
                self.record(admitted == 1, 0, f"ConnectError: {exc}", 0.0)
                await asyncio.sleep(RECONNECT_PAUSE_S)

    def switch(self) -> None:
        """Begin the measured phase; requests in flight finish as warm-up."""
        self.res.started = time.perf_counter()
        self.stop_at = self.res.started + self.res.duration
        self.measuring = True
        self.switched.set_result(None)
        parked, self.parked = self.parked, []
        for conn in parked:
            conn.send()

    def watchdog(self) -> None:
        """Fail every request that has waited longer than the timeout (once a second, so the
        timeout costs nothing per request)."""
        now = time.perf_counter()
        for conn in list(self.live):
            if conn.in_flight and now - conn.t0 > TIMEOUT_S:
                conn.fail(f"ReadTimeout: no complete answer in {TIMEOUT_S:.0f} s")
        if not self.done.done():
            self.loop.call_later(1.0, self.watchdog)


class _Conn(asyncio.Protocol):
    """One keep-alive connection of one client: send a request, read its answer, repeat."""

    __slots__ = (
        "body_at",
        "body_end",
        "buf",
        "close_after",
        "counted",
        "in_flight",
        "load",
        "retired",
        "status",
        "t0",
        "transport",
    )

    def __init__(self, load: Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.in_flight = False
        self.counted = False
        self.t0 = 0.0
        self.buf = b""
        self.body_at = -1  # where the body starts once the head has been read; -1 before
        self.body_end = -1  # where it ends; -1: at the end of the connection (no length given)
        self.status = 0
        self.close_after = False
        self.retired = False  # this chain has moved on (or stopped); ignore further events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.load.live.add(self)
        self.send()

    def send(self) -> None:
        load = self.load
        if self.retired or self.transport is None or self.transport.is_closing():
            # dropped while parked: the chain goes on with a new connection
            if not self.retired:
                self.retired = True
                load.connect()
            return
        admitted = load.admit()
        if admitted < 0:
            if admitted == -2:
                load.parked.append(self)
                return
            self.retired = True
            self.transport.close()
            load.finish()
            return
        self.counted = admitted == 1
        req = load.pool.take()
        self.in_flight = True
        self.t0 = time.perf_counter()
        self.transport.write(req)

    def data_received(self, data: bytes) -> None:
        if self.buf:
            data = self.buf + data
        if self.body_at < 0:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buf = data
                return
            if not self.in_flight:
                self.fail(f"RemoteProtocolError: answer without a request: {data[:80]!r}")
                return
            if data[:7] != b"HTTP/1." or data[12:13] not in (b" ", b"\r"):
                self.fail(f"RemoteProtocolError: not an HTTP/1 status line: {data[:80]!r}")
                return
            self.status = int(data[9:12])
            head = data[:end].lower()
            self.body_at = end + 4
            i = head.find(b"\r\ncontent-length:")
            if i >= 0:
                j = head.find(b"\r\n", i + 17)
                self.body_end = self.body_at + int(head[i + 17 : j if j >= 0 else len(head)])
            elif self.status in (204, 304):
                self.body_end = self.body_at
            elif b"\r\ntransfer-encoding:" in head:
                # the server sends Content-Length; rather than decode chunks on every answer
                # just in case, say plainly that this one could not be read
                self.fail(f"RemoteProtocolError: chunked answer (HTTP {self.status}) not read")
                return
            else:
                self.body_end = -1  # the body runs to the end of the connection
            self.close_after = b"\r\nconnection: close" in head or (
                data[7:8] == b"0" and b"\r\nconnection: keep-alive" not in head
            )
        if self.body_end < 0 or len(data) < self.body_end:
            self.buf = data
            return
        # a complete answer
        ms = (time.perf_counter() - self.t0) * 1000
        status, body = self.status, data[self.body_at : self.body_end]
        extra = len(data) > self.body_end
        self.buf = b""
        self.body_at = self.body_end = -1
        self.in_flight = False
        load = self.load
        load.record(
            self.counted, status, "" if status == 201 else body.decode("utf-8", "replace"), ms
        )
        if self.close_after or extra:
            # the answer counts as given; the next request goes on a new connection
            self.retire()
        else:
            self.send()

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost does the rest

    def connection_lost(self, exc: Exception | None) -> None:
        self.load.live.discard(self)
        if self.retired:
            return
        if self.in_flight:
            if self.body_at >= 0 and self.body_end < 0 and exc is None:
                # the body ran to the end of the connection: a complete answer, then reconnect
                ms = (time.perf_counter() - self.t0) * 1000
                body = self.buf[self.body_at :].decode("utf-8", "replace")
                self.in_flight = False
                self.load.record(self.counted, self.status, body, ms)
            else:
                text = (
                    f"{type(exc).__name__}: {exc}"
                    if exc is not None
                    else "RemoteProtocolError: Server disconnected without sending a complete "
                    "response."
                )
                self.fail(text)
                return
        if self in self.load.parked:
            return  # parked: send() notices the closed transport and reconnects
        self.retire()

    def fail(self, text: str) -> None:
        """The request in flight (if any) is an error with status 0; start a new connection."""
        if self.in_flight:
            self.in_flight = False
            self.load.record(self.counted, 0, text, (time.perf_counter() - self.t0) * 1000)
        self.retire(abort=True)

    def retire(self, abort: bool = False) -> None:
        if self.retired:
            return
        self.retired = True
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()
        self.load.connect()


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
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"--url must be http://host[:port][/prefix], not {url!r}")
    port = parts.port or 80
    path = parts.path.rstrip("/") + "/api/v1/orders"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    # enough bodies for every measured request plus a warm-up at the same pace, within the cap
    want = max_requests + int(max_requests * warmup / duration) if duration > 0 else max_requests
    pool = RequestPool(head, platform, clients, seed, want + clients)
    # the pool is long-lived: keep the collector from walking it during the run
    gc.collect()
    gc.freeze()

    loop = asyncio.get_running_loop()
    load = Load(loop, parts.hostname, port, pool, res)
    load.stop_at = time.perf_counter() + warmup
    loop.call_later(1.0, load.watchdog)
    for _ in range(clients):
        load.connect()
    await asyncio.sleep(max(0.0, load.stop_at - time.perf_counter()))
    cpu0 = time.process_time()
    load.switch()
    # every client stops issuing at stop_at and its last request ends within the timeout; a
    # client that never finishes is a bug here, which must fail the run rather than hang it
    await asyncio.wait_for(load.done, duration + TIMEOUT_S + 30.0)
    res.elapsed = time.perf_counter() - res.started
    res.client_cpu_s = time.process_time() - cpu0
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--token", default=os.environ.get("TANGKAL_BENCH_TOKEN"))
    p.add_argument("--platform", required=True)
    add_load_arguments(p, duration=30.0, warmup=5.0, max_requests=500_000)
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
