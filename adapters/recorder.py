"""The event store's recorders: eventsourcing's own, extended to write new personal keys in
the same transaction as the first events encrypted with them.

Wired in through eventsourcing's persistence setting `APPLICATION_RECORDER_TOPIC` (see
`adapters.settings.DatabaseUrl.eventsourcing_env`). The extension point is the recorder's
`_insert_events(cursor, stored_events)`, which both recorders run inside the events'
transaction and which eventsourcing's own process recorders override the same way; it is not
part of the library's documented interface, so eventsourcing is pinned to the exact version
this was written against (pyproject.toml; `tests/unit/test_recorder.py` checks the pin).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

# The version whose recorder internals (`_insert_events` inside the insert transaction)
# this module relies on.
EVENTSOURCING_VERSION = "9.5.6"

KeyRow = tuple[str, str, str, str]


class UnwrittenKeys(Protocol):
    """The key store's side of the bargain (`adapters.keystore.KeyStore`)."""

    insert_statement: str

    def unwritten(self) -> list[KeyRow]: ...

    def written(self, rows: list[KeyRow]) -> None: ...

    def reconcile(self) -> None: ...


class _KeysWithEvents:
    """Mixed into a recorder: `attach_keys(keys)`, then every insert writes the keys created
    since the last one, in the same transaction, and tells the key store once committed."""

    _keys: UnwrittenKeys | None = None

    def attach_keys(self, keys: UnwrittenKeys) -> None:
        self._keys = keys
        self._rows = threading.local()

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        if self._keys is not None:
            rows = self._keys.unwritten()
            if rows:
                c.executemany(self._keys.insert_statement, rows)
            self._rows.value = rows
        return super()._insert_events(c, stored_events, **kwargs)  # type: ignore[misc]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        if self._keys is None:
            return super().insert_events(stored_events, **kwargs)  # type: ignore[misc]
        self._rows.value = []
        try:
            result = super().insert_events(stored_events, **kwargs)  # type: ignore[misc]
        except IntegrityError:
            self._keys.reconcile()
            raise
        self._keys.written(self._rows.value)
        return result


class SQLiteRecorder(_KeysWithEvents, SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, writing new keys with the events."""


class PostgresRecorder(_KeysWithEvents, PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, writing new keys with the events."""

    def attach_keys(self, keys: UnwrittenKeys) -> None:
        if self.datastore.enable_db_functions:
            # that path of the PostgreSQL recorder skips `_insert_events`: keys would be lost
            raise RuntimeError("POSTGRES_ENABLE_DB_FUNCTIONS is not supported by the key store")
        super().attach_keys(keys)
