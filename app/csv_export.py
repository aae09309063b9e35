"""Lists as CSV downloads (the `.csv` forms of the API's lists and their pages' links).

Written with the csv module; a cell that a spreadsheet would read as a formula (starting with
=, +, -, @, a tab or a carriage return) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import Response

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A value as a safe CSV cell: None empty, a would-be formula neutralised."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV download (UTF-8 with a BOM, so spreadsheets read the kelurahan names right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


ERROR_HEADER = ("kind", "household_id", "kelurahan", "benefits", "reasons")


def error_rows(
    answer: dict[str, Any], describe: Callable[[dict[str, Any]], str] | None = None
) -> list[list[Any]]:
    """The rows of an inclusion/exclusion error answer (projections.program_views.errors):
    one per family, its kind first; reasons as `rule: detail` joined by `; ` (or as
    `describe` words each, the page's download in the page's language)."""
    rows = []
    for kind in ("inclusion", "exclusion", "review"):
        for family in answer[kind]:
            reasons = _reasons(family, describe)
            rows.append(
                [
                    kind,
                    family["household_id"],
                    family["kelurahan"],
                    family.get("benefits", 0),
                    reasons,
                ]
            )
    return rows


WHAT_IF_HEADER = ("change", "household_id", "kelurahan", "reasons")


def what_if_rows(answer: dict[str, Any]) -> list[list[Any]]:
    """The rows of a what-if answer (projections.program_views.what_if): one per family
    gaining or losing eligibility; a losing one with the draft's rules it fails."""
    return [
        [change, f["household_id"], f["kelurahan"], _reasons(f)]
        for change in ("gaining", "losing")
        for f in answer[change]
    ]


def _reasons(
    family: dict[str, Any], describe: Callable[[dict[str, Any]], str] | None = None
) -> str:
    said = describe or (lambda r: f"{r['rule']}: {r['detail']}")
    return "; ".join(said(r) for r in family.get("reasons", []))


RECONCILIATION_HEADER = ("household_id", "kecamatan", "kelurahan", "reasons", "link")


def reconciliation_rows(families: list[dict[str, Any]]) -> list[list[Any]]:
    """The rows of the reconciliation list (projections.reconciliation.disagreeing): one per
    family, its reasons joined by `; `, and the path of its case."""
    return [
        [
            f["household_id"],
            f["kecamatan"],
            f["kelurahan"],
            "; ".join(f["reasons"]),
            f"/rumah-tangga/{f['household_id']}",
        ]
        for f in families
    ]
