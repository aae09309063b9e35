"""The store-side tables as the code made them before migrations: the key store, the relay's
state and lease, idempotency keys and the access log (append-only: triggers on SQLite and
PostgreSQL, plus REVOKE on PostgreSQL).

Every statement is IF NOT EXISTS (or checks first), so a store that code created is taken
over as it is. Forward only: no rollback. The `eventsourcing` tables are not here: the
event store creates its own.
"""

import sqlite3

from yoyo import step

COMMON = (
    "CREATE TABLE IF NOT EXISTS casework_personal_keys ("
    " subject VARCHAR(32) PRIMARY KEY,"
    " lookup VARCHAR(64) UNIQUE,"
    " wrapped TEXT,"
    " created_at VARCHAR(40) NOT NULL,"
    " erased_at VARCHAR(40))",
    "CREATE TABLE IF NOT EXISTS casework_key_epoch (name VARCHAR(16) PRIMARY KEY, epoch BIGINT)",
    "CREATE TABLE IF NOT EXISTS casework_relay_state ("
    " name VARCHAR(50) PRIMARY KEY, position BIGINT NOT NULL, published BIGINT NOT NULL,"
    " updated_at VARCHAR(40) NOT NULL)",
    "CREATE TABLE IF NOT EXISTS casework_relay_lease ("
    " name VARCHAR(50) PRIMARY KEY, owner VARCHAR(100) NOT NULL,"
    " expires_at DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS casework_idempotency ("
    " key VARCHAR(200) NOT NULL, actor_id VARCHAR(100) NOT NULL,"
    " request_hash VARCHAR(64) NOT NULL, status VARCHAR(10) NOT NULL,"
    " code INTEGER, body TEXT, created_at VARCHAR(40) NOT NULL,"
    " PRIMARY KEY (actor_id, key))",
)

ACCESS_LOG_COLUMNS = (
    " at VARCHAR(40) NOT NULL, actor_id VARCHAR(100) NOT NULL, actor_role VARCHAR(40) NOT NULL,"
    " actor_opd VARCHAR(100), channel VARCHAR(10) NOT NULL, endpoint VARCHAR(200) NOT NULL,"
    " household_id VARCHAR(36), nik_hash VARCHAR(64), subject_hashes TEXT, reason TEXT,"
    " prev_hash VARCHAR(64) NOT NULL, row_hash VARCHAR(64) NOT NULL)"
)
ACCESS_LOG_INDEX = (
    "CREATE INDEX IF NOT EXISTS casework_access_log_actor_at ON casework_access_log (actor_id, at)"
)

SQLITE = (
    "CREATE TABLE IF NOT EXISTS casework_access_log (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    + ACCESS_LOG_COLUMNS,
    ACCESS_LOG_INDEX,
    "CREATE TRIGGER IF NOT EXISTS casework_access_log_no_update"
    " BEFORE UPDATE ON casework_access_log"
    " BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS casework_access_log_no_delete"
    " BEFORE DELETE ON casework_access_log"
    " BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END",
)

POSTGRESQL = (
    "CREATE TABLE IF NOT EXISTS casework_access_log (id BIGSERIAL PRIMARY KEY,"
    + ACCESS_LOG_COLUMNS,
    ACCESS_LOG_INDEX,
    "CREATE OR REPLACE FUNCTION casework_access_log_refuse() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'access log is append-only'; END $$",
)
POSTGRESQL_TRIGGERS = {
    "casework_access_log_no_update_delete": (
        "BEFORE UPDATE OR DELETE ON casework_access_log FOR EACH ROW"
    ),
    "casework_access_log_no_truncate": "BEFORE TRUNCATE ON casework_access_log FOR EACH STATEMENT",
}


def apply(conn):
    cursor = conn.cursor()
    for statement in COMMON:
        cursor.execute(statement)
    if isinstance(conn, sqlite3.Connection):
        for statement in SQLITE:
            cursor.execute(statement)
        return
    for statement in POSTGRESQL:
        cursor.execute(statement)
    for name, when in POSTGRESQL_TRIGGERS.items():
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(
                f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION casework_access_log_refuse()"
            )
    # The owner keeps its rights, but no other role gets UPDATE/DELETE by default.
    cursor.execute("REVOKE UPDATE, DELETE, TRUNCATE ON casework_access_log FROM PUBLIC")


step(apply)
