"""A rebuild makes the indexes only readers use (`Projection.read_indexes`) after its events,
each sorted at once, instead of keeping them up to date row by row. That is only right if no
handler and no finish reads by one of them: then it would scan a table instead, which at the
city's size turns a rebuild of minutes into one of hours.

Every statement a rebuild ran before it made those indexes (traced on its SQLite
connections) is planned here against the rebuilt tables, which have every index: none may
use a read index. The workload is the cross-OPD view's randomised one (the seed's families
and histories, grants of three OPDs, suspensions, relocations, a family split, a person
helped before their NIK)."""

from __future__ import annotations

import random
import re
import sqlite3

import pytest

from adapters.bootstrap import bootstrap
from consumers.runner import rebuild
from projections.base import live_tables
from projections.catalog import PROJECTIONS
from tests.integration.test_overview import workload

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

_INDEX_NAME = re.compile(r"INDEX IF NOT EXISTS (\w+)")
_USES = re.compile(r"USING (?:COVERING )?INDEX (\w+)")
_WRITES_OR_READS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def read_index_names(views_db) -> set[str]:
    """The read indexes of every projection's live (rebuilt) generation, by name."""
    names = set()
    for projection in PROJECTIONS.values():
        tables = live_tables(views_db, projection)
        for index in projection.read_indexes:
            names.add(_INDEX_NAME.search(index.format(**tables)).group(1))
    return names


def plan(conn: sqlite3.Connection, statement: str, tables: set[str]) -> list[str]:
    """SQLite's plan of the statement, line by line (placeholders bound to NULL: the plan is
    made before any value is bound); none for a statement that also reads a rebuild's
    temporary table, dropped since (the register's staged name terms), if it is one."""
    try:
        rows = conn.execute(
            f"EXPLAIN QUERY PLAN {statement}", [None] * statement.count("?")
        ).fetchall()
    except sqlite3.OperationalError as error:
        missing = str(error).removeprefix("no such table: ")
        if missing == str(error) or missing in tables:
            raise
        return []
    return [row[-1] for row in rows]


def used(lines: list[str]) -> set[str]:
    """The indexes the plan reads."""
    return {found.group(1) for line in lines for found in _USES.finditer(line)}


def scans(lines: list[str]) -> list[str]:
    """The plan's reads of a whole table (no index narrowing them)."""
    return [line for line in lines if line.startswith("SCAN ") and " USING " not in line]


def test_no_statement_of_a_rebuilds_events_reads_an_index_made_at_its_end(
    casework, settings, views_db, monkeypatch
):
    workload(casework, random.Random(10))
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    rebuild(bootstrap(settings), list(PROJECTIONS), workers=1)
    monkeypatch.undo()

    read_indexes = read_index_names(views_db)
    assert len(read_indexes) >= 20  # every view's pages and API read some
    made = [
        at
        for at, statement in enumerate(statements)
        if (found := _INDEX_NAME.search(statement)) and found.group(1) in read_indexes
    ]
    assert made, "the rebuild made no read index at its end"
    views_tables = {
        table for p in PROJECTIONS.values() for table in live_tables(views_db, p).values()
    }
    applying = {
        s
        for s in statements[: made[0]]
        if s.lstrip().upper().startswith(_WRITES_OR_READS)
        and any(table in s for table in views_tables)  # the views', not the store's
    }
    assert len(applying) > 100  # the handlers' and the finishes' statements were traced
    conn = views_db.connection
    # each statement planned against the tables as the rebuild had them (every index but the
    # read ones), then against the complete tables: it must not scan a table where, with
    # every index, it would read a read index
    conn.execute("BEGIN")
    for index in read_indexes:
        conn.execute(f"DROP INDEX {index}")
    without = {s: scans(plan(conn, s, views_tables)) for s in applying}
    conn.execute("ROLLBACK")
    wrong = {
        statement[:200]: without[statement]
        for statement in sorted(applying)
        if without[statement] and used(plan(conn, statement, views_tables)) & read_indexes
    }
    assert wrong == {}
    # and the rebuilt tables have every index, read ones included
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert read_indexes <= present
