"""Numbers on the command line: a wrong one is named in one line (exit 2) before anything
starts, never accepted to do nothing (or something else) and never a traceback."""

from __future__ import annotations

import threading

import pytest

from app import cli
from app.cli import parser


@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["rebuild", "--workers", "0"], "--workers"),
        (["rebuild", "--workers", "-1"], "--workers"),
        (["seed", "--households", "-5"], "--households"),
        (["seed", "--households", "0"], "--households"),
        (["seed", "--households", "many"], "--households"),
        (["up", "--demo", "-1"], "--demo"),
        (["broker", "--port", "99999"], "--port"),
        (["broker", "--port", "0"], "--port"),
        (["import", "dtks", "f.csv", "--period", "2026-Q1", "--batch", "0"], "--batch"),
        (["import", "dtks", "f.csv", "--period", "2026-Q1", "--max-rate", "-3"], "--max-rate"),
        (["import", "dtks", "f.csv", "--period", "2026-Q1", "--max-rate", "nan"], "--max-rate"),
    ],
)
def test_a_wrong_number_is_named_and_refused(capsys, argv, argument):
    with pytest.raises(SystemExit) as stopped:
        parser().parse_args(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"argument {argument}:" in error and "give a" in error


def test_right_numbers_are_taken():
    assert parser().parse_args(["rebuild", "--workers", "2"]).workers == 2
    assert parser().parse_args(["rebuild"]).workers is None
    assert parser().parse_args(["seed", "--households", "20"]).households == 20
    assert parser().parse_args(["up"]).demo == 0
    assert parser().parse_args(["up", "--demo", "200"]).demo == 200
    assert parser().parse_args(["broker", "--port", "9092"]).port == 9092
    base = ["import", "dtks", "f.csv", "--period", "2026-Q1"]
    taken = parser().parse_args([*base, "--batch", "50", "--max-rate", "200.5"])
    assert (taken.batch, taken.max_rate) == (50, 200.5)


def test_a_broker_that_does_not_start_is_said_in_one_line(monkeypatch, capsys):
    class Silent:
        def __init__(self, port):
            self.port = port

        def __enter__(self):
            raise TimeoutError(f"nothing answers on 127.0.0.1:{self.port} after 30 s")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(cli, "EmbeddedBroker", Silent)
    monkeypatch.setattr(cli, "stop_on_signals", threading.Event)
    assert cli.cmd_broker(None, parser().parse_args(["broker", "--port", "9092"])) == 1
    error = capsys.readouterr().err
    assert error.startswith("casework broker: the embedded broker did not start: nothing answers")
    assert len(error.splitlines()) == 1
