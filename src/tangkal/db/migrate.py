"""Running Alembic from code, so ``tangkal db upgrade`` and ``tangkal serve`` need no alembic.ini.

Each domain package keeps its own migration branch (``branch_labels``) in one versions
folder; ``upgrade`` goes to all heads. That lets packages evolve their tables without
serialising every change through one linear history.
"""

from __future__ import annotations

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


def is_current(db: Database) -> bool:
    script = ScriptDirectory.from_config(alembic_config(db))
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == set(script.get_heads())
