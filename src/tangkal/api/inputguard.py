"""The request guard: control characters and deep JSON are refused at the edge, before any
route, so no field anywhere can carry them into a query (see :mod:`tangkal.text`).

Why one middleware and not a validator per field: tangkal has well over a hundred text
inputs across the API's bodies, queries and paths; a field someone adds next year is
covered without anyone remembering to. The refusal is the API's usual 422 error body, with
the offending field's dotted path. Forms (the console and public pages) are checked by
:class:`tangkal.web.deps.HtmlRoute`, which answers in the page's language instead.

Cost on the order-intake path: the body is buffered (every route reads all of it anyway)
and scanned once by a regular expression; only a body that may hold a forbidden escape is
decoded and walked.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tangkal import text

_JSON_TYPES = ("application/json",)

#: Paths of the JSON API: tangkal's own, and the HMA-compatible ones (``tangkal.hashing.hma``).
_API_PREFIXES = ("/api/", "/c/", "/h/", "/m/")


def _problem_body(problems: list[tuple[str, str]]) -> bytes:
    field, message = problems[0]
    summary = f"{field}: {message}"
    if len(problems) > 1:
        summary += f" (and {len(problems) - 1} more problem(s))"
    return json.dumps(
        {
            "error": "invalid_input",
            "message": summary,
            "field": field,
            "problems": [{"field": f, "message": m} for f, m in problems],
        }
    ).encode()


def query_problems(query_string: bytes) -> list[tuple[str, str]]:
    """Every query parameter (name or value) with a forbidden character."""
    out = []
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        # parse_qsl decodes percent-escapes as UTF-8 (bad sequences become U+FFFD)
        reason = text.describe(name) or text.describe(value)
        if reason:
            out.append((text.FORBIDDEN.sub("?", name), reason))
    return out


def body_problems(body: bytes) -> list[tuple[str, str]]:
    """Forbidden characters or too deep nesting in a JSON body (empty when it is fine or
    not JSON at all: the route's own parser says so then)."""
    if text.json_depth(body) > text.MAX_JSON_DEPTH:
        return [
            (
                "body",
                f"the JSON is nested more than {text.MAX_JSON_DEPTH} levels deep; "
                "no request needs that many: flatten it",
            )
        ]
    if not text.json_may_hold_forbidden(body):
        return []
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return []
    return list(text.bad_strings(decoded))[:20]


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            mime = value.decode("latin-1").partition(";")[0].strip().lower()
            return mime in _JSON_TYPES or mime.endswith("+json")
    return False


class InputGuard:
    """ASGI middleware: 422 for a path, query or JSON body that :mod:`tangkal.text`
    refuses; every other request passes through untouched (its body replayed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problems: list[tuple[str, str]] = []
        # the API and its HMA-compatible paths; pages: HtmlRoute, in their language
        if scope.get("path", "").startswith(_API_PREFIXES):
            reason = text.describe(scope.get("path", ""))
            if reason:
                problems.append(("path", reason))
            problems += query_problems(scope.get("query_string", b""))
        if problems:
            await _refuse(send, problems)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([], message), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problems = body_problems(body)
        if problems:
            await _refuse(send, problems)
            return
        await self.app(scope, _replay([body], None, receive), send)


def _replay(chunks: list[bytes], last: Message | None, rest: Receive | None = None) -> Receive:
    """A ``receive`` that gives the buffered body once, then what the client sends next
    (its disconnect)."""
    pending: list[Message] = [
        {"type": "http.request", "body": b"".join(chunks), "more_body": False}
    ]
    if last is not None:
        pending = [last]

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if rest is not None:
            return await rest()
        return {"type": "http.disconnect"}

    return receive


async def _refuse(send: Send, problems: list[tuple[str, str]]) -> None:
    body = _problem_body(problems)
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["InputGuard", "body_problems", "query_problems"]
