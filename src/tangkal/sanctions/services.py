"""Sanctions through their life: proposed (by an official or by the escalation), approved by
the profile's number of distinct people, rejected, withdrawn or lifted.

The two-person rule counts people: an approval is keyed by the person behind the token (a
token made with ``--user``, or a console sign-in), and a token that belongs to nobody cannot
approve a sanction at all, so one official holding two tokens is still one official.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from tangkal import tenancy
from tangkal.accounts.approvals import approver_key
from tangkal.accounts.models import Organization, OrgKind, PlatformDomain, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.audit.services import record
from tangkal.blocklist import grouped
from tangkal.blocklist.models import BlockAction, BlockEntry
from tangkal.blocklist.services import required_text
from tangkal.blocklist.services import to_dict as block_dict
from tangkal.db.base import utcnow
from tangkal.db.locks import SANCTION_PROPOSAL, lock_for_transaction
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, Msg
from tangkal.orders.models import Order
from tangkal.sanctions.models import Sanction, SanctionApproval, SanctionOrder, SanctionStatus
from tangkal.sop.profile import SopProfile, Step, active_profile

OBJECT_TYPE = "sanction"
ACTIONS = ("nxdomain", "nodata", "landing")
MAX_ORDERS = 1000
OPEN = (SanctionStatus.PENDING_APPROVAL, SanctionStatus.ACTIVE)


def _reference(now: datetime) -> str:
    return f"SN-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"


def _require_official(principal: Principal) -> None:
    principal.require(Role.OFFICIAL)
    if principal.org_kind is not OrgKind.REGULATOR:
        raise Forbidden(Msg("Only the regulator's officials decide sanctions."))


def _platform(session: Session, ref: str) -> Organization:
    ref = (ref or "").strip()
    org = session.scalar(
        select(Organization).where((Organization.name == ref) | (Organization.id == ref))
    )
    if org is None:
        raise InvalidInput(
            Msg(
                "No organisation named %(name)r; a sanction names a platform by its name or id.",
                name=ref,
            ),
            field="platform",
        )
    if org.kind is not OrgKind.PLATFORM:
        raise InvalidInput(
            Msg(
                "%(name)s is a %(kind)s, not a platform: only a platform can be sanctioned.",
                name=org.name,
                kind=org.kind,
            ),
            field="platform",
        )
    return org


def _names(session: Session, platform: Organization) -> list[str]:
    return list(
        session.scalars(
            select(PlatformDomain.name)
            .where(PlatformDomain.org_id == platform.id)
            .order_by(PlatformDomain.name)
        )
    )


def lock_proposals(session: Session, platform_org_id: str) -> None:
    """Serialise the proposals of sanctions against one platform until commit.

    Keyed by the platform alone, not by (regulator, platform): what two proposals collide
    on is the platform's names (one open block entry per name,
    ``uq_block_entries_open_domain``), whoever proposes, so two regulators' escalations
    against one platform must not race either. Proposals are rare; waiting costs nothing.
    """
    lock_for_transaction(session, SANCTION_PROPOSAL, platform_org_id)


def _notify(
    session: Session,
    platform_id: str,
    event: str,
    sanction: Sanction,
    extra: dict[str, Any] | None = None,
) -> None:
    from tangkal.delivery.services import enqueue

    platform = session.get(Organization, platform_id)
    if platform is not None:
        enqueue(
            session,
            platform,
            None,
            event,
            {
                "sanction": {
                    "id": sanction.id,
                    "reference": sanction.reference,
                    "status": sanction.status.value,
                    "action": sanction.action,
                    "legal_basis": sanction.legal_basis,
                    "reason": sanction.reason,
                    "orders": [o.order_id for o in sanction.orders],
                },
                **(extra or {}),
            },
        )


def _create(
    session: Session,
    actor: Principal,
    platform: Organization,
    *,
    action: str,
    legal_basis: str,
    reason: str | Msg,
    orders: Sequence[Order],
    source: str,
    profile: SopProfile,
    regulator_org_id: str | None,
    now: datetime,
) -> tuple[Sanction, grouped.Made]:
    """A pending sanction with its blocks. ``reason`` is an official's own words, or the
    message the escalation wrote: its English text is the sanction's ``reason`` either way,
    and a message is kept as its template and parameters too, to be shown translated."""
    message = reason if isinstance(reason, Msg) else None
    text = message.text if message is not None else str(reason)
    names = _names(session, platform)
    if not names:
        raise Conflict(
            Msg(
                "%(name)s has no registered domains, so there is nothing a "
                "sanction could block; register them with the organisation first.",
                name=platform.name,
            ),
            field="platform",
        )
    sanction = Sanction(
        reference=_reference(now),
        platform_org_id=platform.id,
        regulator_org_id=regulator_org_id,
        action=action,
        legal_basis=legal_basis,
        reason=text,
        reason_msgid=message.template if message is not None else None,
        reason_params=dict(message.params) if message is not None else None,
        status=SanctionStatus.PENDING_APPROVAL,
        source=source,
        proposed_by=actor.actor,
        proposed_at=now,
        officials_required=profile.sanctions.officials,
        sop_profile=profile.name,
        orders=[SanctionOrder(order_id=o.id) for o in orders],
    )
    session.add(sanction)
    session.flush()
    made = grouped.make_pending(
        session,
        actor,
        sanction_id=sanction.id,
        names=names,
        action=BlockAction(action),
        legal_basis=legal_basis,
        reason=text,
        category=orders[0].category if orders else None,
        order_id=orders[0].id if orders else None,
        now=now,
    )
    if not made.entries:
        raise Conflict(
            Msg(
                "Every registered domain of %(name)s already has a block entry of "
                "its own; there is nothing left for a sanction to block.",
                name=platform.name,
            ),
            field="platform",
        )
    record(
        session,
        actor,
        "sanction.proposed",
        OBJECT_TYPE,
        sanction.id,
        {
            "reference": sanction.reference,
            "platform_org_id": platform.id,
            "platform": platform.name,
            "action": action,
            "source": source,
            "legal_basis": legal_basis,
            "orders": [o.id for o in orders],
            "domains": [e.domain for e in made.entries],
            "already_blocked": [e.domain for e in made.already_blocked],
            "officials_required": sanction.officials_required,
        },
    )
    _notify(
        session,
        platform.id,
        "sanction.proposed",
        sanction,
        {"domains": [e.domain for e in made.entries]},
    )
    return sanction, made


def propose(
    session: Session,
    principal: Principal,
    *,
    platform: str,
    action: str | None,
    legal_basis: str | None,
    reason: str | None,
    orders: Sequence[str],
    now: datetime | None = None,
) -> tuple[Sanction, grouped.Made]:
    """An official's proposal: pending blocks over every registered name of the platform."""
    _require_official(principal)
    now = now or utcnow()
    profile = active_profile()
    org = _platform(session, platform)
    act = (action or profile.sanctions.action).strip().lower()
    if act not in ACTIONS:
        raise InvalidInput(
            Msg(
                "Unknown sanction action %(action)r; use one of: %(known)s.",
                action=action,
                known=", ".join(ACTIONS),
            ),
            field="action",
        )
    basis = required_text(
        legal_basis or profile.sanctions.legal_basis, "legal_basis", 500, Msg("legal basis")
    )
    text = required_text(reason, "reason", 5000, Msg("reason"))
    if len(orders) > MAX_ORDERS:
        raise InvalidInput(
            Msg("A sanction names at most %(n)s orders.", n=MAX_ORDERS), field="orders"
        )
    wanted = list(dict.fromkeys(str(o).strip() for o in orders if str(o).strip()))
    found = (
        list(
            session.scalars(
                select(Order).where(
                    (Order.id.in_(wanted)) | (Order.reference.in_(wanted)),
                    Order.regulator_org_id == principal.org_id,
                )
            )
        )
        if wanted
        else []
    )
    known = {o.id for o in found} | {o.reference for o in found}
    missing = [o for o in wanted if o not in known]
    if missing:
        raise InvalidInput(
            Msg("No order %(ids)s among your organisation's orders.", ids=", ".join(missing[:5])),
            field="orders",
        )
    wrong = [o.reference for o in found if o.platform_org_id != org.id]
    if wrong:
        raise InvalidInput(
            Msg(
                "Orders %(refs)s are not addressed to %(name)s.",
                refs=", ".join(wrong[:5]),
                name=org.name,
            ),
            field="orders",
        )
    # an escalation proposing against the same platform at this moment: one of the two
    # finds the other's pending blocks (reported, or a Conflict), never an IntegrityError
    lock_proposals(session, org.id)
    return _create(
        session,
        principal,
        org,
        action=act,
        legal_basis=basis,
        reason=text,
        orders=found,
        source="official",
        profile=profile,
        regulator_org_id=principal.org_id,
        now=now,
    )


def escalation_reason(order: str, steps: str, step: str, profile: str, step_code: str = "") -> Msg:
    """Why the escalation proposed a sanction. The sanction keeps the English text (the API,
    the exports and the DSA statements read it as text) and, beside it, this message's
    template and parameters (``reason_msgid``, ``reason_params``), from which a page renders
    it in the reader's language (:func:`reason_message`). ``step_code`` names the step in
    the profile, so that a page can give it the profile's label in its own language;
    the English template does not show it."""
    if steps:
        return Msg(
            "Order %(order)s was not complied with after %(steps)s; %(step)s under the "
            "%(profile)s profile.",
            order=order,
            steps=steps,
            step=step,
            profile=profile,
            step_code=step_code,
        )
    return Msg(
        "Order %(order)s was not complied with after its deadline; %(step)s under the "
        "%(profile)s profile.",
        order=order,
        step=step,
        profile=profile,
        step_code=step_code,
    )


def reason_message(sanction: Sanction, lang: str = "en") -> Msg | None:
    """The reason of ``sanction`` as the message it was written from, for a page to render in
    ``lang``; None when only its text was stored (an official's own words, and sanctions
    proposed before the message was kept): the text is then shown as written.

    The message is rebuilt by the function that wrote it, from the stored parameters, and
    used only when that gives the stored message id again: the template is always this
    code's literal (the one the catalogues translate), never a string read from the
    database. Parameters that no longer fit (a template since reworded) give None too, so a
    page falls back to the text rather than failing. For an Indonesian reader the
    escalation's step (found by its code in the sanction's profile) gets the profile's
    Indonesian label."""
    if sanction.reason_msgid is None:
        return None
    params = {k: str(v) for k, v in (sanction.reason_params or {}).items()}
    try:
        order, step, profile = params["order"], params["step"], params["profile"]
    except KeyError:
        return None
    code = params.get("step_code", "")
    if lang == "id" and code:
        from tangkal.sop.profile import get_profile

        try:
            steps = get_profile(sanction.sop_profile or profile).steps
        except Exception:  # a profile this server no longer loads: its English label
            steps = ()
        step = next((s.label_id for s in steps if s.code == code), step)
    msg = escalation_reason(order, params.get("steps", ""), step, profile, code)
    return msg if msg.template == sanction.reason_msgid else None


def propose_for_order(
    session: Session, order: Order, profile: SopProfile, step: Step, now: datetime
) -> Sanction:
    """The escalation's proposal after the last warning. One open sanction per platform
    answers all its unanswered orders: a later order joins it instead of making another.

    Several scheduler processes reach the last step of a platform's orders at the same
    moment, so the look for the open sanction and the creation of one are serialised per
    platform (:func:`lock_proposals`) before the look: the second process then finds the
    first one's sanction, committed, and joins it. The lock is held to the end of the
    transaction, so the scheduler commits its batch right after an order that took it
    (``run_due(stop_after_lock=True)``). The open sanction is read ``FOR KEY SHARE``, the
    lock the joining order's foreign key takes anyway, taken at the look: an approval or
    rejection being decided on it (both read it ``FOR UPDATE``) is waited for and its
    outcome read, so an order does not join a sanction rejected meanwhile.
    """
    lock_proposals(session, order.platform_org_id)
    current = session.scalar(
        select(Sanction)
        .where(
            Sanction.platform_org_id == order.platform_org_id,
            Sanction.regulator_org_id == order.regulator_org_id,
            Sanction.status.in_(OPEN),
        )
        .order_by(Sanction.proposed_at.desc())
        .limit(1)
        .with_for_update(read=True, key_share=True)
    )
    if current is not None:
        if all(o.order_id != order.id for o in current.orders):
            current.orders.append(SanctionOrder(order_id=order.id))
            session.flush()
            record(
                session,
                SYSTEM,
                "sanction.order_added",
                OBJECT_TYPE,
                current.id,
                {
                    "reference": current.reference,
                    "order_id": order.id,
                    "order_reference": order.reference,
                    "step": step.code,
                },
            )
        return current
    platform = session.get(Organization, order.platform_org_id)
    assert platform is not None
    codes = ", ".join(s.code for s in sorted(order.steps, key=lambda s: s.position))
    basis = step.legal_basis or profile.sanctions.legal_basis or order.legal_basis
    reason = escalation_reason(order.reference, codes, step.label_en, profile.name, step.code)
    sanction, _ = _create(
        session,
        SYSTEM,
        platform,
        action=step.action or profile.sanctions.action,
        legal_basis=basis,
        reason=reason,
        orders=[order],
        source="escalation",
        profile=profile,
        regulator_org_id=order.regulator_org_id,
        now=now,
    )
    return sanction


# ------------------------------------------------------------------------ reading


_LOADED = (selectinload(Sanction.orders), selectinload(Sanction.approvals))


def get(
    session: Session, principal: Principal, sanction_id: str, *, for_update: bool = False
) -> Sanction:
    missing = Msg("No sanction %(id)s among those your organisation can see.", id=sanction_id)
    return tenancy.get_one(
        session, Sanction, principal, sanction_id, missing, for_update=for_update, options=_LOADED
    )


def list_for(
    session: Session,
    principal: Principal,
    *,
    platform: str | None = None,
    status: str | None = None,
    order: str | None = None,
    limit: int = 100,
) -> list[Sanction]:
    """The sanctions ``principal`` may see; ``order`` (an order's id or reference): only
    those that answer it, so an order's page can name the sanction that came of it."""
    where: list[ColumnElement[bool]] = []
    if order:
        where.append(
            Sanction.id.in_(
                select(SanctionOrder.sanction_id)
                .join(Order, Order.id == SanctionOrder.order_id)
                .where((Order.id == order) | (Order.reference == order))
            )
        )
    if platform:
        org = session.scalar(
            select(Organization).where(
                (Organization.name == platform) | (Organization.id == platform)
            )
        )
        if org is None:
            raise InvalidInput(
                Msg("No organisation named %(name)r.", name=platform), field="platform"
            )
        where.append(Sanction.platform_org_id == org.id)
    return tenancy.listed(
        session,
        Sanction,
        principal,
        status=status,
        statuses=SanctionStatus,
        order_by=Sanction.proposed_at.desc(),
        limit=limit,
        where=where,
        options=_LOADED,
    )


def to_dict(session: Session, sanction: Sanction, *, full: bool = True) -> dict[str, Any]:
    return to_dicts(session, [sanction], full=full)[0]


def to_dicts(
    session: Session, rows: Sequence[Sanction], *, full: bool = True
) -> list[dict[str, Any]]:
    """Sanctions in the API's shape; a list reads its platforms, its names and its orders'
    references in three statements whatever its length (the console's list shows 300)."""
    if not rows:
        return []
    ids = [s.id for s in rows]
    names = dict(
        session.execute(
            select(Organization.id, Organization.name).where(
                Organization.id.in_({s.platform_org_id for s in rows})
            )
        ).all()
    )
    entries: dict[str, list[BlockEntry]] = {i: [] for i in ids}
    for e in session.scalars(
        select(BlockEntry).where(BlockEntry.sanction_id.in_(ids)).order_by(BlockEntry.domain)
    ):
        entries[e.sanction_id or ""].append(e)
    order_ids = {o.order_id for s in rows for o in s.orders}
    refs = (
        dict(
            session.execute(select(Order.id, Order.reference).where(Order.id.in_(order_ids))).all()
        )
        if order_ids
        else {}
    )
    return [_body(s, names.get(s.platform_org_id), entries[s.id], refs, full) for s in rows]


def _body(
    sanction: Sanction,
    platform: str | None,
    entries: list[BlockEntry],
    refs: dict[str, str],
    full: bool,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": sanction.id,
        "reference": sanction.reference,
        "platform": platform,
        "platform_org_id": sanction.platform_org_id,
        "status": sanction.status.value,
        "action": sanction.action,
        "legal_basis": sanction.legal_basis,
        "reason": sanction.reason,
        "source": sanction.source,
        "proposed_by": sanction.proposed_by,
        "proposed_at": sanction.proposed_at.isoformat(),
        "officials_required": sanction.officials_required,
        "approvals": [
            {"by": a.approved_by, "at": a.approved_at.isoformat()} for a in sanction.approvals
        ],
        "activated_at": sanction.activated_at.isoformat() if sanction.activated_at else None,
        "ended_at": sanction.ended_at.isoformat() if sanction.ended_at else None,
        "end_reason": sanction.end_reason,
        "orders": [{"id": o.order_id, "reference": refs.get(o.order_id)} for o in sanction.orders],
        "blocks": [
            {"id": e.id, "domain": e.domain, "status": e.status.value, "action": e.action.value}
            for e in entries
        ],
    }
    if full:
        body["block_entries"] = [block_dict(e) for e in entries]
    return body


# ------------------------------------------------------------------------ decisions


def approve(
    session: Session, principal: Principal, sanction_id: str, now: datetime | None = None
) -> Sanction:
    """One person's approval; the blocks take effect, in one zone change, with the last
    approval the profile asks for."""
    _require_official(principal)
    key = approver_key(principal)  # people, not tokens: a token of no one cannot approve
    now = now or utcnow()
    sanction = get(session, principal, sanction_id, for_update=True)
    if sanction.status is not SanctionStatus.PENDING_APPROVAL:
        raise InvalidTransition(
            Msg(
                "Sanction %(ref)s is %(status)s; only a sanction pending approval can be approved.",
                ref=sanction.reference,
                status=sanction.status,
            )
        )
    if any(a.approver_key == key for a in sanction.approvals):
        raise Forbidden(
            Msg(
                "You have already approved sanction %(ref)s; the two-person rule "
                "needs a different official, not another token of yours.",
                ref=sanction.reference,
            )
        )
    sanction.approvals.append(
        SanctionApproval(approver_key=key, approved_by=principal.actor, approved_at=now)
    )
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            Msg(
                "Your approval of %(ref)s was just recorded by another request.",
                ref=sanction.reference,
            )
        ) from None
    stage = len(sanction.approvals)
    serial = None
    if stage >= sanction.officials_required:
        entries = grouped.entries_of(session, sanction.id, for_update=True)
        approvers = [(a.approved_by, a.approver_key, a.approved_at) for a in sanction.approvals]
        serial = grouped.activate(session, principal, entries, approvers, now)
        sanction.status = SanctionStatus.ACTIVE
        sanction.activated_at = now
        session.flush()
    record(
        session,
        principal,
        "sanction.approved",
        OBJECT_TYPE,
        sanction.id,
        {
            "reference": sanction.reference,
            "platform_org_id": sanction.platform_org_id,
            "approval": stage,
            "of": sanction.officials_required,
            "status": sanction.status.value,
            "serial": serial,
        },
    )
    if sanction.status is SanctionStatus.ACTIVE:
        _notify(session, sanction.platform_org_id, "sanction.active", sanction)
    return sanction


def reject(
    session: Session,
    principal: Principal,
    sanction_id: str,
    reason: str | None,
    now: datetime | None = None,
) -> Sanction:
    _require_official(principal)
    text = required_text(reason, "reason", 5000, Msg("reason for rejecting"))
    sanction = get(session, principal, sanction_id, for_update=True)
    if sanction.status is not SanctionStatus.PENDING_APPROVAL:
        raise InvalidTransition(
            Msg(
                "Sanction %(ref)s is %(status)s; only a sanction pending approval can be rejected.",
                ref=sanction.reference,
                status=sanction.status,
            )
        )
    _end(
        session,
        principal,
        sanction,
        SanctionStatus.REJECTED,
        text,
        "sanction.rejected",
        now or utcnow(),
    )
    return sanction


def end(
    session: Session,
    actor: Principal,
    sanction: Sanction,
    reason: str,
    *,
    via: str,
    now: datetime | None = None,
) -> int | None:
    """An upheld objection or an approved normalisation: a pending sanction is withdrawn, an
    active one lifted (its blocks restored in one change)."""
    now = now or utcnow()
    if sanction.status is SanctionStatus.PENDING_APPROVAL:
        return _end(
            session,
            actor,
            sanction,
            SanctionStatus.WITHDRAWN,
            reason,
            "sanction.withdrawn",
            now,
            via,
        )
    if sanction.status is SanctionStatus.ACTIVE:
        return _end(
            session, actor, sanction, SanctionStatus.LIFTED, reason, "sanction.lifted", now, via
        )
    raise InvalidTransition(
        Msg(
            "Sanction %(ref)s is %(status)s already.",
            ref=sanction.reference,
            status=sanction.status,
        )
    )


def _end(
    session: Session,
    actor: Principal,
    sanction: Sanction,
    status: SanctionStatus,
    reason: str,
    action: str,
    now: datetime,
    via: str | None = None,
) -> int | None:
    entries = grouped.entries_of(session, sanction.id, for_update=True)
    serial = grouped.end(session, actor, entries, reason, now) if entries else None
    sanction.status, sanction.ended_at = status, now
    sanction.ended_by, sanction.end_reason = actor.actor, reason
    session.flush()
    record(
        session,
        actor,
        action,
        OBJECT_TYPE,
        sanction.id,
        {
            "reference": sanction.reference,
            "platform_org_id": sanction.platform_org_id,
            "reason": reason,
            "serial": serial,
            **({"via": via} if via else {}),
        },
    )
    _notify(session, sanction.platform_org_id, action, sanction)
    return serial


def active_blocks(session: Session, platform_org_id: str) -> list[BlockEntry]:
    """The platform's blocks that are in force through its sanctions."""
    from tangkal.blocklist.models import BlockStatus

    return list(
        session.scalars(
            select(BlockEntry)
            .join(Sanction, Sanction.id == BlockEntry.sanction_id)
            .where(
                Sanction.platform_org_id == platform_org_id, BlockEntry.status == BlockStatus.ACTIVE
            )
            .order_by(BlockEntry.domain)
        )
    )
