"""A checkpoint (`FILE.progress.json`) is trusted only by the files and the version of the
importer it was written for: one written by another version, whose layouts may have made
other families of the same file, is not, and the import starts the files over, saying so
on stderr in one line (app/importer.py Checkpoint)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import import_cli, importer
from app.importer import Importer, code_digest, importer_version
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


# What the code does, not how its source is written: a comment, a docstring or blank lines
# added leave the importer's version as it is (the progress made stays trusted); a change to
# a constant or a statement does not.
DECIDING = '''"""A module that decides."""

LIMIT = 10


def family_of(row):
    """The row's family."""
    if row:
        return row[:LIMIT]
    return None
'''
SAME_CODE = (
    DECIDING.replace('"""A module that decides."""', '"""It decides, said otherwise."""')
    .replace("LIMIT = 10", "# how many\nLIMIT = 10  # at most")
    .replace('    """The row\'s family."""\n', "")
    .replace("    return None", "\n\n    return None  # none")
    .replace("def family_of(row):", "def family_of(\n    row,\n):")
)
OTHER_CODE = {
    "a constant": DECIDING.replace("LIMIT = 10", "LIMIT = 11"),
    "a statement": DECIDING.replace("return row[:LIMIT]", "return row[1:LIMIT]"),
    "a statement added": DECIDING.replace("    return None", "    row = []\n    return None"),
    "a string used as a value": DECIDING.replace("return None", 'return "none"'),
}


def test_a_comment_docstring_or_layout_change_keeps_the_code_digest():
    assert SAME_CODE != DECIDING
    assert code_digest(SAME_CODE) == code_digest(DECIDING)


@pytest.mark.parametrize("change", sorted(OTHER_CODE))
def test_a_change_to_the_code_changes_the_code_digest(change):
    assert code_digest(OTHER_CODE[change]) != code_digest(DECIDING)


def test_the_importer_version_follows_the_deciding_modules_code_only(tmp_path, monkeypatch):
    """The version is a digest of the modules' code: a module whose comments and docstrings
    changed keeps it; one whose code changed makes another."""
    source = tmp_path / "deciding.py"

    def version(text: str) -> str:
        source.write_text(text)
        importer.importer_version.cache_clear()
        return importer.importer_version()

    monkeypatch.setattr(importer, "DECIDING_MODULES", (SimpleNamespace(__file__=str(source)),))
    try:
        before = version(DECIDING)
        assert version(SAME_CODE) == before
        assert version(OTHER_CODE["a constant"]) != before
    finally:
        importer.importer_version.cache_clear()
