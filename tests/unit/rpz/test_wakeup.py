"""The primary reads the journal when a change set commits, not on a fast poll."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tangkal.db.session import Database
from tangkal.rpz import wakeup
from tangkal.rpz.journal import RpzAction, ZoneChange, publish
from tangkal.rpz.server import RpzPrimary
from tests import support
from tests.unit.rpz.harness import running_primary
from tests.unit.rpz.test_server import soa_serial

NEVER = 60.0  # a fallback poll so slow that only a wake-up can explain a prompt serial


def wait_served(primary: RpzPrimary, serial: int, limit: float) -> float:
    """Seconds until the primary answers SOA with ``serial``; fails after ``limit``.

    With the fallback poll a minute away (``NEVER``), being served before a ``limit`` of a
    few seconds can only be the wake-up: the tests assert that, never a speed."""
    t0 = time.monotonic()
    while soa_serial(primary.port) != serial:
        assert time.monotonic() - t0 < limit, f"serial {serial} not served within {limit} s"
        time.sleep(0.005)
    return time.monotonic() - t0


def wait_until(condition: object, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def publish_in_another_process(db: Database, name: str) -> int:
    """``tangkal rpz publish`` as an operator runs it: a separate process and connection."""
    env = {**os.environ, "TANGKAL_DATABASE_URL": db.url}
    out = subprocess.run(
        [sys.executable, "-m", "tangkal.cli.main", "rpz", "publish", name, "--reason", "test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return int(out.split()[-1])


def test_a_commit_in_the_same_process_is_served_without_waiting_for_the_poll(
    db: Database, tmp_path: Path
) -> None:
    with running_primary(db, tmp_path, poll_interval=NEVER) as primary:
        time.sleep(0.1)  # the follower is now waiting, its next poll a minute away
        with db.unit_of_work() as s:
            serial = publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
        wait_served(primary, serial, limit=5)  # long before the poll: the commit woke it


def test_only_a_committed_publish_wakes_the_subscribers(db: Database) -> None:
    calls: list[int] = []

    def count() -> None:
        calls.append(1)

    wakeup.subscribe(count)
    try:
        with pytest.raises(RuntimeError), db.unit_of_work() as s:
            publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
            raise RuntimeError("rolled back")
        with db.unit_of_work() as s:
            publish(s, [ZoneChange("t.me", None)])  # nothing to remove: no change set
        assert calls == []
        with db.unit_of_work() as s:
            publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
            publish(s, [ZoneChange("telegram.org", RpzAction.NXDOMAIN)])
        assert calls == [1]  # one wake-up per commit, however many change sets
    finally:
        wakeup.unsubscribe(count)


def test_another_process_commit_is_served_by_the_default_fallback_or_listen(
    db: Database, tmp_path: Path
) -> None:
    """SQLite: the fallback read finds it; PostgreSQL: the LISTEN connection hears it."""
    with running_primary(db, tmp_path) as primary:
        assert primary.poll_interval == 0.25
        serial = publish_in_another_process(db, "t.me")
        wait_served(primary, serial, limit=10)


def test_another_process_commit_wakes_the_server(db: Database, tmp_path: Path) -> None:
    """PostgreSQL: NOTIFY to the LISTEN connection; SQLite: the inotify watch on the file."""
    with running_primary(db, tmp_path, poll_interval=NEVER) as primary:
        if not db.is_sqlite:
            wait_until(lambda: primary.listening, 10, "the LISTEN connection never came up")
        time.sleep(0.1)
        serial = publish_in_another_process(db, "t.me")
        wait_served(primary, serial, limit=5)  # long before the poll: the commit woke it


# PostgreSQL only: SQLite has no notifications between processes (nor a connection to kill).
@pytest.mark.parametrize("backend", [b for b in support.backends() if b == "postgresql"])
def test_a_killed_listen_connection_is_reopened_and_the_server_keeps_serving(
    db: Database, tmp_path: Path
) -> None:
    with running_primary(db, tmp_path, poll_interval=NEVER) as primary:
        wait_until(lambda: primary.listening, 10, "the LISTEN connection never came up")
        with db.engine.begin() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'tangkal-rpz-listen' "
                    "AND datname = current_database()"
                )
            ).scalar()
        assert killed == 1
        wait_until(lambda: not primary.listening, 10, "the lost connection went unnoticed")
        assert soa_serial(primary.port)  # still answering meanwhile
        wait_until(lambda: primary.listening, 10, "the LISTEN connection was not reopened")
        serial = publish_in_another_process(db, "t.me")
        wait_served(primary, serial, limit=5)  # long before the poll: the commit woke it
