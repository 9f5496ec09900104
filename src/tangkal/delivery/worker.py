"""The background sender: leases due outbox messages and POSTs them, signed.

The HTTP call happens outside any database transaction; the outcome is written in a fresh
unit of work. A crash between the two means the message is sent again after its lease runs
out, which is why every delivery carries a stable ``Tangkal-Delivery`` id for the receiver.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import structlog

from tangkal.db.session import Database
from tangkal.delivery.services import Leased, lease_due, record_attempt
from tangkal.delivery.signing import DELIVERY_HEADER, EVENT_HEADER, signature_headers
from tangkal.periodic import PeriodicService

log = structlog.get_logger("tangkal.delivery")


class DeliveryWorker(PeriodicService):
    name = "delivery"

    def __init__(self, db: Database, interval: float, timeout: float) -> None:
        super().__init__(interval)
        self.db = db
        self.timeout = timeout

    async def on_start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)

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
        try:
            resp = await self._client.post(msg.url, content=body, headers=headers)
            status = resp.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}: {resp.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        ms = (time.perf_counter() - start) * 1000

        def _record() -> None:
            with self.db.unit_of_work() as s:
                record_attempt(s, msg.id, msg.url, status, error, ms)

        await asyncio.to_thread(_record)


def create_service(state: Any) -> DeliveryWorker:
    return DeliveryWorker(
        state.db, state.settings.scheduler_interval, state.settings.delivery_timeout
    )
