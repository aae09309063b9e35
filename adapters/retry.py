"""The retry policies of every process, defined once (tenacity).

`reconnecting(stop)`: a service's broker connection (or any step of a service loop) is
tried again and again, waiting 0.5 s, then twice as long each time up to 10 s, until it
works (the next failure starts at 0.5 s again) or the service's stop event is set; then
the policy gives up quietly (None). The waits are waits on the stop event, so a stopping
service never sleeps out its back-off.

`transient(attempts)`: an operation on a database that may be busy or down for a moment
is tried `attempts` times (forever when None), waiting 0.2 s, then twice as long each
time up to 5 s; after the last attempt its error is raised as it was. With a stop event,
it gives up quietly (None) as soon as the event is set.

`contended(attempts, within)`: an operation that lost a race with another writer (its
optimistic save found the stream changed since it was read) is tried again at once, then
after a short random wait (up to 5 ms, 10 ms, ... at most 0.2 s: writers that collided do
not collide again in step), `attempts` times in all or until `within` seconds have passed
since the first try, whichever comes first; then its error is raised as it was. Not logged:
an expected race, not trouble.

Only the kind of an error is logged, never its text: a database's message may quote
the row it refused, which can hold personal data.

A function a policy retries with a stop event should return at once when the event is
set: after a wait the event cut short, tenacity makes one more attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kafka.errors import KafkaError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
    stop_never,
    stop_when_event_set,
    wait_exponential,
    wait_random_exponential,
)

log = logging.getLogger("casework.retry")

RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 10.0
TRANSIENT_FIRST_SECONDS = 0.2
TRANSIENT_MAX_SECONDS = 5.0
CONTENDED_FIRST_SECONDS = 0.0025
CONTENDED_MAX_SECONDS = 0.2

Errors = type[BaseException] | tuple[type[BaseException], ...]
Sleep = Callable[[float], Any]
Describe = str | Callable[[], str]


def _log_error_kind(logger: logging.Logger, what: Describe) -> Callable[[RetryCallState], None]:
    """Before each wait: what failed, the error's type (never its text) and the wait."""

    def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        logger.warning(
            "%s (%s); retrying in %.1f s",
            what() if callable(what) else what,
            type(error).__name__,
            state.upcoming_sleep,
        )

    return before_sleep


def _quiet_when_stopped(stop: threading.Event | None) -> Callable[[RetryCallState], Any]:
    """When the policy gives up: None if the stop event is set, else the last error raised."""

    def give_up(state: RetryCallState) -> Any:
        if stop is not None and stop.is_set():
            return None
        if state.outcome is None:  # never: tenacity gives up only after an attempt
            raise RuntimeError("gave up before any attempt")
        return state.outcome.result()  # raises the last attempt's error

    return give_up


def reconnecting(
    stop: threading.Event,
    *,
    errors: Errors = KafkaError,
    what: Describe = "kafka unavailable",
    after: Callable[[RetryCallState], Any] | None = None,
    logger: logging.Logger = log,
    sleep: Sleep | None = None,
) -> Retrying:
    """Retry `errors` until the call works or `stop` is set (then the call returns None).

    `after` runs after each failed attempt (to drop a broken connection); `sleep` waits
    on the stop event unless given (a test's fake)."""
    return Retrying(
        retry=retry_if_exception_type(errors),
        wait=wait_exponential(multiplier=RECONNECT_FIRST_SECONDS, max=RECONNECT_MAX_SECONDS),
        stop=stop_when_event_set(stop),
        sleep=sleep or stop.wait,
        after=after,
        before_sleep=_log_error_kind(logger, what),
        retry_error_callback=_quiet_when_stopped(stop),
    )


def transient(
    attempts: int | None,
    *,
    errors: Errors,
    except_for: Errors = (),
    what: Describe | None = "database busy or down",
    seconds: float | None = None,
    first: float = TRANSIENT_FIRST_SECONDS,
    stop: threading.Event | None = None,
    logger: logging.Logger = log,
    sleep: Sleep | None = None,
) -> Retrying:
    """Retry `errors` (but not `except_for`) up to `attempts` times (forever when None)
    and within `seconds` (when given), waiting `first` seconds, then twice as long each
    time up to 5 s; then the last error is raised. With `stop`: the waits are waits on it,
    and once it is set the call returns None. `what=None` retries without logging (an
    expected race, not trouble)."""
    stops = []
    if attempts is not None:
        stops.append(stop_after_attempt(attempts))
    if seconds is not None:
        stops.append(stop_after_delay(seconds))
    if stop is not None:
        stops.append(stop_when_event_set(stop))
    retry = retry_if_exception_type(errors)
    if except_for:
        retry = retry & retry_if_not_exception_type(except_for)
    return Retrying(
        retry=retry,
        wait=wait_exponential(multiplier=first, max=TRANSIENT_MAX_SECONDS),
        stop=stop_any(*stops) if stops else stop_never,
        sleep=sleep or (stop.wait if stop is not None else time.sleep),
        before_sleep=None if what is None else _log_error_kind(logger, what),
        retry_error_callback=_quiet_when_stopped(stop),
    )


def contended(
    attempts: int, *, errors: Errors, within: float | None = None, sleep: Sleep | None = None
) -> Retrying:
    """Retry `errors` (a write that lost a race) up to `attempts` times in all (and, with
    `within`, no longer than that many seconds after the first try), waiting a random while
    up to 5 ms, then up to twice as long each time (at most 0.2 s); then the last error is
    raised as it was."""
    stop = stop_after_attempt(attempts)
    if within is not None:
        stop = stop_any(stop, stop_after_delay(within))
    return Retrying(
        retry=retry_if_exception_type(errors),
        wait=wait_random_exponential(multiplier=CONTENDED_FIRST_SECONDS, max=CONTENDED_MAX_SECONDS),
        stop=stop,
        sleep=sleep or time.sleep,
        reraise=True,
    )
