"""core: the time zone a person reads times in (WITA, WIT), where it differs from the profile's

Revision ID: 0005_core_user_timezone
Revises: 0004_core_totp
Create Date: 2026-12-03 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_core_user_timezone"
down_revision: str | Sequence[str] | None = "0004_core_totp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: the SOP profile's zone (every existing person keeps what they saw)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("timezone")
