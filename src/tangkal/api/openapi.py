"""Request bodies that a route parses itself, still documented in ``/openapi.json``.

Why a route would parse its own body: FastAPI's body parameters decode the JSON with the
standard library, validate the resulting dicts, and solve a dependency graph per request.
On the order-intake path that was about a sixth of the event loop's time; pydantic-core
parses and validates the raw bytes in one pass (:func:`parse_json_body`). Such a route
declares its body with :func:`json_body`, so the API description is the same as before.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import models_json_schema

M = TypeVar("M", bound=BaseModel)

# Models named by json_body(); their schemas are added to the document's components.
_BODY_MODELS: dict[str, type[BaseModel]] = {}


def choices(values: type[enum.Enum] | Iterable[str], *more: str) -> dict[str, Any]:
    """``json_schema_extra`` for a text parameter or field that takes one of ``values`` (an
    enum's values, or a list) and ``more`` (words such as ``all``): the document lists them,
    so a client offers them and a fuzzer sends them. The route keeps its own parsing (and its
    message naming every accepted value); this only says in the document what it accepts::

        status: str | None = Query(None, max_length=40, json_schema_extra=choices(Status))
    """
    if isinstance(values, type) and issubclass(values, enum.Enum):
        listed = [str(m.value) for m in values]
    else:
        listed = [str(v) for v in values]
    return {"enum": list(dict.fromkeys([*listed, *more]))}


def not_blank() -> dict[str, Any]:
    """``json_schema_extra`` for text the route refuses when it is only spaces (a reason, a
    statement): the document's pattern asks for one character that is not a space, besides
    the rule every text has (:data:`TEXT_PATTERN`). The route keeps its own check and
    message; pydantic does not run this pattern."""
    return {"pattern": NOT_BLANK_PATTERN}


def choices_later(values: Callable[[], Iterable[str]]) -> Callable[[dict[str, Any]], None]:
    """:func:`choices` for values known only once the server runs (the categories of the SOP
    profile it loaded): ``json_schema_extra`` is called when the document is made, which is
    after start."""

    def extra(schema: dict[str, Any]) -> None:
        schema["enum"] = list(dict.fromkeys(str(v) for v in values()))

    return extra


def json_body(
    model: type[BaseModel],
    *,
    headers: dict[str, str | tuple[str, dict[str, Any]]] | None = None,
    token: bool = False,
) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads ``model`` as its JSON body itself, and the
    optional request ``headers`` (name -> description, or name -> (description, JSON
    schema)) it reads. ``token``: the route authenticates its caller itself (no dependency
    says so), for the security scheme."""
    _BODY_MODELS[model.__name__] = model
    extra: dict[str, Any] = {
        **({"x-tangkal-token": True} if token else {}),
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        },
    }
    if headers:
        extra["parameters"] = []
        for name, said in headers.items():
            text, rule = (said, {}) if isinstance(said, str) else said
            extra["parameters"].append(
                {
                    "name": name,
                    "in": "header",
                    "required": False,
                    "description": text,
                    "schema": {"type": "string", **rule},
                }
            )
    return extra


async def parse_json_body(request: Request, model: type[M]) -> M:
    """The request's body as ``model``; refused as FastAPI refuses a bad body (422, the same
    error shape through :mod:`tangkal.api.errors`)."""
    content_type = request.headers.get("content-type", "")
    mime = content_type.partition(";")[0].strip().lower()
    if mime and not (mime == "application/json" or mime.endswith("+json")):
        raise RequestValidationError(
            [
                {
                    "type": "content_type",
                    "loc": ("body",),
                    "msg": f"send the body as JSON (Content-Type: application/json), not {mime!r}",
                }
            ]
        )
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def install(app: FastAPI) -> None:
    """Complete the generated document in one place: the schemas of the self-parsed bodies,
    the error body on every operation (instead of FastAPI's 422 shape, which tangkal never
    answers), the bearer scheme and which operations need it, and the webhooks tangkal
    sends. Generated clients read all of it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        if _BODY_MODELS:
            _, defs = models_json_schema(
                [(m, "validation") for m in _BODY_MODELS.values()],
                ref_template="#/components/schemas/{model}",
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                defs.get("$defs", {})
            )
        _document_errors_and_security(app, schema)
        _document_webhooks(schema)
        _short_schema_names(schema)
        _document_text_rule(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# --- What every operation may answer besides its success, and who may call it --------------


class Problem(BaseModel):
    """One thing wrong with the request (a 422 lists every one)."""

    field: str = Field(description="where: a dotted path into the body, a query or a header name")
    message: str


class ErrorBody(BaseModel):
    """Every refusal and failure has this body (:mod:`tangkal.api.errors` builds it)."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="a stable code: invalid_input, not_found, forbidden, ...")
    message: str = Field(description="English text for the person who has to act on it")
    field: str | None = Field(default=None, description="the input it is about, when one")
    problems: list[Problem] | None = Field(
        default=None, description="every problem of an invalid request (422)"
    )
    details: dict[str, Any] | None = Field(default=None, description="facts a client may use")


#: The statuses a request can be refused with, each with the same body.
ERROR_STATUSES: dict[str, str] = {
    "400": "The request cannot be accepted as it is",
    "401": "No valid API token (send 'Authorization: Bearer TOKEN')",
    "403": "The token's role or organisation may not do this",
    "404": "No such object, or not one the caller may see",
    "409": "It conflicts with the object's current state",
    "413": "The upload is larger than the limit",
    "422": "Invalid input: every problem is listed",
    "429": "Too many requests from this address; try again later",
}

BEARER = "bearer"


def _needs_token(route: Any) -> bool | None:
    """True when the route authenticates its caller, None when a token is optional, False
    when it is public. Read off its dependencies (one that gives a ``Principal`` needs a
    token, one that may give ``None`` makes it optional), so a new route is documented right
    without a list to keep up to date."""
    from tangkal.accounts.principal import Principal

    answers = {_returns(d.call) for d in _flat(route.dependant)}
    if Principal | None in answers:
        return None
    extra = route.openapi_extra or {}
    return Principal in answers or bool(extra.get("x-tangkal-token"))


def _returns(call: Any) -> Any:
    try:
        return typing.get_type_hints(call).get("return")
    except Exception:  # a callable without readable hints depends on no principal
        return None


def _flat(dependant: Any) -> list[Any]:
    out = []
    for d in dependant.dependencies:
        out.append(d)
        out.extend(_flat(d))
    return out


def _document_errors_and_security(app: FastAPI, schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, defs = models_json_schema(
        [(ErrorBody, "serialization")], ref_template="#/components/schemas/{model}"
    )
    schemas.update(defs.get("$defs", {}))
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from 'tangkal token create', as 'Authorization: Bearer TOKEN'",
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    # Through FastAPI's own walk, which sees the included routers' routes with their prefixes.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        needs = _needs_token(route)
        for method in route.methods or ():
            op = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            op.pop("x-tangkal-token", None)
            responses = op.setdefault("responses", {})
            for code, text in ERROR_STATUSES.items():
                if code in ("401", "403") and needs is False:
                    continue
                if code == "413" and "requestBody" not in op:
                    continue
                if code == "429" and needs is True:  # the rate limit is the public's
                    continue
                known = responses.get(code, {})
                responses[code] = {"description": known.get("description", text)}
                if known.get("description") == "Validation Error":
                    responses[code]["description"] = text
                responses[code]["content"] = error
            if needs is True:
                op["security"] = [{BEARER: []}]
            elif needs is None:
                op["security"] = [{}, {BEARER: []}]
            else:
                op["security"] = []
    # FastAPI's own 422 shape is no longer referenced: tangkal never answers it.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


# --- What tangkal sends: the signed push to a platform's webhook ---------------------------

_SIGNATURE_HEADERS: list[tuple[str, str]] = [
    (
        "Tangkal-Signature",
        "Scheme 'tangkal' (the default): 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "
        '"<t>." + body)>\'. Refuse it outside five minutes of your clock.',
    ),
    ("Tangkal-Delivery", "The message id; the same on every retry: do the work once per id."),
    ("Tangkal-Event", "The event, as in the body's 'event'."),
    (
        "webhook-id",
        "Scheme 'standard' (Standard Webhooks, chosen per organisation): the message id.",
    ),
    ("webhook-timestamp", "Scheme 'standard': unix seconds of this attempt."),
    (
        "webhook-signature",
        'Scheme \'standard\': \'v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + '
        "body)>', the key being the secret shown as 'whsec_<base64>'; any Standard Webhooks "
        "library verifies it.",
    ),
]


class WebhookMessage(BaseModel):
    """The body of every push: the message id, the event and its data."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(description="the message id (also the delivery header)")
    event: str = Field(
        description="order.issued, order.clarification_answered, an escalation step's "
        "event, objection.decided, normalisation.approved|refused, ..."
    )
    data: dict[str, Any]


def _document_webhooks(schema: dict[str, Any]) -> None:
    from tangkal.orders.responses import OrderPayload

    class OrderIssued(WebhookMessage):
        """A new order for the platform: everything needed to act on it."""

        data: OrderPayload  # type: ignore[assignment]

    _, defs = models_json_schema(
        [(WebhookMessage, "serialization"), (OrderIssued, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
    parameters = [
        {
            "name": name,
            "in": "header",
            "required": name.startswith("Tangkal-Delivery") or name == "Tangkal-Event",
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in _SIGNATURE_HEADERS
    ]

    def hook(model: str, summary: str) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "description": (
                    "POSTed to the platform's webhook_url (PUT /api/v1/orgs/me/delivery), "
                    "signed with its secret by the scheme the organisation chose; retried "
                    "with backoff until a 2xx. The first 2xx of an order's message is its "
                    "authenticated receipt: the deadline starts then."
                ),
                "parameters": parameters,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}
                    },
                },
                "responses": {
                    "200": {"description": "Received (any 2xx)"},
                    "default": {"description": "Not received: sent again later"},
                },
            }
        }

    schema["webhooks"] = {
        "order.issued": hook("OrderIssued", "A new order"),
        "message": hook("WebhookMessage", "Any other event of an order or case"),
    }


def _short_schema_names(schema: dict[str, Any]) -> None:
    """Two models of one name in different modules (``ReasonIn``, ``BlockRef``) are named by
    FastAPI with their whole module path, ``tangkal__sanctions__routes__BlockRef``, which
    client generators cannot resolve; they become ``SanctionsBlockRef`` (package + name)."""
    schemas = schema.get("components", {}).get("schemas", {})
    renames: dict[str, str] = {}
    for name in list(schemas):
        parts = name.split("__")
        if len(parts) >= 3 and parts[0] == "tangkal":
            short = parts[1].title().replace("_", "") + parts[-1]
            if short not in schemas and short not in renames.values():
                renames[name] = short
    if not renames:
        return
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new  # generators name classes by title: keep them apart too
    prefix = "#/components/schemas/"

    def rewrite(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] in renames:
                node["$ref"] = prefix + renames[ref[len(prefix) :]]
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for value in node:
                rewrite(value)

    rewrite(schema)


# --- What text may hold: the request guard's rule, said in the document ---------------------

#: The characters :mod:`tangkal.text` accepts, as a JSON-Schema pattern, so that a generated
#: client or a fuzzer knows that control characters are refused (``api.inputguard``).
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
_FORBIDDEN = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
#: :data:`TEXT_PATTERN`, and at least one character that is not a space.
NOT_BLANK_PATTERN = f"^[^{_FORBIDDEN}]*[^\\s{_FORBIDDEN}][^{_FORBIDDEN}]*$"


#: Any JSON value under that rule: what a body may carry in a member tangkal ignores (the
#: guard reads every string of the body, the ignored ones too).
ANY_TEXT_VALUE = "AnyTextValue"


def _any_text_value() -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{ANY_TEXT_VALUE}"}
    return {
        "title": ANY_TEXT_VALUE,
        "description": "Any JSON value whose strings and member names hold no control "
        "character (a member tangkal does not read is ignored, but still checked for them)",
        "anyOf": [
            {"type": "string", "pattern": TEXT_PATTERN},
            {"type": ["number", "boolean", "null"]},
            {"type": "array", "items": ref},
            {
                "type": "object",
                "propertyNames": {"pattern": TEXT_PATTERN},
                "additionalProperties": ref,
            },
        ],
    }


def _enum_on_text_branch(node: dict[str, Any]) -> None:
    """``choices()`` on an optional value lands beside its ``anyOf`` (and would refuse the
    ``null`` the value may be): it belongs on the text branch."""
    values, branches = node.get("enum"), node.get("anyOf")
    if values is None or not isinstance(branches, list):
        return
    texts = [b for b in branches if isinstance(b, dict) and b.get("type") == "string"]
    if texts:
        del node["enum"]
        for branch in texts:
            branch["enum"] = values


def _document_text_rule(schema: dict[str, Any]) -> None:
    """Every string a request carries (parameters and JSON bodies, through the components
    they name) without its own pattern, format or list of values gets :data:`TEXT_PATTERN`;
    every such object that takes free keys gets it for its key names, and an object that
    ignores members it does not name says they are :data:`ANY_TEXT_VALUE`. Answers are left
    as they are: an error's message may quote what was refused."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components[ANY_TEXT_VALUE] = _any_text_value()
    prefix = "#/components/schemas/"
    seen: set[str] = {prefix + ANY_TEXT_VALUE}

    def visit(node: Any, body: bool) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref not in seen:
                seen.add(ref)
                visit(components.get(ref[len(prefix) :], {}), body)
            _enum_on_text_branch(node)
            if node.get("type") == "string" and not (
                {"pattern", "format", "enum", "const", "contentMediaType", "contentEncoding"}
                & node.keys()
            ):
                node["pattern"] = TEXT_PATTERN
            extra = node.get("additionalProperties")
            if node.get("type") == "object" and extra not in (None, False):
                node.setdefault("propertyNames", {"pattern": TEXT_PATTERN})
            if body and node.get("type") == "object" and "additionalProperties" not in node:
                node["propertyNames"] = {"pattern": TEXT_PATTERN}
                node["additionalProperties"] = {"$ref": prefix + ANY_TEXT_VALUE}
            for key, value in node.items():
                if key not in ("examples", "$ref"):
                    visit(value, body)
        elif isinstance(node, list):
            for value in node:
                visit(value, body)

    for item in schema.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for parameter in op.get("parameters", ()):
                visit(parameter.get("schema", {}), False)
            visit(op.get("requestBody", {}).get("content", {}).get("application/json", {}), True)
