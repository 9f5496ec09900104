"""rpz landing: the landing each journal step pointed to, and the zone's current landing

The landing page can be a CNAME or A/AAAA records, and it can change (a setting). IXFR must
delete exactly the records a secondary holds, so every step of a ``landing`` name records
the landing it meant (``old_landing``/``new_landing``, canonical text such as
``cname:laman-labuh.tangkal.id.`` or ``a:192.0.2.1``); ``rpz_state.landing`` is the landing
the zone's entries point to now, so a changed setting is seen at start and published as a
change set of its own (a new serial). NULL: written before this revision (unknown).
``rpz_entries.landing`` is a name's own landing where it differs from that default (NULL:
the default), and ``block_entries.landing`` the landing a block asked for (the blocklist's
table, hence ``depends_on`` its first revision).

Revision ID: 0102_rpz_landing
Revises: 0101_rpz_subscriber_identity
Create Date: 2026-12-03 05:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0102_rpz_landing"
down_revision: str | Sequence[str] | None = "0101_rpz_subscriber_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0110_blocklist"


def upgrade() -> None:
    with op.batch_alter_table("block_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("landing", sa.String(length=400), nullable=True))
    with op.batch_alter_table("rpz_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("landing", sa.String(length=400), nullable=True))
    with op.batch_alter_table("rpz_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("old_landing", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("new_landing", sa.String(length=400), nullable=True))
    with op.batch_alter_table("rpz_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("landing", sa.String(length=400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rpz_state", schema=None) as batch_op:
        batch_op.drop_column("landing")
    with op.batch_alter_table("rpz_changes", schema=None) as batch_op:
        batch_op.drop_column("new_landing")
        batch_op.drop_column("old_landing")
    with op.batch_alter_table("rpz_entries", schema=None) as batch_op:
        batch_op.drop_column("landing")
    with op.batch_alter_table("block_entries", schema=None) as batch_op:
        batch_op.drop_column("landing")
