"""The read-model database: SQLite or PostgreSQL behind one small interface.

SQL is written with `?` placeholders; for PostgreSQL they become `%s`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from adapters.settings import DatabaseUrl, private_file

# Concurrent CREATE TABLE IF NOT EXISTS races in PostgreSQL: schema changes take this lock.
SCHEMA_LOCK_KEY = 157_100_001
SCRATCH_CACHE_KIB = 128 * 1024  # a scratch database's page cache
# On SQLite, the page cache while a large sort runs (KiB, `sort_cache`): SQLite's sort takes as
# much memory again as the page cache before it spills to a file, and a rebuild's scratch file
# has a large one (SCRATCH_CACHE_KIB): the process would grow by that much.
SORT_CACHE_KIB = 32 * 1024
# The views file's pages (SQLite; set when the file is made): a rebuild's copy of a new
# generation into the views goes through the WAL, written there and again into the file, and
# with 16 KB pages that takes about half the time it takes with SQLite's default of 4 KB
# (docs/performance.md, twelfth session).
VIEWS_PAGE_SIZE = 16384


class Database:
    """Connections to one database; `transaction()` is the only way to write.

    `scratch` (SQLite only): a file that one process fills and then throws away, such as a
    rebuild's tables before they are copied into the views: no journal on disk and no
    waiting for the disk at commit (a crash leaves a file nobody reads again), the file
    locked by its one connection, a larger page cache. `page_size` (SQLite only): the
    pages of a file made by this connection (one that exists keeps its own)."""

    def __init__(
        self, url: DatabaseUrl, *, scratch: bool = False, page_size: int | None = None
    ) -> None:
        self.url = url
        self.kind = url.kind
        self.scratch = scratch
        self.page_size = page_size
        if scratch and self.kind != "sqlite":
            raise ValueError("a scratch database is an SQLite file")
        self._local = threading.local()
        if self.kind == "sqlite" and not self.temporary:
            private_file(Path(url.path))  # readable by its owner only; WAL and SHM follow

    @property
    def temporary(self) -> bool:
        """An SQLite database without a name (`temporary_scratch`)."""
        return self.kind == "sqlite" and not self.url.path

    def _connect(self) -> Any:
        if self.kind == "sqlite" and self.scratch:
            conn = sqlite3.connect(self.url.path, timeout=30, isolation_level=None)
            if self.page_size:
                conn.execute(f"PRAGMA page_size={int(self.page_size)}")
            conn.execute("PRAGMA journal_mode=MEMORY")  # a failed chunk still rolls back
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute(f"PRAGMA cache_size={-SCRATCH_CACHE_KIB}")
            return conn
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.url.path, timeout=30, isolation_level=None)
            if self.page_size:  # a new file's only: an existing one keeps its own
                conn.execute(f"PRAGMA page_size={int(self.page_size)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA secure_delete=ON")  # erased data is overwritten, not freed
            return conn
        return psycopg.connect(
            host=self.url.host,
            port=self.url.port,
            user=self.url.user,
            password=self.url.password or None,
            dbname=self.url.dbname,
            autocommit=True,
            connect_timeout=10,
        )

    @property
    def connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Serialise table creation across processes (SQLite serialises writes already)."""
        if self.kind == "sqlite":
            yield
            return
        with self._connect() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))

    def purge(self, tables: Sequence[str] = ()) -> None:
        """After an erasure: no copy of what was overwritten stays behind.

        On SQLite (`secure_delete` zeroes freed cells and pages) the WAL, which still holds
        the pages as they were before, is checkpointed into the database and truncated to
        nothing. On PostgreSQL the affected tables are vacuumed (outside any transaction: the
        connection is in autocommit), so their dead row versions are removed; the server's
        own WAL files and reused free space are beyond a client's reach (README, Erasure)."""
        if self.kind == "sqlite":
            for _ in range(50):  # busy while a reader holds an older snapshot: wait it out
                row = self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if row is None or row[0] == 0:
                    return
                time.sleep(0.1)
            return
        for table in tables:
            self.connection.execute(f'VACUUM "{table}"')

    def sql(self, statement: str) -> str:
        return statement if self.kind == "sqlite" else statement.replace("?", "%s")

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """One write transaction; on SQLite it takes the write lock at once."""
        conn = self.connection
        try:
            if self.kind == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
                cursor = Cursor(self, conn.cursor())
            else:
                conn.execute("BEGIN")
                cursor = Cursor(self, conn.cursor())
            yield cursor
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the connection may be gone; discard it
                self.close()
            raise
        else:
            conn.execute("COMMIT")

    @contextmanager
    def schema_transaction(self) -> Iterator[Cursor]:
        """`transaction` for making tables: on PostgreSQL the statements that take no
        parameters and answer no rows (CREATE, ALTER, an INSERT ... SELECT) are sent together,
        one round trip, just before the next statement that reads or takes parameters and at
        the end, in the order given; a read still sees every statement sent before it. The
        read models' hundred-odd statements at every start took 0.2-0.35 s one at a time."""
        with self.transaction() as cursor:
            if self.kind == "sqlite":  # SQLite's execute takes one statement
                yield cursor
                return
            batched = _BatchedCursor(self, cursor.raw)
            yield batched
            batched.flush()

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        cur = self.connection.cursor()
        try:
            cur.execute(self.sql(statement), tuple(params))
            return list(cur.fetchall())
        except (sqlite3.Error, psycopg.Error):
            if self.kind == "postgresql":
                self.close()
            raise

    def query_chunks(
        self, statement: str, params: Sequence[Any] = (), size: int = 10_000
    ) -> Iterator[list[tuple]]:
        """The rows, `size` at a time: a result too large to hold whole as Python tuples (a
        city's keys) read without holding it whole."""
        cur = self.connection.cursor()
        try:
            cur.execute(self.sql(statement), tuple(params))
            while rows := cur.fetchmany(size):
                yield list(rows)
        except (sqlite3.Error, psycopg.Error):
            if self.kind == "postgresql":
                self.close()
            raise
        finally:
            cur.close()

    def query_one(self, statement: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = self.query(statement, params)
        return rows[0] if rows else None

    def table_exists(self, name: str) -> bool:
        if self.kind == "sqlite":
            statement = "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?"
        else:
            statement = "SELECT 1 FROM information_schema.tables WHERE table_name=?"
        return self.query_one(statement, (name,)) is not None


class Cursor:
    """A cursor inside a transaction, speaking `?` placeholders on both databases."""

    def __init__(self, db: Database, raw: Any) -> None:
        self.db = db
        self.raw = raw

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(self.db.sql(statement), tuple(params))
        return self

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        self.raw.executemany(self.db.sql(statement), [tuple(r) for r in rows])
        return self

    def fetchone(self) -> tuple | None:
        return self.raw.fetchone()

    def fetchall(self) -> list[tuple]:
        return list(self.raw.fetchall())

    @property
    def rowcount(self) -> int:
        return self.raw.rowcount

    def copy_in(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Rows into a PostgreSQL table, in `columns`' order, as one `COPY ... FROM STDIN`
        stream (psycopg's `Cursor.copy`), not a statement per row. (SQLite copies between
        files with INSERT ... SELECT from an attached file: `consumers.runner.copy_generation`.)"""
        names = ", ".join(columns)
        with self.raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def temporary_scratch() -> Database:
    """A scratch database (`Database`'s `scratch`) in an SQLite file without a name: SQLite
    makes it in its temporary directory (`SQLITE_TMPDIR`, else `TMPDIR`, else /var/tmp) and
    unlinks it as it opens it, so it is gone when its connection closes or its process ends,
    killed too, and no other process can open it."""
    return Database(DatabaseUrl(url="sqlite://", kind="sqlite", path=""), scratch=True)


@contextmanager
def sort_cache(cur: Cursor) -> Iterator[None]:
    """A smaller page cache while the statements inside sort many rows (SQLite; PostgreSQL
    sorts in its own `maintenance_work_mem`): an index made, rows inserted in a key's order."""
    if cur.db.kind != "sqlite":
        yield
        return
    cache = cur.execute("PRAGMA cache_size").fetchone()[0]
    cur.execute(f"PRAGMA cache_size={-SORT_CACHE_KIB}")
    try:
        yield
    finally:
        cur.execute(f"PRAGMA cache_size={int(cache)}")


class _BatchedCursor(Cursor):
    """A PostgreSQL cursor that holds back statements without parameters or rows until the
    next one that has either, then sends them as one (`Database.schema_transaction`)."""

    _DEFERRED = ("CREATE ", "ALTER ", "DROP ", "COMMENT ")

    def __init__(self, db: Database, raw: Any) -> None:
        super().__init__(db, raw)
        self._held: list[str] = []

    def flush(self) -> None:
        if self._held:
            statements, self._held = self._held, []
            self.raw.execute(";\n".join(statements))  # no parameters: several statements

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        text = statement.lstrip()
        rowless = text.upper().startswith(self._DEFERRED) or (
            text.upper().startswith("INSERT ") and "RETURNING" not in text.upper()
        )
        if not params and rowless and "%" not in text:
            self._held.append(text)
            return self
        self.flush()
        return super().execute(statement, params)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        self.flush()
        return super().executemany(statement, rows)

    @property
    def rowcount(self) -> int:
        self.flush()
        return self.raw.rowcount
