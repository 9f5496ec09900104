"""The procedure after a missed deadline, in the console: the ministry's escalation queue,
sanctions with their approvals, objections (sanggah) to decide or to follow, and requests to
restore access (normalisasi) with the profile's checklist.

Every read and every decision goes through the procedure's services (``tangkal.sanctions``,
``tangkal.objections``, ``tangkal.normalisation``), the same functions as the JSON API, so
roles, tenancy and the two-person rule hold here exactly as there. What a person is offered
comes from the item's state (``tangkal.web.actions``); a refusal by a service (403, 409, 422)
is shown on the page it came from, in the reader's language, with what they typed kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import UnitOfWork
from tangkal.audit.services import events_for
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from tangkal.normalisation import services as normalisation
from tangkal.normalisation.models import Normalisation, NormalisationStatus
from tangkal.objections import services as objections
from tangkal.objections.models import Objection, ObjectionStatus
from tangkal.orders import services as orders
from tangkal.orders.escalation import describe
from tangkal.orders.models import Order, OrderStatus
from tangkal.sanctions import services as sanctions
from tangkal.sanctions.models import Sanction, SanctionStatus
from tangkal.sop.profile import SopProfile, active_profile, get_profile
from tangkal.web import actions, forms, queries
from tangkal.web.deps import ConsolePage, HtmlRoute, Page
from tangkal.web.display import N_

router = APIRouter(prefix="/console", route_class=HtmlRoute, include_in_schema=False)

#: the refusals a decision form shows on its page (a 404 stays the not-found page)
REFUSALS = (Forbidden, InvalidTransition, Conflict, InvalidInput)
#: sanction states after which an order's escalation has had its decision
DECIDED = (SanctionStatus.ACTIVE.value, SanctionStatus.LIFTED.value)
LIST_LIMIT = 300


def _now() -> datetime:
    return datetime.now(UTC)


def _regulator(page: Page, *roles: Role) -> None:
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR)
    if roles:
        p.require(*roles)


def profile_of(name: str | None) -> SopProfile:
    try:
        return get_profile(name) if name else active_profile()
    except Exception:  # an order filed under a profile this server no longer loads
        return active_profile()


def _step_label(profile: SopProfile, code: str, lang: str) -> str:
    for s in profile.steps:
        if s.code == code:
            return s.label_id if lang == "id" else s.label_en
    return code


def escalation_view(page: Page, order: Order, now: datetime | None = None) -> dict[str, Any]:
    """An order's escalation as its page and the queue show it: the steps taken (with their
    due and taken times, fines, annulled marks, the sanction a step proposed), the next step
    with its countdown, and whether an objection holds it (``orders.escalation.describe``)."""
    now = now or _now()
    profile = profile_of(order.sop_profile)
    d = describe(order, profile, now)
    steps = [{**s, "label": _step_label(profile, s["code"], page.lang)} for s in d["escalation"]]
    nxt = d["next_step"]
    if nxt is not None:
        nxt = {
            **nxt,
            "label": _step_label(profile, nxt["code"], page.lang),
            "countdown": page.fmt.countdown(nxt["due_at"], now),
        }
    complete = order.steps_taken >= len(profile.steps) and bool(profile.steps)
    return {
        "steps": steps,
        "next": nxt,
        "held_by": d["escalation_held_by"],
        "complete": complete,
        "total": len(profile.steps),
        "currency": profile.currency,
    }


# ------------------------------------------------------------------ the escalation queue


def _sanction_cards(
    page: Page, session: UnitOfWork, rows: Sequence[Sanction]
) -> list[dict[str, Any]]:
    """Each sanction with what the reader may do, read in a fixed number of statements."""
    p = page.principal
    assert p is not None
    bodies = sanctions.to_dicts(session, rows, full=False)
    return [
        {"s": {**body, "reason": reason_shown(page, s)}, "acts": actions.sanction_actions(s, p)}
        for s, body in zip(rows, bodies, strict=True)
    ]


def reason_shown(page: Page, s: Sanction) -> str:
    """A sanction's reason in the reader's language when a template wrote it (the
    escalation: its stored message id and parameters); an official's reason, and that of a
    sanction from before the message was stored, as its text says."""
    msg = sanctions.reason_message(s, page.lang)
    return page.fmt.message(msg) if msg is not None else s.reason


def _awaiting(
    page: Page, session: UnitOfWork, pending: dict[str, Sanction]
) -> list[dict[str, Any]]:
    """Overdue orders whose escalation has run to its last step: those that led to a
    sanction pending approval, and those that wait for someone to decide what comes next
    (a profile without a sanction step, or a sanction that was rejected or withdrawn)."""
    p = page.principal
    assert p is not None
    rows = orders.list_orders(session, p, status=OrderStatus.OVERDUE.value, limit=500)
    now = _now()
    out = []
    for o in rows:
        view = escalation_view(page, o, now)
        if not view["complete"] or view["held_by"]:
            continue
        linked = queries.sanctions_of_order(session, p, o.id)
        if any(st in DECIDED for st in linked.values()):
            continue  # a sanction is in force, or was and was lifted: decided
        waiting = next((pending[i] for i in linked if i in pending), None)
        last = view["steps"][-1] if view["steps"] else None
        out.append(
            {
                "o": o,
                "view": view,
                "last": last,
                "sanction": sanctions.to_dict(session, waiting, full=False) if waiting else None,
                "since": last["at"] if last else o.overdue_at,
            }
        )
    out.sort(key=lambda r: str(r["since"] or ""))
    return out


def _queue_page(
    page: Page,
    session: UnitOfWork,
    *,
    decision: forms.DecisionForm | None = None,
    propose: forms.DecisionForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    pending = sanctions.list_for(
        session, p, status=SanctionStatus.PENDING_APPROVAL.value, limit=200
    )
    return page.render(
        "escalations.html",
        {
            "cards": _sanction_cards(page, session, pending),
            "awaiting": _awaiting(page, session, {s.id: s for s in pending}),
            "decision": decision or forms.DecisionForm(),
            "propose": propose or forms.DecisionForm(),
            "problem": problem,
            "can_propose": actions.is_official(p),
        },
        status=status,
    )


@router.get("/escalations")
def escalation_queue(page: ConsolePage, session: UnitOfWork) -> Response:
    """Escalations that ran out: sanctions to approve, orders waiting for a decision."""
    _regulator(page, Role.ANALYST, Role.OFFICIAL, Role.AUDITOR, Role.ADMIN)
    return _queue_page(page, session)


@router.post("/escalations/propose")
def escalation_propose(
    page: ConsolePage,
    session: UnitOfWork,
    order_id: str = Form("", max_length=100),
    reason: str = Form("", max_length=5000),
    csrf_token: str = Form(""),
) -> Response:
    """An official proposes a sanction for an order whose escalation has no step left."""
    page.check_csrf(csrf_token)
    _regulator(page)
    p = page.principal
    assert p is not None
    form = forms.DecisionForm(target=order_id.strip(), reason=reason)
    if not form.check(
        (), N_("Say why access to the platform should be blocked; the platform sees this.")
    ):
        return _queue_page(page, session, propose=form, status=422)
    order = orders.get_order(session, p, form.target)
    proposed = forms.in_savepoint(
        session,
        form,
        lambda: sanctions.propose(
            session,
            p,
            platform=order.platform_org_id,
            action=None,
            legal_basis=None,
            reason=form.reason.strip(),
            orders=[order.id],
        ),
        lambda status, problem: _queue_page(
            page, session, propose=form, status=status, problem=problem
        ),
        REFUSALS,
        page.error,
    )
    if isinstance(proposed, Response):
        return proposed
    sanction, _ = proposed
    page.flash(
        page._(
            "Sanction %(ref)s was proposed; it takes effect when %(n)s officials approve it.",
            ref=sanction.reference,
            n=page.fmt.number(sanction.officials_required),
        )
    )
    return page.redirect(f"/console/sanctions/{sanction.id}")


# ------------------------------------------------------------------ sanctions


@router.get("/sanctions")
def sanction_list(
    page: ConsolePage, session: UnitOfWork, status: str = Query("", max_length=40)
) -> Response:
    """Every sanction the organisation may see (a platform: its own), newest first."""
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR, OrgKind.PLATFORM)
    problem = None
    try:
        rows = sanctions.list_for(session, p, status=status or None, limit=LIST_LIMIT)
    except InvalidInput as exc:
        rows, problem = [], page.error(exc)
    return page.render(
        "sanctions_list.html",
        {
            "rows": _sanction_cards(page, session, rows),
            "statuses": [s.value for s in SanctionStatus],
            "status": status,
            "problem": problem,
        },
        status=422 if problem else 200,
    )


def _pending_objections(
    session: UnitOfWork, page: Page, platform_org_id: str
) -> dict[tuple[str, str], Objection]:
    p = page.principal
    assert p is not None
    rows = objections.list_for(
        session,
        p,
        status=ObjectionStatus.PENDING.value,
        platform_org_id=platform_org_id,
        limit=1000,
    )
    return {(o.subject_kind.value, o.subject_id): o for o in rows}


def _sanction_page(
    page: Page,
    session: UnitOfWork,
    sanction_id: str,
    *,
    decision: forms.DecisionForm | None = None,
    objection: forms.ObjectionForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR, OrgKind.PLATFORM)
    s = sanctions.get(session, p, sanction_id)  # NotFound for anyone else's sanction
    body = sanctions.to_dict(session, s, full=True)
    body["reason"] = reason_shown(page, s)
    regulator = p.org_kind is OrgKind.REGULATOR
    now = _now()
    linked = []
    for ref in body["orders"]:
        try:
            o = orders.get_order(session, p, ref["id"])
        except NotFound:
            continue
        linked.append({"o": o, "view": escalation_view(page, o, now)})
    profile = profile_of(s.sop_profile)
    subject = None
    about: list[Objection] = []
    if p.org_kind is OrgKind.PLATFORM or regulator:
        listed = objections.list_for(session, p, platform_org_id=s.platform_org_id, limit=1000)
        about = [o for o in listed if o.subject_kind.value == "sanction" and o.subject_id == s.id]
    if actions.can_object_to_sanction(s, p):
        pending = {
            ("sanction", o.subject_id): o for o in about if o.status is ObjectionStatus.PENDING
        }
        subject = actions.objectable(
            "sanction",
            s.id,
            s.reference,
            s.activated_at or s.proposed_at,
            profile.objections.file_within,
            pending,
            now,
        )
    return page.render(
        "sanction_detail.html",
        {
            "s": body,
            "acts": actions.sanction_actions(s, p),
            "orders": linked,
            "events": events_for(session, "sanction", s.id),
            "regulator": regulator,
            "decision": decision or forms.DecisionForm(target=s.id),
            "objection": objection or forms.ObjectionForm(kind="sanction", subject_id=s.id),
            "subject": subject,
            "about": about,
            "problem": problem,
            "can_normalise": actions.is_moderator(p) and s.status is SanctionStatus.ACTIVE,
        },
        status=status,
    )


@router.get("/sanctions/{sanction_id}")
def sanction_detail(sanction_id: str, page: ConsolePage, session: UnitOfWork) -> Response:
    return _sanction_page(page, session, sanction_id)


def _after_decision(
    page: Page, session: UnitOfWork, sanction_id: str, next_: str, **kw: Any
) -> Response:
    if next_ == "queue":
        return _queue_page(page, session, **kw)
    return _sanction_page(page, session, sanction_id, **kw)


def _back(page: Page, sanction_id: str, next_: str) -> Response:
    return page.redirect(
        "/console/escalations" if next_ == "queue" else f"/console/sanctions/{sanction_id}"
    )


@router.post("/sanctions/{sanction_id}/approve")
def sanction_approve(
    sanction_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    next: str = Form("", max_length=10),
    csrf_token: str = Form(""),
) -> Response:
    """One official's approval of the whole sanction: all its blocks, in one zone change
    with the last approval the profile asks for."""
    page.check_csrf(csrf_token)
    p = page.principal
    assert p is not None
    try:
        with session.begin_nested():
            s = sanctions.approve(session, p, sanction_id)
    except REFUSALS as exc:
        return _after_decision(
            page, session, sanction_id, next, problem=page.error(exc), status=exc.status_code
        )
    if s.status is SanctionStatus.ACTIVE:
        page.flash(
            page._(
                "Sanction %(ref)s is in force: its blocks are published to the RPZ.",
                ref=s.reference,
            )
        )
    else:
        page.flash(
            page._(
                "Your approval of %(ref)s was recorded (%(given)s of %(needed)s); "
                "a different official must approve it too.",
                ref=s.reference,
                given=page.fmt.number(len(s.approvals)),
                needed=page.fmt.number(s.officials_required),
            )
        )
    return _back(page, s.id, next)


@router.post("/sanctions/{sanction_id}/reject")
def sanction_reject(
    sanction_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    reason: str = Form("", max_length=5000),
    next: str = Form("", max_length=10),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    p = page.principal
    assert p is not None
    form = forms.DecisionForm(target=sanction_id, reason=reason)
    if not form.check((), N_("Say why the sanction is rejected; it is kept in the record.")):
        return _after_decision(page, session, sanction_id, next, decision=form, status=422)
    s = forms.in_savepoint(
        session,
        form,
        lambda: sanctions.reject(session, p, sanction_id, form.reason),
        lambda status, problem: _after_decision(
            page, session, sanction_id, next, decision=form, status=status, problem=problem
        ),
        REFUSALS,
        page.error,
    )
    if isinstance(s, Response):
        return s
    page.flash(
        page._("Sanction %(ref)s was rejected; none of its blocks took effect.", ref=s.reference)
    )
    return _back(page, s.id, next)


@router.post("/sanctions/{sanction_id}/objection")
def sanction_object(
    sanction_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    reason: str = Form("", max_length=20000),
    evidence: str = Form("", max_length=110000),
    csrf_token: str = Form(""),
) -> Response:
    """The platform objects (sanggah) to a sanction on it."""
    page.check_csrf(csrf_token)
    p = page.principal
    assert p is not None
    s = sanctions.get(session, p, sanction_id)
    form = forms.ObjectionForm(kind="sanction", subject_id=s.id, reason=reason, evidence=evidence)
    if not form.check(("sanction",)):
        return _sanction_page(page, session, s.id, objection=form, status=422)
    obj = forms.in_savepoint(
        session,
        form,
        lambda: objections.file(
            session, p, kind="sanction", subject_id=s.id, reason=form.reason, evidence=form.lines()
        ),
        lambda status, problem: _sanction_page(
            page, session, s.id, objection=form, status=status, problem=problem
        ),
        REFUSALS,
        page.error,
    )
    if isinstance(obj, Response):
        return obj
    page.flash(filed_message(page, obj))
    return page.redirect(f"/console/sanctions/{s.id}")


def filed_message(page: Page, obj: Objection) -> str:
    return page._(
        "Objection %(ref)s was filed; the regulator decides it by %(when)s.",
        ref=obj.reference,
        when=page.fmt.when(obj.decide_by),
    )


# ------------------------------------------------------------------ objections


def _objection_items(
    page: Page, session: UnitOfWork, rows: Sequence[Objection]
) -> list[dict[str, Any]]:
    p = page.principal
    assert p is not None
    subjects = queries.objection_subjects(
        session, p, [(o.subject_kind.value, o.subject_id) for o in rows]
    )
    names = queries.org_names(session, {o.platform_org_id for o in rows})
    now = _now()
    return [
        {
            "o": o,
            "platform": names.get(o.platform_org_id, "?"),
            "subject": subjects.get((o.subject_kind.value, o.subject_id)),
            "countdown": page.fmt.countdown(o.decide_by, now)
            if o.status is ObjectionStatus.PENDING
            else None,
            "acts": actions.objection_actions(o, p),
        }
        for o in rows
    ]


def _objections_page(
    page: Page,
    session: UnitOfWork,
    *,
    status_filter: str = "",
    decision: forms.DecisionForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR, OrgKind.PLATFORM)
    try:
        rows = objections.list_for(session, p, status=status_filter or None, limit=LIST_LIMIT)
    except InvalidInput as exc:
        rows, problem, status = [], page.error(exc), 422
    # waiting ones first, the nearest decision deadline first; then the decided, newest first
    waiting = sorted(
        (o for o in rows if o.status is ObjectionStatus.PENDING), key=lambda o: o.decide_by
    )
    decided = sorted(
        (o for o in rows if o.status is not ObjectionStatus.PENDING),
        key=lambda o: o.decided_at or o.filed_at,
        reverse=True,
    )
    return page.render(
        "objections.html",
        {
            "waiting": _objection_items(page, session, waiting),
            "decided": _objection_items(page, session, decided),
            "statuses": [s.value for s in ObjectionStatus],
            "status": status_filter,
            "decision": decision or forms.DecisionForm(),
            "problem": problem,
            "regulator": p.org_kind is OrgKind.REGULATOR,
        },
        status=status,
    )


@router.get("/objections")
def objection_list(
    page: ConsolePage, session: UnitOfWork, status: str = Query("", max_length=40)
) -> Response:
    """Objections: the regulator's to decide (pending first, by their decision deadline),
    a platform's own to follow."""
    return _objections_page(page, session, status_filter=status)


@router.post("/objections/{objection_id}/decision")
def objection_decide(
    objection_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    outcome: str = Form("", max_length=20),
    reason: str = Form("", max_length=20000),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    p = page.principal
    assert p is not None
    form = forms.DecisionForm(target=objection_id, outcome=outcome.strip(), reason=reason)
    if not form.check(
        ("upheld", "rejected"), N_("Give the reasons for the decision; the platform receives them.")
    ):
        return _objections_page(page, session, decision=form, status=422)
    obj = forms.in_savepoint(
        session,
        form,
        lambda: objections.decide(
            session, p, objection_id, outcome=form.outcome, reason=form.reason
        ),
        lambda status, problem: _objections_page(
            page, session, decision=form, status=status, problem=problem
        ),
        REFUSALS,
        page.error,
    )
    if isinstance(obj, Response):
        return obj
    if obj.status is ObjectionStatus.UPHELD:
        page.flash(
            page._(
                "Objection %(ref)s was upheld: what it contested is undone and "
                "marked so on the record.",
                ref=obj.reference,
            )
        )
    else:
        page.flash(
            page._(
                "Objection %(ref)s was rejected; the escalation goes on where it stood.",
                ref=obj.reference,
            )
        )
    return page.redirect("/console/objections")


# ------------------------------------------------------------------ normalisation


def _normalisation_items(
    page: Page, session: UnitOfWork, rows: Sequence[Normalisation]
) -> list[dict[str, Any]]:
    p = page.principal
    assert p is not None
    now = _now()
    return [
        {
            "n": normalisation.to_dict(session, r),
            "row": r,
            "countdown": page.fmt.countdown(r.decide_by, now)
            if r.status is NormalisationStatus.PENDING
            else None,
            "acts": actions.normalisation_actions(r, p),
        }
        for r in rows
    ]


def _normalisations_page(
    page: Page,
    session: UnitOfWork,
    *,
    status_filter: str = "",
    decision: forms.DecisionForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR, OrgKind.PLATFORM)
    try:
        rows = normalisation.list_for(session, p, status=status_filter or None, limit=LIST_LIMIT)
    except InvalidInput as exc:
        rows, problem, status = [], page.error(exc), 422
    waiting = sorted(
        (r for r in rows if r.status is NormalisationStatus.PENDING), key=lambda r: r.decide_by
    )
    decided = sorted(
        (r for r in rows if r.status is not NormalisationStatus.PENDING),
        key=lambda r: r.decided_at or r.requested_at,
        reverse=True,
    )
    return page.render(
        "normalisations.html",
        {
            "waiting": _normalisation_items(page, session, waiting),
            "decided": _normalisation_items(page, session, decided),
            "statuses": [s.value for s in NormalisationStatus],
            "status": status_filter,
            "decision": decision or forms.DecisionForm(),
            "problem": problem,
            "regulator": p.org_kind is OrgKind.REGULATOR,
            "can_request": actions.is_moderator(p),
            "max_blocks": active_profile().normalisation.max_blocks,
        },
        status=status,
    )


@router.get("/normalisations")
def normalisation_list(
    page: ConsolePage, session: UnitOfWork, status: str = Query("", max_length=40)
) -> Response:
    """Requests to restore access: pending first with the time left to decide them."""
    return _normalisations_page(page, session, status_filter=status)


def _conditions(lang: str) -> list[dict[str, str]]:
    return [
        {"name": c.name, "label": c.label_id if lang == "id" else c.label_en}
        for c in active_profile().normalisation.conditions
    ]


def _request_page(
    page: Page,
    session: UnitOfWork,
    form: forms.NormalisationForm | None = None,
    *,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.PLATFORM)
    p.require(Role.MODERATOR, Role.ADMIN)
    blocked = sanctions.active_blocks(session, p.org_id)
    if form is None:
        form = forms.NormalisationForm(domains=[e.domain for e in blocked])
    profile = active_profile()
    return page.render(
        "normalisation_new.html",
        {
            "form": form,
            "blocked": blocked,
            "conditions": _conditions(page.lang),
            "decide_within": profile.normalisation.decide_within.total_seconds(),
        },
        status=status,
    )


@router.get("/normalisations/new")
def normalisation_new(page: ConsolePage, session: UnitOfWork) -> Response:
    """The platform asks for its sanctioned names back, with evidence for each condition."""
    return _request_page(page, session)


@router.post("/normalisations/new")
def normalisation_create(
    page: ConsolePage,
    session: UnitOfWork,
    reason: str = Form("", max_length=20000),
    domains: list[str] = Form(default=[], max_length=100),
    condition: list[str] = Form(default=[], max_length=50),
    evidence: list[str] = Form(default=[], max_length=50),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.PLATFORM)
    known = {c.name for c in active_profile().normalisation.conditions}
    form = forms.NormalisationForm.from_lists(
        condition, evidence, known, reason=reason, domains=[d.strip() for d in domains if d.strip()]
    )
    if not form.check(public=False):
        return _request_page(page, session, form, status=422)
    if not form.domains:
        form.errors["domains"] = N_("Choose at least one name whose access should be restored.")
        return _request_page(page, session, form, status=422)
    try:
        with session.begin_nested():
            row = normalisation.request(
                session, p, domains=form.domains, reason=form.reason, conditions=form.conditions
            )
    except REFUSALS as exc:
        form.refused(exc, exc.msg)
        return _request_page(page, session, form, status=exc.status_code)
    page.flash(
        page._(
            "Request %(ref)s was sent; the regulator decides it by %(when)s.",
            ref=row.reference,
            when=page.fmt.when(row.decide_by),
        )
    )
    return page.redirect(f"/console/normalisations#n-{row.id}")


@router.post("/normalisations/{nid}/decision")
def normalisation_decide(
    nid: str,
    page: ConsolePage,
    session: UnitOfWork,
    outcome: str = Form("", max_length=20),
    reason: str = Form("", max_length=20000),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    p = page.principal
    assert p is not None
    form = forms.DecisionForm(target=nid, outcome=outcome.strip(), reason=reason)
    if not form.check(
        ("approved", "refused"), N_("Give the reasons for the decision; they are kept on the case.")
    ):
        return _normalisations_page(page, session, decision=form, status=422)
    row = forms.in_savepoint(
        session,
        form,
        lambda: normalisation.decide(session, p, nid, outcome=form.outcome, reason=form.reason),
        lambda status, problem: _normalisations_page(
            page, session, decision=form, status=status, problem=problem
        ),
        REFUSALS,
        page.error,
    )
    if isinstance(row, Response):
        return row
    if row.status is NormalisationStatus.PENDING:
        page.flash(
            page._(
                "Your approval of %(ref)s is the first of two; a different official "
                "must approve it too.",
                ref=row.reference,
            )
        )
    elif row.status is NormalisationStatus.APPROVED:
        page.flash(
            page._(
                "Request %(ref)s was approved: access to %(names)s is restored and "
                "the RPZ was updated.",
                ref=row.reference,
                names=", ".join(row.domains),
            )
        )
    else:
        page.flash(page._("Request %(ref)s was refused.", ref=row.reference))
    return page.redirect(f"/console/normalisations#n-{row.id}")
