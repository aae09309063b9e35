"""Slowing down guessing: a key is refused after `limit` failures within its window (no I/O;
the clock is the test's, so nothing waits)."""

from app.failure_throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_refused_after_the_limit_until_its_window_ends():
    clock = Clock()
    throttle = FailureThrottle(limit=3, window=60, clock=clock)
    for _ in range(2):
        throttle.failed("address:10.0.0.1", "prefix:abc")
    assert throttle.retry_after("address:10.0.0.1") == 0
    throttle.failed("address:10.0.0.1", "prefix:abc")
    assert throttle.retry_after("address:10.0.0.1") > 0
    assert throttle.retry_after("address:10.0.0.2", "prefix:abc") > 0  # the prefix too
    assert throttle.retry_after("address:10.0.0.2", "prefix:xyz") == 0  # others are not
    clock.now += 61
    assert throttle.retry_after("address:10.0.0.1", "prefix:abc") == 0
    assert throttle.failed("address:10.0.0.1") == 1  # a new window


def test_the_table_of_keys_stays_bounded():
    throttle = FailureThrottle(limit=1, window=60, clock=Clock(), max_keys=100)
    for n in range(1000):
        throttle.failed(f"address:{n}")
    assert len(throttle._windows) == 100
    assert throttle.retry_after("address:999") > 0
