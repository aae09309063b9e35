"""The store's event counts (`adapters.relay_store.COUNTS`), kept by the recorder in the
events' own transaction, so `/healthz`, `/status` and `/metrics` read two rows instead of
counting every event on each call.

Rows: `all` (every stored event) and `published` (the events of streams the relay
publishes: all but `domain.streams.PRIVATE_STREAM_TYPES`). A store that already holds events
gets them counted here, once. Idempotent: the rows are inserted only when missing. Forward
only: no rollback. Stop processes of an earlier version before starting this one: their
recorder would store events without counting them.
"""

import sqlite3

from yoyo import step

from adapters.relay_store import COUNTS, counted_topics_clause

CREATE = (
    f"CREATE TABLE IF NOT EXISTS {COUNTS} ( name VARCHAR(20) PRIMARY KEY, events BIGINT NOT NULL)"
)


def apply(conn):
    sqlite = isinstance(conn, sqlite3.Connection)
    table, mark = ("stored_events", "?") if sqlite else ("casework_events", "%s")
    cursor = conn.cursor()
    cursor.execute(CREATE)
    cursor.execute(f"SELECT COUNT(*) FROM {COUNTS}")
    if cursor.fetchone()[0]:
        return  # counted already
    if sqlite:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,))
    else:
        cursor.execute(
            "SELECT 1 FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_name=%s",
            (table,),
        )
    every = published = 0
    if cursor.fetchone() is not None:  # events stored before this migration: counted once
        clause, params = counted_topics_clause(mark)
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {clause} THEN 1 ELSE 0 END), 0) FROM {table}",
            params,
        )
        every, published = (int(value) for value in cursor.fetchone())
    cursor.executemany(
        f"INSERT INTO {COUNTS} (name, events) VALUES ({mark}, {mark})",
        [("all", every), ("published", published)],
    )


step(apply)
