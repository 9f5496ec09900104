"""Keeps the process's bank indexes warm: replays changes every half second and saves the PDQ
index file on shutdown, so the next start loads it instead of rebuilding."""

from __future__ import annotations

import asyncio
from typing import Any

from tangkal.hashing.matcher import BankIndexes, indexes_for
from tangkal.periodic import PeriodicService


class IndexSync(PeriodicService):
    name = "hash-index"

    def __init__(self, idx: BankIndexes, interval: float = 0.5) -> None:
        super().__init__(interval)
        self.idx = idx

    def tick(self) -> None:
        self.idx.sync()

    async def on_start(self) -> None:
        await asyncio.to_thread(self.idx.sync)

    async def on_stop(self) -> None:
        await asyncio.to_thread(self.idx.save)


def create_service(state: Any) -> IndexSync:
    return IndexSync(indexes_for(state.db, state.settings.data_dir))
