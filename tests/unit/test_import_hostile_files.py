"""`casework import` on hostile or broken files (app/import_files.py): a sheet that declares
every column of a million rows, cells beyond any limit, a zip that is not a workbook, a
header naming a column twice. Each ends in seconds, with the rows refused reported or the
file refused in one line (exit 2), never a traceback."""

from __future__ import annotations

import argparse
import csv
import re
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import Workbook

from app import import_cli, import_files
from app.import_files import header_rows
from app.import_layouts import AmbiguousLayout, Unreadable
from app.importer import Importer
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv
from tests.support.apps import memory_casework

PERIOD = "2026-Q1"
FAMILIES = list(generate_households(3, 41))


def report(path: Path) -> list[dict[str, str]]:
    target = path.with_name(path.name + ".rejected.csv")
    if not target.exists():
        return []
    with target.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def cli(kind: str, *files: Path) -> int:
    args = argparse.Namespace(kind=kind, files=list(files), period=PERIOD, batch=100, max_rate=None)
    return import_cli.run(SimpleNamespace(casework=memory_casework()), args)


def rewrite(source: Path, target: Path, edit) -> Path:
    """A copy of a workbook with each member's bytes passed through `edit(name, data)`."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in zin.infolist():
            out.writestr(item, edit(item.filename, zin.read(item.filename)))
    return target


def workbook(path: Path, rows: list[list]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "DTKS"
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_sheet_declaring_every_column_of_a_million_rows_is_read_in_seconds(tmp_path):
    rows = dtks_rows(FAMILIES)
    plain = workbook(tmp_path / "plain.xlsx", [DTKS_HEADER, *rows])

    def hostile(name: str, data: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return data
        data = re.sub(rb"<dimension ref=\"[^\"]*\"\s*/>", b'<dimension ref="A1:XFD1048576"/>', data)
        last = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        return data.replace(b"</sheetData>", last + b"</sheetData>")

    path = rewrite(plain, tmp_path / "dtks.xlsx", hostile)
    assert b"XFD1048576" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    started = time.monotonic()
    assert len(header_rows(path)[0]) == len(DTKS_HEADER)  # not 16,384 columns
    app = memory_casework()
    summary = Importer(app, "dtks", PERIOD).run([path])
    assert time.monotonic() - started < 20
    assert summary.families["imported"] == len(FAMILIES) and summary.rows == len(rows)
    # the sheet was left after EMPTY_RUN empty rows, and the report says so
    [left] = report(path)
    assert left["kode"] == "import.sheet_left" and left["alasan"]
    assert int(left["baris"]) == len(rows) + 1 + import_files.EMPTY_RUN


def test_a_csv_cell_beyond_the_field_limit_rejects_its_row_only(tmp_path):
    rows = dtks_rows(FAMILIES)
    rows[1][17] = "x" * 200_000  # Pekerjaan, a column not read: the row is refused whole
    path = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    app = memory_casework()
    summary = Importer(app, "dtks", PERIOD).run([path])
    found = [(r["baris"], r["kode"]) for r in report(path)]
    assert ("3", "import.too_large") in found
    assert summary.rows == len(rows) and summary.rejected_rows >= 1
    assert summary.families["imported"] + summary.families["rejected"] == len(FAMILIES)


def test_a_csv_line_longer_than_any_row_rejects_that_row_only(tmp_path, monkeypatch):
    monkeypatch.setattr(import_files, "MAX_ROW", 4096)
    rows = dtks_rows(FAMILIES)
    rows[-1][17] = "y," * 3000  # short cells, one long line
    path = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    summary = Importer(memory_casework(), "dtks", PERIOD).run([path])
    assert [(r["baris"], r["kode"]) for r in report(path)] == [
        (str(len(rows) + 1), "import.too_large")
    ]
    assert summary.rows == len(rows)


def test_a_file_without_a_line_break_is_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "dtks.csv"
    path.write_text("|".join(DTKS_HEADER) + "|" + "z" * (5 << 20))
    with pytest.raises(Unreadable):
        Importer(memory_casework(), "dtks", PERIOD).run([path])
    assert cli("dtks", path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dtks.csv" in err and "Traceback" not in err
    assert header_rows(path) == []  # the web form refuses it before any import


def test_xlsx_rows_with_huge_cells_are_rejected_not_dropped(tmp_path):
    rows = dtks_rows(FAMILIES)
    big = [list(rows[0]) for _ in range(3)]
    for i, row in enumerate(big):
        row[17] = f"PLACEHOLDER{i}"
    plain = workbook(tmp_path / "plain.xlsx", [DTKS_HEADER, *big, *rows])

    def huge(name: str, data: bytes) -> bytes:
        return re.sub(rb"PLACEHOLDER[0-9]", b"x" * 300_000, data)

    path = rewrite(plain, tmp_path / "dtks.xlsx", huge)
    summary = Importer(memory_casework(), "dtks", PERIOD).run([path])
    assert summary.rows == len(rows) + 3
    assert [(r["baris"], r["kode"]) for r in report(path)] == [
        (str(n), "import.too_large") for n in (2, 3, 4)
    ]
    assert summary.families["imported"] == len(FAMILIES)


@pytest.mark.parametrize("name", ["data.zip", "dtks.xlsx"])
def test_a_zip_that_is_not_a_workbook_is_refused_in_one_line(tmp_path, capsys, name):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    assert cli("dtks", path) == 2
    err = capsys.readouterr().err
    assert err == f"casework import: {name}: not a CSV or Excel (.xlsx) file\n"
    assert header_rows(path) == []


def test_a_header_naming_a_column_read_twice_is_refused(tmp_path, capsys):
    header = [*DTKS_HEADER, "NOMOR_NIK", "nama"]
    rows = [[*row, "3171010101010001", "SOMEONE ELSE"] for row in dtks_rows(FAMILIES)]
    path = write_csv(tmp_path / "dtks.csv", header, rows)
    app = memory_casework()
    with pytest.raises(AmbiguousLayout) as refused:
        Importer(app, "dtks", PERIOD).run([path])
    assert refused.value.duplicated == ["nama", "nomor_nik"]
    assert (app.recorder.max_notification_id() or 0) == 0
    assert cli("dtks", path) == 2
    err = capsys.readouterr().err
    assert "nama, nomor_nik" in err and "more than once" in err and err.count("\n") == 1
    # a column not read may be named twice
    ignored = write_csv(tmp_path / "ok.csv", [*DTKS_HEADER, "Pekerjaan"], [])
    Importer(memory_casework(), "dtks", PERIOD).run([ignored])
