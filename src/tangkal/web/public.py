"""Pages anyone may open without signing in: the lookup, the transparency report, appeals,
and a domain owner's request to restore access to one blocked domain (normalisasi)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from tangkal import limits, text
from tangkal.api.deps import UnitOfWork
from tangkal.blocklist import appeals
from tangkal.blocklist import lookup as blocklist_lookup
from tangkal.blocklist.routes import appeal_limiter
from tangkal.blocklist.routes import follow_limiter as appeal_follow_limiter
from tangkal.errors import InvalidInput, TangkalError
from tangkal.normalisation import services as normalisation
from tangkal.normalisation.routes import follow_limiter
from tangkal.normalisation.routes import public_limiter as normalisation_limiter
from tangkal.sop.profile import active_profile
from tangkal.web import forms, transparency_pages
from tangkal.web.deps import HtmlRoute, PublicPage, checks_its_own_text

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
# The transparency report and its data files (``tangkal.web.transparency_pages``).
router.include_router(transparency_pages.router)


def _category(key: str | None, lang: str) -> str | None:
    if not key:
        return None
    c = active_profile().categories.get(key)
    if c is None:
        return key
    return c.label_id if lang == "id" else c.label_en


@router.get("/public/lookup")
def lookup(
    page: PublicPage,
    session: UnitOfWork,
    q: str = Query("", max_length=2000),
    domain: str = Query("", max_length=2000),
) -> Response:
    """Is a name blocked, by which order or sanction, on what legal basis, since when, do
    the ISPs follow it, and how to appeal: the answer the public did not get in 2017.
    ``q`` takes a domain or a pasted URL; ``domain`` is the contract's older name for it."""
    text = (q or domain).strip()
    ctx: dict[str, Any] = {"q": text, "result": None, "error": None}
    if not text:
        return page.render("public_lookup.html", ctx)
    profile = active_profile()
    try:
        result = blocklist_lookup.lookup(
            session, text, base_url=page.settings.public_base_url, profile=profile
        )
    except InvalidInput as exc:
        ctx["error"] = page.error(exc)
        return page.render("public_lookup.html", ctx, status=400)
    result["category_label"] = _category(result.get("category"), page.lang)
    order = result.get("order")
    if order:
        order["category_label"] = _category(order.get("category"), page.lang)
    ctx["result"] = result
    ctx["decide_within"] = profile.appeals.decide_within
    return page.render("public_lookup.html", ctx)


def _appeal_page(
    page: PublicPage,
    form: dict[str, str],
    *,
    field: str | None = None,
    error: str | None = None,
    done: appeals.Submitted | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "public_appeal.html",
        {
            "form": form,
            "field": field,
            "error": error,
            "done": appeals.public_view(done.appeal) if done else None,
            "code": done.follow_up_code if done else None,
            "max_statement": appeals.MAX_STATEMENT,
            "decide_within": active_profile().appeals.decide_within,
        },
        status=status,
    )


@router.get("/public/appeal")
def appeal_form(page: PublicPage, domain: str = Query("", max_length=2000)) -> Response:
    return _appeal_page(page, {"domain": domain.strip(), "contact_email": "", "statement": ""})


@router.post("/public/appeal")
@checks_its_own_text
def appeal_submit(
    page: PublicPage,
    session: UnitOfWork,
    domain: str = Form("", max_length=2000),
    contact_email: str = Form("", max_length=1000),
    statement: str = Form("", max_length=limits.form_cap(limits.APPEAL_STATEMENT)),
    csrf_token: str = Form(""),
) -> Response:
    """The public appeal, through ``blocklist.appeals`` and the API's rate limit; the answer
    shows the reference and, this once, the follow-up code."""
    page.check_csrf(csrf_token)
    form = {
        "domain": domain.strip(),
        "contact_email": contact_email.strip(),
        "statement": statement,
    }
    for name, value in (
        ("domain", domain),
        ("contact_email", contact_email),
        ("statement", statement),
    ):
        if text.describe(value):  # said beside the field, in the reader's language
            problem = forms.request_problem(
                {"type": "string_control_character", "loc": ("body", name)}, "/public/appeal"
            )
            shown = {k: text.FORBIDDEN.sub("", v) for k, v in form.items()}  # as typed, less it
            return _appeal_page(
                page, shown, field=name, error=page.fmt.message(problem), status=422
            )
    client = page.request.client
    if not appeal_limiter.allow(client.host if client else "unknown"):
        return _appeal_page(
            page,
            form,
            error=page._(
                "Too many appeals from your address; please wait ten minutes and try again."
            ),
            status=429,
        )
    try:
        with session.begin_nested():
            done = appeals.submit(session, domain, contact_email, statement)
    except TangkalError as exc:
        return _appeal_page(
            page, form, field=exc.field, error=page.error(exc), status=exc.status_code
        )
    return _appeal_page(page, form, done=done)


def _status_page(
    page: PublicPage,
    reference: str,
    *,
    appeal: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "public_appeal_status.html",
        {"reference": reference, "appeal": appeal, "error": error, "words": appeals.WORDS},
        status=status,
    )


@router.get("/public/appeals/{reference}")
def appeal_status_form(page: PublicPage, reference: str) -> Response:
    """Asks for the follow-up code: the reference alone opens nothing."""
    return _status_page(page, reference.strip()[:40])


@router.post("/public/appeals/{reference}")
def appeal_status(
    page: PublicPage,
    session: UnitOfWork,
    reference: str,
    code: str = Form("", max_length=100),
    csrf_token: str = Form(""),
) -> Response:
    """The appeal's steps, deadline, decision and reasons (``appeals.public_view``), for
    whoever holds its reference and follow-up code; the code is sent in the body, so it
    is never in an address, a log line or a Referer."""
    page.check_csrf(csrf_token)
    ref = reference.strip()[:40]
    client = page.request.client
    if not appeal_follow_limiter.allow(client.host if client else "unknown"):
        return _status_page(
            page,
            ref,
            error=page._(
                "Too many requests from your address; please wait ten minutes and try again."
            ),
            status=429,
        )
    try:
        view = appeals.public_view(appeals.follow(session, ref, code))
    except TangkalError as exc:
        return _status_page(page, ref, error=page.error(exc), status=exc.status_code)
    return _status_page(page, ref, appeal=view)


# ------------------------------------------------------------------ normalisation (public)


def _normalisation_page(
    page: PublicPage,
    form: forms.NormalisationForm,
    *,
    done: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    profile = active_profile()
    return page.render(
        "public_normalisation.html",
        {
            "form": form,
            "done": done,
            "conditions": [
                {"name": c.name, "label": c.label_id if page.lang == "id" else c.label_en}
                for c in profile.normalisation.conditions
            ],
            "decide_within": profile.normalisation.decide_within.total_seconds(),
        },
        status=status,
    )


@router.get("/public/normalisation/follow")
def normalisation_follow(
    page: PublicPage, session: UnitOfWork, reference: str = Query("", max_length=40)
) -> Response:
    """A request followed by the reference its answer gave: status, the decision's clock,
    the decision and its reasons (``normalisation.services.public_view``)."""
    text = reference.strip()
    ctx: dict[str, Any] = {"reference": text, "request": None, "error": None}
    if not text:
        return page.render("public_normalisation_follow.html", ctx)
    client = page.request.client
    if not follow_limiter.allow(client.host if client else "unknown"):
        ctx["error"] = page.fmt.gettext(
            forms.N_("Too many requests from your address; please wait ten minutes and try again.")
        )
        return page.render("public_normalisation_follow.html", ctx, status=429)
    try:
        ctx["request"] = normalisation.public_view(
            session, normalisation.by_reference(session, text)
        )
    except TangkalError as exc:
        ctx["error"] = page.error(exc)
        return page.render("public_normalisation_follow.html", ctx, status=exc.status_code)
    return page.render("public_normalisation_follow.html", ctx)


@router.get("/public/normalisation")
def normalisation_form(page: PublicPage, domain: str = Query("", max_length=1000)) -> Response:
    """A blocked domain's owner asks for access to it to be restored."""
    return _normalisation_page(page, forms.NormalisationForm(domain=domain.strip()))


@router.post("/public/normalisation")
def normalisation_submit(
    page: PublicPage,
    session: UnitOfWork,
    domain: str = Form("", max_length=1000),
    contact_email: str = Form("", max_length=320),
    reason: str = Form("", max_length=20000),
    condition: list[str] = Form(default=[], max_length=50),
    evidence: list[str] = Form(default=[], max_length=50),
    csrf_token: str = Form(""),
) -> Response:
    """Through ``normalisation.services.request`` without a principal, and the same rate
    limit per address as the API's public requests."""
    page.check_csrf(csrf_token)
    known = {c.name for c in active_profile().normalisation.conditions}
    form = forms.NormalisationForm.from_lists(
        condition,
        evidence,
        known,
        reason=reason,
        domain=domain.strip(),
        contact_email=contact_email.strip(),
    )
    if not form.check(public=True):  # a form missing its fields never reaches the limiter
        return _normalisation_page(page, form, status=422)
    client = page.request.client
    if not normalisation_limiter.allow(client.host if client else "unknown"):
        form.errors["form"] = forms.N_(
            "Too many requests from your address; please wait ten minutes and try again."
        )
        return _normalisation_page(page, form, status=429)
    try:
        with session.begin_nested():
            row = normalisation.request(
                session,
                None,
                domains=[form.domain],
                reason=form.reason,
                conditions=form.conditions,
                contact_email=form.contact_email,
            )
    except TangkalError as exc:
        form.refused(exc, exc.msg)
        return _normalisation_page(page, form, status=exc.status_code)
    return _normalisation_page(page, form, done=normalisation.to_dict(session, row, public=True))
