"""Crashes under load lose no acknowledged order (issue 12).

1. ``tangkal serve`` killed with SIGKILL while clients file orders, then started again, on
   SQLite and on PostgreSQL: every order that was answered 2xx is stored afterwards, and the
   audit chain verifies.
2. PostgreSQL itself crashes (``pg_ctl stop -m immediate`` on a private cluster, never the
   machine's shared one) and comes back while clients file orders: ``/readyz`` says 503
   meanwhile and 200 after, the intake answers 503 (never 500) while the database is away and
   files orders again by itself afterwards, no acknowledged order is lost, the audit chain
   verifies, and the webhook sender (a background service) delivers every acknowledged
   order, those filed after the restart included: it survived the outage.

Nothing waits on the wall clock for a result: each wait polls for an event in a bounded loop
and fails with what it saw.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.functional.private_pg import Cluster, private_cluster
from tests.support import LiveServer, free_port, live_server, server_database, unique

ORDER = {
    "category": "terrorism",
    "legal_basis": "UU 5/2018 Pasal 13A",
    "reason": "Public channel posting bomb-making instructions.",
}
CLIENTS = 6  # threads filing at once: enough that batches form and requests are in flight
PER_CLIENT = 400  # the bound of each client's loop
EXTRA = {"TANGKAL_SOP_PROFILE": "indonesia"}


@dataclass
class Parties:
    platform: str
    analyst: str
    official: str
    admin: str


def _parties(server: LiveServer) -> Parties:
    reg, plat = unique("kominfo"), unique("platform")
    for kind, name in (("regulator", reg), ("platform", plat)):
        r = server.cli("org", "create", "--kind", kind, "--name", name)
        assert r.returncode == 0, r.stderr
    return Parties(
        plat,
        server.token(reg, "analyst"),
        server.token(reg, "official"),
        server.token(plat, "admin"),
    )


@dataclass
class Filer:
    """Clients filing orders as fast as they are answered, each with its own
    ``Idempotency-Key``; records every answer. ``stop_on_error``: a client ends at its first
    transport error (the server is gone); otherwise it keeps trying until told to stop."""

    url: str
    token: str
    platform: str
    stop_on_error: bool
    acked: dict[str, str] = field(default_factory=dict)  # order id -> idempotency key
    statuses: list[int] = field(default_factory=list)  # every HTTP answer's status, in order
    transport_errors: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def start(self) -> None:
        for n in range(CLIENTS):
            t = threading.Thread(target=self._client, args=(n,), daemon=True)
            t.start()
            self.threads.append(t)

    def _client(self, n: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as c:
            for _ in range(PER_CLIENT):
                if self.stop.is_set():
                    return
                i = next(self._seq)
                key = f"crash-{n}-{i}"
                body = {"platform": self.platform, "locators": [f"t.me/kanal_{n}/{i}"], **ORDER}
                try:
                    r = c.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key})
                except httpx.TransportError:
                    with self.lock:
                        self.transport_errors += 1
                    if self.stop_on_error:
                        return
                    self.stop.wait(0.05)
                    continue
                with self.lock:
                    self.statuses.append(r.status_code)
                    if 200 <= r.status_code < 300:
                        self.acked[r.json()["id"]] = key
                if r.status_code >= 300:
                    self.stop.wait(0.05)  # the database is away: do not spin

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads)


def _until(what: str, check: Callable[[], bool], seconds: float = 60) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _stored(server: LiveServer, p: Parties) -> set[str]:
    """Every order of the platform, as the API lists it (paged)."""
    ids: set[str] = set()
    with server.client(p.analyst) as c:
        for offset in range(0, 100_000, 1000):
            r = c.get(
                "/api/v1/orders", params={"platform": p.platform, "limit": 1000, "offset": offset}
            )
            assert r.status_code == 200, r.text
            page = r.json()["orders"]
            ids.update(o["id"] for o in page)
            if len(page) < 1000:
                return ids
    raise AssertionError("more orders than the test files")


def _verify_audit(server: LiveServer) -> None:
    r = server.cli("audit", "verify")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_under_load_loses_no_acknowledged_order(backend: str) -> None:
    with server_database(backend) as url:
        with live_server(url, EXTRA) as first:
            p = _parties(first)
            filer = Filer(first.url, p.analyst, p.platform, stop_on_error=True)
            filer.start()
            _until("60 acknowledged orders", lambda: filer.count() >= 60)
            os.kill(first.process.pid, signal.SIGKILL)  # while the clients keep filing
            assert first.process.wait(30) == -signal.SIGKILL
            filer.finish()
        acked = dict(filer.acked)
        # Every client ended on the kill: its request in flight or its next one failed.
        assert filer.transport_errors == CLIENTS
        assert set(filer.statuses) == {201}
        with live_server(url, EXTRA) as second:
            stored = _stored(second, p)
            missing = set(acked) - stored
            assert not missing, f"{len(missing)} of {len(acked)} acknowledged orders lost"
            _verify_audit(second)
            # A client that retries with its key gets the stored order, not a second one.
            key = next(iter(acked.values()))
            n, i = key.split("-")[1:]
            with second.client(p.analyst) as c:
                again = c.post(
                    "/api/v1/orders",
                    json={"platform": p.platform, "locators": [f"t.me/kanal_{n}/{i}"], **ORDER},
                    headers={"Idempotency-Key": key},
                )
            assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
            assert acked[again.json()["id"]] == key
    print(f"\n{backend}: {len(acked)} acknowledged before SIGKILL, {len(stored)} stored, 0 lost")


class Receiver:
    """A platform's webhook endpoint: records the order of every delivery it is sent."""

    def __init__(self) -> None:
        self.orders: set[str] = set()
        self.lock = threading.Lock()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/hook"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with receiver.lock:
                    receiver.orders.add(body["data"]["id"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> set[str]:
        with self.lock:
            return set(self.orders)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with private_cluster() as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _readyz(server: LiveServer, status: int) -> httpx.Response:
    """The first ``/readyz`` answer with ``status`` (bounded)."""
    answers: list[httpx.Response] = []

    def seen() -> bool:
        answers.append(httpx.get(server.url + "/readyz", timeout=10))
        return answers[-1].status_code == status

    _until(f"/readyz {status}", seen)
    return answers[-1]


def test_postgresql_crash_under_load_recovers_and_loses_nothing(
    cluster: Cluster, receiver: Receiver
) -> None:
    with live_server(cluster.url, EXTRA) as server:
        p = _parties(server)
        with server.client(p.admin) as c:
            r = c.put("/api/v1/orgs/me/delivery", json={"webhook_url": receiver.url})
        assert r.status_code == 200, r.text
        assert _readyz(server, 200).status_code == 200
        filer = Filer(server.url, p.analyst, p.platform, stop_on_error=False)
        filer.start()
        _until("40 acknowledged orders", lambda: filer.count() >= 40)

        cluster.stop_immediately()  # every PostgreSQL process ends at once
        down = _readyz(server, 503).json()
        assert down["checks"]["database"]["ok"] is False, down
        assert down["checks"]["rpz"]["ok"] is True, down  # the zone is served from memory
        with filer.lock:
            seen = len(filer.statuses)
        _until("answers while PostgreSQL is down", lambda: len(filer.statuses) >= seen + 5)

        cluster.start()
        assert _readyz(server, 200).status_code == 200
        after = filer.count()
        _until("40 orders acknowledged after the restart", lambda: filer.count() >= after + 40)
        filer.finish()

        acked = dict(filer.acked)
        refused = [s for s in filer.statuses if s >= 300]
        assert refused, "no request was answered while PostgreSQL was down"
        assert set(refused) == {503}, f"answers while down: {sorted(set(refused))}"
        stored = _stored(server, p)
        missing = set(acked) - stored
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged orders lost"
        _verify_audit(server)
        # The webhook sender kept running through the outage and delivers every order.
        _until("every acknowledged order delivered", lambda: receiver.delivered() >= set(acked))
    print(
        f"\npostgresql restart: {len(acked)} acknowledged ({len(acked) - after} after it),"
        f" {len(refused)} answered 503 while down, {filer.transport_errors} transport errors,"
        f" {len(stored)} stored, 0 lost, all delivered"
    )
