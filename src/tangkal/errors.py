"""One exception tree for the whole domain.

Services raise these; the HTTP layer maps them to status codes in exactly one place
(``tangkal.api.errors``) and the command line maps them to exit codes. Every message is
written for the person who has to act on it, so it says what was wrong and what to do.

Messages are English, and the API answers them as they are. The web pages speak Bahasa
Indonesia too, so a message a console user is likely to meet is raised as a :class:`Msg`: an
English template with ``%(name)s`` placeholders plus its parameters. ``.message`` is the
filled-in English text (what the API and the CLI show, unchanged); the web layer translates
the template through its catalogues and fills in the same parameters
(``tangkal.web.i18n.Formatter.message``). Templates are extracted by ``pybabel`` (keyword
``Msg``), and a unit test fails when one lacks an Indonesian translation or a placeholder.

A parameter that is one of the domain's enum values (an order or block status, a role, an
action) is passed as the member itself, not its ``.value``: the English text is the same
(they are ``StrEnum`` members, so ``%s`` gives the value), and a page can name it in the reader's
language instead of leaving an API word such as ``pending_approval`` inside an Indonesian
sentence (see ``Msg.render``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from tangkal.durations import format_duration

#: How a page names an enum value in its language (``tangkal.web.i18n.Formatter.term``).
#: How a reader's language names a value inside a sentence: an enum member (a status, a
#: role), a moment or a duration. Without one, the API's own form: the member's value, ISO
#: 8601, the profile's duration text.
Term = Callable[[enum.Enum | datetime | timedelta], str]


class Msg:
    """A translatable message: an English template (the catalogue's message id) and the
    values of its placeholders. Write the template as a literal at the call, so that the
    extractor (and the test that checks the catalogues) sees it."""

    __slots__ = ("params", "template")

    def __init__(self, template: str, /, **params: Any) -> None:
        self.template = template
        self.params: Mapping[str, Any] = params

    @property
    def text(self) -> str:
        """The English message, as the API shows it."""
        return self.render(_same)

    def render(self, translate: Callable[[str], str], term: Term | None = None) -> str:
        """The message with its template through ``translate``. A parameter that is itself
        a :class:`Msg` is rendered the same way, a tuple of them joined with "; " (several
        problems reported at once).

        A parameter that is an enum member goes through ``term`` when one is given, a tuple
        of members is joined with ", " (the roles an action needs). The values are terms of
        the API, not words of the template's language, so the template's catalogue cannot
        translate them; the caller that knows the reader's language names them (the web
        pages use the labels of their status badges). Without ``term`` a member is its
        value, which keeps ``.text`` (the API's and the CLI's message) exactly as it was
        when call sites passed ``.value``. A moment or a duration goes through ``term`` too
        (a page shows it in the profile's zone and the reader's words); without it, ISO 8601
        and the profile's duration text (``"2d"``), as the API has always said them."""
        template = translate(self.template)
        if not self.params:
            return template
        values = {k: _value(v, translate, term) for k, v in self.params.items()}
        return template % values

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Msg({self.template!r}, **{dict(self.params)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (other.template, dict(other.params)) == (
            self.template,
            dict(self.params),
        )

    def __hash__(self) -> int:
        return hash(self.template)


def _same(text: str) -> str:
    return text


def _value(value: Any, translate: Callable[[str], str], term: Term | None) -> Any:
    if isinstance(value, Msg):
        return value.render(translate, term)
    if isinstance(value, enum.Enum | datetime | timedelta) and term is not None:
        return term(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple) and value:
        if all(isinstance(v, Msg) for v in value):
            return "; ".join(v.render(translate, term) for v in value)
        if all(isinstance(v, enum.Enum) for v in value):
            return ", ".join(str(_value(v, translate, term)) for v in value)
    return value


class TangkalError(Exception):
    """Base of every error the domain raises on purpose.

    ``message`` may be a plain English string or a :class:`Msg`; either way ``.message`` is
    the English text and ``.msg`` a :class:`Msg` (a plain string is its own template, with no
    parameters, so a page shows it translated when the catalogue happens to have it and in
    English otherwise)."""

    status_code = 400
    code = "error"

    def __init__(self, message: str | Msg, *, field: str | None = None, **details: Any) -> None:
        msg = message if isinstance(message, Msg) else Msg(message)
        super().__init__(msg.text)
        self.message = msg.text
        self.msg = msg
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(TangkalError):
    """The caller sent something that cannot be accepted as it is (400/422)."""

    status_code = 422
    code = "invalid_input"


class InvalidLocator(InvalidInput):
    """A URL, domain or Telegram link that cannot be canonicalised or may not be targeted."""

    code = "invalid_locator"


class TooLarge(InvalidInput):
    """An upload or body over its limit."""

    status_code = 413
    code = "too_large"


class Unauthenticated(TangkalError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(TangkalError):
    status_code = 403
    code = "forbidden"


class NotFound(TangkalError):
    """Also raised for objects that exist but belong to another organisation,
    so that one platform cannot even learn that another's order exists."""

    status_code = 404
    code = "not_found"


class Conflict(TangkalError):
    """The request is valid but clashes with the current state (duplicate, wrong state)."""

    status_code = 409
    code = "conflict"


class RateLimited(TangkalError):
    """Too many requests from one source in a window (public forms, sign-in)."""

    status_code = 429
    code = "rate_limited"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class WebhookRefused(Forbidden):
    """A webhook delivery the server will not make: its destination resolved to an address
    inside (loopback, private, metadata...). Raised by the delivery worker's connection, not
    by a request, and recorded as the attempt's reason (tangkal.delivery.egress)."""

    code = "webhook_refused"


class DatabaseUnavailable(TangkalError):
    """The database cannot be reached (restarting, its connections cut) or timed out: the
    request may be retried as it is, and with the same ``Idempotency-Key`` a retry can never
    file an order twice. ``api/errors.py`` answers the driver's connection errors with it."""

    status_code = 503
    code = "database_unavailable"


class Busy(TangkalError):
    """The server has no room for this request now (the uploads being hashed fill its memory
    budget): nothing is wrong with it, and the same request may be sent again after
    ``retry_after`` seconds (answered 503 with ``Retry-After``)."""

    status_code = 503
    code = "busy"

    def __init__(self, message: str | Msg, *, retry_after: int = 5, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ConfigurationError(TangkalError):
    """Settings or an SOP profile that cannot be used; raised at start-up, never per request."""

    status_code = 500
    code = "configuration_error"
