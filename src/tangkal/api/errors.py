"""The one place where domain errors become HTTP answers.

Nothing else in the code base chooses status codes for failures, and no exception ever
reaches a client as a traceback: unexpected ones are logged with a reference the caller can
quote, and answered 500 with that reference only.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from tangkal.errors import DatabaseUnavailable, TangkalError

log = structlog.get_logger("tangkal.api")


def _describe_validation(errors: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    problems = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc) or "body"
        msg = err.get("msg", "is invalid")
        if err.get("type") == "json_invalid":
            msg = "the body is not valid JSON"
            where = "body"
        problems.append({"field": where, "message": msg})
    first = problems[0] if problems else {"field": "body", "message": "is invalid"}
    summary = f"{first['field']}: {first['message']}"
    if len(problems) > 1:
        summary += f" (and {len(problems) - 1} more problem(s))"
    return summary, problems


def _allowed(request: Request) -> str:
    """Every method the path answers (RFC 9110 ``Allow``). Starlette names only the first
    route object that matched the path, while one path often has a route per method."""
    from starlette.routing import Route

    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.path_regex.match(request.url.path):
            methods |= set(route.methods or ())
    return ", ".join(sorted(methods))


DATABASE_AWAY = DatabaseUnavailable(
    "The database is not reachable at the moment; nothing needs to change in the request. "
    "Try again in a few seconds, with the same Idempotency-Key so that an order is never filed "
    "twice."
)


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 for a database that is away; logged as a warning (the operator sees /readyz)."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    log.warning("database_unavailable", path=request.url.path, detail=detail[0] if detail else "")
    return JSONResponse(
        DATABASE_AWAY.to_dict(), status_code=DATABASE_AWAY.status_code, headers={"Retry-After": "2"}
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(TangkalError)
    async def _domain(_: Request, exc: TangkalError) -> JSONResponse:
        retry_after = getattr(exc, "retry_after", None)  # Busy: when to send it again
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        summary, problems = _describe_validation(list(exc.errors()))
        return JSONResponse(
            {
                "error": "invalid_input",
                "message": summary,
                # the first problem's field, as a domain refusal names its one field
                "field": problems[0]["field"] if problems else "body",
                "problems": problems,
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404 and message == "Not Found":
            message = "There is no such endpoint; see /openapi.json for the API."
        if exc.status_code == 405:
            message = "This endpoint does not accept that method; see /openapi.json."
            headers = {**(headers or {}), "Allow": _allowed(request)}
        return JSONResponse(
            {"error": "http_error", "message": message},
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        # The database away (restarting, connections cut, refused) is the caller's to retry,
        # not a bug: 503 with Retry-After. Any other driver error is one, and stays a 500.
        if not (isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated):
            return await _unexpected(request, exc)
        return _unavailable(request, exc)

    @app.exception_handler(PoolTimeout)
    async def _pool(request: Request, exc: PoolTimeout) -> JSONResponse:
        return _unavailable(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.error("unhandled_error", ref=ref, path=request.url.path, exc_info=exc)
        return JSONResponse(
            {
                "error": "internal_error",
                "message": (
                    f"Something went wrong on our side; quote reference {ref} to the operator."
                ),
            },
            status_code=500,
        )
