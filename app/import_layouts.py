"""The column layouts of the four sources and how their rows become families.

Each layout reads its tables (app/import_files.py) into `Family` objects: what the file says
about one family (its KK number, where it lives, its members, its decile, its benefit
flags), every row checked with the command schemas of app/schemas.py (the same validation as
the API: NIK, KK number, dates, names, kecamatan and kelurahan), and the rows that fail as
`Rejection`s (row, column, code). The codes of the sources are translated here: Dukcapil's
and DTSEN's relationship codes, Ya/Tidak and 1/0 flags, sexes, dates, region codes.
The layouts are documented in the README ("Importing DTSEN, DTKS, P3KE and verval files").

In two passes, in bounded memory (a city's file: 160,000 families, 650,000 rows): the first
reads the files row by row (app/import_files.py), checks each row and keeps what its family
needs in the import's scratch file (app/import_spool.py), with the rows refused; the rows
of one family may be anywhere in the files. The second (`Parsed.families`) builds the
families from it one at a time, in the order they are stored, as the importer asks for them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from marshmallow import Schema

from app.import_ahead import CheckAhead, ChildSide, loaded
from app.import_files import (
    IDENTITY_COLUMNS,
    SHEET_LEFT,
    Table,
    UnreadableFile,
    column,
    header_rows,
    is_xlsx,
    read_tables,
)
from app.import_spool import MemorySpool, Spool, Spooled, cause_of, open_spool
from app.schemas import COMMANDS, COMMON_FIELDS, PersonSchema, flatten
from domain.household import HEAD, VERIFICATION_OUTCOMES

SOURCES = {"dtsen": "DTSEN", "dtks": "DTKS", "p3ke": "P3KE", "verval": "VERVAL"}
# A household id to validate a member's command before the household exists.
PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"

# Dukcapil's relationship codes (SHDK, as printed on the KK) and names.
SHDK = {
    "1": HEAD,
    "2": "suami",
    "3": "istri",
    "4": "anak",
    "5": "menantu",
    "6": "cucu",
    "7": "orang_tua",
    "8": "mertua",
    "9": "famili_lain",
    "10": "lainnya",  # pembantu
    "11": "lainnya",
}
RELATIONSHIP_NAMES = {
    "kepala_keluarga": HEAD,
    "kepala_rumah_tangga": HEAD,
    "suami": "suami",
    "istri": "istri",
    "anak": "anak",
    "menantu": "menantu",
    "cucu": "cucu",
    "orang_tua": "orang_tua",
    "orangtua": "orang_tua",
    "mertua": "mertua",
    "famili_lain": "famili_lain",
    "pembantu": "lainnya",
    "lainnya": "lainnya",
}
# DTSEN (Regsosek) relationship codes: 2 is the spouse (istri or suami by sex), 6 a parent or
# parent-in-law (orang_tua), 7 a servant or driver, 8 anyone else (both lainnya).
DTSEN_RELATIONSHIPS = {
    "1": HEAD,
    "2": None,
    "3": "anak",
    "4": "menantu",
    "5": "cucu",
    "6": "orang_tua",
    "7": "lainnya",
    "8": "lainnya",
}
# Benefit flags, by the column that holds them.
DTKS_BENEFITS = {"bansos_pkh": "PKH", "bansos_bpnt": "BPNT", "pbi_jkn": "PBI_JK"}
P3KE_BENEFITS = {
    "penerima_pkh": "PKH",
    "penerima_bpnt": "BPNT",
    "penerima_bpum": "BPUM",
    "penerima_bst": "BST",
    "penerima_sembako": "SEMBAKO",
}
VERVAL_OUTCOMES = {
    "sesuai": "valid",
    "layak": "valid",
    "tidak_sesuai": "invalid",
    "tidak_layak": "invalid",
    "pindah": "moved",
    "tidak_ditemukan": "not_found",
    "meninggal": "deceased",
    **{outcome: outcome for outcome in VERIFICATION_OUTCOMES},
}
_YES = {"ya", "y", "1", "true", "benar"}
_NO = {"tidak", "t", "0", "false", "", "-"}
_DAY_FIRST = re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})")
# A time of day after a date ("1985-03-12 00:00:00", "1985-03-12T00:00"), as a spreadsheet or
# a database exports a date cell: the day is read without it.
_TIME_OF_DAY = re.compile(
    r"(?:T|\s+)[0-9]{1,2}[:.][0-9]{2}(?:[:.][0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?\s*$"
)
_YEAR_FIRST = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")
_RT_RW = re.compile(r"\bRT\.?\s*0*([0-9]{1,3})\s*/?\s*RW\.?\s*0*([0-9]{1,3})\b", re.IGNORECASE)
_REGION_CODE = re.compile(r"[0-9]{2}\.?[0-9]{2}\.?[0-9]{2}\.?[0-9]{4}")


@dataclass(frozen=True)
class Rejection:
    table: str  # the file (and sheet) the row is in
    row: int
    column: str  # the column at fault, or "" for the whole row
    code: str  # an error code of app/messages.py
    # a row refused because of others of its family (import.family_refused, import.no_head):
    # the rows at fault, (table, row, code) each, and whose they are: the head's ("head"),
    # the family's own row ("family"), or another's ("")
    causes: tuple[tuple[str, int, str], ...] = ()
    whose: str = ""

    @classmethod
    def of(cls, values: list) -> Rejection:
        """A rejection from its fields as a list (a checkpoint's JSON)."""
        table, row, column, code, *rest = values
        causes = tuple((str(t), int(r), str(c)) for t, r, c in rest[0]) if rest else ()
        return cls(table, row, column, code, causes, rest[1] if len(rest) > 1 else "")


HEAD_ROW, FAMILY_ROW = "head", "family"


def whose_rows(
    causes: tuple[tuple[str, int, str], ...], family: tuple[str, int], head: tuple[str, int]
) -> str:
    """Whose the rows at fault are: the family row's, the head's, or neither (or both)."""
    rows = {(table, row) for table, row, _ in causes}
    if rows == {family}:
        return FAMILY_ROW
    if rows == {head}:
        return HEAD_ROW
    return ""


@dataclass
class Member:
    row: int
    table: str
    person: dict[str, str]  # nik, name, birth_date, sex as the schema answered them
    relationship: str  # a Casework relationship, HEAD for the head
    columns: dict[str, str]  # the columns of nik, name, birth_date, sex, relationship
    deceased: bool = False

    def column(self, field_path: str) -> str:
        """The column a command's field came from (`person.birth_date`: its birth date's)."""
        return self.columns.get(field_path.rsplit(".", 1)[-1], "")


@dataclass
class Family:
    """What one file says about one family."""

    table: str  # where its family row (or its head's row) is
    row: int  # that row
    kk_number: str | None
    place: dict[str, str] | None  # kecamatan, kelurahan, address, rt, rw (validated)
    members: list[Member] = field(default_factory=list)
    desil: int | None = None
    benefits: list[str] = field(default_factory=list)
    verification: dict[str, Any] | None = None  # outcome, visited_on, verifier, notes
    head_nik: str | None = None  # who the source names as head (P3KE matches by it)
    met: Member | None = None  # verval: the person met, a member of the household (its NIK)
    rows: list[tuple[str, int]] = field(default_factory=list)  # every row of the family
    read: int = 0  # the rows of the files it was built from (the progress bar counts them)

    @property
    def reference(self) -> str:
        """Where the source lists it: the file (and sheet) and row, at most 200 characters."""
        where = f"#row={self.row}"
        return self.table[: 200 - len(where)] + where

    @property
    def head(self) -> Member | None:
        return next((m for m in self.members if m.relationship == HEAD), None)

    @property
    def nik(self) -> str | None:
        """The NIK that finds the family in the register when the file gives no KK number:
        its head's (P3KE), or the person met (verval)."""
        if self.head_nik:
            return self.head_nik
        return self.met.person["nik"] if self.met is not None else None


# Builds one family from what the first pass kept: its own row, and its rows in file order
# (rows refused then, as a second head, go to the rejections given).
Builder = Callable[[Spooled, list[Spooled], Any], Family]


@dataclass
class Parsed:
    """The files read and checked (the first pass): their tables, the rows read, and the
    scratch file with the families and the rows refused. `close()` removes the scratch file."""

    tables: list[Table]
    rows: int  # data rows read
    spool: Spool | MemorySpool
    build: Builder

    @property
    def encodings(self) -> dict[str, str]:
        return {table.name: table.encoding for table in self.tables}

    @property
    def family_count(self) -> int:
        return self.spool.families

    @property
    def rows_total(self) -> int:
        """The rows of every family (the progress bar's total)."""
        return self.spool.rows_total

    def rows_until(self, done: int) -> int:
        return self.spool.rows_until(done)

    def families(self, after: int = 0, out: Any = None) -> Iterator[Family]:
        """The families after the first `after`, in the order they are stored (by the file
        and row where each is listed), each built when asked for: one at a time in memory.
        The rows refused as a family is built (a second head) go to `out` (the importer's,
        which its checkpoint keeps: a resumed import builds no family it skips), else to
        the scratch file's rejections."""
        for unit, size, rows in self.spool.units(after):
            family = self.build(unit, rows, self.spool if out is None else out)
            family.read = size
            yield family

    def close(self) -> None:
        self.spool.close()


class LayoutError(Exception):
    """A file that is not of the layout asked for (its columns are missing). Of a source of
    two files (DTSEN, P3KE), `role` says which of them it was meant to be (FAMILY, MEMBER),
    and `found` the names its header row has (none when that row looks like data); `file`
    is "" when no file given is of that role."""

    def __init__(
        self, file: str, missing: list[str], role: str = "", found: list[str] | None = None
    ) -> None:
        super().__init__(f"{file or role}: missing columns {', '.join(missing)}")
        self.file, self.missing, self.role, self.found = file, missing, role, found or []


class Unreadable(LayoutError):
    """A file that cannot be read as a table at all (app/import_files.py UnreadableFile):
    none of the layout's columns could be found in it; `reason` says why."""

    def __init__(self, file: str, missing: list[str], reason: str) -> None:
        super().__init__(file, missing)
        self.reason = reason


class AmbiguousLayout(Exception):
    """A file whose header names a column the layout reads more than once: which of them
    holds the value is not known, so the file is refused (`duplicated`: those columns)."""

    def __init__(self, file: str, duplicated: list[str]) -> None:
        super().__init__(f"{file}: columns named more than once: {', '.join(duplicated)}")
        self.file, self.duplicated = file, duplicated


# --- translating the sources' values ------------------------------------------------------


def flag(value: str) -> bool | None:
    """Ya/Tidak, Y/T, 1/0 (empty: no); None when it is none of these."""
    text = value.strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return None


def sex(value: str) -> str:
    """1/L/Laki-laki -> M, 2/P/Perempuan -> F; anything else as given (the schema refuses it)."""
    text = column(value)
    if text in ("1", "l", "laki_laki", "lakilaki", "m", "pria"):
        return "M"
    if text in ("2", "p", "perempuan", "f", "wanita"):
        return "F"
    return value


def day(value: str) -> str:
    """A date as the schema takes it (YYYY-MM-DD), from DD-MM-YYYY, DD/MM/YYYY or YYYY/MM/DD,
    with or without a time of day after it (left out: `_TIME_OF_DAY`); anything else as given
    (the schema refuses it: `birth_date.format`, or for a day of the right format that does
    not exist, such as 1985-02-30, `birth_date.impossible`)."""
    text = _TIME_OF_DAY.sub("", value.strip())
    if match := _DAY_FIRST.fullmatch(text):
        d, m, y = match.groups()
        return f"{y}-{int(m):02d}-{int(d):02d}"
    if match := _YEAR_FIRST.fullmatch(text):
        y, m, d = match.groups()
        return f"{y}-{int(m):02d}-{int(d):02d}"
    return text


def relationship(value: str, codes: dict[str, str | None], sex_code: str) -> str | None:
    """A Casework relationship from a source's code or name; None when unknown."""
    text = column(value)
    if text in codes:
        found = codes[text]
        if found is None:  # DTSEN's spouse
            return "istri" if sex_code == "F" else "suami"
        return found
    return RELATIONSHIP_NAMES.get(text)


def region(kecamatan: str, kelurahan: str, code: str = "") -> tuple[str, str]:
    """Kecamatan and kelurahan as the schema takes them: the names (or codes) given, or a
    Kemendagri kelurahan code (15.71.01.1001 or 1571011001) when one is given."""
    if _REGION_CODE.fullmatch(code.strip()):
        digits = code.replace(".", "").strip()
        return digits[:6], digits
    if not kelurahan and _REGION_CODE.fullmatch(kecamatan.strip()):
        digits = kecamatan.replace(".", "").strip()
        return digits[:6], digits
    return kecamatan, kelurahan


# The province and the city a row of a national file (DTKS, P3KE) names, when it names them:
# Jambi (Kemendagri 15) and Kota Jambi (15.71). A row of another region is not this city's.
_PROVINCE = {"JAMBI", "15", "PROV JAMBI", "PROVINSI JAMBI"}
_CITY = {"KOTA JAMBI", "1571", "15 71"}


def _place_name(value: str) -> str:
    """A region's name or code as compared: upper case, dots and spaces folded."""
    return " ".join(value.replace(".", " ").upper().split())


def outside_city(row: Row, out: list[Rejection]) -> bool:
    """Whether the row names a province or a kabupaten/kota other than Kota Jambi's (rejected
    with the column); a row that leaves them empty, or a file without them, is not checked."""
    outside = False
    province = row["provinsi"].strip()
    if province and _place_name(province) not in _PROVINCE:
        row.reject(out, "provinsi", "import.province_other")
        outside = True
    city = row["kabupaten_kota"].strip()
    if city and _place_name(city) not in _CITY:
        row.reject(out, "kabupaten_kota", "import.city_other")
        outside = True
    return outside


def rt_rw(address: str, rt: str, rw: str) -> tuple[str, str]:
    """RT and RW as given, or read from the address ("RT 005 RW 002") when not given."""
    if rt and rw:
        return rt, rw
    match = _RT_RW.search(address or "")
    return (match.group(1), match.group(2)) if match else (rt, rw)


# --- checking rows with the command schemas -------------------------------------------------


# In the columns of a NIK or KK number (IDENTITY_COLUMNS): a spreadsheet's text marker before
# one (`'1571...`, typed or exported so that Excel keeps all 16 digits) is not part of the
# number; a number Excel wrote in scientific notation (1.57101E+15), or kept in a workbook's
# cell as a number (app/import_files.py), has lost its last digits and is refused
# (`import.scientific`): they cannot be read back.
_TEXT_MARKS = "'\u2018\u2019`"
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]*)?\s*[eE]\s*\+?\s*[0-9]+")


class Row(dict):
    """One row of a table: its cells by column name ("" for a column it lacks), where it is,
    and the rejections found in it. A NIK or KK number is read without a spreadsheet's
    leading text marker (IDENTITY_COLUMNS)."""

    __slots__ = ("number", "table")

    def __init__(self, table: Table, number: int, cells: list[str]) -> None:
        super().__init__(zip(table.header, cells, strict=False))
        self.table, self.number = table, number
        for name in IDENTITY_COLUMNS.intersection(self):
            if self[name].startswith(tuple(_TEXT_MARKS)):
                self[name] = self[name].lstrip(_TEXT_MARKS).strip()

    def scientific(self) -> str | None:
        """The first NIK or KK column whose number is written in scientific notation."""
        return next(
            (n for n in self if n in IDENTITY_COLUMNS and _SCIENTIFIC.fullmatch(self[n])), None
        )

    def __missing__(self, name: str) -> str:
        return ""

    def reject(self, out: list[Rejection], column_name: str, code: str) -> None:
        out.append(Rejection(self.table.name, self.number, column_name, code))


@cache
def _schema(command: str, only: tuple[str, ...] | None = None) -> Schema:
    """One instance of a command's schema (or of some of its fields: `only`) for every row
    (`app.schemas.load` makes one per call, which costs more than the row's checks); a schema
    instance keeps no state between loads."""
    return COMMANDS[command].schema(only=only)


def _reject(messages: dict, columns: dict[str, tuple[Row, str]], out: list[Rejection]) -> None:
    """Each problem a schema found, rejected at the row and column its field came from."""
    first_row = next(iter(columns.values()))[0]
    for path, codes in flatten(messages).items():
        row, name = columns.get(path, columns.get(path.split(".")[0], (first_row, path)))
        for code in codes:
            row.reject(out, name, code)


Columns = dict[str, tuple[Row, str]]


def check(
    command: str,
    payload: dict[str, Any],
    columns: Columns | Callable[[], Columns],
    out: list[Rejection],
    only: tuple[str, ...] | None = None,
) -> dict[str, Any] | None:
    """The command (or the fields `only`) validated by its schema (app/schemas.py), or None
    with each problem rejected at the row and column its field came from (`columns`: field
    path -> (row, column), or what makes it when a problem is found; a field not listed falls
    to the first row given)."""
    name = command if only is None else f"{command}[{','.join(only)}]"
    checked, problems = loaded(name, _schema(command, only), payload)
    if problems is not None:
        _reject(problems, columns() if callable(columns) else columns, out)
    return checked


@cache
def _person_schema() -> Schema:
    return PersonSchema()


# RegisterHousehold's fields but the head: a family's KK number and place, with the fields
# every command has
PLACE_FIELDS = ("kk_number", "kecamatan", "kelurahan", "address", "rt", "rw")
_PLACE_ONLY = (*PLACE_FIELDS, *COMMON_FIELDS)


@lru_cache(maxsize=1024)
def _load_place(values: tuple[str, ...]) -> tuple[dict[str, Any] | None, dict]:
    """A KK number and place checked by RegisterHousehold's schema (its fields but the head):
    (what it answered, None) or (None, the problems). The rows of a family repeat the same
    values, so each is checked once; the answer is the same for the same values."""
    schema = _schema("RegisterHousehold", _PLACE_ONLY)
    place, problems = loaded("place", schema, dict(zip(PLACE_FIELDS, values, strict=True)))
    return place, problems or {}


def person_payload(row: Row, nik: str, name: str, birth: str, sex_column: str) -> dict[str, str]:
    return {
        "nik": row[nik],
        "name": row[name],
        "birth_date": day(row[birth]),
        "sex": sex(row[sex_column]),
    }


class PersonColumns(NamedTuple):
    """Where a person's fields are: the row, and the columns of its NIK, name, birth date and
    sex, for the field paths under `prefix` (`mapping()`, made only when a problem is found)."""

    row: Row | None
    prefix: str
    nik: str = ""
    name: str = ""
    birth: str = ""
    sex: str = ""

    def mapping(self) -> Columns:
        if self.row is None:
            return {}
        row, prefix = self.row, self.prefix
        return {
            f"{prefix}.nik": (row, self.nik),
            f"{prefix}.name": (row, self.name),
            f"{prefix}.birth_date": (row, self.birth),
            f"{prefix}.sex": (row, self.sex),
            prefix: (row, self.nik),
        }


NO_COLUMNS = PersonColumns(None, "")


def check_place(
    row: Row,
    kk_column: str,
    place_columns: dict[str, str],
    head: tuple[Row, dict[str, str], PersonColumns],
    out: list[Rejection],
) -> dict[str, Any] | None:
    """A family's KK number and place with its head, as RegisterHousehold takes them."""
    kecamatan, kelurahan = region(
        row[place_columns["kecamatan"]],
        row[place_columns["kelurahan"]],
        row[place_columns.get("code", "")] if place_columns.get("code") else "",
    )
    address = row[place_columns["address"]]
    rt, rw = rt_rw(address, row[place_columns.get("rt", "")], row[place_columns.get("rw", "")])
    _, person, person_cols = head

    def columns() -> dict[str, tuple[Row, str]]:  # where a problem is rejected (only then)
        return {
            "kk_number": (row, kk_column),
            **{name: (row, place_columns[name]) for name in ("kecamatan", "kelurahan", "address")},
            "rt": (row, place_columns.get("rt", place_columns["address"])),
            "rw": (row, place_columns.get("rw", place_columns["address"])),
            **person_cols.mapping(),
        }

    # RegisterHousehold's schema in two parts: the place (checked once per distinct KK
    # number and place: `_load_place`) and the head, on every row, by the schema nested as
    # its `head` (PersonSchema: the NIK, name, birth date and sex, and how they agree)
    place, problems = _load_place((row[kk_column], kecamatan, kelurahan, address, rt, rw))
    if problems:
        _reject(problems, columns(), out)
    head, head_problems = loaded("person", _person_schema(), person)
    if head_problems is not None:
        _reject({"head": head_problems}, columns(), out)
        return None
    if place is None:
        return None
    return {**place, "head": head}


def check_member(
    row: Row,
    person: dict[str, str],
    cols: PersonColumns,
    relation: str,
    rel_column: str,
    out: list,
) -> dict[str, Any] | None:
    def columns() -> Columns:  # where a problem is rejected (only then)
        return {**cols.mapping(), "relationship": (row, rel_column)}

    payload = {"household_id": PLACEHOLDER_ID, "person": person, "relationship": relation}
    return check("AddMember", payload, columns, out)


def check_desil(row: Row, desil_column: str, source: str, out: list) -> tuple[bool, int | None]:
    """(valid, the decile or None when the cell is empty)."""
    value = row[desil_column]
    if not value.strip():
        return True, None
    payload = {
        "household_id": PLACEHOLDER_ID,
        "source": source,
        "desil": value,
        "period": "2000-Q1",
        "reference": None,
    }
    checked = check("RecordWelfareAssessment", payload, {"desil": (row, desil_column)}, out)
    return checked is not None, None if checked is None else checked["desil"]


def benefit_flags(row: Row, columns: dict[str, str], out: list[Rejection]) -> list[str] | None:
    found = []
    for name, code in columns.items():
        if name not in row:
            continue
        value = flag(row[name])
        if value is None:
            row.reject(out, name, "import.flag")
            return None
        if value:
            found.append(code)
    return found


def duplicated(header: list[str]) -> list[str]:
    """The columns a layout reads that the header names more than once (another column named
    twice is not read, and does no harm)."""
    seen: set[str] = set()
    twice = {name for name in header if name in READ_COLUMNS and (name in seen or seen.add(name))}
    return sorted(twice)


def require(table: Table, columns: set[str]) -> None:
    missing = sorted(columns - set(table.header))
    if missing:
        raise LayoutError(table.name, missing)
    twice = duplicated(table.header)
    if twice:
        raise AmbiguousLayout(table.name, twice)


# What a family's number may be written with besides its digits (as IdentityNumber drops).
_KEY_SEPARATORS = str.maketrans("", "", " .-\t")


def family_key(row: Row, columns: tuple[str, ...]) -> str:
    """The family a row belongs to, as the file writes it: the first of `columns` the row
    gives (a KK number without its separators; the second, verval's NIK when no KK number
    is given, named as such); "" when it gives none."""
    for index, name in enumerate(columns):
        value = row[name].translate(_KEY_SEPARATORS)
        if value:
            return f"{name}:{value}" if index else value
    return ""


class Reading:
    """The first pass: the scratch file, the rows refused (kept in it) and the rows read."""

    def __init__(
        self, spool: Spool | MemorySpool, ahead: CheckAhead | ChildSide | None = None
    ) -> None:
        self.spool, self.out, self.rows = spool, spool, 0
        self.ahead = ahead

    def rows_of(
        self,
        table: Table,
        family: tuple[str, ...],
        refused: Callable[[Row, str], None] | None = None,
    ) -> Iterator[Row]:
        """The table's rows, read one at a time; one with fewer cells than the header is
        rejected whole. The family of each row, refused or not, is kept (`family_key` of
        the columns `family`) for the summary's counts of families. `refused(row, code)` is
        told of each row rejected here (a family row's family is then refused with it)."""
        width = len(table.header)
        rows = table.rows() if self.ahead is None else self.ahead.rows(table.rows())
        for number, cells in rows:
            if isinstance(cells, str):  # refused as it was read, or where a sheet was left
                self.rows += cells != SHEET_LEFT
                self.out.append(Rejection(table.name, number, "", cells))
                continue
            self.rows += 1
            row = Row(table, number, cells)
            key = family_key(row, family)
            if key:
                self.spool.see(table.name, number, key)
            if len(cells) < width:
                self.out.append(Rejection(table.name, number, "", "import.columns"))
                if refused is not None:
                    refused(row, "import.columns")
                continue
            if scientific := row.scientific():
                row.reject(self.out, scientific, "import.scientific")
                if refused is not None:
                    refused(row, "import.scientific")
                continue
            yield row

    def first_nik(self, row: Row, column_name: str, nik: str) -> bool:
        """Whether the NIK is met for the first time in the files; a second row with it is a
        duplicate (P3KE, whose heads are on one sheet and members on another; the rows of
        the other layouts are checked as they are spooled: `Spool.add_row`)."""
        if not self.spool.first("nik", nik):
            row.reject(self.out, column_name, "import.duplicate_nik")
            return False
        return True


PERSON_FIELDS = ("nik", "name", "birth_date", "sex")


def person_values(person: dict[str, str]) -> tuple[str, ...]:
    return tuple(person[k] for k in PERSON_FIELDS)


def person_of(values: tuple) -> dict[str, str]:
    return dict(zip(PERSON_FIELDS, values, strict=True))


def _flags(benefits: list[str]) -> str:
    return ",".join(benefits)


def _unflag(text: str | None) -> list[str]:
    return text.split(",") if text else []


def columns_of(nik: str, name: str, birth: str, sex_column: str, rel: str) -> dict[str, str]:
    return {"nik": nik, "name": name, "birth_date": birth, "sex": sex_column, "relationship": rel}


DTKS_PERSON = columns_of("nomor_nik", "nama", "tanggal_lahir", "jenis_kelamin", "hubungan_keluarga")
DTSEN_PERSON = columns_of("nik", "nama", "tanggal_lahir", "jenis_kelamin", "hubungan_keluarga")
P3KE_HEAD = columns_of("nik", "kepala_keluarga", "tanggal_lahir", "jenis_kelamin", "")
P3KE_PERSON = columns_of(
    "nik", "nama", "tanggal_lahir", "jenis_kelamin", "hubungan_dengan_kepala_keluarga"
)
VERVAL_PERSON = columns_of("nik", "", "", "", "")


def _order(family: Family) -> None:
    """The head first, then spouses, then the rest in file order (a child is checked against
    the parents already on the KK)."""
    rank = {HEAD: 0, "istri": 1, "suami": 1}
    family.members.sort(key=lambda m: rank.get(m.relationship, 2))


def _add_person(
    family: Family,
    at: Spooled,
    checked: dict[str, Any],
    relation: str,
    columns: dict[str, str],
    out: Any,
    deceased: bool = False,
) -> None:
    if relation == HEAD and family.head is not None:
        out.append(Rejection(at.table, at.line, columns["relationship"], "import.second_head"))
        return
    family.members.append(Member(at.line, at.table, checked, relation, columns, deceased))
    family.rows.append((at.table, at.line))


# --- DTKS: one row per person ---------------------------------------------------------------

DTKS_COLUMNS = {
    "nomor_kk",
    "nomor_nik",
    "nama",
    "tanggal_lahir",
    "jenis_kelamin",
    "hubungan_keluarga",
    "kecamatan",
    "desa_kelurahan",
    "alamat",
    "rt",
    "rw",
}
DTKS_PLACE = {
    "kecamatan": "kecamatan",
    "kelurahan": "desa_kelurahan",
    "address": "alamat",
    "rt": "rt",
    "rw": "rw",
}


def read_dtks(tables: list[Table], reading: Reading) -> Builder:
    for table in tables:
        require(table, DTKS_COLUMNS)
    spool, out = reading.spool, reading.out
    for table in tables:
        for row in reading.rows_of(table, ("nomor_kk",)):
            person = person_payload(row, "nomor_nik", "nama", "tanggal_lahir", "jenis_kelamin")
            cols = PersonColumns(row, "head", "nomor_nik", "nama", "tanggal_lahir", "jenis_kelamin")
            elsewhere = outside_city(row, out)
            checked = check_place(row, "nomor_kk", DTKS_PLACE, (row, person, cols), out)
            relation = relationship(row["hubungan_keluarga"], SHDK, person["sex"])
            if relation is None:
                row.reject(out, "hubungan_keluarga", "relationship.unknown")
            benefits = benefit_flags(row, DTKS_BENEFITS, out)
            deceased = flag(row["meninggal"]) if "meninggal" in row else False
            if deceased is None:
                row.reject(out, "meninggal", "import.flag")
            if elsewhere or None in (checked, relation, benefits, deceased):
                continue
            person = checked["head"]
            values = (
                *(checked[k] for k in DTKS_PLACE),
                *person_values(person),
                relation,
                _flags(benefits),
                deceased,
            )
            # a NIK of an earlier row: refused as a duplicate (`Spool.add_row`)
            kk, head, nik = checked["kk_number"], relation == HEAD, person["nik"]
            spool.add_row(kk, head, table.name, row.number, values, nik, "nomor_nik")
    spool.units_from_rows()
    return build_dtks


def build_dtks(unit: Spooled, rows: list[Spooled], out: Any) -> Family:
    """A KK number's rows, in file order: its place and where it is listed from its head's
    row (else its first), its benefit flags from all of them."""
    first = rows[0]
    family = Family(first.table, first.line, unit.values[0], None)
    for at in rows:
        values = at.values
        relation = values[9]
        if relation == HEAD or family.place is None:
            family.place = dict(zip(DTKS_PLACE, values[:5], strict=True))
        if relation == HEAD:
            family.table, family.row = at.table, at.line
        family.benefits = sorted(set(family.benefits) | set(_unflag(values[10])))
        person = person_of(values[5:9])
        _add_person(family, at, person, relation, DTKS_PERSON, out, bool(values[11]))
    _order(family)
    return family


# --- DTSEN: a family file and a member file ---------------------------------------------------

DTSEN_FAMILY_COLUMNS = {
    "nomor_kartu_keluarga",
    "kecamatan",
    "kelurahan_desa",
    "alamat",
    "rt",
    "rw",
    "desil_nasional",
}
DTSEN_MEMBER_COLUMNS = {
    "nomor_kartu_keluarga",
    "nik",
    "nama",
    "tanggal_lahir",
    "jenis_kelamin",
    "hubungan_keluarga",
}
DTSEN_PLACE = {
    "kecamatan": "kecamatan",
    "kelurahan": "kelurahan_desa",
    "address": "alamat",
    "rt": "rt",
    "rw": "rw",
}
# Which DTSEN decile Casework records: the national one, by which the national programs
# (PKH, BPNT, PBI-JK) are targeted; desil_provinsi and desil_kabupaten_kota are not read.
DTSEN_DESIL = "desil_nasional"


def read_dtsen(tables: list[Table], reading: Reading) -> Builder:
    # the member file: the one with the member columns (a family file may name a `nik` too)
    member_tables = [t for t in tables if DTSEN_MEMBER_COLUMNS <= set(t.header)]
    family_tables = [t for t in tables if t not in member_tables]
    if not family_tables:
        raise LayoutError(tables[0].name, sorted(DTSEN_FAMILY_COLUMNS))
    if not member_tables:
        raise LayoutError(tables[0].name, sorted(DTSEN_MEMBER_COLUMNS))
    for table in family_tables:
        require(table, DTSEN_FAMILY_COLUMNS)
    for table in member_tables:
        require(table, DTSEN_MEMBER_COLUMNS)
    spool, out = reading.spool, reading.out
    # the members first, by the KK number they give
    for table in member_tables:
        for row in reading.rows_of(table, ("nomor_kartu_keluarga",)):
            person = person_payload(row, "nik", "nama", "tanggal_lahir", "jenis_kelamin")
            cols = PersonColumns(row, "person", "nik", "nama", "tanggal_lahir", "jenis_kelamin")
            relation = relationship(row["hubungan_keluarga"], DTSEN_RELATIONSHIPS, person["sex"])
            if relation is None:
                row.reject(out, "hubungan_keluarga", "relationship.unknown")
                continue
            deceased = flag(row["meninggal"]) if "meninggal" in row else False
            if deceased is None:
                row.reject(out, "meninggal", "import.flag")
                continue
            checked = check_member(
                row,
                person,
                cols,
                "istri" if relation == HEAD else relation,
                "hubungan_keluarga",
                out,
            )
            if checked is None:
                continue
            kk = row["nomor_kartu_keluarga"].replace(" ", "")
            person = checked["person"]
            values = (*person_values(person), relation, deceased)
            # a NIK of an earlier row: refused as a duplicate (`Spool.add_row`)
            spool.add_row(
                kk, relation == HEAD, table.name, row.number, values, person["nik"], "nik"
            )
    by_name = {t.name: t for t in member_tables}

    def family_row_refused(table: Table) -> Callable[[Row, str], None]:
        """A family row refused as it was read (too few cells, a number in scientific
        notation): its members' rows are refused with it, naming it, as for its other
        problems (not reported as having no family row)."""

        def refuse(row: Row, code: str) -> None:
            kk = row["nomor_kartu_keluarga"].replace(" ", "")
            if not kk or spool.met("listed", kk) or not spool.first("claimed", kk):
                return
            causes = ((table.name, row.number, code),)
            for at in spool.rows_of(kk):
                out.append(
                    Rejection(
                        at.table,
                        at.line,
                        "nomor_kartu_keluarga",
                        "import.family_refused",
                        causes,
                        FAMILY_ROW,
                    )
                )

        return refuse

    for table in family_tables:
        for row in reading.rows_of(table, ("nomor_kartu_keluarga",), family_row_refused(table)):
            kk = row["nomor_kartu_keluarga"].replace(" ", "")
            if spool.met("listed", kk):
                row.reject(out, "nomor_kartu_keluarga", "import.duplicate_kk")
                continue
            # the members go with the first row of their KK number (a row refused too)
            claimed = spool.first("claimed", kk)
            head = spool.first_head(kk) if claimed else None
            if head is not None:
                head_row = Row(by_name[head.table], head.line, [])
                head_person: dict | None = person_of(head.values[:4])
                head_cols = PersonColumns(
                    head_row, "head", "nik", "nama", "tanggal_lahir", "jenis_kelamin"
                )
            else:  # the place is checked with a stand-in head: its fields are not reported
                head_row, head_person, head_cols = row, None, NO_COLUMNS
            found: list[Rejection] = []  # this family's problems: the rows at fault
            ok, desil = check_desil(row, DTSEN_DESIL, "DTSEN", found)
            checked = check_place(
                row,
                "nomor_kartu_keluarga",
                DTSEN_PLACE,
                (head_row, head_person or STAND_IN, head_cols),
                found,
            )
            out.extend(found)
            if checked is None or not ok:
                causes = tuple((r.table, r.row, r.code) for r in found)
                at_head = (head.table, head.line) if head is not None else ("", 0)
                whose = whose_rows(causes, (table.name, row.number), at_head)
                refused = "import.family_refused"
                for at in spool.rows_of(kk) if claimed else []:
                    out.append(
                        Rejection(at.table, at.line, "nomor_kartu_keluarga", refused, causes, whose)
                    )
                continue
            spool.first("listed", kk)
            values = (checked["kk_number"], *(checked[k] for k in DTSEN_PLACE), desil)
            spool.add_unit(kk if claimed else None, table.name, row.number, values)
    for table_name, line in spool.rows_not_marked("claimed"):
        out.append(Rejection(table_name, line, "nomor_kartu_keluarga", "import.family_missing"))
    return build_dtsen


def build_dtsen(unit: Spooled, rows: list[Spooled], out: Any) -> Family:
    values = unit.values
    place = dict(zip(DTSEN_PLACE, values[1:6], strict=True))
    family = Family(unit.table, unit.line, values[0], place, desil=values[6])
    family.rows.append((unit.table, unit.line))
    for at in rows:
        person, relation, deceased = person_of(at.values[:4]), at.values[4], bool(at.values[5])
        _add_person(family, at, person, relation, DTSEN_PERSON, out, deceased)
    _order(family)
    return family


# A valid person standing in for a missing head while a family row's place is checked.
STAND_IN = {"nik": "1571015203850007", "name": "X", "birth_date": "1985-03-12", "sex": "F"}


# --- P3KE: the family sheet and the individual sheet (XLSX) ------------------------------------

P3KE_FAMILY_COLUMNS = {
    "id_keluarga_p3ke",
    "kecamatan",
    "desa_kelurahan",
    "desil_kesejahteraan",
    "alamat",
    "kepala_keluarga",
    "nik",
    "jenis_kelamin",
    "tanggal_lahir",
}
P3KE_MEMBER_COLUMNS = {
    "id_keluarga_p3ke",
    "id_individu",
    "nama",
    "nik",
    "jenis_kelamin",
    "hubungan_dengan_kepala_keluarga",
    "tanggal_lahir",
}
P3KE_PLACE = {
    "kecamatan": "kecamatan",
    "kelurahan": "desa_kelurahan",
    "address": "alamat",
    "rt": "rt",
    "rw": "rw",
    "code": "kode_kemdagri",
}


def _p3ke_id(table: Table) -> None:
    """The individual sheet may call the family id `id_keluarga`."""
    table.header = ["id_keluarga_p3ke" if c == "id_keluarga" else c for c in table.header]


def read_p3ke(tables: list[Table], reading: Reading) -> Builder:
    for table in tables:
        _p3ke_id(table)
    member_tables = [t for t in tables if "id_individu" in t.header]
    family_tables = [t for t in tables if "id_individu" not in t.header]
    if not family_tables:
        raise LayoutError(tables[0].name, sorted(P3KE_FAMILY_COLUMNS))
    for table in family_tables:
        require(table, P3KE_FAMILY_COLUMNS)
    for table in member_tables:
        require(table, P3KE_MEMBER_COLUMNS)
    spool, out = reading.spool, reading.out

    def family_row_refused(table: Table) -> Callable[[Row, str], None]:
        """A family row refused as it was read: its individuals' rows are refused with it,
        naming it (not reported as having no family row)."""

        def refuse(row: Row, code: str) -> None:
            family_id = row["id_keluarga_p3ke"]
            if family_id and not spool.met("family", family_id):
                causes = [(table.name, row.number, code)]
                spool.first("refused family", family_id, json.dumps([FAMILY_ROW, causes]))

        return refuse

    for table in family_tables:
        for row in reading.rows_of(table, ("id_keluarga_p3ke",), family_row_refused(table)):
            family_id = row["id_keluarga_p3ke"]
            if spool.met("family", family_id):
                row.reject(out, "id_keluarga_p3ke", "import.duplicate_kk")
                continue
            person = person_payload(row, "nik", "kepala_keluarga", "tanggal_lahir", "jenis_kelamin")
            cols = PersonColumns(
                row, "head", "nik", "kepala_keluarga", "tanggal_lahir", "jenis_kelamin"
            )
            kk = row["no_kk"] if "no_kk" in row else ""
            found: list[Rejection] = []  # the family row's problems
            elsewhere = outside_city(row, found)
            ok, desil = check_desil(row, "desil_kesejahteraan", "P3KE", found)
            benefits = benefit_flags(row, P3KE_BENEFITS, found)
            if kk:
                checked = check_place(row, "no_kk", P3KE_PLACE, (row, person, cols), found)
            else:  # no KK number: the family is matched by its head's NIK only, the head
                # checked as AddMember's `person` (its problems at the file's columns)
                cols = cols._replace(prefix="person")
                checked = check_member(row, person, cols, "istri", "nik", found)
                if checked is not None:
                    checked = {"kk_number": None, "head": checked["person"]}
            out.extend(found)
            causes = [(r.table, r.row, r.code) for r in found]
            refused = elsewhere or checked is None or not ok or benefits is None
            if not refused and not reading.first_nik(row, "nik", checked["head"]["nik"]):
                causes.append((table.name, row.number, "import.duplicate_nik"))
                refused = True
            if refused:  # its individuals' rows are refused with it, naming it
                spool.first("refused family", family_id, json.dumps([FAMILY_ROW, causes]))
                continue
            place = tuple(checked[k] for k in DTKS_PLACE) if kk else (None,) * len(DTKS_PLACE)
            head_nik = checked["head"]["nik"]
            spool.first("family", family_id, head_nik)
            values = (
                checked["kk_number"],
                *place,
                desil,
                _flags(benefits),
                *person_values(checked["head"]),
            )
            spool.add_unit(family_id, table.name, row.number, values)
    for table in member_tables:
        for row in reading.rows_of(table, ("id_keluarga_p3ke",)):
            family_id = row["id_keluarga_p3ke"]
            head_nik = spool.value("family", family_id)
            if head_nik is None:
                if spool.met("refused family", family_id):
                    whose, causes = cause_of(spool.value("refused family", family_id))
                    refused = "import.family_refused"
                    out.append(
                        Rejection(
                            table.name, row.number, "id_keluarga_p3ke", refused, causes, whose
                        )
                    )
                else:
                    row.reject(out, "id_keluarga_p3ke", "import.family_missing")
                continue
            person = person_payload(row, "nik", "nama", "tanggal_lahir", "jenis_kelamin")
            cols = PersonColumns(row, "person", "nik", "nama", "tanggal_lahir", "jenis_kelamin")
            relation = relationship(row["hubungan_dengan_kepala_keluarga"], SHDK, person["sex"])
            if relation is None:
                row.reject(out, "hubungan_dengan_kepala_keluarga", "relationship.unknown")
                continue
            if relation == HEAD and person["nik"].replace(" ", "") == head_nik:
                # the head, as on the family sheet: only a row of the family
                spool.add_row(family_id, False, table.name, row.number, ())
                continue
            checked = check_member(
                row,
                person,
                cols,
                "istri" if relation == HEAD else relation,
                "hubungan_dengan_kepala_keluarga",
                out,
            )
            if checked is None or not reading.first_nik(row, "nik", checked["person"]["nik"]):
                continue
            values = (*person_values(checked["person"]), relation)
            spool.add_row(family_id, relation == HEAD, table.name, row.number, values)
    return build_p3ke


def build_p3ke(unit: Spooled, rows: list[Spooled], out: Any) -> Family:
    values = unit.values
    kk = values[0]
    place = dict(zip(DTKS_PLACE, values[1:6], strict=True)) if kk is not None else None
    family = Family(unit.table, unit.line, kk, place, desil=values[6])
    family.benefits = _unflag(values[7])
    head = person_of(values[8:12])
    family.head_nik = head["nik"]
    family.members.append(Member(unit.line, unit.table, head, HEAD, P3KE_HEAD))
    family.rows.append((unit.table, unit.line))
    for at in rows:
        relation = at.values[4]
        if relation is None:  # the head's row on the individual sheet
            family.rows.append((at.table, at.line))
            continue
        _add_person(family, at, person_of(at.values[:4]), relation, P3KE_PERSON, out)
    _order(family)
    return family


# --- VERVAL: field verification results (Casework's own layout) -------------------------------
# One row per household visited: its KK number (may be empty: then the NIK finds it) and the
# NIK of the person met, who must be a member of it (app/importer.py checks, as it stores).

VERVAL_COLUMNS = {"nomor_kk", "nik", "desil", "tanggal_kunjungan", "hasil", "petugas"}


def read_verval(tables: list[Table], reading: Reading) -> Builder:
    for table in tables:
        require(table, VERVAL_COLUMNS)
    spool, out = reading.spool, reading.out
    for table in tables:
        for row in reading.rows_of(table, ("nomor_kk", "nik")):
            outcome = VERVAL_OUTCOMES.get(column(row["hasil"]))
            payload = {
                "household_id": PLACEHOLDER_ID,
                "outcome": outcome or row["hasil"],
                "visited_on": day(row["tanggal_kunjungan"]),
                "verifier": row["petugas"],
                "notes": row["catatan"] or None,
            }
            columns = {
                "outcome": (row, "hasil"),
                "visited_on": (row, "tanggal_kunjungan"),
                "verifier": (row, "petugas"),
                "notes": (row, "catatan"),
            }
            verification = check("RecordVerification", payload, columns, out)
            ok, desil = check_desil(row, "desil", "VERVAL", out)
            # the person met's NIK, and the KK number when given (without it, the NIK finds
            # the household): ChangeHead's fields of that name
            payload = {"household_id": PLACEHOLDER_ID, "nik": row["nik"]}
            if row["nomor_kk"].strip():
                payload["new_kk_number"] = row["nomor_kk"]
            kk = check(
                "ChangeHead",
                payload,
                {"nik": (row, "nik"), "new_kk_number": (row, "nomor_kk")},
                out,
                only=tuple(payload),
            )
            if verification is None or not ok or kk is None:
                continue
            number = kk.get("new_kk_number")
            if number is not None and not spool.first("listed", number):
                row.reject(out, "nomor_kk", "import.duplicate_kk")
                continue
            if number is None and not spool.first("met", kk["nik"]):
                row.reject(out, "nik", "import.duplicate_nik")
                continue
            values = (
                number,
                kk["nik"],
                desil,
                *(verification[k] for k in VERIFICATION_FIELDS),
            )
            spool.add_unit(None, table.name, row.number, values)
    return build_verval


VERIFICATION_FIELDS = ("outcome", "visited_on", "verifier", "notes")


def build_verval(unit: Spooled, rows: list[Spooled], out: Any) -> Family:
    values = unit.values
    family = Family(unit.table, unit.line, values[0], None, desil=values[2])
    family.met = Member(unit.line, unit.table, {"nik": values[1]}, "", VERVAL_PERSON)
    family.verification = dict(zip(VERIFICATION_FIELDS, values[3:7], strict=True))
    family.rows.append((unit.table, unit.line))
    return family


LAYOUTS: dict[str, tuple[Callable[[list[Table], Reading], Builder], list[set[str]]]] = {
    "dtks": (read_dtks, [DTKS_COLUMNS]),
    "dtsen": (read_dtsen, [DTSEN_FAMILY_COLUMNS, DTSEN_MEMBER_COLUMNS]),
    "p3ke": (read_p3ke, [P3KE_FAMILY_COLUMNS, {"id_individu", "nik"}]),
    "verval": (read_verval, [VERVAL_COLUMNS]),
}


@dataclass(frozen=True)
class FileGuide:
    """One file (or sheet) of a source as a person preparing it reads it (the import page's
    guide and its header-only templates, app/import_pages.py): `part` (`rows`: the source's
    only file; `family` and `member`), the columns it must have and those read when present,
    as the field's exports name them (matched without regard to case, spaces or dashes)."""

    part: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


GUIDE: dict[str, tuple[FileGuide, ...]] = {
    "dtks": (
        FileGuide(
            "rows",
            (
                "NOMOR_KK", "NOMOR_NIK", "NAMA", "TANGGAL_LAHIR", "JENIS_KELAMIN",
                "HUBUNGAN_KELUARGA", "KECAMATAN", "DESA_KELURAHAN", "ALAMAT", "RT", "RW",
            ),
            ("PROVINSI", "KABUPATEN_KOTA", "Bansos_Pkh", "Bansos_Bpnt", "Pbi_Jkn", "MENINGGAL"),
        ),
    ),
    "dtsen": (
        FileGuide(
            "family",
            (
                "nomor_kartu_keluarga", "kecamatan", "kelurahan_desa", "alamat", "rt", "rw",
                "desil_nasional",
            ),
        ),
        FileGuide(
            "member",
            (
                "nomor_kartu_keluarga", "nik", "nama", "tanggal_lahir", "jenis_kelamin",
                "hubungan_keluarga",
            ),
            ("meninggal",),
        ),
    ),
    "p3ke": (
        FileGuide(
            "family",
            (
                "id_keluarga_P3KE", "kecamatan", "desa_kelurahan", "desil_kesejahteraan",
                "alamat", "kepala_keluarga", "nik", "jenis_kelamin", "tanggal_lahir",
            ),
            (
                "provinsi", "kabupaten_kota", "kode_kemdagri", "no_kk", "rt", "rw",
                "penerima_pkh", "penerima_bpnt", "penerima_bpum", "penerima_bst",
                "penerima_sembako",
            ),
        ),
        FileGuide(
            "member",
            (
                "id_keluarga_P3KE", "id_individu", "nama", "nik", "jenis_kelamin",
                "hubungan_dengan_kepala_keluarga", "tanggal_lahir",
            ),
        ),
    ),
    "verval": (
        FileGuide(
            "rows",
            ("nomor_kk", "nik", "desil", "tanggal_kunjungan", "hasil", "petugas"),
            ("catatan",),
        ),
    ),
}  # fmt: skip


# Every column a layout reads (required or optional): one of them named twice in a header
# makes the file ambiguous (`require`).
READ_COLUMNS = frozenset().union(
    DTKS_COLUMNS,
    DTKS_BENEFITS,
    DTSEN_FAMILY_COLUMNS,
    DTSEN_MEMBER_COLUMNS,
    P3KE_FAMILY_COLUMNS,
    P3KE_MEMBER_COLUMNS,
    P3KE_PLACE.values(),
    P3KE_BENEFITS,
    VERVAL_COLUMNS,
    {"meninggal", "catatan", "no_kk", "provinsi", "kabupaten_kota", "id_keluarga"},
)


class _Discarding(MemorySpool):
    """The scratch file of the child checking rows ahead (app/import_ahead.py): it answers
    the reader's questions but keeps no rows, families or rejections (the parent keeps
    them)."""

    def add_row(self, *args: Any, **kwargs: Any) -> None:
        pass

    def add_unit(self, *args: Any, **kwargs: Any) -> None:
        pass

    def append(self, rejection: Any) -> None:
        pass

    def see(self, *args: Any) -> None:
        pass


def closest_missing(paths: list[Path], columns: set[str]) -> list[str]:
    """The columns missing from the files' header row (of the first rows of each sheet) that
    lacks the fewest of them: what to add, rather than every column of the layout."""
    candidates = [set(names) for path in paths for names in header_rows(path)] or [set()]
    return min((sorted(columns - found) for found in candidates), key=len)


FAMILY, MEMBER = "family", "member"
# The two files (or sheets) of a source that has two, with the columns each must have.
ROLES: dict[str, tuple[tuple[str, set[str]], ...]] = {
    "dtsen": ((FAMILY, DTSEN_FAMILY_COLUMNS), (MEMBER, DTSEN_MEMBER_COLUMNS)),
    "p3ke": ((FAMILY, P3KE_FAMILY_COLUMNS), (MEMBER, P3KE_MEMBER_COLUMNS)),
}
# The roles a source cannot do without (P3KE's individual sheet may be left out).
REQUIRED_ROLES = {"dtsen": (FAMILY, MEMBER), "p3ke": (FAMILY,)}
# A header cell with this many digits in a row is a value (a NIK, a KK number): the row is
# data, not a header, and none of it is repeated in a message.
_DATA_DIGITS = re.compile(r"[0-9]{6}")
FOUND_NAMES = 40  # at most this many of a header's names are repeated in a message


def header_found(names: list[str]) -> list[str]:
    """The names of a header row that a message may repeat: none when the row holds a value
    (`_DATA_DIGITS`: a file without its header row, whose first row is a person's), nor when
    none of its names is a column any source's layout reads (`READ_COLUMNS`): a person's row
    need hold no run of digits (a name, an address, a NIK typed in groups of four), and a
    header row names at least one column of some source."""
    names = [name for name in names if name]
    if any(_DATA_DIGITS.search(name) for name in names):
        return []
    if not READ_COLUMNS.intersection(names):
        return []
    return [name[:40] for name in names[:FOUND_NAMES]]


def _names(kind: str, names: list[str]) -> list[str]:
    if kind == "p3ke":  # its individual sheet may call the family id id_keluarga
        return ["id_keluarga_p3ke" if c == "id_keluarga" else c for c in names]
    return names


def _role_of(kind: str, names: list[str]) -> str | None:
    return next((r for r, columns in ROLES[kind] if columns <= set(_names(kind, names))), None)


# The column that marks a table as the member one of its source, whatever else it lacks
# (P3KE's individual sheet, which may be left out: one with this column is not).
MEMBER_MARK = {"dtsen": "nik", "p3ke": "id_individu"}


def check_roles(kind: str, paths: list[Path], tables: list[Table]) -> None:
    """Of a source of two files (or sheets), every file is one of them and each one it cannot
    do without is there; else LayoutError naming the file that was meant to be it (one that
    is neither, as the one missing, else as the one whose columns it has more of; or, in a
    workbook, the header row closest to it), the columns of that one it lacks and the names
    its header has. A P3KE workbook's individual sheet may be left out, but one with its
    `id_individu` column must have every column of it."""
    if kind not in ROLES:
        return
    columns = dict(ROLES[kind])

    def lacks(role: str, names: list[str]) -> list[str]:
        return sorted(columns[role] - set(_names(kind, names)))

    matched: set[str] = set()
    unmatched: list[tuple[str, list[list[str]]]] = []  # a file or sheet, its header rows
    for path in paths:
        own = [table for table in tables if table.file == Path(path)]
        for table in own:
            role = _role_of(kind, table.header)
            if role is None:
                unmatched.append((table.name, [table.header]))
            else:
                matched.add(role)
        if not own:  # a workbook without a sheet of either
            unmatched.append((Path(path).name, header_rows(path) or [[]]))
    lacking = [role for role, _ in ROLES[kind] if role not in matched]
    for name, rows in unmatched:
        role, row = min(
            ((role, names) for role in lacking or list(columns) for names in rows),
            key=lambda option: len(lacks(*option)),
        )
        raise LayoutError(name, lacks(role, row), role, header_found(_names(kind, row)))
    # a sheet of a workbook read (one of the two is in it) that is not the other: the header
    # rows of its sheets that fit neither
    others = [
        (Path(path).name, names)
        for path in paths
        if is_xlsx(Path(path))
        for names in header_rows(path)
        if names and _role_of(kind, names) is None
    ]
    for role in lacking:
        meant = [
            (name, names)
            for name, names in others
            if role in REQUIRED_ROLES[kind] or MEMBER_MARK[kind] in names
        ]
        if meant:
            name, row = min(meant, key=lambda option: len(lacks(role, option[1])))
            raise LayoutError(name, lacks(role, row), role, header_found(_names(kind, row)))
        if role in REQUIRED_ROLES[kind]:
            raise LayoutError("", sorted(columns[role]), role)


def parse(kind: str, paths: list[Path], both_cores: bool = False) -> Parsed:
    """Read and check the files of one source (the first pass): the families and the rows
    refused kept in the scratch file beside the first file (in memory for small files:
    app/import_spool.py), removed by `Parsed.close()` (and here, when the files are
    refused). `both_cores`: the process does nothing else (the CLI), so a child may check
    rows ahead of it (app/import_ahead.py)."""
    read_layout, wanted = LAYOUTS[kind]
    try:
        tables = [table for path in paths for table in read_tables(path, wanted)]
    except UnreadableFile as error:
        raise Unreadable(error.file, sorted(wanted[0]), error.reason) from error
    check_roles(kind, [Path(p) for p in paths], tables)
    if not tables:  # a workbook without the layout's header: the columns its closest lacks
        raise LayoutError(Path(paths[0]).name, closest_missing(paths, wanted[0]))
    spool = open_spool([Path(p) for p in paths])
    ahead = None
    try:
        if both_cores:
            ahead = CheckAhead.start(
                paths, lambda side: read_layout(tables, Reading(_Discarding(), side))
            )
        reading = Reading(spool, ahead)
        build = read_layout(tables, reading)
        spool.finish()
    except BaseException:
        spool.close()
        raise
    finally:
        if ahead is not None:
            ahead.close()
    return Parsed(tables, reading.rows, spool, build)
