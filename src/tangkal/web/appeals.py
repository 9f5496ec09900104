"""The officials' queue of the public's appeals (``/console/appeals``): the nearest decision
deadline first, those overdue or due within the profile's ``[appeals] warn_before`` marked
as such (the scheduler warns officials on the record at the same moment), with the actions
the state machine (``blocklist.appeals.allowed``) offers the person reading it: take under
review, uphold (access restored through the RPZ) or reject.

Every action goes through ``tangkal.blocklist.appeals``, the same functions as the API, so
the roles, the organisation's scope and the audit record hold here too. Analysts, auditors
and admins of the regulator read the queue; only officials act in it.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from tangkal import limits
from tangkal.accounts.models import OrgKind
from tangkal.api.deps import UnitOfWork
from tangkal.blocklist import appeals
from tangkal.blocklist.models import AppealStatus
from tangkal.db.base import utcnow
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from tangkal.web import forms, queries
from tangkal.web.deps import ConsolePage, HtmlRoute, Page
from tangkal.web.forms import N_

router = APIRouter(prefix="/console", route_class=HtmlRoute, include_in_schema=False)

REFUSALS = (Forbidden, InvalidTransition, Conflict, InvalidInput, NotFound)
FILTERS = ("open", "decided", "all")
LIMIT = 300


def _queue_page(
    page: Page,
    session: UnitOfWork,
    *,
    status: str = "open",
    decision: forms.DecisionForm | None = None,
    problem: str | None = None,
    code: int = 200,
) -> Response:
    p = page.principal
    assert p is not None
    p.require_kind(OrgKind.REGULATOR)
    rows = appeals.queue(session, p, status=status, limit=LIMIT)
    now, lead = utcnow(), appeals.reminder_lead()
    bands = {a.id: appeals.band(a, now, lead) for a in rows}
    items = [{**appeals.to_dict(a, p), "band": bands[a.id]} for a in rows]
    entries = queries.block_summaries(session, {a["block_id"] for a in items if a["block_id"]})
    return page.render(
        "appeals.html",
        {
            "appeals": items,
            "entries": entries,
            "status": status,
            "filters": FILTERS,
            "words": appeals.WORDS,
            "band_words": appeals.BAND_WORDS,
            "band_counts": {
                b.value: sum(1 for x in bands.values() if x is b) for b in appeals.Band
            },
            "decision": decision or forms.DecisionForm(),
            "problem": problem,
            "choices": [
                ("upheld", page.fmt.message(appeals.WORDS["uphold"])),
                ("rejected", page.fmt.message(appeals.WORDS["reject"])),
            ],
        },
        status=code,
    )


@router.get("/appeals")
def appeal_queue(
    page: ConsolePage, session: UnitOfWork, status: str = Query("open", max_length=20)
) -> Response:
    """Open appeals by decision deadline; ``?status=decided`` or ``all`` for the rest."""
    return _queue_page(page, session, status=status if status in FILTERS else "open")


@router.post("/appeals/{appeal_id}/review")
def appeal_review(
    appeal_id: str, page: ConsolePage, session: UnitOfWork, csrf_token: str = Form("")
) -> Response:
    page.check_csrf(csrf_token)
    p = page.principal
    assert p is not None
    try:
        with session.begin_nested():
            row = appeals.take_under_review(session, p, appeal_id)
    except REFUSALS as exc:
        return _queue_page(page, session, problem=page.error(exc), code=exc.status_code)
    page.flash(page._("Appeal %(ref)s is under review; the appellant sees it.", ref=row.reference))
    return page.redirect(f"/console/appeals#a-{row.id}")


@router.post("/appeals/{appeal_id}/decision")
def appeal_decide(
    appeal_id: str,
    page: ConsolePage,
    session: UnitOfWork,
    outcome: str = Form("", max_length=20),
    reason: str = Form("", max_length=limits.form_cap(limits.APPEAL_DECISION_REASON)),
    csrf_token: str = Form(""),
) -> Response:
    page.check_csrf(csrf_token)
    p = page.principal
    assert p is not None
    form = forms.DecisionForm(target=appeal_id, outcome=outcome.strip(), reason=reason)
    if not form.check(
        ("upheld", "rejected"),
        N_("Give the reasons for the decision; the appellant reads them."),
    ):
        return _queue_page(page, session, decision=form, code=422)
    row = forms.in_savepoint(
        session,
        form,
        lambda: appeals.decide(session, p, appeal_id, outcome=form.outcome, reason=form.reason),
        lambda code, problem: _queue_page(page, session, decision=form, code=code, problem=problem),
        REFUSALS,
        page.error,
    )
    if isinstance(row, Response):
        return row
    if row.status is AppealStatus.UPHELD:
        page.flash(
            page._(
                "Appeal %(ref)s was upheld: the block of %(name)s is lifted and the RPZ was "
                "updated.",
                ref=row.reference,
                name=row.domain,
            )
        )
    else:
        page.flash(page._("Appeal %(ref)s was rejected; the block stands.", ref=row.reference))
    return page.redirect("/console/appeals?status=all")
