"""The server-rendered charts' arithmetic (SVG drawn by the templates, app/templates/_charts.html):
the scale of a set of bars, the points of a line, the shade of a heat-map cell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HEAT_SHADES = 5  # the heat-map's classes heat-0 .. heat-5 (app/static/app.css)


def bar_scale(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> int:
    """The largest value of these keys over the rows (at least 1): the full width of a bar."""
    return max([1, *(row[k] for row in rows for k in keys)])


def line_points(values: Sequence[int], scale: int, width: int, height: int) -> str:
    """An SVG polyline's points for values spread evenly over the width, `scale` at the top."""
    if not values:
        return ""
    step = width / max(1, len(values) - 1)
    top = max(1, scale)
    return " ".join(
        f"{round(at * step, 1)},{round(height - height * value / top, 1)}"
        for at, value in enumerate(values)
    )


def heat(value: int, scale: int) -> int:
    """The shade (0 to HEAT_SHADES) of a cell: 0 only for nothing."""
    if value <= 0:
        return 0
    return max(1, round(HEAT_SHADES * value / max(1, scale)))


def nice_scale(largest: int) -> int:
    """The top of an axis for values up to `largest`: the next 1, 2, 2.5 or 5 times a power
    of ten (80 -> 100, 7 -> 10, 1 -> 1), so that its ticks are round numbers."""
    if largest <= 1:
        return 1
    power = 1
    while power * 10 < largest:
        power *= 10
    for factor in (1, 2, 2.5, 5, 10):
        top = factor * power
        if top >= largest and top == int(top):
            return int(top)
    return 10 * power


def ticks(scale: int) -> list[int]:
    """Round values from 0 to `scale` (a `nice_scale`) for an axis, evenly apart: 4 or 5
    whole steps (10: 0, 2, 4, 6, 8, 10; not 0, 2, 5, 8, 10, whose gaps differ)."""
    if scale <= 5:
        return list(range(0, scale + 1))
    count = next((n for n in (4, 5) if scale % n == 0), 4)
    return [scale * at // count for at in range(count + 1)]
