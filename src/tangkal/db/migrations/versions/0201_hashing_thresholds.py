"""hashing: a bank's thresholds in one table, one row per signal type

The per-type columns ``hash_banks.pdq_threshold`` and ``text_threshold`` (the latter the
``text_near`` type's) become rows of ``hash_bank_thresholds``, values kept; a type added later
needs no column, and a bank without a row for a type gets that type's own default.

The columns are dropped and added with plain ``ALTER TABLE`` (SQLite 3.35 and later has DROP
COLUMN), not Alembic's batch mode: batch mode copies ``hash_banks`` and drops the original, and
with SQLite's foreign keys on that drop deletes, by ``ON DELETE CASCADE``, every bank's content
and the threshold rows just written.

Revision ID: 0201_hashing_thresholds
Revises: 0200_hashing
Create Date: 2026-12-02 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0201_hashing_thresholds"
down_revision: str | Sequence[str] | None = "0200_hashing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns' signal types, fixed here as they were when the columns existed.
COLUMNS = (("pdq_threshold", "pdq"), ("text_threshold", "text_near"))


def upgrade() -> None:
    op.create_table(
        "hash_bank_thresholds",
        sa.Column("bank_id", sa.String(length=36), nullable=False),
        sa.Column("signal_type", sa.String(length=32), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["hash_banks.id"],
            name=op.f("fk_hash_bank_thresholds_bank_id_hash_banks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bank_id", "signal_type", name=op.f("pk_hash_bank_thresholds")),
    )
    for column, signal_type in COLUMNS:
        op.execute(
            sa.text(
                "INSERT INTO hash_bank_thresholds (bank_id, signal_type, threshold) "
                f"SELECT id, :signal_type, {column} FROM hash_banks"
            ).bindparams(signal_type=signal_type)
        )
    for column, _ in COLUMNS:
        op.execute(f"ALTER TABLE hash_banks DROP COLUMN {column}")


def downgrade() -> None:
    for column, default in (("pdq_threshold", 31), ("text_threshold", 38)):
        op.execute(f"ALTER TABLE hash_banks ADD COLUMN {column} INTEGER NOT NULL DEFAULT {default}")
    for column, signal_type in COLUMNS:
        op.execute(
            sa.text(
                f"UPDATE hash_banks SET {column} = (SELECT threshold FROM hash_bank_thresholds t "
                "WHERE t.bank_id = hash_banks.id AND t.signal_type = :signal_type) "
                "WHERE EXISTS (SELECT 1 FROM hash_bank_thresholds t "
                "WHERE t.bank_id = hash_banks.id AND t.signal_type = :signal_type)"
            ).bindparams(signal_type=signal_type)
        )
    op.drop_table("hash_bank_thresholds")
