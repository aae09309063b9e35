"""The cross-OPD program view: who every OPD's programs reach, where, and since when.

Per OPD, program, kecamatan and kelurahan: the families and persons with a benefit running
today and their amounts; the month-by-month series of each program (the months of the
benefits' periods in which they ran); per OPD the distinct families it reaches; and the
overlap matrix (families holding, today, a running benefit of program A and of program B, for
every pair; the diagonal: the program's families). A benefit runs on a day its period covers
unless a suspension or termination in force on that day (from its effective date) stops it:
one whose period has ended no longer counts, nor one whose period has not begun, though no
event said so. The series' month of today counts what the current figures count, and besides
a benefit that ran on an earlier day of the month only.

What a family is follows the beneficiaries view (projections/beneficiaries.py): a benefit
belongs to the household it is recorded on, also after a family split (it is reviewed there);
a benefit granted before the person's NIK was known belongs to the provisional person (a
family of one, in the kecamatan where they were found, no kelurahan) until LinkIdentity joins
them to a household. The family's kecamatan and kelurahan are its household's now
(HouseholdRelocated moves its counts; a household split off has its own). The monthly series
keeps each month where the family lived on that month's first day (`families.moves`, the
relocations with their `moved_on` dates): a move today leaves last year's months in the
kelurahan that received them.

Maintained incrementally, never by scanning: handlers keep small base tables (each family's
area, each benefit's program, recipient, amount and status changes with their effective
dates (a change recorded ahead counts from its date, not from its recording), each program's
OPD and target) and mark the families they touch; at the end of the batch (`batch`, or at
once outside one) each marked family's contribution is computed from its own rows, compared with the
contribution it last made (kept in `families.contribution`, with its set of running programs),
and only the difference is added to the aggregate tables, at three levels: the city
(`kota`), its kecamatan and its kelurahan. A row whose families fall to 0 is deleted, so the
live tables equal a rebuild from scratch whatever the batches or the order of the streams.
What a family counts changes with the days as well as with events (a period begins, or ends),
so the current counts, the OPDs' and the overlaps are kept as changes by day: a family adds
its counts on the day a benefit starts to run and takes them away on the day after its last
(`changed_on`), and a reader sums a key's rows up to today, through the primary key. The
changes of the days up to the day before the latest event's recording (`horizon`) are folded
into one row per key as events come, so a key keeps that row and the days from about
yesterday on on which something starts or ends. Nothing is rewritten because a day passes,
and no reader scans the benefits.

Keeps no personal data: ids, programs, areas, amounts, and the recipient's pseudonymous
subject (the row key that outlives an erasure everywhere) to count persons. It serves the
registry (`serves="registry"`): it shows no person, only counts, and a restricted or erased
person's benefit stays counted, as the beneficiaries view counts it (`count_active`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import combinations_with_replacement
from typing import Any

from adapters.db import Cursor, Database
from domain.city import WIB
from domain.city import today as city_today
from domain.household import replaced_by
from projections.base import (
    Finish,
    Handler,
    Projection,
    deferred,
    identity,
    left_in_order,
    live_tables,
    no_personal_data,
)
from projections.beneficiaries import STATUS_OF

LEVELS = ("kota", "kecamatan", "kelurahan")
RUNNING = "active"

_AREA = (
    "level VARCHAR(10) NOT NULL, kecamatan VARCHAR(100) NOT NULL, kelurahan VARCHAR(100) NOT NULL"
)
TABLES = {
    "families": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " family_id VARCHAR(36) PRIMARY KEY, kecamatan VARCHAR(100), kelurahan VARCHAR(100),"
        " contribution TEXT, moves TEXT)"
    ),
    "benefits": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " benefit_id VARCHAR(36) PRIMARY KEY, family_id VARCHAR(36) NOT NULL,"
        " person_id VARCHAR(36), subject VARCHAR(64), program VARCHAR(32) NOT NULL,"
        " period_start VARCHAR(10) NOT NULL, period_end VARCHAR(10) NOT NULL,"
        " amount BIGINT NOT NULL, changes TEXT NOT NULL)"
    ),
    "programs": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " stream_id VARCHAR(36) PRIMARY KEY, code VARCHAR(32) NOT NULL,"
        " name VARCHAR(200) NOT NULL, opd VARCHAR(50) NOT NULL, yearly_target INTEGER)"
    ),
    # counts, opds and overlaps: what changes from a day on (`changed_on`, the first day a
    # benefit runs, or the day after its last); the figures of a day are the sums of its key's
    # rows up to that day
    "counts": (
        f"CREATE TABLE IF NOT EXISTS {{name}} ({_AREA}, opd VARCHAR(50) NOT NULL,"
        " program VARCHAR(32) NOT NULL, changed_on VARCHAR(10) NOT NULL,"
        " families INTEGER NOT NULL, persons INTEGER NOT NULL,"
        " amount BIGINT NOT NULL, monthly_amount BIGINT NOT NULL,"
        " PRIMARY KEY (level, kecamatan, kelurahan, opd, program, changed_on))"
    ),
    "opds": (
        f"CREATE TABLE IF NOT EXISTS {{name}} ({_AREA}, opd VARCHAR(50) NOT NULL,"
        " changed_on VARCHAR(10) NOT NULL, families INTEGER NOT NULL, persons INTEGER NOT NULL,"
        " amount BIGINT NOT NULL, monthly_amount BIGINT NOT NULL,"
        " PRIMARY KEY (level, kecamatan, kelurahan, opd, changed_on))"
    ),
    "monthly": (
        f"CREATE TABLE IF NOT EXISTS {{name}} ({_AREA}, program VARCHAR(32) NOT NULL,"
        " month VARCHAR(7) NOT NULL, families INTEGER NOT NULL, persons INTEGER NOT NULL,"
        " amount BIGINT NOT NULL,"
        " PRIMARY KEY (level, kecamatan, kelurahan, program, month))"
    ),
    # the day up to which the DATED tables' changes are folded into one row per key
    # (changed_on ''): the day before the latest recording of an event this view read
    "horizon": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " name VARCHAR(20) PRIMARY KEY, day VARCHAR(10) NOT NULL)"
    ),
    "overlaps": (
        f"CREATE TABLE IF NOT EXISTS {{name}} ({_AREA}, program_a VARCHAR(32) NOT NULL,"
        " program_b VARCHAR(32) NOT NULL, changed_on VARCHAR(10) NOT NULL,"
        " families INTEGER NOT NULL,"
        " PRIMARY KEY (level, kecamatan, kelurahan, program_a, program_b, changed_on))"
    ),
}
INDEXES = [
    "CREATE INDEX IF NOT EXISTS {benefits}_family ON {benefits} (family_id)",
    "CREATE INDEX IF NOT EXISTS {benefits}_program ON {benefits} (program)",
    "CREATE UNIQUE INDEX IF NOT EXISTS {programs}_code ON {programs} (code)",
    # the fold of a day's changes (`advance`)
    "CREATE INDEX IF NOT EXISTS {counts}_changed ON {counts} (changed_on)",
    "CREATE INDEX IF NOT EXISTS {opds}_changed ON {opds} (changed_on)",
    "CREATE INDEX IF NOT EXISTS {overlaps}_changed ON {overlaps} (changed_on)",
]
# only readers read by these: a rebuild makes them after its events (`Projection.read_indexes`)
READ_INDEXES = [
    "CREATE INDEX IF NOT EXISTS {benefits}_person ON {benefits} (person_id)",
    "CREATE INDEX IF NOT EXISTS {counts}_opd ON {counts} (level, opd, kecamatan, kelurahan)",
]
# The aggregate tables: (key columns after the area, value columns). Those keyed by
# `changed_on` (DATED) hold changes, which may be negative: a row goes when it changes nothing.
AGGREGATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "counts": (
        ("opd", "program", "changed_on"),
        ("families", "persons", "amount", "monthly_amount"),
    ),
    "opds": (("opd", "changed_on"), ("families", "persons", "amount", "monthly_amount")),
    "monthly": (("program", "month"), ("families", "persons", "amount")),
    "overlaps": (("program_a", "program_b", "changed_on"), ("families",)),
}
DATED = ("counts", "opds", "overlaps")


# --- a benefit's months ----------------------------------------------------------------------


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def period_months(period_start: str, period_end: str) -> list[str]:
    """The calendar months of a period, first to last (`2026-01`, ...)."""
    start, end = dt.date.fromisoformat(period_start), dt.date.fromisoformat(period_end)
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def monthly_share(amount: int, period_start: str, period_end: str) -> int:
    """A benefit's amount per month of its period (whole rupiah, rounded down): the months
    `period_months` lists, counted without listing them."""
    months = (int(period_end[:4]) - int(period_start[:4])) * 12
    months += int(period_end[5:7]) - int(period_start[5:7]) + 1
    return amount // max(1, months)


def running_spans(
    period_start: str, period_end: str, changes: Iterable[tuple[str, str]]
) -> list[tuple[dt.date, dt.date]]:
    """The days the benefit ran, as (first, last) spans. `changes`: (status, effective date)
    in the order recorded, the grant first (active from the start); a status holds from its
    date (a benefit suspended or terminated on a day no longer runs that day) until the next
    change, the last one until the period ends (after its end it runs no more, whatever
    event ended it or none)."""
    end = dt.date.fromisoformat(period_end)
    spans = []
    steps = [(status, dt.date.fromisoformat(day)) for status, day in changes]
    for at, (status, since) in enumerate(steps):
        if status != RUNNING:
            continue
        until = steps[at + 1][1] - dt.timedelta(days=1) if at + 1 < len(steps) else end
        until = min(until, end)
        if until >= since:
            spans.append((since, until))
    return spans


def running_months(
    period_start: str, period_end: str, changes: Iterable[tuple[str, str]]
) -> list[str]:
    """The months of the period in which the benefit ran on at least one day (its
    `running_spans`)."""
    return months_of(running_spans(period_start, period_end, changes))


def months_of(spans: Iterable[tuple[dt.date, dt.date]]) -> list[str]:
    """The months holding at least one day of these spans."""
    return list(_months_of(tuple(spans)))


@functools.lru_cache(maxsize=4096)
def _months_of(spans: tuple[tuple[dt.date, dt.date], ...]) -> tuple[str, ...]:
    """`months_of`, remembered: most benefits share their programs' periods."""
    months: set[str] = set()
    for since, until in spans:
        day = dt.date(since.year, since.month, 1)
        while day <= until:
            months.add(_month(day))
            day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return tuple(sorted(months))


# --- the base tables ---------------------------------------------------------------------------


def _set_area(
    cur: Cursor,
    names: dict[str, str],
    family_id: str,
    kecamatan: str | None,
    kelurahan: str | None,
    moved_on: str | None = None,
) -> None:
    """Where the family lives: from the start (`moved_on` None), or from that day on (a
    relocation, added to the family's moves)."""
    area = [kecamatan or "", kelurahan or ""]
    moves = [["", *area]]
    if moved_on is not None:
        row = cur.execute(
            f"SELECT moves FROM {names['families']} WHERE family_id=?", (family_id,)
        ).fetchone()
        moves = [*(json.loads(row[0]) if row and row[0] else []), [moved_on, *area]]
    updated = cur.execute(
        f"UPDATE {names['families']} SET kecamatan=?, kelurahan=?, moves=? WHERE family_id=?",
        (*area, json.dumps(moves), family_id),
    ).rowcount
    if not updated:
        cur.execute(
            f"INSERT INTO {names['families']} (family_id, kecamatan, kelurahan, contribution,"
            " moves) VALUES (?, ?, ?, NULL, ?)",
            (family_id, *area, json.dumps(moves)),
        )
    _refresh_soon(cur, names, family_id)


def household_area(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """HouseholdRegistered, HouseholdSplitOff: where the family lives."""
    data = envelope["data"]
    _set_area(cur, names, envelope["stream_id"], data["kecamatan"], data["kelurahan"])


def household_relocated(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """Where the family lives from the day it moved (its earlier months stay where they
    were)."""
    data = envelope["data"]
    _set_area(
        cur,
        names,
        envelope["stream_id"],
        data["kecamatan"],
        data["kelurahan"],
        data.get("moved_on") or envelope["occurred_at"][:10],
    )


def _area_on(ordered: list[list[str]], first: str, now: list[str]) -> list[str]:
    """The (kecamatan, kelurahan) the family lived in on a month's first day (`first`), by its
    moves in the order of their days (equal days in the order recorded); `now` without
    moves."""
    found = None
    for since, kecamatan, kelurahan in ordered:
        if since <= first or found is None:
            found = [kecamatan, kelurahan]
        if since > first:
            break
    return found if found is not None else now


def person_registered(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """A provisional person (HomelessPersonRegistered): a family of one, kecamatan only."""
    _set_area(cur, names, envelope["stream_id"], envelope["data"].get("kecamatan"), "")


def _insert_benefit(
    cur: Cursor,
    names: dict[str, str],
    data: dict[str, Any],
    family_id: str,
    person_id: str | None,
    subject: str | None,
) -> None:
    cur.execute(
        f"INSERT INTO {names['benefits']} (benefit_id, family_id, person_id, subject, program,"
        " period_start, period_end, amount, changes)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            data["benefit_id"],
            family_id,
            person_id,
            subject,
            data["program"],
            data["period_start"],
            data["period_end"],
            data["amount"],
            json.dumps([[RUNNING, data["period_start"]]]),
        ),
    )
    _refresh_soon(cur, names, family_id)


def benefit_granted(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    subject = identity(data["nik"]).subject
    _insert_benefit(cur, names, data, envelope["stream_id"], None, subject)


def provisional_benefit_granted(
    cur: Cursor, names: dict[str, str], envelope: dict[str, Any]
) -> None:
    person_id = envelope["stream_id"]
    _insert_benefit(cur, names, envelope["data"], person_id, person_id, None)


def benefit_changed(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """Suspended, resumed or terminated (of a household or a provisional person): the change,
    the status the beneficiaries view gives it (`STATUS_OF`) from its effective date on."""
    data = envelope["data"]
    row = cur.execute(
        f"SELECT family_id, changes FROM {names['benefits']} WHERE benefit_id=?",
        (data["benefit_id"],),
    ).fetchone()
    if row is None:
        return
    day = data["effective_date"]
    changes = [  # those recorded to take effect after its date it replaces (with_change)
        *(c for at, c in enumerate(json.loads(row[1])) if at == 0 or not replaced_by(c[1], day)),
        [STATUS_OF[envelope["type"]], day],
    ]
    cur.execute(
        f"UPDATE {names['benefits']} SET changes=? WHERE benefit_id=?",
        (json.dumps(changes), data["benefit_id"]),
    )
    _refresh_soon(cur, names, row[0])


def identity_linked(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """The provisional person is a NIK of a household: their benefits are that family's."""
    data, person_id = envelope["data"], envelope["stream_id"]
    cur.execute(
        f"UPDATE {names['benefits']} SET family_id=?, subject=? WHERE person_id=?",
        (data["household_id"], identity(data["nik"]).subject, person_id),
    )
    _refresh_soon(cur, names, person_id)
    _refresh_soon(cur, names, data["household_id"])


def _families_of_program(cur: Cursor, names: dict[str, str], code: str) -> None:
    rows = cur.execute(
        f"SELECT DISTINCT family_id FROM {names['benefits']} WHERE program=?", (code,)
    ).fetchall()
    for (family_id,) in rows:
        _refresh_soon(cur, names, family_id)


def program_defined(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    cur.execute(
        f"INSERT INTO {names['programs']} (stream_id, code, name, opd, yearly_target)"
        " VALUES (?, ?, ?, ?, ?)",
        (envelope["stream_id"], data["code"], data["name"], data["opd"], data.get("yearly_target")),
    )
    # benefits seen before their program (another stream, another partition): now its OPD
    _families_of_program(cur, names, data["code"])


def program_rules_changed(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    target = envelope["data"].get("yearly_target")
    if target is not None:
        cur.execute(
            f"UPDATE {names['programs']} SET yearly_target=? WHERE stream_id=?",
            (target, envelope["stream_id"]),
        )


# --- contributions ---------------------------------------------------------------------------


def _key(*parts: str) -> str:
    return "\t".join(parts)


_BENEFIT_COLUMNS = (
    "benefit_id, person_id, subject, program, period_start, period_end, amount, changes"
)


def _opds(cur: Cursor, names: dict[str, str]) -> dict[str, str]:
    """Each program's OPD, by its code."""
    return dict(cur.execute(f"SELECT code, opd FROM {names['programs']}").fetchall())


def _contribution(
    area: tuple | None, rows: list[tuple], opd_of: dict[str, str]
) -> dict[str, Any]:
    """What the family adds to the aggregates, from its own rows: its area; its `steps`, each
    (a day, what it counts from that day on: its running programs, and per (OPD, program) and
    per OPD its persons and amounts, each key counting the family once), a step on each day
    what it counts changes (a benefit starts to run, or its last day has passed); and per
    (program, month) its persons and amounts. Read from the family's (kecamatan, kelurahan,
    moves) row (None: not seen yet), its benefits' rows (`_BENEFIT_COLUMNS`, by benefit id)
    and every program's OPD."""
    now = [area[0] or "", area[1] or ""] if area else ["", ""]
    moves = json.loads(area[2]) if area and area[2] else None
    ordered = sorted(moves or [], key=lambda move: move[0])
    # where it lived on each month's first day: one place unless it moved
    lived = ordered[0][1:] if len(ordered) == 1 else None
    # program\tmonth\tkecamatan\tkelurahan (where the family lived then) -> [persons, amount]
    months: dict[str, list[Any]] = {}
    # each benefit's (who, program, amount, monthly share, the days it ran)
    benefits: list[tuple[str, str, int, int, list[tuple[dt.date, dt.date]]]] = []
    for _, person_id, subject, program, start, end, amount, changes in rows:
        who = subject or person_id
        share = monthly_share(amount, start, end)
        spans = running_spans(start, end, [tuple(c) for c in json.loads(changes)])
        benefits.append((who, program, amount, share, spans))
        for month in _months_of(tuple(spans)):
            if lived is not None:
                where = lived
            elif ordered:
                where = _area_on(ordered, f"{month}-01", now)
            else:
                where = now
            entry = months.setdefault(_key(program, month, *where), [set(), 0])
            entry[0].add(who)
            entry[1] += share

    def counted(table: dict[str, list[Any]]) -> dict[str, list[int]]:
        return {key: [len(v[0]), *v[1:]] for key, v in sorted(table.items())}

    def on(day: dt.date) -> dict[str, Any]:
        counts: dict[str, list[Any]] = {}  # opd\tprogram -> [persons, amount, monthly]
        opds: dict[str, list[Any]] = {}
        for who, program, amount, share, spans in benefits:
            if not any(since <= day <= until for since, until in spans):
                continue
            opd = opd_of.get(program, "")
            for key, table in ((_key(opd, program), counts), (opd, opds)):
                entry = table.setdefault(key, [set(), 0, 0])
                entry[0].add(who)
                entry[1] += amount
                entry[2] += share
        return {
            "programs": sorted({key.split("\t")[1] for key in counts}),
            "counts": counted(counts),
            "opds": counted(opds),
        }

    # what it counts changes only on a day a benefit starts to run, or the day after its last
    changes_on = sorted(
        {since for *_, spans in benefits for since, _ in spans}
        | {until + dt.timedelta(days=1) for *_, spans in benefits for _, until in spans}
    )
    steps: list[list[Any]] = []
    last = NOTHING
    for day in changes_on:
        state = on(day)
        if state != last:
            steps.append([day.isoformat(), state])
            last = state
    return {"area": now, "steps": steps, "months": counted(months)}


NOTHING: dict[str, Any] = {"programs": [], "counts": {}, "opds": {}}
EMPTY: dict[str, Any] = {"area": ["", ""], "steps": [], "months": {}}


def _changed(before: dict[str, list[int]], after: dict[str, list[int]]) -> dict[str, list[int]]:
    """What a step changes in one table: per key (families, persons, amounts) after minus
    before, a family counting 1 where it has the key."""
    changed = {}
    for key in sorted(set(before) | set(after)):
        new = [1, *after[key]] if key in after else None
        old = [1, *before[key]] if key in before else None
        width = len(new or old or [])
        row = [a - b for a, b in zip(new or [0] * width, old or [0] * width, strict=True)]
        if any(row):
            changed[key] = row
    return changed


def aggregate_rows(made: dict[str, Any]) -> dict[str, dict[tuple, list[int]]]:
    """A contribution as rows of the aggregate tables at the kelurahan level: (kecamatan,
    kelurahan, key...) -> values; in the DATED tables each step's change on its day. The
    kecamatan's and the city's rows are the sums of their kelurahan's (`_levels`): a family
    lives in one kelurahan at a time."""
    rows: dict[str, dict[tuple, list[int]]] = {table: {} for table in AGGREGATES}
    area = tuple(made["area"])
    overlaps = rows["overlaps"]
    before = NOTHING
    for day, state in made["steps"]:
        for table in ("counts", "opds"):
            target = rows[table]
            for key, row in _changed(before[table], state[table]).items():
                target[(*area, *key.split("\t"), day)] = row
        if before["programs"] != state["programs"]:
            pairs_before = set(combinations_with_replacement(before["programs"], 2))
            pairs_after = set(combinations_with_replacement(state["programs"], 2))
            for first, second in pairs_after - pairs_before:
                overlaps[(*area, first, second, day)] = [1]
            for first, second in pairs_before - pairs_after:
                overlaps[(*area, first, second, day)] = [-1]
        before = state
    monthly = rows["monthly"]
    for key, (persons, amount) in made["months"].items():
        # each month where the family lived then
        program, month, kecamatan, kelurahan = key.split("\t")
        monthly[(kecamatan, kelurahan, program, month)] = [1, persons, amount]
    return rows


def _levels(deltas: dict[tuple, list[int]]) -> dict[tuple, list[int]]:
    """A table's kelurahan-level deltas ((kecamatan, kelurahan, key...) -> change) at the
    three levels: each kelurahan's, summed into its kecamatan's and the city's."""
    found: dict[tuple, list[int]] = {}
    for (kecamatan, kelurahan, *key), row in deltas.items():
        found[("kelurahan", kecamatan, kelurahan, *key)] = list(row)
        for at in (("kecamatan", kecamatan, "", *key), ("kota", "", "", *key)):
            current = found.get(at)
            if current is None:
                found[at] = list(row)
            else:
                for place, value in enumerate(row):
                    current[place] += value
    return found


Deltas = dict[str, dict[tuple, list[int]]]  # aggregate table -> its row's key -> the change


def _add_difference(deltas: Deltas, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Add what replacing one family's contribution `old` by `new` changes in each aggregate
    table's rows (the sums are linear: a batch's families add up before anything is written).
    The deltas' lists are their own (changed in place): each row `aggregate_rows` makes is
    a list of its own."""
    for table in AGGREGATES:
        deltas.setdefault(table, {})
    for made, sign in ((new, 1), (old, -1)):
        if not made["steps"] and not made["months"]:
            continue  # counts nothing (a family not counted before, or no longer)
        for table, entries in aggregate_rows(made).items():
            delta = deltas[table]
            for key, row in entries.items():
                current = delta.get(key)
                if current is None:
                    delta[key] = row if sign > 0 else [-v for v in row]
                elif sign > 0:
                    for at, value in enumerate(row):
                        current[at] += value
                else:
                    for at, value in enumerate(row):
                        current[at] -= value


def _folded(deltas: dict[tuple, list[int]], horizon: str) -> dict[tuple, list[int]]:
    """A DATED table's deltas with those of a day up to the horizon added to their key's
    folded row (changed_on '')."""
    if not horizon:
        return deltas
    folded: dict[tuple, list[int]] = {}
    for key, row in deltas.items():
        at = (*key[:-1], "") if key[-1] <= horizon else key
        current = folded.get(at)
        folded[at] = row if current is None else [a + b for a, b in zip(current, row, strict=True)]
    return folded


def _write_deltas(cur: Cursor, names: dict[str, str], deltas: Deltas) -> None:
    """Each aggregate table's rows changed by their deltas, a DATED change of a day up to the
    horizon in its key's folded row."""
    horizon = horizon_of(cur, names)
    for table in AGGREGATES:
        mine = _levels(deltas.get(table, {}))
        _write_deltas_of(cur, names, table, _folded(mine, horizon) if table in DATED else mine)


def _write_deltas_of(
    cur: Cursor, names: dict[str, str], table: str, deltas: dict[tuple, list[int]]
) -> None:
    """The table's rows changed by their deltas (made when new; dropped when it counts no
    family any more, a DATED row when it changes nothing any more)."""
    keys, values = AGGREGATES[table]
    columns = ("level", "kecamatan", "kelurahan", *keys)
    name = names[table]
    changed = [(key, row) for key, row in sorted(deltas.items()) if any(row)]
    if not changed:
        return
    added = ", ".join(f"{v}={name}.{v}+excluded.{v}" for v in values)
    cur.executemany(
        f"INSERT INTO {name} ({', '.join((*columns, *values))})"
        f" VALUES ({', '.join('?' for _ in (*columns, *values))})"
        f" ON CONFLICT ({', '.join(columns)}) DO UPDATE SET {added}",
        [(*key, *row) for key, row in changed],
    )
    match = " AND ".join(f"{c}=?" for c in columns)
    if table in DATED:
        gone = [key for key, _ in changed]
        nothing = " AND ".join(f"{v}=0" for v in values)
    else:
        gone = [key for key, row in changed if row[0] < 0]
        nothing = "families<=0"
    if gone:
        cur.executemany(f"DELETE FROM {name} WHERE {match} AND {nothing}", gone)


def refresh(cur: Cursor, names: dict[str, str], family_id: str) -> None:
    """The family's contribution now replaces the one it made: the aggregates get the
    difference at once."""
    _refresh_all(cur, names, [family_id])


_READ_AT_ONCE = 500  # families per statement of `_refresh_all`'s reads


def _refreshed(
    family_id: str,
    row: list[Any] | None,
    benefits: list[tuple],
    opd_of: dict[str, str],
    deltas: Deltas,
) -> str | None:
    """One family's refresh: its contribution from its row (kecamatan, kelurahan, moves,
    contribution; None: not seen yet) and its benefits' rows, the difference to the one it
    made added to `deltas`; answers the contribution to store (None: unchanged)."""
    old = json.loads(row[3]) if row and row[3] else EMPTY
    new = _contribution(row[:3] if row else None, benefits, opd_of)
    if new == old:
        return None
    _add_difference(deltas, old, new)
    return json.dumps(new, sort_keys=True, separators=(",", ":"))


def _refresh_all(cur: Cursor, names: dict[str, str], families: list[str]) -> None:
    """These families (each once) refreshed: each one's contribution replaces the one it
    made, their differences to the aggregates summed and written once per row changed. Their
    rows are read two statements per `_READ_AT_ONCE` families (a rebuild's finish refreshes
    every family), the programs' OPDs once."""
    deltas: Deltas = {}
    opd_of = _opds(cur, names)
    for at in range(0, len(families), _READ_AT_ONCE):
        part = families[at : at + _READ_AT_ONCE]
        marks = ", ".join("?" for _ in part)
        known = {
            family_id: rest
            for family_id, *rest in cur.execute(
                f"SELECT family_id, kecamatan, kelurahan, moves, contribution"
                f" FROM {names['families']} WHERE family_id IN ({marks})",
                part,
            ).fetchall()
        }
        benefits: dict[str, list[tuple]] = {}
        for family_id, *row in cur.execute(
            f"SELECT family_id, {_BENEFIT_COLUMNS} FROM {names['benefits']}"
            f" WHERE family_id IN ({marks}) ORDER BY family_id, benefit_id",
            part,
        ).fetchall():
            benefits.setdefault(family_id, []).append(tuple(row))
        updated: list[tuple[str, str]] = []
        added: list[tuple[str, str]] = []
        for family_id in part:
            row = known.get(family_id)
            stored = _refreshed(family_id, row, benefits.get(family_id, []), opd_of, deltas)
            if stored is not None:
                (updated if row else added).append((stored, family_id))
        if updated:
            cur.executemany(
                f"UPDATE {names['families']} SET contribution=? WHERE family_id=?", updated
            )
        if added:  # benefits of a family whose household this view has not seen yet
            cur.executemany(
                f"INSERT INTO {names['families']} (contribution, family_id, kecamatan, kelurahan)"
                " VALUES (?, ?, NULL, NULL)",
                added,
            )
    _write_deltas(cur, names, deltas)


# --- the horizon: a past day's changes folded -------------------------------------------------
#
# Summing every change since the first benefit would make a reader's sum grow with the years.
# No reader asks for a day before the latest event was recorded (today, in WIB, is never
# earlier), so the changes of the days up to the day before it (`horizon`) are kept folded in
# one row per key (changed_on ''), and a reader sums that row and the changes after it: the
# days on which something starts or ends from about yesterday on. The horizon is the latest
# of the recordings this view read, whatever the order or the batches they came in, so a
# rebuild folds exactly what the live view folded.

HORIZON = "folded"


def horizon_of(cur: Cursor, names: dict[str, str]) -> str:
    """The day up to which the changes are folded ('' before any event)."""
    row = cur.execute(f"SELECT day FROM {names['horizon']} WHERE name=?", (HORIZON,)).fetchone()
    return row[0] if row else ""


def recorded_day(envelope: dict[str, Any]) -> str:
    """The day before the envelope's recording, in WIB ('' when it carries none)."""
    stamp = envelope.get("recorded_at")
    if not stamp:
        return ""
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment.astimezone(WIB).date() - dt.timedelta(days=1)).isoformat()


def fold_query(names: dict[str, str], table: str) -> str:
    """The DATED table's changes up to a day (its one parameter) summed per key: what
    `advance` folds (through the table's index on changed_on)."""
    keys, values = AGGREGATES[table]
    columns = ", ".join(("level", "kecamatan", "kelurahan", *keys[:-1]))
    return (
        f"SELECT {columns}, {', '.join(f'SUM({v})' for v in values)} FROM {names[table]}"
        f" WHERE changed_on>'' AND changed_on<=? GROUP BY {columns} ORDER BY {columns}"
    )


def advance(cur: Cursor, names: dict[str, str], day: str) -> None:
    """The horizon moved on to `day` (when later than it was): the changes of the days up to
    it added to their keys' folded rows and deleted (a folded row that changes nothing goes
    too)."""
    before = horizon_of(cur, names)
    if day <= before:
        return
    if before:
        moved = cur.execute(
            f"UPDATE {names['horizon']} SET day=? WHERE name=? AND day=?", (day, HORIZON, before)
        ).rowcount
    else:
        moved = cur.execute(
            f"INSERT INTO {names['horizon']} (name, day) VALUES (?, ?)"
            " ON CONFLICT (name) DO NOTHING",
            (HORIZON, day),
        ).rowcount
    if not moved:  # another runner moved it first: it folds (the next move folds the rest)
        return
    for table in DATED:
        rows = cur.execute(fold_query(names, table), (day,)).fetchall()
        if not rows:
            continue
        cur.execute(f"DELETE FROM {names[table]} WHERE changed_on>'' AND changed_on<=?", (day,))
        width = len(AGGREGATES[table][0]) + 2
        _write_deltas_of(
            cur,
            names,
            table,
            {(*row[:width], ""): [int(v) for v in row[width:]] for row in rows},
        )


# --- once per batch ----------------------------------------------------------------------------

# The families the batch being applied has marked, and the latest `recorded_day` of its
# events (per context); None outside a batch.
_MARKED: ContextVar[tuple[str, set[str], list[str]] | None] = ContextVar(
    "overview_batch", default=None
)


def _refresh_soon(cur: Cursor, names: dict[str, str], family_id: str) -> None:
    marked = _MARKED.get()
    if marked is not None and marked[0] == names["families"]:
        marked[1].add(family_id)
    else:
        refresh(cur, names, family_id)


def _noting(handler: Handler) -> Handler:
    """The handler, after the envelope's `recorded_day` is noted: at the batch's end (or at
    once outside a batch) the horizon moves on to the latest."""

    @functools.wraps(handler)
    def noted(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
        day = recorded_day(envelope)
        marked = _MARKED.get()
        if marked is not None and marked[0] == names["families"]:
            marked[2][0] = max(marked[2][0], day)
        else:
            advance(cur, names, day)
        handler(cur, names, envelope)

    return noted


@contextmanager
def batch(cur: Cursor, names: dict[str, str]) -> Iterator[None]:
    """Handlers mark families; each marked family is refreshed once at the end of the batch,
    and the aggregates get the families' differences summed, one write per row changed. A
    failed batch drops its marks (its transaction is rolled back)."""
    marked: set[str] = set()
    latest = [""]
    token = _MARKED.set((names["families"], marked, latest))
    try:
        yield
        advance(cur, names, latest[0])  # before the refreshes: their past days go folded
        later = deferred(names)
        if later is not None:  # a rebuild: each family it marked, once at its end
            later.add(marked)
        else:
            _refresh_all(cur, names, sorted(marked))
    finally:
        _MARKED.reset(token)


PROJECTION = Projection(
    name="overview",
    # 2: the monthly series where the family lived each month (`moves`); 3: counts, OPDs and
    # overlaps kept as changes by day (`changed_on`), summed up to today when read; 4: no
    # `status` column in benefits (a benefit's status on a day is read from its `changes`)
    version=4,
    rebuild_weight=2.5,
    tables=TABLES,
    only_its_handlers=True,  # benefits, programs and where families live: nothing else
    handlers={
        event_type: _noting(handler)
        for event_type, handler in {
            "HouseholdRegistered": household_area,
            "HouseholdRelocated": household_relocated,
            "HouseholdSplitOff": household_area,
            "HomelessPersonRegistered": person_registered,
            "BenefitGranted": benefit_granted,
            "ProvisionalBenefitGranted": provisional_benefit_granted,
            **{event_type: benefit_changed for event_type in STATUS_OF},
            "IdentityLinked": identity_linked,
            "ProgramDefined": program_defined,
            "ProgramRulesChanged": program_rules_changed,
        }.items()
    },
    serves="registry",
    indexes=INDEXES,
    read_indexes=READ_INDEXES,
    on_erasure=no_personal_data,
    batch=batch,
    finish=Finish(units=left_in_order, apply=_refresh_all),
)


# --- reading -----------------------------------------------------------------------------------


def area_level(kecamatan: str, kelurahan: str) -> tuple[str, str, str]:
    """The level and area keys of a filter (a kelurahan needs its kecamatan)."""
    if kelurahan:
        return ("kelurahan", kecamatan, kelurahan)
    if kecamatan:
        return ("kecamatan", kecamatan, "")
    return ("kota", "", "")


COUNT_COLUMNS = ("families", "persons", "amount", "monthly_amount")


def _in(column: str, allowed: tuple[str, ...] | None) -> tuple[str, list[str]]:
    if allowed is None:
        return "", []
    return f" AND {column} IN ({', '.join('?' for _ in allowed) or 'NULL'})", list(allowed)


def programs(db: Database) -> dict[str, dict[str, Any]]:
    """code -> name, OPD and yearly target of every program the view has seen."""
    names = live_tables(db, PROJECTION)
    rows = db.query(f"SELECT code, name, opd, yearly_target FROM {names['programs']} ORDER BY code")
    return {r[0]: {"name": r[1], "opd": r[2], "yearly_target": r[3]} for r in rows}


def _day(today: dt.date | None) -> str:
    """The day the figures are of: today in Kota Jambi (WIB) unless another is asked."""
    return (today or city_today()).isoformat()


def overview_queries(
    db: Database,
    *,
    opd: str = "",
    kecamatan: str = "",
    kelurahan: str = "",
    rows_of_opds: tuple[str, ...] | None = None,
    today: dt.date | None = None,
) -> dict[str, tuple[str, list[Any]]]:
    """The statements of the overview (for `overview` and the query-plan test): totals per
    program and per OPD at the filter's area, the city-wide program totals (target progress),
    and the kelurahan rows within the area (of `rows_of_opds` only, when given); each the sum
    of its key's changes up to `today` (WIB's today by default; a later day answers what is
    known of it now, an earlier one than the view's horizon is not kept), a key counting no
    family then left out."""
    names = live_tables(db, PROJECTION)
    area = list(area_level(kecamatan, kelurahan))
    day = _day(today)
    same_area = "level=? AND kecamatan=? AND kelurahan=?"
    by_opd = " AND opd=?" if opd else ""
    opd_param = [opd] if opd else []
    values = ", ".join(f"SUM({c})" for c in COUNT_COLUMNS)
    counting = "HAVING SUM(families)>0"
    row_where, row_params = ["level='kelurahan'"], []
    for column, value in (("opd", opd), ("kecamatan", kecamatan), ("kelurahan", kelurahan)):
        if value:
            row_where.append(f"{column}=?")
            row_params.append(value)
    limit, limited = _in("opd", rows_of_opds)
    return {
        "programs": (
            f"SELECT opd, program, {values} FROM {names['counts']}"
            f" WHERE {same_area}{by_opd} AND changed_on<=?"
            f" GROUP BY opd, program {counting} ORDER BY opd, program",
            [*area, *opd_param, day],
        ),
        "opds": (
            f"SELECT opd, {values} FROM {names['opds']}"
            f" WHERE {same_area}{by_opd} AND changed_on<=? GROUP BY opd {counting} ORDER BY opd",
            [*area, *opd_param, day],
        ),
        "city": (
            f"SELECT program, SUM(families) FROM {names['counts']}"
            " WHERE level='kota' AND kecamatan='' AND kelurahan='' AND changed_on<=?"
            f" GROUP BY program {counting}",
            [day],
        ),
        "rows": (
            f"SELECT opd, program, kecamatan, kelurahan, {values} FROM {names['counts']}"
            f" WHERE {' AND '.join(row_where)}{limit} AND changed_on<=?"
            f" GROUP BY kecamatan, kelurahan, opd, program {counting}"
            " ORDER BY kecamatan, kelurahan, opd, program",
            [*row_params, *limited, day],
        ),
    }


def overview(
    db: Database,
    *,
    opd: str = "",
    kecamatan: str = "",
    kelurahan: str = "",
    rows_of_opds: tuple[str, ...] | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Families, persons and amounts with a benefit running today (its period covers the day
    and no suspension or termination in force stops it), per program and per OPD at the area
    asked (the city, a kecamatan or a kelurahan), with each program's yearly target and
    city-wide progress towards it, and the rows per OPD, program, kecamatan and kelurahan."""
    queries = overview_queries(
        db,
        opd=opd,
        kecamatan=kecamatan,
        kelurahan=kelurahan,
        rows_of_opds=rows_of_opds,
        today=today,
    )
    known = programs(db)
    city = {code: int(n) for code, n in db.query(*queries["city"])}

    def counts(row: tuple) -> dict[str, int]:
        return dict(zip(COUNT_COLUMNS, (int(v) for v in row), strict=True))

    per_program = []
    for row in db.query(*queries["programs"]):
        code = row[1]
        target = known.get(code, {}).get("yearly_target")
        per_program.append(
            {
                "opd": row[0],
                "program": code,
                "name": known.get(code, {}).get("name", code),
                **counts(row[2:]),
                "yearly_target": target,
                "city_families": int(city.get(code, 0)),
                "progress": round(city.get(code, 0) / target, 4) if target else None,
            }
        )
    return {
        "filters": {
            "opd": opd or None,
            "kecamatan": kecamatan or None,
            "kelurahan": kelurahan or None,
        },
        "programs": per_program,
        "opds": [{"opd": row[0], **counts(row[1:])} for row in db.query(*queries["opds"])],
        "rows": [
            {
                "opd": row[0],
                "program": row[1],
                "kecamatan": row[2],
                "kelurahan": row[3],
                **counts(row[4:]),
            }
            for row in db.query(*queries["rows"])
        ],
    }


def monthly_query(
    db: Database, *, program: str = "", kecamatan: str = "", kelurahan: str = ""
) -> tuple[str, list[Any]]:
    names = live_tables(db, PROJECTION)
    where, params = (
        "level=? AND kecamatan=? AND kelurahan=?",
        list(area_level(kecamatan, kelurahan)),
    )
    if program:
        where += " AND program=?"
        params.append(program)
    return (
        f"SELECT program, month, families, persons, amount FROM {names['monthly']}"
        f" WHERE {where} ORDER BY program, month",
        params,
    )


def monthly(
    db: Database,
    *,
    program: str = "",
    kecamatan: str = "",
    kelurahan: str = "",
    of_opds: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Per program (or the one asked), month by month: the families and persons whose
    benefit ran that month and the amounts of those months, at the area asked (of the
    programs of `of_opds` only, when given)."""
    series: dict[str, list[dict[str, Any]]] = {}
    statement, params = monthly_query(db, program=program, kecamatan=kecamatan, kelurahan=kelurahan)
    for code, month, families, persons, amount in db.query(statement, params):
        series.setdefault(code, []).append(
            {
                "month": month,
                "families": int(families),
                "persons": int(persons),
                "amount": int(amount),
            }
        )
    known = programs(db)
    return [
        {"program": code, "opd": known.get(code, {}).get("opd", ""), "months": months}
        for code, months in series.items()
        if of_opds is None or known.get(code, {}).get("opd", "") in of_opds
    ]


def overlaps_query(
    db: Database, *, kecamatan: str = "", kelurahan: str = "", today: dt.date | None = None
) -> tuple[str, list]:
    names = live_tables(db, PROJECTION)
    return (
        f"SELECT program_a, program_b, SUM(families) FROM {names['overlaps']}"
        " WHERE level=? AND kecamatan=? AND kelurahan=? AND changed_on<=?"
        " GROUP BY program_a, program_b HAVING SUM(families)>0 ORDER BY program_a, program_b",
        [*area_level(kecamatan, kelurahan), _day(today)],
    )


def overlaps(
    db: Database,
    *,
    kecamatan: str = "",
    kelurahan: str = "",
    of_opds: tuple[str, ...] | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The families holding, today, a running benefit of both programs (as `overview` counts
    them), for every pair with any (the pair of a program with itself: its families), at the
    area asked; and as a matrix. With `of_opds`, only the pairs of two programs of those
    OPDs."""
    known = programs(db) if of_opds is not None else {}

    def shown(code: str) -> bool:
        return of_opds is None or known.get(code, {}).get("opd", "") in of_opds

    pairs = [
        {"program_a": a, "program_b": b, "families": int(n)}
        for a, b, n in db.query(
            *overlaps_query(db, kecamatan=kecamatan, kelurahan=kelurahan, today=today)
        )
        if shown(a) and shown(b)
    ]
    codes = sorted({p["program_a"] for p in pairs} | {p["program_b"] for p in pairs})
    cell = {(p["program_a"], p["program_b"]): p["families"] for p in pairs}
    matrix = [[cell.get((min(a, b), max(a, b)), 0) for b in codes] for a in codes]
    return {
        "filters": {"kecamatan": kecamatan or None, "kelurahan": kelurahan or None},
        "programs": codes,
        "pairs": pairs,
        "matrix": matrix,
    }


def all_rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of every table of the live generation, ordered: for comparing with a
    rebuild."""
    names = live_tables(db, PROJECTION)
    order = {
        "families": "family_id",
        "benefits": "benefit_id",
        "programs": "stream_id",
        "horizon": "name",
        "counts": "level, kecamatan, kelurahan, opd, program, changed_on",
        "opds": "level, kecamatan, kelurahan, opd, changed_on",
        "monthly": "level, kecamatan, kelurahan, program, month",
        "overlaps": "level, kecamatan, kelurahan, program_a, program_b, changed_on",
    }
    return {
        table: db.query(f"SELECT * FROM {names[table]} ORDER BY {order[table]}") for table in order
    }
