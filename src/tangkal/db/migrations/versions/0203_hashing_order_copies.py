"""hashing: copies of an order's banked evidence that lookups found, one row per find

``hash_order_copies`` is what an order's page and ``GET /api/v1/orders/{id}/matches`` read:
which banked signal was matched, by which type and how near (with the bank's threshold then),
which organisation found it, when, and through which lookup. Until now a find was only the
audit event ``order.copy_matched``, which stays; finds recorded before this migration are not
copied here (the audit JSON lacks the bank, threshold and lookup).

Neither ``order_id`` nor ``content_id`` is a foreign key (the hashing branch depends only on
core, as ``hash_bank_content.order_id`` does; a removed content's finds stay as history).

Revision ID: 0203_hashing_order_copies
Revises: 0202_hashing_video
Create Date: 2026-12-03 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0203_hashing_order_copies"
down_revision: str | Sequence[str] | None = "0202_hashing_video"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
VIA = (
    "api_file",
    "api_signal",
    "api_text",
    "hma_file",
    "hma_signal",
    "console_file",
    "console_text",
)


def upgrade() -> None:
    op.create_table(
        "hash_order_copies",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("content_id", BigId, nullable=False),
        sa.Column("evidence_id", sa.String(length=36), nullable=True),
        sa.Column("bank_id", sa.String(length=36), nullable=False),
        sa.Column("bank_name", sa.String(length=100), nullable=False),
        sa.Column("signal_type", sa.String(length=32), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("query_signal", sa.Text(), nullable=True),
        sa.Column(
            "via",
            sa.Enum(*VIA, name="findvia", native_enum=False, length=32, create_constraint=True),
            nullable=False,
        ),
        sa.Column("upload_sha256", sa.String(length=64), nullable=True),
        sa.Column("found_by_org_id", sa.String(length=36), nullable=False),
        sa.Column("found_by", sa.String(length=300), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["found_by_org_id"],
            ["organizations.id"],
            name=op.f("fk_hash_order_copies_found_by_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hash_order_copies")),
    )
    op.create_index(
        "ix_hash_order_copies_order_found", "hash_order_copies", ["order_id", "found_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_hash_order_copies_order_found", table_name="hash_order_copies")
    op.drop_table("hash_order_copies")
