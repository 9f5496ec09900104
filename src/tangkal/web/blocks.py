"""The regulator's block pages: the list, the new-block form with its proportionality
assessment, a name's whole history with restoring access (normalisasi), approvals, the
protected-name list (the public's appeals are ``tangkal.web.appeals``).

Every decision goes through ``tangkal.blocklist.services`` (the same functions as the JSON
API and the CLI), so the two-official rule, the rails and the audit record hold here too.
Platforms and ISPs get 403: they see blocks through the public lookup and the RPZ.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from tangkal import limits
from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import UnitOfWork
from tangkal.blocklist import services as blocklist
from tangkal.blocklist.models import BlockStatus
from tangkal.blocklist.rails import assess
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, Msg, NotFound
from tangkal.locators import Domain
from tangkal.sanctions import services as sanctions
from tangkal.sop.profile import active_profile
from tangkal.web import actions, forms, queries
from tangkal.web.deps import ConsolePage, HtmlRoute, Page
from tangkal.web.procedure import reason_shown

router = APIRouter(prefix="/console", route_class=HtmlRoute, include_in_schema=False)

PAGE_SIZE = 50
_STATUSES = [s.value for s in BlockStatus]


def _regulator(page: Page, *roles: Role) -> None:
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR)
    if roles:
        p.require(*roles)


def _categories(lang: str) -> list[dict[str, str]]:
    return [
        {
            "key": c.key,
            "label": c.label_id if lang == "id" else c.label_en,
            "legal_basis": c.legal_basis,
        }
        for c in active_profile().categories.values()
    ]


def _category_label(key: str | None, lang: str) -> str | None:
    c = active_profile().categories.get(key or "")
    if c is None:
        return key
    return c.label_id if lang == "id" else c.label_en


# ------------------------------------------------------------------ list


@router.get("/blocks")
def block_list(
    page: ConsolePage,
    session: UnitOfWork,
    status: str = Query("", max_length=40),
    q: str = Query("", max_length=300),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> Response:
    """Requests waiting for an official first, then every entry, filtered by status and name."""
    _regulator(page)
    p = page.principal
    assert p is not None
    problem = None
    text = q.strip()
    try:
        pending = (
            []
            if status or text or offset
            else blocklist.list_blocks(
                session, p, status=BlockStatus.PENDING_APPROVAL.value, limit=200
            )
        )
        rows: list[Any]
        if text:
            try:
                name = Domain.parse(text).name
            except InvalidInput:
                rows = queries.search_blocks(
                    session, p, text, status=status or None, limit=PAGE_SIZE + 1, offset=offset
                )
            else:
                rows = blocklist.list_blocks(
                    session,
                    p,
                    domain=name,
                    beneath=True,
                    status=status or None,
                    limit=PAGE_SIZE + 1,
                    offset=offset,
                )
        else:
            rows = blocklist.list_blocks(
                session, p, status=status or None, limit=PAGE_SIZE + 1, offset=offset
            )
    except InvalidInput as exc:
        pending, rows, problem = [], [], page.error(exc)
    more = len(rows) > PAGE_SIZE
    return page.render(
        "blocks_list.html",
        {
            "pending": [blocklist.to_dict(e) for e in pending],
            "entries": [blocklist.to_dict(e) for e in rows[:PAGE_SIZE]],
            "counts": queries.block_counts(session, p),
            "statuses": _STATUSES,
            "status": status,
            "q": text,
            "offset": offset,
            "more": more,
            "page_size": PAGE_SIZE,
            "problem": problem,
            "can_decide": p.role is Role.OFFICIAL,
            "block_acts": {e.id: actions.block_actions(e, p) for e in pending},
            "can_request": p.role in (Role.ANALYST, Role.OFFICIAL),
        },
        status=422 if problem else 200,
    )


# ------------------------------------------------------------------ new block


def _assessment_context(page: Page, session: UnitOfWork, domain: str) -> dict[str, Any]:
    text = domain.strip()
    if not text:
        return {"a": None, "error": None, "domain": ""}
    try:
        d = Domain.parse(text)
    except InvalidInput as exc:
        return {"a": None, "error": page.error(exc), "domain": text}
    return {"a": assess(session, d).to_dict(), "error": None, "domain": text, "unicode": d.unicode}


def _new_block_page(
    page: Page, session: UnitOfWork, form: forms.BlockForm, status: int = 200
) -> Response:
    ctx = (
        _assessment_context(page, session, form.domain)
        if form.domain.strip()
        else {"a": None, "error": None, "domain": ""}
    )
    return page.render(
        "block_new.html",
        {
            "form": form,
            "actions": forms.BLOCK_ACTIONS,
            "categories": _categories(page.lang),
            "assessment": ctx,
        },
        status=status,
    )


@router.get("/blocks/new")
def block_new(
    page: ConsolePage,
    session: UnitOfWork,
    domain: str = Query("", max_length=1000),
    order_id: str = Query("", max_length=100),
) -> Response:
    _regulator(page, Role.ANALYST, Role.OFFICIAL)
    return _new_block_page(
        page, session, forms.BlockForm(domain=domain.strip(), order_id=order_id.strip())
    )


@router.get("/blocks/assess")
def block_assess(
    page: ConsolePage, session: UnitOfWork, domain: str = Query("", max_length=1000)
) -> Response:
    """The assessment panel, fetched by htmx as the analyst types or leaves the name field.

    A name that cannot be blocked is answered inside the panel (200 for htmx, which only
    swaps successful answers; 422 for anyone else)."""
    _regulator(page, Role.ANALYST, Role.OFFICIAL, Role.AUDITOR, Role.ADMIN)
    ctx = _assessment_context(page, session, domain)
    htmx = page.request.headers.get("hx-request") == "true"
    return page.render(
        "block_assessment.html",
        {"assessment": ctx},
        status=422 if ctx["error"] and not htmx else 200,
    )


@router.post("/blocks/new")
def block_create(
    page: ConsolePage,
    session: UnitOfWork,
    domain: str = Form("", max_length=1000),
    action: str = Form("nxdomain", max_length=20),
    legal_basis: str = Form("", max_length=limits.form_cap(limits.BLOCK_LEGAL_BASIS)),
    reason: str = Form("", max_length=limits.form_cap(limits.BLOCK_REASON)),
    category: str = Form("", max_length=64),
    order_id: str = Form("", max_length=100),
    expires_at: str = Form("", max_length=40),
    assessed: str = Form("", max_length=1000),
    csrf_token: str = Form(""),
) -> Response:
    """Create the block, but only once the assessment of this very name has been shown."""
    page.check_csrf(csrf_token)
    _regulator(page, Role.ANALYST, Role.OFFICIAL)
    p = page.principal
    assert p is not None
    form = forms.BlockForm(
        domain=domain.strip(),
        action=action.strip(),
        legal_basis=legal_basis,
        reason=reason,
        category=category.strip(),
        order_id=order_id.strip(),
        expires_at=expires_at.strip(),
        assessed=assessed.strip(),
    )
    req = form.build(set(active_profile().categories))
    if req is None:
        return _new_block_page(page, session, form, status=422)
    if not form.seen_assessment:
        # Without JavaScript (or after changing the name) the first submit only shows what
        # the block would touch; the page now carries the name as assessed.
        form.assessed = form.domain
        form.errors["assessment"] = page._(
            "Check the proportionality assessment below, then submit again to create the block."
        )
        return _new_block_page(page, session, form, status=200)
    try:
        with session.begin_nested():
            entry, _ = blocklist.create_block(session, p, req)
    except (InvalidInput, Conflict) as exc:
        form.errors[exc.field or "form"] = page.error(exc)
        return _new_block_page(page, session, form, status=exc.status_code)
    if entry.status is BlockStatus.ACTIVE:
        page.flash(page._("%(name)s is blocked; the RPZ was updated.", name=entry.domain))
    elif entry.status is BlockStatus.SCHEDULED:
        page.flash(page._("The block on %(name)s is scheduled.", name=entry.domain))
    else:
        page.flash(
            page._("The block on %(name)s waits for approval by an official.", name=entry.domain)
        )
    return page.redirect(f"/console/blocks/{entry.id}")


# ------------------------------------------------------------------ protected names


def _protected_page(
    page: Page,
    session: UnitOfWork,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    return page.render(
        "protected.html",
        {
            "names": blocklist.list_protected(session),
            "can_edit": p.role in (Role.OFFICIAL, Role.ADMIN),
            "form": form or {"name": "", "note": ""},
            "error": error,
        },
        status=status,
    )


@router.get("/protected")
def protected_list(page: ConsolePage, session: UnitOfWork) -> Response:
    """Names whose blocking needs two officials (infrastructure, the state's own names)."""
    _regulator(page)
    return _protected_page(page, session)


@router.post("/protected")
def protected_add(
    page: ConsolePage,
    session: UnitOfWork,
    name: str = Form("", max_length=1000),
    note: str = Form("", max_length=2000),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    _regulator(page, Role.OFFICIAL, Role.ADMIN)
    p = page.principal
    assert p is not None
    form = {"name": name.strip(), "note": note.strip()}
    try:
        with session.begin_nested():
            row = blocklist.add_protected(session, p, form["name"], form["note"])
    except (InvalidInput, Conflict) as exc:
        return _protected_page(
            page, session, form=form, error=page.error(exc), status=exc.status_code
        )
    page.flash(page._("%(name)s is now protected.", name=row.name))
    return page.redirect("/console/protected")


@router.post("/protected/remove")
def protected_remove(
    page: ConsolePage,
    session: UnitOfWork,
    name: str = Form("", max_length=1000),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    _regulator(page, Role.OFFICIAL, Role.ADMIN)
    assert page.principal is not None
    blocklist.remove_protected(session, page.principal, name)
    page.flash(page._("%(name)s was removed from the protected list.", name=name.strip()))
    return page.redirect("/console/protected")


# ------------------------------------------------------------------ one entry


def _detail_page(
    page: Page,
    session: UnitOfWork,
    block_id: str,
    *,
    restore_error: str | None = None,
    restore_reason: str = "",
    reject: forms.KeptText | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    entry = blocklist.get_block(session, p, block_id)
    hist = blocklist.history(session, entry)
    same_name = blocklist.list_blocks(session, p, domain=entry.domain, limit=200)
    e = blocklist.to_dict(entry)
    acts = actions.block_actions(entry, p)
    open_ = entry.status in (BlockStatus.ACTIVE, BlockStatus.SCHEDULED)
    sanction = None
    if entry.sanction_id:
        try:
            sanction = sanctions.get(session, p, entry.sanction_id)
        except NotFound:
            sanction = None
    if sanction is not None and e["reason"] == sanction.reason:
        e["reason"] = reason_shown(page, sanction)  # the escalation's words, localised
    order_ref = (
        queries.visible_order_refs(session, p, {entry.order_id}).get(entry.order_id)
        if entry.order_id
        else None
    )
    return page.render(
        "block_detail.html",
        {
            "e": e,
            "events": hist["events"],
            "name_entries": [blocklist.to_dict(x) for x in reversed(same_name)],
            "can_restore": p.role is Role.OFFICIAL and open_,
            # a sanction's blocks are approved and rejected with their sanction, never one by
            # one; the requester and the first approver are not offered Approve (web.actions)
            "acts": acts,
            "can_decide": acts.can_approve or acts.can_reject,
            "reject": reject or forms.KeptText(),
            "sanction": sanction,
            "order_ref": order_ref,
            "restore_error": restore_error,
            "restore_reason": restore_reason,
            "appeals": queries.appeals_for_block(session, entry.id),
            "category": _category_label(entry.category, page.lang),
        },
        status=status,
    )


@router.get("/blocks/{block_id}")
def block_detail(block_id: str, page: ConsolePage, session: UnitOfWork) -> Response:
    _regulator(page)
    return _detail_page(page, session, block_id)


@router.post("/blocks/{block_id}/restore")
def block_restore(
    block_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    reason: str = Form("", max_length=limits.form_cap(limits.BLOCK_DECISION_REASON)),
    csrf_token: str = Form(""),
) -> Response:
    """Normalisasi: restore access, published to the RPZ in the same transaction."""
    page.check_csrf(csrf_token)
    _regulator(page, Role.OFFICIAL)
    assert page.principal is not None
    try:
        with session.begin_nested():
            entry = blocklist.restore(session, page.principal, block_id, reason)
    except (InvalidInput, Conflict) as exc:
        return _detail_page(
            page,
            session,
            block_id,
            restore_error=page.error(exc),
            restore_reason=reason,
            status=exc.status_code,
        )
    page.flash(page._("Access to %(name)s is restored; the RPZ was updated.", name=entry.domain))
    return page.redirect(f"/console/blocks/{entry.id}")


def _back(page: Page, block_id: str, next_: str) -> Response:
    return page.redirect("/console/blocks" if next_ == "list" else f"/console/blocks/{block_id}")


@router.post("/blocks/{block_id}/approve")
def block_approve(
    block_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    next: str = Form("", max_length=10),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    assert page.principal is not None
    _regulator(page, Role.OFFICIAL)
    acts = actions.block_actions(
        blocklist.get_block(session, page.principal, block_id), page.principal
    )
    # not offered on the page (web.actions); reached anyway (an old tab, a second click), it is
    # refused in the page's language without naming anyone by the audit record's code
    if acts.requested_by_me:
        raise Forbidden(Msg("You requested this block, so another official must approve it."))
    if acts.approved_by_me:
        raise Forbidden(
            Msg(
                "You have already approved this block; a different official must give the "
                "second approval."
            )
        )
    entry = blocklist.approve(session, page.principal, block_id)
    page.flash(
        page._(
            "Approved: %(name)s is now %(status)s.",
            name=entry.domain,
            status=page.fmt.term(entry.status),
        )
    )
    return _back(page, entry.id, next)


@router.post("/blocks/{block_id}/reject")
def block_reject(
    block_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    reason: str = Form("", max_length=limits.form_cap(limits.BLOCK_DECISION_REASON)),
    next: str = Form("", max_length=10),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    assert page.principal is not None
    form = forms.KeptText("reject", reason)
    if not form.check(limits.BLOCK_DECISION_REASON, Msg("Say why the block is rejected.")):
        return _detail_page(page, session, block_id, reject=form, status=422)
    try:
        with session.begin_nested():
            entry = blocklist.reject(session, page.principal, block_id, form.text)
    except (InvalidInput, InvalidTransition, Conflict, Forbidden) as exc:
        form.errors["reject"] = exc.msg
        return _detail_page(page, session, block_id, reject=form, status=exc.status_code)
    page.flash(page._("Rejected the block on %(name)s.", name=entry.domain))
    return _back(page, entry.id, next)
