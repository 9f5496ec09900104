"""The background services' one loop: a failing pass never stops it, a busy one goes again."""

from __future__ import annotations

import asyncio
from typing import Any

from tangkal.periodic import PeriodicService


class Counting(PeriodicService):
    name = "counting"

    def __init__(
        self, fail_on: set[int], busy_until: int, done: asyncio.Event, stop_after: int
    ) -> None:
        super().__init__(interval=3600)  # only busy passes and failures can make progress
        self.calls = 0
        self.events: list[str] = []
        self.fail_on, self.busy_until = fail_on, busy_until
        self.done, self.stop_after = done, stop_after

    def tick(self) -> int:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError("database restarting")
        return self.calls

    def report(self, result: Any) -> None:  # on the loop (tick runs in a worker thread)
        if self.calls >= self.stop_after:
            self.done.set()

    def busy(self, result: Any) -> bool:
        return bool(result < self.busy_until)

    async def on_start(self) -> None:
        self.events.append("start")

    async def on_stop(self) -> None:
        self.events.append("stop")


def test_busy_passes_run_back_to_back_and_stop_waits_for_the_last() -> None:
    async def scenario() -> Counting:
        done = asyncio.Event()
        svc = Counting(fail_on=set(), busy_until=5, done=done, stop_after=5)
        await svc.start()
        await asyncio.wait_for(done.wait(), 30)
        await svc.stop()
        return svc

    svc = asyncio.run(scenario())
    assert svc.calls == 5 and svc.events == ["start", "stop"]


def test_a_failing_pass_is_logged_and_the_loop_goes_on() -> None:
    async def scenario() -> Counting:
        done = asyncio.Event()
        svc = Counting(fail_on={2}, busy_until=10, done=done, stop_after=4)
        svc.interval = 0.05  # the failed pass waits one interval, then the loop goes on
        await svc.start()
        await asyncio.wait_for(done.wait(), 30)
        await svc.stop()
        return svc

    assert asyncio.run(scenario()).calls >= 4
