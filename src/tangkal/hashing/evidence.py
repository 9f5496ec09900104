"""Orders and banks: an order's evidence put into a bank (linking the orders whose banked content
it matches), and uploads that matched an order's evidence noted on that order's record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.errors import Msg, NotFound
from tangkal.hashing.content import add_file, content_dict, hash_content
from tangkal.hashing.matcher import BankIndexes
from tangkal.hashing.matching import Query, match
from tangkal.hashing.models import BankContent, FindVia
from tangkal.hashing.order_copies import record_finds
from tangkal.hashing.signals import SignalResult


@dataclass(frozen=True, slots=True)
class EvidenceBanked:
    """What putting an order's evidence into a bank did. The API answers :meth:`as_dict`; the
    console words the same result in its reader's language (``not_hashed`` keeps each
    reason's :class:`~tangkal.errors.Msg`)."""

    added: list[BankContent]
    duplicates: int
    not_hashed: list[SignalResult]
    linked_orders: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": [content_dict(c) for c in self.added],
            "duplicates": self.duplicates,
            "not_hashed": [
                {"signal_type": r.signal_type, "reason": r.reason} for r in self.not_hashed
            ],
            "linked_orders": self.linked_orders,
        }


def bank_order_evidence(
    session: Session,
    principal: Principal,
    idx: BankIndexes,
    order_id: str,
    evidence_id: str,
    bank_name: str,
) -> EvidenceBanked:
    """Put an order's evidence into a bank, and link the order to every earlier order whose
    banked content it matches, so both orders show the other among related orders."""
    from tangkal.orders.models import Evidence, LocatorKey, Order
    from tangkal.orders.services import get_order

    principal.require(Role.ANALYST, Role.OFFICIAL)
    order = get_order(session, principal, order_id)
    ev = session.get(Evidence, evidence_id)
    if ev is None or ev.order_id != order.id:
        raise NotFound(
            Msg("No evidence %(id)s on order %(ref)s.", id=evidence_id, ref=order.reference)
        )
    result = add_file(
        session,
        principal,
        bank_name,
        ev.content,
        filename=ev.filename,
        order_id=order.id,
        evidence_id=ev.id,
        label=order.reference,
    )
    queries = [Query(r.signal_type, r.signal) for r in hash_content(ev.content) if r.signal]
    matches = match(session, principal, idx, queries)
    keys = {f"content:{c.id}" for c in result.added}
    found = {m["order_id"] for m in matches if m["order_id"] and m["order_id"] != order.id}
    # only this regulator's own orders are linked: another regulator's order, met through a
    # shared bank, is neither named to this one nor tied to its case
    linked = sorted(
        session.scalars(
            select(Order.id).where(
                Order.id.in_(found), Order.regulator_org_id == order.regulator_org_id
            )
        )
    )
    keys |= {f"content:{m['content_id']}" for m in matches if m["order_id"] in linked}
    have = set(session.scalars(select(LocatorKey.key).where(LocatorKey.order_id == order.id)))
    session.add_all(LocatorKey(order_id=order.id, key=k, primary=False) for k in keys - have)
    session.flush()
    record(
        session,
        principal,
        "order.evidence_banked",
        "order",
        order.id,
        {
            "evidence_id": ev.id,
            "bank": bank_name,
            "content_ids": [c.id for c in result.added],
            "linked_orders": linked,
        },
    )
    return EvidenceBanked(result.added, result.duplicates, result.not_hashed, linked)


def note_order_matches(
    session: Session,
    principal: Principal,
    matches: list[dict[str, Any]],
    *,
    via: FindVia,
    upload: bytes | None = None,
) -> None:
    """An upload that matched an order's banked evidence is put on that order's record, so
    both of its parties see that a copy was found, by whom, when and through which lookup
    (:mod:`tangkal.hashing.order_copies`: a row per find, and the audit event)."""
    record_finds(
        session,
        principal,
        matches,
        via=via,
        upload_sha256=hashlib.sha256(upload).hexdigest() if upload is not None else None,
    )
