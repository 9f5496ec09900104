"""Rows for the tests that write hundreds of records in one INSERT per table (the tests that
count database statements for 10 rows and for 200): a platform, an overdue order of it, a
sanction against it and the blocks of one of its names, as plain column values.

The query-count tests of the console lists and of the public statements export seed the
same world; each adds what its own page reads (approvals and appeals, or refused
restorations) on top of what these give."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from tangkal.accounts.models import Organization, OrgKind
from tangkal.blocklist.models import BlockAction, BlockEntry, BlockStatus
from tangkal.db.session import Database
from tangkal.orders.models import Order, OrderStatus
from tangkal.sanctions.models import Sanction, SanctionOrder, SanctionStatus

LEGAL_BASIS = "PM 5/2020 pasal 15"

Row = dict[str, Any]


def new_ids(n: int) -> list[str]:
    """``n`` fresh primary keys."""
    return [str(uuid.uuid4()) for _ in range(n)]


def platform_row(platform_id: str, tag: str) -> Row:
    """A platform named ``p-<tag>``."""
    return {"id": platform_id, "kind": OrgKind.PLATFORM, "name": f"p-{tag}", "display_name": tag}


def overdue_order_row(
    order_id: str, tag: str, regulator: str, platform: str, created_by: str, at: datetime
) -> Row:
    """A four-hour terrorism order of ``platform`` issued at ``at``, overdue after three
    warnings."""
    return {
        "id": order_id,
        "reference": f"O-{tag}",
        "regulator_org_id": regulator,
        "platform_org_id": platform,
        "category": "terrorism",
        "urgency": "urgent",
        "legal_basis": "UU 5/2018",
        "reason": "propaganda",
        "status": OrderStatus.OVERDUE,
        "sop_profile": "indonesia",
        "deadline_seconds": 4 * 3600,
        "created_by": created_by,
        "issued_at": at,
        "received_at": at,
        "deadline_at": at + timedelta(hours=4),
        "paused_seconds": 0.0,
        "steps_taken": 3,
        "updated_at": at,
    }


def block_sanction_row(
    sanction_id: str,
    tag: str,
    regulator: str,
    platform: str,
    proposed_by: str,
    at: datetime,
    *,
    pending: bool = False,
) -> Row:
    """An official's blocking sanction of ``platform`` for unanswered orders: active since
    ``at``, or still waiting for its approvals (``pending``)."""
    return {
        "id": sanction_id,
        "reference": f"S-{tag}",
        "platform_org_id": platform,
        "regulator_org_id": regulator,
        "action": "block",
        "legal_basis": LEGAL_BASIS,
        "reason": "orders unanswered",
        "status": SanctionStatus.PENDING_APPROVAL if pending else SanctionStatus.ACTIVE,
        "source": "official",
        "proposed_by": proposed_by,
        "proposed_at": at,
        "sop_profile": "indonesia",
        "activated_at": None if pending else at,
    }


def block_row(
    block_id: str,
    domain: str,
    regulator: str,
    requested_by: str,
    at: datetime,
    *,
    status: BlockStatus = BlockStatus.ACTIVE,
    sanction_id: str | None = None,
    order_id: str | None = None,
) -> Row:
    """An NXDOMAIN block of ``domain`` asked for by ``requested_by`` (``org/user(role)``),
    part of a sanction or of an order; active since ``at`` unless it waits for approval."""
    return {
        "id": block_id,
        "domain": domain,
        "rname": ".".join(reversed(domain.split("."))),
        "action": BlockAction.NXDOMAIN,
        "status": status,
        "legal_basis": LEGAL_BASIS,
        "reason": "sanction",
        "category": "terrorism",
        "sanction_id": sanction_id,
        "order_id": order_id,
        "requested_by": requested_by,
        "requested_by_key": requested_by.rpartition("(")[0],
        "requested_by_org_id": regulator,
        "requested_at": at,
        "activated_at": None if status is BlockStatus.PENDING_APPROVAL else at,
    }


@dataclass(frozen=True)
class Sanctioned:
    """The ids of what :func:`sanctioned_platform` wrote."""

    tag: str
    platform: str
    order: str
    sanction: str
    blocks: list[str]


def sanctioned_platform(
    rows: dict[Any, list[Row]],
    regulator: str,
    actor: str,
    at: datetime,
    *,
    pending: bool = False,
    names: int = 2,
    tld: str = "example",
) -> Sanctioned:
    """Add to ``rows`` (from :func:`tables_for`) a platform with an overdue order and an
    official's sanction over ``names`` of its names (``n0.<tag>.<tld>``, ...), active since
    ``at`` or waiting for approval (``pending``, its blocks too)."""
    tag = uuid.uuid4().hex[:10]
    platform, order, sanction = new_ids(3)
    rows[Organization].append(platform_row(platform, tag))
    rows[Order].append(overdue_order_row(order, tag, regulator, platform, actor, at))
    rows[Sanction].append(
        block_sanction_row(sanction, tag, regulator, platform, actor, at, pending=pending)
    )
    rows[SanctionOrder].append({"sanction_id": sanction, "order_id": order})
    blocks = new_ids(names)
    status = BlockStatus.PENDING_APPROVAL if pending else BlockStatus.ACTIVE
    for n, block in enumerate(blocks):
        rows[BlockEntry].append(
            block_row(block, f"n{n}.{tag}.{tld}", regulator, actor, at, status=status,
                      sanction_id=sanction)
        )  # fmt: skip
    return Sanctioned(tag, platform, order, sanction, blocks)


def tables_for(*extra: Any) -> dict[Any, list[Row]]:
    """Empty row lists for the platform, order, sanction and block tables and ``extra``,
    in an order the foreign keys accept."""
    return {t: [] for t in (Organization, Order, Sanction, SanctionOrder, BlockEntry, *extra)}


def insert_all(db: Database, rows: Mapping[Any, Iterable[Row]]) -> None:
    """One INSERT per table, in the order of ``rows``, in one transaction."""
    with db.engine.begin() as conn:
        for table, values in rows.items():
            values = list(values)
            if values:
                conn.execute(insert(table), values)
