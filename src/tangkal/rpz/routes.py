"""HTTP: the list as downloads (with ETag), the subscribers and their lag, the zone status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork, get_db
from tangkal.rpz import formats, services
from tangkal.rpz import responses as shapes

router = APIRouter(prefix="/api/v1/rpz", tags=["rpz"])


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The list in the format asked for",
            "content": {
                f.media_type: {"schema": {"type": "string"}} for f in formats.FORMATS.values()
            },
        },
        304: {"description": "Not modified since the ETag given in If-None-Match"},
    },
)
def export(
    request: Request,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    format: str = Query("rpz", description="one of: " + formats.names_help()),
) -> Response:
    """The current list, streamed; ``If-None-Match`` with the last ETag answers 304 until
    the zone changes, so an ISP can poll cheaply."""
    services.can_export(principal)
    form = formats.get_format(format)
    etag = services.export_etag(session, form.name, request.app.state.settings)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="tangkal-blocklist.{form.extension}"'
    stream = services.export_stream(get_db(request), request.app.state.settings, form.name)
    return StreamingResponse(stream, media_type=form.media_type, headers=headers)


@router.get("/subscribers", response_model=shapes.SubscriberList)
def subscribers(principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    """Regulator officials and auditors see every subscriber; an ISP sees only its own."""
    if principal.org_kind == OrgKind.ISP:
        principal.require(Role.ISP, Role.ADMIN, Role.AUDITOR)
    else:
        principal.require(Role.OFFICIAL, Role.AUDITOR, Role.ADMIN)
        principal.require_kind(OrgKind.REGULATOR)
    return {"subscribers": [s.as_dict() for s in services.subscriber_status(session, principal)]}


@router.get("/status", response_model=shapes.ZoneStatus)
def status(request: Request, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    principal.require(Role.ISP, Role.OFFICIAL, Role.AUDITOR, Role.ADMIN, Role.ANALYST)
    return services.zone_status(session, request.app.state.settings)
