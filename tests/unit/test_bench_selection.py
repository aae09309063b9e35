"""`python -m bench NAME`: choosing benchmarks by name, and the city benchmark's size."""

from __future__ import annotations

import pytest

from bench.__main__ import BENCHMARKS, parse
from bench.eligibility_city import CITY_FAMILIES, families_wanted


def test_a_plain_run_takes_every_benchmark_but_the_city():
    assert parse([]).only == list(BENCHMARKS)
    assert "eligibility_city" not in parse([]).only


def test_benchmarks_named_on_the_command_line_are_the_only_ones_run():
    assert parse(["eligibility_city"]).only == ["eligibility_city"]
    assert parse(["relay", "runner"]).only == ["relay", "runner"]
    assert parse(["--only", "eligibility_city"]).only == ["eligibility_city"]


def test_an_unknown_name_is_refused(capsys):
    with pytest.raises(SystemExit):
        parse(["eligibility"])
    assert "unknown benchmark eligibility" in capsys.readouterr().err


def test_the_city_size_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("CASEWORK_BENCH_FAMILIES", raising=False)
    assert families_wanted(quick=False) == CITY_FAMILIES == 160_000
    assert families_wanted(quick=True) < 1_000
    monkeypatch.setenv("CASEWORK_BENCH_FAMILIES", "2000")
    assert families_wanted(quick=False) == families_wanted(quick=True) == 2000
