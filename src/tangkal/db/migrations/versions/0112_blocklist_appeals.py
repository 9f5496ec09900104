"""block appeals: status as a checked enum, a decision deadline, review and decision, the
regulator that decides, the hashed follow-up code

Existing appeals are kept: their status stays (``received``), their deadline is their
receipt plus the default fourteen days (the profile in force when they were sent is not
known here), their regulator is the one that made the block they contest, and they have no
follow-up code (only officials read them, as before).

Revision ID: 0112_blocklist_appeals
Revises: 0111_blocklist_sanction
Create Date: 2026-12-03 06:00:00
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0112_blocklist_appeals"
down_revision: str | Sequence[str] | None = "0111_blocklist_sanction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("received", "under_review", "upheld", "rejected")
DEFAULT_DECISION_TIME = timedelta(days=14)


def upgrade() -> None:
    with op.batch_alter_table("block_appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("regulator_org_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("decide_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("follow_up_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))

    conn = op.get_bind()
    appeals = sa.table(
        "block_appeals",
        sa.column("id", sa.String),
        sa.column("block_id", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("decide_by", sa.DateTime(timezone=True)),
        sa.column("regulator_org_id", sa.String),
    )
    entries = sa.table(
        "block_entries", sa.column("id", sa.String), sa.column("requested_by_org_id", sa.String)
    )
    rows = conn.execute(
        sa.select(appeals.c.id, appeals.c.created_at, entries.c.requested_by_org_id).select_from(
            appeals.outerjoin(entries, entries.c.id == appeals.c.block_id)
        )
    ).all()
    for appeal_id, created_at, org_id in rows:
        conn.execute(
            appeals.update()
            .where(appeals.c.id == appeal_id)
            .values(decide_by=created_at + DEFAULT_DECISION_TIME, regulator_org_id=org_id)
        )

    with op.batch_alter_table("block_appeals", schema=None) as batch_op:
        batch_op.alter_column("decide_by", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=32),
            type_=sa.Enum(
                *STATUSES, name="appealstatus", native_enum=False, create_constraint=True, length=32
            ),
            existing_nullable=False,
        )
        batch_op.create_index(
            batch_op.f("ix_block_appeals_regulator_org_id"), ["regulator_org_id"], unique=False
        )
        batch_op.create_index(
            "ix_block_appeals_status_decide_by", ["status", "decide_by"], unique=False
        )
    # (the status's CHECK comes with its new type: Alembic adds it on PostgreSQL, SQLite's
    # batch copy writes it into the new table; the downgrade drops it the same way)


def downgrade() -> None:
    with op.batch_alter_table("block_appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_block_appeals_status_decide_by")
        batch_op.drop_index(batch_op.f("ix_block_appeals_regulator_org_id"))
        batch_op.alter_column(
            "status",
            existing_type=sa.Enum(
                *STATUSES, name="appealstatus", native_enum=False, create_constraint=True, length=32
            ),
            type_=sa.String(length=32),
            existing_nullable=False,
        )
        batch_op.drop_column("decision_reason")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("follow_up_hash")
        batch_op.drop_column("decide_by")
        batch_op.drop_column("regulator_org_id")
