"""`casework import` checks a large file's rows in two processes (app/import_ahead.py): the
second process checks every other chunk of rows ahead of the first, which takes its
answers. The report of rejected rows and the store are exactly what one process gives, with
bad rows of every kind in the chunks of both."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from adapters.bootstrap import open_casework
from adapters.codec import parse_master_key
from adapters.settings import DatabaseUrl
from app.import_ahead import CHUNK, MIN_BYTES
from app.importer import Importer
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv
from tests.conftest import TEST_MASTER_KEY
from tests.support.events import TEST_SIGNING_KEY, store_events

pytestmark = pytest.mark.integration
FAMILIES = list(generate_households(320, 31))
ANSWERED = re.compile(r"import: (\d+) of the rows' checks were answered by the second process")
NIK, NAME, BIRTH, RELATION, PROVINCE, KELURAHAN = 10, 11, 12, 16, 1, 4


def _bad_file(path):
    """A DTKS file of 320 families (about 1,200 rows) in latin-1, with bad rows of every kind,
    some in the first process's chunks (0, 2, ...) and some in the second's (1, 3, ...)."""
    rows = dtks_rows(FAMILIES)
    rows[5][NIK] = rows[5][NIK][:6] + "99" + rows[5][NIK][8:]  # no real birth date in it
    rows[CHUNK + 7][BIRTH] = "30-02-1990"  # an impossible date
    rows[CHUNK + 20][NAME] = ""  # an empty name
    rows[2 * CHUNK + 3][RELATION] = "99"  # an unknown relationship code
    rows[3 * CHUNK + 9][PROVINCE] = "RIAU"  # another province
    rows[7 * CHUNK + 5][NAME] = "AMÉLIA ÇAHYANI"  # a latin-1 name
    kk = rows[4 * CHUNK + 1][9]
    for row in rows:  # a whole family in a kelurahan the city does not have
        if row[9] == kk:
            row[KELURAHAN] = "ATLANTIS"
    rows[5 * CHUNK + 2] = rows[5 * CHUNK + 2][:6]  # too few columns
    rows.append(list(rows[6 * CHUNK + 4]))  # a person listed twice
    return write_csv(path, DTKS_HEADER, rows, encoding="latin-1")


def test_a_large_file_checked_by_two_processes_gives_what_one_gives(tmp_path):
    two, one = tmp_path / "two", tmp_path / "one"
    two.mkdir()
    one.mkdir()
    file_two = _bad_file(two / "dtks.csv")
    assert file_two.stat().st_size > MIN_BYTES
    file_one = one / "dtks.csv"
    shutil.copyfile(file_two, file_one)
    store_two, store_one = f"sqlite:///{two}/casework.db", f"sqlite:///{one}/casework.db"

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")},
        "CASEWORK_STORE": store_two,
        "CASEWORK_VIEWS": f"sqlite:///{two}/views.db",
        "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
        "CASEWORK_LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-m", "app.cli", "import", "dtks", str(file_two)]
    done = subprocess.run(
        [*command, "--period", "2026-Q1"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answered = ANSWERED.search(done.stderr)
    assert answered and int(answered.group(1)) > 300  # the second process did check rows

    app = open_casework(
        DatabaseUrl.parse(store_one, "CASEWORK_STORE"), parse_master_key(TEST_MASTER_KEY)
    )
    try:  # in this process, as the web's import runs: one process checks every row
        Importer(app, "dtks", "2026-Q1").run([file_one])
    finally:
        app.close()

    report_two = (two / "dtks.csv.rejected.csv").read_text(encoding="utf-8-sig")
    report_one = (one / "dtks.csv.rejected.csv").read_text(encoding="utf-8-sig")
    assert report_two == report_one
    for code in (
        "nik.birth_date",
        "birth_date.impossible",
        "name.empty",
        "relationship.unknown",
        "import.province_other",
        "kelurahan.unknown",
        "import.columns",
        "import.duplicate_nik",
    ):
        assert f"|{code}|" in report_two.replace(",", "|"), code
    events_two = store_events(store_two, TEST_MASTER_KEY)
    assert events_two == store_events(store_one, TEST_MASTER_KEY)
    assert any("Amélia Çahyani".upper() in str(data).upper() for _, data in events_two)
