"""Fresh throw-away databases for each benchmark: SQLite files in a temp dir, or PostgreSQL."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg

from adapters.codec import new_master_key, parse_master_key
from adapters.db import Database
from adapters.settings import DatabaseUrl, Settings
from adapters.store_schema import ensure_migrated

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def migrated(url: DatabaseUrl) -> DatabaseUrl:
    """The store with its own tables made (the event chain's links, the counts), as
    `open_casework` makes them for the deployed application: every application on the
    project's recorder writes them, the plain `Casework(env)` and a raw one too."""
    store = Database(url)
    try:
        ensure_migrated(store)
    finally:
        store.close()
    return url


class Workspace:
    """Hands out new database URLs and removes all of them at the end."""

    def __init__(self, store_kind: str = "sqlite", views_kind: str = "sqlite") -> None:
        self.store_kind = store_kind
        self.views_kind = views_kind
        self.dir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
        self.pg_admin = DatabaseUrl.parse(
            os.environ.get("CASEWORK_BENCH_PG") or PG_DEFAULT, "CASEWORK_BENCH_PG"
        )
        self.databases: list[str] = []
        # One master key for every store of the run (CASEWORK_MASTER_KEY of `env`): the
        # processes a benchmark starts must read the personal keys its own code wrote.
        self.master_key_text = new_master_key()
        self.master_key = parse_master_key(self.master_key_text)

    def _admin(self) -> psycopg.Connection:
        url = self.pg_admin
        return psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.user,
            password=url.password or None,
            dbname=url.dbname,
            autocommit=True,
            connect_timeout=10,
        )

    def url(self, kind: str, label: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{self.dir / label}.db"
        return self.create_database(f"cwbench_{label}_{uuid.uuid4().hex[:8]}")

    @property
    def pg_server(self) -> str:
        return f"{self.pg_admin.host}:{self.pg_admin.port}"

    def pg_url(self, name: str) -> str:
        admin = self.pg_admin
        auth = admin.user + (f":{admin.password}" if admin.password else "")
        return f"postgresql://{auth}@{admin.host}:{admin.port}/{name}"

    def create_database(self, name: str, template: str | None = None, keep: bool = False) -> str:
        """A new database on the PostgreSQL server (a copy of `template` if given), dropped
        at the end unless `keep`; answers its URL."""
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        if not keep:
            self.databases.append(name)
        return self.pg_url(name)

    def database_exists(self, name: str) -> bool:
        with self._admin() as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return found.fetchone() is not None

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def rename_database(self, name: str, to: str) -> None:
        with self._admin() as conn:
            conn.execute(f"ALTER DATABASE {name} RENAME TO {to}")

    def database_size(self, name: str) -> int:
        with self._admin() as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
            return int(row[0]) if row else 0

    def store(self, label: str) -> DatabaseUrl:
        return DatabaseUrl.parse(self.url(self.store_kind, label), "CASEWORK_STORE")

    def migrated_store(self, label: str) -> DatabaseUrl:
        """`store`, its own tables made (`migrated`): for an application opened without
        `open_casework`."""
        return migrated(self.store(label))

    def env(self, label: str, kafka: str | None = None, partitions: int = 6) -> dict[str, str]:
        """The CASEWORK_* environment of one deployment with its own store and read models."""
        env = {
            "CASEWORK_STORE": self.url(self.store_kind, f"{label}_store"),
            "CASEWORK_VIEWS": self.url(self.views_kind, f"{label}_views"),
            "CASEWORK_SECRET_KEY": "bench-secret",
            "CASEWORK_MASTER_KEY": self.master_key_text,
            "CASEWORK_SIGNING_KEY": self.master_key_text[::-1],  # any 32 bytes: a bench key
            "CASEWORK_PARTITIONS": str(partitions),
            "CASEWORK_LOG_LEVEL": "WARNING",
        }
        if kafka:
            env["CASEWORK_KAFKA"] = kafka
        return env

    @staticmethod
    def settings(env: dict[str, str]) -> Settings:
        return Settings.from_env(env)

    def close(self) -> None:
        if self.databases:
            with self._admin() as conn:
                for name in self.databases:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
