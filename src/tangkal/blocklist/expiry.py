"""Background service: blocks take effect and expire on time, even with nobody watching.

Each tick runs :func:`tangkal.blocklist.services.run_due` in its own unit of work, in a
worker thread so the event loop (API, DNS) never waits on the database. Any number of
processes may run it at once (rows are claimed with SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from tangkal.blocklist.services import DueResult, run_due
from tangkal.db.session import Database

log = structlog.get_logger("tangkal.blocklist")


class BlockExpiryService:
    name = "blocklist-expiry"

    def __init__(self, db: Database, interval: float = 1.0) -> None:
        self.db = db
        self.interval = max(0.05, interval)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def tick(self) -> DueResult:
        """One pass; public so tests and the CLI can drive it without the loop."""
        with self.db.unit_of_work() as session:
            result = run_due(session)
        if result.activated or result.expired:
            log.info("blocks_due", activated=len(result.activated),
                     expired=len(result.expired), serial=result.serial)
        return result

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(self.tick)
            except Exception as exc:  # keep serving; the next tick retries
                log.error("blocks_due_failed", error=str(exc), exc_info=exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval)

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Let a running tick finish (it is one short transaction), then return."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None


def create_service(app_state: Any) -> BlockExpiryService:
    interval = float(getattr(app_state.settings, "scheduler_interval", 1.0) or 1.0)
    return BlockExpiryService(app_state.db, interval)
