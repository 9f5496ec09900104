"""Uploads and request sizes over real HTTP (issue 12, findings 1 and 7), on the suite's
server with the default caps: 2 MiB for ordinary routes, 64 MiB for uploads, 20 evidence
files and 40 MiB of them per order (the byte total is checked in tests/unit/orders)."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from tests.support import LiveServer, unique

ORDER = {
    "category": "terrorism",
    "legal_basis": "UU 5/2018 Pasal 13A",
    "reason": "Public channel posting bomb-making instructions.",
}


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """The issue's decompression bomb: a grey PNG of 7999x7999, under 100 KB."""
    buf = io.BytesIO()
    Image.new("L", (7999, 7999), 128).save(buf, "PNG")
    return buf.getvalue()


def _org(live: LiveServer, kind: str, role: str) -> tuple[str, str]:
    name = unique(kind[:4])
    assert live.cli("org", "create", "--kind", kind, "--name", name).returncode == 0
    return name, live.token(name, role)


def test_bombs_at_once_are_refused_from_their_header_while_healthz_answers(
    live: LiveServer, bomb: bytes
) -> None:
    """Four bombs in flight together: each is refused 413 naming the limit (the old code
    decoded each, 1.65 GB and 15 s apiece, with the whole API stalled), and /healthz answers
    all the while."""
    assert len(bomb) < 100_000
    _, analyst = _org(live, "regulator", "analyst")
    bank = unique("bombs")
    with live.client(analyst) as c:
        assert c.post("/api/v1/banks", json={"name": bank}).status_code == 201
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def upload(i: int) -> None:
        with live.client(analyst) as c:
            path = "/api/v1/match" if i % 2 else f"/api/v1/banks/{bank}/content"
            r = c.post(path, files={"file": (f"bomb{i}.png", bomb, "image/png")})
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    health: list[int] = []
    with httpx.Client(base_url=live.url, timeout=30) as c:
        for _ in range(200):  # bounded: while the uploads are in flight, and once more
            health.append(c.get("/healthz").status_code)
            if not any(t.is_alive() for t in threads):
                break
    for t in threads:
        t.join(60)
    assert health and set(health) == {200}
    assert len(answers) == 4
    for r in answers:
        assert r.status_code == 413, r.text
        body = r.json()
        assert body["error"] == "too_large" and body["field"] == "file"
        assert "7999x7999" in body["message"] and "25000000" in body["message"]
        assert "TANGKAL_HASH_MAX_IMAGE_PIXELS" in body["message"]
    with live.client(analyst) as c:
        assert c.get(f"/api/v1/banks/{bank}/content").json()["content"] == []


def test_an_ordinary_image_is_still_hashed_and_matched(live: LiveServer) -> None:
    _, analyst = _org(live, "regulator", "analyst")
    bank = unique("ok")
    rng = __import__("numpy").random.default_rng(7)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype="uint8")).save(buf, "PNG")
    with live.client(analyst) as c:
        assert c.post("/api/v1/banks", json={"name": bank}).status_code == 201
        added = c.post(f"/api/v1/banks/{bank}/content", files={"file": ("n.png", buf.getvalue())})
        assert added.status_code == 201, added.text
        assert {a["signal_type"] for a in added.json()["added"]} == {"pdq", "md5", "sha256"}
        r = c.post("/api/v1/match", files={"file": ("n.png", buf.getvalue())})
    assert r.status_code == 200 and any(m["bank"] == bank for m in r.json()["matches"])


def _raw(url: str, head: bytes) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30)
    sock.sendall(head)
    return sock


def _response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    data = b""
    for _ in range(1000):  # bounded: until the whole JSON body has arrived
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            if len(rest) >= length:
                return int(head.split(b" ", 2)[1]), json.loads(rest[:length])
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    raise AssertionError(f"no whole answer: {data[:300]!r}")


def test_a_declared_body_over_the_cap_is_refused_before_it_is_sent(live: LiveServer) -> None:
    """100 MB announced, not a byte of it sent: the answer comes at once (the old code waited
    to read it all, then answered 422)."""
    _, analyst = _org(live, "regulator", "analyst")
    head = (
        "POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {analyst}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000000\r\n\r\n"
    ).encode()
    with _raw(live.url, head) as sock:
        status, body = _response(sock)
    assert status == 413
    assert body["error"] == "too_large" and body["problems"][0]["field"] == "body"
    assert f"{64 * 1024 * 1024} bytes" in body["message"]
    assert "TANGKAL_MAX_UPLOAD_REQUEST_BYTES" in body["message"]


def test_a_chunked_body_is_cut_at_the_cap_while_it_is_read(live: LiveServer) -> None:
    """No Content-Length: the body is counted as it arrives; the server answers 413 once it
    passes 2 MiB and the client never gets to send the rest of its 100 MB."""
    _, analyst = _org(live, "regulator", "analyst")
    head = (
        "POST /api/v1/banks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {analyst}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"%x\r\n%s\r\n" % (16384, b" " * 16384)
    sent = 0
    with _raw(live.url, head) as sock:
        try:
            for _ in range(6400):  # bounded: 100 MB at most
                sock.sendall(chunk)
                sent += 16384
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: the rest is never read
        else:
            raise AssertionError("the server read 100 MB of a body capped at 2 MiB")
        status, body = _response(sock)
    assert status == 413 and f"{2 * 1024 * 1024} bytes" in body["message"]
    assert "TANGKAL_MAX_REQUEST_BYTES" in body["message"]
    assert sent < 10 * 1024 * 1024


def _evidence(name: str, size: int) -> dict[str, str]:
    return {"filename": name, "content_base64": base64.b64encode(b"e" * size).decode()}


def test_evidence_over_the_per_order_count_is_refused(live: LiveServer) -> None:
    platform, _ = _org(live, "platform", "moderator")
    _, analyst = _org(live, "regulator", "analyst")
    base = {"platform": platform, "locators": [f"t.me/{unique('kanal').replace('-', '_')}"]}
    with live.client(analyst) as c:
        many = c.post(
            "/api/v1/orders",
            json={**base, **ORDER, "evidence": [_evidence(f"{i}.txt", 10) for i in range(21)]},
        )
        full = [_evidence(f"{i}.txt", 10) for i in range(20)]
        ok = c.post("/api/v1/orders", json={**base, **ORDER, "evidence": full})
        assert ok.status_code == 201, ok.text
        more = c.post(f"/api/v1/orders/{ok.json()['id']}/evidence", files={"file": ("x.txt", b"e")})
    # at filing the order's schema refuses a 21st file first (orders/schemas.py, 422)
    assert many.status_code == 422 and "20" in many.json()["message"], many.text
    assert more.status_code == 413 and "would have 21" in more.json()["message"]
    assert "at most 20 evidence files" in more.json()["message"]
    assert "TANGKAL_MAX_ORDER_EVIDENCE_FILES" in more.json()["message"]
