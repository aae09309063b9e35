"""Reading the files the sources deliver: pipe-delimited, quoted CSV in whatever encoding the
field uses, or XLSX (openpyxl, read-only). A table is its header and its rows, each row
numbered as a spreadsheet shows it (the header's row is 1 in a CSV file, and a quoted cell
holding line breaks does not start a row; in a sheet, the header may sit further down, under
a title block, as in P3KE's). The rows are streamed from
the file when asked, one at a time: a city's file is never held in memory whole.

Hostile or broken files are bounded: a row larger than the limits (a cell of more than
MAX_CELL characters, a row or CSV line of more than MAX_ROW) is not read but refused
(`import.too_large`); a sheet is read only as wide as its header, whatever size it declares,
and is left after EMPTY_RUN empty rows in a row (`import.sheet_left`, in the rejected rows'
report); a file that cannot be read at all (not a workbook, a header line beyond MAX_ROW)
raises `UnreadableFile`."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException

# Tried in order: UTF-8 (a byte-order mark is dropped), then Windows-1252, which the
# spreadsheets of Indonesian offices write, then Latin-1, which reads any byte.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
# How far down a sheet its header is looked for (P3KE's starts at about row 12).
HEADER_SEARCH_ROWS = 40
# How far right a sheet's header is looked for (a declared dimension is not trusted).
HEADER_SEARCH_COLUMNS = 1024
# The largest cell read (csv's own field limit) and the largest row (a CSV line, or the
# cells of a sheet's row together), in characters: a larger row is refused whole.
MAX_CELL = 131_072
MAX_ROW = 1 << 20
# Empty rows in a row after which the rest of a sheet is left unread (a sheet that declares
# a million rows, or has one cell at its last row, would otherwise be read to its end).
EMPTY_RUN = 10_000
# The codes of rows refused while reading (app/messages.py), given in place of the cells.
TOO_LARGE = "import.too_large"
SHEET_LEFT = "import.sheet_left"
# What openpyxl and the zip and XML readers raise for a file that is not a readable workbook.
WORKBOOK_ERRORS = (
    InvalidFileException,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    ParseError,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
)


class UnreadableFile(Exception):
    """A file that cannot be read as a table at all: `reason` says why (in English, for the
    CLI)."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file, self.reason = file, reason


NOT_A_TABLE = "not a CSV or Excel (.xlsx) file"


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

    def rows(self) -> Iterator[tuple[int, list[str] | str]]:
        """(row number, cells) of each data row that is not empty, in file order; in place
        of the cells, the code of a row refused as it was read (TOO_LARGE), or of the row
        where a sheet was left (SHEET_LEFT)."""
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


def _lines(handle: TextIO, oversized: set[int]) -> Iterator[str]:
    """The file's lines, none longer than MAX_ROW characters: a longer one is skipped to its
    end (never held whole), given as an empty line and its number added to `oversized`."""
    number = 0
    while line := handle.readline(MAX_ROW + 1):
        number += 1
        if len(line) > MAX_ROW:
            while line and not line.endswith(("\n", "\r")):
                line = handle.readline(MAX_ROW)
            oversized.add(number)
            yield ""
            continue
        yield line


def _csv_reader(handle: TextIO, oversized: set[int]) -> Iterator[list[str]]:
    first_line = handle.readline(MAX_ROW + 1).rstrip("\r\n")
    handle.seek(0)
    return csv.reader(_lines(handle, oversized), delimiter=_delimiter(first_line))


def read_csv(path: Path) -> Table:
    """The table of a CSV file: its encoding and header (its rows are read by `rows()`)."""
    path = Path(path)
    encoding = encoding_of(path)
    oversized: set[int] = set()
    with path.open(encoding=encoding, newline="") as handle:
        try:
            first = next(_csv_reader(handle, oversized), [])
        except csv.Error:
            first = None
    if first is None or oversized:
        raise UnreadableFile(path.name, "its first line is too long to be a header")
    return Table(path, None, encoding.removesuffix("-sig"), [column(cell) for cell in first])


def _csv_rows(table: Table) -> Iterator[tuple[int, list[str] | str]]:
    """The rows numbered as a spreadsheet numbers them: one per record, the header's 1, an
    empty line one row, a quoted cell holding line breaks still one row (its lines are
    counted apart, `last`, only to find the lines `_lines` left out as too long)."""
    encoding = "utf-8-sig" if table.encoding == "utf-8" else table.encoding
    oversized: set[int] = set()
    with table.file.open(encoding=encoding, newline="") as handle:
        reader = _csv_reader(handle, oversized)
        next(reader, None)  # the header
        number, last = 1, reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:  # a cell over csv's field limit (MAX_CELL): the rest of its line
                number += 1  # is skipped, the reader goes on at the next one
                last = reader.line_num
                yield number, TOO_LARGE
                continue
            number += 1
            first, last = last + 1, reader.line_num
            if oversized and any(n in oversized for n in range(first, last + 1)):
                oversized.difference_update(range(first, last + 1))
                yield number, TOO_LARGE
                continue
            stripped = [cell.strip() for cell in cells]
            if any(stripped):
                yield number, stripped


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and hasattr(value, "isoformat"):  # datetime or date
        return value.date().isoformat() if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# The columns holding a NIK or KK number (16 digits). Excel keeps 15 significant digits of a
# number: a 16-digit number in a cell ending in 0 may have lost its last digit (typed as
# 1571011704010056, kept as 1571011704010050), so it is given as Excel's own notation of
# it (1.57101170401005E+15), which the layouts refuse (`import.scientific`); one ending in
# another digit was not cut, and is read.
IDENTITY_COLUMNS = frozenset({"nomor_kk", "nomor_nik", "nik", "no_kk", "nomor_kartu_keluarga"})


def _number_cell(value: object) -> str | None:
    """A 16-digit number of a cell whose last digit Excel may have dropped, in scientific
    notation; None for any other value."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    number = int(value)
    if 10**15 <= number < 10**16 and number % 10 == 0:
        return f"{number:.14E}"
    return None


# The columns holding dates (tanggal_lahir, tanggal_kunjungan): a number in one of them is a
# date Excel keeps as its serial number (the cell formatted as a number, not as a date).
DATE_PREFIX = "tanggal"
# The serial numbers of days Excel can show (1900-01-01 to 9999-12-31).
SERIAL_DAYS = range(1, 2_958_466)


def _serial_day(value: object, epoch: dt.datetime) -> str | None:
    """The day an Excel serial number stands for (YYYY-MM-DD; a time of day is left out), or
    None when the value is no such number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if int(value) not in SERIAL_DAYS:
        return None
    found = from_excel(value, epoch)
    return found.date().isoformat() if isinstance(found, dt.datetime) else None


def _open_workbook(path: Path):
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except WORKBOOK_ERRORS as error:
        raise UnreadableFile(Path(path).name, NOT_A_TABLE) from error


def _header_rows(sheet) -> Iterator[tuple[int, list[str]]]:
    """The first rows of a sheet as column names, each without its trailing empty cells (the
    sheet's declared dimension is ignored: it may claim every column of a million rows), with
    the number of the row the data follow. After each row but the first, that row joined with
    the one above it (`_two_rows`): a header of two rows, such as WILAYAH merged over RT and
    RW, the other names merged down both rows."""
    sheet.reset_dimensions()
    rows = sheet.iter_rows(
        max_row=HEADER_SEARCH_ROWS, max_col=HEADER_SEARCH_COLUMNS, values_only=True
    )
    above: list[str] = []
    for number, values in enumerate(rows, start=1):
        names = [column(_cell(v)) for v in values]
        while names and not names[-1]:
            names.pop()
        yield number, names
        if above and names:
            yield number, _two_rows(above, names)
        above = names


def _two_rows(above: list[str], below: list[str]) -> list[str]:
    """A header of two rows as one: each column's name from the lower row, else the upper's
    (a name merged down both rows is in the upper one only)."""
    width = max(len(above), len(below))
    above, below = above + [""] * (width - len(above)), below + [""] * (width - len(below))
    return [low or high for high, low in zip(above, below, strict=True)]


def read_xlsx(path: Path, wanted: Iterable[set[str]]) -> list[Table]:
    """Each sheet whose header (within its first rows, of one row or two) holds one of the
    `wanted` column sets (openpyxl's read-only mode: the sheets are streamed, never loaded
    whole)."""
    wanted = list(wanted)
    workbook = _open_workbook(path)
    tables = []
    try:
        for sheet in workbook.worksheets:
            for number, names in _header_rows(sheet):
                if any(columns <= set(names) for columns in wanted):
                    tables.append(Table(Path(path), sheet.title, "xlsx", names, number))
                    break
    except WORKBOOK_ERRORS as error:
        raise UnreadableFile(Path(path).name, NOT_A_TABLE) from error
    finally:
        workbook.close()
    return tables


def _xlsx_rows(table: Table) -> Iterator[tuple[int, list[str] | str]]:
    """The sheet's rows below the header, only as wide as the header, up to EMPTY_RUN empty
    rows in a row."""
    workbook = _open_workbook(table.file)
    try:
        sheet = workbook[table.sheet]
        sheet.reset_dimensions()
        width = max(len(table.header), 1)
        rows = sheet.iter_rows(min_row=table.start + 1, max_col=width, values_only=True)
        dates = [i for i, name in enumerate(table.header) if name.startswith(DATE_PREFIX)]
        numbers = [i for i, name in enumerate(table.header) if name in IDENTITY_COLUMNS]
        epoch = workbook.epoch
        empty = 0
        for number, values in enumerate(rows, start=table.start + 1):
            if not any(v is not None and v != "" for v in values):
                empty += 1
                if empty >= EMPTY_RUN:
                    yield number, SHEET_LEFT
                    return
                continue
            empty = 0
            cells = [_cell(v) for v in values]
            for i in dates:
                if i < len(values) and (serial := _serial_day(values[i], epoch)) is not None:
                    cells[i] = serial
            for i in numbers:
                if i < len(values) and (cut := _number_cell(values[i])) is not None:
                    cells[i] = cut
            if max(map(len, cells)) > MAX_CELL or sum(map(len, cells)) > MAX_ROW:
                yield number, TOO_LARGE
            elif any(cells):
                yield number, cells
    except WORKBOOK_ERRORS as error:
        raise UnreadableFile(table.file.name, f"the sheet {table.sheet} cannot be read") from error
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


def header_rows(path: Path) -> list[list[str]]:
    """The column names a file's header could be, in order, read cheaply (an upload is
    checked before it is imported): a CSV file's first line; in an XLSX workbook, each of
    the first rows of each sheet. Nothing for a file that is neither (binary, a broken
    workbook, a zip that is not one) or whose first line is longer than HEADER_BYTES."""
    path = Path(path)
    if is_xlsx(path):
        try:
            workbook = _open_workbook(path)
        except UnreadableFile:
            return []
        try:
            return [names for sheet in workbook.worksheets for _, names in _header_rows(sheet)]
        except WORKBOOK_ERRORS:
            return []
        finally:
            workbook.close()
    with path.open("rb") as handle:
        start = handle.read(HEADER_BYTES)
        more = bool(handle.read(1))
    if b"\0" in start:
        return []  # not text
    if more and b"\n" not in start and b"\r" not in start:
        return []  # no header line: one line longer than any header
    text, _ = decode(start)
    first_line = text.splitlines()[0] if text else ""
    cells = next(csv.reader([first_line], delimiter=_delimiter(first_line)), [])
    return [[column(cell) for cell in cells]]


def header_candidates(path: Path) -> list[set[str]]:
    """The column sets of `header_rows`."""
    return [set(names) for names in header_rows(path)]
