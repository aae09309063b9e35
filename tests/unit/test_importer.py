"""`casework import`: files with every kind of bad row; good rows land, each bad one is
reported with its reason, and a second run imports nothing twice (app/importer.py)."""

from __future__ import annotations

import csv
import gc
import random
import stat
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from app import import_spool
from app.import_files import decode
from app.import_layouts import (
    DTSEN_RELATIONSHIPS,
    SHDK,
    Family,
    day,
    flag,
    relationship,
    sex,
)
from app.importer import Importer, reason
from app.seed_data import generate_households
from app.source_samples import (
    DTKS_HEADER,
    DTSEN_FAMILY_HEADER,
    DTSEN_MEMBER_HEADER,
    VERVAL_HEADER,
    dtks_rows,
    dtsen_rows,
    people,
    write_csv,
    write_dtsen,
    write_p3ke,
)
from domain.household import Household
from tests.support.apps import memory_casework

PERIOD = "2026-Q1"
FAMILIES = list(generate_households(12, 11))


def households(app) -> list[Household]:
    found, after = [], 0
    while batch := app.recorder.select_notifications(after, 500, inclusive_of_start=False):
        found += [n.originator_id for n in batch if n.topic.endswith("HouseholdRegistered")]
        after = batch[-1].id
    return [app.get_household(i) for i in found]


def event_count(app) -> int:
    return app.recorder.max_notification_id() or 0


def report(path: Path) -> list[dict[str, str]]:
    target = path.with_name(path.name + ".rejected.csv")
    with target.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(params=["memory", "file"])
def spool(request, monkeypatch) -> str:
    """Each test of an import twice: the files' rows grouped in memory (small files), and in
    the scratch file beside them (large ones: every file counted as large)."""
    if request.param == "file":
        monkeypatch.setattr(import_spool, "MEMORY_BYTES", 0)
    return request.param


def test_translations_of_the_sources_codes():
    assert [relationship(c, SHDK, "F") for c in ("1", "3", "4", "10")] == [
        "kepala_keluarga",
        "istri",
        "anak",
        "lainnya",
    ]
    assert relationship("2", DTSEN_RELATIONSHIPS, "F") == "istri"
    assert relationship("2", DTSEN_RELATIONSHIPS, "M") == "suami"
    assert relationship("6", DTSEN_RELATIONSHIPS, "M") == "orang_tua"
    assert relationship("Kepala Keluarga", SHDK, "M") == "kepala_keluarga"
    assert relationship("99", SHDK, "M") is None
    assert [flag(v) for v in ("Ya", "Tidak", "1", "0", "", "mungkin")] == [
        True,
        False,
        True,
        False,
        False,
        None,
    ]
    assert [sex(v) for v in ("1", "2", "Laki-laki", "PEREMPUAN", "X")] == ["M", "F", "M", "F", "X"]
    assert day("06-09-1986") == "1986-09-06" and day("1986/9/6") == "1986-09-06"
    assert decode("Amélia".encode("latin-1")) == ("Amélia", "cp1252")
    assert decode("\ufeffAmélia".encode()) == ("Amélia", "utf-8")


@pytest.fixture
def bad_dtsen(tmp_path) -> tuple[list[Path], dict]:
    """A DTSEN pair with one bad row of every kind; the member file in latin-1."""
    keluarga, anggota = dtsen_rows(FAMILIES[:8])
    keluarga[2][5] = "Atlantis"  # family 3: an unknown kelurahan
    keluarga[3][9] = "11"  # family 4: a decile of 11
    members_of = [[r for r in anggota if r[0] == k[0]] for k in keluarga]
    wrong_nik = members_of[0][-1]
    wrong_nik[1] = wrong_nik[1][:6] + "99" + wrong_nik[1][8:]  # day 99: no real birth date
    members_of[1][-1][3] = "1990-02-30"  # an impossible date
    members_of[4][-1][2] = ""  # an empty name
    latin1 = members_of[5][0]
    latin1[2] = "Amélia Çahyani"
    duplicate = list(members_of[6][-1])  # the same person again, later in the file
    short = members_of[7][-1][:4]  # a row with too few columns
    anggota = [r for r in anggota if r is not members_of[7][-1]] + [duplicate, short]
    directory = tmp_path
    family_file = write_csv(
        directory / "keluarga_dtsen_v3_2026_1571.csv", DTSEN_FAMILY_HEADER, keluarga
    )
    member_file = write_csv(
        directory / "anggota_keluarga_dtsen_v3_2026_1571.csv",
        DTSEN_MEMBER_HEADER,
        anggota,
        encoding="latin-1",
    )
    rows = {tuple(r): n for n, r in enumerate(anggota, start=2)}
    bad = {
        "wrong_nik": rows[tuple(wrong_nik)],
        "impossible_date": rows[tuple(members_of[1][-1])],
        "empty_name": rows[tuple(members_of[4][-1])],
        "duplicate": len(anggota),  # the duplicate is the last but one data row, +1 for header
        "short": len(anggota) + 1,
    }
    return [family_file, member_file], bad


def test_every_bad_row_is_reported_and_good_rows_land(bad_dtsen, spool):
    (family_file, member_file), bad = bad_dtsen
    app = memory_casework()
    summary = Importer(app, "dtsen", PERIOD, batch=3).run([family_file, member_file])

    members = {(r["baris"], r["kolom"], r["kode"]) for r in report(member_file)}
    assert (str(bad["wrong_nik"]), "nik", "nik.birth_date") in members
    assert (str(bad["impossible_date"]), "tanggal_lahir", "birth_date.impossible") in members
    assert (str(bad["empty_name"]), "nama", "name.empty") in members
    assert (str(bad["duplicate"]), "nik", "import.duplicate_nik") in members
    assert (str(bad["short"]), "", "import.columns") in members
    families = {(r["baris"], r["kolom"], r["kode"]) for r in report(family_file)}
    assert ("4", "kelurahan_desa", "kelurahan.unknown") in families
    assert ("5", "desil_nasional", "desil.out_of_range") in families
    # the members of the two refused families are reported too, and nothing of them stored
    assert sum(code == "import.family_refused" for _, _, code in members) == sum(
        len(f["members"]) + 1 for f in FAMILIES[2:4]
    )
    reasons = {r["kode"]: r["alasan"] for r in report(family_file) + report(member_file)}
    assert reasons["desil.out_of_range"] == reason("desil.out_of_range")
    assert (
        "desil" in reasons["desil.out_of_range"].lower()
        and "decile" not in reasons["desil.out_of_range"]
    )

    stored = {h.kk_number: h for h in households(app)}
    assert set(stored) == {
        f["register"]["kk_number"] for i, f in enumerate(FAMILIES[:8]) if i not in (2, 3)
    }
    names = {m["name"] for h in stored.values() for m in h.members.values()}
    assert "Amélia Çahyani" in names  # read from latin-1
    assert summary.encodings[member_file.name] == "cp1252"
    # families 3 and 4, every row of them refused as the files were read, are refused too
    # (they were left out of the counts: 6 imported, none refused, of 8 families)
    assert summary.families["imported"] == 6 and summary.families["rejected"] == 2
    assert summary.families_seen == len(FAMILIES[:8]) == sum(summary.families.values())
    # the families with a row in the report, as the report lists them: by the KK number of
    # each row it names
    kk_of = {}
    for path, encoding in ((family_file, "utf-8"), (member_file, "latin-1")):
        with path.open(encoding=encoding, newline="") as handle:
            for line, row in enumerate(list(csv.reader(handle, delimiter="|"))[1:], start=2):
                kk_of[path.name, str(line)] = row[0]
    reported = {
        kk_of[path.name, r["baris"]] for path in (family_file, member_file) for r in report(path)
    }
    assert summary.families_with_rejected_rows == len(reported) == 7
    assert summary.lines()[2] == "families in the files: 8, with rejected rows: 7"
    first = stored[FAMILIES[0]["register"]["kk_number"]]
    assert [(a["source"], a["period"], a["desil"]) for a in first.assessments] == [
        ("DTSEN", PERIOD, 1)
    ]
    assert first.source_listings == [
        {"source": "DTSEN", "period": PERIOD, "reference": "keluarga_dtsen_v3_2026_1571.csv#row=2"}
    ]

    events = event_count(app)
    again = Importer(app, "dtsen", PERIOD).run([family_file, member_file])  # with its checkpoint
    assert event_count(app) == events and again.skipped == 6
    family_file.with_name(family_file.name + ".progress.json").unlink()
    again = Importer(app, "dtsen", PERIOD).run([family_file, member_file])  # without it
    assert event_count(app) == events
    assert again.families["unchanged"] == 6 and again.families["imported"] == 0
    assert {(r["baris"], r["kode"]) for r in report(member_file)} >= {
        (str(bad["duplicate"]), "import.duplicate_nik")
    }


def test_the_same_file_under_another_name_adds_nothing(tmp_path, spool):
    """Its rows' references differ (`FILE#row=N`), what they say does not: the listings are
    the same facts, and the same listing again is a duplicate whatever its reference."""
    app = memory_casework()
    rows = dtks_rows(FAMILIES[:4])
    first = Importer(app, "dtks", PERIOD).run([write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)])
    assert first.families["imported"] == 4
    events = event_count(app)
    renamed = write_csv(tmp_path / "again.csv", DTKS_HEADER, rows)
    again = Importer(app, "dtks", PERIOD).run([renamed])
    assert event_count(app) == events
    assert again.families["unchanged"] == 4 and again.families["rejected"] == 0
    # a listing that says something else for the period is still recorded
    column = DTKS_HEADER.index("Bansos_Pkh")
    changed = [list(row) for row in rows]
    for row in changed:  # every row of the first family: PKH flipped
        if row[DTKS_HEADER.index("NOMOR_KK")] == rows[0][DTKS_HEADER.index("NOMOR_KK")]:
            row[column] = "0" if row[column] == "1" else "1"
    third = Importer(app, "dtks", PERIOD).run(
        [write_csv(tmp_path / "third.csv", DTKS_HEADER, changed)]
    )
    assert third.families["updated"] == 1 and event_count(app) == events + 1


def test_a_known_family_gets_only_new_facts(tmp_path, spool):
    app = memory_casework()
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, dtks_rows(FAMILIES[:4]))
    first = Importer(app, "dtks", PERIOD).run([dtks])
    assert first.families["imported"] == 4
    before = {h.kk_number: len(h.members) for h in households(app)}
    # DTSEN lists the same families; family 0 with a new child, family 1 with a member of
    # family 2 (a NIK in another household: a conflict, never a duplicate)
    extra = dict(FAMILIES[5]["members"][-1]["person"])
    families = [dict(f, members=list(f["members"])) for f in FAMILIES[:4]]
    families[0]["members"].append({"person": extra, "relationship": "famili_lain"})
    families[1]["members"].append(FAMILIES[2]["members"][0])
    keluarga, anggota = dtsen_rows(families)
    anggota = [
        r
        for i, r in enumerate(anggota)
        if not (
            r[1] == FAMILIES[2]["members"][0]["person"]["nik"]
            and r[0] == FAMILIES[2]["register"]["kk_number"]
        )
    ]
    files = [
        write_csv(tmp_path / "keluarga_dtsen_v3_2026_1571.csv", DTSEN_FAMILY_HEADER, keluarga),
        write_csv(
            tmp_path / "anggota_keluarga_dtsen_v3_2026_1571.csv", DTSEN_MEMBER_HEADER, anggota
        ),
    ]
    summary = Importer(app, "dtsen", PERIOD).run(files)
    assert summary.families["updated"] == 4 and summary.families["imported"] == 0
    after = {h.kk_number: h for h in households(app)}
    assert len(after) == 4  # no duplicate family
    kk0, kk1 = FAMILIES[0]["register"]["kk_number"], FAMILIES[1]["register"]["kk_number"]
    assert len(after[kk0].members) == before[kk0] + 1 and extra["nik"] in after[kk0].members
    assert len(after[kk1].members) == before[kk1]
    assert [r["kode"] for r in report(files[1])] == ["import.nik_elsewhere"]
    assert all(h.assessments[0]["source"] == "DTSEN" for h in after.values())


def test_p3ke_workbook_with_a_title_block(tmp_path, spool):
    app = memory_casework()
    workbook = write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES[:5])
    summary = Importer(app, "p3ke", PERIOD).run([workbook])
    assert summary.families["imported"] == 5 and summary.rejected_rows == 0
    stored = {h.kk_number: h for h in households(app)}
    family = FAMILIES[0]
    assert set(stored[family["register"]["kk_number"]].members) == {
        family["register"]["head"]["nik"],
        *(m["person"]["nik"] for m in family["members"]),
    }
    assert stored[family["register"]["kk_number"]].assessments[0]["source"] == "P3KE"


def test_verval_results_of_known_families(tmp_path, spool):
    app = memory_casework()
    Importer(app, "dtsen", PERIOD).run(write_dtsen(tmp_path, FAMILIES[:2]))
    unknown = FAMILIES[3]["register"]
    rows = [
        [
            f["register"]["kk_number"],
            f["register"]["head"]["nik"],
            "3",
            "02-01-2026",
            "Sesuai",
            "Tim 4",
            "",
        ]
        for f in FAMILIES[:2]
    ] + [[unknown["kk_number"], unknown["head"]["nik"], "2", "2026-01-02", "pindah", "Tim 4", ""]]
    verval = write_csv(tmp_path / "verval.csv", VERVAL_HEADER, rows)
    summary = Importer(app, "verval", PERIOD).run([verval])
    assert summary.families["updated"] == 2
    assert [(r["baris"], r["kode"]) for r in report(verval)] == [("4", "import.household_unknown")]
    household = {h.kk_number: h for h in households(app)}[FAMILIES[0]["register"]["kk_number"]]
    assert household.verifications[0]["outcome"] == "valid"
    assert ("VERVAL", 3) in {(a["source"], a["desil"]) for a in household.assessments}


class Watching:
    """A progress bar that, after each batch, counts the families alive in the process and
    looks at the import's scratch file."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.alive: list[int] = []
        self.modes: list[int] = []
        self.done: list[int] = []
        self.total = 0

    def __call__(self, total: int) -> Watching:
        self.total = total
        return self

    def update(self, done: int) -> None:
        self.done.append(done)
        self.alive.append(sum(isinstance(o, Family) for o in gc.get_objects()))
        if self.scratch.exists():
            self.modes.append(stat.S_IMODE(self.scratch.stat().st_mode))


def test_a_file_is_stored_one_batch_of_families_at_a_time(tmp_path, spool):
    """The rows of a family anywhere in the file, yet never every family in memory at once:
    while batches are stored, at most one batch of families is alive (a large file's rows
    wait in the scratch file beside it, readable by its owner only, removed at the end)."""
    families = list(generate_households(60, 17))
    rows = dtks_rows(families)
    random.Random(5).shuffle(rows)  # each family's rows scattered through the file
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    app = memory_casework()
    watching = Watching(tmp_path / "dtks.csv.import.sqlite")
    summary = Importer(app, "dtks", PERIOD, batch=5).run([dtks], progress=watching)

    assert summary.families["imported"] == 60 and summary.rejected_rows == 0
    assert len(watching.alive) == 12 and max(watching.alive) <= 5
    assert watching.done[-1] == watching.total == len(rows)  # the bar ends full
    assert watching.modes == ([0o600] * 12 if spool == "file" else [])
    assert not watching.scratch.exists()
    stored = {h.kk_number: h for h in households(app)}
    assert {kk: set(h.members) for kk, h in stored.items()} == {
        f["register"]["kk_number"]: {
            f["register"]["head"]["nik"],
            *(m["person"]["nik"] for m in f["members"]),
        }
        for f in families
    }


def test_dtks_rows_of_another_province_or_city_are_rejected(tmp_path, spool):
    """A DTKS export names the province and kabupaten/kota of each row: a family of another
    region is reported by column and never registered here; the city's families land."""
    app = memory_casework()
    rows = dtks_rows(FAMILIES[:3])
    province, city = DTKS_HEADER.index("PROVINSI"), DTKS_HEADER.index("KABUPATEN_KOTA")
    first_kk, second_kk = (f["register"]["kk_number"] for f in FAMILIES[:2])
    kk_column = DTKS_HEADER.index("NOMOR_KK")
    for row in rows:
        if row[kk_column] == first_kk:
            row[province] = "SUMATERA SELATAN"
        elif row[kk_column] == second_kk:
            row[city] = "KABUPATEN MUARO JAMBI"
        else:
            row[province], row[city] = "15", "15.71"  # codes are as good as names
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    summary = Importer(app, "dtks", PERIOD).run([dtks])
    assert summary.families["imported"] == 1
    assert {h.kk_number for h in households(app)} == {FAMILIES[2]["register"]["kk_number"]}
    rejected = report(dtks)
    assert {(r["kolom"], r["kode"]) for r in rejected} == {
        ("provinsi", "import.province_other"),
        ("kabupaten_kota", "import.city_other"),
    }
    assert len(rejected) == sum(1 for r in rows if r[kk_column] in (first_kk, second_kk))


def names_that_are_no_names(rows: list[list[str]], name_column: int) -> list[list[str]]:
    """The rows of FAMILIES[:3], one a line, with the first family's head named `BUDI 2` and
    the second family's last member `SITI (ALM)`."""
    rows[0][name_column] = "BUDI 2"
    rows[len(people(FAMILIES[0])) + len(FAMILIES[1]["members"])][name_column] = "SITI (ALM)"
    return rows


@pytest.mark.parametrize("layout", ["dtks", "dtsen"])
def test_a_name_with_digits_or_brackets_is_reported_and_the_good_rows_land(tmp_path, spool, layout):
    """A name as on the KTP holds no digits or brackets: the head named `BUDI 2` refuses their
    family (its other rows refused with it), the member `SITI (ALM)` only their own row; the
    report names the row, the name's column and why."""
    app = memory_casework()
    if layout == "dtks":
        rows = names_that_are_no_names(dtks_rows(FAMILIES[:3]), DTKS_HEADER.index("NAMA"))
        files = [write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)]
    else:
        keluarga, anggota = dtsen_rows(FAMILIES[:3])
        anggota = names_that_are_no_names(anggota, DTSEN_MEMBER_HEADER.index("nama"))
        files = [
            write_csv(tmp_path / "keluarga_dtsen.csv", DTSEN_FAMILY_HEADER, keluarga),
            write_csv(tmp_path / "anggota_keluarga_dtsen.csv", DTSEN_MEMBER_HEADER, anggota),
        ]

    summary = Importer(app, layout, PERIOD).run(files)

    rejected = report(files[-1])
    siti = 2 + len(people(FAMILIES[0])) + len(FAMILIES[1]["members"])
    assert [(r["baris"], r["kolom"], r["kode"]) for r in rejected] == [
        ("2", "nama", "name.characters"),
        *(("3", "", "import.no_head") for _ in FAMILIES[0]["members"]),  # BUDI 2's family
        (str(siti), "nama", "name.characters"),
    ]
    assert {r["alasan"] for r in rejected if r["kode"] == "name.characters"} == {
        reason("name.characters")
    }
    assert summary.families["imported"] == 2
    stored = {h.kk_number: h for h in households(app)}
    assert set(stored) == {f["register"]["kk_number"] for f in FAMILIES[1:3]}
    second = FAMILIES[1]
    landed = {m["name"].upper() for m in stored[second["register"]["kk_number"]].members.values()}
    assert landed == {p["name"].upper() for p, _ in people(second)[:-1]}  # DTKS: upper case


def edit_p3ke(path: Path, changes: dict[tuple[str, int, str], Any]) -> Path:
    """The P3KE workbook with some cells changed: (sheet, row, column name) -> value (None
    empties the cell), saved again as an XLSX file."""
    workbook = load_workbook(path)
    for (sheet, row, name), value in changes.items():
        header = [str(c.value or "").lower() for c in workbook[sheet][P3KE_HEADER_ROW]]
        workbook[sheet].cell(row, header.index(name.lower()) + 1).value = value
    workbook.save(path)
    return path


P3KE_HEADER_ROW = 12  # write_p3ke: a title block, the header on row 12, the data from row 13


def test_p3ke_family_rows_without_no_kk_name_the_files_columns(tmp_path, spool):
    """A family row without `no_kk` is checked as its head's person: a bad birth date or NIK
    is reported at the file's column, as on a row with a KK number."""
    workbook = edit_p3ke(
        write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES[:3]),
        {
            ("Keluarga", 13, "no_kk"): None,
            ("Keluarga", 13, "tanggal_lahir"): "kemarin",
            ("Keluarga", 14, "no_kk"): None,
            ("Keluarga", 14, "nik"): "123",
        },
    )
    Importer(memory_casework(), "p3ke", PERIOD).run([workbook])
    own = {
        (r["baris"], r["kolom"], r["kode"]) for r in report(workbook) if "Keluarga" in r["berkas"]
    }
    assert own == {("13", "tanggal_lahir", "birth_date.format"), ("14", "nik", "nik.format")}


def test_p3ke_individuals_of_a_refused_family_row_are_reported_as_refused(tmp_path, spool):
    """A family row refused (a decile of 11) refuses its individuals' rows with it, as DTSEN
    does: `import.family_refused`, not "no family row in the file"; an individual whose family
    id no family row has is still `import.family_missing`."""
    workbook = edit_p3ke(
        write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES[:3]),
        {("Keluarga", 14, "desil_kesejahteraan"): 11, ("Individu", 13, "id_keluarga_P3KE"): "X"},
    )
    summary = Importer(memory_casework(), "p3ke", PERIOD).run([workbook])
    assert summary.families["imported"] == 2
    individuals = [r for r in report(workbook) if "Individu" in r["berkas"]]
    second = 13 + len(people(FAMILIES[0]))  # the first individual row of the second family
    assert [(r["baris"], r["kolom"], r["kode"]) for r in individuals] == [
        ("13", "id_keluarga_p3ke", "import.family_missing"),
        *(
            (str(row), "id_keluarga_p3ke", "import.family_refused")
            for row in range(second, second + len(people(FAMILIES[1])))
        ),
    ]


def test_a_date_of_the_right_format_that_does_not_exist_is_named_so(tmp_path, spool):
    """30 February, as YYYY-MM-DD or DD-MM-YYYY: the format is right, the day does not exist;
    the report says so (not "use the format YYYY-MM-DD") at the date's column."""
    app = memory_casework()
    rows = dtks_rows(FAMILIES[:2])
    birth = DTKS_HEADER.index("TANGGAL_LAHIR")
    rows[1][birth] = "30-02-1985"
    rows[2][birth] = "1985-02-30"
    rows[3][birth] = "1985/02/30"
    rows[4][birth] = "30 Februari 1985"  # not a format read: still the format's message
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    Importer(app, "dtks", PERIOD).run([dtks])
    assert [(r["baris"], r["kolom"], r["kode"]) for r in report(dtks)][:4] == [
        ("3", "tanggal_lahir", "birth_date.impossible"),
        ("4", "tanggal_lahir", "birth_date.impossible"),
        ("5", "tanggal_lahir", "birth_date.impossible"),
        ("6", "tanggal_lahir", "birth_date.format"),
    ]
    reasons = {r["kode"]: r["alasan"] for r in report(dtks)}
    assert reasons["birth_date.impossible"] == reason("birth_date.impossible")
    assert reasons["birth_date.impossible"] != reason("birth_date.format")

    head = FAMILIES[0]["register"]
    verval = write_csv(
        tmp_path / "verval.csv",
        VERVAL_HEADER,
        [[head["kk_number"], head["head"]["nik"], "3", "30-02-2026", "Sesuai", "Tim 4", ""]],
    )
    Importer(app, "verval", PERIOD).run([verval])
    assert [(r["baris"], r["kolom"], r["kode"]) for r in report(verval)] == [
        ("2", "tanggal_kunjungan", "date.impossible")
    ]
    assert report(verval)[0]["alasan"] == reason("date.impossible") != reason("date.format")


def test_rows_are_numbered_as_a_spreadsheet_numbers_them_after_a_cell_with_line_breaks(
    tmp_path, spool
):
    """A quoted cell holding line breaks is one row in a spreadsheet: the rows after it are
    reported by their spreadsheet row, not by the file's line."""
    rows = dtks_rows(FAMILIES[:4])
    assert len(rows) >= 11
    rows[3][DTKS_HEADER.index("ALAMAT")] = "Jl. Baris\nKedua\nKetiga"  # spreadsheet row 5
    for index in (4, 5, 10):  # spreadsheet rows 6, 7 and 12
        rows[index][DTKS_HEADER.index("NAMA")] = ""
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    Importer(memory_casework(), "dtks", PERIOD).run([dtks])
    assert [(r["baris"], r["kolom"], r["kode"]) for r in report(dtks)] == [
        ("6", "nama", "name.empty"),
        ("7", "nama", "name.empty"),
        ("12", "nama", "name.empty"),
    ]


def test_a_resumed_import_rewrites_the_same_report_of_rejected_rows(tmp_path, spool):
    """Rows refused while the families were put together (a second head) stay in the report
    when the import is run again and its checkpoint skips every family (a resumed import: the
    CLI run again, or the web's "Lanjutkan impor")."""
    rows = dtks_rows(FAMILIES[:3])
    kk, relation = DTKS_HEADER.index("NOMOR_KK"), DTKS_HEADER.index("HUBUNGAN_KELUARGA")
    second = [i for i, r in enumerate(rows) if r[kk] == FAMILIES[1]["register"]["kk_number"]]
    rows[second[-1]][relation] = "1"  # a second head of family
    rows[0][DTKS_HEADER.index("NAMA")] = ""  # a row refused as it is read
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    app = memory_casework()
    first = Importer(app, "dtks", PERIOD).run([dtks])
    written = dtks.with_name("dtks.csv.rejected.csv").read_bytes()
    assert (str(second[-1] + 2), "hubungan_keluarga", "import.second_head") in {
        (r["baris"], r["kolom"], r["kode"]) for r in report(dtks)
    }

    again = Importer(app, "dtks", PERIOD).run([dtks])
    assert again.skipped == 3
    assert dtks.with_name("dtks.csv.rejected.csv").read_bytes() == written
    assert again.rejected_rows == first.rejected_rows


def test_a_run_again_counts_only_what_it_did_not_what_it_skipped(tmp_path, spool):
    """A run whose checkpoint says every family is done imports nothing: its summary says so,
    the families skipped counted as skipped only, not as imported again."""
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, dtks_rows(FAMILIES[:5]))
    app = memory_casework()
    first = Importer(app, "dtks", PERIOD, batch=2).run([dtks])
    assert first.lines()[1] == "families imported: 5, updated: 0, unchanged: 0, refused: 0"
    again = Importer(app, "dtks", PERIOD, batch=2).run([dtks])
    assert again.lines()[1] == (
        "families imported: 0, updated: 0, unchanged: 0, refused: 0, skipped (done before): 5"
    )


def test_verval_the_person_met_must_be_a_member_of_the_household(tmp_path, spool):
    """`nik` is the person met: with the KK number of one family and the NIK of another's head
    the row is refused at `nik`, nothing recorded; a member met (the head or not) is accepted;
    without a KK number the NIK finds the household (refused at `nik` when it finds none)."""
    app = memory_casework()
    Importer(app, "dtsen", PERIOD).run(write_dtsen(tmp_path, FAMILIES[:3]))
    first, second, third = (f["register"] for f in FAMILIES[:3])
    child = FAMILIES[2]["members"][0]["person"]["nik"]
    stranger = FAMILIES[5]["register"]["head"]["nik"]  # in no household of the register
    visit = ["3", "02-01-2026", "Sesuai", "Tim 4", ""]
    verval = write_csv(
        tmp_path / "verval.csv",
        VERVAL_HEADER,
        [
            [first["kk_number"], second["head"]["nik"], *visit],  # row 2: another's head
            [second["kk_number"], second["head"]["nik"], *visit],  # row 3: its own head
            ["", child, *visit],  # row 4: no KK number, a member of the third family
            ["", stranger, *visit],  # row 5: no KK number, a NIK of no household
        ],
    )
    summary = Importer(app, "verval", PERIOD).run([verval])
    assert [(r["baris"], r["kolom"], r["kode"]) for r in report(verval)] == [
        ("2", "nik", "import.nik_not_member"),
        ("5", "nik", "import.nik_not_member"),
    ]
    assert report(verval)[0]["alasan"] == reason("import.nik_not_member")
    assert summary.families["updated"] == 2 and summary.families["rejected"] == 2
    stored = {h.kk_number: h for h in households(app)}
    assert stored[first["kk_number"]].verifications == []
    assert "VERVAL" not in {a["source"] for a in stored[first["kk_number"]].assessments}
    assert [v["outcome"] for v in stored[second["kk_number"]].verifications] == ["valid"]
    assert [v["outcome"] for v in stored[third["kk_number"]].verifications] == ["valid"]
    assert {"source": "VERVAL", "period": PERIOD, "reference": "verval.csv#row=4"} in stored[
        third["kk_number"]
    ].source_listings


def test_p3ke_a_head_or_individual_whose_name_is_no_name_is_reported(tmp_path, spool):
    """P3KE as DTKS and DTSEN: the head `BUDI 2` of the family sheet refuses their family, the
    individual `SITI (ALM)` their own row; the report names the sheet's row and column."""
    siti = 13 + len(people(FAMILIES[0])) + len(FAMILIES[1]["members"])  # the last of family 2
    changes = {
        ("Keluarga", 13, "kepala_keluarga"): "BUDI 2",
        ("Individu", siti, "nama"): "SITI (ALM)",
    }
    workbook = edit_p3ke(write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES[:3]), changes)
    app = memory_casework()
    summary = Importer(app, "p3ke", PERIOD).run([workbook])
    assert {
        (r["berkas"], r["baris"], r["kolom"])
        for r in report(workbook)
        if r["kode"] == "name.characters"
    } == {
        ("p3ke.xlsx[Keluarga]", "13", "kepala_keluarga"),
        ("p3ke.xlsx[Individu]", str(siti), "nama"),
    }
    assert summary.families["imported"] == 2
    stored = {h.kk_number: h for h in households(app)}
    assert set(stored) == {f["register"]["kk_number"] for f in FAMILIES[1:3]}
    assert len(stored[FAMILIES[1]["register"]["kk_number"]].members) == len(people(FAMILIES[1])) - 1
