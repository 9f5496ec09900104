"""The background sender: leases due outbox messages and POSTs them, signed.

The HTTP call happens outside any database transaction; the outcome is written in a fresh
unit of work. A crash between the two means the message is sent again after its lease runs
out, which is why every delivery carries a stable ``Tangkal-Delivery`` id for the receiver.
"""

from __future__ import annotations

import asyncio
import json
import time
from http import HTTPStatus
from typing import Any

import httpx
import structlog
from prometheus_client import Counter, Histogram

from tangkal.db.session import Database
from tangkal.delivery.egress import GuardedTransport
from tangkal.delivery.services import Leased, lease_due, record_attempt
from tangkal.delivery.signing import DELIVERY_HEADER, EVENT_HEADER, signature_headers
from tangkal.delivery.webhook_url import allowed_networks, parse_webhook_url
from tangkal.errors import InvalidInput, WebhookRefused
from tangkal.periodic import PeriodicService
from tangkal.settings import Settings

log = structlog.get_logger("tangkal.delivery")

# Counted where the attempt is made, so under --workers N the sum over workers is the truth
# (multiprocess mode sums counters); the outbox's backlog by state is read from the database
# at scrape time instead (tangkal.api.dbmetrics).
ATTEMPTS = Counter(
    "tangkal_delivery_attempts_total",
    "Webhook deliveries tried, by outcome: delivered (2xx), failed (any other answer or no "
    "answer; retried), refused (destination not allowed; left for the pull inbox)",
    ["outcome"],
)
for _outcome in ("delivered", "failed", "refused"):
    ATTEMPTS.labels(_outcome)  # each a series from the start, at 0, not only once it happens
ATTEMPT_SECONDS = Histogram(
    "tangkal_delivery_attempt_seconds",
    "Time from connecting to a platform's webhook to its answer",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

#: What is kept of a platform's answer to a failed delivery: enough for its people to see
#: what their endpoint said, too little to make the worker a way to read other servers.
SUMMARY_CHARS = 100
_READ_BYTES = 512  # of the body, at most; the rest is never read


def summarise_failure(status: int, body: bytes) -> str:
    """``HTTP 502 Bad Gateway: <at most 100 printable characters of the body>``.

    The reason phrase is the standard one for the code, not the server's own (which it
    chooses); the body is decoded leniently, every control or other unprintable character
    becomes a space and runs of spaces one."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    text = body.decode("utf-8", errors="replace")
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    snippet = " ".join(printable.split())
    if len(snippet) > SUMMARY_CHARS:
        snippet = snippet[: SUMMARY_CHARS - 1] + "…"
    head = f"HTTP {status} {phrase}".rstrip()
    return f"{head}: {snippet}" if snippet else head


def _printable(text: str, limit: int = 300) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:limit]


class DeliveryWorker(PeriodicService):
    name = "delivery"

    def __init__(
        self, db: Database, interval: float, timeout: float, settings: Settings | None = None
    ) -> None:
        super().__init__(interval)
        self.db = db
        self.timeout = timeout
        self.allow_http = settings.webhook_allow_http if settings else False
        self.allow = allowed_networks(settings) if settings else ()

    async def on_start(self) -> None:
        # Redirects are not followed (a 3xx is a failed attempt): a redirect is a second
        # destination that was never registered. The transport checks each address it
        # connects to (tangkal.delivery.egress).
        self._client = httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            transport=GuardedTransport(self.allow),
        )

    async def on_stop(self) -> None:
        await self._client.aclose()

    async def run_pass(self) -> int:
        return await self.run_once()

    def busy(self, result: int) -> bool:
        return result > 0  # more may be waiting: lease again at once

    async def run_once(self) -> int:
        def _lease() -> list[Leased]:
            with self.db.unit_of_work() as s:
                return lease_due(s)

        batch = await asyncio.to_thread(_lease)
        if batch:
            await asyncio.gather(*(self._send(m) for m in batch))
        return len(batch)

    async def _send(self, msg: Leased) -> None:
        body = json.dumps({"id": msg.id, **msg.payload}, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            **signature_headers(msg.scheme, msg.secret, msg.id, body),
            DELIVERY_HEADER: msg.id,
            EVENT_HEADER: msg.event,
            "User-Agent": "tangkal-delivery/1",
        }
        start = time.perf_counter()
        status: int | None = None
        error: str | None = None
        refused = False
        try:
            url = parse_webhook_url(
                msg.url, allow_http=self.allow_http, allow_networks=self.allow
            ).url
            async with self._client.stream("POST", url, content=body, headers=headers) as resp:
                status = resp.status_code
                if not 200 <= status < 300:
                    head = b""
                    async for chunk in resp.aiter_raw():
                        head += chunk
                        if len(head) >= _READ_BYTES:
                            break
                    error = summarise_failure(status, head[:_READ_BYTES])
        except (InvalidInput, WebhookRefused) as exc:
            refused = True
            error = _printable(
                exc.message if isinstance(exc, WebhookRefused) else f"refused: {exc.message}"
            )
        except httpx.HTTPError as exc:
            error = _printable(f"{type(exc).__name__}: {exc}")
        ms = (time.perf_counter() - start) * 1000
        ok = status is not None and 200 <= status < 300
        ATTEMPTS.labels("refused" if refused else "delivered" if ok else "failed").inc()
        if not refused:
            ATTEMPT_SECONDS.observe(ms / 1000)
        if refused:
            log.warning("delivery.refused", message_id=msg.id, reason=error)

        def _record() -> None:
            with self.db.unit_of_work() as s:
                record_attempt(s, msg.id, msg.url, status, error, ms, refused=refused)

        await asyncio.to_thread(_record)


def create_service(state: Any) -> DeliveryWorker:
    return DeliveryWorker(
        state.db,
        state.settings.scheduler_interval,
        state.settings.delivery_timeout,
        state.settings,
    )
