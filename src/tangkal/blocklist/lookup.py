"""The public lookup: is a name blocked, by which decision, on what legal basis, since when,
how to appeal, and do the ISPs' resolvers follow it.

What goes out is what the public may know: the order's reference and legal basis (never its
locators, which may point at the propaganda itself), the sanction's reference and the
platform it concerns, dates, and the compliance probes' counts per state without ISP names
or resolver addresses (``compliance.services.verification``). Nothing pending, no
officials' names.

Subdomains: a block on a name covers every name beneath it (the RPZ's ``name`` and
``*.name`` triggers), so ``https://web.telegram.org/k/`` is blocked when ``telegram.org``
is; the answer then says ``via_parent`` and names the block's own domain (``matched``).
A more specific entry beneath a block wins, as in the RPZ (an allow-list exception).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tangkal.blocklist.appeals import parse_target
from tangkal.blocklist.models import BlockAction, BlockEntry, BlockStatus
from tangkal.blocklist.services import effective_block
from tangkal.compliance.services import verification
from tangkal.sop.profile import SopProfile, active_profile

APPEAL_TEXT = (
    "If you believe this block is wrong, you may appeal: send the name, how to reach you and "
    "why the block should be lifted. An official reviews every appeal."
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def lookup(
    session: Session, text: str, *, base_url: str, profile: SopProfile | None = None
) -> dict[str, Any]:
    """The answer for a domain or a pasted URL (``appeals.parse_target``)."""
    profile = profile or active_profile()
    domain = parse_target(text)
    entry = effective_block(session, domain)
    counts = dict(
        session.execute(
            select(BlockEntry.status, func.count())
            .where(BlockEntry.domain == domain.name, BlockEntry.activated_at.is_not(None))
            .group_by(BlockEntry.status)
        ).all()
    )
    times_blocked = sum(int(v) for v in counts.values())
    blocked = entry is not None and entry.action is not BlockAction.PASSTHRU
    answer: dict[str, Any] = {
        "query": text.strip(),
        "domain": domain.name,
        "domain_unicode": domain.unicode,
        "blocked": blocked,
        "history": {
            "times_blocked": times_blocked,
            "times_restored": int(counts.get(BlockStatus.RESTORED, 0)),
            "times_expired": int(counts.get(BlockStatus.EXPIRED, 0)),
        },
        "verification": verification(session, domain.name),
    }
    if entry is None:
        answer["message"] = f"{domain.unicode} is not on the blocklist."
        return answer
    order = _order(session, entry.order_id)
    sanction = _sanction(session, entry.sanction_id)
    answer.update(
        {
            "allow_listed": entry.action is BlockAction.PASSTHRU,
            "matched": entry.domain,
            "via_parent": entry.domain != domain.name,
            "covers_subdomains": True,
            "since": _iso(entry.activated_at),
            "requested_at": _iso(entry.requested_at),
            "expires_at": _iso(entry.expires_at),
            "action": entry.action.value,
            "legal_basis": entry.legal_basis,
            "category": entry.category,
            "case_reference": (sanction or {}).get("reference")
            or (order or {}).get("reference")
            or entry.id,
            "order_reference": (order or {}).get("reference") or entry.order_id,
            "order": order,
            "sanction": sanction,
            "block_id": entry.id,
        }
    )
    if blocked:
        base = base_url.rstrip("/")
        answer["appeal"] = {
            "how": APPEAL_TEXT,
            "url": f"{base}/public/appeal?domain={domain.name}",
            "api": "POST /api/v1/public/appeals {domain, contact_email, statement}",
            "decide_within": profile.appeals.decide_within.total_seconds(),
            "follow": f"{base}/public/appeals/{{reference}}",
        }
        answer["message"] = (
            f"{domain.unicode} is blocked"
            + (f" through the block on {entry.domain}" if entry.domain != domain.name else "")
            + f" since {_iso(entry.activated_at)}."
        )
    else:
        answer["message"] = f"{domain.unicode} is explicitly allowed (passthru) by {entry.domain}."
    return answer


def _order(session: Session, order_id: str | None) -> dict[str, Any] | None:
    """The order the block enforces: its reference, legal basis and dates, nothing else."""
    if order_id is None:
        return None
    from tangkal.orders.models import Order

    row = session.execute(
        select(Order.reference, Order.legal_basis, Order.category, Order.issued_at).where(
            Order.id == order_id
        )
    ).first()
    if row is None:  # an outside case number, kept as it was given
        return {"reference": order_id, "legal_basis": None, "category": None, "issued_at": None}
    return {
        "reference": row.reference,
        "legal_basis": row.legal_basis,
        "category": row.category,
        "issued_at": _iso(row.issued_at),
    }


def _sanction(session: Session, sanction_id: str | None) -> dict[str, Any] | None:
    """The sanction the block belongs to and its case: the platform and the orders that led
    to it (their references)."""
    if sanction_id is None:
        return None
    from tangkal.accounts.models import Organization
    from tangkal.orders.models import Order
    from tangkal.sanctions.models import Sanction, SanctionOrder

    s = session.get(Sanction, sanction_id)
    if s is None:
        return None
    platform = session.scalar(select(Organization.name).where(Organization.id == s.platform_org_id))
    orders = list(
        session.scalars(
            select(Order.reference)
            .join(SanctionOrder, SanctionOrder.order_id == Order.id)
            .where(SanctionOrder.sanction_id == s.id)
            .order_by(Order.issued_at)
        )
    )
    return {
        "reference": s.reference,
        "status": s.status.value,
        "legal_basis": s.legal_basis,
        "platform": platform,
        "since": _iso(s.activated_at),
        "orders": orders,
    }
