"""Which organisations an audit event concerns, so each reads only its own part of the record.

An event concerns the organisation that acted and the organisations that own its subject
(an order's regulator and platform, a bank's owner, a user's organisation...). The owners
are read from the subject's row by table name, so this module needs no domain package (the
domains import the audit, not the reverse). A subject type missing here concerns its actor
only; an event with no organisation at all (the system acting on something nobody owns) is
common to the regulators.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from tangkal.db.base import Base

#: object_type -> (table, the columns holding an organisation id that owns the subject)
OWNERS: dict[str, tuple[str, tuple[str, ...]]] = {
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

#: keys of an event's data that name an organisation it is about
_DATA_KEYS = ("platform_org_id", "regulator_org_id", "org_id")


def owners(
    session: Session, subjects: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], set[str]]:
    """The owning organisations of each (object_type, object_id), one query per type."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for object_type, object_id in subjects:
        if object_type in OWNERS:
            by_type[object_type].add(object_id)
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for object_type, ids in by_type.items():
        table_name, columns = OWNERS[object_type]
        table: Table | None = Base.metadata.tables.get(table_name)
        if table is None:
            continue
        cols = [table.c[c] for c in columns]
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for row in session.execute(select(table.c.id, *cols).where(table.c.id.in_(chunk))):
                found[(object_type, str(row[0]))].update(str(v) for v in row[1:] if v)
    return found


def from_data(data: Mapping[str, Any]) -> set[str]:
    """Organisations an event's own data names (a reminder about a platform's sanction)."""
    return {v for k in _DATA_KEYS if isinstance(v := data.get(k), str) and v}
