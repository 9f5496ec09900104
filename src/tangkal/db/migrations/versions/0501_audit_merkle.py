"""audit: checkpoints sign the chain's RFC 9162 Merkle root (checkpoint v2)

``audit_checkpoints.root`` is nullable: the checkpoints signed before it have none and stay
version 1 (their signature is over the v1 message, which has no root), so nothing is
backfilled. The column is dropped with plain ``ALTER TABLE`` (SQLite 3.35 and later has DROP
COLUMN), as in ``0201_hashing_thresholds``, rather than batch mode's copy of the table. Downgrading drops the roots: the v2 checkpoints stored
then read as v1 and their stored copies no longer verify (copies a reader kept still do,
with a version that knows v2).

Revision ID: 0501_audit_merkle
Revises: 0500_audit
Create Date: 2026-12-03 05:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0501_audit_merkle"
down_revision: str | Sequence[str] | None = "0500_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_checkpoints", sa.Column("root", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE audit_checkpoints DROP COLUMN root")
