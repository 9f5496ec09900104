"""Uploads hashed off the event loop, a few at a time, within a memory budget.

Decoding and hashing an image is seconds of CPU and, for a decompression bomb, gigabytes: done
on the event loop, one upload stalled every other request of the process (a 62 KB PNG of
7999x7999 held the API for 15 s, four of them for 46 s). Here each upload:

1. is estimated before any decoding, by every signal type that applies to it
   (:meth:`~tangkal.hashing.signals.SignalType.working_bytes`: an image's header gives width x
   height x bands; a video's stream header, read by ffprobe, gives its frame size and the
   pictures its decoder keeps); a type refuses what it will never decode (413, over
   ``TANGKAL_HASH_MAX_IMAGE_PIXELS`` or ``TANGKAL_HASH_MAX_VIDEO_PIXELS``), and an upload
   whose estimate alone exceeds the budget is refused too (413): it could never be admitted,
   so waiting would not help; the estimate runs in a thread (ffprobe takes a while);
2. waits for room in the process's budget (``TANGKAL_HASH_MEMORY_BUDGET``) for at most
   ``TANGKAL_HASH_QUEUE_WAIT`` seconds, then is answered 503 with ``Retry-After``: the request
   is fine and the same one succeeds once the others are done, which a 413 would deny;
3. is hashed in a worker thread, at most ``TANGKAL_HASH_WORKERS`` at once (their own limiter,
   not the thread pool the synchronous routes and ``/healthz`` run in).

One budget per application (``app.state``), since its primitives belong to the app's loop.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from tangkal.errors import Busy, Msg, TooLarge
from tangkal.hashing import signals

T = TypeVar("T")


def estimate(content: bytes, *, text: bool = False, files: bool = True) -> int:
    """Peak bytes of hashing an upload: the largest of its types' estimates (they run one after
    another). Raises TooLarge when a type refuses the content before decoding."""
    media: list[signals.Media] = []
    if files:
        media += ["image", "video", "file"]
    if text:
        media.append("text")
    return max((st.working_bytes(content) for st in signals.REGISTRY.for_media(*media)), default=0)


class HashBudget:
    """Admission of uploads to hashing (see the module docstring)."""

    def __init__(self, *, workers: int, budget_bytes: int, wait: float) -> None:
        self.budget_bytes = budget_bytes
        self.wait = wait
        self.in_use = 0
        self._limiter = anyio.CapacityLimiter(workers)
        self.probes = anyio.CapacityLimiter(workers)
        """Estimates (header reads, ffprobe) running at once: their own limiter, so that a
        probe does not wait behind a long hashing and the pool of estimates stays small."""
        self._released: anyio.Event | None = None

    async def run(self, need: int, fn: Callable[[], T]) -> T:
        """``fn()`` in a worker thread once ``need`` bytes of the budget are free."""
        if need > self.budget_bytes:
            raise TooLarge(
                Msg(
                    "Hashing this upload would take about %(need)s bytes of memory, more than "
                    "the %(budget)s bytes the server sets aside for uploads "
                    "(TANGKAL_HASH_MEMORY_BUDGET); send a smaller file.",
                    need=need,
                    budget=self.budget_bytes,
                ),
                field="file",
            )
        try:
            with anyio.fail_after(self.wait):
                while self.in_use + need > self.budget_bytes:
                    if self._released is None:
                        self._released = anyio.Event()
                    await self._released.wait()
        except TimeoutError:
            retry = max(1, math.ceil(self.wait / 2))
            raise Busy(
                Msg(
                    "The server is busy hashing other uploads and has no memory to spare for "
                    "this one (TANGKAL_HASH_MEMORY_BUDGET); nothing is wrong with it: send it "
                    "again in %(seconds)s seconds.",
                    seconds=retry,
                ),
                retry_after=retry,
            ) from None
        self.in_use += need
        try:
            # not abandoned on cancel: the bytes stay counted until the thread is done
            return await anyio.to_thread.run_sync(fn, limiter=self._limiter)
        finally:
            self.in_use -= need
            released, self._released = self._released, None
            if released is not None:
                released.set()


def budget_for(state: Any) -> HashBudget:
    """The application's budget (``request.app.state``), made on first use from its
    settings."""
    budget = getattr(state, "hash_budget", None)
    if budget is None:
        settings = state.settings
        budget = HashBudget(
            workers=settings.hash_workers,
            budget_bytes=settings.hash_memory_budget,
            wait=settings.hash_queue_wait,
        )
        state.hash_budget = budget
    return budget


async def hash_upload(
    state: Any, content: bytes, fn: Callable[[], T], *, text: bool = False, files: bool = True
) -> T:
    """Estimate an upload (refusing it before decoding when it is too large), then run
    ``fn`` (which hashes ``content``) off the event loop within the budget. The estimate runs
    in a thread too, at most as many at once as there are workers: a video's is an ffprobe
    run of up to seconds (:func:`tangkal.hashing.video.probe_video`)."""
    budget = budget_for(state)
    need = await anyio.to_thread.run_sync(
        functools.partial(estimate, content, text=text, files=files), limiter=budget.probes
    )
    return await budget.run(need, fn)
