"""Charts drawn on the server as SVG shapes (no script, nothing loaded from elsewhere): the
numbers are turned into rectangles here, and the templates only place them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

WIDTH = 720
HEIGHT = 180
BAR_GAP = 1.0


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the day (or the name) it stands for
    value: float


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    top: float  # the value at the top of the chart
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return all(bar.value == 0 for bar in self.bars)


def day_bounds(days: int, now: float, zone: ZoneInfo) -> list[tuple[dt.date, float, float]]:
    """The last `days` days up to today in `zone`: (date, start, end) in Unix time, oldest
    first; a day is midnight to midnight there (23 or 25 hours when clocks change)."""
    today = dt.datetime.fromtimestamp(now, zone).date()
    found = []
    for back in range(days - 1, -1, -1):
        day = today - dt.timedelta(days=back)
        start = dt.datetime.combine(day, dt.time(), zone).timestamp()
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).timestamp()
        found.append((day, start, end))
    return found


def _nice_top(largest: float) -> float:
    """A round number at or above `largest`, so the scale reads easily."""
    if largest <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= largest:
        step *= 10
    for multiple in (1, 2, 2.5, 5, 10):
        if step * multiple >= largest:
            return step * multiple
    return step * 10


def column_chart(labels: Sequence[str], values: Sequence[float]) -> BarChart:
    """One column per value, left to right."""
    top = _nice_top(max(values, default=0))
    slot = WIDTH / max(1, len(values))
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = HEIGHT * value / top
        bars.append(
            Bar(
                x=round(index * slot + BAR_GAP / 2, 2),
                y=round(HEIGHT - height, 2),
                width=round(max(slot - BAR_GAP, 1), 2),
                height=round(height, 2),
                label=label,
                value=value,
            )
        )
    return BarChart(tuple(bars), top)


def row_chart(labels: Sequence[str], values: Sequence[float], row_height: int = 22) -> BarChart:
    """One horizontal bar per value, top to bottom (for reasons and members)."""
    top = _nice_top(max(values, default=0))
    bars = tuple(
        Bar(
            x=0,
            y=index * row_height + 2,
            width=round(WIDTH * 0.6 * value / top, 2),
            height=row_height - 6,
            label=label,
            value=value,
        )
        for index, (label, value) in enumerate(zip(labels, values, strict=True))
    )
    return BarChart(bars, top, WIDTH, max(row_height, row_height * len(bars)))
