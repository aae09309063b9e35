"""One stream's stored events with their store positions (notification ids), read from the
`eventsourcing` events table: what a reader needs to build the envelopes of one household
exactly as the relay publishes them (`adapters.wire.from_notification`), without scanning the
whole store."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from eventsourcing.persistence import Notification

from adapters.db import Database
from adapters.relay_store import events_table
from domain.streams import is_private_topic


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


def events_at(store: Database, positions: Iterable[int]) -> dict[int, Notification]:
    """The events at these store positions, by position, without their state (`state` is
    empty: what an answer's reasons name is which event, not what it holds); a position
    with no event, or one of a private stream (accounts, tokens), is left out. One
    statement per `_AT_ONCE` positions."""
    wanted = sorted({int(p) for p in positions})
    table, column = events_table(store)
    found: dict[int, Notification] = {}
    for at in range(0, len(wanted), _AT_ONCE):
        part = wanted[at : at + _AT_ONCE]
        rows = store.query(
            f"SELECT {column}, originator_id, originator_version, topic FROM {table}"
            f" WHERE {column} IN ({', '.join('?' for _ in part)})",
            part,
        )
        for position, originator, version, topic in rows:
            if is_private_topic(str(topic)):
                continue
            found[int(position)] = Notification(
                id=int(position),
                originator_id=uuid.UUID(str(originator)),
                originator_version=int(version),
                topic=str(topic),
                state=b"",
            )
    return found


_AT_ONCE = 500  # positions per statement of `events_at`
