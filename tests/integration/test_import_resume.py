"""An import killed halfway (SIGKILL) and run again ends with the same store as an
uninterrupted one (`casework import`, SQLite store, real key store), its file read through
the scratch file a large file gets (`FILE.import.sqlite`), which the killed run leaves and
the next one replaces and removes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from adapters.bootstrap import open_casework
from adapters.codec import parse_master_key
from adapters.settings import DatabaseUrl
from app.importer import Importer
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv
from tests.conftest import TEST_MASTER_KEY
from tests.support.events import TEST_SIGNING_KEY, store_events

pytestmark = pytest.mark.integration
FAMILIES = list(generate_households(48, 23))
AS_LARGE = (
    "import sys; from app import import_spool; import_spool.MEMORY_BYTES = 0;"
    " from app.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_an_import_killed_halfway_and_run_again_equals_an_uninterrupted_one(tmp_path):
    rows = dtks_rows(FAMILIES)
    killed_dir, whole_dir = tmp_path / "killed", tmp_path / "whole"
    killed_dir.mkdir()
    whole_dir.mkdir()
    killed_file = write_csv(killed_dir / "dtks.csv", DTKS_HEADER, rows)
    whole_file = write_csv(whole_dir / "dtks.csv", DTKS_HEADER, rows)
    killed_store = f"sqlite:///{killed_dir}/casework.db"
    whole_store = f"sqlite:///{whole_dir}/casework.db"

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")},
        "CASEWORK_STORE": killed_store,
        "CASEWORK_VIEWS": f"sqlite:///{killed_dir}/views.db",
        "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
        "CASEWORK_LOG_LEVEL": "WARNING",
    }
    # `casework import`, every file counted as large (app/import_spool.py MEMORY_BYTES)
    command = [sys.executable, "-c", AS_LARGE, "import", "dtks", str(killed_file)]
    command += ["--period", "2026-Q1", "--batch", "4"]
    checkpoint = killed_dir / "dtks.csv.progress.json"
    # slowed down (at most 150 rows/s), so that it is still running when killed
    process = subprocess.Popen([*command, "--max-rate", "150"], env=env)
    try:
        done = 0
        deadline = time.monotonic() + 60
        while done < 12 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
            if checkpoint.exists():
                done = json.loads(checkpoint.read_text())["families_done"]
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    halfway = json.loads(checkpoint.read_text())["families_done"]
    assert 0 < halfway < len(FAMILIES)  # it stopped halfway
    scratch = killed_dir / "dtks.csv.import.sqlite"
    assert scratch.exists()  # left by the killed run

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert f"skipped (done before): {halfway}" in finished.stdout
    assert not scratch.exists()

    app = open_casework(
        DatabaseUrl.parse(whole_store, "CASEWORK_STORE"), parse_master_key(TEST_MASTER_KEY)
    )
    try:
        Importer(app, "dtks", "2026-Q1", batch=4).run([whole_file])
    finally:
        app.close()
    killed = store_events(killed_store, TEST_MASTER_KEY)
    whole = store_events(whole_store, TEST_MASTER_KEY)
    assert len(whole) > len(FAMILIES) * 3
    assert killed == whole
