"""The store's migrations (adapters.store_schema) on SQLite and PostgreSQL: a fresh store gets
every table, applying twice changes nothing, a store made by the code before migrations is
taken over with its rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.access_log import Read, append, reads_of
from adapters.db import Database
from adapters.settings import DatabaseUrl
from adapters.store_schema import migrate
from domain.application import Actor

pytestmark = pytest.mark.integration

TABLES = {
    "casework_personal_keys",
    "casework_key_epoch",
    "casework_relay_state",
    "casework_relay_lease",
    "casework_idempotency",
    "casework_access_log",
    "casework_access_log_terms",
    "casework_token_use",
    "casework_credentials",
}
MIGRATIONS = [
    "0001_store_tables",
    "0002_event_chain",
    "0003_token_last_use",
    "0004_credentials",
    "0005_event_counts",
    "0006_access_log_one_row_per_read",
    "0007_access_log_terms",
    "0008_webhooks",
    "0009_dci",
    "0010_relay_liveness",
    "0011_dci_messages",
]

# What the code before migrations ran (KeyStore, the relay, idempotency, the access log).
_ACCESS_LOG_COLUMNS = (
    " at VARCHAR(40) NOT NULL, actor_id VARCHAR(100) NOT NULL, actor_role VARCHAR(40) NOT NULL,"
    " actor_opd VARCHAR(100), channel VARCHAR(10) NOT NULL, endpoint VARCHAR(200) NOT NULL,"
    " household_id VARCHAR(36), nik_hash VARCHAR(64), subject_hashes TEXT, reason TEXT,"
    " prev_hash VARCHAR(64) NOT NULL, row_hash VARCHAR(64) NOT NULL)"
)
BEFORE_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS casework_personal_keys ( subject VARCHAR(32) PRIMARY KEY,"
    " lookup VARCHAR(64) UNIQUE, wrapped TEXT, created_at VARCHAR(40) NOT NULL,"
    " erased_at VARCHAR(40))",
    "CREATE TABLE IF NOT EXISTS casework_key_epoch (name VARCHAR(16) PRIMARY KEY, epoch BIGINT)",
    "CREATE TABLE IF NOT EXISTS casework_relay_state ( name VARCHAR(50) PRIMARY KEY,"
    " position BIGINT NOT NULL, published BIGINT NOT NULL, updated_at VARCHAR(40) NOT NULL)",
    "CREATE TABLE IF NOT EXISTS casework_relay_lease ( name VARCHAR(50) PRIMARY KEY,"
    " owner VARCHAR(100) NOT NULL, expires_at DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS casework_idempotency ( key VARCHAR(200) NOT NULL,"
    " actor_id VARCHAR(100) NOT NULL, request_hash VARCHAR(64) NOT NULL,"
    " status VARCHAR(10) NOT NULL, code INTEGER, body TEXT, created_at VARCHAR(40) NOT NULL,"
    " PRIMARY KEY (actor_id, key))",
)
BEFORE_MIGRATIONS_SQLITE = (
    "CREATE TABLE IF NOT EXISTS casework_access_log (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    + _ACCESS_LOG_COLUMNS,
    "CREATE INDEX IF NOT EXISTS casework_access_log_actor_at ON casework_access_log (actor_id, at)",
    "CREATE TRIGGER IF NOT EXISTS casework_access_log_no_update BEFORE UPDATE ON"
    " casework_access_log BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS casework_access_log_no_delete BEFORE DELETE ON"
    " casework_access_log BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END",
)
BEFORE_MIGRATIONS_POSTGRESQL = (
    "CREATE TABLE IF NOT EXISTS casework_access_log (id BIGSERIAL PRIMARY KEY,"
    + _ACCESS_LOG_COLUMNS,
    "CREATE INDEX IF NOT EXISTS casework_access_log_actor_at ON casework_access_log (actor_id, at)",
    "CREATE OR REPLACE FUNCTION casework_access_log_refuse() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN RAISE EXCEPTION 'access log is append-only'; END $$",
    "CREATE TRIGGER casework_access_log_no_update_delete BEFORE UPDATE OR DELETE ON"
    " casework_access_log FOR EACH ROW EXECUTE FUNCTION casework_access_log_refuse()",
    "CREATE TRIGGER casework_access_log_no_truncate BEFORE TRUNCATE ON casework_access_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION casework_access_log_refuse()",
    "REVOKE UPDATE, DELETE, TRUNCATE ON casework_access_log FROM PUBLIC",
)


@pytest.fixture
def store(empty_backend) -> Iterator[Database]:
    db = Database(DatabaseUrl.parse(empty_backend["CASEWORK_STORE"], "CASEWORK_STORE"))
    yield db
    db.close()


def schema(db: Database) -> dict[str, list[tuple]]:
    """Every casework table's columns (name, type, not null), and the index and trigger names."""
    if db.kind == "sqlite":
        tables = {
            row[0]: [
                (column[1], column[2], column[3])
                for column in db.query(f"PRAGMA table_info({row[0]})")
            ]
            for row in db.query(
                "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'casework_%'"
            )
        }
        others = db.query(
            "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger')"
            " AND tbl_name LIKE 'casework_%' ORDER BY name"
        )
    else:
        tables = {}
        for name, column, kind, nullable in db.query(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND left(table_name, 9) = 'casework_'"
            " ORDER BY table_name, ordinal_position"
        ):
            tables.setdefault(name, []).append((column, kind, nullable))
        others = db.query(
            "SELECT 'index', indexname FROM pg_indexes WHERE left(tablename, 9) = 'casework_'"
            " UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal"
            " ORDER BY 2"
        )
    return {**dict(sorted(tables.items())), "": [tuple(row) for row in others]}


def refuses_updates(db: Database) -> bool:
    """Whether the access log keeps a row it was just given from UPDATE (its triggers)."""
    append(db, Actor(id="tester", role="admin"), "api", "GET /test", [Read(household_id="h")])
    try:
        with db.transaction() as cursor:
            cursor.execute("UPDATE casework_access_log SET reason = 'changed'")
    except Exception:  # noqa: BLE001 - sqlite3 or psycopg: the trigger's refusal
        return True
    return False


def without_later_tables(found: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The schema without what migrations after the first add (a store made before migrations
    existed never had it)."""
    later = (
        "casework_event_chain",
        "casework_token_use",
        "casework_credentials",
        "casework_event_counts",
        "casework_access_log_terms",
        "casework_webhook",  # casework_webhooks, _webhook_progress, _webhook_queue
        "casework_dci_",
    )
    # columns added to a table of the first migration (0010: the relay's liveness)
    later_columns = {"casework_relay_state": ("seen_at", "progress_at")}
    kept = {
        name: [c for c in columns if c[0] not in later_columns.get(name, ())]
        for name, columns in found.items()
        if not any(name.startswith(prefix) for prefix in later)
    }
    kept[""] = [row for row in found[""] if not any(name in row[1] for name in later)]
    return kept


def widened(found: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The schema as migration 0006 leaves it: the read log's `household_id` holds a list of
    ids, TEXT on PostgreSQL (SQLite does not enforce a length: unchanged there)."""
    return {
        name: [
            (column, "text", *rest)
            if name == "casework_access_log" and column == "household_id" and kind != "VARCHAR(36)"
            else (column, kind, *rest)
            for column, kind, *rest in columns
        ]
        if name
        else columns
        for name, columns in found.items()
    }


def test_a_fresh_store_gets_every_table(store):
    assert migrate(store) == MIGRATIONS
    assert TABLES <= set(schema(store))
    assert refuses_updates(store)


def test_applying_twice_changes_nothing(store):
    migrate(store)
    before = schema(store)
    assert migrate(store) == []
    assert schema(store) == before


def test_a_store_made_before_migrations_is_taken_over(store, tmp_path, pg_database):
    statements = BEFORE_MIGRATIONS + (
        BEFORE_MIGRATIONS_SQLITE if store.kind == "sqlite" else BEFORE_MIGRATIONS_POSTGRESQL
    )
    with store.transaction() as cursor:
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(
            "INSERT INTO casework_relay_state (name, position, published, updated_at)"
            " VALUES ('main', 42, 42, '2025-04-21T00:00:00Z')"
        )
        # reads logged before: one household per row, then one row per request
        for household, searched, subjects in (("h1", None, "s1,s2"), ("h2,h3", "s3", "s2")):
            cursor.execute(
                "INSERT INTO casework_access_log (at, actor_id, actor_role, channel, endpoint,"
                " household_id, nik_hash, subject_hashes, prev_hash, row_hash)"
                " VALUES ('2025-04-21T00:00:00Z', 'a', 'admin', 'ui', 'GET /', ?, ?, ?, 'p', 'r')",
                (household, searched, subjects),
            )
    before = schema(store)

    assert migrate(store) == MIGRATIONS
    # the reads logged before are found through the index of their households and of the
    # NIK searched for (a member's hash comes with their household: not indexed)
    found = {
        term: [r["household_id"] for r in reads_of(store, [term])]
        for term in ("h1", "h3", "s3", "s2")
    }
    assert found == {"h1": ["h1"], "h3": ["h2,h3"], "s3": ["h2,h3"], "s2": []}
    # nothing recreated or altered but the read log's household_id widened
    assert without_later_tables(schema(store)) == widened(before)
    assert store.query("SELECT position, published FROM casework_relay_state") == [(42, 42)]
    assert refuses_updates(store)

    fresh_url = f"sqlite:///{tmp_path}/fresh.db" if store.kind == "sqlite" else pg_database()
    fresh = Database(DatabaseUrl.parse(fresh_url, "CASEWORK_STORE"))
    try:
        migrate(fresh)
        # the same tables as a store made by the migrations
        assert schema(fresh) == schema(store)
    finally:
        fresh.close()
