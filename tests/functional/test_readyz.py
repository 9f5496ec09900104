"""``tangkal serve``'s ``/readyz`` follows the database: ready, then 503 naming the database
while PostgreSQL refuses connections (its port closed), ready again once it is back; the
RPZ primary is checked over DNS. ``/healthz`` says ok throughout (liveness)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support import LiveServer, free_port, live_server, pg_available, server_database


class Forwarder:
    """A TCP port in front of PostgreSQL that the test can close and open again: closed,
    the server's URL points at a port that refuses connections, as when the database is
    down; every connection through it is cut at the same moment."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


def _wait_for(server: LiveServer, status: int, seconds: float = 30) -> httpx.Response:
    """The first /readyz answer with ``status``: the check runs per request, so this is
    as soon as the state has changed (bounded, never a measured time)."""
    deadline = time.monotonic() + seconds
    while True:
        r = httpx.get(server.url + "/readyz", timeout=10)
        if r.status_code == status or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


@pytest.fixture
def through_forwarder() -> Iterator[tuple[LiveServer, Forwarder]]:
    if not pg_available():
        pytest.skip("needs the local PostgreSQL")
    with server_database("postgresql") as url:
        head, _, rest = url.partition("@")
        hostport, _, name = rest.partition("/")
        host, _, port = hostport.partition(":")
        forwarder = Forwarder((host, int(port or 5432)))
        forwarder.open()
        try:
            with live_server(f"{head}@127.0.0.1:{forwarder.port}/{name}") as server:
                yield server, forwarder
        finally:
            forwarder.close()


@pytest.mark.postgres
def test_readyz_is_false_while_postgresql_refuses_connections(
    through_forwarder: tuple[LiveServer, Forwarder],
) -> None:
    server, forwarder = through_forwarder
    r = _wait_for(server, 200)
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["rpz"] == {"ok": True, "status": "ok"}

    forwarder.close()  # PostgreSQL's port (as the server knows it) now refuses connections
    r = _wait_for(server, 503)
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["checks"]["database"]["reason"] == "the database refuses connections"
    assert body["reason"] == "the database refuses connections"
    assert body["checks"]["rpz"]["ok"] is True  # the zone is served from memory meanwhile
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200  # liveness

    forwarder.open()
    r = _wait_for(server, 200)
    assert r.status_code == 200, r.text
    assert "not ready" in server.log() and "ready again" in server.log()


def test_readyz_of_a_normal_server(live: LiveServer) -> None:
    r = httpx.get(live.url + "/readyz", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "checks": {"database": {"ok": True, "status": "ok"}, "rpz": {"ok": True, "status": "ok"}},
    }
