"""Small server-rendered SVG charts, each with the table of its own numbers.

The public report must be readable without JavaScript and without a front-end build, by a
screen reader as well as by eye, in Indonesian and in English. A chart here is therefore
plain data already put into the reader's language (:class:`Chart`) and two renderings of
the same data: :func:`svg` (``role="img"`` with a ``<title>`` and ``<desc>``, axis titles,
a legend, a ``<title>`` on every mark so a pointer shows the figure) and :func:`table` (an
ordinary ``<table>`` with a caption). Both read only the :class:`Chart`, so the table says
exactly what the picture shows.

Only SVG presentation attributes are used (no ``style`` attributes): the pages' Content
Security Policy allows no inline styles. Every colour of a mark reaches at least 3:1 against
the white plot area (WCAG 1.4.11, non-text contrast) and text at least 4.5:1; neighbouring
segments are separated by a white line, and the table carries the figures for anyone who
cannot tell the colours apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup, escape

Style = Literal["grouped", "stacked", "lines", "hbar"]

#: Colours of the series, in order: each at least 3:1 against white (checked by a test).
PALETTE: tuple[str, ...] = (
    "#1f5fa8",  # blue
    "#b8430d",  # burnt orange
    "#2a7d3a",  # green
    "#7a3e9d",  # purple
    "#8a6a00",  # ochre
    "#0f7281",  # teal
    "#a3246b",  # magenta
    "#4d5561",  # slate
)
INK = "#1a1f29"  # text: 16:1 on white
GRID = "#c9ced6"
AXIS = "#4f5867"  # axis lines and tick labels: 7:1 on white
BACKGROUND = "#ffffff"

WIDTH = 720
HEIGHT = 340
LEFT = 78  # room for the value axis and its title
RIGHT = 26
TOP = 44  # room for the legend
BOTTOM = 64  # room for the category labels and the axis title
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


@dataclass(frozen=True, slots=True)
class Series:
    """One line of figures: a value per category (``None``: no figure, e.g. no orders)."""

    key: str
    label: str
    values: tuple[float | None, ...]
    drawn: bool = True  # False: only in the table (a count beside a median, say)
    format_value: Callable[[float], str] | None = None  # None: the chart's own


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart in one language: everything :func:`svg` and :func:`table` need."""

    key: str  # unique on its page: the ids of the title and description derive from it
    title: str
    description: str
    style: Style
    category_title: str  # the categories' axis (and the table's first column)
    value_title: str  # the values' axis
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    format_value: Callable[[float], str] = str
    colours: tuple[str, ...] = PALETTE
    value_max: float | None = None  # a fixed top of the value axis (100 for shares)
    axis_labels: tuple[str, ...] | None = None  # shorter category labels for the axis
    format_tick: Callable[[float], str] | None = None  # shorter figures for the axis

    def tick(self, value: float) -> str:
        return (self.format_tick or self.format_value)(value)

    @property
    def peak(self) -> float:
        """The largest figure the value axis must reach (a stack's sum when stacked)."""
        drawn = self.drawn
        if self.style == "stacked":
            sums = [sum(s.values[i] or 0 for s in drawn) for i in range(len(self.categories))]
            return max(sums, default=0)
        return max((v or 0 for s in drawn for v in s.values), default=0)

    @property
    def ticks(self) -> tuple[str, ...]:
        return self.axis_labels or self.categories

    def __post_init__(self) -> None:
        for s in self.series:
            if len(s.values) != len(self.categories):
                raise ValueError(
                    f"series {s.key} has {len(s.values)} values for "
                    f"{len(self.categories)} categories"
                )

    @property
    def has_data(self) -> bool:
        return any(v for s in self.series for v in s.values)

    @property
    def drawn(self) -> tuple[Series, ...]:
        return tuple(s for s in self.series if s.drawn)

    def scale(self, peak: float) -> tuple[float, float]:
        return nice_ceiling(self.value_max if self.value_max is not None else peak)

    def colour(self, index: int) -> str:
        return self.colours[index % len(self.colours)]

    def cell(self, value: float | None, series: Series | None = None) -> str:
        if value is None:
            return "—"
        own = series.format_value if series is not None else None
        return (own or self.format_value)(value)


# ------------------------------------------------------------------ scale


def nice_ceiling(peak: float) -> tuple[float, float]:
    """The top of the value axis and its tick step: 1, 2 or 5 times a power of ten, with
    four to ten ticks, so the gridlines fall on round figures."""
    if peak <= 0 or not math.isfinite(peak):
        return 1.0, 0.25
    raw = peak / 5
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        step = m * power
        if peak / step <= 6:
            break
    top = math.ceil(peak / step - 1e-9) * step
    return top, step


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(
    x: float,
    y: float,
    body: str,
    *,
    anchor: str = "middle",
    size: int = 13,
    fill: str = AXIS,
    extra: str = "",
) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}"{extra}>{escape(body)}</text>'
    )


def _label_every(n: int, room: float, longest: int) -> int:
    """Show every k-th category label so they do not overlap (7 px a character)."""
    return max(1, math.ceil(n * (7.6 * longest + 10) / max(room, 1)))


def _tip(chart: Chart, series: Series, category: str, value: float | None) -> str:
    return (
        f"<title>{escape(series.label)} · {escape(category)}: {escape(chart.cell(value))}</title>"
    )


# ------------------------------------------------------------------ the SVG


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the plot area sits: margins grow with the legend's rows and the longest
    labels, and a bar chart of platforms grows a row per platform."""

    height: float
    left: float
    top: float

    @property
    def plot_w(self) -> float:
        return WIDTH - self.left - RIGHT

    @property
    def plot_h(self) -> float:
        return self.height - self.top - BOTTOM

    @property
    def bottom(self) -> float:
        return self.top + self.plot_h


def _legend_rows(chart: Chart) -> list[list[tuple[int, Series, float]]]:
    """The legend's entries (colour index, series, x), wrapped into rows that fit."""
    rows: list[list[tuple[int, Series, float]]] = [[]]
    x = float(RIGHT)
    for i, s in enumerate(chart.drawn):
        width = 32 + 8.2 * len(s.label)
        if rows[-1] and x + width > WIDTH - RIGHT:
            rows.append([])
            x = float(RIGHT)
        rows[-1].append((i, s, x))
        x += width + 14
    return rows


def _layout(chart: Chart, top_value: float, step: float) -> Layout:
    top = 20 + 22 * len(_legend_rows(chart)) + 8
    ticks = [chart.tick(k * step) for k in range(round(top_value / step) + 1)]
    if chart.style == "hbar":
        longest = max((len(t) for t in chart.ticks), default=0)
        left = min(WIDTH / 3, max(LEFT, 16 + 7.6 * longest))
        return Layout(top + 46 * max(1, len(chart.categories)) + BOTTOM, left, top)
    longest = max((len(t) for t in ticks), default=0)
    return Layout(HEIGHT + top - TOP, max(LEFT, 44 + 7.6 * longest), top)


def svg(chart: Chart) -> Markup:
    """The chart as an accessible SVG element (inline in the page, no script)."""
    title_id, desc_id = f"{chart.key}-title", f"{chart.key}-desc"
    top_value, step = chart.scale(chart.peak)
    lay = _layout(chart, top_value, step)
    h = _num(lay.height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {h}" width="100%" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" font-family="{FONT}" '
        f'class="chart chart-{chart.style}">',
        f'<title id="{title_id}">{escape(chart.title)}</title>',
        f'<desc id="{desc_id}">{escape(chart.description)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{h}" fill="{BACKGROUND}"/>',
        _legend(chart),
    ]
    if chart.style == "hbar":
        parts.append(_hbars(chart, lay, top_value, step))
    else:
        parts.append(_columns(chart, lay, top_value, step))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(chart: Chart) -> str:
    out = ['<g class="legend">']
    for r, row in enumerate(_legend_rows(chart)):
        y = 12 + 22 * r
        for i, s, x in row:
            out.append(
                f'<rect x="{_num(x)}" y="{y}" width="14" height="14" rx="2" '
                f'fill="{chart.colour(i)}"/>'
            )
            out.append(_text(x + 20, y + 12, s.label, anchor="start", size=14, fill=INK))
    out.append("</g>")
    return "".join(out)


def _value_axis(
    chart: Chart, lay: Layout, top: float, step: float, *, horizontal: bool
) -> list[str]:
    """Gridlines, tick labels and the axis title of the value axis."""
    out: list[str] = []
    for k in range(round(top / step) + 1):
        v = k * step
        if horizontal:
            x = lay.left + lay.plot_w * v / top
            out.append(
                f'<line x1="{_num(x)}" y1="{_num(lay.top)}" x2="{_num(x)}" '
                f'y2="{_num(lay.bottom)}" stroke="{GRID}" stroke-width="1"/>'
            )
            out.append(_text(x, lay.bottom + 18, chart.tick(v)))
        else:
            y = lay.bottom - lay.plot_h * v / top
            out.append(
                f'<line x1="{_num(lay.left)}" y1="{_num(y)}" x2="{WIDTH - RIGHT}" '
                f'y2="{_num(y)}" stroke="{GRID}" stroke-width="1"/>'
            )
            out.append(_text(lay.left - 8, y + 4, chart.tick(v), anchor="end"))
    if horizontal:
        out.append(
            _text(lay.left + lay.plot_w / 2, lay.height - 14, chart.value_title, size=14, fill=INK)
        )
    else:
        cy = lay.top + lay.plot_h / 2
        out.append(
            _text(
                18,
                cy,
                chart.value_title,
                size=14,
                fill=INK,
                extra=f' transform="rotate(-90 18 {_num(cy)})"',
            )
        )
    return out


def _columns(chart: Chart, lay: Layout, top: float, step: float) -> str:
    """Vertical bars (grouped or stacked) or lines over the categories (usually months)."""
    drawn = chart.drawn
    n = max(1, len(chart.categories))
    out = ['<g class="axes">', *_value_axis(chart, lay, top, step, horizontal=False)]
    band = lay.plot_w / n
    every = _label_every(n, lay.plot_w, max((len(t) for t in chart.ticks), default=1))
    for i, c in enumerate(chart.ticks):
        if i % every == 0:
            out.append(_text(lay.left + band * (i + 0.5), lay.bottom + 18, c))
    out.append(
        _text(lay.left + lay.plot_w / 2, lay.height - 14, chart.category_title, size=14, fill=INK)
    )
    out.append(
        f'<line x1="{_num(lay.left)}" y1="{_num(lay.bottom)}" x2="{WIDTH - RIGHT}" '
        f'y2="{_num(lay.bottom)}" stroke="{AXIS}" stroke-width="1"/></g>'
    )

    def y_of(v: float) -> float:
        return lay.bottom - lay.plot_h * v / top

    out.append('<g class="marks">')
    if chart.style == "lines":
        for j, s in enumerate(drawn):
            colour = chart.colour(j)
            points = [
                (lay.left + band * (i + 0.5), y_of(v), i, v)
                for i, v in enumerate(s.values)
                if v is not None
            ]
            if len(points) > 1:
                path = " ".join(f"{_num(x)},{_num(y)}" for x, y, _, _ in points)
                out.append(
                    f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"'
                    + (' stroke-dasharray="6 4"' if j % 2 else "")
                    + "/>"
                )
            for x, y, i, v in points:
                out.append(
                    f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4" fill="{colour}" '
                    f'stroke="{BACKGROUND}" stroke-width="1">'
                    f"{_tip(chart, s, chart.categories[i], v)}</circle>"
                )
    else:
        inner = band * 0.8
        k = max(1, len(drawn))
        for i, c in enumerate(chart.categories):
            x0 = lay.left + band * i + band * 0.1
            base = 0.0
            for j, s in enumerate(drawn):
                bar = s.values[i]
                if not bar:
                    continue
                if chart.style == "stacked":
                    x, w = x0, inner
                    y1, y2 = y_of(base + bar), y_of(base)
                    base += bar
                else:
                    w = inner / k
                    x = x0 + w * j
                    y1, y2 = y_of(bar), y_of(0)
                out.append(
                    f'<rect x="{_num(x)}" y="{_num(y1)}" width="{_num(max(w, 1))}" '
                    f'height="{_num(max(y2 - y1, 1))}" fill="{chart.colour(j)}" '
                    f'stroke="{BACKGROUND}" stroke-width="1">{_tip(chart, s, c, bar)}</rect>'
                )
    out.append("</g>")
    return "".join(out)


def _hbars(chart: Chart, lay: Layout, top: float, step: float) -> str:
    """Horizontal bars, one row per category (a platform), one bar per series, each with
    its figure written at its end."""
    drawn = chart.drawn
    n = max(1, len(chart.categories))
    out = ['<g class="axes">', *_value_axis(chart, lay, top, step, horizontal=True)]
    band = lay.plot_h / n
    for i, c in enumerate(chart.ticks):
        out.append(_text(lay.left - 8, lay.top + band * (i + 0.5) + 4, c, anchor="end", fill=INK))
    out.append(
        f'<line x1="{_num(lay.left)}" y1="{_num(lay.top)}" x2="{_num(lay.left)}" '
        f'y2="{_num(lay.bottom)}" stroke="{AXIS}" stroke-width="1"/></g><g class="marks">'
    )
    k = max(1, len(drawn))
    h = min(band * 0.7 / k, 26)
    for i, c in enumerate(chart.categories):
        y0 = lay.top + band * (i + 0.5) - h * k / 2
        for j, s in enumerate(drawn):
            v = s.values[i]
            if v is None:
                continue
            y, w = y0 + h * j, max(lay.plot_w * v / top, 1)
            out.append(
                f'<rect x="{_num(lay.left)}" y="{_num(y)}" width="{_num(w)}" '
                f'height="{_num(h)}" fill="{chart.colour(j)}">{_tip(chart, s, c, v)}</rect>'
            )
            label = chart.cell(v, s)
            inside = w > 7.6 * len(label) + 16
            out.append(
                _text(
                    lay.left + w + (-6 if inside else 6),
                    y + h / 2 + 4,
                    label,
                    anchor="end" if inside else "start",
                    fill=BACKGROUND if inside else INK,
                    extra=' font-weight="600"',
                )
            )
    out.append("</g>")
    return "".join(out)


# ------------------------------------------------------------------ the table


def table(chart: Chart) -> Markup:
    """The chart's figures as a table: a row per category, a column per series."""
    head = "".join(f'<th scope="col" class="num">{escape(s.label)}</th>' for s in chart.series)
    rows = []
    for i, c in enumerate(chart.categories):
        cells = "".join(
            f'<td class="num">{escape(chart.cell(s.values[i], s))}</td>' for s in chart.series
        )
        rows.append(f'<tr><th scope="row">{escape(c)}</th>{cells}</tr>')
    return Markup(
        f'<table class="data compact" id="{chart.key}-table">'
        f"<caption>{escape(chart.title)}</caption>"
        f'<thead><tr><th scope="col">{escape(chart.category_title)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def contrast(colour: str, against: str = BACKGROUND) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours."""

    def luminance(hex_: str) -> float:
        channels = [int(hex_[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((luminance(colour), luminance(against)), reverse=True)
    return (a + 0.05) / (b + 0.05)
