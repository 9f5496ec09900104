"""Per-request state of a web page: language, session, the signed-in person, and the
answer helpers (render, redirect) that write the cookies back.

Errors raised anywhere under a web route become an HTML page in the reader's language
(``HtmlRoute``), never a JSON body or a traceback; a console page reached without a session
sends the browser to the sign-in form and back afterwards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import structlog
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from tangkal import text
from tangkal.accounts import web_sessions
from tangkal.accounts.principal import Principal
from tangkal.api.deps import UnitOfWork
from tangkal.errors import Msg, TangkalError, Unauthenticated
from tangkal.settings import Settings
from tangkal.web import forms, people, queries
from tangkal.web.i18n import Formatter, choose_language, normalise
from tangkal.web.sessions import (
    COOKIE,
    LANG_COOKIE,
    MAX_AGE,
    WebSession,
    check_csrf,
    decode,
    encode,
    secret_key,
)
from tangkal.web.templating import render

log = structlog.get_logger("tangkal.web")


@dataclass
class Page:
    """The request as a page sees it. ``session`` is what will be written back."""

    request: Request
    settings: Settings
    lang: str
    session: WebSession | None
    principal: Principal | None = None
    display_name: str | None = None
    org_display: str | None = None
    _dirty: bool = False
    _lang_changed: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)
    #: the request's database session, to name the people a page shows (``web.people``)
    db: Session | None = None
    #: the IANA zone the signed-in person reads times in; None: the SOP profile's
    zone: str | None = None

    @property
    def fmt(self) -> Formatter:
        return Formatter(self.lang, ZoneInfo(self.zone) if self.zone else None)

    def _(self, message: str, **values: Any) -> str:
        text = self.fmt.gettext(message)
        return text % values if values else text

    def error(self, exc: TangkalError) -> str:
        """A domain error's message in the reader's language (English for messages that
        are not yet templates; see ``tangkal.errors.Msg``)."""
        return self.fmt.message(exc.msg)

    @property
    def csrf(self) -> str:
        """The session's CSRF token, starting an anonymous session if there is none."""
        if self.session is None:
            self.session = WebSession.anonymous()
            self._dirty = True
        return self.session.csrf

    def check_csrf(self, submitted: str | None) -> None:
        header = self.request.headers.get("x-csrf-token")
        check_csrf(self.session, submitted or header)

    def sign_in(self, principal: Principal, sid: str) -> None:
        """Sign in with a session record already started (``web_sessions.start``)."""
        assert principal.user_id is not None
        base = self.session or WebSession.anonymous()
        self.session = base.signed_in(principal.user_id, principal.org_id, sid)
        self.principal = principal
        self._dirty = True

    def sign_out(self) -> None:
        self.session = WebSession.anonymous()
        self.principal = None
        self._dirty = True

    def flash(self, message: str) -> None:
        """A one-line confirmation shown on the next page (after a redirect)."""
        base = self.session or WebSession.anonymous()
        self.session = base.with_flash(message)
        self._dirty = True

    def take_flash(self) -> str | None:
        if self.session is None or not self.session.flash:
            return None
        message = self.session.flash
        self.session = self.session.with_flash(None)
        self._dirty = True
        return message

    # ------------------------------------------------------------------ answers

    def _finish(self, response: Response) -> Response:
        secure = self.settings.public_base_url.startswith("https://")
        if self._dirty and self.session is not None:
            key = secret_key(self.settings)
            response.set_cookie(
                COOKIE,
                encode(self.session, key),
                max_age=MAX_AGE,
                httponly=True,
                samesite="lax",
                secure=secure,
                path="/",
            )
        if self._lang_changed:
            response.set_cookie(
                LANG_COOKIE,
                self.lang,
                max_age=365 * 86400,
                httponly=True,
                samesite="lax",
                secure=secure,
                path="/",
            )
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'self'",
        )
        response.headers.setdefault("Content-Language", self.lang)
        response.headers.setdefault("Vary", "Cookie, Accept-Language, HX-Request")
        for k, v in self.extra_headers.items():
            response.headers[k] = v
        return response

    def render(
        self, template: str, context: dict[str, Any] | None = None, *, status: int = 200
    ) -> Response:
        ctx = {
            "page": self,
            "request": self.request,
            "principal": self.principal,
            "params": dict(self.request.query_params),
            "path": self.request.url.path,
            "htmx": self.request.headers.get("hx-request") == "true",
            "flash": self.take_flash(),
            **(context or {}),
        }
        ctx["csrf_token"] = self.csrf
        with people.bound(self.db):
            html = render(self.lang, template, ctx, self.zone)
        return self._finish(HTMLResponse(html, status_code=status))

    def redirect(self, url: str, *, status: int = 303) -> Response:
        return self._finish(RedirectResponse(url, status_code=status))

    def download(self, body: str | bytes, media_type: str, filename: str) -> Response:
        """A file to save (never shown inline), with the page's cookies and headers."""
        safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in filename)
        return self._finish(
            Response(
                body,
                media_type=media_type,
                headers={"Content-Disposition": f'attachment; filename="{safe or "download"}"'},
            )
        )


def _page(request: Request, session: UnitOfWork) -> Page:
    settings: Settings = request.app.state.settings
    asked = request.query_params.get("lang")
    cookie = request.cookies.get(LANG_COOKIE)
    lang = choose_language(asked, cookie, request.headers.get("accept-language"))
    ws = decode(request.cookies.get(COOKIE), secret_key(settings))
    page = Page(
        request=request,
        settings=settings,
        lang=lang,
        session=ws,
        _lang_changed=normalise(asked) is not None and normalise(asked) != cookie,
        db=session,
    )
    if ws is not None and ws.user_id:
        found = None
        if web_sessions.is_live(session, ws.sid, ws.user_id, ws.org_id):
            found = queries.signed_in_person(session, ws.user_id, ws.org_id)
        if found is None:
            page.sign_out()  # signed out, expired, deactivated or deleted since signing in
        else:
            page.principal, page.display_name, page.org_display, page.zone = found
    request.state.web_page = page
    if page.principal is not None:
        request.state.principal = page.principal
    return page


def _signed_in(page: Annotated[Page, Depends(_page)]) -> Page:
    if page.principal is None:
        raise Unauthenticated("Sign in to use the console.")
    return page


PublicPage = Annotated[Page, Depends(_page)]
ConsolePage = Annotated[Page, Depends(_signed_in)]


def _fallback_page(request: Request) -> Page:
    """A page for rendering an error when the normal dependencies did not complete."""
    found = getattr(request.state, "web_page", None)
    if isinstance(found, Page):
        # an error page names no one, and the request's session may be gone or failed
        found.db = None
        return found
    settings: Settings = request.app.state.settings
    lang = choose_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    try:
        ws = decode(request.cookies.get(COOKIE), secret_key(settings))
    except TangkalError:
        ws = None
    return Page(request=request, settings=settings, lang=lang, session=ws)


def _login_url(request: Request) -> str:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return "/login?next=" + quote(target, safe="")


class HtmlRoute(APIRoute):
    """Domain errors under web routes are answered as pages, with the domain's status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                await _refuse_control_characters(
                    request, form=not getattr(self.endpoint, CHECKS_ITS_OWN_TEXT, False)
                )
                return await original(request)
            except Unauthenticated:
                page = _fallback_page(request)
                if request.method == "GET":
                    return page.redirect(_login_url(request))
                page.principal = None
                return page.render(
                    "error.html",
                    {
                        "status": 401,
                        "title": page._("Please sign in"),
                        "message": page._(
                            "Your session has ended. Sign in again, then repeat "
                            "what you were doing."
                        ),
                        "detail": None,
                        **await _kept(request, page, self.path),
                    },
                    status=401,
                )
            except TangkalError as exc:
                page = _fallback_page(request)
                return page.render(
                    "error.html",
                    {
                        "status": exc.status_code,
                        "title": _title(page, exc.status_code),
                        "message": page.error(exc),
                        "detail": None,
                        **await _kept(request, page, self.path),
                    },
                    status=exc.status_code,
                )
            except RequestValidationError as exc:
                # a field over its declared limits, said in the reader's language and named
                # by its label (pydantic's own English stays for the API's 422 body)
                page = _fallback_page(request)
                problems = " ".join(
                    page.fmt.message(m) for m in forms.request_problems(exc.errors(), self.path)
                )
                return page.render(
                    "error.html",
                    {
                        "status": 422,
                        "title": page._("Some input could not be accepted"),
                        "message": problems,
                        "detail": None,
                        **await _kept(request, page, self.path),
                    },
                    status=422,
                )
            except Exception as exc:  # never a traceback to a reader
                ref = uuid.uuid4().hex[:12]
                log.error("web_unhandled_error", ref=ref, path=request.url.path, exc_info=exc)
                page = _fallback_page(request)
                return page.render(
                    "error.html",
                    {
                        "status": 500,
                        "title": page._("Something went wrong on our side"),
                        "message": page._("Quote reference %(ref)s to the operator.", ref=ref),
                        "detail": None,
                    },
                    status=500,
                )

        return handler


#: Form fields an error page never shows back: secrets, and the forms' own plumbing.
_NOT_SHOWN = re.compile(r"password|csrf|token|secret|code|^(next|assessed|kind|subject_id)$", re.I)


async def _kept(request: Request, page: Page, route: str) -> dict[str, Any]:
    """What a refused form sent, for its error page: a form that could not come back on its
    own page still loses nothing typed (each text field is shown to copy, by the label its
    form gives it), with a link back to the page the form was on."""
    if request.method != "POST":
        return {}
    try:
        fields = await request.form()
    except Exception:  # a body refused before it was read (too large, malformed)
        return {}
    sent: list[tuple[str, str]] = []
    for name, value in fields.multi_items():
        if isinstance(value, str) and value.strip() and not _NOT_SHOWN.search(name):
            label = forms.field_name(route, name)
            # a field its form does not label is named in words, never by its code
            words = page.fmt.message(label) if isinstance(label, Msg) else page._("Your text")
            sent.append((words, value))
    referer = urlsplit(request.headers.get("referer", ""))
    back = None
    if referer.netloc == request.url.netloc and referer.path.startswith(("/console", "/public")):
        back = referer.path + (f"?{referer.query}" if referer.query else "")
    return {"sent": sent, "back": back}


CHECKS_ITS_OWN_TEXT = "_tangkal_checks_its_own_text"


def checks_its_own_text(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a form route that refuses control characters itself (with :mod:`tangkal.text`),
    to show the refusal in its own form beside the field rather than as an error page."""
    setattr(endpoint, CHECKS_ITS_OWN_TEXT, True)
    return endpoint


async def _refuse_control_characters(request: Request, *, form: bool = True) -> None:
    """A query parameter or form field holding a character :mod:`tangkal.text` refuses is a
    422 page naming the field (the API's are refused by ``api.inputguard``). The form is
    read here once; FastAPI reads the same parsed form again for the route."""
    errors: list[dict[str, Any]] = []
    for name, value in request.query_params.multi_items():
        reason = text.describe(name) or text.describe(value)
        if reason:
            errors.append(_control_error("query", name, reason))
    mime = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if (
        form
        and request.method == "POST"
        and mime
        in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
    ):
        fields = await request.form()
        for name, item in fields.multi_items():
            reason = text.describe(name) or (text.describe(item) if isinstance(item, str) else None)
            if reason:
                errors.append(_control_error("body", name, reason))
    if errors:
        raise RequestValidationError(errors)


def _control_error(where: str, name: str, reason: str) -> dict[str, Any]:
    return {
        "type": "string_control_character",
        "loc": (where, text.FORBIDDEN.sub("?", name)),
        "msg": reason,
    }


def _title(page: Page, status: int) -> str:
    if status == 404:
        return page._("Not found")
    if status == 403:
        return page._("Not allowed")
    if status in (409,):
        return page._("This cannot be done now")
    if status == 413:
        return page._("Too large")
    if status == 429:
        return page._("Too many requests")
    return page._("Some input could not be accepted")
