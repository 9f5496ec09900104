"""Filing an order in two steps: checked and shaped in memory, then written in bulk.

Why two steps: everything about a new order that can be refused (role, category, urgency,
every locator, every evidence file) is decided before the database is touched, in
:func:`prepare_order`, which needs no session. :func:`write_orders` then writes any number of
prepared orders with one bulk ``INSERT`` per table. The HTTP intake prepares each request on
the event loop and lets one writer thread commit whatever is waiting together (see
:mod:`tangkal.db.groupcommit`); the console, the CSV import and the demo write a batch of
one. Both go through these same two functions, so an order is the same whichever way it came.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.db.base import Base, new_id, utcnow
from tangkal.db.bulk import insert_rows
from tangkal.delivery.models import DeliveryStatus, OutboxMessage
from tangkal.errors import InvalidInput, Msg, TooLarge
from tangkal.locators import Locator, parse_locator
from tangkal.orders.models import Evidence, LocatorKey, Order, OrderLocator, OrderStatus
from tangkal.orders.schemas import EvidenceIn, OrderIn
from tangkal.orders.shapes import order_payload
from tangkal.settings import get_settings
from tangkal.sop.profile import SopProfile, active_profile


def parse_locators(texts: list[str]) -> list[tuple[str, Locator]]:
    """Canonicalise every locator, reporting all bad ones at once with their position."""
    parsed: list[tuple[str, Locator]] = []
    problems: list[Msg] = []
    for i, text in enumerate(texts):
        try:
            parsed.append((text, parse_locator(text)))
        except InvalidInput as exc:
            problems.append(
                Msg("locators[%(i)s] (%(text)r): %(problem)s", i=i, text=text[:80], problem=exc.msg)
            )
    if problems:
        raise InvalidInput(Msg("%(problems)s", problems=tuple(problems)), field="locators")
    seen: set[str] = set()
    unique: list[tuple[str, Locator]] = []
    for text, loc in parsed:
        if loc.canonical not in seen:
            seen.add(loc.canonical)
            unique.append((text, loc))
    return unique


def check_evidence_total(have_files: int, have_bytes: int, files: int, size: int = 0) -> None:
    """An order's evidence within its caps (``TANGKAL_MAX_ORDER_EVIDENCE_FILES`` and
    ``_BYTES``): the files it has plus the ones being added. Each file has its own limit too;
    without a total one order took 60 MB of evidence, stored and audited whole."""
    settings = get_settings()
    if have_files + files > settings.max_order_evidence_files:
        raise TooLarge(
            Msg(
                "An order may carry at most %(limit)s evidence files "
                "(TANGKAL_MAX_ORDER_EVIDENCE_FILES); this one would have %(count)s.",
                limit=settings.max_order_evidence_files,
                count=have_files + files,
            ),
            field="evidence",
        )
    if have_bytes + size > settings.max_order_evidence_bytes:
        raise TooLarge(
            Msg(
                "An order's evidence may total at most %(limit)s bytes "
                "(TANGKAL_MAX_ORDER_EVIDENCE_BYTES); this one would have %(size)s bytes.",
                limit=settings.max_order_evidence_bytes,
                size=have_bytes + size,
            ),
            field="evidence",
        )


def decode_evidence(item: EvidenceIn) -> bytes:
    limit = get_settings().max_evidence_bytes
    if len(item.content_base64) > (limit * 4) // 3 + 8:
        raise TooLarge(
            Msg(
                "Evidence %(name)r is larger than the limit of %(limit)s bytes.",
                name=item.filename,
                limit=limit,
            ),
            field="evidence",
        )
    try:
        content = base64.b64decode(item.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            Msg("Evidence %(name)r is not valid base64.", name=item.filename), field="evidence"
        ) from None
    return content


@dataclass(frozen=True, slots=True)
class NewEvidence:
    """An evidence file, size-checked and hashed once."""

    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    md5: str
    content: bytes
    created_at: datetime

    @classmethod
    def of(cls, filename: str, content_type: str, content: bytes) -> NewEvidence:
        limit = get_settings().max_evidence_bytes
        if not content:
            raise InvalidInput(
                Msg("Evidence %(name)r is empty; attach the file itself.", name=filename),
                field="evidence",
            )
        if len(content) > limit:
            raise TooLarge(
                Msg(
                    "Evidence %(name)r is %(size)s bytes; the limit is %(limit)s.",
                    name=filename,
                    size=len(content),
                    limit=limit,
                ),
                field="evidence",
            )
        return cls(
            id=new_id(),
            filename=filename[:300],
            content_type=content_type[:200],
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            md5=hashlib.md5(content, usedforsecurity=False).hexdigest(),
            content=content,
            created_at=utcnow(),
        )

    def row(self, order_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "order_id": order_id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "md5": self.md5,
            "content": self.content,
            "created_at": self.created_at,
        }

    def audit_data(self) -> dict[str, Any]:
        return {
            "evidence_id": self.id,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
        }


@dataclass(frozen=True, slots=True)
class NewLocator:
    position: int
    kind: str
    canonical: str
    display: str
    url: str | None
    domain: str | None
    submitted: str

    def row(self, order_id: str) -> dict[str, Any]:
        return {
            "order_id": order_id,
            "position": self.position,
            "kind": self.kind,
            "canonical": self.canonical,
            "display": self.display,
            "url": self.url,
            "domain": self.domain,
            "submitted": self.submitted,
        }


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order that passed every check and is ready to be written.

    It answers the same attribute names as a stored :class:`Order`, so the functions in
    :mod:`tangkal.orders.shapes` show it exactly as they will show the stored one.
    ``platform`` is what the caller named; ``platform_org_id`` is filled in by the writer,
    which looks the platform up in the transaction that writes the order.
    """

    id: str
    reference: str
    platform: str
    regulator_org_id: str
    category: str
    urgency: str
    legal_basis: str
    reason: str
    sop_profile: str
    deadline_seconds: int
    created_by: str
    issued_at: datetime
    deadline_at: datetime
    locators: tuple[NewLocator, ...]
    evidence: tuple[NewEvidence, ...]
    keys: tuple[tuple[str, bool], ...]  # (lookup key, is it one of the order's own items)
    platform_org_id: str = ""
    status: OrderStatus = OrderStatus.ISSUED
    # A new order has not reached any of these yet.
    received_at: datetime | None = None
    receipt_basis: str | None = None
    delivered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    paused_at: datetime | None = None
    paused_seconds: float = 0.0
    responded_at: datetime | None = None
    overdue_at: datetime | None = None
    # the scheduler's first look: when the order is deemed received if nobody fetches it
    next_due_at: datetime | None = None
    steps_taken: int = 0
    held_by: str | None = None
    clarifications: tuple[Any, ...] = field(default=())
    responses: tuple[Any, ...] = field(default=())
    steps: tuple[Any, ...] = field(default=())

    def for_platform(self, platform_org_id: str) -> NewOrder:
        return dataclasses.replace(self, platform_org_id=platform_org_id)

    def order_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "regulator_org_id": self.regulator_org_id,
            "platform_org_id": self.platform_org_id,
            "category": self.category,
            "urgency": self.urgency,
            "legal_basis": self.legal_basis,
            "reason": self.reason,
            "status": self.status,
            "sop_profile": self.sop_profile,
            "deadline_seconds": self.deadline_seconds,
            "created_by": self.created_by,
            "issued_at": self.issued_at,
            "deadline_at": self.deadline_at,
            "next_due_at": self.next_due_at,
            "steps_taken": 0,
            "updated_at": self.issued_at,
        }

    def audit_data(self, platform_name: str) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "platform": platform_name,
            "category": self.category,
            "urgency": self.urgency,
            "deadline_seconds": self.deadline_seconds,
            "locators": [loc.canonical for loc in self.locators],
            "sop_profile": self.sop_profile,
        }


def _reference(now: datetime) -> str:
    # 48 random bits a day: at a million orders a day two of them share a reference about
    # once in five hundred days (32 bits made that a hundred times a day; a benchmark of
    # 30,000 orders hit it one run in ten).
    return f"ORD-{now:%Y%m%d}-{secrets.token_hex(6).upper()}"


def prepare_order(
    actor: Principal,
    data: OrderIn,
    profile: SopProfile | None = None,
    now: datetime | None = None,
) -> NewOrder:
    """Check and shape an order without the database; raises on the first thing refused."""
    actor.require(Role.ANALYST, Role.OFFICIAL)
    actor.require_kind(OrgKind.REGULATOR)
    profile = profile or active_profile()
    category = profile.category(data.category.strip().lower())
    urgency = profile.urgency_for(category.key, data.urgency)
    platform = data.platform.strip()
    if not platform:
        raise InvalidInput(Msg("Name the platform the order is for."), field="platform")
    locators = parse_locators(data.locators)
    check_evidence_total(0, 0, len(data.evidence))
    evidence = tuple(
        NewEvidence.of(e.filename, e.content_type, decode_evidence(e)) for e in data.evidence
    )
    check_evidence_total(0, 0, len(evidence), sum(e.size for e in evidence))
    now = now or utcnow()
    deadline: timedelta = profile.deadline(urgency)
    keys: dict[str, bool] = {}
    for _, loc in locators:
        keys[loc.canonical] = True
    for _, loc in locators:
        for k in loc.related_keys():
            keys.setdefault(k, False)
    return NewOrder(
        id=new_id(),
        reference=_reference(now),
        platform=platform,
        regulator_org_id=actor.org_id,
        category=category.key,
        urgency=urgency,
        legal_basis=data.legal_basis.strip(),
        reason=data.reason.strip(),
        sop_profile=profile.name,
        deadline_seconds=int(deadline.total_seconds()),
        created_by=actor.actor,
        issued_at=now,
        deadline_at=now + deadline,
        next_due_at=now + profile.deemed_receipt_after,
        locators=tuple(
            NewLocator(
                position=pos,
                kind=loc.kind.value,
                canonical=loc.canonical,
                display=loc.display,
                url=loc.url,
                domain=loc.domain.name if loc.domain else None,
                submitted=text[:2100],
            )
            for pos, (text, loc) in enumerate(locators)
        ),
        evidence=evidence,
        keys=tuple(keys.items()),
    )


def unknown_platform(name: str) -> InvalidInput:
    return InvalidInput(
        Msg(
            "No platform named %(name)r is registered; check the name in the "
            "organisation directory (GET /api/v1/orgs).",
            name=name,
        ),
        field="platform",
    )


def is_platform(org: Organization | None) -> bool:
    return org is not None and org.kind is OrgKind.PLATFORM


def _table(model: type[Base]) -> Table:
    # Bulk inserts straight into the table: no ORM bookkeeping for rows nobody reads back.
    return cast(Table, model.__table__)


def write_orders(
    session: Session, items: Sequence[tuple[Principal, NewOrder, Organization]]
) -> None:
    """Write prepared orders (bound to their platforms) with one INSERT per table.

    Each order's evidence, locators, lookup keys, outbox message and audit events go in the
    caller's transaction: they exist if and only if the order does. Bulk inserts
    (:mod:`tangkal.db.bulk`: a COPY on PostgreSQL), no ORM objects: nothing in this unit of
    work reads them back as objects.
    """
    if not items:
        return
    orders: list[dict[str, Any]] = []
    locators: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    for _actor, order, platform in items:
        orders.append(order.order_row())
        locators.extend(loc.row(order.id) for loc in order.locators)
        keys.extend({"order_id": order.id, "key": k, "primary": p} for k, p in order.keys)
        evidence.extend(e.row(order.id) for e in order.evidence)
        push = platform.delivery_channel == "webhook" and bool(platform.webhook_url)
        outbox.append(
            {
                "id": new_id(),
                "platform_org_id": platform.id,
                "order_id": order.id,
                "event": "order.issued",
                "payload": {"event": "order.issued", "data": order_payload(order)},
                "status": DeliveryStatus.PENDING if push else DeliveryStatus.INBOX,
                "next_attempt_at": order.issued_at,
                "created_at": order.issued_at,
            }
        )
    insert_rows(session, _table(Order), orders)
    insert_rows(session, _table(OrderLocator), locators)
    insert_rows(session, _table(LocatorKey), keys)
    insert_rows(session, _table(Evidence), evidence)
    insert_rows(session, _table(OutboxMessage), outbox)
    for actor, order, platform in items:
        for ev in order.evidence:
            record(session, actor, "order.evidence_added", "order", order.id, ev.audit_data())
        record(session, actor, "order.issued", "order", order.id, order.audit_data(platform.name))
