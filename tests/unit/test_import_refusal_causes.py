"""A row refused because of another row of its family (`import.family_refused`,
`import.no_head`) names the row at fault in its reason, with that row's own reason: in the
report beside the file (its columns kept: row, column, code, reason) and in the summary
(app/importer.py, app/messages.py IMPORT_CAUSED)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app import import_spool
from app.importer import Importer, causes_path, read_causes, reason
from app.seed_data import generate_households
from app.source_samples import (
    DTKS_HEADER,
    DTSEN_FAMILY_HEADER,
    DTSEN_MEMBER_HEADER,
    dtks_rows,
    dtsen_rows,
    people,
    write_csv,
    write_p3ke,
)
from tests.support.apps import memory_casework

PERIOD = "2026-Q1"
FAMILIES = list(generate_households(3, 91))
COL = {name: i for i, name in enumerate(DTKS_HEADER)}


@pytest.fixture(autouse=True, params=["memory", "file"])
def spool(request, monkeypatch) -> str:
    """Each test with the rows grouped in memory (small files) and in the scratch file."""
    if request.param == "file":
        monkeypatch.setattr(import_spool, "MEMORY_BYTES", 0)
    return request.param


def report(path: Path) -> list[dict[str, str]]:
    target = path.with_name(path.name + ".rejected.csv")
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(list(r) == ["berkas", "baris", "kolom", "kode", "alasan"] for r in rows)
    return rows


def test_dtsen_members_of_a_refused_family_row_name_it(tmp_path):
    keluarga, anggota = dtsen_rows(FAMILIES)
    keluarga[1][DTSEN_FAMILY_HEADER.index("kelurahan_desa")] = "Atlantis"  # row 3
    family = write_csv(tmp_path / "keluarga.csv", DTSEN_FAMILY_HEADER, keluarga)
    member = write_csv(tmp_path / "anggota.csv", DTSEN_MEMBER_HEADER, anggota)
    summary = Importer(memory_casework(), "dtsen", PERIOD).run([family, member])
    refused = [r for r in report(member) if r["kode"] == "import.family_refused"]
    assert len(refused) == len(people(FAMILIES[1]))
    for row in refused:
        assert row["kolom"] == "nomor_kartu_keluarga"
        assert "baris keluarganya ditolak" in row["alasan"]
        assert "baris 3 di keluarga.csv: " + reason("kelurahan.unknown") in row["alasan"]
    assert summary.lines()[-1] == (
        "families refused because of other rows: 1 (rows at fault: the family's keluarga.csv row 3)"
    )


def test_dtks_members_of_a_family_refused_for_its_head_name_the_heads_row(tmp_path):
    """The head marked deceased: refused as the family is stored; its members' rows name
    the head's row, and a resumed run (its checkpoint) writes the same report."""
    header = [*DTKS_HEADER, "MENINGGAL"]
    rows = [[*row, "Tidak"] for row in dtks_rows(FAMILIES)]
    kk = rows[0][COL["NOMOR_KK"]]
    head = next(
        i
        for i, row in enumerate(rows)
        if row[COL["NOMOR_KK"]] == kk and row[COL["HUBUNGAN_KELUARGA"]] == "1"
    )
    rows[head][-1] = "Ya"
    dtks = write_csv(tmp_path / "dtks.csv", header, rows)
    app = memory_casework()
    summary = Importer(app, "dtks", PERIOD).run([dtks])
    found = {r["baris"]: r for r in report(dtks)}
    head_row = str(head + 2)
    assert found[head_row]["kode"] == "import.head_deceased"
    others = [r for r in found.values() if r["baris"] != head_row]
    assert len(others) == len(people(FAMILIES[0])) - 1
    for row in others:
        assert row["kode"] == "import.family_refused"
        assert row["alasan"].startswith(
            "Keluarga ini tidak diimpor karena baris kepala keluarga ditolak: baris "
            f"{head_row}: {reason('import.head_deceased')}"
        )
    assert f"the head's dtks.csv row {head_row}" in summary.lines()[-1]
    written = dtks.with_name("dtks.csv.rejected.csv").read_bytes()
    again = Importer(app, "dtks", PERIOD).run([dtks])
    assert again.skipped == len(FAMILIES)
    assert dtks.with_name("dtks.csv.rejected.csv").read_bytes() == written


def test_dtks_a_family_without_a_head_names_its_rows_refused(tmp_path):
    rows = dtks_rows(FAMILIES[:1])
    rows[0][COL["NOMOR_NIK"]] = rows[0][COL["NOMOR_NIK"]][:15]  # the head's NIK one digit short
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    Importer(memory_casework(), "dtks", PERIOD).run([dtks])
    found = {r["baris"]: r for r in report(dtks)}
    assert found["2"]["kode"] == "nik.format"
    for number in range(3, len(rows) + 2):
        assert found[str(number)]["kode"] == "import.no_head"
        assert (
            f"Barisnya yang ditolak: baris 2: {reason('nik.format')}"
            in (found[str(number)]["alasan"])
        )


def test_p3ke_individuals_of_a_refused_family_row_name_it(tmp_path):
    workbook = write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES)
    book = load_workbook(workbook)
    header = [str(c.value or "").lower() for c in book["Keluarga"][12]]
    book["Keluarga"].cell(14, header.index("desil_kesejahteraan") + 1).value = 11
    book.save(workbook)
    Importer(memory_casework(), "p3ke", PERIOD).run([workbook])
    individuals = [r for r in report(workbook) if r["kode"] == "import.family_refused"]
    assert len(individuals) == len(people(FAMILIES[1]))
    for row in individuals:
        assert row["berkas"] == "p3ke.xlsx[Individu]"
        assert "baris 14 di p3ke.xlsx[Keluarga]: " + reason("desil.out_of_range") in row["alasan"]


def test_p3ke_individuals_of_a_family_row_refused_as_read_name_it(tmp_path):
    """A family row refused as it was read (the head's NIK a 16-digit number ending in 0, its
    last digit possibly cut by Excel): its individuals name it, not 'no family row'."""
    workbook = write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES)
    book = load_workbook(workbook)
    header = [str(c.value or "").lower() for c in book["Keluarga"][12]]
    book["Keluarga"].cell(14, header.index("nik") + 1).value = 1571012345678900
    book.save(workbook)
    summary = Importer(memory_casework(), "p3ke", PERIOD).run([workbook])
    rows = report(workbook)
    assert not [r for r in rows if r["kode"] == "import.family_missing"]
    individuals = [r for r in rows if r["kode"] == "import.family_refused"]
    assert len(individuals) == len(people(FAMILIES[1]))
    for row in individuals:
        assert row["berkas"] == "p3ke.xlsx[Individu]"
        assert "baris 14 di p3ke.xlsx[Keluarga]: " + reason("import.scientific") in row["alasan"]
    assert "p3ke.xlsx[Keluarga] row 14" in summary.lines()[-1]


def test_dtsen_members_of_a_family_row_refused_as_read_name_it(tmp_path):
    """A DTSEN family row with too few cells: its members name it, not 'no family row'."""
    keluarga, anggota = dtsen_rows(FAMILIES)
    keluarga[1] = keluarga[1][:5]  # row 3
    family = write_csv(tmp_path / "keluarga.csv", DTSEN_FAMILY_HEADER, keluarga)
    member = write_csv(tmp_path / "anggota.csv", DTSEN_MEMBER_HEADER, anggota)
    Importer(memory_casework(), "dtsen", PERIOD).run([family, member])
    rows = report(member)
    assert not [r for r in rows if r["kode"] == "import.family_missing"]
    refused = [r for r in rows if r["kode"] == "import.family_refused"]
    assert len(refused) == len(people(FAMILIES[1]))
    for row in refused:
        assert "baris 3 di keluarga.csv: " + reason("import.columns") in row["alasan"]


def test_the_webs_import_keeps_the_rows_at_fault_beside_the_report(tmp_path):
    """The web's import (`keep_causes`) keeps each row refused because of others with the
    rows at fault beside the report, found by the report's cells (its download says them
    again in the page's language); the CLI's report has nothing beside it; a run again
    without such rows removes them."""
    keluarga, anggota = dtsen_rows(FAMILIES)
    place = keluarga[1][DTSEN_FAMILY_HEADER.index("kelurahan_desa")]
    keluarga[1][DTSEN_FAMILY_HEADER.index("kelurahan_desa")] = "Atlantis"  # row 3
    family = write_csv(tmp_path / "keluarga.csv", DTSEN_FAMILY_HEADER, keluarga)
    member = write_csv(tmp_path / "anggota.csv", DTSEN_MEMBER_HEADER, anggota)
    kept = causes_path(member.with_name("anggota.csv.rejected.csv"))
    Importer(memory_casework(), "dtsen", PERIOD).run([family, member])
    assert report(member) and not kept.exists()

    Importer(memory_casework(), "dtsen", PERIOD, keep_causes=True).run([family, member])
    causes = read_causes(member.with_name("anggota.csv.rejected.csv"))
    refused = [r for r in report(member) if r["kode"] == "import.family_refused"]
    assert causes is not None and len(causes) == len(refused) == len(people(FAMILIES[1]))
    for row in refused:
        found = causes[row["berkas"], row["baris"], row["kolom"], row["kode"]]
        assert (found.whose, found.causes) == (
            "family",
            (("keluarga.csv", 3, "kelurahan.unknown"),),
        )

    keluarga[1][DTSEN_FAMILY_HEADER.index("kelurahan_desa")] = place
    write_csv(family, DTSEN_FAMILY_HEADER, keluarga)
    Importer(memory_casework(), "dtsen", PERIOD, keep_causes=True).run([family, member])
    assert not kept.exists() and read_causes(member.with_name("anggota.csv.rejected.csv")) is None
