"""HTTP route for a platform's case file (JSON, or CSV to download)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.cases import services

router = APIRouter(prefix="/api/v1", tags=["cases"])


class CaseEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    at: str
    seq: int
    kind: str
    action: str
    object_type: str
    object_id: str
    actor: str


class CaseOut(BaseModel):
    platform: str
    platform_id: str
    events: list[CaseEvent]
    truncated: bool
    kinds: list[str]


@router.get(
    "/cases/{platform}", response_model=CaseOut, responses={200: {"content": {"text/csv": {}}}}
)
def case_file(
    platform: str,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    kind: list[str] = Query(default_factory=list, max_length=20),
    since: datetime | None = None,
    until: datetime | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Every order, warning, fine, objection, sanction, block, normalisation and
    restoration of the platform, in time order, from the audit record."""
    case = services.case_file(session, principal, platform, kinds=kind, since=since, until=until)
    if format == "csv":
        return Response(
            services.to_csv(case),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="case-{case["platform"]}.csv"'},
        )
    return case
