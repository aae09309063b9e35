"""`Database.schema_transaction` on both databases: the statements it holds back on PostgreSQL
(no parameters, no rows) reach the database in order before any read, and one that fails
takes the whole transaction with it; nothing is half made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.db import Database
from adapters.settings import DatabaseUrl

pytestmark = pytest.mark.integration


@pytest.fixture
def views(empty_backend) -> Iterator[Database]:
    db = Database(DatabaseUrl.parse(empty_backend["CASEWORK_VIEWS"], "CASEWORK_VIEWS"))
    yield db
    db.close()


def test_a_read_sees_every_statement_before_it_in_order(views):
    with views.schema_transaction() as cur:
        cur.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b INTEGER)")
        cur.execute("INSERT INTO t (a, b) SELECT 1, 10 WHERE NOT EXISTS (SELECT 1 FROM t)")
        cur.execute("ALTER TABLE t ADD COLUMN c INTEGER")
        assert cur.execute("SELECT a, b, c FROM t").fetchall() == [(1, 10, None)]
        cur.executemany("INSERT INTO t (a, b) VALUES (?, ?)", [(2, 20), (3, 30)])
        cur.execute("CREATE INDEX IF NOT EXISTS t_b ON t (b)")
        cur.execute("UPDATE t SET c = b * 2 WHERE a > ?", (1,))
        assert cur.rowcount == 2
        cur.execute("CREATE TABLE u (x INTEGER)")  # held to the end, then sent
    assert views.query("SELECT a, c FROM t ORDER BY a") == [(1, None), (2, 40), (3, 60)]
    assert views.table_exists("u")


def test_a_held_statement_that_fails_rolls_everything_back(views):
    with pytest.raises(Exception), views.schema_transaction() as cur:  # noqa: B017 - either driver's
        cur.execute("CREATE TABLE first_one (a INTEGER)")
        cur.execute("CREATE TABLE first_one (a INTEGER)")  # exists already: fails when sent
    assert not views.table_exists("first_one")
