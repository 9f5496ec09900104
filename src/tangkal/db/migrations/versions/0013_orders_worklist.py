"""orders: indexes on the open orders' sort key per platform and per regulator (partial on PG)

Revision ID: 0013_orders_worklist
Revises: 0012_orders_escalation
Create Date: 2026-12-03 13:45:00

The inbox and the regulator's board (``web.worklist.read_page``) read a scope's open
orders by ``(paused_at IS NOT NULL, deadline_at, id)`` from a keyset cursor. These indexes
hold exactly that key after the scope's column, so a page reads its
51 entries in order instead of every open order of the scope and a sort
(docs/benchmarks-worklist.md). On PostgreSQL they are partial on the open statuses: the
models' ``OPEN_STATUSES`` as of this revision, written out because migrations do not import
app code (tests/unit/web/test_worklist_indexes.py checks the two agree). On SQLite they
cover every order: SQLite matches a partial index's ``IN`` list only against the same
literals, and the page binds its statuses as parameters, so it would never read one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_orders_worklist"
down_revision: str | Sequence[str] | None = "0012_orders_escalation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('acknowledged', 'clarification_requested', 'delivered', 'issued', 'overdue')"
INDEXES = {
    "ix_orders_platform_worklist": "platform_org_id",
    "ix_orders_regulator_worklist": "regulator_org_id",
}


def upgrade() -> None:
    for name, scope in INDEXES.items():
        op.create_index(
            name,
            "orders",
            [scope, sa.text("(paused_at IS NOT NULL)"), "deadline_at", "id"],
            unique=False,
            postgresql_where=sa.text(OPEN),
        )


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="orders")
