"""The clock-watcher: deemed receipts, overdue orders and warning letters, every tick."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from tangkal.db.session import Database
from tangkal.orders.services import tick

log = structlog.get_logger("tangkal.scheduler")


class OrderScheduler:
    name = "order-scheduler"

    def __init__(self, db: Database, interval: float) -> None:
        self.db = db
        self.interval = interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await self._task

    def run_once(self) -> dict[str, int]:
        with self.db.unit_of_work() as s:
            return tick(s)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                counts = await asyncio.to_thread(self.run_once)
                if any(counts.values()):
                    log.info("scheduler_tick", **counts)
            except Exception as exc:
                log.error("scheduler_tick_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)


def create_service(state: Any) -> OrderScheduler:
    return OrderScheduler(state.db, state.settings.scheduler_interval)
