"""Lists as XLSX downloads (the `.xlsx` forms of the API's lists), written with openpyxl.

A text cell that a spreadsheet would read as a formula is neutralised as in CSV
(`app.csv_export.cell`)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response
from openpyxl import Workbook

from app.csv_export import cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(
    filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Response:
    """One sheet: the header, then the rows (numbers stay numbers)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([cell(h) for h in header])
    for row in rows:
        sheet.append([v if isinstance(v, int | float) else cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    response = Response(out.getvalue(), mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
