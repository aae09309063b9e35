"""The relay's tables in the store database, and what reads the store's own event table.

`casework_relay_state`: per relay name, the last position published and the number of events
published so far, and the relay's liveness (`Liveness`, migration 0010): when the relay holding
the lease last said it is alive (`seen_at`, its heartbeat) and when it last made progress
(`progress_at`: moved its position, or found nothing left to publish).
`casework_relay_lease`: which relay may publish (`Lease`).
`casework_event_counts` (`COUNTS`): how many events the store holds, all and published ones,
kept by the recorder (`adapters.recorder`) in each insert's own transaction, so no reader
counts the events table. All are created by the store's migrations (`adapters.store_schema`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from adapters.db import Cursor, Database
from domain.streams import PRIVATE_TOPIC_PREFIXES, is_private_topic

NAME = "main"
LEASE_SECONDS = 5.0
COUNTS = "casework_event_counts"


class LeaseLost(Exception):
    """Another relay holds the lease now: this one must stop publishing."""


def events_table(store: Database) -> tuple[str, str]:
    """The `eventsourcing` table of stored events and its position column."""
    if store.kind == "sqlite":
        return "stored_events", "rowid"
    return "casework_events", "notification_id"


def counted_topics_clause(mark: str) -> tuple[str, tuple[str, ...]]:
    """SQL true for the events the relay publishes (not of a private stream), and its
    parameters (`mark`: the driver's placeholder)."""
    clause = " AND ".join(f"topic NOT LIKE {mark}" for _ in PRIVATE_TOPIC_PREFIXES)
    return clause, tuple(f"{prefix}%" for prefix in PRIVATE_TOPIC_PREFIXES)


def count_statement(kind: str) -> str:
    """The recorder's statement (its own cursor and placeholders) adding to both counts:
    parameters (events, published events)."""
    mark = "?" if kind == "sqlite" else "%s"
    return (
        f"UPDATE {COUNTS} SET events = events + CASE name WHEN 'all' THEN {mark} ELSE {mark} END"
        " WHERE name IN ('all', 'published')"
    )


def counted(topics: Iterable[str]) -> tuple[int, int]:
    """(events, published events) among stored events of these topics."""
    every = published = 0
    for topic in topics:
        every += 1
        published += not is_private_topic(topic)
    return every, published


def store_counts(store: Database) -> tuple[int, int]:
    """(number of stored events to publish, highest position) in the event store.

    The events of private streams (accounts and tokens, `domain.streams`) are never
    published, so they are not counted: the relay's and every view's lag is measured
    against what they will ever see. The highest position counts every event (the relay's
    position passes over private ones). Two indexed reads, whatever the store's size: the
    count the recorder keeps (`COUNTS`) and the highest notification id.
    """
    table, column = events_table(store)
    if not store.table_exists(table):
        return 0, 0
    count = "0"
    if store.table_exists(COUNTS):
        count = f"(SELECT events FROM {COUNTS} WHERE name='published')"
    row = store.query_one(
        f"SELECT COALESCE({count}, 0), (SELECT COALESCE(MAX({column}), 0) FROM {table})"
    )
    return int(row[0]), int(row[1])


def highest_published(store: Database) -> int:
    """The highest position of an event the relay publishes (0 for none). The store's highest
    position can be a private stream's event (an account's, a token's) that no consumer ever
    sees; the walk back from the end passes over those only."""
    table, column = events_table(store)
    if not store.table_exists(table):
        return 0
    clause, params = counted_topics_clause("?")
    row = store.query_one(
        f"SELECT {column} FROM {table} WHERE {clause} ORDER BY {column} DESC LIMIT 1", params
    )
    return int(row[0]) if row else 0


def relay_state(store: Database) -> tuple[int, int]:
    """(last position published, events published) by the relay; zeros before its first run."""
    if not store.table_exists("casework_relay_state"):
        return 0, 0
    row = store.query_one(
        "SELECT position, published FROM casework_relay_state WHERE name=?", (NAME,)
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)


def record_position(
    cur: Cursor, position: int, published: int, at: str, now: float | None = None
) -> None:
    """Inside a write transaction: the relay's progress (also its liveness: it is alive and
    moving)."""
    now = time.time() if now is None else now
    cur.execute(
        "INSERT INTO casework_relay_state"
        " (name, position, published, updated_at, seen_at, progress_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
        " position=excluded.position, published=excluded.published,"
        " updated_at=excluded.updated_at, seen_at=excluded.seen_at,"
        " progress_at=excluded.progress_at",
        (NAME, position, published, at, now, now),
    )


def mark_alive(cur: Cursor, owner: str, at: str, *, progress: bool = False) -> bool:
    """Inside a write transaction: the relay `owner` is alive (and, with `progress`, has
    nothing left to publish: as good as progress), written only while the lease row still
    names it, so a relay that lost its lease never speaks for the one that holds it. Whether
    it was written."""
    now = time.time()
    cur.execute(
        "INSERT INTO casework_relay_state (name, position, published, updated_at)"
        " VALUES (?, 0, 0, ?) ON CONFLICT (name) DO NOTHING",
        (NAME, at),
    )
    cur.execute(
        "UPDATE casework_relay_state SET seen_at=?,"
        " progress_at=CASE WHEN ? = 1 THEN ? ELSE progress_at END"
        " WHERE name=? AND EXISTS"
        " (SELECT 1 FROM casework_relay_lease WHERE name=? AND owner=?)",
        (now, 1 if progress else 0, now, NAME, NAME, owner),
    )
    return cur.rowcount == 1


@dataclass(frozen=True)
class Liveness:
    """What the relay last said of itself (unix seconds; None: no relay of this version ran)."""

    seen_at: float | None
    progress_at: float | None


def relay_liveness(store: Database) -> Liveness:
    """The relay's heartbeat and last progress: one lookup by primary key."""
    if not store.table_exists("casework_relay_state"):
        return Liveness(None, None)
    row = store.query_one(
        "SELECT seen_at, progress_at FROM casework_relay_state WHERE name=?", (NAME,)
    )
    if row is None:
        return Liveness(None, None)
    return Liveness(
        float(row[0]) if row[0] is not None else None,
        float(row[1]) if row[1] is not None else None,
    )


def stored_after(store: Database, table: tuple[str, str], position: int) -> bool:
    """Whether the store holds an event after this position (one indexed lookup)."""
    name, column = table
    return (
        store.query_one(f"SELECT 1 FROM {name} WHERE {column}>? LIMIT 1", (position,)) is not None
    )


class Lease:
    """The row in `casework_relay_lease` that says which relay may publish."""

    def __init__(self, db: Database, owner: str, seconds: float = LEASE_SECONDS) -> None:
        self.db = db
        self.owner = owner
        self.seconds = seconds

    def acquire(self) -> bool:
        """Take or renew the lease when it is absent, expired or already ours."""
        now = time.time()
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE casework_relay_lease SET owner=?, expires_at=?"
                " WHERE name=? AND (owner=? OR expires_at<?)",
                (self.owner, now + self.seconds, NAME, self.owner, now),
            )
            if cur.rowcount == 1:
                return True
            cur.execute(
                "INSERT INTO casework_relay_lease (name, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (NAME, self.owner, now + self.seconds),
            )
            return cur.rowcount == 1

    def confirm(self, cur: Cursor) -> None:
        """Inside a write transaction: renew the lease, or raise LeaseLost if it is not ours."""
        cur.execute(
            "UPDATE casework_relay_lease SET expires_at=? WHERE name=? AND owner=?",
            (time.time() + self.seconds, NAME, self.owner),
        )
        if cur.rowcount != 1:
            raise LeaseLost(self.holder())

    def renew(self) -> None:
        """Extend our lease; LeaseLost if another relay took it meanwhile."""
        with self.db.transaction() as cur:
            self.confirm(cur)

    def holder(self) -> str | None:
        row = self.db.query_one("SELECT owner FROM casework_relay_lease WHERE name=?", (NAME,))
        return row[0] if row else None

    def release(self) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                "DELETE FROM casework_relay_lease WHERE name=? AND owner=?", (NAME, self.owner)
            )
