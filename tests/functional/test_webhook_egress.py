"""Issue 12, finding 2: a platform's webhook must never make the server reach inside.

One real ``tangkal serve`` per backend WITHOUT the test suite's allowances (http and
127.0.0.0/8, ``support.TEST_WEBHOOK_ENV``): what a production server does. And, on the
suite's ordinary server, what a failed answer's body leaves in the delivery log and for whom.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support import LiveServer, backends, free_port, live_server, server_database, unique

TERROR = {
    "category": "terrorism",
    "legal_basis": "UU 5/2018 Pasal 13A",
    "reason": "Public channel posting bomb-making instructions.",
}
STRICT = {"TANGKAL_WEBHOOK_ALLOW_HTTP": "false", "TANGKAL_WEBHOOK_ALLOW_NETWORKS": ""}


@pytest.fixture(scope="module", params=backends())
def strict(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """Its own database: a server sharing the suite's would lease the other's messages."""
    with server_database(str(request.param)) as url, live_server(url, STRICT) as server:
        yield server


def _parties(live: LiveServer) -> tuple[str, str, str, str]:
    reg, plat = unique("kominfo"), unique("telegram")
    assert live.cli("org", "create", "--kind", "regulator", "--name", reg).returncode == 0
    assert live.cli("org", "create", "--kind", "platform", "--name", plat).returncode == 0
    return (
        plat,
        live.token(reg, "analyst"),
        live.token(plat, "admin"),
        live.token(plat, "moderator"),
    )


def _file(live: LiveServer, analyst: str, platform: str) -> str:
    with live.client(analyst) as c:
        r = c.post(
            "/api/v1/orders", json={"platform": platform, "locators": ["t.me/x_kanal/1"], **TERROR}
        )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


FINDING = [
    "http://127.0.0.1:5432/",
    "https://127.0.0.1:5432/",
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/latest/meta-data/",
    "http://[::1]:22/",
    "https://[::1]:22/",
    "http://0x7f000001/",
    "https://0x7f000001/",
    "https://[::ffff:127.0.0.1]/",
    "https://platform:secret@hooks.example.com/",
    "https://hooks.example.com/h\r\nX-Injected: 1",
]


def test_the_findings_addresses_are_refused_at_registration(strict: LiveServer) -> None:
    _, _, admin, _ = _parties(strict)
    with strict.client(admin) as c:
        for url in FINDING:
            r = c.put("/api/v1/orgs/me/delivery", json={"webhook_url": url})
            assert r.status_code == 422, (url, r.text)
            assert r.json()["field"] == "webhook_url", url
            assert r.json()["message"], url
        org = c.get("/api/v1/orgs").json()["orgs"][0]
    assert org["delivery_channel"] == "inbox" and org["webhook_url"] is None


class _Listener:
    """A bare TCP listener on loopback that counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


def _attempts(live: LiveServer, token: str, order_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with live.client(token) as c:
            rows = c.get(f"/api/v1/orders/{order_id}/deliveries").json()["deliveries"]
        if any(r["attempt_at"] for r in rows):
            return list(rows)
        time.sleep(0.2)
    raise AssertionError("no delivery attempt was recorded")


def test_a_name_resolving_inside_is_refused_when_connecting(strict: LiveServer) -> None:
    """``localhost`` is a name, so registration takes it; the delivery resolves it to
    127.0.0.1 and refuses to connect (what DNS rebinding would do to a checked name), records
    why, and hands the order to the pull inbox instead of retrying."""
    listener = _Listener()
    platform, analyst, admin, moderator = _parties(strict)
    with strict.client(admin) as c:
        r = c.put(
            "/api/v1/orgs/me/delivery", json={"webhook_url": f"https://localhost:{listener.port}/h"}
        )
    assert r.status_code == 200, r.text
    order_id = _file(strict, analyst, platform)
    rows = _attempts(strict, moderator, order_id)
    assert [r["status"] for r in rows] == ["inbox"]  # one attempt, not retried
    assert rows[0]["status_code"] is None
    assert "refused" in rows[0]["error"] and "loopback" in rows[0]["error"]
    assert listener.accepted == 0  # checked before connecting, not after
    with strict.client(moderator) as c:
        inbox = c.get("/api/v1/inbox").json()
    assert order_id in str(inbox)
    listener.sock.close()


class _Answering:
    """A loopback receiver that fails every delivery with a long, hostile body."""

    BODY = b"SECRET-" + b"x" * 20 + b"\r\n\x1b[2J\x00Set-Cookie: a=b " + b"y" * 400

    def __init__(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/hook"
        body = self.BODY

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(500)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_failed_answer_is_a_short_summary_for_its_platform_only(live: LiveServer) -> None:
    receiver = _Answering()
    platform, analyst, admin, moderator = _parties(live)
    with live.client(admin) as c:
        assert (
            c.put("/api/v1/orgs/me/delivery", json={"webhook_url": receiver.url}).status_code == 200
        )
    order_id = _file(live, analyst, platform)
    own = _attempts(live, moderator, order_id)[0]
    assert own["status_code"] == 500, own
    assert own["error"].startswith("HTTP 500 Internal Server Error: SECRET-")
    assert len(own["error"]) <= len("HTTP 500 Internal Server Error: ") + 100
    assert not any(ch in own["error"] for ch in "\r\n\x1b\x00")
    regulator = _attempts(live, analyst, order_id)[0]
    assert regulator["status_code"] == 500
    assert regulator["error"] == "HTTP 500 Internal Server Error"  # not the platform's body
    receiver.server.shutdown()
    receiver.server.server_close()
