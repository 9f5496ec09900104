"""``tangkal_http_requests_total{method, route, status}``: HTTP requests by route and status.

A plain ASGI middleware, not Starlette's ``BaseHTTPMiddleware`` (which runs every request
through an extra task and memory stream): order intake is the busiest path and pays one
dictionary look-up and one counter increment here. The ``route`` label is the matched
route's template (``/api/v1/orders/{order_id}``), never the raw path, so the number of
series stays bounded by the number of routes; a request that matched none is ``unmatched``.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "tangkal_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "unmatched"


class HttpMetrics:
    """Counts each HTTP request once, when its response starts (or as a 500 when the app
    raised before it did)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            REQUESTS.labels(scope["method"], _route(scope), str(status or 500)).inc()
