"""Slowing down guessing: after `limit` failures of one key (an address, a token prefix, an
account) within `window` seconds, that key is refused until the window ends.

Refusing is an answer (429 with Retry-After), never a sleep: a flood of requests cannot tie
up the web's threads. The counts live in the web process (each worker counts its own), in a
bounded table: beyond `max_keys` the oldest windows are dropped.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

LIMIT = 10
WINDOW_SECONDS = 60.0
MAX_KEYS = 50_000


class FailureThrottle:
    def __init__(
        self,
        limit: int = LIMIT,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()  # key -> (start, n)
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds until every key may try again; 0 when none is blocked."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                found = self._windows.get(key)
                if found is None:
                    continue
                start, count = found
                if now - start >= self.window:
                    del self._windows[key]
                elif count >= self.limit:
                    wait = max(wait, start + self.window - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *keys: str) -> int:
        """Count a failure against each key; the highest count within its window."""
        now = self.clock()
        highest = 0
        with self._lock:
            for key in keys:
                start, count = self._windows.pop(key, (now, 0))
                if now - start >= self.window:
                    start, count = now, 0
                self._windows[key] = (start, count + 1)
                highest = max(highest, count + 1)
            while len(self._windows) > self.max_keys:
                self._windows.popitem(last=False)
        return highest
