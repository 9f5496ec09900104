"""order lookup keys: index (key, id) for newest-first related orders

Revision ID: 0011_orders_key_recency
Revises: 0010_orders
Create Date: 2026-11-29 00:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_orders_key_recency"
down_revision: str | Sequence[str] | None = "0010_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_locator_keys", schema=None) as batch_op:
        batch_op.create_index("ix_order_locator_keys_key_id", ["key", "id"], unique=False)
        batch_op.drop_index("ix_order_locator_keys_key")


def downgrade() -> None:
    with op.batch_alter_table("order_locator_keys", schema=None) as batch_op:
        batch_op.create_index("ix_order_locator_keys_key", ["key"], unique=False)
        batch_op.drop_index("ix_order_locator_keys_key_id")
