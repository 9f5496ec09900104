"""hashing: a banked content's id is never handed out again on SQLite (AUTOINCREMENT)

Without ``AUTOINCREMENT`` SQLite gives a new row ``max(id) + 1``, so removing the newest
content gave its id to the next one, and everything that names a content by id without a
foreign key (its feedback, the copies' ``origin_content_id``, the order copies, the match
rates, the change log, a CSV export's ``tangkal:content:<id>``) then spoke of the new content.
PostgreSQL's sequence never hands an id out twice; this makes SQLite do the same.

SQLite cannot add ``AUTOINCREMENT`` to a table, so ``hash_bank_content`` is rebuilt by
Alembic's batch mode. Dropping the old table there runs an implicit ``DELETE`` whose
``ON DELETE CASCADE`` empties ``hash_content_sources``, so its rows are kept aside and put back.
The counter then starts above every id any table has named, so an id removed before this
migration is not reused either. SQLAlchemy does not reflect ``AUTOINCREMENT``: a later batch
migration of this table must pass ``table_kwargs={"sqlite_autoincrement": True}`` again.

Revision ID: 0207_hashing_content_ids
Revises: 0206_hashing_quarantine
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0207_hashing_content_ids"
down_revision: str | Sequence[str] | None = "0206_hashing_quarantine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# every column that names a content by id, with or without a foreign key
_NAMED = (
    ("hash_changes", "content_id"),
    ("hash_match_feedback", "content_id"),
    ("hash_content_sources", "origin_content_id"),
    ("hash_order_copies", "content_id"),
    ("hash_match_rates", "content_id"),
)


def _rebuild(autoincrement: bool) -> None:
    op.execute("CREATE TEMP TABLE _keep_content_sources AS SELECT * FROM hash_content_sources")
    with op.batch_alter_table(
        "hash_bank_content",
        recreate="always",
        table_kwargs={"sqlite_autoincrement": autoincrement},
    ):
        pass
    op.execute("DELETE FROM hash_content_sources")  # what the drop's cascade left, if anything
    op.execute("INSERT INTO hash_content_sources SELECT * FROM _keep_content_sources")
    op.execute("DROP TABLE _keep_content_sources")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(autoincrement=True)
    conn = op.get_bind()
    highest = max(
        [conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM hash_bank_content")).scalar_one()]
        + [
            conn.execute(sa.text(f"SELECT coalesce(max({col}), 0) FROM {table}")).scalar_one()
            for table, col in _NAMED
        ]
    )
    conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'hash_bank_content'"))
    conn.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('hash_bank_content', :n)"),
        {"n": highest},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(autoincrement=False)
