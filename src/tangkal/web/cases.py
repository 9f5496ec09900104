"""A platform's case file in the console: every order, warning, fine, objection, sanction,
block, normalisation and restoration, in time order, from the audit record
(``tangkal.cases.services.case_file``, the same reading as the JSON API), filtered by kind,
and as CSV to download.

The CSV is served here because the API's link needs a bearer token a browser does not have;
it is the same file (``cases.services.to_csv``), authorised by the same service.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tangkal.accounts.models import OrgKind
from tangkal.api.deps import UnitOfWork
from tangkal.cases import services as cases
from tangkal.errors import InvalidInput
from tangkal.web import queries
from tangkal.web.deps import ConsolePage, HtmlRoute, Page

router = APIRouter(prefix="/console", route_class=HtmlRoute, include_in_schema=False)

#: where an event's object is shown in the console (None: nowhere a platform may open)
_PAGES = {
    "order": "/console/orders/{id}",
    "sanction": "/console/sanctions/{id}",
    "objection": "/console/objections#o-{id}",
    "normalisation": "/console/normalisations#n-{id}",
}


def object_link(object_type: str, object_id: str, regulator: bool) -> str | None:
    if object_type == "block_entry":
        return f"/console/blocks/{object_id}" if regulator else None
    pattern = _PAGES.get(object_type)
    return pattern.format(id=object_id) if pattern else None


@router.get("/cases")
def case_index(page: ConsolePage, session: UnitOfWork) -> Response:
    """A platform goes to its own case file; the regulator chooses a platform."""
    p = page.principal
    assert p is not None
    if p.org_kind is OrgKind.PLATFORM:
        return page.redirect(f"/console/cases/{quote(p.org_name, safe='')}")
    p.require_kind(OrgKind.REGULATOR)
    return page.render("cases_index.html", {"platforms": queries.platforms(session)})


def _read(
    page: Page, session: UnitOfWork, platform: str, kinds: list[str]
) -> tuple[dict[str, Any], list[str], str | None]:
    p = page.principal
    assert p is not None
    wanted = [k for k in kinds if k]
    try:
        return cases.case_file(session, p, platform, kinds=wanted), wanted, None
    except InvalidInput as exc:
        return cases.case_file(session, p, platform), [], page.error(exc)


@router.get("/cases/{platform}")
def case_page(
    platform: str,
    page: ConsolePage,
    session: UnitOfWork,
    kind: list[str] = Query(default=[], max_length=20),
) -> Response:
    p = page.principal
    assert p is not None
    case, wanted, problem = _read(page, session, platform, kind)
    regulator = p.org_kind is OrgKind.REGULATOR
    events = [
        {**e, "link": object_link(e["object_type"], e["object_id"], regulator)}
        for e in case["events"]
    ]
    csv_query = "&".join(f"kind={quote(k)}" for k in wanted)
    return page.render(
        "case_file.html",
        {
            "case": case,
            "events": events,
            "kinds": case["kinds"],
            "wanted": wanted,
            "problem": problem,
            "regulator": regulator,
            "csv_url": f"/console/cases/{quote(case['platform'], safe='')}/csv"
            + (f"?{csv_query}" if csv_query else ""),
        },
        status=422 if problem else 200,
    )


@router.get("/cases/{platform}/csv")
def case_csv(
    platform: str,
    page: ConsolePage,
    session: UnitOfWork,
    kind: list[str] = Query(default=[], max_length=20),
) -> Response:
    """The case file as CSV, the same columns as the API's ``?format=csv``."""
    p = page.principal
    assert p is not None
    case = cases.case_file(session, p, platform, kinds=[k for k in kind if k])
    return page.download(
        cases.to_csv(case, page.fmt.tz), "text/csv; charset=utf-8", f"case-{case['platform']}.csv"
    )
