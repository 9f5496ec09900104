"""The public transparency report: the page with its charts, and every chart's data.

``/public/transparency?from=&to=`` draws each chart of
:data:`tangkal.web.transparency_data.CHARTS` for the range (the last twelve months by
default, in the SOP profile's time zone) with its table; the key figures above them are
the whole record's. ``/public/transparency/data/{chart}.csv|json`` answers the same figures
of one chart; ``/public/transparency.json|csv`` the key figures (kept as they were, with
the late count per order). A bad range is refused at the edge: the page comes back with
the message beside the field, the data files with the message in the reader's language.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from babel.dates import format_date
from babel.numbers import format_compact_decimal
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from tangkal.api.deps import UnitOfWork
from tangkal.audit import checkpoints
from tangkal.errors import InvalidInput, NotFound
from tangkal.sop.profile import SopProfile, active_profile
from tangkal.web import charts, transparency
from tangkal.web.deps import HtmlRoute, PublicPage
from tangkal.web.i18n import Formatter
from tangkal.web.transparency_api import chart_csv, chart_out, unknown_chart
from tangkal.web.transparency_data import (
    CHARTS,
    ROW_TITLES,
    Ask,
    ChartData,
    ChartKind,
    Period,
    parse_period,
)

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

#: Where the statements of reasons are exported (DSA Transparency Database fields).
STATEMENTS_EXPORT = "/api/v1/public/statements"
_OPEN = {"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"}


# ------------------------------------------------------------------ the language


def localise(kind: ChartKind, data: ChartData, fmt: Formatter, profile: SopProfile) -> charts.Chart:
    """A chart kind's figures in the reader's language, ready to draw."""
    t = fmt.gettext
    lang_id = fmt.lang == "id"
    if kind.unit == "percent":
        value = lambda v: fmt.percent(v / 100)  # noqa: E731
    elif kind.unit == "hours":
        value = lambda v: fmt.number(round(v, 1))  # noqa: E731
    else:
        value = fmt.number
    tick = None
    if kind.unit == "money":  # 500,000,000 on the axis is 500 jt / 500M

        def tick(v: float) -> str:
            return format_compact_decimal(
                v, format_type="short", locale=fmt.lang, fraction_digits=1
            )

    if kind.rows == "month":
        categories = tuple(fmt.month(r) for r in data.rows)
        ticks: tuple[str, ...] | None = tuple(_short_month(fmt, r) for r in data.rows)
    else:
        categories, ticks = data.rows, None
    return charts.Chart(
        key=f"chart-{kind.key}",
        title=t(kind.title),
        description=t(kind.description),
        style=kind.style,
        category_title=t(ROW_TITLES[kind.rows]),
        value_title=t(kind.value_title).replace("%(currency)s", profile.currency),
        categories=categories,
        series=tuple(
            charts.Series(
                s.key,
                s.label_id if lang_id else s.label_en,
                s.values,
                s.drawn,
                None if s.drawn else fmt.number,  # a series not drawn is a count
            )
            for s in data.series
        ),
        format_value=value,
        value_max=100.0 if kind.unit == "percent" else None,
        axis_labels=ticks,
        format_tick=tick,
    )


def _short_month(fmt: Formatter, key: str) -> str:
    try:
        y, m = (int(p) for p in key.split("-", 1))
        return format_date(datetime(y, m, 1), format="MMM yy", locale=fmt.lang)
    except (ValueError, TypeError):
        return key


# ------------------------------------------------------------------ the page


@router.get("/public/transparency")
def transparency_page(
    page: PublicPage,
    session: UnitOfWork,
    start: str = Query("", alias="from", max_length=40),
    end: str = Query("", alias="to", max_length=40),
) -> Response:
    """The report: key figures, then each chart with its table and data files."""
    profile = active_profile()
    now = datetime.now(UTC)
    report = transparency.report(session, profile, now)
    cp = checkpoints.latest(session)  # the audit record's latest signed checkpoint
    ctx: dict[str, Any] = {
        "r": report,
        "checkpoint": checkpoints.as_dict(cp) if cp is not None else None,
        "statements_export": STATEMENTS_EXPORT,
        "form": {"from": start, "to": end},
        "error": None,
        "field": None,
        "charts": [],
        "period": None,
        "zone": profile.timezone,
        "chart_svg": charts.svg,
        "chart_table": charts.table,
        "period_query": {},
    }
    try:
        period = parse_period(start, end, profile.zone, now)
    except InvalidInput as exc:
        ctx.update(error=page.error(exc), field=exc.field)
        return page.render("public_transparency.html", ctx, status=422)
    ask = Ask(session, profile, period, now)
    ctx["period"] = period
    ctx["form"] = period.query()
    ctx["period_query"] = period.query()
    ctx["charts"] = [
        {"kind": kind, "chart": localise(kind, kind.data(ask), page.fmt, profile)}
        for kind in CHARTS.values()
    ]
    return page.render("public_transparency.html", ctx)


@router.get("/public/transparency.json")
def transparency_json(session: UnitOfWork) -> Response:
    body = transparency.report(session, active_profile()).to_dict()
    return JSONResponse(body, headers=_OPEN)


@router.get("/public/transparency.csv")
def transparency_csv(session: UnitOfWork) -> Response:
    text = transparency.to_csv(transparency.report(session, active_profile()))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tangkal-transparency.csv"', **_OPEN},
    )


# ------------------------------------------------------------------ the data files


def _refusal(page: PublicPage, exc: InvalidInput | NotFound, as_json: bool) -> Response:
    text = page.error(exc)
    if as_json:
        body: dict[str, object] = {"error": exc.code, "message": text}
        if exc.field:
            body["field"] = exc.field
        return JSONResponse(body, status_code=exc.status_code, headers=_OPEN)
    return Response(
        text + "\n", status_code=exc.status_code, media_type="text/plain; charset=utf-8"
    )


@router.get("/public/transparency/data/{name}")
def chart_data(
    page: PublicPage,
    session: UnitOfWork,
    name: str,
    start: str = Query("", alias="from", max_length=40),
    end: str = Query("", alias="to", max_length=40),
) -> Response:
    """``{chart}.json`` or ``{chart}.csv``: the figures of one chart for the range."""
    key, _, suffix = name.rpartition(".")
    as_json = suffix != "csv"
    kind = CHARTS.get(key)
    if kind is None or suffix not in ("json", "csv"):
        return _refusal(page, unknown_chart(name), as_json)
    profile = active_profile()
    now = datetime.now(UTC)
    try:
        period: Period = parse_period(start, end, profile.zone, now)
    except InvalidInput as exc:
        return _refusal(page, exc, as_json)
    ask = Ask(session, profile, period, now)
    out = chart_out(kind, kind.data(ask), profile, ask)
    if as_json:
        return JSONResponse(out.model_dump(mode="json", by_alias=True), headers=_OPEN)
    filename = f"tangkal-{kind.key}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        chart_csv(out),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **_OPEN},
    )
