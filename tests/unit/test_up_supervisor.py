"""`casework up`'s supervisor with real child processes: a child that exits is started again
after a back-off that doubles, the others go on; one that keeps exiting (more than the
allowed restarts within the window) stops everything; the stop event ends the restarts."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from app import up
from app.up import Restarts, Supervisor


def python(code: str):
    return lambda: subprocess.Popen([sys.executable, "-c", code])


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(up, "RESTART_FIRST_SECONDS", 0.05)


def run_until(supervisor: Supervisor, done, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        supervisor.watch()
        time.sleep(0.02)


def stop_all(supervisor: Supervisor) -> None:
    for child in supervisor.children.values():
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()


def test_a_child_that_exits_is_started_again_and_the_others_go_on():
    stop = threading.Event()
    supervisor = Supervisor(
        {"steady": python("import time; time.sleep(60)"), "flaky": python("raise SystemExit(3)")},
        stop,
        restarts=lambda: Restarts(allowed=3, window=60),
    )
    try:
        supervisor.start("steady")
        supervisor.start("flaky")
        steady = supervisor.children["steady"]
        first = supervisor.children["flaky"]
        run_until(supervisor, lambda: supervisor.children["flaky"] is not first)
        assert supervisor.children["flaky"] is not first  # started again
        assert supervisor.children["steady"] is steady and steady.poll() is None
        assert not stop.is_set() and supervisor.failed is None
    finally:
        stop_all(supervisor)


def test_one_that_keeps_exiting_stops_everything():
    stop = threading.Event()
    supervisor = Supervisor(
        {"flaky": python("raise SystemExit(3)")},
        stop,
        restarts=lambda: Restarts(allowed=3, window=60),
    )
    supervisor.start("flaky")
    run_until(supervisor, stop.is_set)
    assert stop.is_set() and supervisor.failed == "flaky"
    assert len(supervisor.restarts["flaky"].exits) == 4  # 3 restarts, then the fourth exit


def test_the_back_off_doubles_up_to_its_limit_and_the_window_forgets():
    now = [0.0]
    restarts = Restarts(allowed=10, window=100, clock=lambda: now[0])
    assert [restarts.delay() for _ in range(3)] == [
        up.RESTART_FIRST_SECONDS,
        2 * up.RESTART_FIRST_SECONDS,
        4 * up.RESTART_FIRST_SECONDS,
    ]
    now[0] = 1000.0  # long after: the earlier exits no longer count
    assert restarts.delay() == up.RESTART_FIRST_SECONDS


def test_nothing_is_started_again_once_stopping():
    stop = threading.Event()
    supervisor = Supervisor({"flaky": python("raise SystemExit(3)")}, stop)
    supervisor.start("flaky")
    first = supervisor.children["flaky"]
    first.wait()
    stop.set()
    run_until(supervisor, lambda: False, seconds=0.5)
    assert supervisor.children["flaky"] is first
