"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tangkal.db.base import Base
from tangkal.db.registry import load_all_models
from tangkal.db.session import Database


def test_migrated_schema_matches_the_models(db: Database) -> None:
    load_all_models()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
