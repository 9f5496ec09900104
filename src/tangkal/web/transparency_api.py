"""The transparency report's figures for programs: ``GET /api/v1/public/transparency/charts``
(what charts there are) and ``.../charts/{chart}?from=&to=`` (one chart's figures), public
and without a token, in the shapes :class:`ChartOut` documents in ``/openapi.json``.

The same :class:`ChartOut` is what ``/public/transparency/data/{chart}.json`` answers and
what its ``.csv`` is written from (:func:`chart_csv`): one model for every export of a
chart, computed by the chart kind of :data:`tangkal.web.transparency_data.CHARTS`.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from tangkal.api.deps import UnitOfWork
from tangkal.errors import Msg, NotFound
from tangkal.sop.profile import SopProfile, active_profile
from tangkal.web import transparency
from tangkal.web.i18n import translations
from tangkal.web.transparency_data import CHARTS, Ask, ChartData, ChartKind, parse_period

router = APIRouter(prefix="/api/v1", tags=["public"])


class SeriesOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    label_en: str
    label_id: str
    drawn: bool
    values: list[int | float | None]


class ChartOut(BaseModel):
    """One chart's figures: ``rows`` are months (``YYYY-MM`` in ``time_zone``) or
    platforms; each series has a value per row (``null``: no figure)."""

    model_config = ConfigDict(extra="forbid")
    chart: str
    title_en: str
    title_id: str
    definition_en: str
    definition_id: str
    unit: Literal["count", "hours", "percent", "money"]
    currency: str | None
    rows_are: Literal["month", "platform"]
    time_zone: str
    from_: str = Field(serialization_alias="from", description="first day, YYYY-MM-DD")
    to: str = Field(description="last day, YYYY-MM-DD (inclusive)")
    generated_at: datetime
    rows: list[str]
    series: list[SeriesOut]


def chart_out(kind: ChartKind, data: ChartData, profile: SopProfile, ask: Ask) -> ChartOut:
    ind = translations("id").gettext
    return ChartOut(
        chart=kind.key,
        title_en=kind.title,
        title_id=ind(kind.title),
        definition_en=kind.description,
        definition_id=ind(kind.description),
        unit=kind.unit,
        currency=profile.currency if kind.unit == "money" else None,
        rows_are=kind.rows,
        time_zone=profile.timezone,
        from_=ask.period.first.isoformat(),
        to=ask.period.last.isoformat(),
        generated_at=ask.now,
        rows=list(data.rows),
        series=[
            SeriesOut(
                key=s.key,
                label_en=s.label_en,
                label_id=s.label_id,
                drawn=s.drawn,
                values=list(s.values),
            )
            for s in data.series
        ],
    )


CSV_HEADER = ("chart", "row", "series", "label_en", "label_id", "value")


def chart_csv(out: ChartOut) -> str:
    """One row per figure (a tidy table): chart, row (month or platform), series, value."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for s in out.series:
        for row, value in zip(out.rows, s.values, strict=True):
            cells = (out.chart, row, s.key, s.label_en, s.label_id, "" if value is None else value)
            w.writerow([transparency._cell(c) for c in cells])
    return buf.getvalue()


class ChartKindOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chart: str
    title_en: str
    title_id: str
    definition_en: str
    definition_id: str
    unit: Literal["count", "hours", "percent", "money"]
    rows_are: Literal["month", "platform"]
    csv: str
    json_: str = Field(serialization_alias="json")


class ChartListOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    charts: list[ChartKindOut]


def unknown_chart(name: str) -> NotFound:
    """The refusal of ``/public/transparency/data/{name}`` for a name that is no chart's
    data file."""
    return NotFound(
        Msg(
            "No such chart data: %(name)s. Ask for one of %(charts)s, ending in .json or .csv.",
            name=name[:60],
            charts=", ".join(CHARTS),
        ),
        field="chart",
    )


@router.get(
    "/public/transparency/charts",
    response_model=ChartListOut,
    response_model_by_alias=True,
)
def list_charts() -> ChartListOut:
    """The charts of the transparency report, with where each one's data is."""
    ind = translations("id").gettext
    return ChartListOut(
        charts=[
            ChartKindOut(
                chart=k.key,
                title_en=k.title,
                title_id=ind(k.title),
                definition_en=k.description,
                definition_id=ind(k.description),
                unit=k.unit,
                rows_are=k.rows,
                csv=f"/public/transparency/data/{k.key}.csv",
                json_=f"/api/v1/public/transparency/charts/{k.key}",
            )
            for k in CHARTS.values()
        ]
    )


@router.get(
    "/public/transparency/charts/{chart}",
    response_model=ChartOut,
    response_model_by_alias=True,
)
def chart_figures(
    chart: str,
    session: UnitOfWork,
    start: str = Query(
        "", alias="from", max_length=40, description="first day (YYYY-MM-DD or YYYY-MM)"
    ),
    end: str = Query("", alias="to", max_length=40, description="last day (YYYY-MM-DD or YYYY-MM)"),
) -> ChartOut:
    """One chart's figures for a range of days in the SOP profile's time zone (the last
    twelve months by default; at most 120 months)."""
    kind = CHARTS.get(chart)
    if kind is None:
        raise NotFound(
            Msg(
                "No such chart: %(name)s. Ask for one of %(charts)s.",
                name=chart[:60],
                charts=", ".join(CHARTS),
            ),
            field="chart",
        )
    profile = active_profile()
    now = datetime.now(UTC)
    ask = Ask(session, profile, parse_period(start, end, profile.zone, now), now)
    return chart_out(kind, kind.data(ask), profile, ask)
