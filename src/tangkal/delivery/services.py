"""Writing to the outbox, leasing due messages, recording attempts, and the pull inbox."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.audit.services import record
from tangkal.db.base import new_id, utcnow
from tangkal.delivery.models import DeliveryAttempt, DeliveryStatus, OutboxMessage

if TYPE_CHECKING:
    from tangkal.orders.models import Order

MAX_BACKOFF = 300.0
LEASE = timedelta(seconds=60)


def enqueue(
    session: Session,
    platform: Organization,
    order: Order | None,
    event: str,
    payload: dict[str, Any],
) -> OutboxMessage:
    """Queue a message in the caller's transaction: it exists if and only if the change does.

    Not flushed here: it is written with the caller's other changes (the scheduler takes
    hundreds of steps a pass, and a flush per message also writes whatever else of the
    caller's is pending, the order row again). Its id is set now, for callers to name it.
    """
    push = platform.delivery_channel == "webhook" and bool(platform.webhook_url)
    msg = OutboxMessage(
        id=new_id(),
        platform_org_id=platform.id,
        order_id=order.id if order else None,
        event=event,
        payload={"event": event, "data": payload},
        status=DeliveryStatus.PENDING if push else DeliveryStatus.INBOX,
    )
    session.add(msg)
    return msg


def backoff(attempts: int) -> float:
    """1, 2, 4, ... seconds, capped at five minutes, with jitter so retries do not align."""
    base = min(MAX_BACKOFF, 2.0 ** max(0, attempts - 1))
    return float(base * (0.8 + 0.4 * random.random()))


@dataclass(frozen=True, slots=True)
class Leased:
    id: str
    url: str
    secret: str
    event: str
    payload: dict[str, Any]
    attempts: int
    scheme: str = "tangkal"  # how it is signed (tangkal.delivery.signing)


def lease_due(session: Session, limit: int = 20, now: datetime | None = None) -> list[Leased]:
    """Take due messages for one worker: each is hidden from other workers for ``LEASE``."""
    now = now or utcnow()
    q = (
        select(OutboxMessage)
        .where(OutboxMessage.status == DeliveryStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    out = []
    for msg in session.scalars(q):
        org = session.get(Organization, msg.platform_org_id)
        if org is None or not org.webhook_url or not org.webhook_secret:
            msg.status = DeliveryStatus.INBOX  # channel switched to pull meanwhile
            continue
        msg.next_attempt_at = now + LEASE
        out.append(
            Leased(
                msg.id,
                org.webhook_url,
                org.webhook_secret,
                msg.event,
                msg.payload,
                msg.attempts,
                org.webhook_signature or "tangkal",
            )
        )
    session.flush()
    return out


def record_attempt(
    session: Session,
    message_id: str,
    url: str,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    *,
    refused: bool = False,
) -> bool:
    """Store one attempt's outcome; a 2xx delivers the message and starts the order's clock.

    ``refused``: the server would not send to the destination (not a public address, or a
    URL the current rules refuse). Trying again would be refused again, so the message goes
    to the platform's pull inbox instead, where ``GET /api/v1/inbox`` still finds it, and
    the reason stays in ``last_error`` for the platform to fix its URL."""
    msg = session.get(OutboxMessage, message_id)
    if msg is None or msg.status is DeliveryStatus.DELIVERED:
        return False
    now = utcnow()
    ok = status_code is not None and 200 <= status_code < 300
    msg.attempts += 1
    session.add(
        DeliveryAttempt(
            message_id=msg.id,
            at=now,
            url=url,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    if ok:
        msg.status = DeliveryStatus.DELIVERED
        msg.delivered_at = now
        msg.last_error = None
    elif refused:
        msg.status = DeliveryStatus.INBOX
        msg.last_error = error
    else:
        msg.last_error = error or f"HTTP {status_code}"
        msg.next_attempt_at = now + timedelta(seconds=backoff(msg.attempts))
    session.flush()
    if ok and msg.order_id and msg.event == "order.issued":
        from tangkal.orders.models import Order
        from tangkal.orders.services import mark_received

        order = session.get(Order, msg.order_id)
        if order is not None:
            mark_received(session, order, SYSTEM, "webhook", now)
    record(
        session,
        SYSTEM,
        "delivery.attempt",
        "order",
        msg.order_id or msg.id,
        {
            "message_id": msg.id,
            "event": msg.event,
            "attempt": msg.attempts,
            "url": url,
            "status_code": status_code,
            "error": public_error(status_code, error),
            "delivered": ok,
            "refused": refused,
            "next_attempt_at": None if ok or refused else msg.next_attempt_at.isoformat(),
        },
    )
    return ok


def fetch_inbox(session: Session, principal: Principal, limit: int = 100) -> list[OutboxMessage]:
    """The pull channel: the platform's authenticated fetch is its receipt (an ISP's
    operator fetches the ISP's messages the same way)."""
    from tangkal.accounts.models import OrgKind, Role

    if principal.org_kind is OrgKind.ISP:
        principal.require(Role.ISP, Role.ADMIN)
    else:
        principal.require(Role.MODERATOR, Role.ADMIN)
    q = (
        select(OutboxMessage)
        .where(
            OutboxMessage.platform_org_id == principal.org_id,
            OutboxMessage.status.in_([DeliveryStatus.INBOX, DeliveryStatus.PENDING]),
        )
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    msgs = list(session.scalars(q))
    now = utcnow()
    from tangkal.orders.models import Order
    from tangkal.orders.services import mark_received

    for msg in msgs:
        msg.status = DeliveryStatus.FETCHED
        msg.delivered_at = now
        if msg.order_id and msg.event == "order.issued":
            order = session.get(Order, msg.order_id)
            if order is not None:
                mark_received(session, order, principal, "inbox", now)
    session.flush()
    if msgs:
        record(
            session,
            principal,
            "delivery.inbox_fetched",
            "organization",
            principal.org_id,
            {"messages": [m.id for m in msgs]},
        )
    return msgs


def public_error(status_code: int | None, error: str | None) -> str | None:
    """An attempt's error as anyone but the receiving platform sees it.

    When the platform answered, the stored error also quotes the start of its answer's body
    (``tangkal.delivery.worker.summarise_failure``); that quote is the platform's own and is
    shown to it alone, others see the status. Errors without a status (refusals, connection
    failures) are this server's own words and shown as they are."""
    if status_code is None or error is None:
        return error
    head, _, _ = error.partition(":")
    return head


def delivery_log(
    session: Session, order_id: str, viewer: Principal | None = None
) -> list[dict[str, Any]]:
    """The attempts of an order's messages; the platform's quoted answers only to that
    platform (``viewer``; None shows none)."""
    rows = session.execute(
        select(OutboxMessage, DeliveryAttempt)
        .join(DeliveryAttempt, DeliveryAttempt.message_id == OutboxMessage.id, isouter=True)
        .where(OutboxMessage.order_id == order_id)
        .order_by(OutboxMessage.created_at, DeliveryAttempt.at)
    ).all()
    out = []
    for msg, att in rows:
        own = viewer is not None and viewer.org_id == msg.platform_org_id
        error = None
        if att is not None:
            error = att.error if own else public_error(att.status_code, att.error)
        out.append(
            {
                "message_id": msg.id,
                "event": msg.event,
                "status": msg.status.value,
                "attempt_at": att.at.isoformat() if att else None,
                "status_code": att.status_code if att else None,
                "error": error,
            }
        )
    return out
