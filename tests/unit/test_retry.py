"""The retry policies (adapters.retry): attempts, capped waits, the stop event, the logs.

Waits go to a fake sleep that records them: outcomes are asserted, never times.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest
from kafka.errors import KafkaConnectionError, KafkaError

from adapters.retry import contended, reconnecting, transient


class Flaky:
    """Fails with `error` the first `failures` calls, then answers "ok"."""

    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


def test_reconnecting_waits_double_from_half_a_second_up_to_ten():
    waits: list[float] = []
    flaky = Flaky(8, KafkaConnectionError())
    assert reconnecting(threading.Event(), sleep=waits.append)(flaky) == "ok"
    assert flaky.calls == 9
    assert waits == [0.5, 1, 2, 4, 8, 10, 10, 10]


def test_reconnecting_starts_again_at_half_a_second_after_a_success():
    waits: list[float] = []
    policy = reconnecting(threading.Event(), sleep=waits.append)
    policy(Flaky(3, KafkaError()))
    policy(Flaky(1, KafkaError()))
    assert waits == [0.5, 1, 2, 0.5]


def test_reconnecting_gives_up_quietly_once_the_stop_event_is_set():
    stop = threading.Event()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            stop.set()

    calls = Flaky(100, KafkaError())
    assert reconnecting(stop, sleep=sleep)(lambda: None if stop.is_set() else calls()) is None
    assert calls.calls == 3
    assert len(waits) == 3


def test_reconnecting_runs_after_on_each_failure_and_passes_other_errors():
    dropped: list[int] = []
    policy = reconnecting(
        threading.Event(), sleep=lambda _: None, after=lambda s: dropped.append(s.attempt_number)
    )
    policy(Flaky(2, KafkaError()))
    assert dropped == [1, 2]
    with pytest.raises(ValueError):
        policy(Flaky(1, ValueError("not a broker's")))


def test_transient_raises_the_last_error_after_its_attempts():
    waits: list[float] = []
    flaky = Flaky(5, sqlite3.OperationalError("database is locked"))
    with pytest.raises(sqlite3.OperationalError):
        transient(3, errors=sqlite3.OperationalError, sleep=waits.append)(flaky)
    assert flaky.calls == 3
    assert waits == [0.2, 0.4]


def test_transient_waits_are_capped_at_five_seconds_and_forever_means_forever():
    waits: list[float] = []
    flaky = Flaky(9, sqlite3.OperationalError())
    assert transient(None, errors=sqlite3.OperationalError, sleep=waits.append)(flaky) == "ok"
    assert waits == [0.2, 0.4, 0.8, 1.6, 3.2, 5, 5, 5, 5]


def test_transient_with_a_stop_event_returns_none_once_it_is_set():
    stop = threading.Event()

    def sleep(_: float) -> None:
        stop.set()

    flaky = Flaky(100, sqlite3.OperationalError())
    assert transient(None, errors=sqlite3.OperationalError, stop=stop, sleep=sleep)(flaky) is None
    assert flaky.calls == 2  # the attempt after the cut-short wait; the function checks `stop`


def test_transient_with_a_deadline_gives_up_in_time():
    flaky = Flaky(10**6, KafkaError())
    with pytest.raises(KafkaError):
        transient(None, errors=KafkaError, seconds=0.0, sleep=lambda _: None)(flaky)
    assert flaky.calls == 1


def test_only_the_kind_of_error_is_logged(caplog):
    caplog.set_level(logging.WARNING, logger="casework.retry")
    flaky = Flaky(1, sqlite3.IntegrityError("UNIQUE failed: NIK 1571010101900001"))
    transient(2, errors=sqlite3.Error, what="store busy", sleep=lambda _: None)(flaky)
    assert caplog.messages == ["store busy (IntegrityError); retrying in 0.2 s"]
    assert not any(record.exc_info for record in caplog.records)


def test_an_expected_race_is_retried_without_a_log(caplog):
    caplog.set_level(logging.DEBUG, logger="casework.retry")
    transient(3, errors=KafkaError, what=None, sleep=lambda _: None)(Flaky(2, KafkaError()))
    assert caplog.messages == []


def test_transient_leaves_the_excepted_errors_alone():
    flaky = Flaky(1, sqlite3.OperationalError())
    with pytest.raises(sqlite3.OperationalError):
        transient(3, errors=Exception, except_for=sqlite3.OperationalError, sleep=lambda _: None)(
            flaky
        )
    assert flaky.calls == 1


class Lost(Exception):
    """A write that lost a race."""


def test_a_lost_race_is_tried_up_to_its_attempts_then_raised():
    waits: list[float] = []
    assert contended(12, errors=Lost, sleep=waits.append)(Flaky(11, Lost())) == "ok"
    assert len(waits) == 11 and all(0 <= wait <= 0.2 for wait in waits)
    flaky = Flaky(10**6, Lost())
    with pytest.raises(Lost):
        contended(12, errors=Lost, sleep=lambda _: None)(flaky)
    assert flaky.calls == 12


def test_a_hopeless_race_ends_at_its_time_limit_before_its_attempts():
    flaky = Flaky(10**6, Lost())
    with pytest.raises(Lost):
        contended(10**6, errors=Lost, within=0.0, sleep=lambda _: None)(flaky)
    assert flaky.calls == 1
