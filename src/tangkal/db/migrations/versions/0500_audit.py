"""audit: the organisations each event concerns (backfilled), signed checkpoints

Revision ID: 0500_audit
Revises:
Create Date: 2026-12-03 00:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0500_audit"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("audit",)
depends_on: str | Sequence[str] | None = ("0003_core_webhook_signature",)

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: as tangkal.audit.concerns.OWNERS when this was written (a migration does not import code
#: that may change later)
_OWNERS = {
    "order": ("orders", ("regulator_org_id", "platform_org_id")),
    "sanction": ("sanctions", ("regulator_org_id", "platform_org_id")),
    "objection": ("objections", ("regulator_org_id", "platform_org_id")),
    "normalisation": ("normalisations", ("regulator_org_id", "platform_org_id")),
    "bank": ("hash_banks", ("owner_org_id",)),
    "user": ("users", ("org_id",)),
    "api_token": ("api_tokens", ("org_id",)),
    "organization": ("organizations", ("id",)),
    "rpz_subscriber": ("rpz_subscribers", ("org_id",)),
    "tsig_key": ("rpz_tsig_keys", ("org_id",)),
    "compliance_resolver": ("compliance_resolvers", ("org_id",)),
    "block_entry": ("block_entries", ("requested_by_org_id",)),
}


def upgrade() -> None:
    op.create_table(
        "audit_concerns",
        sa.Column("seq", BigId, autoincrement=False, nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("seq", "org_id", name=op.f("pk_audit_concerns")),
    )
    op.create_index("ix_audit_concerns_org", "audit_concerns", ["org_id", "seq"], unique=False)
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("size", BigId, nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    _backfill()


def _backfill() -> None:
    """Existing events get their actor and their subject's owners as they are now (a
    subject since deleted leaves its events to the actor; data naming an organisation is
    not read here)."""
    bind = op.get_bind()
    tables = set(sa.inspect(bind).get_table_names())
    selects = [
        "SELECT seq, actor_org_id AS org_id FROM audit_events WHERE actor_org_id IS NOT NULL"
    ]
    for object_type, (table, columns) in _OWNERS.items():
        if table not in tables:  # that package's branch is not applied yet
            continue
        for column in columns:
            selects.append(
                f"SELECT e.seq, t.{column} AS org_id FROM audit_events e "
                f"JOIN {table} t ON t.id = e.object_id "
                f"WHERE e.object_type = '{object_type}' AND t.{column} IS NOT NULL"
            )
    union = " UNION ".join(selects)
    op.execute(f"INSERT INTO audit_concerns (seq, org_id) SELECT seq, org_id FROM ({union}) u")


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_concerns_org", table_name="audit_concerns")
    op.drop_table("audit_concerns")
