"""Lists as XLSX downloads (the `.xlsx` forms of the API's lists and their pages' links), written
with openpyxl: one sheet per list, a header row first. Text cells are made safe as the CSV's
are (`app.csv_export.cell`: a would-be formula starts with an apostrophe); numbers stay
numbers."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response
from openpyxl import Workbook

from app.csv_export import cell

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def _value(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return cell(value)
    return value


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        sheet.append([cell(h) for h in header])
        for row in rows:
            sheet.append([_value(v) for v in row])
    return workbook_bytes(book)


def workbook_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(filename: str, sheets: Iterable[Sheet] | bytes) -> Response:
    """A workbook download: these sheets, or a workbook's bytes (`workbook_bytes`)."""
    data = sheets if isinstance(sheets, bytes) else xlsx_bytes(sheets)
    response = Response(data, mimetype=XLSX_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
