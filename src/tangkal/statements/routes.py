"""``GET /api/v1/public/statements``: the statements of reasons, public, JSON or CSV."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from tangkal.api.deps import UnitOfWork
from tangkal.errors import InvalidInput, Msg
from tangkal.sop.profile import UnknownProfile, active_profile, get_profile
from tangkal.statements import export

router = APIRouter(prefix="/api/v1", tags=["public"])


class StatementRow(BaseModel):
    """One statement in the DSA Transparency Database's fields (its CSV's columns) and
    ``kind``: ``platform_response`` (a platform's answer to an order) or the regulator's own
    ``block``, ``sanction`` or ``normalisation_refusal``. Absent fields are left out."""

    model_config = ConfigDict(extra="allow")
    uuid: str
    decision_ground: str
    category: str
    content_type: list[str]
    content_date: str
    application_date: str
    decision_facts: str
    source_type: str
    automated_detection: Literal["Yes", "No"]
    automated_decision: str
    platform_name: str
    platform_uid: str
    created_at: str = Field(description="UTC, as the DSA database writes it: YYYY-MM-DD HH:MM:SS")
    kind: Literal["platform_response", "block", "sanction", "normalisation_refusal"]


class DsaSource(BaseModel):
    repository: str
    commit: str = Field(description="The DSA database's commit whose rules were applied")


class StatementPage(BaseModel):
    items: list[StatementRow]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at the end")
    skipped: int = Field(description="Kept statements left out because the DSA rules refuse them")
    dsa_db: DsaSource


#: A day as the DSA writes dates. Not pydantic's ``date``, which also takes a number (a Unix
#: time) or a datetime: the export says YYYY-MM-DD and takes nothing else.
_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _day(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(Msg("There is no such date."), field=name) from None


def _jurisdiction_of(name: str) -> str | None:
    try:
        return get_profile(name).jurisdiction
    except UnknownProfile:
        return None


@router.get(
    "/public/statements",
    response_model=StatementPage,
    responses={200: {"content": {"text/csv": {}}}},
)
def public_statements(
    session: UnitOfWork,
    format: Literal["json", "csv"] = Query("json"),
    since: str | None = Query(
        None,
        pattern=_DAY,
        description="From this day (UTC, YYYY-MM-DD), inclusive",
        json_schema_extra={"format": "date"},  # a day of the calendar, not 2024-02-30
    ),
    until: str | None = Query(
        None,
        pattern=_DAY,
        description="Up to this day (UTC, YYYY-MM-DD), inclusive",
        json_schema_extra={"format": "date"},  # a day of the calendar, not 2024-02-30
    ),
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(100, ge=1, le=export.MAX_LIMIT),
) -> Any:
    """Statements of reasons, oldest first: the platforms' answers to orders and the
    regulator's own decisions (blocks, sanctions, refused restorations), in the fields and
    values of the EU DSA Transparency Database; no sign-in. CSV has the database's columns
    in its order; the next page's cursor is then in the ``Link`` header."""
    result = export.page(
        session,
        since=_day(since, "since"),
        until=_day(until, "until"),
        cursor=cursor,
        limit=limit,
        jurisdiction=active_profile().jurisdiction,
        profile_jurisdiction=_jurisdiction_of,
    )
    if format == "json":
        return result
    headers = {"Content-Disposition": 'attachment; filename="statements.csv"'}
    if result["next_cursor"]:
        query = f"format=csv&limit={limit}&cursor={result['next_cursor']}"
        if since:
            query += f"&since={since}"
        if until:
            query += f"&until={until}"
        headers["Link"] = f'</api/v1/public/statements?{query}>; rel="next"'
    return Response(
        export.to_csv(result["items"]), media_type="text/csv; charset=utf-8", headers=headers
    )
