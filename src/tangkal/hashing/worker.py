"""Keeps the process's bank indexes warm: replays changes every half second and saves the PDQ
index file on shutdown, so the next start loads it instead of rebuilding."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from tangkal.hashing.matcher import BankIndexes, indexes_for

log = structlog.get_logger("tangkal.hashing")


class IndexSync:
    name = "hash-index"

    def __init__(self, idx: BankIndexes, interval: float = 0.5) -> None:
        self.idx = idx
        self.interval = interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self.idx.sync)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await self._task
        await asyncio.to_thread(self.idx.save)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.idx.sync)
            except Exception as exc:
                log.error("hash_index_sync_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)


def create_service(state: Any) -> IndexSync:
    return IndexSync(indexes_for(state.db, state.settings.data_dir))
