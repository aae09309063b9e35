"""A source of two files (DTSEN: family file and member file; P3KE: family sheet and
individual sheet) where one of them is not of its layout: the refusal names that file, as the
one it was meant to be, the columns of THAT layout it lacks, and the names its header has
(never a row's content); either way round (app/import_layouts.py check_roles)."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import Workbook, load_workbook

from app import import_cli
from app.import_layouts import LayoutError
from app.importer import Importer
from app.seed_data import generate_households
from app.source_samples import (
    DTSEN_FAMILY_HEADER,
    DTSEN_MEMBER_HEADER,
    P3KE_FAMILY_HEADER,
    P3KE_MEMBER_HEADER,
    dtsen_rows,
    write_csv,
    write_p3ke,
)
from tests.support.apps import memory_casework

PERIOD = "2026-Q1"
FAMILIES = list(generate_households(3, 81))


def cli(kind: str, *files: Path) -> int:
    args = argparse.Namespace(kind=kind, files=list(files), period=PERIOD, batch=100, max_rate=None)
    return import_cli.run(SimpleNamespace(casework=memory_casework()), args)


def as_workbook(path: Path, header: list[str], rows: list[list]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def refused(kind: str, files: list[Path], capsys) -> tuple[LayoutError, str]:
    app = memory_casework()
    with pytest.raises(LayoutError) as error:
        Importer(app, kind, PERIOD).run(files)
    assert (app.recorder.max_notification_id() or 0) == 0  # nothing stored
    assert cli(kind, *files) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return error.value, err


def test_dtsen_a_family_workbook_not_of_its_layout_beside_a_good_member_file(tmp_path, capsys):
    keluarga, anggota = dtsen_rows(FAMILIES)
    header = ["no_kk" if c == "nomor_kartu_keluarga" else c for c in DTSEN_FAMILY_HEADER]
    header = [c for c in header if c != "desil_nasional"]
    column = DTSEN_FAMILY_HEADER.index("desil_nasional")
    rows = [row[:column] + row[column + 1 :] for row in keluarga]
    family = as_workbook(tmp_path / "keluarga.xlsx", header, rows)
    member = write_csv(tmp_path / "anggota.csv", DTSEN_MEMBER_HEADER, anggota)
    error, err = refused("dtsen", [family, member], capsys)
    assert (error.file, error.role) == ("keluarga.xlsx", "family")
    assert error.missing == ["desil_nasional", "nomor_kartu_keluarga"]  # of the family layout
    assert "no_kk" in error.found and "kelurahan_desa" in error.found
    assert "keluarga.xlsx is not the DTSEN family file" in err
    assert "desil_nasional, nomor_kartu_keluarga" in err and "no_kk" in err
    assert "anggota.csv" not in err
    for person in (p for row in anggota for p in row[1:3]):
        assert str(person) not in err  # no NIK, no name


def test_dtsen_a_member_file_not_of_its_layout_beside_a_good_family_file(tmp_path, capsys):
    keluarga, anggota = dtsen_rows(FAMILIES)
    header = ["no_nik" if c == "nik" else c for c in DTSEN_MEMBER_HEADER]
    family = write_csv(tmp_path / "keluarga.csv", DTSEN_FAMILY_HEADER, keluarga)
    member = write_csv(tmp_path / "anggota.csv", header, anggota)
    error, err = refused("dtsen", [family, member], capsys)
    assert (error.file, error.role, error.missing) == ("anggota.csv", "member", ["nik"])
    assert "anggota.csv is not the DTSEN member file" in err and "no_nik" in err


def test_dtsen_a_file_without_its_header_row_repeats_none_of_its_first_row(tmp_path, capsys):
    keluarga, anggota = dtsen_rows(FAMILIES)
    family = write_csv(tmp_path / "keluarga.csv", DTSEN_FAMILY_HEADER, keluarga)
    member = write_csv(tmp_path / "anggota.csv", [str(c) for c in anggota[0]], anggota[1:])
    error, err = refused("dtsen", [family, member], capsys)
    assert (error.file, error.role, error.found) == ("anggota.csv", "member", [])
    assert "no header row was found" in err
    assert all(str(value) not in err for value in anggota[0][1:3])


def test_a_file_without_its_header_row_repeats_no_name_of_its_first_row(tmp_path, capsys):
    """A first row without a run of digits (a NIK typed in groups of four, a name, an
    address) is no header either: the refusal repeats none of it (it said `Its header has:
    siti_aminah, ...`, a person's name in an error message)."""
    keluarga, anggota = dtsen_rows(FAMILIES)
    family = write_csv(tmp_path / "keluarga.csv", DTSEN_FAMILY_HEADER, keluarga)
    first = ["1571 0821 0385 0165", "Siti Aminah", "Jl. Bersama No. 4", "Paal Lima"]
    member = write_csv(tmp_path / "anggota.csv", first, [first])
    error, err = refused("dtsen", [family, member], capsys)
    assert (error.file, error.role, error.found) == ("anggota.csv", "member", [])
    assert "no header row was found" in err
    assert "siti" not in err.lower() and "0821" not in err and "bersama" not in err.lower()


def edit_header(path: Path, sheet: str, old: str, new: str) -> Path:
    book = load_workbook(path)
    for cell in book[sheet][12]:
        if cell.value == old:
            cell.value = new
    book.save(path)
    return path


def test_p3ke_a_family_sheet_not_of_its_layout_beside_a_good_individual_sheet(tmp_path, capsys):
    workbook = edit_header(
        write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES), "Keluarga", "nik", "nik_kepala_keluarga"
    )
    error, err = refused("p3ke", [workbook], capsys)
    assert (error.file, error.role, error.missing) == ("p3ke.xlsx", "family", ["nik"])
    assert "nik_kepala_keluarga" in error.found
    assert "p3ke.xlsx is not the P3KE family file" in err and "lacks the columns nik;" in err


def test_p3ke_an_individual_sheet_not_of_its_layout_beside_a_good_family_sheet(tmp_path, capsys):
    workbook = edit_header(
        write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES), "Individu", "nik", "nik_anggota"
    )
    error, err = refused("p3ke", [workbook], capsys)
    assert (error.file, error.role, error.missing) == ("p3ke.xlsx", "member", ["nik"])
    assert "nik_anggota" in error.found and "P3KE member file" in err


def test_p3ke_csv_files_either_way_round(tmp_path, capsys):
    source = write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES)
    book = load_workbook(source)
    sheets = {
        name: [
            [("" if c is None else c) for c in row]
            for row in book[name].iter_rows(min_row=13, values_only=True)
        ]
        for name in ("Keluarga", "Individu")
    }
    good_family = write_csv(tmp_path / "keluarga.csv", P3KE_FAMILY_HEADER, sheets["Keluarga"])
    good_member = write_csv(tmp_path / "individu.csv", P3KE_MEMBER_HEADER, sheets["Individu"])
    header = ["idv" if c == "id_individu" else c for c in P3KE_MEMBER_HEADER]
    bad_member = write_csv(tmp_path / "individu_lain.csv", header, sheets["Individu"])
    error, err = refused("p3ke", [good_family, bad_member], capsys)
    assert (error.file, error.role, error.missing) == (
        "individu_lain.csv",
        "member",
        ["id_individu"],
    )
    header = [c for c in P3KE_FAMILY_HEADER if c != "desil_kesejahteraan"]
    column = P3KE_FAMILY_HEADER.index("desil_kesejahteraan")
    rows = [row[:column] + row[column + 1 :] for row in sheets["Keluarga"]]
    bad_family = write_csv(tmp_path / "keluarga_lain.csv", header, rows)
    error, err = refused("p3ke", [bad_family, good_member], capsys)
    assert (error.file, error.role) == ("keluarga_lain.csv", "family")
    assert error.missing == ["desil_kesejahteraan"]
    # the good pair is imported
    assert Importer(memory_casework(), "p3ke", PERIOD).run([good_family, good_member]).families[
        "imported"
    ] == len(FAMILIES)
