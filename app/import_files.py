"""Reading the files the sources deliver: pipe-delimited, quoted CSV in whatever encoding the
field uses, or XLSX (openpyxl, read-only). A table is its header and its rows, each row
numbered as a spreadsheet shows it (the header's row is 1 in a CSV file; in a sheet, the
header may sit further down, under a title block, as in P3KE's). The rows are streamed from
the file when asked, one at a time: a city's file is never held in memory whole."""

from __future__ import annotations

import codecs
import csv
import hashlib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from openpyxl import load_workbook

# Tried in order: UTF-8 (a byte-order mark is dropped), then Windows-1252, which the
# spreadsheets of Indonesian offices write, then Latin-1, which reads any byte.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
# How far down a sheet its header is looked for (P3KE's starts at about row 12).
HEADER_SEARCH_ROWS = 40


@dataclass
class Table:
    """One table of a file: its normalised column names, and its rows read when asked
    (`rows()`: the file is read again each time, never held whole)."""

    file: Path
    sheet: str | None
    encoding: str  # utf-8, cp1252, latin-1, or xlsx
    header: list[str]
    start: int = 1  # the header's row: the data rows follow it

    @property
    def name(self) -> str:
        return self.file.name if self.sheet is None else f"{self.file.name}[{self.sheet}]"

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) of each data row that is not empty, in file order."""
        if self.sheet is None:
            return _csv_rows(self)
        return _xlsx_rows(self)


def column(name: object) -> str:
    """A column name as layouts spell it: lower case, words joined by `_`."""
    return "_".join(str(name or "").strip().lower().replace("-", " ").split())


def file_hash(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def is_xlsx(path: Path) -> bool:
    return zipfile.is_zipfile(path)


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with (see ENCODINGS)."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def encoding_of(path: Path) -> str:
    """The first of ENCODINGS that decodes the whole file, read in blocks (as `decode` would
    answer for its bytes, without holding them)."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with Path(path).open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _delimiter(first_line: str) -> str:
    """Pipes as the sources deliver; a comma or semicolon when a spreadsheet re-saved it."""
    counts = {sep: first_line.count(sep) for sep in ("|", ";", ",", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else "|"


def _csv_reader(handle: TextIO) -> Iterator[list[str]]:
    first_line = handle.readline().rstrip("\r\n")
    handle.seek(0)
    return csv.reader(handle, delimiter=_delimiter(first_line))


def read_csv(path: Path) -> Table:
    """The table of a CSV file: its encoding and header (its rows are read by `rows()`)."""
    path = Path(path)
    encoding = encoding_of(path)
    with path.open(encoding=encoding, newline="") as handle:
        first = next(_csv_reader(handle), [])
    return Table(path, None, encoding.removesuffix("-sig"), [column(cell) for cell in first])


def _csv_rows(table: Table) -> Iterator[tuple[int, list[str]]]:
    encoding = "utf-8-sig" if table.encoding == "utf-8" else table.encoding
    with table.file.open(encoding=encoding, newline="") as handle:
        reader = _csv_reader(handle)
        next(reader, None)  # the header
        for cells in reader:
            stripped = [cell.strip() for cell in cells]
            if any(stripped):
                yield reader.line_num, stripped


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and hasattr(value, "isoformat"):  # datetime or date
        return value.date().isoformat() if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_xlsx(path: Path, wanted: Iterable[set[str]]) -> list[Table]:
    """Each sheet whose header (within its first rows) holds one of the `wanted` column sets
    (openpyxl's read-only mode: the sheets are streamed, never loaded whole)."""
    wanted = list(wanted)
    workbook = load_workbook(path, read_only=True, data_only=True)
    tables = []
    try:
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)
            for number, values in enumerate(rows, start=1):
                names = [column(_cell(v)) for v in values]
                if any(columns <= set(names) for columns in wanted):
                    tables.append(Table(Path(path), sheet.title, "xlsx", names, number))
                    break
    finally:
        workbook.close()
    return tables


def _xlsx_rows(table: Table) -> Iterator[tuple[int, list[str]]]:
    workbook = load_workbook(table.file, read_only=True, data_only=True)
    try:
        sheet = workbook[table.sheet]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number <= table.start:
                continue
            cells = [_cell(v) for v in values]
            if any(cells):
                yield number, cells
    finally:
        workbook.close()


def read_tables(path: Path, wanted: Iterable[set[str]]) -> list[Table]:
    """The tables of a CSV or XLSX file (by its content, not its name)."""
    path = Path(path)
    if is_xlsx(path):
        return read_xlsx(path, wanted)
    return [read_csv(path)]


# The start of a CSV file read to find its header (a header is a few hundred bytes).
HEADER_BYTES = 64 * 1024


def header_candidates(path: Path) -> list[set[str]]:
    """The column sets a file's header could be, read cheaply (an upload is checked before
    it is imported): a CSV file's first line; in an XLSX workbook, each of the first rows of
    each sheet. Nothing for a file that is neither (binary, or a broken workbook)."""
    path = Path(path)
    if is_xlsx(path):
        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return []
        try:
            return [
                {column(_cell(v)) for v in values}
                for sheet in workbook.worksheets
                for values in sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)
            ]
        finally:
            workbook.close()
    with path.open("rb") as handle:
        start = handle.read(HEADER_BYTES)
    if b"\0" in start:
        return []  # not text
    text, _ = decode(start)
    first_line = text.splitlines()[0] if text else ""
    cells = next(csv.reader([first_line], delimiter=_delimiter(first_line)), [])
    return [{column(cell) for cell in cells}]
