"""Consistent reads that never take SQLite's write lock.

``Database.read_only`` begins with ``BEGIN IMMEDIATE`` on SQLite (right for units of work
that may write), which would stop every writer for as long as a 7-million-name export or a
zone build reads. Readers here use a separate SQLite connection with a deferred ``BEGIN``
(a WAL snapshot) and, on PostgreSQL, a REPEATABLE READ transaction: one consistent view
for the whole read, no writer waits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from tangkal.db.session import Database

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def _sqlite_reader(db: Database) -> Engine:
    with _lock:
        engine = _engines.get(db.url)
        if engine is None:
            engine = create_engine(db.url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_connect)
            _engines[db.url] = engine
        return engine


@contextmanager
def read_snapshot(db: Database) -> Iterator[Session]:
    """A session over one consistent snapshot; nothing it does is ever committed."""
    if db.is_sqlite:
        with _sqlite_reader(db).connect() as conn:
            conn.exec_driver_sql("BEGIN")
            session = Session(bind=conn)
            try:
                yield session
            finally:
                session.close()
                conn.exec_driver_sql("ROLLBACK")
    else:
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            session = Session(bind=conn)
            try:
                yield session
            finally:
                session.close()
                conn.rollback()


def dispose_readers() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
