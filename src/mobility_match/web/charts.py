"""Bar charts drawn on the server: the geometry of horizontal grouped bars, as numbers.

A page computes a `BarChart` here and the `bar_chart` macro of
`templates/web/results/parts.html` draws it as SVG with presentation
attributes and classes only (the Content-Security-Policy forbids inline
styles), so a chart needs no script and no library in the browser. Nothing
here formats numbers or translates words: the caller gives labels, the template
formats values in the page's language.
"""

from __future__ import annotations

import math
import unicodedata
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
LABEL_GAP = 8
"""Between a category name's end and the axis."""
LABEL_ROOM = LABEL_WIDTH - LABEL_GAP - 4
"""The width a category name may take: a longer one is shortened in the chart, with an
ellipsis (the chart's tooltip and the table under it give it whole)."""
LABEL_FONT_SIZE = 12.5
"""The size style.css gives a category name (`.chart text.category`), in px."""

_EM_WIDTHS = {
    0.28: "'ijl",
    0.3: "IJ",
    0.32: " ,.",
    0.34: "/:;\\|",
    0.36: "f",
    0.37: "-",
    0.4: "()[]t",
    0.41: "!",
    0.42: "r",
    0.46: '"',
    0.5: "*_`",
    0.53: "sz",
    0.54: "?",
    0.55: "c",
    0.56: "L",
    0.58: "Fk",
    0.6: "vxy",
    0.61: "P",
    0.62: "TYaeo",
    0.64: "$0123456789ESbdghnpqu{}",
    0.66: "K",
    0.69: "ABVXZ",
    0.7: "CR",
    0.74: "U",
    0.75: "N",
    0.76: "H",
    0.78: "&DG",
    0.79: "OQ",
    0.82: "w",
    0.84: "#+<=>^~",
    0.87: "M",
    0.96: "%",
    0.98: "m",
    0.99: "W",
}
EM_WIDTH = {char: width for width, chars in _EM_WIDTHS.items() for char in chars}
"""The advance width of each printable ASCII character in DejaVu Sans, in em, rounded up:
the widest of the fonts style.css names, so that a name measured with it fits in any."""
ELLIPSIS = "…"


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
    x: float
    """Where the name ends: it is drawn right-aligned, left of the axis."""
    y: float

    @property
    def shortened(self) -> bool:
        return self.label != self.full_label


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


def _em(char: str) -> float:
    """A character's width in em: an accented letter as its letter, an accent alone as
    nothing, a character not in EM_WIDTH as a whole em (more than any of them)."""
    if unicodedata.combining(char):
        return 0.0
    base = unicodedata.normalize("NFD", char)[0]
    return EM_WIDTH.get(base, 1.0)


def text_width(text: str, font_size: float = LABEL_FONT_SIZE) -> float:
    """How wide `text` is drawn at `font_size` px, at most (see EM_WIDTH)."""
    return sum(_em(char) for char in text) * font_size


def shorten(label: str, room: float = LABEL_ROOM, font_size: float = LABEL_FONT_SIZE) -> str:
    """`label` if it fits in `room` px, else its start cut with an ellipsis to fit."""
    if text_width(label, font_size) <= room:
        return label
    budget = room - text_width(ELLIPSIS, font_size)
    width = 0.0
    for index, char in enumerate(label):
        width += _em(char) * font_size
        if width > budget:
            return label[:index].rstrip() + ELLIPSIS
    return label  # pragma: no cover - a label wider than `room` overflows `budget` first


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
        rows.append(
            Row(shorten(category), category, plot_left - LABEL_GAP, y + group_height / 2 + 4)
        )
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
