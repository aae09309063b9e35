"""One stream's stored events with their store positions (notification ids), read from the
`eventsourcing` events table: what a reader needs to build the envelopes of one household
exactly as the relay publishes them (`adapters.wire.from_notification`), without scanning the
whole store."""

from __future__ import annotations

import uuid

from eventsourcing.persistence import Notification

from adapters.db import Database
from adapters.relay_store import events_table


def stream_notifications(
    store: Database, stream_id: uuid.UUID | str, upto: int | None = None
) -> list[Notification]:
    """The stream's events in version order, each as a Notification carrying its position;
    only those at or below `upto` when given."""
    table, column = events_table(store)
    statement = (
        f"SELECT {column}, originator_id, originator_version, topic, state FROM {table}"
        " WHERE originator_id = ?"
    )
    key = uuid.UUID(str(stream_id))
    # eventsourcing keeps SQLite's ids as 32 hex digits, PostgreSQL's as its uuid type
    params: list[object] = [key.hex if store.kind == "sqlite" else str(key)]
    if upto is not None:
        statement += f" AND {column} <= ?"
        params.append(int(upto))
    statement += " ORDER BY originator_version"
    rows = store.query(statement, params)
    return [
        Notification(
            id=int(position),
            originator_id=uuid.UUID(str(originator)),
            originator_version=int(version),
            topic=str(topic),
            state=bytes(state),
        )
        for position, originator, version, topic, state in rows
    ]
