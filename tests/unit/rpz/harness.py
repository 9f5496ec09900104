"""Run an RpzPrimary in a thread with its own event loop, for tests and the benchmark."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tangkal.db.session import Database
from tangkal.rpz.server import RpzPrimary
from tangkal.settings import Settings
from tests.support import free_port


@contextmanager
def running_primary(
    db: Database,
    data_dir: Path,
    *,
    port: int | None = None,
    poll_interval: float | None = None,
    **settings: object,
) -> Iterator[RpzPrimary]:
    """``poll_interval`` overrides the fallback poll (the setting allows at most 1 s), so a
    test can tell a wake-up from a poll."""
    cfg = Settings(database_url=db.url, data_dir=data_dir, **settings)  # type: ignore[arg-type]
    primary = RpzPrimary(db, cfg, "127.0.0.1", port or free_port(), poll_interval=poll_interval)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(primary.start())
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(60), "primary did not start"
    if errors:
        raise errors[0]
    try:
        yield primary
    finally:
        asyncio.run_coroutine_threadsafe(primary.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
