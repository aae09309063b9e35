"""The read log keeps one row per request (`adapters.access_log`): `household_id` holds the
ids of every household the request showed, comma separated, so on PostgreSQL it becomes
TEXT (it was VARCHAR(36): one household per row). SQLite does not enforce the length: nothing
to change there. Rows written before keep their values, so their hashes still hold and they
are read as they are (a single id is a list of one). Altering a column's type fires none of
the table's append-only triggers. Idempotent; forward only.
"""

import sqlite3

from yoyo import step


def apply(conn):
    if isinstance(conn, sqlite3.Connection):
        return
    cursor = conn.cursor()
    cursor.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = 'casework_access_log' AND column_name = 'household_id'"
    )
    row = cursor.fetchone()
    if row is not None and row[0] != "text":
        cursor.execute("ALTER TABLE casework_access_log ALTER COLUMN household_id TYPE TEXT")


step(apply)
