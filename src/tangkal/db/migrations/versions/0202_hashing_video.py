"""hashing: signals of any length (a vPDQ video is hundreds of frame hashes), unique by digest

``hash_bank_content.signal``, ``hash_changes.signal`` and ``hash_match_feedback.query_signal``
become ``TEXT`` (they were ``VARCHAR(1024)``: a vPDQ signal of a ten-minute video is about
50 KB). A B-tree entry cannot hold such a value (PostgreSQL refuses index rows over about
2.7 KB), so the content's uniqueness and the exact-lookup index move to a new column
``signal_digest``, the SHA-256 of the signal, filled here for the rows that exist.

``hash_bank_content`` is rebuilt by Alembic's batch mode on SQLite (a table constraint cannot be
dropped there otherwise); nothing references it by foreign key, so the copy deletes nothing.

Revision ID: 0202_hashing_video
Revises: 0201_hashing_thresholds
Create Date: 2026-12-03 06:40:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0202_hashing_video"
down_revision: str | Sequence[str] | None = "0201_hashing_thresholds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def _fill_digests() -> None:
    conn = op.get_bind()
    content = sa.table(
        "hash_bank_content",
        sa.column("id", sa.BigInteger),
        sa.column("signal", sa.Text),
        sa.column("signal_digest", sa.String),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(content.c.id, content.c.signal)
            .where(content.c.id > last)
            .order_by(content.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            content.update()
            .where(content.c.id == sa.bindparam("row_id"))
            .values(signal_digest=sa.bindparam("digest")),
            [
                {"row_id": i, "digest": hashlib.sha256(s.encode("utf-8")).hexdigest()}
                for i, s in rows
            ],
        )
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("hash_bank_content") as batch:
        batch.add_column(sa.Column("signal_digest", sa.String(length=64), nullable=True))
    _fill_digests()
    with op.batch_alter_table("hash_bank_content") as batch:
        batch.drop_index("ix_hash_content_lookup")
        batch.drop_constraint("uq_hash_bank_content_bank_id", type_="unique")
        batch.alter_column(
            "signal", existing_type=sa.String(length=1024), type_=sa.Text(), nullable=False
        )
        batch.alter_column("signal_digest", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(
            "uq_hash_bank_content_bank_id", ["bank_id", "signal_type", "signal_digest"]
        )
        batch.create_index("ix_hash_content_lookup", ["signal_type", "signal_digest"])
    with op.batch_alter_table("hash_changes") as batch:
        batch.alter_column(
            "signal", existing_type=sa.String(length=1024), type_=sa.Text(), nullable=False
        )
    with op.batch_alter_table("hash_match_feedback") as batch:
        batch.alter_column(
            "query_signal", existing_type=sa.String(length=1024), type_=sa.Text(), nullable=True
        )


def downgrade() -> None:
    # signals longer than the old column (videos) cannot go back into it
    op.execute("DELETE FROM hash_changes WHERE length(signal) > 1024")
    op.execute("DELETE FROM hash_bank_content WHERE length(signal) > 1024")
    op.execute(
        "UPDATE hash_match_feedback SET query_signal = NULL WHERE length(query_signal) > 1024"
    )
    with op.batch_alter_table("hash_match_feedback") as batch:
        batch.alter_column(
            "query_signal", existing_type=sa.Text(), type_=sa.String(length=1024), nullable=True
        )
    with op.batch_alter_table("hash_changes") as batch:
        batch.alter_column(
            "signal", existing_type=sa.Text(), type_=sa.String(length=1024), nullable=False
        )
    with op.batch_alter_table("hash_bank_content") as batch:
        batch.drop_index("ix_hash_content_lookup")
        batch.drop_constraint("uq_hash_bank_content_bank_id", type_="unique")
        batch.alter_column(
            "signal", existing_type=sa.Text(), type_=sa.String(length=1024), nullable=False
        )
        batch.create_unique_constraint(
            "uq_hash_bank_content_bank_id", ["bank_id", "signal_type", "signal"]
        )
        batch.create_index("ix_hash_content_lookup", ["signal_type", "signal"])
        batch.drop_column("signal_digest")
