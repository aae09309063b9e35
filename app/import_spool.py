"""The import's scratch file: what the first pass over the files found, so that the families
can be stored one batch at a time without holding the files, their rows or their families in
memory (a city's file: 160,000 families, 650,000 rows).

`FILE.import.sqlite` beside the (first) file (mode 0600: it holds the rows' personal data,
as the file does), made again by every run and removed at its end; a run killed halfway
leaves it, and the next run replaces it. It holds:
- `rows`: each checked row, by its family's key (a KK number, or P3KE's family id), in file
  order, with the values its family is built from;
- `units`: the families found (a family row, or DTKS's rows of one KK number), where each
  is listed and which rows belong to it; then `families`, the same in the order they are
  stored (by file and row, as the checkpoint counts them), with their number of rows;
- `marks`: the keys met so far (NIKs, KK numbers, family ids: duplicates in the files);
- `rejections`: the rows refused, for `FILE.rejected.csv`.

SQLite's own memory is bounded (its page cache); its sorts and groupings read indexes.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol

WIDTH = 12  # values kept per row and per family (the layouts use at most this many)
_V = ", ".join(f"v{i}" for i in range(WIDTH))
_MARKS = "?, " * (WIDTH - 1) + "?"
FLUSH = 2_000  # rows or rejections written at once
CACHE_KIB = 32 * 1024  # SQLite's page cache (KiB)

_SCHEMA = f"""
CREATE TABLE marks (kind TEXT, key TEXT, value TEXT, PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE rows (seq INTEGER PRIMARY KEY, key TEXT, head INTEGER, tbl TEXT, line INTEGER,
                   {_V});
CREATE INDEX rows_by_key ON rows (key, seq);
CREATE TABLE units (members TEXT, tbl TEXT, line INTEGER, own INTEGER, {_V});
CREATE INDEX units_in_order ON units (tbl, line);
CREATE TABLE families (ord INTEGER PRIMARY KEY, members TEXT, tbl TEXT, line INTEGER,
                       n INTEGER, {_V});
CREATE TABLE rejections (tbl TEXT, line INTEGER, col TEXT, code TEXT);
CREATE INDEX rejections_in_order ON rejections (tbl, line, col);
"""


class Spooled(NamedTuple):
    """A row (or a family's own row) read back: where it is and its values."""

    table: str
    line: int
    head: bool
    values: tuple[Any, ...]


class Refusal(Protocol):
    table: str
    row: int
    column: str
    code: str


class Spool:
    """The scratch file of one import (see the module)."""

    def __init__(self, first: Path) -> None:
        self.path = first.with_name(first.name + ".import.sqlite")
        self.path.unlink(missing_ok=True)  # a killed run's
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.db = sqlite3.connect(self.path, isolation_level=None)
        for pragma in (
            "journal_mode = OFF",  # scratch: nothing to recover after a crash
            "synchronous = OFF",
            "locking_mode = EXCLUSIVE",
            "temp_store = MEMORY",  # nothing of it in the system's temp directory
            f"cache_size = -{CACHE_KIB}",
        ):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(_SCHEMA)
        self.db.execute("BEGIN")
        self.cursor = self.db.cursor()
        self._rows: list[tuple] = []
        self._rejections: list[tuple] = []
        self.families = self.rows_total = 0

    # ---- the first pass ----------------------------------------------------------------------

    def first(self, kind: str, key: str, value: str | None = None) -> bool:
        """Whether `key` (of this kind) is met for the first time; it is kept as met."""
        self.cursor.execute("INSERT OR IGNORE INTO marks VALUES (?, ?, ?)", (kind, key, value))
        return self.cursor.rowcount == 1

    def met(self, kind: str, key: str) -> bool:
        found = self.cursor.execute("SELECT 1 FROM marks WHERE kind = ? AND key = ?", (kind, key))
        return found.fetchone() is not None

    def value(self, kind: str, key: str) -> str | None:
        """The value kept with a key met (None: not met)."""
        found = self.cursor.execute(
            "SELECT value FROM marks WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return None if found is None else found[0]

    def add_row(self, key: str, head: bool, table: str, line: int, values: tuple) -> None:
        """A checked row of the family `key`, in file order."""
        self._rows.append((key, head, table, line, *values, *(None,) * (WIDTH - len(values))))
        if len(self._rows) >= FLUSH:
            self._flush_rows()

    def _flush_rows(self) -> None:
        if self._rows:
            self.cursor.executemany(
                f"INSERT INTO rows (key, head, tbl, line, {_V}) VALUES (?, ?, ?, ?, {_MARKS})",
                self._rows,
            )
            self._rows.clear()

    def rows_of(self, key: str) -> list[Spooled]:
        """The rows of the family `key`, in file order."""
        self._flush_rows()
        found = self.cursor.execute(
            f"SELECT tbl, line, head, {_V} FROM rows WHERE key = ? ORDER BY seq", (key,)
        )
        return [Spooled(r[0], r[1], bool(r[2]), r[3:]) for r in found.fetchall()]

    def first_head(self, key: str) -> Spooled | None:
        """The family's first row marked as its head's, in file order."""
        self._flush_rows()
        found = self.cursor.execute(
            f"SELECT tbl, line, head, {_V} FROM rows WHERE key = ? AND head ORDER BY seq LIMIT 1",
            (key,),
        ).fetchone()
        return None if found is None else Spooled(found[0], found[1], True, found[3:])

    def rows_not_marked(self, kind: str) -> list[tuple[str, int]]:
        """Where the rows are whose family key was never met as `kind` (file order)."""
        self._flush_rows()
        found = self.cursor.execute(
            "SELECT tbl, line FROM rows WHERE NOT EXISTS"
            " (SELECT 1 FROM marks WHERE kind = ? AND marks.key = rows.key) ORDER BY seq",
            (kind,),
        )
        return found.fetchall()

    def add_unit(self, members: str | None, table: str, line: int, values: tuple) -> None:
        """A family listed by a row of its own (`table`, `line`), with the rows spooled under
        `members` (None: none)."""
        self.cursor.execute(
            f"INSERT INTO units (members, tbl, line, own, {_V}) VALUES (?, ?, ?, 1, {_MARKS})",
            (members, table, line, *values, *(None,) * (WIDTH - len(values))),
        )

    def units_from_rows(self) -> None:
        """A family for each key of the rows (DTKS: a KK number), listed where its head's row
        is (the last one, as a later head's row moved it), else its first row."""
        self._flush_rows()
        self.cursor.execute(
            "INSERT INTO units (members, tbl, line, own, v0)"
            " SELECT r.key, r.tbl, r.line, 0, r.key FROM rows r JOIN ("
            "   SELECT key, COALESCE(MAX(CASE WHEN head THEN seq END), MIN(seq)) AS at"
            "   FROM rows GROUP BY key"
            " ) g ON r.seq = g.at"
        )

    def finish(self) -> None:
        """The first pass done: the families in the order they are stored (file and row)."""
        self._flush_rows()
        self.flush_rejections()
        self.cursor.execute(
            f"INSERT INTO families (members, tbl, line, n, {_V})"
            f" SELECT u.members, u.tbl, u.line,"
            f" u.own + (SELECT COUNT(*) FROM rows r WHERE r.key = u.members), {_V}"
            f" FROM units u ORDER BY u.tbl, u.line"
        )
        self.families, self.rows_total = self.cursor.execute(
            "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM families"
        ).fetchone()
        self.db.execute("COMMIT")

    # ---- the second pass ---------------------------------------------------------------------

    def rows_until(self, done: int) -> int:
        """The rows of the first `done` families."""
        found = self.db.execute("SELECT COALESCE(SUM(n), 0) FROM families WHERE ord <= ?", (done,))
        return found.fetchone()[0]

    def units(self, after: int = 0) -> Iterator[tuple[Spooled, int, list[Spooled]]]:
        """Each family after the first `after`, in order: its own row (where it is listed, and
        its values), its number of rows, and its rows (file order); read as they are asked."""
        found = self.db.execute(
            f"SELECT f.ord, f.tbl, f.line, f.n, {', '.join(f'f.v{i}' for i in range(WIDTH))},"
            f" r.tbl, r.line, r.head, {', '.join(f'r.v{i}' for i in range(WIDTH))}"
            f" FROM families f LEFT JOIN rows r ON r.key = f.members"
            f" WHERE f.ord > ? ORDER BY f.ord, r.seq",
            (after,),
        )
        unit: Spooled | None = None
        size, rows, current = 0, [], None
        end = 4 + WIDTH
        for record in found:
            if record[0] != current:
                if unit is not None:
                    yield unit, size, rows
                current, size, rows = record[0], record[3], []
                unit = Spooled(record[1], record[2], False, record[4:end])
            if record[end] is not None:
                rows.append(
                    Spooled(record[end], record[end + 1], bool(record[end + 2]), record[end + 3 :])
                )
        if unit is not None:
            yield unit, size, rows

    # ---- the rows refused --------------------------------------------------------------------

    def append(self, rejection: Refusal) -> None:
        """A row refused (the layouts' and the importer's `out`)."""
        self._rejections.append((rejection.table, rejection.row, rejection.column, rejection.code))
        if len(self._rejections) >= FLUSH:
            self.flush_rejections()

    def extend(self, rejections: Iterable[Refusal]) -> None:
        for rejection in rejections:
            self.append(rejection)

    def flush_rejections(self) -> None:
        if self._rejections:
            self.db.executemany("INSERT INTO rejections VALUES (?, ?, ?, ?)", self._rejections)
            self._rejections.clear()

    def rejections(self) -> Iterator[tuple[str, int, str, str]]:
        """(table, row, column, code) of every row refused, by table, row and column."""
        self.flush_rejections()
        yield from self.db.execute(
            "SELECT tbl, line, col, code FROM rejections ORDER BY tbl, line, col"
        )

    def rejected_rows(self) -> int:
        """How many rows were refused (a row refused for several reasons counts once)."""
        self.flush_rejections()
        found = self.db.execute("SELECT COUNT(*) FROM (SELECT DISTINCT tbl, line FROM rejections)")
        return found.fetchone()[0]

    def close(self) -> None:
        """The scratch file closed and removed."""
        try:
            self.db.close()
        finally:
            self.path.unlink(missing_ok=True)
