"""The SVG chart module: well-formed, accessible, and its table says what its picture shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tangkal.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def _chart(style: charts.Style, **kw: object) -> charts.Chart:
    base: dict[str, object] = {
        "key": f"chart-{style}",
        "title": "Orders by category per month",
        "description": "Orders issued each month <by category> & more.",
        "style": style,
        "category_title": "Month",
        "value_title": "Orders",
        "categories": ("July 2017", "August 2017", "September 2017"),
        "series": (
            charts.Series("terrorism", "Terrorism", (3, 0, 5)),
            charts.Series("gambling", "Gambling <b>", (1, 2, None)),
            charts.Series("n", "Orders counted", (4, 2, 5), drawn=False),
        ),
        "format_value": lambda v: f"{v:g}",
    }
    base.update(kw)
    return charts.Chart(**base)


@pytest.mark.parametrize("style", ["grouped", "stacked", "lines", "hbar"])
def test_svg_is_well_formed_with_title_desc_axes_and_a_tip_per_figure(style: str) -> None:
    chart = _chart(style)
    root = ET.fromstring(str(charts.svg(chart)))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == chart.title
    assert desc is not None and desc.text == chart.description  # escaped, then read back
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Orders" in texts and "Terrorism" in texts and "Gambling <b>" in texts
    if style != "hbar":
        assert "Month" in texts  # the category axis is titled
    assert "Orders counted" not in texts  # not drawn: only in the table
    # every drawn, non-empty figure is a mark with its own <title> (a pointer shows it)
    tips = [t.text for t in root.iter(f"{SVG}title")][1:]
    # (bars skip a zero, which has no height; a point or a bar of a share is drawn at 0)
    drawn = [
        v
        for s in chart.drawn
        for v in s.values
        if (v is not None if style in ("lines", "hbar") else v)
    ]
    assert len(tips) == len(drawn)
    assert "Terrorism · September 2017: 5" in tips


@pytest.mark.parametrize("style", ["grouped", "stacked", "lines", "hbar"])
def test_table_numbers_equal_the_charts_data(style: str) -> None:
    chart = _chart(style)
    table = ET.fromstring(str(charts.table(chart)))
    caption = table.find("caption")
    assert caption is not None and caption.text == chart.title
    head = [th.text for th in table.iter("th") if th.get("scope") == "col"]
    assert head == ["Month", "Terrorism", "Gambling <b>", "Orders counted"]
    body = table.find("tbody")
    assert body is not None
    rows = body.findall("tr")
    assert [r.find("th").text for r in rows] == list(chart.categories)  # type: ignore[union-attr]
    for i, row in enumerate(rows):
        cells = [td.text for td in row.findall("td")]
        assert cells == [chart.cell(s.values[i], s) for s in chart.series]
    assert [td.text for td in rows[2].findall("td")] == ["5", "—", "5"]


def test_stacked_bars_reach_the_sum_and_the_axis_is_round() -> None:
    chart = _chart("stacked")
    root = ET.fromstring(str(charts.svg(chart)))
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "1", "2", "3", "4", "5"]  # the tallest stack: 5 + nothing
    assert chart.has_data


def test_nice_ceiling() -> None:
    assert charts.nice_ceiling(0) == (1.0, 0.25)
    assert charts.nice_ceiling(7) == (8, 2)
    assert charts.nice_ceiling(100) == (100, 20)
    assert charts.nice_ceiling(1234) == (1250, 250)


def test_series_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(ValueError, match="series x has 1 values for 3 categories"):
        _chart("grouped", series=(charts.Series("x", "X", (1,)),))


def test_empty_chart_has_no_data_and_still_draws() -> None:
    chart = _chart("lines", series=(charts.Series("m", "Median", (None, None, None)),))
    assert not chart.has_data
    ET.fromstring(str(charts.svg(chart)))


def test_colours_have_enough_contrast_against_the_plot() -> None:
    assert all(charts.contrast(c) >= 3.0 for c in charts.PALETTE)
    assert charts.contrast(charts.INK) >= 4.5 and charts.contrast(charts.AXIS) >= 4.5
    assert round(charts.contrast("#000000", "#ffffff"), 1) == 21.0


def test_share_axis_is_fixed_at_one_hundred() -> None:
    chart = _chart(
        "hbar",
        categories=("Telegram",),
        series=(charts.Series("share", "Within the deadline", (40.0,)),),
        value_max=100.0,
    )
    root = ET.fromstring(str(charts.svg(chart)))
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "100" in labels and "Telegram" in labels
