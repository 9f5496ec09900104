"""Who sees a record of the procedure: the platform it concerns and the regulator that decides.

Sanctions, objections and normalisation requests all carry ``platform_org_id`` and
``regulator_org_id`` (NULL for a public request no regulator has taken up yet); one rule
scopes all three, so a tenant never sees another's record through any of them, and a record
looked up by id or reference answers the same 404 whether it does not exist or is not yours.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import OrgKind
from tangkal.accounts.principal import Principal
from tangkal.enums import parse_enum
from tangkal.errors import Msg, NotFound

T = TypeVar("T")


def scope(model: Any, principal: Principal) -> ColumnElement[bool]:
    if principal.org_kind is OrgKind.PLATFORM:
        return model.platform_org_id == principal.org_id
    if principal.org_kind is OrgKind.REGULATOR:
        return (model.regulator_org_id == principal.org_id) | (model.regulator_org_id.is_(None))
    return model.id.is_(None)


def get_one(
    session: Session,
    model: type[T],
    principal: Principal,
    key: str,
    missing: Msg,
    *,
    for_update: bool = False,
    options: Sequence[Any] = (),
) -> T:
    """The record with id or reference ``key`` that the caller may see, else ``missing``."""
    m: Any = model
    q: Select[Any] = select(model).where((m.id == key) | (m.reference == key), scope(m, principal))
    if options:
        q = q.options(*options)
    if for_update and session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=m)
    found = session.scalar(q)
    if found is None:
        raise NotFound(missing)
    return found


def listed(
    session: Session,
    model: type[T],
    principal: Principal,
    *,
    status: str | None,
    statuses: type[enum.Enum],
    order_by: Any,
    limit: int,
    where: Sequence[Any] = (),
    options: Sequence[Any] = (),
) -> list[T]:
    """The records the caller may see, filtered by a status typed by a person."""
    m: Any = model
    q: Select[Any] = select(model).where(scope(m, principal), *where)
    if status:
        q = q.where(m.status == parse_enum(statuses, status, Msg("status"), field="status"))
    if options:
        q = q.options(*options)
    return list(session.scalars(q.order_by(order_by).limit(limit)))


def remind_due(
    session: Session,
    model: Any,
    pending: enum.Enum,
    lead: timedelta,
    action: str,
    object_type: str,
    now: datetime,
    limit: int = 200,
) -> int:
    """Officials are warned on the record, once, when a pending request's decision time is
    within ``lead`` (or past)."""
    from tangkal.accounts.principal import SYSTEM
    from tangkal.audit.services import record

    rows = list(
        session.scalars(
            select(model)
            .where(
                model.status == pending, model.reminded_at.is_(None), model.decide_by <= now + lead
            )
            .limit(limit)
        )
    )
    for row in rows:
        row.reminded_at = now
        record(
            session,
            SYSTEM,
            action,
            object_type,
            row.id,
            {
                "reference": row.reference,
                "platform_org_id": row.platform_org_id,
                "decide_by": row.decide_by.isoformat(),
                "overdue": row.decide_by <= now,
            },
        )
    return len(rows)
