"""When each API token was last used, kept cheap: not an event per request but one row per
token id (the start of the token's hash, never the token) in `casework_token_use`, in the
store database (made by its migrations).

A web process writes a token's row at most once per `EVERY_SECONDS` (it remembers when it
last wrote each id), so "last used" is exact to within an hour: a busy token costs one
UPDATE an hour per process, not one per request.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from adapters.db import Database
from adapters.store_schema import ensure_migrated

TABLE = "casework_token_use"
EVERY_SECONDS = 3600.0
_REMEMBERED = 10_000  # ids remembered per process; beyond that the memory starts afresh


class TokenUse:
    def __init__(self, store: Database, every_seconds: float = EVERY_SECONDS) -> None:
        self.store = store
        self.every_seconds = every_seconds
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, token_id: str, now: dt.datetime | None = None) -> bool:
        """Note a use of this token; True when its row was written (else it was recent)."""
        tick = time.monotonic()
        with self._lock:
            last = self._written.get(token_id)
            if last is not None and tick - last < self.every_seconds:
                return False
            if len(self._written) >= _REMEMBERED:
                self._written.clear()
            self._written[token_id] = tick
        at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        stamp = at.isoformat(timespec="seconds").replace("+00:00", "Z")
        ensure_migrated(self.store)
        with self.store.transaction() as cur:
            cur.execute(
                f"INSERT INTO {TABLE} (token_id, last_used_at) VALUES (?, ?)"
                " ON CONFLICT (token_id) DO UPDATE SET last_used_at=excluded.last_used_at",
                (token_id, stamp),
            )
        return True


def last_used(store: Database) -> dict[str, str]:
    """Token id -> when it was last used (RFC 3339, UTC), for `casework tokens list`."""
    ensure_migrated(store)
    return {row[0]: row[1] for row in store.query(f"SELECT token_id, last_used_at FROM {TABLE}")}
