"""Running Alembic from code, so ``tangkal db upgrade`` and ``tangkal serve`` need no alembic.ini.

Each domain package keeps its own migration branch (``branch_labels``) in one versions
folder; ``upgrade`` goes to all heads. That lets packages evolve their tables without
serialising every change through one linear history. (Plain ``alembic upgrade heads``
works too, from the ``alembic.ini`` at the repository's root; ``alembic upgrade head``,
singular, cannot: there are several heads, one per branch.)

``downgrade`` undoes migrations: to a named target (a revision, ``BRANCH@-1``, ``base``),
or by default the newest migration applied (by its ``Create Date``), which is the one a
release just added; with several heads Alembic's own ``-1`` would be ambiguous.

On SQLite every migration runs with foreign keys off (:func:`sqlite_foreign_keys_off`,
used by ``migrations/env.py``): Alembic's batch mode changes a table by copying it and
dropping the old one, and with foreign keys on that ``DROP TABLE`` deletes the old table's
rows first, which empties every child table declared ``ON DELETE CASCADE`` (and clears the
``SET NULL`` ones). Each migration is then checked with ``PRAGMA foreign_key_check`` before
it is committed, so one that leaves a dangling reference fails instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from tangkal.db.session import Database
from tangkal.errors import TangkalError

HERE = Path(__file__).parent / "migrations"


class MigrationBrokeForeignKeys(TangkalError):
    """A migration left rows whose foreign key names no row (SQLite's
    ``PRAGMA foreign_key_check``); it was rolled back, and the database is at the step
    before it."""

    status_code = 500
    code = "migration_broke_foreign_keys"


def _pragma_outside_transaction(connection: Connection, pragma: str) -> object:
    """Run ``PRAGMA <pragma>`` on the driver's connection itself, so SQLAlchemy does not
    begin a transaction first (tangkal's engine begins one on any statement, and SQLite
    ignores ``PRAGMA foreign_keys`` inside a transaction); its value read back after."""
    raw: Any = connection.connection.driver_connection
    if raw.in_transaction:
        raise RuntimeError(f"PRAGMA {pragma} inside a transaction would be ignored")
    raw.execute(f"PRAGMA {pragma}")
    name = pragma.split("=", 1)[0]
    return raw.execute(f"PRAGMA {name}").fetchone()[0]


@contextmanager
def sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Foreign keys off on this (not yet begun) SQLite connection while the block runs, on
    again after; SQLite's own procedure for changing a table's schema by copying it
    (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
    Changes"). A connection whose foreign keys cannot be turned back on is discarded, never
    returned to the pool. On other databases it does nothing."""
    if connection.dialect.name != "sqlite":
        yield
        return
    if connection.in_transaction():
        raise RuntimeError("foreign keys can only be turned off before the transaction begins")
    if _pragma_outside_transaction(connection, "foreign_keys=OFF") != 0:
        raise RuntimeError("SQLite did not turn foreign keys off for the migration")
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()  # what the block did not commit is not kept
        try:
            on = _pragma_outside_transaction(connection, "foreign_keys=ON") == 1
        except Exception:
            on = False
        if not on:
            connection.invalidate()


def check_foreign_keys(
    ctx: MigrationContext, step: Any, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """Alembic ``on_version_apply`` hook, run inside each migration's transaction before its
    commit: on SQLite with foreign keys off, fail the migration if it left rows whose
    foreign key names no row (``PRAGMA foreign_key_check``)."""
    conn = ctx.connection
    if conn is None or conn.dialect.name != "sqlite":
        return
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        if hasattr(step, "is_upgrade"):  # Alembic's MigrationInfo
            step = f"{'upgrade' if step.is_upgrade else 'downgrade'} {step.up_revision_id}"
        shown = ", ".join(f"{t} row {r} -> {p}" for t, r, p, _fk in broken[:10])
        more = f" (and {len(broken) - 10} more)" if len(broken) > 10 else ""
        raise MigrationBrokeForeignKeys(
            f"migration ({step}) left {len(broken)} rows whose foreign key names no row:"
            f" {shown}{more}; it was not applied"
        )


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: Database, target: str = "heads") -> None:
    command.upgrade(alembic_config(db), target)


def applied_revisions(db: Database) -> set[str]:
    """Every revision the database has, the ancestors and dependencies of the ones its
    version table names included."""
    script = ScriptDirectory.from_config(alembic_config(db))
    return {r.revision for r in script.iterate_revisions(tuple(current_revisions(db)), "base")}


def is_current(db: Database) -> bool:
    """Every head applied. Not "the version table lists every head": a head that another
    branch depends on (``depends_on``) is not listed once the later one is applied, so
    that comparison was never true and every command ran the (empty) upgrade again."""
    script = ScriptDirectory.from_config(alembic_config(db))
    return set(script.get_heads()) <= applied_revisions(db)


def current_revisions(db: Database) -> set[str]:
    """The revisions the database is at: one head per branch once fully upgraded."""
    with db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


_CREATED = re.compile(r"^Create Date:\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Step:
    """One migration to undo: its revision, its branch and what it is."""

    revision: str
    branches: tuple[str, ...]
    doc: str
    created: str

    @property
    def target(self) -> str:
        """Alembic's name for "this branch without this revision"."""
        return f"{self.revision}@-1"


def newest_applied(db: Database) -> Step | None:
    """The most recently written migration among those the database is at (by the
    ``Create Date`` its file records; the revision id breaks a tie), or None on an empty
    database."""
    script = ScriptDirectory.from_config(alembic_config(db))
    steps = []
    for rev in current_revisions(db):
        sc = script.get_revision(rev)
        if sc is None:
            continue
        found = _CREATED.search(sc.longdoc or "") or _CREATED.search(
            Path(sc.path).read_text(encoding="utf-8")
        )
        created = found.group(1) if found else ""
        labelled = sc  # the branch is labelled on its first revision
        while not labelled.branch_labels and isinstance(labelled.down_revision, str):
            parent = script.get_revision(labelled.down_revision)
            if parent is None:
                break
            labelled = parent
        branches = tuple(sorted(labelled.branch_labels))
        steps.append(Step(rev, branches, sc.doc or "", created))
    return max(steps, key=lambda s: (s.created, s.revision), default=None)


def downgrade(db: Database, target: str) -> None:
    command.downgrade(alembic_config(db), target)
