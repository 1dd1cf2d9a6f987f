"""Bar charts drawn on the server: the geometry of horizontal grouped bars, as numbers.

A page computes a `BarChart` here and the `bar_chart` macro of
`templates/web/results/charts.html` draws it as SVG with presentation
attributes and classes only (the Content-Security-Policy forbids inline
styles), so a chart needs no script and no library in the browser. Nothing
here formats numbers or translates words: the caller gives labels, the template
formats values in the page's language.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 190
"""Room for the category names, left of the bars."""
VALUE_ROOM = 70
"""Room right of the longest bar for its value."""
BAR_HEIGHT = 14
BAR_GAP = 3
GROUP_GAP = 12
TOP = 6
AXIS_ROOM = 24
LABEL_CHARS = 28
"""Longer category names are shortened in the chart (the table under it gives them whole)."""


@dataclass(frozen=True)
class Series:
    """One kind of bar in every group (a gender, or all students): its class and name."""

    key: str
    """Used in the bar's class (`bar-<key>`): the colours come from style.css."""
    label: str


@dataclass(frozen=True)
class Bar:
    """One bar: its rectangle, its value, and where its value is written."""

    x: float
    y: float
    width: float
    height: float
    series: Series
    category: str
    value: float | None
    """None: no value (e.g. a rate with nobody eligible); no bar is drawn."""
    text_x: float
    text_y: float


@dataclass(frozen=True)
class Row:
    """A category's name, shortened if need be, and where it is written."""

    label: str
    full_label: str
    y: float


@dataclass(frozen=True)
class Tick:
    x: float
    value: float


@dataclass(frozen=True)
class BarChart:
    """Everything the template needs to draw the chart, in the SVG's own units."""

    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    rows: tuple[Row, ...]
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    series: tuple[Series, ...]
    rate: bool
    """Values are shares (0 to 1, written as percentages), else counts."""


def nice_maximum(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at least `value` (1 for nothing), for the axis."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _round_step(step: float) -> bool:
    """Whether `step` is a whole 1, 2 or 5 × 10^k (k ≥ 0): a step the eye counts by."""
    if step < 1 or not step.is_integer():
        return False
    power = 10 ** math.floor(math.log10(step))
    return step / power in (1, 2, 5)


def shorten(label: str, limit: int = LABEL_CHARS) -> str:
    """`label`, cut with an ellipsis if longer than `limit` characters."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[float | None]],
    *,
    rate: bool = False,
    ticks: int = 4,
) -> BarChart:
    """Horizontal bars, one group per category and one bar per series in each group.

    `values[i][j]` is the value of series j in category i. Rates are drawn on a
    0–100 % axis (`ticks` steps); counts on an axis up to a round number above the
    largest, in whole steps.
    """
    if any(len(row) != len(series) for row in values) or len(values) != len(categories):
        raise ValueError("one value per category and series is needed")
    largest = max((v for row in values for v in row if v is not None), default=0.0)
    maximum = 1.0 if rate else nice_maximum(largest)
    if not rate:
        # Whole steps for counts: 0, 10, 20… rather than 0, 12.5, 25…
        ticks = next((t for t in (5, 4, 2) if _round_step(maximum / t)), 1)
    plot_left = float(LABEL_WIDTH)
    plot_right = float(WIDTH - VALUE_ROOM)
    span = plot_right - plot_left
    group_height = len(series) * BAR_HEIGHT + (len(series) - 1) * BAR_GAP
    rows: list[Row] = []
    bars: list[Bar] = []
    y = float(TOP)
    for category, row_values in zip(categories, values, strict=True):
        rows.append(Row(shorten(category), category, y + group_height / 2 + 4))
        for index, (kind, value) in enumerate(zip(series, row_values, strict=True)):
            top = y + index * (BAR_HEIGHT + BAR_GAP)
            length = 0.0 if value is None else span * min(max(value, 0.0), maximum) / maximum
            bars.append(
                Bar(
                    x=plot_left,
                    y=top,
                    width=round(length, 2),
                    height=BAR_HEIGHT,
                    series=kind,
                    category=category,
                    value=value,
                    text_x=round(plot_left + length + 4, 2),
                    text_y=top + BAR_HEIGHT - 3,
                )
            )
        y += group_height + GROUP_GAP
    plot_bottom = y - GROUP_GAP + 4
    scale = tuple(
        Tick(round(plot_left + span * step / ticks, 2), maximum * step / ticks)
        for step in range(ticks + 1)
    )
    return BarChart(
        width=WIDTH,
        height=math.ceil(plot_bottom + AXIS_ROOM),
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=float(TOP),
        plot_bottom=plot_bottom,
        rows=tuple(rows),
        bars=tuple(bars),
        ticks=scale,
        series=tuple(series),
        rate=rate,
    )
