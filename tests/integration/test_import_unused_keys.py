"""An import from the command line (`own_process`) that meets families already stored keeps
no key of nobody: a batch of families stored optimistically fails on their claims and is
played one family at a time, and the keys its failed save made are dropped instead of being
stored with the next save (`KeyStore.discard_unwritten`)."""

from __future__ import annotations

import pytest

from adapters.bootstrap import open_casework
from adapters.codec import parse_master_key
from adapters.settings import DatabaseUrl
from app.importer import Importer
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv
from tests.conftest import TEST_MASTER_KEY
from tests.integration.test_seed_bulk import unused_keys

pytestmark = pytest.mark.integration
FAMILIES = list(generate_households(40, 29))


def test_an_import_meeting_stored_families_leaves_no_unused_key(tmp_path):
    first = write_csv(tmp_path / "first.csv", DTKS_HEADER, dtks_rows(FAMILIES[:20]))
    second = write_csv(tmp_path / "second.csv", DTKS_HEADER, dtks_rows(FAMILIES[10:]))
    url = f"sqlite:///{tmp_path}/casework.db"
    app = open_casework(DatabaseUrl.parse(url, "CASEWORK_STORE"), parse_master_key(TEST_MASTER_KEY))
    try:
        Importer(app, "dtks", "2026-Q1", batch=4, own_process=True).run([first])
        assert unused_keys(url) == 0
        # families 10-19 are known: the batches holding them fail optimistically first
        summary = Importer(app, "dtks", "2026-Q1", batch=4, own_process=True).run([second])
    finally:
        app.close()
    assert summary.families["imported"] == 20 and summary.families["rejected"] == 0
    assert unused_keys(url) == 0
