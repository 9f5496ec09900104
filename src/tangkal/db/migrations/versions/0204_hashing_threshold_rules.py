"""hashing: a bank's thresholds are a rule set per signal type, one row per named threshold

A signal type declares one or more named thresholds (``tangkal.hashing.signals.Threshold``):
PDQ and the text types one, ``distance``; vPDQ three, ``query_share``, ``banked_share`` and
``frame_distance``. ``hash_bank_thresholds`` gains the threshold's ``name`` in its primary key
(bank, type, name). Existing rows become each type's first threshold: ``distance`` for every
type but ``vpdq``, whose one row was the share of query frames that may go unmatched
(``100 - query match``) and becomes ``query_share`` (the query match itself, ``100 - value``).

Downgrade keeps each type's first threshold only (the others did not exist), converted back.

The table is rebuilt by Alembic's batch mode on SQLite (a primary key cannot be changed in
place there); nothing references it, so the copy deletes nothing.

Revision ID: 0204_hashing_threshold_rules
Revises: 0203_hashing_order_copies
Create Date: 2026-12-03 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0204_hashing_threshold_rules"
down_revision: str | Sequence[str] | None = "0203_hashing_order_copies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Fixed here as they were at this revision: the first threshold's name of every type, and the
# one type whose single value changes scale.
FIRST = "distance"
VPDQ, VPDQ_FIRST = "vpdq", "query_share"
PK = "pk_hash_bank_thresholds"


def upgrade() -> None:
    with op.batch_alter_table("hash_bank_thresholds") as batch:
        batch.add_column(sa.Column("name", sa.String(length=32), nullable=True))
    op.execute(
        sa.text(
            "UPDATE hash_bank_thresholds SET name = :first, threshold = 100 - threshold "
            "WHERE signal_type = :vpdq"
        ).bindparams(first=VPDQ_FIRST, vpdq=VPDQ)
    )
    op.execute(
        sa.text("UPDATE hash_bank_thresholds SET name = :first WHERE name IS NULL").bindparams(
            first=FIRST
        )
    )
    with op.batch_alter_table("hash_bank_thresholds", recreate="always") as batch:
        batch.alter_column("name", existing_type=sa.String(length=32), nullable=False)
        batch.drop_constraint(PK, type_="primary")
        batch.create_primary_key(PK, ["bank_id", "signal_type", "name"])


def downgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM hash_bank_thresholds WHERE NOT (name = :first AND signal_type <> :vpdq)"
            " AND NOT (name = :vfirst AND signal_type = :vpdq)"
        ).bindparams(first=FIRST, vfirst=VPDQ_FIRST, vpdq=VPDQ)
    )
    op.execute(
        sa.text(
            "UPDATE hash_bank_thresholds SET threshold = 100 - threshold WHERE signal_type = :vpdq"
        ).bindparams(vpdq=VPDQ)
    )
    with op.batch_alter_table("hash_bank_thresholds", recreate="always") as batch:
        batch.drop_constraint(PK, type_="primary")
        batch.create_primary_key(PK, ["bank_id", "signal_type"])
        batch.drop_column("name")
