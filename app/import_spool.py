"""The import's scratch file: what the first pass over the files found, so that the families
can be stored one batch at a time without holding the files, their rows or their families in
memory (a city's file: 160,000 families, 650,000 rows).

Files of less than `MEMORY_BYTES` together (a few thousand families) keep it in memory
instead (`MemorySpool`, the same answers): writing every row to SQLite and reading it back
costs about a tenth of a small import's time, and their rows take a few tens of MB at most.

`Spool`: `FILE.import.sqlite` beside the (first) file (mode 0600: it holds the rows' personal data,
as the file does), made again by every run and removed at its end; a run killed halfway
leaves it, and the next run replaces it. It holds:
- `rows`: each checked row, by its family's key (a KK number, or P3KE's family id), in file
  order, with the values its family is built from;
- `units`: the families found (a family row, or DTKS's rows of one KK number), where each
  is listed and which rows belong to it; then `families`, the same in the order they are
  stored (by file and row, as the checkpoint counts them), with their number of rows;
- `marks`: the keys met so far (KK numbers, family ids, NIKs: duplicates in the files; a
  row's NIK is also unique among the rows, a later row with it refused);
- `rejections`: the rows refused, for `FILE.rejected.csv` (a row refused because of others,
  its family's: the rows at fault, `cause`);
- `seen`: the family each row read belongs to (its KK number, or P3KE's family id, as the
  file writes it), refused or not: the families in the files, and those with rows refused,
  as the summary counts them (a family every row of which was refused while reading is
  counted although it never becomes one to store).

The rows are written without indexes, which are made once the rows are all there (faster
than keeping them up to date row by row). SQLite's own memory is bounded (its page cache and
the sort that makes an index); its groupings and orderings read indexes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol

WIDTH = 12  # values kept per row and per family (the layouts use at most this many)
_V = ", ".join(f"v{i}" for i in range(WIDTH))
_MARKS = "?, " * (WIDTH - 1) + "?"
FLUSH = 2_000  # rows or rejections written at once
DUPLICATE_NIK = "import.duplicate_nik"  # the code of a row whose NIK an earlier row has
CACHE_KIB = 32 * 1024  # SQLite's page cache (KiB)
# Files smaller than this (together) are grouped in memory (`MemorySpool`): a DTKS file of
# 8 MB is about 40,000 rows (10,000 families), some 40 MB of rows in memory; an XLSX file
# of 8 MB (compressed) some more.
MEMORY_BYTES = 8 * 2**20

_SCHEMA = f"""
CREATE TABLE marks (kind TEXT, key TEXT, value TEXT, PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE rows (seq INTEGER PRIMARY KEY, key TEXT, head INTEGER, tbl TEXT, line INTEGER,
                   nik TEXT, {_V});
CREATE TABLE units (members TEXT, tbl TEXT, line INTEGER, own INTEGER, {_V});
CREATE INDEX units_in_order ON units (tbl, line);
CREATE TABLE families (ord INTEGER PRIMARY KEY, members TEXT, tbl TEXT, line INTEGER,
                       n INTEGER, {_V});
CREATE TABLE rejections (tbl TEXT, line INTEGER, col TEXT, code TEXT, cause TEXT);
CREATE INDEX rejections_in_order ON rejections (tbl, line, col);
CREATE TABLE seen (tbl TEXT, line INTEGER, key TEXT);
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
    # the rows at fault when this one is refused because of them: (table, row, code) each,
    # and whose they are ("head", "family" or "")
    causes: tuple[tuple[str, int, str], ...]
    whose: str


# A rejection as kept: table, row, column, code, and its cause (`cause_text`) or None.
Kept = tuple[str, int, str, str, str | None]


def cause_text(rejection: Refusal) -> str | None:
    """The rows at fault of a rejection, as kept (JSON), or None."""
    if not rejection.causes:
        return None
    return json.dumps([rejection.whose, [list(c) for c in rejection.causes]])


def kept_rejection(rejection: Refusal) -> tuple[str, int, str, str, str | None]:
    """A rejection as a spool keeps it: table, row, column, code and its cause (JSON)."""
    return rejection.table, rejection.row, rejection.column, rejection.code, cause_text(rejection)


def cause_of(text: str | None) -> tuple[str, tuple[tuple[str, int, str], ...]]:
    """(whose, the rows at fault) of a kept cause."""
    if not text:
        return "", ()
    whose, causes = json.loads(text)
    return whose, tuple((str(t), int(r), str(c)) for t, r, c in causes)


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
        self._nik_columns: dict[str, str] = {}  # the NIK's column, by table
        self._seq = 0
        self._indexed = self._unchecked = False
        self._rejections: list[tuple] = []
        self._seen: list[tuple[str, int, str]] = []
        self._seen_indexed = False
        self.families = self.rows_total = 0

    # ---- the first pass ----------------------------------------------------------------------

    def see(self, table: str, line: int, key: str) -> None:
        """A row read, of the family `key` (refused or not)."""
        self._seen.append((table, line, key))
        if len(self._seen) >= FLUSH:
            self._flush_seen()

    def _flush_seen(self) -> None:
        if self._seen:
            self.db.executemany("INSERT INTO seen VALUES (?, ?, ?)", self._seen)
            self._seen.clear()

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

    def add_row(
        self,
        key: str,
        head: bool,
        table: str,
        line: int,
        values: tuple,
        nik: str | None = None,
        nik_column: str = "",
    ) -> None:
        """A checked row of the family `key`, in file order. With a `nik`, a row whose NIK an
        earlier row has is not kept: it is refused (`DUPLICATE_NIK`, at `nik_column`) once
        the rows are all written (`_ready`)."""
        self._seq += 1
        padding = (None,) * (WIDTH - len(values))
        self._rows.append((self._seq, key, head, table, line, nik, *values, *padding))
        if nik is not None:
            self._nik_columns[table] = nik_column
        if len(self._rows) >= FLUSH:
            self._flush_rows()

    def _flush_rows(self) -> None:
        if self._rows:
            self.cursor.executemany(
                f"INSERT INTO rows (seq, key, head, tbl, line, nik, {_V})"
                f" VALUES (?, ?, ?, ?, ?, ?, {_MARKS})",
                self._rows,
            )
            self._rows.clear()
            self._unchecked = True

    def _ready(self) -> None:
        """The rows written, indexed, and each row whose NIK an earlier row has refused and
        removed (first asked once the rows are all there)."""
        self._flush_rows()
        if not self._indexed:
            self.cursor.execute("CREATE INDEX rows_by_key ON rows (key, seq)")
            self.cursor.execute("CREATE INDEX rows_by_nik ON rows (nik, seq) WHERE nik IS NOT NULL")
            self._indexed = True
        if self._unchecked:
            later = self.cursor.execute(
                "SELECT seq, tbl, line FROM rows r WHERE nik IS NOT NULL AND EXISTS"
                " (SELECT 1 FROM rows p WHERE p.nik = r.nik AND p.seq < r.seq AND"
                "  p.nik IS NOT NULL)"
            ).fetchall()
            for _, table, line in later:
                self._rejections.append(
                    (table, line, self._nik_columns[table], DUPLICATE_NIK, None)
                )
            self.cursor.executemany("DELETE FROM rows WHERE seq = ?", [(r[0],) for r in later])
            self._unchecked = False

    def rows_of(self, key: str) -> list[Spooled]:
        """The rows of the family `key`, in file order."""
        self._ready()
        found = self.cursor.execute(
            f"SELECT tbl, line, head, {_V} FROM rows WHERE key = ? ORDER BY seq", (key,)
        )
        return [Spooled(r[0], r[1], bool(r[2]), r[3:]) for r in found.fetchall()]

    def first_head(self, key: str) -> Spooled | None:
        """The family's first row marked as its head's, in file order."""
        self._ready()
        found = self.cursor.execute(
            f"SELECT tbl, line, head, {_V} FROM rows WHERE key = ? AND head ORDER BY seq LIMIT 1",
            (key,),
        ).fetchone()
        return None if found is None else Spooled(found[0], found[1], True, found[3:])

    def rows_not_marked(self, kind: str) -> list[tuple[str, int]]:
        """Where the rows are whose family key was never met as `kind`."""
        self._ready()
        found = self.cursor.execute(
            "SELECT tbl, line FROM rows WHERE NOT EXISTS"
            " (SELECT 1 FROM marks WHERE kind = ? AND marks.key = rows.key)",
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
        self._ready()
        self.cursor.execute(
            "INSERT INTO units (members, tbl, line, own, v0)"
            " SELECT r.key, r.tbl, r.line, 0, r.key FROM rows r JOIN ("
            "   SELECT key, COALESCE(MAX(CASE WHEN head THEN seq END), MIN(seq)) AS at"
            "   FROM rows GROUP BY key"
            " ) g ON r.seq = g.at"
        )

    def finish(self) -> None:
        """The first pass done: the families in the order they are stored (file and row)."""
        self._ready()
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
        self._rejections.append(kept_rejection(rejection))
        if len(self._rejections) >= FLUSH:
            self.flush_rejections()

    def extend(self, rejections: Iterable[Refusal]) -> None:
        for rejection in rejections:
            self.append(rejection)

    def flush_rejections(self) -> None:
        if self._rejections:
            self.db.executemany("INSERT INTO rejections VALUES (?, ?, ?, ?, ?)", self._rejections)
            self._rejections.clear()

    def rejections(self) -> Iterator[Kept]:
        """(table, row, column, code, cause) of every row refused, by table, row and column."""
        self.flush_rejections()
        yield from self.db.execute(
            "SELECT tbl, line, col, code, cause FROM rejections ORDER BY tbl, line, col"
        )

    def causes(self) -> list[str]:
        """The distinct causes of the rows refused because of others (each a family's)."""
        self.flush_rejections()
        found = self.db.execute(
            "SELECT DISTINCT cause FROM rejections WHERE cause IS NOT NULL ORDER BY cause"
        )
        return [row[0] for row in found]

    def refused_of(self, key: str, besides: Iterable[str]) -> list[tuple[str, int, str]]:
        """(table, row, code) of the rows of the family `key` (as `see` was told it) refused
        for a reason of their own (not one of the codes `besides`), in file order."""
        self._seen_ready()
        besides = list(besides)
        found = self.db.execute(
            "SELECT DISTINCT s.tbl, s.line, r.code FROM seen s JOIN rejections r"
            " ON r.tbl = s.tbl AND r.line = s.line"
            f" WHERE s.key = ? AND r.code NOT IN ({', '.join('?' * len(besides))})"
            " ORDER BY s.tbl, s.line, r.code",
            (key, *besides),
        )
        return [(t, line, code) for t, line, code in found]

    def rejected_rows(self) -> int:
        """How many rows were refused (a row refused for several reasons counts once)."""
        self.flush_rejections()
        found = self.db.execute("SELECT COUNT(*) FROM (SELECT DISTINCT tbl, line FROM rejections)")
        return found.fetchone()[0]

    # ---- the families, as the summary counts them ---------------------------------------------

    def _seen_ready(self) -> None:
        self.flush_rejections()
        self._flush_seen()
        if not self._seen_indexed:
            self.db.execute("CREATE INDEX seen_by_key ON seen (key, tbl, line)")
            self._seen_indexed = True

    def families_seen(self) -> int:
        """The families the rows read belong to, refused or not."""
        self._seen_ready()
        return self.db.execute("SELECT COUNT(DISTINCT key) FROM seen").fetchone()[0]

    def families_refused(self) -> int:
        """The families every row of which is refused (so far)."""
        self._seen_ready()
        found = self.db.execute(
            "SELECT COUNT(*) FROM (SELECT key FROM seen s GROUP BY key HAVING MIN(EXISTS"
            " (SELECT 1 FROM rejections r WHERE r.tbl = s.tbl AND r.line = s.line)) = 1)"
        )
        return found.fetchone()[0]

    def families_with_rejections(self) -> int:
        """The families with at least one row refused (so far)."""
        self._seen_ready()
        found = self.db.execute(
            "SELECT COUNT(DISTINCT key) FROM seen s WHERE EXISTS"
            " (SELECT 1 FROM rejections r WHERE r.tbl = s.tbl AND r.line = s.line)"
        )
        return found.fetchone()[0]

    def close(self) -> None:
        """The scratch file closed and removed."""
        try:
            self.db.close()
        finally:
            self.path.unlink(missing_ok=True)


class MemorySpool:
    """What `Spool` keeps, in memory: for files of less than `MEMORY_BYTES` (see the module).
    The same answers in the same order (the checkpoint counts the same families)."""

    def __init__(self) -> None:
        self.marks: dict[tuple[str, str], str | None] = {}
        self._rows: list[tuple[str, Spooled, str | None]] = []  # key, the row, its NIK
        self._nik_columns: dict[str, str] = {}
        self._by_key: dict[str, list[Spooled]] = {}
        self._ready_rows = 0  # the rows grouped by key so far
        self._units: list[tuple[str | None, Spooled, int]] = []  # members, own row, own
        self._families: list[tuple[str | None, Spooled, int]] = []  # members, own row, rows
        self._rejections: list[Kept] = []
        self._seen: dict[tuple[str, int], str] = {}  # the family of each row read
        self._refused_by_key: dict[str, set[tuple[str, int, str]]] | None = None
        self.families = self.rows_total = 0

    def see(self, table: str, line: int, key: str) -> None:
        self._seen[table, line] = key

    def first(self, kind: str, key: str, value: str | None = None) -> bool:
        if (kind, key) in self.marks:
            return False
        self.marks[kind, key] = value
        return True

    def met(self, kind: str, key: str) -> bool:
        return (kind, key) in self.marks

    def value(self, kind: str, key: str) -> str | None:
        return self.marks.get((kind, key))

    def add_row(
        self,
        key: str,
        head: bool,
        table: str,
        line: int,
        values: tuple,
        nik: str | None = None,
        nik_column: str = "",
    ) -> None:
        padded = (*values, *(None,) * (WIDTH - len(values)))
        self._rows.append((key, Spooled(table, line, head, padded), nik))
        if nik is not None:
            self._nik_columns[table] = nik_column

    def _ready(self) -> None:
        """The rows added since grouped by key, a row whose NIK an earlier row has refused."""
        for key, row, nik in self._rows[self._ready_rows :]:
            if nik is not None and not self.first("row nik", nik):  # kept apart from `nik`
                column = self._nik_columns[row.table]
                self._rejections.append((row.table, row.line, column, DUPLICATE_NIK, None))
                continue
            self._by_key.setdefault(key, []).append(row)
        self._ready_rows = len(self._rows)

    def rows_of(self, key: str) -> list[Spooled]:
        self._ready()
        return list(self._by_key.get(key, ()))

    def first_head(self, key: str) -> Spooled | None:
        self._ready()
        return next((row for row in self._by_key.get(key, ()) if row.head), None)

    def rows_not_marked(self, kind: str) -> list[tuple[str, int]]:
        self._ready()
        return [
            (row.table, row.line)
            for key, rows in self._by_key.items()
            if (kind, key) not in self.marks
            for row in rows
        ]

    def add_unit(self, members: str | None, table: str, line: int, values: tuple) -> None:
        padded = (*values, *(None,) * (WIDTH - len(values)))
        self._units.append((members, Spooled(table, line, False, padded), 1))

    def units_from_rows(self) -> None:
        self._ready()
        for key, rows in self._by_key.items():
            at = next((row for row in reversed(rows) if row.head), rows[0])
            padded = (key, *(None,) * (WIDTH - 1))
            self._units.append((key, Spooled(at.table, at.line, False, padded), 0))

    def finish(self) -> None:
        self._ready()
        units = sorted(self._units, key=lambda u: (u[1].table, u[1].line))
        self._families = [
            (members, own_row, own + len(self._rows_of(members))) for members, own_row, own in units
        ]
        self._units = []
        self.families = len(self._families)
        self.rows_total = sum(n for _, _, n in self._families)

    def rows_until(self, done: int) -> int:
        return sum(n for _, _, n in self._families[:done])

    def units(self, after: int = 0) -> Iterator[tuple[Spooled, int, list[Spooled]]]:
        for members, own_row, size in self._families[after:]:
            yield own_row, size, self._rows_of(members)

    def _rows_of(self, members: str | None) -> list[Spooled]:
        return self._by_key.get(members, []) if members is not None else []

    def append(self, rejection: Refusal) -> None:
        self._rejections.append(kept_rejection(rejection))

    def extend(self, rejections: Iterable[Refusal]) -> None:
        for rejection in rejections:
            self.append(rejection)

    def flush_rejections(self) -> None:
        pass

    def rejections(self) -> Iterator[Kept]:
        yield from sorted(self._rejections, key=lambda r: (r[0], r[1], r[2]))

    def causes(self) -> list[str]:
        return sorted({r[4] for r in self._rejections if r[4] is not None})

    def refused_of(self, key: str, besides: Iterable[str]) -> list[tuple[str, int, str]]:
        # the rows refused by family, made once (asked as the families are stored, when the
        # rows refused as the files were read are all in)
        if self._refused_by_key is None:
            self._refused_by_key = {}
            for table, line, _, code, _ in self._rejections:
                key_of = self._seen.get((table, line))
                if key_of is not None:
                    self._refused_by_key.setdefault(key_of, set()).add((table, line, code))
        besides = set(besides)
        return sorted(r for r in self._refused_by_key.get(key, ()) if r[2] not in besides)

    def rejected_rows(self) -> int:
        return len({(table, line) for table, line, *_ in self._rejections})

    def families_seen(self) -> int:
        return len(set(self._seen.values()))

    def _rejected_at(self) -> set[tuple[str, int]]:
        return {(table, line) for table, line, *_ in self._rejections}

    def families_refused(self) -> int:
        rejected = self._rejected_at()
        kept = {key for at, key in self._seen.items() if at not in rejected}
        return len(set(self._seen.values()) - kept)

    def families_with_rejections(self) -> int:
        rejected = self._rejected_at()
        return len({key for at, key in self._seen.items() if at in rejected})

    def close(self) -> None:
        self.marks, self._rows, self._by_key, self._families = {}, [], {}, []
        self._seen = {}


def open_spool(paths: list[Path]) -> Spool | MemorySpool:
    """In memory for files of less than `MEMORY_BYTES` together, else `FILE.import.sqlite`
    beside the first."""
    if sum(Path(p).stat().st_size for p in paths) < MEMORY_BYTES:
        return MemorySpool()
    return Spool(Path(paths[0]))
