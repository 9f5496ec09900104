"""Migrations go both ways: ``tangkal db downgrade`` undoes one step (the newest migration
applied, or a branch's head named as ``BRANCH@-1``) and ``tangkal db upgrade`` brings it
back, on SQLite and PostgreSQL; plain ``alembic upgrade heads`` from the repository's
alembic.ini migrates the database ``TANGKAL_DATABASE_URL`` names."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tangkal.db.migrate import current_revisions, is_current, newest_applied
from tangkal.db.session import Database
from tests.support import own_database, run_cli_here

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def empty_url(backend: str) -> Iterator[str]:
    """A database with no schema at all, of each backend, for this test alone."""
    with own_database(backend, "tangkal_mig") as url:
        yield url


def _heads(db: Database) -> set[str]:
    """What the version table holds once every branch is at its head (a head another
    branch depends on is not listed once the later one is)."""
    assert is_current(db)
    return current_revisions(db)


def _at(url: str) -> set[str]:
    db = Database(url)
    try:
        return current_revisions(db)
    finally:
        db.dispose()


def _cli(url: str, tmp_path: Path, *args: str) -> str:
    r = run_cli_here(*args, env={"TANGKAL_DATABASE_URL": url}, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr + r.stdout
    return " ".join(r.stdout.split())


def test_upgrade_downgrade_one_step_and_upgrade_again(empty_url: str, tmp_path: Path) -> None:
    db = Database(empty_url)
    assert not is_current(db)
    db.dispose()
    _cli(empty_url, tmp_path, "db", "upgrade")
    db = Database(empty_url)
    try:
        heads = _heads(db)
        assert current_revisions(db) == heads and len(heads) > 1  # one head per branch
        step = newest_applied(db)
        assert step is not None and step.revision in heads and step.branches
    finally:
        db.dispose()

    said = _cli(empty_url, tmp_path, "db", "downgrade")
    assert f"undoing {step.revision}" in said
    after = _at(empty_url)
    assert step.revision not in after and heads - {step.revision} <= after
    db = Database(empty_url)
    assert not is_current(db)
    db.dispose()

    _cli(empty_url, tmp_path, "db", "upgrade")
    assert _at(empty_url) == heads

    # A branch named: its head goes back one step, the other branches stay.
    _cli(empty_url, tmp_path, "db", "downgrade", "compliance@-1")
    assert "0401_compliance_escalation" not in _at(empty_url)
    assert heads - {"0401_compliance_escalation"} <= _at(empty_url)
    _cli(empty_url, tmp_path, "db", "upgrade")
    assert _at(empty_url) == heads


def test_every_migration_downgrades_to_base_and_back(empty_url: str, tmp_path: Path) -> None:
    _cli(empty_url, tmp_path, "db", "upgrade")
    heads = _at(empty_url)
    _cli(empty_url, tmp_path, "db", "downgrade", "base")
    assert _at(empty_url) == set()
    _cli(empty_url, tmp_path, "db", "upgrade")
    assert _at(empty_url) == heads


def test_plain_alembic_upgrade_heads_from_the_repository_ini(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/plain.db"
    r = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "heads"],
        env={"PATH": "/usr/bin:/bin", "TANGKAL_DATABASE_URL": url},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    db = Database(url)
    try:
        assert current_revisions(db) == _heads(db)
    finally:
        db.dispose()
    assert not (tmp_path / "tangkal.db").exists()  # the URL was followed, not the default
