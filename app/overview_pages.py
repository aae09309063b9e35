"""The cross-OPD page (`/lintas-opd`): which OPD's programs reach whom, where, month by month,
towards which targets, and which families two programs share; with CSV and XLSX downloads.

Filters by OPD, kecamatan and kelurahan, within the reader's area as the API applies it
(app/overview_api.py `scope`; policies in app/read_policy.py WEB). The charts are SVG drawn on
the server (app/templates/_charts.html, app/charts.py): bars of families per OPD and program,
a line per program of the month-by-month series, target progress bars, and the overlap matrix
as a heat-map table. No personal data: counts only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from app import charts, overview_api
from app.auth import kecamatan_within, kelurahan_of
from app.context import services
from app.messages import message
from app.overview_api import (
    Scope,
    monthly_answer,
    overlaps_answer,
    overview_answer,
    scope,
)
from app.schemas import Invalid
from app.web import current_actor, error_page
from domain.approval import Forbidden
from domain.city import today as city_today

bp = Blueprint("overview_pages", __name__)

LINE_COLOURS = ("#1f5fa8", "#b3261e", "#1e7e4a", "#8a5100", "#6a3d9a", "#00707a", "#5c5c5c")
CHART_WIDTH, CHART_HEIGHT = 720, 200


def _series_chart(series: list[dict[str, Any]], until: str | None = None) -> dict[str, Any]:
    """The month-by-month lines: every month of any series on the x axis up to `until` (this
    month: later months are benefits planned, not given), one line each; at most
    `MONTH_LABELS` month labels, evenly spaced and the last month always named, and a few
    round ticks on the y axis."""
    until = until or this_month()
    months = sorted({m["month"] for s in series for m in s["months"] if m["month"] <= until})
    scale = charts.nice_scale(
        max([1, *(m["families"] for s in series for m in s["months"] if m["month"] <= until)])
    )
    lines = []
    for at, s in enumerate(series):
        by_month = {m["month"]: m["families"] for m in s["months"]}
        values = [by_month.get(month, 0) for month in months]
        lines.append(
            {
                "program": s["program"],
                "opd": s["opd"],
                "colour": LINE_COLOURS[at % len(LINE_COLOURS)],
                "points": charts.line_points(values, scale, CHART_WIDTH, CHART_HEIGHT),
                "numbers": values,
            }
        )
    step = max(1, -(-len(months) // MONTH_LABELS))
    last = len(months) - 1
    spread = CHART_WIDTH / max(1, last)
    labels = [
        {
            "x": round(at * spread, 1),
            "month": month,
            "anchor": "end" if at == last and at else "start" if at == 0 and last else "middle",
        }
        for at, month in enumerate(months)
        if (last - at) % step == 0
    ]
    ticks = [
        {"y": round(CHART_HEIGHT - CHART_HEIGHT * value / scale, 1), "value": value}
        for value in charts.ticks(scale)
    ]
    return {"months": months, "scale": scale, "lines": lines, "labels": labels, "ticks": ticks}


def month_name(month: str) -> str:
    """A month as people read it, in the page's language (`2026-02`: 'Feb 2026')."""
    year, number = month.split("-")
    return format_date(dt.date(int(year), int(number), 1), "MMM yyyy")


MONTH_LABELS = 8  # month names at most on the x axis (they would run into each other)


def this_month() -> str:
    """The month it is in Kota Jambi (`2026-12`), of the day the current counts are of."""
    return city_today().strftime("%Y-%m")


@bp.get("/lintas-opd")
def page():
    values = {name: (request.args.get(name) or "").strip()[:100] for name in FIELDS}
    try:
        where = scope(current_actor(), request.args)
    except Forbidden as refused:
        return error_page(403, message(refused.code))
    except Invalid as invalid:
        return render_template(
            "overview.html",
            active="overview",
            values=values,
            invalid=invalid.codes,
            problems={f: [message(c) for c in codes] for f, codes in invalid.codes.items()},
            month_name=month_name,
            **_empty(),
        ), 422
    answer = overview_answer(where)
    matrix = overlaps_answer(where)
    series = monthly_answer(where, "")["series"]
    diagonal = max([1, *(max(row, default=0) for row in matrix["matrix"])])
    return render_template(
        "overview.html",
        active="overview",
        values=values,
        invalid={},
        problems={},
        where=where,
        answer=answer,
        scale=charts.bar_scale(answer["programs"], ("families",)),
        opd_scale=charts.bar_scale(answer["opds"], ("families",)),
        overlaps=matrix,
        today=city_today(),
        heat=lambda n: charts.heat(n, diagonal),
        chart=_series_chart(series),
        month_name=month_name,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        **_choices(),
        download_args={k: v for k, v in where.filters.items() if v},
    )


FIELDS = ("opd", "kecamatan", "kelurahan")


def _empty() -> dict[str, Any]:
    return {
        "where": Scope(),
        "answer": {"programs": [], "opds": [], "rows": []},
        "scale": 1,
        "opd_scale": 1,
        "overlaps": {"programs": [], "matrix": [], "pairs": []},
        "heat": lambda n: 0,
        "today": city_today(),
        "chart": {"months": [], "scale": 1, "lines": [], "labels": [], "ticks": []},
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        **_choices(),
        "download_args": {},
    }


def _choices() -> dict[str, Any]:
    """The filter's lists: the OPDs of the programs defined (a program manager's own only:
    another OPD's answers 403, `scope`), the kecamatan and kelurahan."""
    opds = sorted({program.opd for program in services().casework.list_programs()})
    actor = current_actor()
    if actor.role == "program_manager":
        opds = [opd for opd in opds if opd.upper() == (actor.opd or "").upper()]
    areas = kelurahan_of(services().casework, actor)
    return {
        "opd_names": opds,
        "kecamatan_list": kecamatan_within(areas),
        "area_bound": areas is not None,
    }


def _download(make):
    try:
        where = scope(current_actor(), request.args)
    except Forbidden as refused:
        return error_page(403, message(refused.code))
    except Invalid as invalid:
        # the filter the download was asked with, named, and what to do
        return error_page(422, problem_text(invalid.codes))
    return make(where)


def problem_text(codes: dict[str, list[str]]) -> str:
    """`Kelurahan: <what to do>` for each field a filter got wrong."""
    return " ".join(
        f"{FIELD_LABELS.get(field, field)}: {message(code)}"
        for field, found in codes.items()
        for code in found
    )


FIELD_LABELS = {"opd": _l("OPD"), "kecamatan": _l("Kecamatan"), "kelurahan": _l("Kelurahan")}


# the page's downloads: the API's files (app/overview_api.py), headed in the page's language


@bp.get("/lintas-opd.csv")
def overview_csv():
    return _download(lambda where: overview_api.overview_csv(where, words=True))


@bp.get("/lintas-opd.xlsx")
def overview_xlsx():
    return _download(lambda where: overview_api.overview_xlsx(where, words=True))


@bp.get("/lintas-opd/irisan.csv")
def overlaps_csv():
    return _download(lambda where: overview_api.overlaps_csv(where, words=True))


@bp.get("/lintas-opd/irisan.xlsx")
def overlaps_xlsx():
    return _download(lambda where: overview_api.overlaps_xlsx(where, words=True))
