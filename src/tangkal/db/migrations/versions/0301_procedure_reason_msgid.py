"""procedure: a sanction keeps the message its reason was written from (id and parameters)

The escalation's reason was stored only as English text, and the console read its
parameters back out of that text to show it in Indonesian. The template (the catalogue's
message id) and the parameters are now stored beside the text; both columns are nullable,
and older sanctions (no id) are shown by their text as before. The text column stays: the
API, the exports and the DSA statements read it.

Revision ID: 0301_procedure_reason_msgid
Revises: 0300_procedure
Create Date: 2026-12-03 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0301_procedure_reason_msgid"
down_revision: str | Sequence[str] | None = "0300_procedure"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sanctions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_msgid", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "reason_params",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on both backends (SQLite has it since 3.35), not a batch
    # table copy: copying ``sanctions`` on SQLite drops the old table with foreign keys on,
    # which deletes every ``sanction_orders`` row with it (ON DELETE CASCADE)
    op.drop_column("sanctions", "reason_params")
    op.drop_column("sanctions", "reason_msgid")
