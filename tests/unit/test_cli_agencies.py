"""`casework agencies --workers N`: how many processes share the events topic."""

from __future__ import annotations

import pytest

from adapters.settings import Settings
from app.cli import parser
from consumers.agency_producer import default_workers


def test_workers_is_a_count_of_processes(capsys):
    assert parser().parse_args(["agencies", "--workers", "2"]).workers == 2
    assert parser().parse_args(["agencies"]).workers is None  # then one per core
    for wrong in ("0", "65", "two", "-1"):
        with pytest.raises(SystemExit):
            parser().parse_args(["agencies", "--workers", wrong])
        assert "--workers" in capsys.readouterr().err


def test_by_default_one_worker_per_core_and_never_more_than_partitions(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert default_workers(Settings.from_env({"CASEWORK_PARTITIONS": "6"})) == 6
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_workers(Settings.from_env({"CASEWORK_PARTITIONS": "6"})) == 2
    monkeypatch.setattr("os.cpu_count", lambda: None)
    assert default_workers(Settings.from_env({"CASEWORK_PARTITIONS": "6"})) == 1
