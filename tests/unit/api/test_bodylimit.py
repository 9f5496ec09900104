"""Request bodies capped by route while they are read (issue 12, finding 7)."""

from __future__ import annotations

import json
from typing import Any

import anyio

from tangkal.api.bodylimit import BodyLimit, limit_for

CHUNK = 64 * 1024


def _run(path: str, *, chunks: int, content_length: int | None = None) -> dict[str, Any]:
    """Send a POST of ``chunks`` chunks through the middleware in front of an app that reads
    its whole body; return what was answered and how much of the body was asked for."""
    seen = {"pulled": 0, "app_read": 0}
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RuntimeError("client went away")  # as a route reading a form would
            seen["app_read"] += len(message["body"])
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    async def receive() -> dict[str, Any]:
        seen["pulled"] += 1
        last = seen["pulled"] >= chunks
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": not last}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": path, "headers": headers}
    middleware = BodyLimit(app, default=4 * CHUNK, upload=16 * CHUNK)

    async def main() -> None:
        await middleware(scope, receive, send)

    anyio.run(main)
    start = sent[0]
    return {
        "status": start["status"],
        "body": b"".join(m.get("body", b"") for m in sent[1:]),
        "headers": dict(start["headers"]),
        **seen,
    }


def test_a_chunked_body_is_cut_at_the_cap_not_read_to_its_end() -> None:
    out = _run("/api/v1/banks", chunks=1600)  # 100 MB offered
    assert out["status"] == 413
    assert out["pulled"] == 5  # 4 chunks fit, the fifth passes the cap
    body = json.loads(out["body"])
    assert body["error"] == "too_large" and body["problems"][0]["field"] == "body"
    assert "262144 bytes" in body["message"] and "TANGKAL_MAX_REQUEST_BYTES" in body["message"]
    assert out["headers"][b"connection"] == b"close"


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    out = _run("/api/v1/banks", chunks=1600, content_length=100_000_000)
    assert out["status"] == 413 and out["pulled"] == 0


def test_upload_routes_take_the_larger_cap() -> None:
    assert _run("/api/v1/match", chunks=10)["status"] == 200
    out = _run("/api/v1/match", chunks=1600)
    assert out["status"] == 413 and out["pulled"] == 17
    assert "TANGKAL_MAX_UPLOAD_REQUEST_BYTES" in json.loads(out["body"])["message"]
    assert _run("/api/v1/banks", chunks=4)["status"] == 200
    assert limit_for("POST", "/api/v1/banks/tat/content", default=1, upload=2)[0] == 2
    assert limit_for("GET", "/api/v1/match", default=1, upload=2)[0] == 1
    assert limit_for("POST", "/api/v1/orders/x/ack", default=1, upload=2)[0] == 1
