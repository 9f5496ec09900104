"""hashing: each banked content's match rate and its hold for review (hash_match_rates)

One row per content that has matched: matches in the current and previous window, an
exponentially weighted baseline, and the hold the quarantine rule (the SOP profile's
``[hash_quarantine]``) puts on a content that suddenly matches far more than its history.
No foreign key to ``hash_bank_content`` (see tangkal.hashing.quarantine_models).

Revision ID: 0206_hashing_quarantine
Revises: 0205_hashing_content_sources
Create Date: 2026-12-03 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0206_hashing_quarantine"
down_revision: str | Sequence[str] | None = "0205_hashing_content_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hash_match_rates",
        sa.Column("content_id", BigId, autoincrement=False, nullable=False),
        sa.Column("bank_id", sa.String(length=36), nullable=False),
        sa.Column("signal_digest", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("previous", sa.Integer(), nullable=False),
        sa.Column("baseline_sum", sa.Float(), nullable=False),
        sa.Column("baseline_weight", sa.Float(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("held_recent", sa.Float(), nullable=True),
        sa.Column("held_baseline", sa.Float(), nullable=True),
        sa.Column("held_limit", sa.Float(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("content_id", name=op.f("pk_hash_match_rates")),
    )
    op.create_index(
        op.f("ix_hash_match_rates_bank_id"), "hash_match_rates", ["bank_id"], unique=False
    )
    op.create_index(
        op.f("ix_hash_match_rates_held_at"), "hash_match_rates", ["held_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_hash_match_rates_held_at"), table_name="hash_match_rates")
    op.drop_index(op.f("ix_hash_match_rates_bank_id"), table_name="hash_match_rates")
    op.drop_table("hash_match_rates")
