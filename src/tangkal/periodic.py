"""One base for the background services that do a short pass every few seconds.

Each pass runs in a worker thread (its own unit of work), so the event loop that serves the
API and DNS never waits on the database; a pass that fails is logged and the next one
retries, so one bad row or a database restart never stops the service; ``stop`` lets a
running pass finish (it is one short transaction) and then returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

import structlog

log = structlog.get_logger("tangkal.periodic")


class PeriodicService:
    name: ClassVar[str]

    def __init__(self, interval: float) -> None:
        self.interval = max(0.05, float(interval))
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def tick(self) -> Any:
        """One pass, synchronous; public so tests and the CLI can drive it without a loop."""
        raise NotImplementedError

    async def run_pass(self) -> Any:
        """One pass from the loop: :meth:`tick` in a worker thread, unless a service does its
        own I/O on the loop (the webhook sender)."""
        return await asyncio.to_thread(self.tick)

    def busy(self, result: Any) -> bool:
        """Whether the pass found a full batch, so the next should start at once."""
        return False

    def report(self, result: Any) -> None:
        """Log what a pass did (only when it did something)."""

    async def on_start(self) -> None:
        """Before the first pass (load state, open clients)."""

    async def on_stop(self) -> None:
        """After the last pass (save state, close clients)."""

    async def _run(self) -> None:
        while not self._stopping.is_set():
            busy = False
            try:
                result = await self.run_pass()
                self.report(result)
                busy = self.busy(result)
            except Exception as exc:  # keep serving; the next pass retries
                log.error("periodic_pass_failed", service=self.name, error=str(exc), exc_info=exc)
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval)

    async def start(self) -> None:
        self._stopping.clear()
        await self.on_start()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.on_stop()
