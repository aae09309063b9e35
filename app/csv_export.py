"""Lists as CSV downloads (the `.csv` forms of the API's lists and their pages' links).

Written with the csv module; a cell that a spreadsheet would read as a formula (starting with
=, +, -, @, a tab or a carriage return) is prefixed with an apostrophe.

A list's columns are defined once (`Column`: a key and a label). The API's files are headed by
the keys, stable names its clients read (README, OpenAPI); a page's download by the labels, in
the page's language, and says in words what the page says in words (`words=True`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Response
from flask_babel import lazy_gettext as _l

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A value as a safe CSV cell: None empty, a would-be formula neutralised."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


@dataclass(frozen=True)
class Column:
    """A column of a download: `key` heads the API's file (and names the answer's field it
    holds), `label` (a lazy gettext string) heads a page's download."""

    key: str
    label: Any


def header(columns: Iterable[Column], words: bool = False) -> tuple[str, ...]:
    """The header row: the columns' keys, or with `words` their labels in the request's
    language."""
    return tuple(str(c.label) if words else c.key for c in columns)


def named(key: str, labels: Mapping[str, Any], words: bool) -> str:
    """A code (a sheet's name, an error's kind) as the API's file names it (the code itself)
    or, with `words`, in the request's language (the code when it has no label)."""
    return str(labels.get(key, key)) if words else key


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


HOUSEHOLD_ID = Column("household_id", _l("Household ID"))
KECAMATAN = Column("kecamatan", _l("Kecamatan"))
KELURAHAN = Column("kelurahan", _l("Kelurahan"))
ERROR_COLUMNS = (
    Column("kind", _l("Kind of error")),
    HOUSEHOLD_ID,
    KELURAHAN,
    Column("benefits", _l("Running benefits of the program")),
    Column("reasons", _l("Reasons")),
)
ERROR_HEADER = header(ERROR_COLUMNS)
# an error's kind in words (projections.program_views.ERROR_KINDS), as the program page says it
ERROR_KIND_LABELS = {
    "inclusion": _l("Inclusion error"),
    "exclusion": _l("Exclusion error"),
    "review": _l("Needs review"),
}


def error_rows(
    answer: dict[str, Any],
    describe: Callable[[dict[str, Any]], str] | None = None,
    words: bool = False,
) -> list[list[Any]]:
    """The rows of an inclusion/exclusion error answer (projections.program_views.errors):
    one per family, its kind first; reasons as `rule: detail` joined by `; ` (or as
    `describe` words each, the page's download in the page's language). With `words` the kind
    in the request's language."""
    rows = []
    for kind in ("inclusion", "exclusion", "review"):
        for family in answer[kind]:
            reasons = _reasons(family, describe)
            rows.append(
                [
                    named(kind, ERROR_KIND_LABELS, words),
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


RECONCILIATION_COLUMNS = (
    HOUSEHOLD_ID,
    KECAMATAN,
    KELURAHAN,
    Column("reasons", _l("Disagreements")),
    Column("link", _l("Case link")),
)
RECONCILIATION_HEADER = header(RECONCILIATION_COLUMNS)


def reconciliation_rows(
    families: list[dict[str, Any]], say: Callable[[str], str] | None = None
) -> list[list[Any]]:
    """The rows of the reconciliation list (projections.reconciliation.disagreeing): one per
    family, its reasons joined by `; ` (their codes, or as `say` words each: the page's
    download in the page's language), and the path of its case."""
    return [
        [
            f["household_id"],
            f["kecamatan"],
            f["kelurahan"],
            "; ".join(say(r) if say else r for r in f["reasons"]),
            f"/rumah-tangga/{f['household_id']}",
        ]
        for f in families
    ]
