"""A bad date in an imported file: the report's reason names the forms the import reads
(DD-MM-YYYY, DD/MM/YYYY, YYYY-MM-DD), not the API's YYYY-MM-DD only; a date of a form read
that does not exist (31-02-2020) is said not to exist (app/messages.py IMPORT_ERRORS)."""

from __future__ import annotations

import csv
from pathlib import Path

from app.importer import Importer
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, VERVAL_HEADER, dtks_rows, write_csv
from tests.support.apps import memory_casework

PERIOD = "2026-Q1"
FAMILIES = list(generate_households(2, 71))


def report(path: Path) -> list[dict[str, str]]:
    target = path.with_name(path.name + ".rejected.csv")
    with target.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_bad_date_names_the_forms_the_import_reads(tmp_path):
    rows = dtks_rows(FAMILIES)
    birth = DTKS_HEADER.index("TANGGAL_LAHIR")
    rows[1][birth] = "12 Maret 1985"  # row 3: a form not read
    rows[2][birth] = "31-02-2020"  # row 4: a form read, a day that does not exist
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    app = memory_casework()
    Importer(app, "dtks", PERIOD).run([dtks])
    found = {r["baris"]: r for r in report(dtks)}
    assert (found["3"]["kolom"], found["3"]["kode"]) == ("tanggal_lahir", "birth_date.format")
    bad_form = found["3"]["alasan"]  # in Bahasa Indonesia: DD-MM-YYYY is HH-BB-TTTT
    assert "HH-BB-TTTT" in bad_form and "HH/BB/TTTT" in bad_form and "TTTT-BB-HH" in bad_form
    assert (found["4"]["kolom"], found["4"]["kode"]) == ("tanggal_lahir", "birth_date.impossible")
    assert "tidak ada di kalender" in found["4"]["alasan"]
    assert "31-02-2020" in found["4"]["alasan"]  # the example in a form the import reads

    head = FAMILIES[0]["register"]
    visits = [
        [head["kk_number"], head["head"]["nik"], "3", "kemarin", "Sesuai", "Tim 4", ""],
        [head["kk_number"], head["head"]["nik"], "3", "31/02/2026", "Sesuai", "Tim 4", ""],
    ]
    verval = write_csv(tmp_path / "verval.csv", VERVAL_HEADER, visits)
    Importer(app, "verval", PERIOD).run([verval])
    found = {r["baris"]: r for r in report(verval)}
    assert found["2"]["kode"] == "date.format" and "HH-BB-TTTT" in found["2"]["alasan"]
    assert found["3"]["kode"] == "date.impossible"
    assert "tidak ada di kalender" in found["3"]["alasan"]


def test_a_bad_sex_or_relationship_names_what_the_file_may_hold(tmp_path):
    """A file writes a sex as 1/L/Laki-laki or 2/P/Perempuan and a relationship as a code or
    its name: the reason says so, not the web form's 'male (M) or female (F)' or 'from the
    list', which a file has neither of."""
    rows = dtks_rows(FAMILIES)
    rows[1][DTKS_HEADER.index("JENIS_KELAMIN")] = "X"  # row 3
    rows[2][DTKS_HEADER.index("HUBUNGAN_KELUARGA")] = "99"  # row 4
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    Importer(memory_casework(), "dtks", PERIOD).run([dtks])
    found = {r["baris"]: r for r in report(dtks)}
    assert (found["3"]["kolom"], found["3"]["kode"]) == ("jenis_kelamin", "sex.invalid")
    assert "Laki-laki" in found["3"]["alasan"] and "Perempuan" in found["3"]["alasan"]
    assert "(M)" not in found["3"]["alasan"]
    assert found["4"]["kode"] == "relationship.unknown"
    assert "1 sampai 11" in found["4"]["alasan"] and "dari daftar" not in found["4"]["alasan"]


def test_a_bad_verval_outcome_names_the_words_the_import_reads(tmp_path):
    """'tidak valid' is not read: the reason names what is (sesuai, tidak sesuai, pindah,
    ...), not the web form's 'tidak valid (invalid)', which would be refused again."""
    head = FAMILIES[0]["register"]
    app = memory_casework()
    Importer(app, "dtks", PERIOD).run(
        [write_csv(tmp_path / "d.csv", DTKS_HEADER, dtks_rows(FAMILIES))]
    )
    visits = [[head["kk_number"], head["head"]["nik"], "3", "01-11-2025", "bogus", "Tim 4", ""]]
    verval = write_csv(tmp_path / "verval.csv", VERVAL_HEADER, visits)
    Importer(app, "verval", PERIOD).run([verval])
    [row] = report(verval)
    assert (row["kolom"], row["kode"]) == ("hasil", "verification.outcome_unknown")
    assert "tidak sesuai" in row["alasan"] and "tidak ditemukan" in row["alasan"]
    assert "tidak valid" not in row["alasan"]
