"""Migrating a database with rows in it keeps the rows of every table the migration keeps.

On SQLite, Alembic's batch mode changes a table by copying it and dropping the old one. With
foreign keys on, that ``DROP TABLE`` deletes the old table's rows first, and every child
table declared ``ON DELETE CASCADE`` loses its rows with them: ``0003`` and ``0005`` going
down emptied the organisations' and users' children (users, tokens, sessions, subscribers,
resolvers...), ``0012`` going up or down the orders' (locators, evidence, responses...).
The round trip of ``test_migrations_roundtrip`` runs on empty databases and cannot see it;
here every table has a row, and every migration is undone and redone one at a time.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from tangkal.db import migrate
from tangkal.db.base import Base
from tangkal.db.migrate import MigrationBrokeForeignKeys, downgrade, newest_applied, upgrade
from tangkal.db.registry import load_all_models
from tangkal.db.session import Database

_WHEN = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _value(col: sa.Column[Any], n: int) -> object:
    """A value of the column's type for a row of its own (the models' column types; no
    table checks its text columns against a list, so any short text will do)."""
    t: Any = col.type
    if isinstance(t, sa.Enum):
        return next(iter(t.enum_class)) if t.enum_class else t.enums[0]
    if isinstance(t, sa.TypeDecorator):
        t = t.impl if not isinstance(t.impl, type) else t.impl()
    if isinstance(t, sa.DateTime):
        return _WHEN
    py = t.python_type
    if py is bool:
        return True
    if py is int:
        return n
    if py is float:
        return 1.0
    if py is bytes:
        return b"\x00" * 32
    if py is dt.date:
        return _WHEN.date()
    if py is dict:
        return {}
    if py is list:
        return []
    return f"v{n}"


def _a_row_in_every_table(db: Database) -> None:
    """One row in every table of the newest schema, parents first, each foreign key naming
    its parent's row; only the columns without a default and not nullable are given (a
    table a migration seeds keeps its seeds instead)."""
    load_all_models()
    written: dict[str, dict[str, Any]] = {}
    with db.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            seeded = conn.execute(table.select().limit(1)).mappings().first()
            if seeded is not None:
                written[table.name] = dict(seeded)
                continue
            row: dict[str, Any] = {}
            for i, col in enumerate(table.columns, start=1):
                fk = next(iter(col.foreign_keys), None)
                if fk is not None:
                    row[col.name] = written[fk.column.table.name][fk.column.name]
                elif col.primary_key and isinstance(col.type, sa.Integer):
                    row[col.name] = 1
                elif col.default is None and col.server_default is None and not col.nullable:
                    row[col.name] = _value(col, i)
            key = conn.execute(table.insert().values(**row)).inserted_primary_key or ()
            where = [c == v for c, v in zip(table.primary_key.columns, key, strict=True)]
            written[table.name] = dict(conn.execute(table.select().where(*where)).mappings().one())


def _counts(db: Database) -> dict[str, int]:
    """Rows per table the database has now (Alembic's own table aside)."""
    names = [n for n in sa.inspect(db.engine).get_table_names() if n != "alembic_version"]
    with db.engine.connect() as conn:
        return {n: conn.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


def _lost(before: dict[str, int], after: dict[str, int], what: str) -> list[str]:
    return [
        f"{what}: {name} {before[name]} -> {n} rows"
        for name, n in after.items()
        if name in before and n < before[name]
    ]


def test_every_migration_undone_and_redone_keeps_the_rows_of_the_tables_it_keeps(
    unmigrated_db: Database,
) -> None:
    db = unmigrated_db
    upgrade(db)
    _a_row_in_every_table(db)
    start = _counts(db)
    assert start and all(n >= 1 for n in start.values())

    lost: list[str] = []
    undone = []
    while (step := newest_applied(db)) is not None:
        before = _counts(db)
        downgrade(db, step.target)
        down = _counts(db)
        lost += _lost(before, down, f"downgrade {step.revision}")
        upgrade(db, step.revision)  # redo it over the rows that are left, then undo again
        lost += _lost(down, _counts(db), f"upgrade {step.revision}")
        downgrade(db, step.target)
        undone.append(step.revision)
    assert not lost, lost
    assert len(undone) > 20 and "0012_orders_escalation" in undone  # every step was taken
    assert _counts(db) == {}


def test_upgrading_over_rows_of_the_older_schema_keeps_them(unmigrated_db: Database) -> None:
    """The rows stay through the whole way down to the step before a table copy and back up
    to the heads: the orders' children through 0012 (orders copied both ways), the
    organisations' and users' children through 0003 and 0005."""
    db = unmigrated_db
    upgrade(db)
    _a_row_in_every_table(db)
    for before_copy in ("0011_orders_key_recency", "0004_core_totp", "0002_core_web_sessions"):
        at_heads = _counts(db)
        downgrade(db, before_copy)
        down = _counts(db)
        assert not _lost(at_heads, down, f"downgrade to {before_copy}")
        upgrade(db)
        assert not _lost(down, _counts(db), f"upgrade from {before_copy}")
    kept = _counts(db)
    for child in ("order_locators", "order_evidence", "users", "api_tokens", "rpz_subscribers"):
        assert kept[child] == 1, child


def test_foreign_keys_are_on_again_after_migrating_sqlite(tmp_path: Path) -> None:
    """The connection the migrations ran on goes back to the pool: with foreign keys on, as
    every connection of tangkal's engine has them (SQLite alone turns them off to migrate)."""
    db = Database(f"sqlite:///{tmp_path}/again.db")
    try:
        upgrade(db)
        downgrade(db, "compliance@-1")
        upgrade(db)
        for _ in range(3):
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        db.dispose()


_DANGLING = '''"""dangling: a row naming an organisation that does not exist

Revision ID: 0999_dangling
Revises: {head}
Create Date: 2099-01-01 00:00:00
"""

from alembic import op

revision = "0999_dangling"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE dangling (id INTEGER PRIMARY KEY,"
        " org_id VARCHAR REFERENCES organizations (id) ON DELETE CASCADE)"
    )
    op.execute("INSERT INTO dangling (id, org_id) VALUES (7, 'no-such-org')")


def downgrade() -> None:
    op.execute("DROP TABLE dangling")
'''


def test_a_migration_leaving_a_dangling_foreign_key_is_refused_sqlite(tmp_path: Path) -> None:
    """With foreign keys off nothing stops a migration from leaving a row that names no row:
    the check before each migration's commit refuses it, and it is not applied (SQLite
    alone: PostgreSQL keeps its foreign keys on while migrating)."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.HERE, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0999_dangling.py").write_text(
        _DANGLING.format(head="0501_audit_merkle"), encoding="utf-8"
    )
    db = Database(f"sqlite:///{tmp_path}/dangling.db")
    try:
        upgrade(db)
        cfg = migrate.alembic_config(db)
        cfg.set_main_option("script_location", str(scripts))
        refused = "upgrade 0999_dangling.*dangling row 7 -> organizations"
        with pytest.raises(MigrationBrokeForeignKeys, match=refused):
            command.upgrade(cfg, "heads")
        assert "0999_dangling" not in migrate.current_revisions(db)
        assert "dangling" not in sa.inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        db.dispose()
