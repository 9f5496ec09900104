"""orders: escalation steps of the profile (replacing warning letters), next_due_at index

Revision ID: 0012_orders_escalation
Revises: 0011_orders_key_recency
Create Date: 2026-12-02 15:10:00

Every open order gets ``next_due_at`` = now, so the first scheduler pass after the upgrade
looks at each once and sets its real next moment; warning letters become steps of kind
``warning_letter`` with their codes, positions and fines kept.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_orders_escalation'
down_revision: str | Sequence[str] | None = '0011_orders_key_recency'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "('issued', 'delivered', 'acknowledged', 'clarification_requested', 'overdue')"


def upgrade() -> None:
    op.create_table('escalation_steps',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('fine', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sanction_id', sa.String(length=36), nullable=True),
    sa.Column('annulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fine_annulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('annulled_by_objection', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_escalation_steps_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_steps')),
    sa.UniqueConstraint('order_id', 'code', name=op.f('uq_escalation_steps_order_id'))
    )
    with op.batch_alter_table('escalation_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_steps_order_id'), ['order_id'], unique=False)
    op.execute(
        "INSERT INTO escalation_steps (id, order_id, position, code, kind, fine, currency, "
        "due_at, issued_at) SELECT w.id, w.order_id, "
        "(SELECT count(*) FROM order_warnings v WHERE v.order_id = w.order_id "
        " AND (v.issued_at < w.issued_at OR (v.issued_at = w.issued_at AND v.code < w.code))), "
        "w.code, 'warning_letter', w.fine, '', w.issued_at, w.issued_at FROM order_warnings w"
    )
    with op.batch_alter_table('order_warnings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_warnings_order_id'))
    op.drop_table('order_warnings')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('steps_taken', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('held_by', sa.String(length=36), nullable=True))
    op.execute("UPDATE orders SET steps_taken = warnings_issued")
    op.execute(f"UPDATE orders SET next_due_at = CURRENT_TIMESTAMP WHERE status IN {OPEN}")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('steps_taken', server_default=None)
        batch_op.create_index('ix_orders_next_due', ['next_due_at'], unique=False, postgresql_where=sa.text('next_due_at IS NOT NULL'), sqlite_where=sa.text('next_due_at IS NOT NULL'))
        batch_op.drop_column('next_warning_at')
        batch_op.drop_column('warnings_issued')


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warnings_issued', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('next_warning_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE orders SET warnings_issued = steps_taken")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('warnings_issued', server_default=None)
        batch_op.drop_index('ix_orders_next_due', postgresql_where=sa.text('next_due_at IS NOT NULL'), sqlite_where=sa.text('next_due_at IS NOT NULL'))
        batch_op.drop_column('held_by')
        batch_op.drop_column('next_due_at')
        batch_op.drop_column('steps_taken')
    op.create_table('order_warnings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('fine', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_warnings_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_warnings')),
    sa.UniqueConstraint('order_id', 'code', name=op.f('uq_order_warnings_order_id'))
    )
    with op.batch_alter_table('order_warnings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_warnings_order_id'), ['order_id'], unique=False)
    op.execute("INSERT INTO order_warnings (id, order_id, code, fine, issued_at) "
               "SELECT id, order_id, code, fine, issued_at FROM escalation_steps")
    with op.batch_alter_table('escalation_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_steps_order_id'))
    op.drop_table('escalation_steps')
