"""Request bodies that a route parses itself, still documented in ``/openapi.json``.

Why a route would parse its own body: FastAPI's body parameters decode the JSON with the
standard library, validate the resulting dicts, and solve a dependency graph per request.
On the order-intake path that was about a sixth of the event loop's time; pydantic-core
parses and validates the raw bytes in one pass (:func:`parse_json_body`). Such a route
declares its body with :func:`json_body`, so the API description is the same as before.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

M = TypeVar("M", bound=BaseModel)

# Models named by json_body(); their schemas are added to the document's components.
_BODY_MODELS: dict[str, type[BaseModel]] = {}


def json_body(model: type[BaseModel], *, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads ``model`` as its JSON body itself, and the
    optional request ``headers`` (name -> description) it reads."""
    _BODY_MODELS[model.__name__] = model
    extra: dict[str, Any] = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                }
            },
        }
    }
    if headers:
        extra["parameters"] = [
            {"name": name, "in": "header", "required": False, "description": text,
             "schema": {"type": "string"}}
            for name, text in headers.items()
        ]
    return extra


async def parse_json_body(request: Request, model: type[M]) -> M:
    """The request's body as ``model``; refused as FastAPI refuses a bad body (422, the same
    error shape through :mod:`tangkal.api.errors`)."""
    content_type = request.headers.get("content-type", "")
    mime = content_type.partition(";")[0].strip().lower()
    if mime and not (mime == "application/json" or mime.endswith("+json")):
        raise RequestValidationError(
            [{"type": "content_type", "loc": ("body",),
              "msg": f"send the body as JSON (Content-Type: application/json), not {mime!r}"}]
        )
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def install(app: FastAPI) -> None:
    """Add the schemas of the self-parsed bodies to the generated document."""
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
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
