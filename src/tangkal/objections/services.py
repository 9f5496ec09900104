"""Objections (sanggah): filed by the platform, decided by an official within the profile's time.

While an objection to an order, one of its warnings or a fine is pending, that order's
escalation waits (``Order.held_by``): the regulator does not send the next letter about a
decision the platform has contested and nobody has yet looked at. The decision releases it:
upheld, the contested thing is undone and kept on the record, marked; rejected, the
escalation resumes where it stood. An answer of ``not_done`` to an order is such an objection.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal import limits, tenancy
from tangkal.accounts.models import Organization, OrgKind, PlatformDomain, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.blocklist.models import OPEN_STATUSES as OPEN_BLOCK
from tangkal.blocklist.models import BlockEntry
from tangkal.blocklist.services import required_text
from tangkal.db.base import utcnow
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, Msg, NotFound
from tangkal.objections.models import Objection, ObjectionStatus, SubjectKind
from tangkal.orders.clock import compute_deadline
from tangkal.orders.escalation import reschedule
from tangkal.orders.models import EscalationStep, Order, OrderStatus
from tangkal.sanctions.models import Sanction, SanctionStatus
from tangkal.sop.profile import SopProfile, active_profile, get_profile

OBJECT_TYPE = "objection"
MAX_EVIDENCE = limits.OBJECTION_EVIDENCE_ITEMS
MAX_EVIDENCE_TEXT = limits.OBJECTION_EVIDENCE_ITEM


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    id: str
    platform_org_id: str
    regulator_org_id: str | None
    order: Order | None
    since: datetime  # the subject's date: objections are filed within file_within of it
    label: str


def _reference(now: datetime) -> str:
    return f"SG-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"


def _profile_of(order: Order | None) -> SopProfile:
    return get_profile(order.sop_profile) if order is not None else active_profile()


def _subject(session: Session, kind: SubjectKind, sid: str, platform_org_id: str) -> Subject:
    missing = NotFound(
        Msg("No %(kind)s %(id)s among those addressed to your organisation.", kind=kind, id=sid)
    )
    if kind is SubjectKind.ORDER:
        order = session.scalar(select(Order).where((Order.id == sid) | (Order.reference == sid)))
        if order is None or order.platform_org_id != platform_org_id:
            raise missing
        if order.status in (OrderStatus.WITHDRAWN, OrderStatus.COMPLIED):
            raise InvalidTransition(
                Msg(
                    "Order %(ref)s is %(status)s; there is nothing left to object to.",
                    ref=order.reference,
                    status=order.status,
                )
            )
        return Subject(
            kind,
            order.id,
            platform_org_id,
            order.regulator_org_id,
            order,
            order.received_at or order.issued_at,
            order.reference,
        )
    if kind in (SubjectKind.WARNING, SubjectKind.FINE):
        step = session.get(EscalationStep, sid)
        order = session.get(Order, step.order_id) if step is not None else None
        if step is None or order is None or order.platform_org_id != platform_org_id:
            raise missing
        if step.annulled_at is not None:
            raise InvalidTransition(
                Msg(
                    "%(code)s of order %(ref)s was annulled already.",
                    code=step.code,
                    ref=order.reference,
                )
            )
        if kind is SubjectKind.FINE and (step.fine == 0 or step.fine_annulled_at is not None):
            raise InvalidInput(
                Msg(
                    "%(code)s of order %(ref)s carries no fine to object to; "
                    'object to the warning instead (kind "warning").',
                    code=step.code,
                    ref=order.reference,
                ),
                field="subject",
            )
        return Subject(
            kind,
            step.id,
            platform_org_id,
            order.regulator_org_id,
            order,
            step.issued_at,
            f"{order.reference} {step.code}",
        )
    if kind is SubjectKind.SANCTION:
        sanction = session.scalar(
            select(Sanction).where((Sanction.id == sid) | (Sanction.reference == sid))
        )
        if sanction is None or sanction.platform_org_id != platform_org_id:
            raise missing
        if sanction.status not in (SanctionStatus.PENDING_APPROVAL, SanctionStatus.ACTIVE):
            raise InvalidTransition(
                Msg(
                    "Sanction %(ref)s is %(status)s; there is nothing left to object to.",
                    ref=sanction.reference,
                    status=sanction.status,
                )
            )
        return Subject(
            kind,
            sanction.id,
            platform_org_id,
            sanction.regulator_org_id,
            None,
            sanction.activated_at or sanction.proposed_at,
            sanction.reference,
        )
    entry = session.get(BlockEntry, sid)
    if entry is None or not _platform_owns(session, platform_org_id, entry):
        raise missing
    if entry.status not in OPEN_BLOCK:
        raise InvalidTransition(
            Msg(
                "The block of %(domain)s is %(status)s; there is nothing left to object to.",
                domain=entry.domain,
                status=entry.status,
            )
        )
    regulator = entry.requested_by_org_id
    return Subject(
        kind,
        entry.id,
        platform_org_id,
        regulator,
        None,
        entry.activated_at or entry.requested_at,
        entry.domain,
    )


def _platform_owns(session: Session, platform_org_id: str, entry: BlockEntry) -> bool:
    if entry.sanction_id is not None:
        s = session.get(Sanction, entry.sanction_id)
        return s is not None and s.platform_org_id == platform_org_id
    names = set(
        session.scalars(select(PlatformDomain.name).where(PlatformDomain.org_id == platform_org_id))
    )
    return any(entry.domain == n or entry.domain.endswith("." + n) for n in names)


def _evidence(items: list[Any] | None) -> list[str]:
    out = []
    for item in items or []:
        text = str(item).strip()
        if not text:
            continue
        if len(text) > MAX_EVIDENCE_TEXT:
            raise InvalidInput(
                Msg(
                    "Each piece of evidence is at most %(n)s characters (a link "
                    "or a short description).",
                    n=MAX_EVIDENCE_TEXT,
                ),
                field="evidence",
            )
        out.append(text)
    if len(out) > MAX_EVIDENCE:
        raise InvalidInput(
            Msg("At most %(n)s pieces of evidence.", n=MAX_EVIDENCE), field="evidence"
        )
    return out


def file(
    session: Session,
    principal: Principal,
    *,
    kind: str,
    subject_id: str,
    reason: str | None,
    evidence: list[Any] | None = None,
    now: datetime | None = None,
) -> Objection:
    principal.require(Role.MODERATOR, Role.ADMIN)
    principal.require_kind(OrgKind.PLATFORM)
    try:
        skind = SubjectKind(kind)
    except ValueError:
        raise InvalidInput(
            Msg(
                "Unknown subject kind %(kind)r; use one of: %(known)s.",
                kind=kind,
                known=", ".join(k.value for k in SubjectKind),
            ),
            field="subject.kind",
        ) from None
    text = required_text(reason, "reason", limits.OBJECTION_REASON, Msg("reason for the objection"))
    now = now or utcnow()
    subject = _subject(session, skind, (subject_id or "").strip(), principal.org_id)
    return _file(session, principal, subject, text, _evidence(evidence), now)


def _file(
    session: Session,
    principal: Principal,
    subject: Subject,
    text: str,
    evidence: list[str],
    now: datetime,
    *,
    in_time: bool = True,
) -> Objection:
    profile = _profile_of(subject.order)
    last_day = subject.since + profile.objections.file_within
    if in_time and now > last_day:
        raise Conflict(
            Msg(
                "Objections to %(what)s could be filed until %(until)s (%(within)s "
                "after it); that time has passed.",
                what=subject.label,
                until=last_day,
                within=profile.objections.file_within,
            ),
            field="subject",
        )
    pending = session.scalar(
        select(Objection).where(
            Objection.subject_kind == subject.kind,
            Objection.subject_id == subject.id,
            Objection.status == ObjectionStatus.PENDING,
        )
    )
    if pending is not None:
        raise Conflict(
            Msg(
                "Objection %(ref)s to %(what)s is still pending; add to it rather "
                "than filing another.",
                ref=pending.reference,
                what=subject.label,
            ),
            field="subject",
            existing_id=pending.id,
        )
    obj = Objection(
        reference=_reference(now),
        platform_org_id=subject.platform_org_id,
        regulator_org_id=subject.regulator_org_id,
        subject_kind=subject.kind,
        subject_id=subject.id,
        order_id=subject.order.id if subject.order else None,
        reason=text,
        evidence=evidence,
        status=ObjectionStatus.PENDING,
        filed_by=principal.actor,
        filed_at=now,
        decide_by=now + profile.objections.decide_within,
    )
    session.add(obj)
    session.flush()
    order = subject.order
    if (
        order is not None
        and order.held_by is None
        and order.status not in (OrderStatus.COMPLIED, OrderStatus.WITHDRAWN)
    ):
        order.held_by = obj.id
        order.next_due_at = None
    session.flush()
    record(
        session,
        principal,
        "objection.filed",
        OBJECT_TYPE,
        obj.id,
        {
            "reference": obj.reference,
            "platform_org_id": obj.platform_org_id,
            "subject": {"kind": subject.kind.value, "id": subject.id, "label": subject.label},
            "order_id": obj.order_id,
            "decide_by": obj.decide_by.isoformat(),
            "holds_escalation": order is not None and order.held_by == obj.id,
        },
    )
    return obj


def from_not_done(
    session: Session, principal: Principal, order: Order, reason: str, now: datetime
) -> Objection:
    """A ``not_done`` answer contests the order itself: it becomes an objection to decide."""
    subject = Subject(
        SubjectKind.ORDER,
        order.id,
        order.platform_org_id,
        order.regulator_org_id,
        order,
        order.received_at or order.issued_at,
        order.reference,
    )
    return _file(session, principal, subject, reason, [], now, in_time=False)


# ------------------------------------------------------------------------ reading


def get(
    session: Session, principal: Principal, objection_id: str, *, for_update: bool = False
) -> Objection:
    missing = Msg("No objection %(id)s among those your organisation can see.", id=objection_id)
    return tenancy.get_one(
        session, Objection, principal, objection_id, missing, for_update=for_update
    )


def list_for(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    platform_org_id: str | None = None,
    order: str | None = None,
    limit: int = 100,
) -> list[Objection]:
    """The objections ``principal`` may see; ``order`` (an order's id or reference): only
    those to that order or to one of its warnings and fines."""
    where = [Objection.platform_org_id == platform_org_id] if platform_org_id else []
    if order:
        where.append(
            Objection.order_id.in_(
                select(Order.id).where((Order.id == order) | (Order.reference == order))
            )
        )
    return tenancy.listed(
        session,
        Objection,
        principal,
        status=status,
        statuses=ObjectionStatus,
        order_by=Objection.decide_by,
        limit=limit,
        where=where,
    )


def to_dict(session: Session, obj: Objection) -> dict[str, Any]:
    platform = session.get(Organization, obj.platform_org_id)
    return {
        "id": obj.id,
        "reference": obj.reference,
        "status": obj.status.value,
        "platform": platform.name if platform else None,
        "subject": {"kind": obj.subject_kind.value, "id": obj.subject_id},
        "order_id": obj.order_id,
        "reason": obj.reason,
        "evidence": obj.evidence,
        "filed_by": obj.filed_by,
        "filed_at": obj.filed_at.isoformat(),
        "decide_by": obj.decide_by.isoformat(),
        "decided_by": obj.decided_by,
        "decided_at": obj.decided_at.isoformat() if obj.decided_at else None,
        "decision_reason": obj.decision_reason,
    }


# ------------------------------------------------------------------------ the decision


def decide(
    session: Session,
    principal: Principal,
    objection_id: str,
    *,
    outcome: str,
    reason: str | None,
    now: datetime | None = None,
) -> Objection:
    principal.require(Role.OFFICIAL)
    if principal.org_kind is not OrgKind.REGULATOR:
        raise Forbidden(Msg("Only the regulator's officials decide objections."))
    if outcome not in ("upheld", "rejected"):
        raise InvalidInput(
            Msg('The outcome is "upheld" or "rejected", not %(o)r.', o=outcome), field="outcome"
        )
    text = required_text(reason, "reason", 20000, Msg("reason for the decision"))
    now = now or utcnow()
    obj = get(session, principal, objection_id, for_update=True)
    if obj.status is not ObjectionStatus.PENDING:
        raise InvalidTransition(
            Msg(
                "Objection %(ref)s was decided already (%(status)s, %(at)s).",
                ref=obj.reference,
                status=obj.status,
                at=obj.decided_at or "?",
            )
        )
    obj.status = ObjectionStatus(outcome)
    obj.decided_by, obj.decided_at, obj.decision_reason = principal.actor, now, text
    effect: dict[str, Any] = {}
    if obj.status is ObjectionStatus.UPHELD:
        effect = _uphold(session, principal, obj, text, now)
    order = session.get(Order, obj.order_id) if obj.order_id else None
    if order is not None and order.held_by == obj.id:
        order.held_by = None
        if order.status is OrderStatus.DISPUTED and obj.status is ObjectionStatus.REJECTED:
            from tangkal.orders.services import transition

            late = compute_deadline(order, now) <= now
            if late and order.overdue_at is None:
                order.overdue_at = now
            transition(
                session,
                order,
                OrderStatus.OVERDUE if late else OrderStatus.ACKNOWLEDGED,
                principal,
                "order.objection_rejected",
                {"objection_id": obj.id},
            )
        reschedule(order, now, resume=True)
        effect["escalation_resumed"] = order.next_due_at is not None
    session.flush()
    record(
        session,
        principal,
        "objection.decided",
        OBJECT_TYPE,
        obj.id,
        {
            "reference": obj.reference,
            "platform_org_id": obj.platform_org_id,
            "outcome": outcome,
            "reason": text,
            "subject": {"kind": obj.subject_kind.value, "id": obj.subject_id},
            **effect,
        },
    )
    platform = session.get(Organization, obj.platform_org_id)
    if platform is not None:
        from tangkal.delivery.services import enqueue

        enqueue(
            session,
            platform,
            order,
            "objection.decided",
            {"objection": to_dict(session, obj), "effect": effect},
        )
    return obj


def _uphold(
    session: Session, principal: Principal, obj: Objection, reason: str, now: datetime
) -> dict[str, Any]:
    kind = obj.subject_kind
    if kind is SubjectKind.ORDER:
        from tangkal.orders.services import transition

        order = session.get(Order, obj.subject_id)
        assert order is not None
        order.held_by = None
        transition(
            session,
            order,
            OrderStatus.WITHDRAWN,
            principal,
            "order.withdrawn",
            {"reason": reason, "objection_id": obj.id},
        )
        return {"order_withdrawn": order.id}
    if kind in (SubjectKind.WARNING, SubjectKind.FINE):
        step = session.get(EscalationStep, obj.subject_id)
        assert step is not None
        if kind is SubjectKind.WARNING:
            step.annulled_at = now
        step.fine_annulled_at = now if step.fine else None
        step.annulled_by_objection = obj.id
        what = "warning_annulled" if kind is SubjectKind.WARNING else "fine_annulled"
        record(
            session,
            principal,
            f"order.{what}",
            "order",
            step.order_id,
            {
                "step_id": step.id,
                "code": step.code,
                "fine": step.fine,
                "currency": step.currency,
                "objection_id": obj.id,
                "reason": reason,
            },
        )
        return {what: step.id, "code": step.code}
    if kind is SubjectKind.SANCTION:
        from tangkal.sanctions import services as sanctions

        sanction = session.get(Sanction, obj.subject_id)
        assert sanction is not None
        serial = sanctions.end(session, principal, sanction, reason, via="objection", now=now)
        return {"sanction_ended": sanction.id, "serial": serial}
    from tangkal.blocklist import services as blocks

    entry = blocks.restore(session, principal, obj.subject_id, reason, now=now)
    return {"block_restored": entry.id}


def remind_due(session: Session, now: datetime) -> int:
    """Officials are warned on the record before an objection's decision time runs out."""
    lead = active_profile().objections.warning_lead()
    return tenancy.remind_due(
        session,
        Objection,
        ObjectionStatus.PENDING,
        lead,
        "objection.decision_due",
        OBJECT_TYPE,
        now,
    )
