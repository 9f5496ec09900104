"""Uploads hashed off the event loop within a memory budget (issue 12, finding 1)."""

from __future__ import annotations

import io
import threading

import anyio
import pytest
from PIL import Image

from tangkal.errors import Busy, TooLarge
from tangkal.hashing import signals
from tangkal.hashing.budget import HashBudget, estimate


def _png(size: tuple[int, int], mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 128).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """The issue's decompression bomb: a grey PNG of 7999x7999, about 77 KB."""
    return _png((7999, 7999))


def test_a_bomb_is_refused_from_its_header_naming_the_limit(bomb: bytes) -> None:
    assert len(bomb) < 100_000
    with pytest.raises(TooLarge) as caught:
        estimate(bomb)
    assert "7999x7999" in caught.value.message
    assert "TANGKAL_HASH_MAX_IMAGE_PIXELS" in caught.value.message
    assert caught.value.status_code == 413


def test_the_estimate_is_width_height_bands_and_plain_files_cost_their_bytes() -> None:
    grey, rgb = _png((300, 200)), _png((300, 200), "RGB")
    pdq = signals.get("pdq")
    assert pdq.working_bytes(grey) == len(grey) + 300 * 200 * (1 + 8)
    assert pdq.working_bytes(rgb) == len(rgb) + 300 * 200 * (3 + 8)
    assert estimate(rgb) == pdq.working_bytes(rgb)
    assert estimate(b"not an image at all") == len(b"not an image at all")


def test_hashing_runs_off_the_loop_and_waits_for_the_budget() -> None:
    """While one upload's hashing is held in its thread, the loop runs other work, and a
    second upload that does not fit waits until the first is done."""
    events: list[str] = []
    release = threading.Event()

    def slow() -> str:
        events.append("first hashing")
        assert release.wait(10)
        return "first"

    def fast() -> str:
        events.append("second hashing")
        return "second"

    async def main() -> list[str]:
        budget = HashBudget(workers=2, budget_bytes=100, wait=10)
        results: list[str] = []

        async def upload(need: int, fn: object) -> None:
            results.append(await budget.run(need, fn))  # type: ignore[arg-type]

        async with anyio.create_task_group() as tg:
            tg.start_soon(upload, 80, slow)
            for _ in range(1000):  # bounded: until the first is in its thread
                if "first hashing" in events:
                    break
                await anyio.sleep(0.005)
            events.append("loop still answers")
            tg.start_soon(upload, 30, fast)
            for _ in range(20):
                await anyio.sleep(0)
            assert budget.in_use == 80  # the second waits: 80 + 30 > 100
            events.append("first released")
            release.set()
        assert budget.in_use == 0
        return results

    results = anyio.run(main)
    assert results == ["first", "second"]
    assert events == ["first hashing", "loop still answers", "first released", "second hashing"]


def test_no_room_in_time_is_busy_with_retry_after_and_too_big_alone_is_413() -> None:
    release = threading.Event()

    async def main() -> None:
        budget = HashBudget(workers=1, budget_bytes=100, wait=0.2)
        with pytest.raises(TooLarge) as alone:
            await budget.run(101, lambda: None)
        assert "TANGKAL_HASH_MEMORY_BUDGET" in alone.value.message
        async with anyio.create_task_group() as tg:
            tg.start_soon(budget.run, 60, lambda: release.wait(10))
            for _ in range(1000):
                if budget.in_use:
                    break
                await anyio.sleep(0.005)
            with pytest.raises(Busy) as busy:
                await budget.run(60, lambda: None)
            release.set()
        assert busy.value.status_code == 503 and busy.value.retry_after >= 1
        assert "send it again" in busy.value.message

    anyio.run(main)
