"""The sign-in throttle's window (app/login.py) and where the session cookie is `Secure`."""

from __future__ import annotations

import pytest

from app.login import Throttle, is_secure_host

WINDOW = 900.0


def test_a_key_locks_at_its_limit_and_opens_when_the_window_has_passed():
    throttle = Throttle()
    for second in range(3):
        assert throttle.seconds_locked("account:a", 3, 100.0 + second, WINDOW) == 0
        throttle.fail("account:a", 100.0 + second, WINDOW)
    assert throttle.seconds_locked("account:a", 3, 103.0, WINDOW) == pytest.approx(897.0)
    assert throttle.seconds_locked("account:b", 3, 103.0, WINDOW) == 0  # per key
    assert throttle.seconds_locked("account:a", 3, 100.0 + WINDOW, WINDOW) == 0
    throttle.fail("account:a", 2000.0, WINDOW)
    assert throttle.fail("account:a", 2001.0, WINDOW) == 2  # the old failures have expired
    throttle.clear("account:a")
    assert throttle.fail("account:a", 2002.0, WINDOW) == 1


@pytest.mark.parametrize(
    ("host", "secure"),
    [
        ("localhost", False),
        ("localhost:8000", False),
        ("127.0.0.1:8000", False),
        ("[::1]:8000", False),
        ("casework.jambikota.go.id", True),
        ("10.0.0.5:8000", True),
    ],
)
def test_the_cookie_is_secure_outside_localhost(host, secure):
    assert is_secure_host(host) is secure
