"""Fixtures for every test: a per-test empty database on each backend, factories, servers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tangkal.accounts.principal import SYSTEM
from tangkal.db.base import Base
from tangkal.db.migrate import upgrade
from tangkal.db.registry import load_all_models
from tangkal.db.session import Database
from tests import support
from tests.factories import Factory

BACKENDS = support.backends()


def pytest_report_header(config: pytest.Config) -> str:
    if "postgresql" not in BACKENDS:
        return (
            "!!! PostgreSQL NOT REACHABLE at "
            + support.PG_ADMIN_URL
            + ": database tests run on SQLite ONLY !!!"
        )
    return "database backends: " + ", ".join(BACKENDS)


@pytest.fixture(scope="session", autouse=True)
def _state_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """An app built in a test with ``Settings()`` keeps its state files (the session key, the
    hash indexes) in ``TANGKAL_DATA_DIR``, the working directory by default: the checkout.
    Every test process gets a directory of its own instead (servers get theirs anyway)."""
    mp = pytest.MonkeyPatch()
    if "TANGKAL_DATA_DIR" not in os.environ:
        mp.setenv("TANGKAL_DATA_DIR", str(tmp_path_factory.mktemp("data-dir")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def _sqlite_template() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="tangkal-tpl-"))
    path = d / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    yield path
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def _pg_url() -> Iterator[str]:
    url = support.create_pg_database()
    db = Database(url)
    upgrade(db)
    _SEEDS.update(_capture_seeds(db))
    db.dispose()
    yield url
    support.drop_pg_database(url)


# Rows that migrations seed (the default protected names, ...): a truncated PostgreSQL
# database gets them back, so both backends start every test from the same state.
_SEEDS: dict[str, list[dict[str, object]]] = {}


def _capture_seeds(db: Database) -> dict[str, list[dict[str, object]]]:
    load_all_models()
    seeds: dict[str, list[dict[str, object]]] = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in conn.execute(table.select())]
            if rows:
                seeds[table.name] = rows
    return seeds


def _truncate_pg(db: Database) -> None:
    load_all_models()
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
        for table in Base.metadata.sorted_tables:
            if table.name in _SEEDS:
                conn.execute(table.insert(), _SEEDS[table.name])


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database of the parametrised backend, for this test alone."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("_pg_url")
        database = Database(url)
        _truncate_pg(database)
    yield database
    database.dispose()


@pytest.fixture
def unmigrated_db(backend: str) -> Iterator[Database]:
    """A database of the parametrised backend of this test's own, with no tables yet, for the
    tests of a migration's upgrade and downgrade (the shared database is never migrated
    down)."""
    with support.own_database(backend, "tangkal_mig") as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


@pytest.fixture
def session(db: Database) -> Iterator[object]:
    """A unit of work committed at the end of the test (like a request boundary)."""
    with db.unit_of_work() as s:
        yield s


@pytest.fixture
def factory(db: Database) -> Factory:
    return Factory(db)


@pytest.fixture(scope="session")
def system() -> object:
    return SYSTEM


@pytest.fixture(scope="session", params=BACKENDS)
def server_db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database for a live server: a fresh SQLite file or a fresh PostgreSQL database."""
    with support.server_database(str(request.param)) as url:
        yield url


@pytest.fixture(scope="session")
def live(server_db_url: str) -> Iterator[support.LiveServer]:
    """One real ``tangkal serve`` per backend for the functional tests; tests isolate
    themselves by creating their own organisations with unique names."""
    extra = {"TANGKAL_SOP_PROFILE": os.environ.get("TANGKAL_TEST_SOP", "indonesia")}
    with support.live_server(server_db_url, extra) as server:
        yield server
