"""The column layouts of the four sources and how their rows become families.

Each layout reads its tables (app/import_files.py) into `Family` objects: what the file says
about one family (its KK number, where it lives, its members, its decile, its benefit
flags), every row checked with the command schemas of app/schemas.py (the same validation as
the API: NIK, KK number, dates, names, kecamatan and kelurahan), and the rows that fail as
`Rejection`s (row, column, code). The codes of the sources are translated here: Dukcapil's
and DTSEN's relationship codes, Ya/Tidak and 1/0 flags, sexes, dates, region codes.
The layouts are documented in the README ("Importing DTSEN, DTKS, P3KE and verval files").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError

from app.import_files import Table, column, read_tables
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
_DAY_FIRST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_RT_RW = re.compile(r"\bRT\.?\s*0*(\d{1,3})\s*/?\s*RW\.?\s*0*(\d{1,3})\b", re.IGNORECASE)
_REGION_CODE = re.compile(r"\d{2}\.?\d{2}\.?\d{2}\.?\d{4}")


@dataclass(frozen=True)
class Rejection:
    table: str  # the file (and sheet) the row is in
    row: int
    column: str  # the column at fault, or "" for the whole row
    code: str  # an error code of app/messages.py


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
    rows: list[tuple[str, int]] = field(default_factory=list)  # every row of the family

    @property
    def reference(self) -> str:
        """Where the source lists it: the file (and sheet) and row, at most 200 characters."""
        where = f"#row={self.row}"
        return self.table[: 200 - len(where)] + where

    @property
    def head(self) -> Member | None:
        return next((m for m in self.members if m.relationship == HEAD), None)


@dataclass
class Parsed:
    families: list[Family]
    rejections: list[Rejection]
    tables: list[Table]
    rows: int  # data rows read

    @property
    def encodings(self) -> dict[str, str]:
        return {table.name: table.encoding for table in self.tables}


class LayoutError(Exception):
    """A file that is not of the layout asked for (its columns are missing)."""

    def __init__(self, file: str, missing: list[str]) -> None:
        super().__init__(f"{file}: missing columns {', '.join(missing)}")
        self.file, self.missing = file, missing


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
    """A date as the schema takes it (YYYY-MM-DD), from DD-MM-YYYY, DD/MM/YYYY or YYYY/MM/DD;
    anything else as given (the schema refuses it, as it refuses 1985-02-30)."""
    text = value.strip()[:10] if len(value.strip()) > 10 and "T" in value else value.strip()
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


def rt_rw(address: str, rt: str, rw: str) -> tuple[str, str]:
    """RT and RW as given, or read from the address ("RT 005 RW 002") when not given."""
    if rt and rw:
        return rt, rw
    match = _RT_RW.search(address or "")
    return (match.group(1), match.group(2)) if match else (rt, rw)


# --- checking rows with the command schemas -------------------------------------------------


class Row:
    """One row of a table, by column name, with the rejections found in it."""

    def __init__(self, table: Table, number: int, cells: list[str]) -> None:
        self.table, self.number = table, number
        self.values = dict(zip(table.header, cells, strict=False))

    def __getitem__(self, name: str) -> str:
        return self.values.get(name, "")

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


def check(
    command: str,
    payload: dict[str, Any],
    columns: dict[str, tuple[Row, str]],
    out: list[Rejection],
    only: tuple[str, ...] | None = None,
) -> dict[str, Any] | None:
    """The command (or the fields `only`) validated by its schema (app/schemas.py), or None
    with each problem rejected at the row and column its field came from (`columns`: field
    path -> (row, column); a field not listed falls to the first row given)."""
    try:
        return _schema(command, only).load(payload)
    except ValidationError as error:
        _reject(error.messages, columns, out)
        return None


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
    try:
        return _schema("RegisterHousehold", _PLACE_ONLY).load(
            dict(zip(PLACE_FIELDS, values, strict=True))
        ), {}
    except ValidationError as error:
        return None, error.messages


def person_payload(row: Row, nik: str, name: str, birth: str, sex_column: str) -> dict[str, str]:
    return {
        "nik": row[nik],
        "name": row[name],
        "birth_date": day(row[birth]),
        "sex": sex(row[sex_column]),
    }


def person_columns(row: Row, prefix: str, nik: str, name: str, birth: str, sex_column: str) -> dict:
    return {
        f"{prefix}.nik": (row, nik),
        f"{prefix}.name": (row, name),
        f"{prefix}.birth_date": (row, birth),
        f"{prefix}.sex": (row, sex_column),
        prefix: (row, nik),
    }


def check_place(
    row: Row,
    kk_column: str,
    place_columns: dict[str, str],
    head: tuple[Row, dict[str, str], dict],
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
            **person_cols,
        }

    # RegisterHousehold's schema in two parts: the place (checked once per distinct KK
    # number and place: `_load_place`) and the head, on every row, by the schema nested as
    # its `head` (PersonSchema: the NIK, name, birth date and sex, and how they agree)
    place, problems = _load_place((row[kk_column], kecamatan, kelurahan, address, rt, rw))
    if problems:
        _reject(problems, columns(), out)
    try:
        head = _person_schema().load(person)
    except ValidationError as error:
        _reject({"head": error.messages}, columns(), out)
        return None
    if place is None:
        return None
    return {**place, "head": head}


def check_member(
    row: Row, person: dict[str, str], cols: dict, relation: str, rel_column: str, out: list
) -> dict[str, Any] | None:
    columns = {**cols, "relationship": (row, rel_column)}
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
        if name not in row.values:
            continue
        value = flag(row[name])
        if value is None:
            row.reject(out, name, "import.flag")
            return None
        if value:
            found.append(code)
    return found


def require(table: Table, columns: set[str]) -> None:
    missing = sorted(columns - set(table.header))
    if missing:
        raise LayoutError(table.name, missing)


def rows_of(table: Table, out: list[Rejection]) -> list[Row]:
    """The table's rows; one with fewer cells than the header is rejected whole."""
    rows = []
    for number, cells in table.rows:
        if len(cells) < len(table.header):
            out.append(Rejection(table.name, number, "", "import.columns"))
            continue
        rows.append(Row(table, number, cells))
    return rows


class Seen:
    """The NIKs and KK numbers met so far in the files: a second row with one is a duplicate."""

    def __init__(self) -> None:
        self.niks: set[str] = set()

    def first(self, row: Row, column_name: str, nik: str, out: list[Rejection]) -> bool:
        if nik in self.niks:
            row.reject(out, column_name, "import.duplicate_nik")
            return False
        self.niks.add(nik)
        return True


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
    row: Row,
    checked: dict[str, Any],
    relation: str,
    columns: dict[str, str],
    out: list[Rejection],
    deceased: bool = False,
) -> None:
    if relation == HEAD and family.head is not None:
        row.reject(out, columns["relationship"], "import.second_head")
        return
    family.members.append(Member(row.number, row.table.name, checked, relation, columns, deceased))
    family.rows.append((row.table.name, row.number))


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


def parse_dtks(tables: list[Table], out: list[Rejection]) -> list[Family]:
    families: dict[str, Family] = {}
    seen = Seen()
    for table in tables:
        require(table, DTKS_COLUMNS)
        for row in rows_of(table, out):
            person = person_payload(row, "nomor_nik", "nama", "tanggal_lahir", "jenis_kelamin")
            cols = person_columns(
                row, "head", "nomor_nik", "nama", "tanggal_lahir", "jenis_kelamin"
            )
            checked = check_place(row, "nomor_kk", DTKS_PLACE, (row, person, cols), out)
            relation = relationship(row["hubungan_keluarga"], SHDK, person["sex"])
            if relation is None:
                row.reject(out, "hubungan_keluarga", "relationship.unknown")
            benefits = benefit_flags(row, DTKS_BENEFITS, out)
            deceased = flag(row["meninggal"]) if "meninggal" in row.values else False
            if deceased is None:
                row.reject(out, "meninggal", "import.flag")
            if checked is None or relation is None or benefits is None or deceased is None:
                continue
            if not seen.first(row, "nomor_nik", checked["head"]["nik"], out):
                continue
            kk = checked["kk_number"]
            family = families.get(kk)
            if family is None:
                family = families[kk] = Family(table.name, row.number, kk, None)
            if relation == HEAD or family.place is None:
                family.place = {k: checked[k] for k in DTKS_PLACE}
            if relation == HEAD:
                family.table, family.row = table.name, row.number
            family.benefits = sorted(set(family.benefits) | set(benefits))
            _add_person(family, row, checked["head"], relation, DTKS_PERSON, out, deceased)
    for family in families.values():
        _order(family)
    return list(families.values())


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


def parse_dtsen(tables: list[Table], out: list[Rejection]) -> list[Family]:
    family_tables = [t for t in tables if "nik" not in t.header]
    member_tables = [t for t in tables if "nik" in t.header]
    if not family_tables:
        raise LayoutError(tables[0].name, sorted(DTSEN_FAMILY_COLUMNS))
    if not member_tables:
        raise LayoutError(tables[0].name, sorted(DTSEN_MEMBER_COLUMNS))
    for table in family_tables:
        require(table, DTSEN_FAMILY_COLUMNS)
    for table in member_tables:
        require(table, DTSEN_MEMBER_COLUMNS)
    seen = Seen()
    # the members first, by the KK number they give
    people: dict[str, list[tuple[Row, dict, dict, str]]] = {}
    for table in member_tables:
        for row in rows_of(table, out):
            person = person_payload(row, "nik", "nama", "tanggal_lahir", "jenis_kelamin")
            cols = person_columns(row, "person", "nik", "nama", "tanggal_lahir", "jenis_kelamin")
            relation = relationship(row["hubungan_keluarga"], DTSEN_RELATIONSHIPS, person["sex"])
            if relation is None:
                row.reject(out, "hubungan_keluarga", "relationship.unknown")
                continue
            deceased = flag(row["meninggal"]) if "meninggal" in row.values else False
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
            if checked is None or not seen.first(row, "nik", checked["person"]["nik"], out):
                continue
            kk = row["nomor_kartu_keluarga"].replace(" ", "")
            people.setdefault(kk, []).append((row, checked["person"], cols, relation, deceased))
    families: list[Family] = []
    listed: set[str] = set()
    for table in family_tables:
        for row in rows_of(table, out):
            kk = row["nomor_kartu_keluarga"].replace(" ", "")
            if kk in listed:
                row.reject(out, "nomor_kartu_keluarga", "import.duplicate_kk")
                continue
            members = people.pop(kk, [])
            heads = [m for m in members if m[3] == HEAD]
            if heads:
                head_row, head_person, _cols, _rel, _dead = heads[0]
                head_cols = person_columns(
                    head_row, "head", "nik", "nama", "tanggal_lahir", "jenis_kelamin"
                )
            else:  # the place is checked with a stand-in head: its fields are not reported
                head_row, head_person, head_cols = row, None, {}
            ok, desil = check_desil(row, DTSEN_DESIL, "DTSEN", out)
            checked = check_place(
                row,
                "nomor_kartu_keluarga",
                DTSEN_PLACE,
                (head_row, head_person or STAND_IN, head_cols),
                out,
            )
            if checked is None or not ok:
                for member_row, *_ in members:
                    member_row.reject(out, "nomor_kartu_keluarga", "import.family_refused")
                continue
            listed.add(kk)
            family = Family(
                table.name, row.number, checked["kk_number"], {k: checked[k] for k in DTSEN_PLACE}
            )
            family.desil = desil
            family.rows.append((table.name, row.number))
            for member_row, person, _cols, relation, deceased in members:
                _add_person(family, member_row, person, relation, DTSEN_PERSON, out, deceased)
            _order(family)
            families.append(family)
    for members in people.values():
        for member_row, *_ in members:
            member_row.reject(out, "nomor_kartu_keluarga", "import.family_missing")
    return families


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


def parse_p3ke(tables: list[Table], out: list[Rejection]) -> list[Family]:
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
    seen = Seen()
    families: dict[str, Family] = {}
    for table in family_tables:
        for row in rows_of(table, out):
            family_id = row["id_keluarga_p3ke"]
            if family_id in families:
                row.reject(out, "id_keluarga_p3ke", "import.duplicate_kk")
                continue
            person = person_payload(row, "nik", "kepala_keluarga", "tanggal_lahir", "jenis_kelamin")
            cols = person_columns(
                row, "head", "nik", "kepala_keluarga", "tanggal_lahir", "jenis_kelamin"
            )
            kk = row["no_kk"] if "no_kk" in row.values else ""
            ok, desil = check_desil(row, "desil_kesejahteraan", "P3KE", out)
            benefits = benefit_flags(row, P3KE_BENEFITS, out)
            if kk:
                checked = check_place(row, "no_kk", P3KE_PLACE, (row, person, cols), out)
            else:  # no KK number: the family is matched by its head's NIK only
                checked = check_member(row, person, cols, "istri", "nik", out)
                if checked is not None:
                    checked = {"kk_number": None, "head": checked["person"]}
            if checked is None or not ok or benefits is None:
                continue
            if not seen.first(row, "nik", checked["head"]["nik"], out):
                continue
            place = {k: checked[k] for k in DTKS_PLACE} if kk else None
            family = Family(table.name, row.number, checked["kk_number"], place, desil=desil)
            family.benefits = benefits
            family.head_nik = checked["head"]["nik"]
            family.members.append(Member(row.number, table.name, checked["head"], HEAD, P3KE_HEAD))
            family.rows.append((table.name, row.number))
            families[family_id] = family
    for table in member_tables:
        for row in rows_of(table, out):
            family = families.get(row["id_keluarga_p3ke"])
            if family is None:
                row.reject(out, "id_keluarga_p3ke", "import.family_missing")
                continue
            person = person_payload(row, "nik", "nama", "tanggal_lahir", "jenis_kelamin")
            cols = person_columns(row, "person", "nik", "nama", "tanggal_lahir", "jenis_kelamin")
            relation = relationship(row["hubungan_dengan_kepala_keluarga"], SHDK, person["sex"])
            if relation is None:
                row.reject(out, "hubungan_dengan_kepala_keluarga", "relationship.unknown")
                continue
            if relation == HEAD and person["nik"].replace(" ", "") == family.head_nik:
                family.rows.append((table.name, row.number))  # the head, as on the family sheet
                continue
            checked = check_member(
                row,
                person,
                cols,
                "istri" if relation == HEAD else relation,
                "hubungan_dengan_kepala_keluarga",
                out,
            )
            if checked is None or not seen.first(row, "nik", checked["person"]["nik"], out):
                continue
            _add_person(family, row, checked["person"], relation, P3KE_PERSON, out)
    for family in families.values():
        _order(family)
    return list(families.values())


# --- VERVAL: field verification results (Casework's own layout) -------------------------------

VERVAL_COLUMNS = {"nomor_kk", "nik", "desil", "tanggal_kunjungan", "hasil", "petugas"}


def parse_verval(tables: list[Table], out: list[Rejection]) -> list[Family]:
    families: list[Family] = []
    listed: set[str] = set()
    for table in tables:
        require(table, VERVAL_COLUMNS)
        for row in rows_of(table, out):
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
            kk = check(
                "ChangeHead",
                {
                    "household_id": PLACEHOLDER_ID,
                    "nik": row["nik"],
                    "new_kk_number": row["nomor_kk"],
                },
                {"nik": (row, "nik"), "new_kk_number": (row, "nomor_kk")},
                out,
            )
            if verification is None or not ok or kk is None:
                continue
            if kk["new_kk_number"] in listed:
                row.reject(out, "nomor_kk", "import.duplicate_kk")
                continue
            listed.add(kk["new_kk_number"])
            family = Family(table.name, row.number, kk["new_kk_number"], None, desil=desil)
            family.head_nik = kk["nik"]
            family.verification = {
                k: verification[k] for k in ("outcome", "visited_on", "verifier", "notes")
            }
            family.rows.append((table.name, row.number))
            families.append(family)
    return families


LAYOUTS: dict[
    str, tuple[Callable[[list[Table], list[Rejection]], list[Family]], list[set[str]]]
] = {
    "dtks": (parse_dtks, [DTKS_COLUMNS]),
    "dtsen": (parse_dtsen, [DTSEN_FAMILY_COLUMNS, DTSEN_MEMBER_COLUMNS]),
    "p3ke": (parse_p3ke, [P3KE_FAMILY_COLUMNS, {"id_individu", "nik"}]),
    "verval": (parse_verval, [VERVAL_COLUMNS]),
}


def parse(kind: str, paths: list[Path]) -> Parsed:
    """Read and check the files of one source: its families and the rows rejected."""
    parse_tables, wanted = LAYOUTS[kind]
    tables = [table for path in paths for table in read_tables(path, wanted)]
    if not tables:
        raise LayoutError(Path(paths[0]).name, sorted(wanted[0]))
    out: list[Rejection] = []
    families = parse_tables(tables, out)
    families.sort(key=lambda f: (f.table, f.row))
    return Parsed(families, out, tables, sum(len(t.rows) for t in tables))
