"""Files as a data steward receives them after a spreadsheet has been through them: what a
spreadsheet adds to a value without changing it is read (a NIK's leading text marker, a
time of day after a date, a date kept as Excel's serial number, a header of two rows), and
what it destroyed is refused with a reason that says what to do (a NIK in scientific
notation) (app/import_files.py, app/import_layouts.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook, load_workbook

from app.import_files import read_tables
from app.import_layouts import DTKS_COLUMNS, LayoutError
from app.importer import Importer, reason
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv, write_p3ke
from tests.support.apps import memory_casework
from tests.unit.test_import_hostile_files import report

PERIOD = "2026-Q1"
FAMILIES = list(generate_households(4, 31))
COL = {name: i for i, name in enumerate(DTKS_HEADER)}


def stored_niks(app) -> set[str]:
    found, after = set(), 0
    while batch := app.recorder.select_notifications(after, 500, inclusive_of_start=False):
        for n in batch:
            if n.topic.endswith("HouseholdRegistered"):
                household = app.get_household(n.originator_id)
                found |= set(household.members)
        after = batch[-1].id
    return found


def test_a_nik_and_kk_number_with_a_spreadsheets_leading_apostrophe_are_read(tmp_path):
    rows = dtks_rows(FAMILIES[:2])
    for row in rows:  # every NIK and KK number marked as text, as typed to keep 16 digits
        row[COL["NOMOR_NIK"]] = "'" + row[COL["NOMOR_NIK"]]
        row[COL["NOMOR_KK"]] = "\u2019" + row[COL["NOMOR_KK"]]
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    app = memory_casework()
    summary = Importer(app, "dtks", PERIOD).run([dtks])
    assert report(dtks) == []
    assert summary.families["imported"] == 2 and summary.families_seen == 2
    assert stored_niks(app) == {r[COL["NOMOR_NIK"]].lstrip("'") for r in rows}


def test_a_nik_in_scientific_notation_is_refused_saying_its_digits_are_lost(tmp_path):
    rows = dtks_rows(FAMILIES[:1])
    member = rows[-1]
    member[COL["NOMOR_NIK"]] = f"{int(member[COL['NOMOR_NIK']]):.5E}"  # 1.57101E+15
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    app = memory_casework()
    Importer(app, "dtks", PERIOD).run([dtks])
    [refused] = report(dtks)
    assert (refused["baris"], refused["kolom"], refused["kode"]) == (
        str(len(rows) + 1),
        "nomor_nik",
        "import.scientific",
    )
    assert "Text" in refused["alasan"] or "Teks" in refused["alasan"]
    assert refused["alasan"] == reason("import.scientific")
    # the other members of the family are imported; nothing is guessed for this one
    assert len(stored_niks(app)) == len(rows) - 1


def test_a_birth_date_with_a_time_of_day_is_read_as_that_day(tmp_path):
    rows = dtks_rows(FAMILIES[:1])
    for row in rows:  # 17-04-2001 -> 2001-04-17 00:00:00, as a database export writes it
        d, m, y = row[COL["TANGGAL_LAHIR"]].split("-")
        row[COL["TANGGAL_LAHIR"]] = f"{y}-{m}-{d} 00:00:00"
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    app = memory_casework()
    summary = Importer(app, "dtks", PERIOD).run([dtks])
    assert report(dtks) == [] and summary.families["imported"] == 1
    # an ambiguous date is still refused: a two-digit year is not guessed
    rows[0][COL["TANGGAL_LAHIR"]] = "12/03/85"
    again = write_csv(tmp_path / "dtks2.csv", DTKS_HEADER, rows)
    Importer(memory_casework(), "dtks", PERIOD).run([again])
    assert ("2", "tanggal_lahir", "birth_date.format") in {
        (r["baris"], r["kolom"], r["kode"]) for r in report(again)
    }


def test_a_birth_date_kept_as_excels_serial_number_is_read_as_its_day(tmp_path):
    workbook_path = write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES[:2])
    workbook = load_workbook(workbook_path)
    for sheet in workbook.worksheets:  # the dates typed into cells formatted as numbers
        header = [c.value for c in sheet[12]]
        at = header.index("tanggal_lahir")
        for row in sheet.iter_rows(min_row=13):
            day = dt.date.fromisoformat(row[at].value)
            row[at].value = (day - dt.date(1899, 12, 30)).days
    workbook.save(workbook_path)
    app = memory_casework()
    summary = Importer(app, "p3ke", PERIOD).run([workbook_path])
    assert report(workbook_path) == []
    assert summary.families["imported"] == 2
    heads = {f["register"]["head"]["nik"]: f["register"]["head"] for f in FAMILIES[:2]}
    for household_id in (app.household_id_for_nik(nik) for nik in heads):
        household = app.get_household(str(household_id))
        for nik, person in household.members.items():
            if nik in heads:
                assert person["birth_date"] == heads[nik]["birth_date"]


def test_a_header_of_two_rows_with_merged_cells_is_read(tmp_path):
    rows = dtks_rows(FAMILIES[:2])
    workbook = Workbook()
    workbook.active.append(["Rekap per kecamatan"])  # the data on the second sheet
    sheet = workbook.create_sheet("Data")
    top = ["WILAYAH" if h == "RT" else None if h == "RW" else h for h in DTKS_HEADER]
    sheet.append(top)
    sheet.append([h if h in ("RT", "RW") else None for h in DTKS_HEADER])
    rt = COL["RT"] + 1
    sheet.merge_cells(start_row=1, start_column=rt, end_row=1, end_column=rt + 1)
    for column in range(1, len(DTKS_HEADER) + 1):
        if column not in (rt, rt + 1):
            sheet.merge_cells(start_row=1, start_column=column, end_row=2, end_column=column)
    for row in rows:
        sheet.append(row)
    path = tmp_path / "dtks.xlsx"
    workbook.save(path)
    [table] = read_tables(path, [DTKS_COLUMNS])
    assert table.sheet == "Data" and table.start == 2
    summary = Importer(memory_casework(), "dtks", PERIOD).run([path])
    assert report(path) == [] and summary.families["imported"] == 2


def test_a_workbook_without_the_header_names_only_the_columns_it_lacks(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([h for h in DTKS_HEADER if h != "RW"])  # the RW column left out
    for row in dtks_rows(FAMILIES[:1]):
        sheet.append(row[: COL["RW"]] + row[COL["RW"] + 1 :])
    path = tmp_path / "dtks.xlsx"
    workbook.save(path)
    with pytest.raises(LayoutError) as refused:
        Importer(memory_casework(), "dtks", PERIOD).run([path])
    assert refused.value.missing == ["rw"]  # not every column of the layout


def test_members_of_a_family_whose_heads_row_was_refused_are_told_so(tmp_path):
    rows = dtks_rows(FAMILIES[:1])
    head = rows[0]
    head[COL["NOMOR_NIK"]] = head[COL["NOMOR_NIK"]][:15]  # one digit short
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    Importer(memory_casework(), "dtks", PERIOD).run([dtks])
    found = {r["baris"]: r for r in report(dtks)}
    assert found["2"]["kode"] == "nik.format"
    others = [found[str(n)] for n in range(3, len(rows) + 2)]
    assert {r["kode"] for r in others} == {"import.no_head"}
    # the reason points at the refused head's row, not only at a head missing from the file
    assert all("ditolak" in r["alasan"] for r in others)


def test_a_nik_kept_in_a_workbook_as_a_number_whose_last_digit_excel_may_have_cut(tmp_path):
    rows = dtks_rows(FAMILIES[:2])
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(DTKS_HEADER)
    cut, whole = rows[1], rows[-1]
    # as Excel keeps 1571011704010056 typed into a number cell: 15 digits, then a 0
    cut[COL["NOMOR_NIK"]] = int(cut[COL["NOMOR_NIK"]][:15] + "0")
    assert not whole[COL["NOMOR_NIK"]].endswith("0")
    whole[COL["NOMOR_NIK"]] = int(whole[COL["NOMOR_NIK"]])  # a number, but all 16 digits kept
    for row in rows:
        sheet.append(row)
    path = tmp_path / "dtks.xlsx"
    workbook.save(path)
    app = memory_casework()
    Importer(app, "dtks", PERIOD).run([path])
    found = {(r["baris"], r["kolom"], r["kode"]) for r in report(path)}
    assert found == {("3", "nomor_nik", "import.scientific")}
    niks = stored_niks(app)
    assert str(cut[COL["NOMOR_NIK"]]) not in niks  # no NIK guessed from a cut number
    assert str(whole[COL["NOMOR_NIK"]]) in niks
