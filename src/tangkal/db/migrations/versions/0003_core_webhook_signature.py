"""core: how an organisation's webhook pushes are signed (tangkal or Standard Webhooks)

Revision ID: 0003_core_webhook_signature
Revises: 0002_core_web_sessions
Create Date: 2026-12-02 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_core_webhook_signature"
down_revision: str | Sequence[str] | None = "0002_core_web_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "webhook_signature", sa.String(length=16), server_default="tangkal", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("webhook_signature")
