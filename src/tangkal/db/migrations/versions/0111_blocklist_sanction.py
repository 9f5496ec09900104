"""block entries: the sanction an entry belongs to

Revision ID: 0111_blocklist_sanction
Revises: 0110_blocklist
Create Date: 2026-12-02 15:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0111_blocklist_sanction'
down_revision: str | Sequence[str] | None = '0110_blocklist'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('block_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sanction_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_block_entries_sanction_id'), ['sanction_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('block_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_block_entries_sanction_id'))
        batch_op.drop_column('sanction_id')
