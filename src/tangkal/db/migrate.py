"""Running Alembic from code, so ``tangkal db upgrade`` and ``tangkal serve`` need no alembic.ini.

Each domain package keeps its own migration branch (``branch_labels``) in one versions
folder; ``upgrade`` goes to all heads. That lets packages evolve their tables without
serialising every change through one linear history. (Plain ``alembic upgrade heads``
works too, from the ``alembic.ini`` at the repository's root; ``alembic upgrade head``,
singular, cannot: there are several heads, one per branch.)

``downgrade`` undoes migrations: to a named target (a revision, ``BRANCH@-1``, ``base``),
or by default the newest migration applied (by its ``Create Date``), which is the one a
release just added; with several heads Alembic's own ``-1`` would be ambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tangkal.db.session import Database

HERE = Path(__file__).parent / "migrations"


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
