"""The FastAPI application factory.

Routers and background services come from the domain packages; this module only wires them
together. A domain package adds its router to ``ROUTER_MODULES`` and, if it runs something in
the background (the RPZ primary, the scheduler), its factory to ``SERVICE_FACTORIES``.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI, Response
from fastapi.responses import PlainTextResponse
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from tangkal import __version__
from tangkal.api import errors, openapi
from tangkal.api.bodylimit import BodyLimit
from tangkal.api.dbmetrics import DatabaseCollector
from tangkal.api.httpmetrics import HttpMetrics
from tangkal.api.inputguard import InputGuard
from tangkal.api.metrics import exposition
from tangkal.db.session import Database
from tangkal.settings import Settings

# Requests are matched against the routers in this order, one route at a time: the busiest
# (order intake) first. No two routers share a path, so the order changes nothing else.
ROUTER_MODULES = [
    "tangkal.orders.routes",
    "tangkal.rpz.routes",
    "tangkal.accounts.routes",
    "tangkal.audit.routes",
    "tangkal.blocklist.routes",
    "tangkal.hashing.routes",
    "tangkal.hashing.feedback_routes",
    "tangkal.hashing.quarantine_routes",
    "tangkal.hashing.hma",  # HMA 2.x's own paths (/m, /c, /h) for HMA and Coop clients
    "tangkal.sanctions.routes",
    "tangkal.objections.routes",
    "tangkal.normalisation.routes",
    "tangkal.cases.routes",
    "tangkal.compliance.routes",
    "tangkal.statements.routes",
    "tangkal.web.transparency_api",  # /api/v1/public/transparency/charts
    "tangkal.web.routes",
    "tangkal.api.health",  # /readyz (/healthz below is liveness only)
]

# "module:function" taking (app_state) and returning an object with async start()/stop().
SERVICE_FACTORIES: list[str] = [
    "tangkal.rpz.server:create_service",
    "tangkal.blocklist.expiry:create_service",
    "tangkal.delivery.worker:create_service",
    "tangkal.orders.scheduler:create_service",
    "tangkal.hashing.worker:create_service",
    "tangkal.compliance.worker:create_service",
    "tangkal.audit.checkpointer:create_service",
]


class Liveness(BaseModel):
    """``/healthz``: the process answers HTTP (liveness only; ``/readyz`` checks the rest)."""

    status: str = Field(description="always ok: an answer at all is the news")
    version: str
    services: list[str] = Field(description="background services running in this process")


class BackgroundService(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _settle_heap() -> None:
    """Move everything built at start-up out of the collector's way.

    Modules, routes, models, compiled SQL and the loaded indexes live as long as the
    process. Left in the oldest generation, each full collection walks all of them again:
    measured under intake load, 110-130 ms pauses of every thread, about once a second,
    which was most of the 99th-percentile latency. Frozen objects are never collected
    (they would not be anyway) and are no longer scanned.
    """
    global _heap_settled
    if _heap_settled:  # once per process: an app started again (tests) keeps its garbage
        return
    _heap_settled = True
    gc.collect()
    gc.freeze()


_heap_settled = False

_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(
    db: Database,
    settings: Settings,
    *,
    background: bool = True,
    dns_port: int | None = None,
    dns_host: str = "127.0.0.1",
) -> FastAPI:
    services: list[BackgroundService] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if background:
            for ref in SERVICE_FACTORIES:
                service = _load(ref)(app.state)
                if service is not None:
                    await service.start()
                    services.append(service)
        _settle_heap()
        try:
            yield
        finally:
            for service in reversed(services):
                await service.stop()
            services.clear()
            while app.state.closing:
                app.state.closing.pop()()

    app = FastAPI(
        title="tangkal",
        version=__version__,
        description=(
            "Takedown orders with legal deadlines, DNS blocking through an RPZ, shared hash "
            "banks and public accountability. Authenticate with 'Authorization: Bearer TOKEN'."
        ),
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks cost every request a few percent of the event
        # loop even with no exporter set up; tangkal's metrics are Prometheus (/metrics).
        # An operator who runs an OpenTelemetry collector turns them on.
        telemetry=None if settings.opentelemetry else _NO_TELEMETRY,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.dns_port = dns_port
    app.state.dns_host = dns_host
    app.state.services = services
    # Things made on first use (the order-intake writer) that must finish at shutdown.
    app.state.closing = []
    errors.install(app)
    openapi.install(app)
    # control characters and deep JSON refused before any route (inside the metrics, so
    # their 422s are counted; any body-size limit added after this line runs before it)
    app.add_middleware(InputGuard)
    # bodies capped while read, inside the metrics so that its 413s are counted
    app.add_middleware(
        BodyLimit,
        default=settings.max_request_bytes,
        upload=settings.max_upload_request_bytes,
    )
    app.add_middleware(HttpMetrics)  # tangkal_http_requests_total by route and status

    @app.get("/healthz", tags=["ops"], response_model=Liveness)
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "services": [s.name for s in services]}

    database_metrics = DatabaseCollector(db)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def metrics() -> Response:
        # all workers' values, then the database's counts
        return Response(exposition(database_metrics), media_type=CONTENT_TYPE_LATEST)

    for ref in ROUTER_MODULES:
        module = importlib.import_module(ref)
        app.include_router(module.router)
    return app
