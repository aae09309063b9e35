"""The event store's recorders: eventsourcing's own, extended to write new personal keys in
the same transaction as the first events encrypted with them, and every event's link of the
hash chain (`adapters.chain`) in the same transaction as the event.

Wired in through eventsourcing's persistence setting `APPLICATION_RECORDER_TOPIC` (see
`adapters.settings.DatabaseUrl.eventsourcing_env`). The extension point is the recorder's
`_insert_events(cursor, stored_events)`, which both recorders run inside the events'
transaction and which eventsourcing's own process recorders override the same way; it is not
part of the library's documented interface, so eventsourcing is pinned to the exact version
this was written against (pyproject.toml; `tests/unit/test_recorder.py` checks the pin).

Each insert also adds its events to the store's counts (`adapters.relay_store.COUNTS`), in
the same transaction (under PostgreSQL's table lock), so `/healthz` never counts the table.

The chain's links need the events' positions (notification ids), known only after the insert:
- SQLite: the application recorder's `_insert_events` inserts the events and returns their
  rowids; the links are written right after, on the same cursor, in the same transaction
  (SQLite has one writer at a time, so the head read is the last committed link).
- PostgreSQL: `_insert_events` runs before the insert (nothing to link yet); the insert takes
  `LOCK TABLE ... IN EXCLUSIVE MODE` (eventsourcing's `_lock_table`: one inserting
  transaction at a time, notification ids committed in order), and
  `_fetch_ids_after_insert_events` returns the new notification ids still inside that
  transaction and under that lock: the links are written there, by one statement that
  reads the head and hashes in the database (`chain.PG_INSERT_LINKS`, the same hash as
  `chain.link`), so the pipelined insert waits for no extra round trip. So the chain's order is the
  store's notification order even with many concurrent writers, and a failed insert rolls
  back its links with its events.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from adapters import chain
from adapters.codec import subjects_in
from adapters.relay_store import count_statement, counted

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
    """Mixed into a recorder: `attach_keys(keys)`, then every insert writes, in the same
    transaction, the keys created and not yet stored that its events' tokens were sealed with
    (`adapters.codec.subjects_in`), and tells the key store once committed. A key made for a
    command that was then refused is not among them: it never reaches the key store with
    another command's events."""

    _keys: UnwrittenKeys | None = None

    def attach_keys(self, keys: UnwrittenKeys) -> None:
        self._keys = keys
        self._rows = threading.local()

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        if self._keys is not None:
            rows = self._keys.unwritten()
            if rows:  # only the keys these events were sealed with
                used = subjects_in(e.state for e in stored_events)
                rows = [row for row in rows if row[0] in used]
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


def _write_links(
    c: Any, kind: str, positions: Sequence[int], events: Sequence[StoredEvent]
) -> None:
    """Inside the events' transaction: their links, following the chain's head."""
    if not events:
        return
    if len(positions) != len(events):
        raise RuntimeError("the store returned no position for some event: cannot link it")
    c.execute(chain.head_statement(kind))
    head = c.fetchone()
    prev = str(head["link"]) if head is not None else chain.GENESIS
    rows = chain.links_for(
        prev,
        [
            (int(p), e.originator_id, e.originator_version, e.topic, e.state)
            for p, e in zip(positions, events, strict=True)
        ],
    )
    c.executemany(chain.insert_statement(kind), rows)


def _count(c: Any, kind: str, events: Sequence[StoredEvent]) -> None:
    """Inside the events' transaction: the store's event counts (`relay_store.COUNTS`)."""
    if events:
        c.execute(count_statement(kind), counted(e.topic for e in events))


class SQLiteRecorder(_KeysWithEvents, SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, writing new keys and the chain's links
    with the events."""

    # Off only in the benchmark's side without the chain (bench/chain.py): a store written
    # so fails `casework audit verify` at its first unlinked event.
    link_events = True

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if self.link_events:
            _write_links(c, "sqlite", positions or [], stored_events)
        _count(c, "sqlite", stored_events)
        return positions


class PostgresRecorder(_KeysWithEvents, PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, writing new keys and the chain's
    links with the events (the links under the recorder's table lock, see the module)."""

    link_events = True  # as SQLiteRecorder's

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Any:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if self.link_events and stored_events:
            if len(positions or []) != len(stored_events):
                raise RuntimeError("the store returned no position for some event: cannot link it")
            payloads = [
                chain.canonical(p, e.originator_id, e.originator_version, e.topic, e.state)
                for p, e in zip(positions, stored_events, strict=True)
            ]
            # one statement, pipelined: the database reads the head under the table lock
            curs.execute(chain.PG_INSERT_LINKS, chain.pg_links_params(list(positions), payloads))
        _count(curs, "postgresql", stored_events)
        return positions

    def attach_keys(self, keys: UnwrittenKeys) -> None:
        if self.datastore.enable_db_functions:
            # that path of the PostgreSQL recorder skips `_insert_events`: keys would be lost
            raise RuntimeError("POSTGRES_ENABLE_DB_FUNCTIONS is not supported by the key store")
        super().attach_keys(keys)
