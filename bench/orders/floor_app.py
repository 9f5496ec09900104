"""The layers of order intake without the database, one ASGI app per layer.

``BENCH_FLOOR_LAYER`` picks how much of tangkal's request path the app runs before it answers
201; every layer includes the ones before it:

- ``asgi``: uvicorn and a bare ASGI app that reads the body and answers a fixed JSON;
- ``fastapi``: the same through a FastAPI route (telemetry off, as ``tangkal serve`` runs it);
- ``parse``: plus ``OrderIn`` parsed and validated (``api.openapi.parse_json_body``);
- ``prepare``: plus ``orders.filing.prepare_order`` (roles, SOP, locators, keys);
- ``shape``: plus the answer shaped and encoded as tangkal shapes it (no related orders).

What none of them does is everything the database side of an order needs (the writer's rows,
COPY, hash chain, related orders, commit); ``bench.orders.intake`` measures the whole.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic_core import to_json

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.api.openapi import parse_json_body
from tangkal.orders.filing import prepare_order
from tangkal.orders.schemas import OrderIn
from tangkal.orders.shapes import order_dict

LAYERS = ("asgi", "fastapi", "parse", "prepare", "shape")
LAYER = os.environ.get("BENCH_FLOOR_LAYER", "shape")
if LAYER not in LAYERS:
    raise SystemExit(f"BENCH_FLOOR_LAYER must be one of {', '.join(LAYERS)}")

ANALYST = Principal(
    "0b6f1f3e-6a55-4c1a-9a3f-0c6c2f3d9a11",
    "Kominfo",
    OrgKind.REGULATOR,
    Role.ANALYST,
    token_id="ea9483b7c0de",
)
FIXED = b'{"id":"00000000-0000-0000-0000-000000000000","status":"issued"}'
JSON = "application/json"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


async def bare(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", JSON.encode()), (b"content-length", b"%d" % len(FIXED))],
        }
    )
    await send({"type": "http.response.body", "body": FIXED})


api = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})


@api.post("/api/v1/orders", status_code=201)
async def create_order(request: Request) -> Response:
    if LAYER == "fastapi":
        await request.body()
        return Response(FIXED, status_code=201, media_type=JSON)
    body = await parse_json_body(request, OrderIn)
    if LAYER == "parse":
        return Response(FIXED, status_code=201, media_type=JSON)
    order = prepare_order(ANALYST, body)
    if LAYER == "prepare":
        return Response(FIXED, status_code=201, media_type=JSON)
    shaped = order_dict(order.for_platform(body.platform), related=[], platform_name=body.platform)
    return Response(to_json(shaped), status_code=201, media_type=JSON)


app: Any = bare if LAYER == "asgi" else api
