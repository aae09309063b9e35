"""The relay's liveness in `casework_relay_state` (`adapters.relay_store`), read by `/healthz`
and `/status` to tell a relay that is gone or stuck:

- `seen_at`: when the relay holding the lease last said it is alive (unix seconds), written
  about every second by its heartbeat, also while the broker does not answer;
- `progress_at`: when it last moved its position or found nothing left to publish.

Both are NULL until a relay of this version runs. Idempotent (a column is added only when
missing); forward only.
"""

import sqlite3

from yoyo import step

TABLE = "casework_relay_state"
COLUMNS = ("seen_at", "progress_at")


def apply(conn):
    cursor = conn.cursor()
    if isinstance(conn, sqlite3.Connection):
        cursor.execute(f"PRAGMA table_info({TABLE})")
        present = {row[1] for row in cursor.fetchall()}
    else:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s",
            (TABLE,),
        )
        present = {row[0] for row in cursor.fetchall()}
    for column in COLUMNS:
        if column not in present:
            cursor.execute(f"ALTER TABLE {TABLE} ADD COLUMN {column} DOUBLE PRECISION")


step(apply)
