"""A checkpoint (`FILE.progress.json`) is trusted only by the files and the version of the
importer it was written for: one written by another version, whose layouts may have made
other families of the same file, is not, and the import starts the files over, saying so
on stderr in one line (app/importer.py Checkpoint)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

from app import import_cli
from app.importer import Importer, importer_version
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv
from tests.support.apps import memory_casework

PERIOD = "2026-Q1"
FAMILIES = list(generate_households(5, 61))


def stored(app) -> set[tuple[str, frozenset[str]]]:
    """Each household of the store: its KK number and its members' NIKs."""
    found, after = [], 0
    while batch := app.recorder.select_notifications(after, 500, inclusive_of_start=False):
        found += [n.originator_id for n in batch if n.topic.endswith("HouseholdRegistered")]
        after = batch[-1].id
    households = [app.get_household(i) for i in found]
    return {(h.kk_number, frozenset(h.members)) for h in households}


def cli(app, *files: Path) -> int:
    args = argparse.Namespace(kind="dtks", files=list(files), period=PERIOD, batch=2, max_rate=None)
    return import_cli.run(SimpleNamespace(casework=app), args)


def test_a_checkpoint_of_another_importer_version_is_not_trusted(tmp_path, capsys):
    whole_dir, resumed_dir = tmp_path / "whole", tmp_path / "resumed"
    whole_dir.mkdir()
    resumed_dir.mkdir()
    rows = dtks_rows(FAMILIES)
    whole_file = write_csv(whole_dir / "dtks.csv", DTKS_HEADER, rows)
    resumed_file = write_csv(resumed_dir / "dtks.csv", DTKS_HEADER, rows)
    whole = memory_casework()
    Importer(whole, "dtks", PERIOD, batch=2).run([whole_file])
    expected = stored(whole)
    assert len(expected) == len(FAMILIES)

    # the checkpoint the uninterrupted run left, as an older importer would have written it
    # after three families: the same files, source and period, another version
    progress = json.loads((whole_dir / "dtks.csv.progress.json").read_text())
    assert progress["importer"] == importer_version()
    progress.update(importer="0123456789abcdef", families_done=3, counts={"imported": 3})
    (resumed_dir / "dtks.csv.progress.json").write_text(json.dumps(progress))

    app = memory_casework()
    assert cli(app, resumed_file) == 0
    assert stored(app) == expected
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "dtks.csv.progress.json" in err
    assert "another version of the importer" in err and "start again" in err
    assert "skipped" not in out and f"families imported: {len(FAMILIES)}" in out
    # the checkpoint it wrote is this version's: a run again trusts it and skips every family
    assert json.loads((resumed_dir / "dtks.csv.progress.json").read_text())["importer"] == (
        importer_version()
    )
    again = Importer(app, "dtks", PERIOD, batch=2).run([resumed_file])
    assert again.skipped == len(FAMILIES)


def test_a_checkpoint_of_a_changed_file_is_not_trusted_and_says_so(tmp_path, caplog):
    """The file changed since (a family added at its top): the families counted done are not
    the same ones; every family of the new file is imported, the start over logged."""
    rows = dtks_rows(FAMILIES[1:])
    path = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)
    app = memory_casework()
    Importer(app, "dtks", PERIOD, batch=2).run([path])
    write_csv(path, DTKS_HEADER, dtks_rows(FAMILIES[:1]) + rows)
    summary = Importer(app, "dtks", PERIOD, batch=2).run([path])
    assert summary.skipped == 0 and summary.families["imported"] == 1
    assert summary.families["unchanged"] == len(FAMILIES) - 1
    assert "other files, source or period" in caplog.text
    assert len(stored(app)) == len(FAMILIES)
