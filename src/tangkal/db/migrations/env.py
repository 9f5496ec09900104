"""Alembic environment: the engine handed over by ``tangkal.db.migrate``, or for plain
``alembic`` (the repository's alembic.ini) the database ``TANGKAL_DATABASE_URL`` names."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy import Engine

from tangkal.db.base import Base, UTCDateTime
from tangkal.db.registry import load_all_models

load_all_models()


def render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    """Render project column types as plain SQLAlchemy ones, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, sa.JSON):
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


config = context.config
target_metadata = Base.metadata

if "engine" not in config.attributes and config.config_file_name is not None:
    # Plain ``alembic`` with the repository's alembic.ini: its logging sections apply.
    # (``tangkal db ...`` hands over an engine and logs through tangkal's own set-up.)
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _engine() -> Engine:
    """The engine handed over by ``tangkal.db.migrate``, or, for plain ``alembic``, the
    database of ``sqlalchemy.url`` in alembic.ini if set there, else of
    ``TANGKAL_DATABASE_URL`` as the server would use it (same URL forms, same SQLite
    set-up), so ``alembic upgrade heads`` migrates the database ``tangkal serve`` opens."""
    given = config.attributes.get("engine")
    if given is not None:
        return given
    from tangkal.db.session import get_database
    from tangkal.settings import get_settings

    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    return get_database(url).engine


def run_migrations_offline() -> None:
    from tangkal.db.session import normalise_url
    from tangkal.settings import get_settings

    context.configure(
        url=normalise_url(config.get_main_option("sqlalchemy.url") or get_settings().database_url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """On SQLite with foreign keys off while the migrations run, each one checked with
    ``PRAGMA foreign_key_check`` before its commit (see ``tangkal.db.migrate``): a batch
    table copy's ``DROP TABLE`` would otherwise cascade into the child tables' rows."""
    from tangkal.db.migrate import check_foreign_keys, sqlite_foreign_keys_off

    engine = _engine()
    with engine.connect() as connection, sqlite_foreign_keys_off(connection):
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=render_item,
            on_version_apply=check_foreign_keys,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
