"""The compliance board in the console: whether every ISP's resolvers answer every name as
decided, per ISP and name, with each cell's history, and the ISP's own resolvers to manage.

Every read and change goes through ``tangkal.compliance.services``, the functions behind
``/api/v1/compliance`` and ``/api/v1/resolvers``, so an ISP sees and manages only its own
resolvers and rows here exactly as there, and a platform is refused. The grace that makes a
cell "past the grace" is the SOP profile's ``[compliance]`` table, the same one the
escalation uses; times are shown in the profile's time zone (the ``dt`` filter).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response
from sqlalchemy import select

from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.api.deps import UnitOfWork
from tangkal.compliance import services
from tangkal.compliance.compare import filtering_message
from tangkal.compliance.escalation import overdue, stage_of
from tangkal.errors import Conflict, Forbidden, InvalidInput, Msg, NotFound
from tangkal.sop.profile import active_profile
from tangkal.web import actions
from tangkal.web.deps import ConsolePage, HtmlRoute, Page
from tangkal.web.i18n import as_datetime

router = APIRouter(prefix="/console", route_class=HtmlRoute, include_in_schema=False)

#: the refusals a resolver form shows on its page (a 404 stays the not-found page)
REFUSALS = (Forbidden, Conflict, InvalidInput)
PAGE_NAMES = 100  # names (rows) per page of the board
HISTORY = 200  # changes of state shown per cell


def _reader(page: Page) -> None:
    """The regulator's people who follow the procedure, and an ISP's operators."""
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR, OrgKind.ISP)
    if p.org_kind is OrgKind.ISP:
        p.require(Role.ISP, Role.ADMIN)
    else:
        p.require(Role.ANALYST, Role.OFFICIAL, Role.AUDITOR, Role.ADMIN)


def _isps(session: UnitOfWork) -> list[str]:
    return list(
        session.scalars(
            select(Organization.name)
            .where(Organization.kind == OrgKind.ISP)
            .order_by(Organization.name)
        )
    )


@router.get("/compliance")
def board_page(
    page: ConsolePage,
    session: UnitOfWork,
    only: str = Query("", max_length=20),
    domain: str = Query("", max_length=1000),
    isp: str = Query("", max_length=200),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    """ISPs by names: each cell the ISP's state for the name (its worst resolver's), since
    when, past the grace or not, escalated or not; filters for "not compliant now" and "not
    compliant for longer than the grace"."""
    _reader(page)
    p = page.principal
    assert p is not None
    profile = active_profile()
    regulator = p.org_kind is OrgKind.REGULATOR
    problem = None
    try:
        b = services.board(
            session,
            p,
            profile.compliance,
            only=only,
            domain=domain or None,
            isp=(isp or None) if regulator else None,
            offset=offset,
            limit=PAGE_NAMES,
        )
    except InvalidInput as exc:
        problem = page.error(exc)
        only, domain, isp, offset = "", "", "", 0
        b = services.board(session, p, profile.compliance, limit=PAGE_NAMES)
    columns = [i for i in b.isps if any((i.id, n) in b.cells for n in b.names)] or b.isps
    return page.render(
        "compliance_board.html",
        {
            "board": b,
            "columns": columns,
            "only": only,
            "domain": domain,
            "isp": isp,
            "offset": offset,
            "page_size": PAGE_NAMES,
            "regulator": regulator,
            "isp_choices": _isps(session) if regulator else [],
            "grace_block": profile.compliance.grace_after_block.total_seconds(),
            "grace_restore": profile.compliance.grace_after_restore.total_seconds(),
            "profile": profile.title,
            "problem": problem,
            "can_manage": actions.may_manage_resolvers(p),
        },
        status=422 if problem else 200,
    )


@router.get("/compliance/cell")
def cell_page(
    page: ConsolePage,
    session: UnitOfWork,
    isp: str = Query("", max_length=200),
    domain: str = Query("", max_length=1000),
) -> Response:
    """One ISP and one name: every resolver's current answer, and the history of changes."""
    _reader(page)
    p = page.principal
    assert p is not None
    grace = active_profile().compliance
    now = datetime.now(UTC)
    items = services.compliance_items(session, p, domain=domain, isp=isp)
    history = services.compliance_history(session, p, domain=domain, isp=isp, limit=HISTORY)
    if not items and not history:
        raise NotFound(
            Msg(
                "No probe results for %(domain)s at %(isp)s among those your organisation can see.",
                domain=domain,
                isp=isp,
            )
        )
    rows = []
    for i in items:
        since = as_datetime(i["since"])
        late = since is not None and overdue(i["state"], since, i["expected"], grace, now)
        rows.append(
            {
                **i,
                "overdue": late,
                "due_at": since + grace.grace(i["expected"]) if since else None,
                "stage": stage_of(i["expected"]),
            }
        )
    shown_domain = (items or history)[0]["domain"]
    shown_isp = (items or history)[0]["isp"] or isp
    return page.render(
        "compliance_cell.html",
        {"items": rows, "history": history, "domain": shown_domain, "isp": shown_isp},
    )


# ------------------------------------------------------------------ resolvers


def _resolvers_page(
    page: Page,
    session: UnitOfWork,
    *,
    form: dict[str, Any] | None = None,
    problem: str | None = None,
    problem_field: str | None = None,
    status: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    regulator = p.org_kind is OrgKind.REGULATOR
    resolvers = services.list_resolvers(session, p)
    return page.render(
        "compliance_resolvers.html",
        {
            "resolvers": resolvers,
            "notes": {
                r.id: page.fmt.message(filtering_message(r.filtering_note))
                for r in resolvers
                if r.filtering_since is not None
            },
            "regulator": regulator,
            "can_manage": actions.may_manage_resolvers(p),
            "isp_choices": _isps(session) if regulator else [],
            "form": form or {"address": "", "name": "", "org": "", "control": False},
            "problem": problem,
            "problem_field": problem_field,
        },
        status=status,
    )


@router.get("/compliance/resolvers")
def resolvers_page(page: ConsolePage, session: UnitOfWork) -> Response:
    """The resolvers that are probed: an ISP's own, or (the regulator) every ISP's and the
    controls, with the policy zone's serial each answers."""
    _reader(page)
    return _resolvers_page(page, session)


@router.post("/compliance/resolvers")
def resolver_add(
    page: ConsolePage,
    session: UnitOfWork,
    address: str = Form("", max_length=100),
    name: str = Form("", max_length=200),
    org: str = Form("", max_length=200),
    control: str = Form("", max_length=10),
    csrf_token: str = Form(""),
) -> Response:
    """Register a resolver to probe (``services.add_resolver``: an ISP its own)."""
    page.check_csrf(csrf_token)
    _reader(page)
    p = page.principal
    assert p is not None
    form = {"address": address, "name": name, "org": org, "control": bool(control)}
    try:
        with session.begin_nested():
            view = services.add_resolver(
                session,
                p,
                address=address,
                org=org.strip() or None,
                control=bool(control),
                name=name.strip() or None,
            )
    except REFUSALS as exc:
        return _resolvers_page(
            page,
            session,
            form=form,
            problem=page.error(exc),
            problem_field=exc.field,
            status=exc.status_code,
        )
    page.flash(
        page._(
            "Resolver %(name)s at %(address)s is registered; the next probe round asks it.",
            name=view.name,
            address=view.address,
        )
    )
    return page.redirect("/console/compliance/resolvers")


@router.post("/compliance/resolvers/{resolver_id}/remove")
def resolver_remove(
    resolver_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    csrf_token: str = Form(""),
) -> Response:
    """Stop probing a resolver; its history stays (``services.remove_resolver``)."""
    page.check_csrf(csrf_token)
    _reader(page)
    p = page.principal
    assert p is not None
    try:
        with session.begin_nested():
            view = services.remove_resolver(session, p, resolver_id)
    except (Forbidden, Conflict, InvalidInput) as exc:
        return _resolvers_page(page, session, problem=page.error(exc), status=exc.status_code)
    page.flash(
        page._(
            "Resolver %(name)s at %(address)s is no longer probed; its history is kept.",
            name=view.name,
            address=view.address,
        )
    )
    return page.redirect("/console/compliance/resolvers")
