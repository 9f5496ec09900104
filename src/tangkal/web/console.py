"""The signed-in console: orders for the regulator and the platforms, approvals for
officials, the zone's state for ISPs.

Every page authorises through the same services as the JSON API (``get_order`` scopes by
organisation, ``acknowledge`` checks the role ...), so the console can never show or do more
than the API would for the same person.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from tangkal import limits
from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import UnitOfWork
from tangkal.audit.services import events_for
from tangkal.delivery.services import delivery_log
from tangkal.errors import Forbidden, InvalidInput, Msg, NotFound, TangkalError, TooLarge
from tangkal.hashing import banks
from tangkal.objections import services as objections
from tangkal.objections.models import ObjectionStatus
from tangkal.orders import services as orders
from tangkal.orders.models import OPEN_STATUSES, Order, OrderStatus
from tangkal.sanctions import services as sanctions
from tangkal.settings import get_settings
from tangkal.sop.profile import active_profile
from tangkal.web import (
    actions,
    forms,
    order_matches,
    procedure,
    queries,
    statement_form,
    worklist,
)
from tangkal.web.deps import ConsolePage, HtmlRoute, Page

router = APIRouter(prefix="/console", route_class=HtmlRoute, include_in_schema=False)

PAGE_SIZE = worklist.PAGE_SIZE


def _categories(lang: str) -> list[dict[str, str]]:
    profile = active_profile()
    return [
        {
            "key": c.key,
            "label": c.label_id if lang == "id" else c.label_en,
            "legal_basis": c.legal_basis,
            "urgency": c.urgency,
            "deadline": str(int(profile.deadline(c.urgency).total_seconds())),
        }
        for c in profile.categories.values()
    ]


def _category_label(key: str, lang: str) -> str:
    c = active_profile().categories.get(key)
    if c is None:
        return key
    return c.label_id if lang == "id" else c.label_en


@router.get("")
def home(page: ConsolePage) -> Response:
    p = page.principal
    assert p is not None
    if p.org_kind is OrgKind.ISP:
        return page.redirect("/console/rpz")
    return page.redirect("/console/orders")


# ------------------------------------------------------------------ orders


@router.get("/orders")
def order_list(
    page: ConsolePage,
    session: UnitOfWork,
    show: str = Query("", max_length=500),
    status: str = Query("", max_length=500),
    urgency: str = Query("", max_length=500),
    category: str = Query("", max_length=500),
    platform: str = Query("", max_length=500),
    q: str = Query("", max_length=2000),
    after: str = Query("", max_length=2000),
    before: str = Query("", max_length=2000),
) -> Response:
    """The regulator's board, or a platform's inbox: only the caller's own orders, by time
    left (``web.worklist``). The limits above are generous on purpose: the checks that
    matter are ``worklist.parse_query``'s, which answer on the page itself."""
    p = page.principal
    assert p is not None
    if p.org_kind is OrgKind.ISP:
        raise Forbidden(Msg("ISPs receive blocks through the RPZ, not orders; see the RPZ page."))
    profile = active_profile()
    bands = worklist.bands_for(profile.deadlines.values())
    is_regulator = p.org_kind is OrgKind.REGULATOR
    platforms = queries.platforms(session) if is_regulator else []
    choices = {o.name: o.id for o in platforms} | {o.id: o.id for o in platforms}
    now = datetime.now(UTC)
    problem = None
    try:
        lq = worklist.parse_query(
            show=show,
            status=status,
            urgency=urgency,
            category=category,
            platform=platform if is_regulator else "",
            q=q,
            after=after,
            before=before,
            bands=bands,
            categories=profile.categories,
            platforms=choices,
        )
        listed = worklist.read_page(session, p, lq, bands, now, PAGE_SIZE)
    except InvalidInput as exc:
        problem = page.error(exc)
        lq = worklist.ListQuery()
        listed = worklist.ListPage([])
    counts = orders.count_by_status(session, p)
    groups = worklist.group_rows(listed.rows, bands, lq.view, now)
    ctx: dict[str, Any] = {
        "groups": [
            {
                "key": g.band.key if g.band else "closed",
                "label": page.fmt.message(g.band.label) if g.band else page._("Answered or closed"),
                "count": listed.counts.get(g.band.key) if g.band else None,
                "rows": [
                    {
                        "o": r.order,
                        "platform": r.platform,
                        "n_items": r.items,
                        "first_item": r.first_item,
                        "category": _category_label(r.order.category, page.lang),
                        "countdown": page.fmt.countdown(
                            r.order.deadline_at, now, paused=r.order.paused_at is not None
                        )
                        if r.order.status in OPEN_STATUSES
                        else None,
                        "clock": worklist.clock((r.order.deadline_at - now).total_seconds())
                        if r.order.status in OPEN_STATUSES and r.order.paused_at is None
                        else None,
                    }
                    for r in g.rows
                ],
            }
            for g in groups
        ],
        "bands": [
            {"key": b.key, "label": page.fmt.message(b.label), "n": listed.counts.get(b.key, 0)}
            for b in bands
        ],
        "counts": counts,
        "open_total": sum(n for s, n in counts.items() if OrderStatus(s) in OPEN_STATUSES),
        "closed_total": sum(n for s, n in counts.items() if OrderStatus(s) not in OPEN_STATUSES),
        "statuses": [s.value for s in OrderStatus],
        "categories": _categories(page.lang),
        "platforms": platforms,
        "view": lq.view,
        "status": lq.status.value if lq.status else "",
        "urgency": lq.urgency,
        "category": lq.category,
        "platform": platform if lq.platform_id else "",
        "q": lq.text if not problem else q[: worklist.MAX_SEARCH],
        "next_cursor": listed.next.encode() if listed.next else None,
        "prev_cursor": listed.prev.encode() if listed.prev else None,
        "problem": problem,
        # the words the countdown script writes, from the same catalogue as the server's
        "clock_words": {
            key: page.fmt.gettext(text)
            for key, text in (
                ("left", "%(span)s left"),
                ("over", "OVERDUE by %(span)s"),
                ("dh", "%(d)d d %(h)d h"),
                ("hm", "%(h)d h %(m)d min"),
                ("m", "%(m)d min"),
                ("under", "under a minute"),
            )
        },
        "can_file": is_regulator and p.role in (Role.ANALYST, Role.OFFICIAL),
    }
    template = (
        "orders_table.html"
        if page.request.headers.get("hx-target") == "orders"
        else "orders_list.html"
    )
    return page.render(template, ctx, status=422 if problem else 200)


def _need_filer(page: Page) -> None:
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR)
    p.require(Role.ANALYST, Role.OFFICIAL)


def _new_order_page(
    page: Page, session: UnitOfWork, form: forms.OrderForm, status: int = 200
) -> Response:
    return page.render(
        "order_new.html",
        {
            "form": form,
            "platforms": queries.platforms(session),
            "categories": _categories(page.lang),
            "max_bytes": get_settings().max_evidence_bytes,
        },
        status=status,
    )


@router.get("/orders/new")
def order_new(page: ConsolePage, session: UnitOfWork) -> Response:
    _need_filer(page)
    return _new_order_page(page, session, forms.OrderForm())


@router.post("/orders/new")
def order_create(
    page: ConsolePage,
    session: UnitOfWork,
    platform: str = Form("", max_length=200),
    category: str = Form("", max_length=50),
    legal_basis: str = Form("", max_length=limits.form_cap(limits.ORDER_LEGAL_BASIS)),
    reason: str = Form("", max_length=limits.form_cap(limits.ORDER_REASON)),
    locators: str = Form("", max_length=1_200_000),
    evidence: list[UploadFile] = File(default=[]),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    _need_filer(page)
    form = forms.OrderForm(
        platform=platform.strip(),
        category=category.strip(),
        legal_basis=legal_basis,
        reason=reason,
        locators=locators,
    )
    form.check(set(active_profile().categories), {o.name for o in queries.platforms(session)})
    items = []
    limit = get_settings().max_evidence_bytes
    for f in evidence[: forms.MAX_EVIDENCE_FILES]:
        if not f.filename:
            continue  # the empty file input browsers send when nothing was chosen
        content = f.file.read(limit + 1)
        if len(content) > limit:
            form.errors["evidence"] = page._(
                "%(name)s is larger than the limit of %(limit)s bytes.",
                name=f.filename,
                limit=page.fmt.number(limit),
            )
            continue
        if content:
            items.append(forms.evidence_item(f.filename, f.content_type or "", content))
    chosen = [f.filename for f in evidence if f.filename]
    if not form.ok:
        form.files_to_choose_again = chosen
        return _new_order_page(page, session, form, status=422)
    p = page.principal
    assert p is not None
    try:
        with session.begin_nested():
            order = orders.file_order(session, p, form.to_order(items))
    except (InvalidInput, TooLarge) as exc:
        form.errors[exc.field or "form"] = page.error(exc)
        form.files_to_choose_again = chosen
        return _new_order_page(page, session, form, status=exc.status_code)
    page.flash(page._("Order %(ref)s was filed.", ref=order.reference))
    return page.redirect(f"/console/orders/{order.id}")


_ACTION_LABELS = {
    "order.issued",
    "order.received",
    "order.acknowledged",
    "order.clarification_requested",
    "order.clarification_answered",
    "order.responded",
    "order.overdue",
    "order.warning_issued",
    "order.withdrawn",
    "order.evidence_added",
    "delivery.attempt",
}


@router.get("/orders/{order_id}")
def order_detail(order_id: str, page: ConsolePage, session: UnitOfWork) -> Response:
    return _order_page(page, session, order_id)


def _objection_context(
    page: Page, session: UnitOfWork, order: Order, now: datetime
) -> dict[str, Any]:
    """The objections about this order (to it, its warnings or fines) and, for the
    platform's moderators, what they may still object to and until when."""
    p = page.principal
    assert p is not None
    listed = objections.list_for(session, p, platform_org_id=order.platform_org_id, limit=1000)
    about = [o for o in listed if o.order_id == order.id]
    subjects: list[actions.Objectable] = []
    if actions.is_moderator(p) and order.platform_org_id == p.org_id:
        within = procedure.profile_of(order.sop_profile).objections.file_within
        pending = {
            (o.subject_kind.value, o.subject_id): o
            for o in about
            if o.status is ObjectionStatus.PENDING
        }
        if order.status not in (OrderStatus.WITHDRAWN, OrderStatus.COMPLIED):
            subjects.append(
                actions.objectable(
                    "order",
                    order.id,
                    order.reference,
                    order.received_at or order.issued_at,
                    within,
                    pending,
                    now,
                )
            )
        for step in order.steps:
            if step.annulled_at is not None or step.kind == "sanction_proposal":
                continue  # a proposal is contested through the sanction it made
            label = f"{order.reference} {step.code}"
            subjects.append(
                actions.objectable("warning", step.id, label, step.issued_at, within, pending, now)
            )
            if step.fine and step.fine_annulled_at is None:
                subjects.append(
                    actions.objectable("fine", step.id, label, step.issued_at, within, pending, now)
                )
    return {"about": about, "subjects": subjects}


def _order_page(
    page: Page,
    session: UnitOfWork,
    order_id: str,
    *,
    objection: forms.ObjectionForm | None = None,
    sor: statement_form.StatementForm | None = None,
    kept: forms.KeptText | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    order = orders.get_order(session, p, order_id)  # NotFound for anyone else's order
    names = queries.org_names(session, {order.platform_org_id, order.regulator_org_id})
    events = events_for(session, "order", order.id)
    is_platform = p.org_kind is OrgKind.PLATFORM and p.role in (Role.MODERATOR, Role.ADMIN)
    is_regulator = p.org_kind is OrgKind.REGULATOR
    open_ = order.status in OPEN_STATUSES
    now = datetime.now(UTC)
    linked = []
    for sid in queries.sanctions_of_order(session, p, order.id):
        try:
            linked.append(sanctions.to_dict(session, sanctions.get(session, p, sid), full=False))
        except NotFound:
            continue
    related = orders.related_orders(session, p, order)
    ctx = {
        "o": order,
        "platform": names.get(order.platform_org_id, "?"),
        "regulator": names.get(order.regulator_org_id, "?"),
        "category": _category_label(order.category, page.lang),
        "clock": page.fmt.countdown(order.deadline_at, paused=order.paused_at is not None)
        if open_
        else None,
        "events": events,
        "known_actions": _ACTION_LABELS,
        "deliveries": delivery_log(session, order.id, p),
        "related": related,
        **order_matches.context(session, p, order, related),
        "escalation": procedure.escalation_view(page, order, now),
        "sanctions": linked,
        "objection": objection or forms.ObjectionForm(),
        "kept": kept or forms.KeptText(),
        "problem": problem,
        **_objection_context(page, session, order, now),
        "can_ack": is_platform and open_ and order.acknowledged_at is None,
        "can_clarify": is_platform
        and open_
        and order.status is not OrderStatus.CLARIFICATION_REQUESTED,
        "can_respond": is_platform
        and order.status not in (OrderStatus.COMPLIED, OrderStatus.WITHDRAWN),
        "can_answer": is_regulator
        and p.role in (Role.ANALYST, Role.OFFICIAL)
        and order.status is OrderStatus.CLARIFICATION_REQUESTED,
        "can_withdraw": is_regulator
        and p.role is Role.OFFICIAL
        and order.status not in (OrderStatus.COMPLIED, OrderStatus.WITHDRAWN),
        **statement_form.context(page.fmt, sor),
        # the regulator's own banks, for "put evidence into bank" (owners alone add content)
        "evidence_banks": [
            b.name for b in banks.visible_banks(session, p) if b.owner_org_id == p.org_id
        ]
        if is_regulator and p.role in (Role.ANALYST, Role.OFFICIAL) and order.evidence
        else [],
    }
    return page.render("order_detail.html", ctx, status=status)


@router.post("/orders/{order_id}/objection")
def order_object(
    order_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    kind: str = Form("", max_length=20),
    subject_id: str = Form("", max_length=100),
    reason: str = Form("", max_length=limits.form_cap(limits.OBJECTION_REASON)),
    evidence: str = Form("", max_length=110000),
    csrf_token: str = Form(""),
) -> Response:
    """The platform objects (sanggah) to the order, one of its warning letters or a fine;
    the order's escalation waits until the regulator decides."""
    page.check_csrf(csrf_token)
    p = page.principal
    assert p is not None
    order = orders.get_order(session, p, order_id)
    form = forms.ObjectionForm(
        kind=kind.strip(), subject_id=subject_id.strip(), reason=reason, evidence=evidence
    )
    step_ids = {s.id for s in order.steps}
    if not (
        (form.kind == "order" and form.subject_id == order.id)
        or (form.kind in ("warning", "fine") and form.subject_id in step_ids)
    ):
        return _order_page(
            page,
            session,
            order.id,
            status=422,
            problem=page._("An unknown subject was sent; reload the page."),
        )
    if not form.check(("order", "warning", "fine")):
        return _order_page(page, session, order.id, objection=form, status=422)
    obj = forms.in_savepoint(
        session,
        form,
        lambda: objections.file(
            session,
            p,
            kind=form.kind,
            subject_id=form.subject_id,
            reason=form.reason,
            evidence=form.lines(),
        ),
        lambda status, problem: _order_page(
            page, session, order.id, objection=form, status=status, problem=problem
        ),
        procedure.REFUSALS,
        page.error,
    )
    if isinstance(obj, Response):
        return obj
    page.flash(procedure.filed_message(page, obj))
    return page.redirect(f"/console/orders/{order.id}")


def _one_field(
    page: Page,
    session: UnitOfWork,
    order_id: str,
    form: forms.KeptText,
    limit: int,
    missing: Msg,
    take: Callable[[str], object],
    done: str,
) -> Response:
    """A one-field form of the order page (a question, an answer, a withdrawal): checked,
    taken in a savepoint, and on a refusal the page again with the text kept; ``done`` is
    said on the page it goes back to."""
    if not form.check(limit, missing):
        return _order_page(page, session, order_id, kept=form, status=422)
    try:
        with session.begin_nested():
            take(form.text)
    except procedure.REFUSALS as exc:
        return _kept_refused(page, session, order_id, form, exc)
    return _after(page, order_id, done)


def _kept_refused(
    page: Page, session: UnitOfWork, order_id: str, form: forms.KeptText, exc: TangkalError
) -> Response:
    """A service's refusal of a one-field form: the order page again, the text kept and the
    refusal beside the field (or above, when it is about something else)."""
    beside = form.refused(exc, exc.msg)
    return _order_page(
        page,
        session,
        order_id,
        kept=form,
        status=exc.status_code,
        problem=None if beside else page.error(exc),
    )


def _after(page: Page, order_id: str, message: str) -> Response:
    page.flash(message)
    return page.redirect(f"/console/orders/{order_id}")


@router.post("/orders/{order_id}/ack")
def order_ack(
    order_id: str, page: ConsolePage, session: UnitOfWork, csrf_token: str = Form("")
) -> Response:
    page.check_csrf(csrf_token)
    assert page.principal is not None
    order = orders.acknowledge(session, page.principal, order_id)
    return _after(page, order.id, page._("Receipt acknowledged; the deadline clock runs from now."))


@router.post("/orders/{order_id}/clarification")
def order_clarify(
    order_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    question: str = Form("", max_length=limits.form_cap(limits.CLARIFICATION)),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    assert page.principal is not None
    p = page.principal
    return _one_field(
        page,
        session,
        order_id,
        forms.KeptText("question", question),
        limits.CLARIFICATION,
        Msg("Write the question for the regulator."),
        lambda text: orders.request_clarification(session, p, order_id, text),
        page._("Question sent; the deadline clock is paused until it is answered."),
    )


@router.post("/orders/{order_id}/clarification/answer")
def order_answer(
    order_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    answer: str = Form("", max_length=limits.form_cap(limits.CLARIFICATION)),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    assert page.principal is not None
    p = page.principal
    return _one_field(
        page,
        session,
        order_id,
        forms.KeptText("answer", answer),
        limits.CLARIFICATION,
        Msg("Write the answer for the platform."),
        lambda text: orders.answer_clarification(session, p, order_id, text),
        page._("Answer sent; the deadline clock runs again."),
    )


@router.post("/orders/{order_id}/response")
def order_respond(
    order_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    action: str = Form("", max_length=40),
    decision_facts: str = Form("", max_length=20000),
    visibility: list[str] = Form(default=[]),
    decision_visibility_other: str = Form("", max_length=20000),
    decision_ground: str = Form("DECISION_GROUND_ILLEGAL_CONTENT", max_length=80),
    incompatible_content_ground: str = Form("", max_length=20000),
    incompatible_content_explanation: str = Form("", max_length=20000),
    category: str = Form("", max_length=80),
    content_type: list[str] = Form(default=[]),
    content_type_other: str = Form("", max_length=20000),
    content_date: str = Form("", max_length=40),
    source_type: str = Form("SOURCE_TYPE_OTHER_NOTIFICATION", max_length=80),
    automated_detection: str = Form(""),
    automated_decision: str = Form("AUTOMATED_DECISION_NOT_AUTOMATED", max_length=80),
    reason: str = Form("", max_length=20000),
    csrf_token: str = Form(""),
) -> Response:
    """The platform's answer with its statement of reasons; a refusal (the DSA rules'
    included) comes back beside its field with everything written kept."""
    page.check_csrf(csrf_token)
    assert page.principal is not None
    form = statement_form.StatementForm(
        action=action,
        decision_facts=decision_facts,
        visibility=visibility[:10],
        decision_visibility_other=decision_visibility_other,
        decision_ground=decision_ground,
        incompatible_content_ground=incompatible_content_ground,
        incompatible_content_explanation=incompatible_content_explanation,
        category=category,
        content_type=content_type[:10],
        content_type_other=content_type_other,
        content_date=content_date,
        source_type=source_type,
        automated_detection=automated_detection,
        automated_decision=automated_decision,
        reason=reason,
    )
    body = form.build()
    if body is None:
        return _order_page(page, session, order_id, sor=form, status=422)
    try:
        with session.begin_nested():
            orders.respond(session, page.principal, order_id, body)
    except InvalidInput as exc:
        beside = form.refused(exc)
        return _order_page(
            page,
            session,
            order_id,
            sor=form,
            status=exc.status_code,
            problem=None if beside else page.error(exc),
        )
    return _after(page, order_id, page._("Your answer and statement of reasons were recorded."))


@router.post("/orders/{order_id}/withdraw")
def order_withdraw(
    order_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    reason: str = Form("", max_length=limits.form_cap(limits.WITHDRAW_REASON)),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    assert page.principal is not None
    p = page.principal
    return _one_field(
        page,
        session,
        order_id,
        forms.KeptText("withdraw", reason),
        limits.WITHDRAW_REASON,
        Msg("Say why the order is withdrawn."),
        lambda text: orders.withdraw(session, p, order_id, text.strip()),
        page._("The order was withdrawn."),
    )


@router.get("/orders/{order_id}/evidence/{evidence_id}")
def evidence_file(
    order_id: str, evidence_id: str, page: ConsolePage, session: UnitOfWork
) -> Response:
    """Evidence is served as a download, never inline, so a file cannot run in our origin."""
    assert page.principal is not None
    order = orders.get_order(session, page.principal, order_id)
    for ev in order.evidence:
        if ev.id == evidence_id:
            safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in ev.filename)
            return Response(
                ev.content,
                media_type="application/octet-stream",
                headers={
                    "Content-Disposition": f'attachment; filename="{safe or "evidence"}"',
                    "X-Content-Type-Options": "nosniff",
                    "Cache-Control": "no-store",
                },
            )
    raise NotFound(Msg("No such evidence file on this order."))


# ------------------------------------------------------------------ RPZ (ISPs)


@router.get("/rpz")
def rpz(page: ConsolePage, session: UnitOfWork) -> Response:
    """The zone's serial and size and, for an ISP, its own resolvers with their lag (the
    regulator's officials see every subscriber), read through the RPZ service."""
    from tangkal.rpz import services as rpz_services

    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR, OrgKind.ISP)
    p.require(Role.ISP, Role.OFFICIAL, Role.AUDITOR, Role.ADMIN, Role.ANALYST)
    zone = rpz_services.zone_status(session, page.settings)
    sees_subscribers = p.org_kind is OrgKind.ISP or p.role in (
        Role.OFFICIAL,
        Role.AUDITOR,
        Role.ADMIN,
    )
    subs = rpz_services.subscriber_status(session, p) if sees_subscribers else []
    return page.render(
        "rpz_status.html", {"s": zone, "subscribers": subs, "sees_subscribers": sees_subscribers}
    )
