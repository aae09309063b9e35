"""The event store's hash chain (`adapters.chain`): one link per stored event, keyed by its
position in the store, written by the recorder in the events' transaction.

Events stored before this migration get their links here, in position order from the
genesis, so the chain covers the whole store from its first event. Idempotent: the table
is IF NOT EXISTS and only events without a link after the last linked position are linked.
Forward only: no rollback.
"""

import sqlite3

from yoyo import step

from adapters.chain import GENESIS, TABLE, links_for

CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " position BIGINT PRIMARY KEY,"
    " prev_link VARCHAR(64) NOT NULL,"
    " link VARCHAR(64) NOT NULL)"
)


def apply(conn):
    sqlite = isinstance(conn, sqlite3.Connection)
    table, column, mark = (
        ("stored_events", "rowid", "?") if sqlite else ("casework_events", "notification_id", "%s")
    )
    cursor = conn.cursor()
    cursor.execute(CREATE)
    if sqlite:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,))
    else:
        cursor.execute("SELECT 1 FROM information_schema.tables WHERE table_name=%s", (table,))
    if cursor.fetchone() is None:
        return  # a fresh store: the recorder links every event from the first
    cursor.execute(f"SELECT position, link FROM {TABLE} ORDER BY position DESC LIMIT 1")
    head = cursor.fetchone()
    after, prev = (int(head[0]), str(head[1])) if head else (-1, GENESIS)
    cursor.execute(
        f"SELECT {column}, originator_id, originator_version, topic, state FROM {table}"
        f" WHERE {column} > {mark} ORDER BY {column}",
        (after,),
    )
    events = [(int(r[0]), r[1], int(r[2]), str(r[3]), bytes(r[4])) for r in cursor.fetchall()]
    rows = links_for(prev, events)
    if rows:
        cursor.executemany(
            f"INSERT INTO {TABLE} (position, prev_link, link) VALUES ({mark}, {mark}, {mark})",
            rows,
        )


step(apply)
