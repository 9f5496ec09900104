"""Request bodies capped by route, while they are read.

Without a cap a client could make the server read (and hold) any amount of data before a
route even looks at it: 100 MB were read in full to be answered 422. This ASGI middleware sits
in front of every route: a ``Content-Length`` over the route's cap is answered 413 at once,
without reading a byte of the body; a body sent without one (chunked) is counted as it
arrives and answered 413 as soon as it passes the cap. The route then sees the client go away
(``http.disconnect``), so it stops reading and whatever it would have answered is dropped.

Two caps: ``max_request_bytes`` for every route, ``max_upload_request_bytes`` for the few that
take files (:data:`UPLOAD_ROUTES`). The routes' own limits (``max_upload_bytes``,
``max_evidence_bytes``, the per-order evidence total) still apply inside; this one bounds what
is read before they can.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tangkal.errors import TooLarge

UPLOAD_ROUTES = tuple(
    re.compile(p)
    for p in (
        r"/api/v1/orders",  # filing, evidence in base64
        r"/api/v1/orders/[^/]+/evidence",
        r"/api/v1/match",
        r"/api/v1/banks/[^/]+/(content|import)",
        r"/console/orders/new",
        r"/console/banks/[^/]+/(upload|import)",
        r"/console/match",
        r"/m/lookup",  # the HMA-compatible API (hashing/hma.py)
        r"/c/bank/[^/]+/content",
        r"/h/hash",
    )
)
"""Paths (whole, POST) whose bodies carry files, and so take the larger cap."""


def limit_for(method: str, path: str, *, default: int, upload: int) -> tuple[int, str]:
    """The cap of a request's body and the setting that sets it."""
    if method == "POST" and any(p.fullmatch(path) for p in UPLOAD_ROUTES):
        return upload, "TANGKAL_MAX_UPLOAD_REQUEST_BYTES"
    return default, "TANGKAL_MAX_REQUEST_BYTES"


def refusal(limit: int, setting: str) -> bytes:
    """The 413 body, in the shape of every error (:mod:`tangkal.api.errors`)."""
    message = (
        f"The request body is larger than this endpoint's limit of {limit} bytes ({setting}); "
        "send a smaller body, or fewer or smaller files."
    )
    body: dict[str, Any] = TooLarge(message, field="body").to_dict()
    body["problems"] = [{"field": "body", "message": message}]
    return json.dumps(body).encode()


class BodyLimit:
    """The ASGI middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, default: int, upload: int) -> None:
        self.app = app
        self.default = default
        self.upload = upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = limit_for(
            scope["method"], scope["path"], default=self.default, upload=self.upload
        )
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer_413(send, limit, setting)
            return
        state = {"read": 0, "started": False, "refused": False}

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return  # the 413 is the answer; the route's own is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        async def counted_receive() -> Message:
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    if not state["started"]:
                        await _answer_413(send, limit, setting)
                    state["refused"] = True
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise
            # the route failed on the body cut short; the client already has its 413


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer_413(send: Send, limit: int, setting: str) -> None:
    body = refusal(limit, setting)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
