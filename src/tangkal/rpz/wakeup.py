"""Telling the RPZ primary that a change set was committed, so it need not poll for one.

Two signals, both raised by :func:`announce` (which ``journal.publish`` calls inside the
writing transaction), reach a primary as soon as the change set commits:

- in the same process, an ``after_commit`` hook on the writing session calls every
  callback registered with :func:`subscribe` (the primary sets its wake event from it);
- on PostgreSQL, ``pg_notify`` on :data:`CHANNEL` is queued in the transaction and delivered
  at commit (never on rollback) to every ``LISTEN``ing connection, whatever process wrote:
  other HTTP workers, the CLI. :func:`listen` is the primary's side of it.

When another process writes to SQLite, :func:`watch_sqlite` (Linux inotify on the database's
directory) wakes the primary on writes to the database or its WAL file, from any process;
where inotify is not available, the primary's slower fallback poll covers it. A signal only
ever causes one journal read, so a spurious one (a rolled-back session that is later
reused, any other SQLite commit) costs nothing but that read.

``pg_notify`` makes the commit take PostgreSQL's notification-queue lock; ``publish``
already serialises its transactions on the RPZ serial row, so this adds no waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import random
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import structlog
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

log = structlog.get_logger("tangkal.rpz")

CHANNEL = "tangkal_rpz_journal"
_ANNOUNCED = "tangkal.rpz.announced"  # session.info key: after_commit hook attached
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

_subscribers: list[Callable[[], None]] = []
_lock = threading.Lock()


def subscribe(callback: Callable[[], None]) -> None:
    """Call ``callback`` (from the committing thread) after every commit that published."""
    with _lock:
        _subscribers.append(callback)


def unsubscribe(callback: Callable[[], None]) -> None:
    with _lock, contextlib.suppress(ValueError):
        _subscribers.remove(callback)


def announce(session: Session, seq: int) -> None:
    """Arrange for the primaries to hear of this transaction's change set when it commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, str(seq))))
    if not session.info.get(_ANNOUNCED):
        session.info[_ANNOUNCED] = True
        event.listen(session, "after_commit", _committed, once=True)


def _committed(session: Session) -> None:
    session.info.pop(_ANNOUNCED, None)
    with _lock:
        callbacks = list(_subscribers)
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:  # a closed loop must not fail the writer's commit
            log.warning("rpz wake-up callback failed", error=repr(exc))


def conninfo(sqlalchemy_url: str) -> str:
    """A libpq URI for psycopg from the SQLAlchemy URL (``postgresql+psycopg://``)."""
    from sqlalchemy.engine import make_url

    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


async def listen(
    url: str, wake: Callable[[], None], *, on_state: Callable[[bool], None] | None = None
) -> None:
    """LISTEN on :data:`CHANNEL` and call ``wake`` for each notification, until cancelled.

    A lost connection is reopened with growing delays (0.5 s up to 30 s) and logged, never
    raised: the primary keeps serving and its fallback poll carries on meanwhile. After
    each (re)connection ``wake`` is called once, for whatever committed while not listening.
    ``on_state`` hears whether the LISTEN is in place (True) or lost (False).
    """
    import psycopg

    attempt = 0
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(
                conninfo(url),
                autocommit=True,
                connect_timeout=10,
                # a peer that vanished without a reset is noticed in about a minute
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
                application_name="tangkal-rpz-listen",
            )
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                if attempt:
                    log.info("rpz journal listener reconnected", attempts=attempt)
                attempt = 0
                wake()
                if on_state is not None:
                    on_state(True)
                async for _note in conn.notifies():
                    wake()
            raise ConnectionError("notification stream ended")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if on_state is not None:
                on_state(False)
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
            attempt += 1
            log.warning(
                "rpz journal listener lost; polling meanwhile", error=str(exc), retry_in=delay
            )
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))


_IN_MODIFY, _IN_CLOSE_WRITE, _IN_MOVED_TO, _IN_CREATE = 0x2, 0x8, 0x80, 0x100
_IN_NONBLOCK, _IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


def watch_sqlite(
    path: Path, wake: Callable[[], None], loop: asyncio.AbstractEventLoop
) -> Callable[[], None] | None:
    """Call ``wake`` (on ``loop``) whenever any process writes the SQLite file at ``path``
    or its WAL; returns the function that stops watching, or None without inotify.

    The directory is watched, not the files: the WAL file comes and goes with checkpoints
    and the last connection closing. Reads write neither file, so an idle database is
    silent; every commit, of the journal or not, costs the primary one cheap read.
    """
    if not sys.platform.startswith("linux"):
        return None
    names = {path.name.encode(), (path.name + "-wal").encode()}
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = int(libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC))
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        mask = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
        if int(libc.inotify_add_watch(fd, os.fsencode(path.parent), ctypes.c_uint32(mask))) < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise OSError(err, "inotify_add_watch")
    except (OSError, AttributeError) as exc:
        log.info("rpz sqlite watch unavailable; polling only", error=str(exc))
        return None

    def readable() -> None:
        hit = False
        while True:
            try:
                data = os.read(fd, 64 * 1024)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                return
            offset = 0
            while offset + _EVENT.size <= len(data):
                _wd, _mask, _cookie, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
                hit = hit or name in names
                offset += _EVENT.size + length
        if hit:
            wake()

    loop.add_reader(fd, readable)

    def close() -> None:
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)
        with contextlib.suppress(OSError):
            os.close(fd)

    return close
