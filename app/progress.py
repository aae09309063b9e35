"""A progress bar for long CLI runs (`casework seed`, `casework import`): on a terminal, the
bar with the rate and the time left; otherwise a log line every tenth."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

log = logging.getLogger("casework.progress")


def time_left(done: int, total: int, rate: float) -> str:
    """The time left at this rate, as `m:ss` (or `h:mm:ss`); `?` before any progress."""
    if rate <= 0 or done <= 0:
        return "?"
    seconds = int(max(total - done, 0) / rate)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """A progress bar on a terminal (done/total, rate per second, time left); a log line
    every tenth otherwise. `listener` also hears every update (the import's progress page)."""

    def __init__(
        self,
        total: int,
        label: str,
        interactive: bool,
        unit: str = "",
        listener: Callable[[int, int, float], None] | None = None,
    ) -> None:
        self.total, self.label, self.interactive = max(total, 1), label, interactive
        self.unit = f" {unit}" if unit else ""
        self.listener = listener
        self.started = time.monotonic()
        self.last_tenth = -1

    def rate(self, done: int) -> float:
        return done / max(time.monotonic() - self.started, 1e-6)

    def line(self, done: int, events: int | None = None) -> str:
        """`done/total unit (rate/s[, events, events/s], time left)`."""
        rate = self.rate(done)
        text = f"{done:,}/{self.total:,}{self.unit} ({rate:,.0f}/s"
        if events is not None:
            elapsed = max(time.monotonic() - self.started, 1e-6)
            text += f", {events:,} events, {events / elapsed:,.0f} events/s"
        return text + f", {time_left(done, self.total, rate)} left)"

    def update(self, done: int, events: int | None = None) -> None:
        """`events`: how many events the work stored so far (the seed shows their rate)."""
        if self.listener is not None:
            self.listener(done, self.total, self.rate(done))
        if self.interactive:
            width = 30
            filled = width * min(done, self.total) // self.total
            sys.stderr.write(
                f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.line(done, events)}"
            )
            sys.stderr.flush()
            if done >= self.total:
                sys.stderr.write("\n")
        elif (tenth := 10 * done // self.total) != self.last_tenth:
            self.last_tenth = tenth
            log.info("%s: %s", self.label, self.line(done, events))
