"""The store database's own tables, under versioned migrations (yoyo-migrations).

The migrations are the files of `adapters/migrations/`, raw SQL for SQLite and PostgreSQL
(psycopg 3, through yoyo's `postgresql+psycopg` backend); yoyo records what it applied in
its `_yoyo_*` tables of the same database. The composition root (`adapters.bootstrap`)
applies what is pending once per process start, under the store's schema lock
(`Database.schema_lock`: concurrent starts on PostgreSQL wait for each other; on SQLite,
yoyo's own lock row does that). Every migration is written to be idempotent, so a store the
code created before migrations existed is taken over as it is.

The `eventsourcing` tables are not migrated here: the event store creates its own.
"""

from __future__ import annotations

import logging

from yoyo import read_migrations
from yoyo.backends import DatabaseBackend, PostgresqlPsycopgBackend, SQLiteBackend
from yoyo.connections import DatabaseURI, parse_uri
from yoyo.migrations import default_migration_table

from adapters.db import Database
from adapters.settings import DatabaseUrl

log = logging.getLogger("casework.schema")

MIGRATIONS = "package:adapters:migrations"
LOCK_TIMEOUT_SECONDS = 60
_MIGRATED = "_casework_store_migrated"


class MigrationFailed(RuntimeError):
    """A migration could not be loaded or applied (yoyo skips a migration it cannot load)."""


def yoyo_uri(url: DatabaseUrl) -> str:
    """The store's URL as yoyo takes it (psycopg 3 for PostgreSQL)."""
    if url.kind == "sqlite":
        return url.url  # sqlite:///PATH, the same form
    return DatabaseURI(
        scheme="postgresql+psycopg",
        username=url.user or None,
        password=url.password or None,
        hostname=url.host,
        port=url.port,
        database=url.dbname,
        args={"connect_timeout": "10"},
    ).uri


def _backend(url: DatabaseUrl) -> DatabaseBackend:
    """yoyo's backend for the store, as `yoyo.get_backend` makes it but for the class, named
    here instead of looked up among the installed packages' entry points: that look-up read
    every package's metadata on each call, half of a start's migrate on a migrated store."""
    backend_class = SQLiteBackend if url.kind == "sqlite" else PostgresqlPsycopgBackend
    backend = backend_class(parse_uri(yoyo_uri(url)), default_migration_table)
    backend.init_database()
    return backend


def migrate(store: Database) -> list[str]:
    """Apply the store's pending migrations; the ids of those applied (none: [])."""
    migrations = read_migrations(MIGRATIONS)
    with store.schema_lock(), _backend(store.url) as backend:
        with backend.lock(LOCK_TIMEOUT_SECONDS):
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
            left = backend.to_apply(migrations)
    if left:
        raise MigrationFailed(f"store migrations not applied: {', '.join(m.id for m in left)}")
    applied = [m.id for m in pending]
    if applied:
        log.info("store migrated: %s", ", ".join(applied))
    setattr(store, _MIGRATED, True)
    return applied


def ensure_migrated(store: Database) -> None:
    """`migrate`, once for this Database object (the composition root's call at start)."""
    if not getattr(store, _MIGRATED, False):
        migrate(store)
