"""The web console and the public pages: one router that ``tangkal.api.app`` includes.

Sign-in, sign-out, the landing redirect and the static files live here; the public pages in
``tangkal.web.public`` and the console in ``tangkal.web.console``.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from tangkal.accounts import services as accounts
from tangkal.accounts.models import User
from tangkal.api.deps import UnitOfWork
from tangkal.errors import Msg, NotFound, Unauthenticated
from tangkal.ratelimit import RateLimiter
from tangkal.sop.profile import active_profile
from tangkal.web import appeals, banks, blocks, cases, compliance, console, procedure, public
from tangkal.web.deps import ConsolePage, HtmlRoute, Page, PublicPage
from tangkal.web.i18n import Formatter
from tangkal.web.sessions import MAX_AGE

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
router.include_router(public.router)
router.include_router(console.router)
router.include_router(blocks.router)
router.include_router(appeals.router)
router.include_router(banks.router)
router.include_router(procedure.router)
router.include_router(cases.router)
router.include_router(compliance.router)

STATIC_DIR = Path(__file__).parent / "static"
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

# Sign-in attempts per address and account: argon2 already makes guessing slow; this makes
# it pointless to try more than a handful of passwords per account in a few minutes.
login_limiter = RateLimiter(limit=10, window=300.0)
# The limiter's refusals go on the audit record at most once per window and key: the first
# refusal says someone is trying too often; the rest would only let them grow the log.
login_refusals_recorded = RateLimiter(limit=1, window=300.0)


@lru_cache(maxsize=32)
def _static(name: str) -> tuple[bytes, str, str]:
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR.resolve() or path.suffix not in _TYPES or not path.is_file():
        raise NotFound(Msg("No such file."))
    data = path.read_bytes()
    return data, _TYPES[path.suffix], hashlib.sha256(data).hexdigest()[:16]


@router.get("/static/{name}")
def static(name: str, request: Request) -> Response:
    """The stylesheet, htmx and icons; cached by browsers, revalidated by ETag."""
    data, media, etag = _static(name)
    headers = {
        "ETag": f'"{etag}"',
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media, headers=headers)


@router.get("/")
def root(page: PublicPage) -> Response:
    return page.redirect("/console" if page.principal else "/public/lookup")


def _safe_next(target: str | None) -> str:
    """Only paths on this site, so the sign-in form cannot be used to send people away."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or "\n" in target
        or "\r" in target
    ):
        return "/console"
    return target


@router.get("/login")
def login_form(page: PublicPage, next: str = Query("", max_length=2000)) -> Response:
    if page.principal is not None:
        return page.redirect(_safe_next(next))
    return page.render(
        "login.html", {"next": _safe_next(next), "org": "", "username": "", "error": None}
    )


@router.post("/login")
def login(
    page: PublicPage,
    session: UnitOfWork,
    org: str = Form("", max_length=200),
    username: str = Form("", max_length=100),
    password: str = Form("", max_length=1000),
    code: str = Form("", max_length=100),
    next: str = Form("", max_length=2000),
    csrf_token: str = Form(""),
) -> Response:
    """Check the password on the server, record the sign-in, then hand out a signed cookie
    carrying the record's id (``tangkal.accounts.web_sessions``). Sign-ins, failed attempts
    on real accounts and the limiter's refusals are on the audit record
    (``tangkal.accounts.services.sign_in``), never attempts on unknown names."""
    page.check_csrf(csrf_token)
    ctx = {"next": _safe_next(next), "org": org.strip(), "username": username.strip()}
    address = _address(page)
    key = f"{address}|{org.strip().lower()}|{username.strip().lower()}"
    if not login_limiter.allow(key):
        if login_refusals_recorded.allow(key):
            accounts.sign_in_rate_limited(session, org.strip(), username.strip(), address)
        return page.render(
            "login.html",
            {**ctx, "error": page._("Too many sign-in attempts; wait five minutes and try again.")},
            status=429,
        )
    try:
        principal, sid = accounts.sign_in(
            session,
            org.strip(),
            username.strip(),
            password,
            lifetime=timedelta(seconds=MAX_AGE),
            address=address,
            code=code,
            require_totp=page.settings.require_totp,
        )
    except Unauthenticated as exc:  # the wrong password, or the second factor (its words)
        return page.render("login.html", {**ctx, "error": page.error(exc)}, status=401)
    page.sign_in(principal, sid)
    return page.redirect(ctx["next"])


def _address(page: Page) -> str:
    client = page.request.client
    return client.host if client else "?"


@router.post("/logout")
def logout(page: PublicPage, session: UnitOfWork, csrf_token: str = Form("")) -> Response:
    """End this sign-in on the server too, so a copied cookie stops working with it."""
    page.check_csrf(csrf_token)
    if page.session is not None:
        accounts.sign_out(session, page.principal, page.session.sid, address=_address(page))
    page.sign_out()
    page.flash(page._("You are signed out."))
    return page.redirect("/login")


@router.post("/console/timezone")
def choose_timezone(
    page: ConsolePage,
    session: UnitOfWork,
    csrf_token: str = Form(""),
    timezone: str = Form("", max_length=64),
    next: str = Form("/console", max_length=2000),
) -> Response:
    """The zone this person reads times in (WITA or WIT beside the profile's WIB), kept with
    their account so every page, device and export of theirs shows it."""
    page.check_csrf(csrf_token)
    assert page.principal is not None
    user = session.get(User, page.principal.user_id) if page.principal.user_id else None
    if user is None:
        raise NotFound(Msg("Only a person signed in with an account has a time zone."))
    accounts.set_timezone(session, page.principal, user, timezone.strip() or None)
    shown = Formatter(page.lang).zone_label(user.timezone or active_profile().timezone)
    page.flash(page._("Times are now shown in %(zone)s.", zone=shown))
    return page.redirect(_safe_next(next))


@router.post("/logout/everywhere")
def logout_everywhere(
    page: ConsolePage, session: UnitOfWork, csrf_token: str = Form("")
) -> Response:
    """End every sign-in of this person: other browsers, a lost laptop, a copied cookie."""
    page.check_csrf(csrf_token)
    assert page.principal is not None
    accounts.sign_out_everywhere(session, page.principal, address=_address(page))
    page.sign_out()
    page.flash(page._("You are signed out on every device."))
    return page.redirect("/login")
