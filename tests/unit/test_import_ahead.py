"""The child checking an import's rows ahead (app/import_ahead.py): whatever it does, the
first pass finds what one process finds; a child that fails or stops answering leaves the
parent to check the rest alone."""

from __future__ import annotations

import time

import pytest

from app import import_ahead, import_layouts
from app.import_layouts import parse
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv

FAMILIES = list(generate_households(40, 17))


@pytest.fixture
def dtks(tmp_path, monkeypatch):
    """A small DTKS file with a few bad rows, checked in chunks of 5 rows, forked for even
    though it is small."""
    rows = dtks_rows(FAMILIES)
    rows[7][11] = ""  # an empty name, in the child's second chunk
    rows[12][12] = "31-02-1990"  # an impossible date, in the parent's third chunk
    rows.append(list(rows[20]))  # a person listed twice
    monkeypatch.setattr(import_ahead, "MIN_BYTES", 0)
    monkeypatch.setattr(import_ahead, "CHUNK", 5)
    # forked even when earlier tests left threads in this test process (the CLI forks only
    # without them): the child runs the reader alone and touches nothing those threads hold
    monkeypatch.setattr(import_ahead, "may_fork", lambda: True)
    return write_csv(tmp_path / "dtks.csv", DTKS_HEADER, rows)


def outcome(both_cores: bool, path) -> tuple[list, list, int]:
    parsed = parse("dtks", [path], both_cores=both_cores)
    try:
        families = list(parsed.families())
        return families, list(parsed.spool.rejections()), import_ahead.ANSWERS.taken
    finally:
        parsed.close()
        import_layouts._load_place.cache_clear()


@pytest.fixture
def alone(dtks):
    import_ahead.ANSWERS.taken = 0
    families, rejections, taken = outcome(False, dtks)
    assert taken == 0 and len(families) == 40  # a bad row is left out, its family kept
    assert {r[3] for r in rejections} >= {"name.empty", "birth_date.impossible"}
    return families, rejections


def test_a_childs_answers_are_taken_and_change_nothing(dtks, alone):
    families, rejections, taken = outcome(True, dtks)
    assert taken > 50  # of about 170 rows' checks and 40 places: the child's chunks
    assert (families, rejections) == alone


class _Failing(import_layouts._Discarding):
    def add_row(self, *args, **kwargs):
        raise RuntimeError("the child fails")


class _Silent(import_layouts._Discarding):
    def add_row(self, *args, **kwargs):
        time.sleep(30)


@pytest.mark.parametrize("child", [_Failing, _Silent])
def test_a_child_that_fails_or_stops_answering_leaves_the_parent_alone(
    dtks, alone, monkeypatch, child
):
    monkeypatch.setattr(import_layouts, "_Discarding", child)  # what the forked child reads with
    monkeypatch.setattr(import_ahead, "WAIT_SECONDS", 0.5)
    started = time.monotonic()
    families, rejections, taken = outcome(True, dtks)
    assert time.monotonic() - started < 10  # the silent one was not waited for
    assert taken == 0
    assert (families, rejections) == alone
