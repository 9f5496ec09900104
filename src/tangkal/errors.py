"""One exception tree for the whole domain.

Services raise these; the HTTP layer maps them to status codes in exactly one place
(``tangkal.api.errors``) and the command line maps them to exit codes. Every message is
written for the person who has to act on it, so it says what was wrong and what to do.
"""

from __future__ import annotations

from typing import Any


class TangkalError(Exception):
    """Base of every error the domain raises on purpose."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
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


class ConfigurationError(TangkalError):
    """Settings or an SOP profile that cannot be used; raised at start-up, never per request."""

    status_code = 500
    code = "configuration_error"
