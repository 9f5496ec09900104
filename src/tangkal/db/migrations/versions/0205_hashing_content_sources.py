"""hashing: where each banked signal came from, in fields (hash_content_sources)

One row per banked content: its kind (upload, exchange-file row, copy of another bank's
content, order evidence), the original it is a copy of (content, bank, organisation; flattened
to the first of a chain), the file's format, name and row, the order, and the verdict counts an
imported file reported. Feedback on a copy is counted on its original through
``origin_content_id``. Existing content is backfilled from what it already says: an order id
makes it order evidence, a ``source_ref`` of ``import:<format>`` or ``tat:<id>`` an exchange
file row, anything else the owner's upload.

Revision ID: 0205_hashing_content_sources
Revises: 0204_hashing_threshold_rules
Create Date: 2026-12-03 10:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0205_hashing_content_sources"
down_revision: str | Sequence[str] | None = "0204_hashing_threshold_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KINDS = ("upload", "file", "bank", "order")


def upgrade() -> None:
    op.create_table(
        "hash_content_sources",
        sa.Column("content_id", BigId, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                *KINDS, name="sourcekind", native_enum=False, length=32, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("origin_content_id", BigId, nullable=True),
        sa.Column("origin_bank_id", sa.String(length=36), nullable=True),
        sa.Column("origin_org_id", sa.String(length=36), nullable=True),
        sa.Column("file_format", sa.String(length=10), nullable=True),
        sa.Column("file_name", sa.String(length=300), nullable=True),
        sa.Column("file_row", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("reported_confirmed", sa.Integer(), nullable=True),
        sa.Column("reported_false_positive", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["hash_bank_content.id"],
            name=op.f("fk_hash_content_sources_content_id_hash_bank_content"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("content_id", name=op.f("pk_hash_content_sources")),
    )
    op.create_index(
        op.f("ix_hash_content_sources_origin_content_id"),
        "hash_content_sources",
        ["origin_content_id"],
    )
    op.execute(
        """
        INSERT INTO hash_content_sources (content_id, kind, order_id, file_format)
        SELECT id,
               CASE WHEN order_id IS NOT NULL THEN 'order'
                    WHEN source_ref LIKE 'import:%' OR source_ref LIKE 'tat:%' THEN 'file'
                    ELSE 'upload' END,
               order_id,
               CASE WHEN order_id IS NOT NULL THEN NULL
                    WHEN source_ref LIKE 'import:%' THEN substr(source_ref, 8, 10)
                    WHEN source_ref LIKE 'tat:%' THEN 'tat'
                    ELSE NULL END
        FROM hash_bank_content
        """
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_hash_content_sources_origin_content_id"), table_name="hash_content_sources"
    )
    op.drop_table("hash_content_sources")
