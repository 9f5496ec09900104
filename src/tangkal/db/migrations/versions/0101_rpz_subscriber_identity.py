"""rpz subscribers: what identifies a subscriber's transfers, and how its last one was credited

Revision ID: 0101_rpz_subscriber_identity
Revises: 0100_rpz
Create Date: 2026-12-02 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0101_rpz_subscriber_identity"
down_revision: str | Sequence[str] | None = "0100_rpz"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rpz_subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tsig_key_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("transfer_host", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("transfer_port", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_identified_by", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "credit_shared_with",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("last_notify_ack_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("rpz_subscribers", schema=None) as batch_op:
        for column in (
            "last_notify_ack_at",
            "credit_shared_with",
            "last_identified_by",
            "transfer_port",
            "transfer_host",
            "tsig_key_name",
        ):
            batch_op.drop_column(column)
