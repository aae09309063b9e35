"""The cross-OPD page's month-by-month chart: months up to this one only, month names that do
not run into each other, and round ticks on the y axis."""

from __future__ import annotations

from app import charts
from app.overview_pages import CHART_WIDTH, MONTH_LABELS, _series_chart


def _months(first_year: int, last_year: int) -> list[str]:
    return [f"{y}-{m:02d}" for y in range(first_year, last_year + 1) for m in range(1, 13)]


def test_the_chart_ends_at_this_month_and_names_months_apart():
    series = [
        {
            "program": "PKH",
            "opd": "DINSOS",
            "months": [{"month": m, "families": 40 + i} for i, m in enumerate(_months(2025, 2027))],
        }
    ]
    chart = _series_chart(series, until="2026-12")
    assert chart["months"][0] == "2025-01" and chart["months"][-1] == "2026-12"  # no 2027
    labels = chart["labels"]
    assert len(labels) <= MONTH_LABELS and labels[-1]["month"] == "2026-12"
    assert labels[-1]["anchor"] == "end"  # the last name is not cut at the chart's edge
    gaps = [b["x"] - a["x"] for a, b in zip(labels, labels[1:], strict=False)]
    # a month name is about 60 px wide at 14 px: none overlaps the next
    assert min(gaps) >= 70 and len(set(round(g) for g in gaps)) == 1
    assert chart["scale"] == 100  # 63 families at most by 2026-12: a round top
    assert [t["value"] for t in chart["ticks"]] == [0, 25, 50, 75, 100]
    assert chart["lines"][0]["numbers"][-1] == 63
    assert max(float(p.split(",")[0]) for p in chart["lines"][0]["points"].split()) == CHART_WIDTH


def test_round_scales_and_ticks():
    assert [charts.nice_scale(n) for n in (0, 1, 3, 7, 10, 11, 80, 120, 2400)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        100,
        200,
        2500,
    ]
    assert charts.ticks(2) == [0, 1, 2]
    assert charts.ticks(200) == [0, 50, 100, 150, 200]


def test_the_ticks_are_evenly_apart():
    # a top of 10 read 0, 2, 5, 8, 10: the gaps between the grid lines differed
    assert charts.ticks(10) == [0, 2, 4, 6, 8, 10]
    assert charts.ticks(25) == [0, 5, 10, 15, 20, 25]
    assert charts.ticks(50) == [0, 10, 20, 30, 40, 50]
    assert charts.ticks(5) == [0, 1, 2, 3, 4, 5]
    for top in (1, 2, 5, 10, 20, 25, 50, 100, 250, 2500, 10_000):
        values = charts.ticks(charts.nice_scale(top))
        assert len({b - a for a, b in zip(values, values[1:], strict=False)}) == 1, values
