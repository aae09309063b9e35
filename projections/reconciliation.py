"""Reconciliation ("satu data"): per household, what each source (DTSEN, DTKS, P3KE, VERVAL)
says beside what Casework holds, and the families where they disagree (serves="registry").

Fed by the household's own events: its place and members (the register: Casework is the
reference column), its benefits and the programs defined,
the deciles of WelfareAssessed and what each source lists (SourceListingRecorded: for each
source its latest listing, by period, a later record of the same period replacing an
earlier one).

The rule (`Rule`), stated by the deployment's settings (CASEWORK_RECONCILE_DESIL_TOLERANCE,
CASEWORK_RECONCILE_STALE_MONTHS) and kept with each generation of the view
(`Projection.parameters`: a view is computed under one rule only, and the runner rebuilds
it when the settings name another):
- the tolerance: how many deciles the sources' latest deciles may differ by;
- staleness: a source's listing (or its decile) whose period is more than `stale_months`
  before the newest period of the same family (any source's listing or decile; periods are
  quarters, 3 months each) speaks of the family at another time. It is left out of every
  comparison (members, deaths, aid, deciles) and the family gets the reason `stale`: what
  is to be done is to bring that source up to date, not to chase its differences.

Disagreements, as reason codes (`REASONS`), for each source's latest listing not stale:
- `missing_in_source`: an active member of the register the source does not list;
- `membership`: the source lists as living someone who is not an active member here;
- `deceased`: the source marks deceased someone alive (active) in the register, or lists as
  living someone whose death the register has (`alive_in_source`, not `only_in_source`);
  these three only for the sources that list a family's members (`MEMBER_SOURCES`): a field
  verification (VERVAL) names the person met, not the members, and is not compared on them
  (its `members` is null: none listed, which is not an empty family); a listing of a source
  that lists members but names none still misses every active member;
- `benefit`: a source that marks any aid disagrees with Casework's running benefits (those
  whose period covers the day asked, active or suspended then: a suspension, resumption or
  termination takes effect on its effective date, not when it is recorded, as everywhere
  else; a benefit whose period has ended runs no more, though no event said so) on the
  flags that source records (`SOURCE_BENEFITS`: no P3KE family disagrees over PBI-JK, which
  P3KE does not record) and whose program exists in Casework (a source that marks none says
  nothing of aid);
- `desil`: the latest deciles of the sources, those not stale, differ by more than the
  tolerance;
- `stale`: a source's listing or decile was left out as stale (see above).

Handlers only write facts and mark the household; at the end of each batch (`batch`) every
marked household is compared once and the counts per kecamatan and kelurahan are moved by
the difference (no scan of all rows).

What a family disagrees on changes with the days as well as with events: a termination
recorded today from next month stops its aid then, and a period that ends (or begins) does
so on its own day. So each benefit keeps its period and its changes with their effective
dates (a change from an earlier day than changes recorded before it to take effect later
replaces them, `domain.household.with_change`), and a comparison is kept as `steps`: the
reasons in force from the day before the household's latest event was recorded (`as_of`: no
reader asks for an earlier day, and what was in force then is folded into the first step,
'') and the reasons from each later day on which a change takes effect, a period begins or
the day after one ends (`benefit_days`), and they change. The disagreements hold each reason
(and `any`) with the days it holds (`since`, `until`), and the counts are kept as changes by
day (`changed_on`, as the cross-OPD view's): a family counts on its first step, and on a
later step's day what it counts changes; a reader sums a key's rows up to the day it asks
for (today), through the primary key. Nothing is rewritten because a day passes; a household
whose reasons change on no day ahead (nearly all) has one step and one row per reason, as
before. Persons are kept as their pseudonymous `subject`, the keyed `nik_hash` and the
`nik_token` (opened only to show), never the NIK in clear.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

from adapters.db import Cursor, Database
from domain.city import today
from domain.household import (
    ASSESSMENT_SOURCES,
    LISTING_BENEFITS,
    MEMBER_SOURCES,
    SOURCE_BENEFITS,
    replaced_by,
)
from projections.base import (
    PARAMETERS,
    Finish,
    Projection,
    built_parameters,
    current_generation,
    deferred,
    erased_identity,
    identity,
    left_in_order,
    live_tables,
)
from projections.overview import recorded_day


@dataclass(frozen=True)
class Rule:
    """What counts as a disagreement: `desil_tolerance`, the deciles the sources may differ
    by; `stale_months`, how much older than the family's newest period a source's listing
    or decile may be before it is left out as stale."""

    desil_tolerance: int = 1
    stale_months: int = 12

    def parameters(self) -> dict[str, int]:
        return asdict(self)


DEFAULT_RULE = Rule()
REASONS = ("membership", "desil", "benefit", "deceased", "missing_in_source", "stale")
# Counted per kecamatan and kelurahan beside the reasons: families any source lists, and
# families with any disagreement.
LISTED, ANY = "listed", "any"
RUNNING = ("active", "suspended")

TABLES = {
    "households": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) PRIMARY KEY, kecamatan VARCHAR(100) NOT NULL,"
        " kelurahan VARCHAR(100) NOT NULL, counted_kecamatan VARCHAR(100),"
        " counted_kelurahan VARCHAR(100), listed INTEGER NOT NULL DEFAULT 0,"
        " steps TEXT NOT NULL DEFAULT '[]', as_of VARCHAR(10) NOT NULL DEFAULT '')"
    ),
    "members": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, subject VARCHAR(32) NOT NULL,"
        " nik_hash VARCHAR(64), nik_token TEXT, status VARCHAR(20) NOT NULL,"
        " PRIMARY KEY (household_id, subject))"
    ),
    "listings": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, source VARCHAR(10) NOT NULL,"
        " period VARCHAR(7) NOT NULL, reference TEXT NOT NULL, desil INTEGER,"
        " benefits VARCHAR(200) NOT NULL, kk_hash VARCHAR(64), recorded_at VARCHAR(40),"
        " PRIMARY KEY (household_id, source))"
    ),
    "listed": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, source VARCHAR(10) NOT NULL,"
        " subject VARCHAR(32) NOT NULL, nik_hash VARCHAR(64), nik_token TEXT,"
        " relationship VARCHAR(30) NOT NULL, deceased INTEGER NOT NULL,"
        " PRIMARY KEY (household_id, source, subject))"
    ),
    "flags": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, source VARCHAR(10) NOT NULL,"
        " flag VARCHAR(20) NOT NULL, PRIMARY KEY (household_id, source, flag))"
    ),
    "deciles": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, source VARCHAR(10) NOT NULL,"
        " period VARCHAR(7) NOT NULL, desil INTEGER NOT NULL,"
        " PRIMARY KEY (household_id, source))"
    ),
    "benefits": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " benefit_id VARCHAR(36) PRIMARY KEY, household_id VARCHAR(36) NOT NULL,"
        " flag VARCHAR(32) NOT NULL, period_start VARCHAR(10) NOT NULL,"
        " period_end VARCHAR(10) NOT NULL, changes TEXT NOT NULL)"
    ),
    "programs": "CREATE TABLE IF NOT EXISTS {name} (flag VARCHAR(32) PRIMARY KEY)",
    # each reason (and `any`) a household disagrees for, from the day `since` ('': any day
    # asked) until the day before `until` ('': no end)
    "disagreements": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, reason VARCHAR(20) NOT NULL,"
        " kecamatan VARCHAR(100) NOT NULL, kelurahan VARCHAR(100) NOT NULL,"
        " since VARCHAR(10) NOT NULL, until VARCHAR(10) NOT NULL,"
        " PRIMARY KEY (household_id, reason, since))"
    ),
    # what changes from a day on (`changed_on`; '': any day asked): the households of a day
    # are the sum of their key's rows up to it
    "counts": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " kecamatan VARCHAR(100) NOT NULL, kelurahan VARCHAR(100) NOT NULL,"
        " reason VARCHAR(20) NOT NULL, changed_on VARCHAR(10) NOT NULL,"
        " households INTEGER NOT NULL,"
        " PRIMARY KEY (kecamatan, kelurahan, reason, changed_on))"
    ),
}
INDEXES = [
    "CREATE INDEX IF NOT EXISTS {flags}_flag ON {flags} (flag, household_id)",
    "CREATE INDEX IF NOT EXISTS {benefits}_household ON {benefits} (household_id)",
    "CREATE INDEX IF NOT EXISTS {benefits}_flag ON {benefits} (flag, household_id)",
]
# only readers read by these: a rebuild makes them after its events (`Projection.read_indexes`)
READ_INDEXES = [
    # the list without a place (every reason: `any`): in household id order from the index,
    # no sort of every family
    "CREATE INDEX IF NOT EXISTS {disagreements}_all ON {disagreements} (reason, household_id)",
    "CREATE INDEX IF NOT EXISTS {disagreements}_kelurahan"
    " ON {disagreements} (reason, kelurahan, household_id)",
    "CREATE INDEX IF NOT EXISTS {disagreements}_kecamatan"
    " ON {disagreements} (reason, kecamatan, household_id)",
    "CREATE INDEX IF NOT EXISTS {members}_subject ON {members} (subject)",
    "CREATE INDEX IF NOT EXISTS {listed}_subject ON {listed} (subject)",
]


def flag_of(program: str) -> str:
    """The aid flag a Casework program code stands for (`PBI-JK` is the sources' PBI_JK)."""
    return program.strip().upper().replace("-", "_")


# --- marking households for the end of the batch ---------------------------------------------

# household id -> the latest `recorded_day` of its own events in the batch ('' for none)
_MARKED: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "reconciliation_marked", default=None
)


def _mark(
    cur: Cursor, names: dict[str, str], household_id: str, envelope: dict[str, Any] | None = None
) -> None:
    """The household to compare again; `envelope`, an event of its own stream, moves on the
    day from which its comparison is kept (`as_of`)."""
    day = recorded_day(envelope) if envelope is not None else ""
    marked = _MARKED.get()
    if marked is None:  # outside a batch scope: compare at once
        _seen(cur, names, {household_id: day})
        _compare(cur, names, household_id, rule_of(cur, names))
    else:
        marked[household_id] = max(marked.get(household_id, ""), day)


def _seen(cur: Cursor, names: dict[str, str], days: dict[str, str]) -> None:
    """Each household's `as_of` moved on to the day before its latest event's recording (no
    reader asks for an earlier day: what was in force before it is folded in its first step)."""
    cur.executemany(
        f"UPDATE {names['households']} SET as_of=? WHERE household_id=? AND as_of<?",
        [(day, household_id, day) for household_id, day in sorted(days.items()) if day],
    )


@contextmanager
def batch(cur: Cursor, names: dict[str, str]) -> Iterator[None]:
    """Handlers mark households; each marked one is compared once at the batch's end, under
    the rule this generation was built under."""
    token = _MARKED.set({})
    try:
        yield
        days = _MARKED.get() or {}
        _seen(cur, names, days)
        marked = sorted(days)
        later = deferred(names)
        if later is not None:  # a rebuild: each household it marked, once at its end
            later.add(marked)
        elif marked:
            _compare_all(cur, names, marked)
    finally:
        _MARKED.reset(token)


def _compare_all(cur: Cursor, names: dict[str, str], households: list[str]) -> None:
    """These households compared again, under the rule the generation was built under."""
    rule = rule_of(cur, names)
    for household_id in households:
        _compare(cur, names, household_id, rule)


def rule_of(cur: Cursor, names: dict[str, str]) -> Rule:
    """The rule this generation of the view was built under (kept with its tables)."""
    return Rule(**built_parameters(cur, PROJECTION, names))


def _quarter(period: str) -> int:
    """A period (`2026-Q1`) as a count of quarters."""
    return int(period[:4]) * 4 + int(period[-1]) - 1


def months_before(period: str, newest: str) -> int:
    """How many months `period` starts before `newest` (both quarters)."""
    return (_quarter(newest) - _quarter(period)) * 3


# --- handlers --------------------------------------------------------------------------------


def _set_member(cur: Cursor, names: dict[str, str], household_id: str, nik: Any, status: str):
    who = identity(nik)
    cur.execute(
        f"INSERT INTO {names['members']} (household_id, subject, nik_hash, nik_token, status)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (household_id, subject) DO UPDATE"
        " SET nik_hash=excluded.nik_hash, nik_token=excluded.nik_token, status=excluded.status",
        (household_id, who.subject, who.hash, who.token, status),
    )


def _member_status(cur: Cursor, names: dict[str, str], household_id: str, nik: Any, status: str):
    cur.execute(
        f"UPDATE {names['members']} SET status=? WHERE household_id=? AND subject=?",
        (status, household_id, identity(nik).subject),
    )


def household_registered(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data, household_id = envelope["data"], envelope["stream_id"]
    cur.execute(  # a household registered again starts over (as a fresh row's defaults)
        f"INSERT INTO {names['households']} (household_id, kecamatan, kelurahan) VALUES (?, ?, ?)"
        " ON CONFLICT (household_id) DO UPDATE SET kecamatan=excluded.kecamatan,"
        " kelurahan=excluded.kelurahan, counted_kecamatan=NULL, counted_kelurahan=NULL,"
        " listed=0, steps='[]'",
        (household_id, data["kecamatan"], data["kelurahan"]),
    )
    _set_member(cur, names, household_id, data["head"]["nik"], "active")
    _mark(cur, names, household_id, envelope)


def household_split_off(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """A family formed by members who split from another KK: its head and members."""
    household_registered(cur, names, envelope)
    for person in envelope["data"]["members"]:
        _set_member(cur, names, envelope["stream_id"], person["nik"], "active")


def member_added(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    _set_member(cur, names, envelope["stream_id"], envelope["data"]["person"]["nik"], "active")
    _mark(cur, names, envelope["stream_id"], envelope)


def member_rejoined(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    nik = envelope["data"]["person"]["nik"]
    _member_status(cur, names, envelope["stream_id"], nik, "active")
    _mark(cur, names, envelope["stream_id"], envelope)


def member_removed(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    _member_status(cur, names, envelope["stream_id"], data["nik"], data["status"])
    _mark(cur, names, envelope["stream_id"], envelope)


def death_recorded(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    _member_status(cur, names, envelope["stream_id"], envelope["data"]["nik"], "deceased")
    _mark(cur, names, envelope["stream_id"], envelope)


def family_split(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """Members left to form a new family: no longer active here."""
    for nik in envelope["data"]["members"]:
        _member_status(cur, names, envelope["stream_id"], nik, "moved_out")
    _mark(cur, names, envelope["stream_id"], envelope)


def household_relocated(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    cur.execute(
        f"UPDATE {names['households']} SET kecamatan=?, kelurahan=? WHERE household_id=?",
        (data["kecamatan"], data["kelurahan"], envelope["stream_id"]),
    )
    _mark(cur, names, envelope["stream_id"], envelope)


def _keep_desil(
    cur: Cursor, names: dict[str, str], household_id: str, source: str, period: str, desil: int
) -> None:
    """The source's latest decile: a later period (or the same one, recorded later) wins."""
    table = names["deciles"]
    cur.execute(
        f"INSERT INTO {table} (household_id, source, period, desil) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (household_id, source) DO UPDATE SET period=excluded.period,"
        f" desil=excluded.desil WHERE {table}.period <= excluded.period",
        (household_id, source, period, desil),
    )


def welfare_assessed(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data, household_id = envelope["data"], envelope["stream_id"]
    _keep_desil(cur, names, household_id, data["source"], data["period"], data["desil"])
    _mark(cur, names, household_id, envelope)


def source_listing_recorded(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """The source's listing, when it is its latest (by period; the same period recorded
    later replaces the earlier one)."""
    data, household_id = envelope["data"], envelope["stream_id"]
    source, period = data["source"], data["period"]
    if data.get("desil") is not None:
        _keep_desil(cur, names, household_id, source, period, data["desil"])
    row = cur.execute(
        f"SELECT period FROM {names['listings']} WHERE household_id=? AND source=?",
        (household_id, source),
    ).fetchone()
    if row is not None and row[0] > period:
        _mark(cur, names, household_id, envelope)
        return
    key = (household_id, source)
    if row is not None:  # the earlier listing's rows (a listing's rows come only with it)
        for table in ("listings", "listed", "flags"):
            cur.execute(f"DELETE FROM {names[table]} WHERE household_id=? AND source=?", key)
    cur.execute(
        f"INSERT INTO {names['listings']} (household_id, source, period, reference, desil,"
        " benefits, kk_hash, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            household_id,
            source,
            period,
            data["reference"],
            data.get("desil"),
            ",".join(data["benefits"]),
            identity(data["kk_number"]).hash,
            envelope["recorded_at"],
        ),
    )
    for member in data["members"]:
        who = identity(member["nik"])
        cur.execute(
            f"INSERT INTO {names['listed']} (household_id, source, subject, nik_hash, nik_token,"
            " relationship, deceased) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                household_id,
                source,
                who.subject,
                who.hash,
                who.token,
                member["relationship"],
                1 if member["deceased"] else 0,
            ),
        )
    cur.executemany(
        f"INSERT INTO {names['flags']} (household_id, source, flag) VALUES (?, ?, ?)",
        [(household_id, source, flag) for flag in data["benefits"]],
    )
    _mark(cur, names, household_id, envelope)


def benefit_granted(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """Running (active) over its period, no change yet."""
    data = envelope["data"]
    cur.execute(
        f"INSERT INTO {names['benefits']} (benefit_id, household_id, flag, period_start,"
        " period_end, changes) VALUES (?, ?, ?, ?, ?, '[]') ON CONFLICT (benefit_id) DO UPDATE"
        " SET household_id=excluded.household_id, flag=excluded.flag,"
        " period_start=excluded.period_start, period_end=excluded.period_end,"
        " changes=excluded.changes",
        (
            data["benefit_id"],
            envelope["stream_id"],
            flag_of(data["program"]),
            data["period_start"],
            data["period_end"],
        ),
    )
    _mark(cur, names, envelope["stream_id"], envelope)


def _benefit_status(status: str):
    def handler(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
        """The change, in force from its effective date; those recorded before it to take
        effect after that date it replaces (domain.household.with_change)."""
        data = envelope["data"]
        row = cur.execute(
            f"SELECT changes FROM {names['benefits']} WHERE benefit_id=?", (data["benefit_id"],)
        ).fetchone()
        if row is None:
            return
        day = data.get("effective_date") or ""
        changes = [
            *(c for c in json.loads(row[0]) if not replaced_by(c[1], day)),
            [status, day],
        ]
        cur.execute(
            f"UPDATE {names['benefits']} SET changes=? WHERE benefit_id=?",
            (json.dumps(changes, separators=(",", ":")), data["benefit_id"]),
        )
        _mark(cur, names, envelope["stream_id"], envelope)

    handler.__name__ = f"benefit_{status}"
    return handler


def program_defined(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """A program's flag becomes comparable: the families a source flags it for, or that
    receive it, are compared again."""
    flag = flag_of(envelope["data"]["code"])
    cur.execute(f"DELETE FROM {names['programs']} WHERE flag=?", (flag,))
    cur.execute(f"INSERT INTO {names['programs']} (flag) VALUES (?)", (flag,))
    rows = cur.execute(
        f"SELECT household_id FROM {names['flags']} WHERE flag=?"
        f" UNION SELECT household_id FROM {names['benefits']} WHERE flag=?",
        (flag, flag),
    ).fetchall()
    for (household_id,) in rows:
        _mark(cur, names, household_id)


def erase_person(cur: Cursor, names: dict[str, str], subject: str) -> None:
    """The person's key is destroyed: their hash and token give way to the marker; the rows
    (and so the comparison, by subject) stay."""
    marker = erased_identity(subject).token
    for table in ("members", "listed"):
        cur.execute(
            f"UPDATE {names[table]} SET nik_hash=NULL, nik_token=? WHERE subject=?",
            (marker, subject),
        )


# --- comparing one household -----------------------------------------------------------------


def status_on(changes: list[list[str]], day: str) -> str:
    """A benefit's status in force on `day` (ISO; its changes as kept, [status, effective
    date] in the order recorded, their dates growing): the last change whose date has come,
    the grant's `active` before any (domain.household.status_on)."""
    status = "active"
    for changed, since in changes:
        if since <= day:
            status = changed
    return status


def side_by_side(
    cur: Cursor,
    names: dict[str, str],
    household_id: str,
    rule: Rule | None = None,
    day: str | None = None,
) -> dict[str, Any] | None:
    """What the register and each source say about one household, and the reasons they
    disagree under `rule` (the generation's own when None), on `day` (ISO; today, WIB, when
    None: Casework's running benefits are those in force that day), None when there is no
    such household in the view. Persons by subject, hash and token."""
    facts = _facts(cur, names, household_id)
    if facts is None:
        return None
    return _answer(facts, rule or rule_of(cur, names), day or today().isoformat())


def _facts(cur: Cursor, names: dict[str, str], household_id: str) -> dict[str, Any] | None:
    """One household's rows, as a comparison reads them (None: not in the view)."""
    row = cur.execute(
        f"SELECT kecamatan, kelurahan, as_of FROM {names['households']} WHERE household_id=?",
        (household_id,),
    ).fetchone()
    if row is None:
        return None
    key = (household_id,)
    members = {
        r[0]: {"nik_hash": r[1], "nik_token": r[2], "status": r[3]}
        for r in cur.execute(
            f"SELECT subject, nik_hash, nik_token, status FROM {names['members']}"
            " WHERE household_id=? ORDER BY subject",
            key,
        ).fetchall()
    }
    known = {r[0] for r in cur.execute(f"SELECT flag FROM {names['programs']}").fetchall()}
    benefits = [
        (flag, start, end, json.loads(changes))
        for flag, start, end, changes in cur.execute(
            f"SELECT flag, period_start, period_end, changes FROM {names['benefits']}"
            " WHERE household_id=? ORDER BY benefit_id",
            key,
        ).fetchall()
        if flag in known
    ]
    deciles = {
        r[0]: {"period": r[1], "desil": r[2]}
        for r in cur.execute(
            f"SELECT source, period, desil FROM {names['deciles']} WHERE household_id=?", key
        ).fetchall()
    }
    listings = {
        r[0]: {"period": r[1], "reference": r[2], "desil": r[3], "recorded_at": r[5]}
        | {"benefits": [b for b in r[4].split(",") if b]}
        for r in cur.execute(
            f"SELECT source, period, reference, desil, benefits, recorded_at"
            f" FROM {names['listings']} WHERE household_id=?",
            key,
        ).fetchall()
    }
    listed: dict[str, dict[str, dict[str, Any]]] = {}
    for source, subject, nik_hash, nik_token, relationship, deceased in cur.execute(
        f"SELECT source, subject, nik_hash, nik_token, relationship, deceased"
        f" FROM {names['listed']} WHERE household_id=? ORDER BY source, subject",
        key,
    ).fetchall():
        listed.setdefault(source, {})[subject] = {
            "nik_hash": nik_hash,
            "nik_token": nik_token,
            "relationship": relationship,
            "deceased": bool(deceased),
        }
    return {
        "household_id": household_id,
        "kecamatan": row[0],
        "kelurahan": row[1],
        "as_of": row[2],
        "members": members,
        "known": known,
        "benefits": benefits,
        "deciles": deciles,
        "listings": listings,
        "listed": listed,
    }


def running_on(facts: dict[str, Any], day: str) -> list[str]:
    """The flags of the household's benefits running on `day`: inside their period (one that
    ended, or has not begun, runs not, though no event said so) and active or suspended then
    (a suspended benefit is still the family's), of programs defined here."""
    return sorted(
        {
            flag
            for flag, start, end, changes in facts["benefits"]
            if start <= day <= end and status_on(changes, day) in RUNNING
        }
    )


def benefit_days(facts: dict[str, Any]) -> set[str]:
    """The days on which what the household's benefits run may change: each change's
    effective date, each period's start and the day after its end."""
    days: set[str] = set()
    for _, start, end, changes in facts["benefits"]:
        days.update(since for _, since in changes)
        days.add(start)
        days.add((dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat())
    return days - {""}


def _answer(facts: dict[str, Any], rule: Rule, day: str) -> dict[str, Any]:
    """The side-by-side answer of one household's `facts` on `day`."""
    members, known = facts["members"], facts["known"]
    deciles, listings, listed = facts["deciles"], facts["listings"], facts["listed"]
    active = {s for s, m in members.items() if m["status"] == "active"}
    running = running_on(facts, day)
    periods = [x["period"] for x in (*listings.values(), *deciles.values())]
    newest = max(periods) if periods else None

    def stale(period: str) -> bool:
        return newest is not None and months_before(period, newest) > rule.stale_months

    reasons: set[str] = set()
    sources: dict[str, Any] = {}
    running_set = set(running)
    for source in ASSESSMENT_SOURCES:
        listing = listings.get(source)
        decile = deciles.get(source)
        desil_stale = decile is not None and stale(decile["period"])
        if desil_stale:
            reasons.add("stale")
        if listing is None:
            sources[source] = {
                "listed": False,
                "desil": decile,
                "stale": False,
                "desil_stale": desil_stale,
            }
            continue
        persons = listed.get(source, {})
        lists_members = source in MEMBER_SOURCES
        if stale(listing["period"]):  # of another time: shown, compared with nothing
            reasons.add("stale")
            sources[source] = {
                "listed": True,
                **listing,
                "stale": True,
                "desil": decile,
                "desil_stale": desil_stale,
                "listing_desil": listing["desil"],
                "members": len(persons) if lists_members else None,
                "missing_in_source": [],
                "only_in_source": [],
                "deceased_in_source": [],
                "alive_in_source": [],
                "compared_flags": [],
                "benefit_differs": False,
            }
            continue
        if lists_members:
            living = {s for s, p in persons.items() if not p["deceased"]}
            missing = sorted(active - persons.keys())
            died = {s for s, m in members.items() if m["status"] == "deceased"}
            alive_there = sorted(living & died)  # the register has their death
            only_here = sorted(living - active - died)
            deceased = sorted({s for s, p in persons.items() if p["deceased"]} & active)
        else:  # the person met is no list of members: nothing to compare them with
            missing, only_here, deceased, alive_there = [], [], [], []
        covered = set(SOURCE_BENEFITS.get(source, ())) & known
        flagged = sorted(set(listing["benefits"]) & covered)
        benefit_differs = bool(listing["benefits"]) and set(flagged) != running_set & covered
        reasons.update(
            reason
            for reason, found in (
                ("missing_in_source", missing),
                ("membership", only_here),
                ("deceased", deceased or alive_there),
                ("benefit", benefit_differs),
            )
            if found
        )
        sources[source] = {
            "listed": True,
            **listing,
            "stale": False,
            "desil": decile,
            "desil_stale": desil_stale,
            "listing_desil": listing["desil"],
            "members": len(persons) if lists_members else None,
            "missing_in_source": [_person(members[s]) for s in missing],
            "only_in_source": [_person(persons[s]) for s in only_here],
            "deceased_in_source": [_person(members[s]) for s in deceased],
            "alive_in_source": [_person(members[s]) for s in alive_there],
            "compared_flags": flagged,
            "benefit_differs": benefit_differs,
        }
    values = [d["desil"] for d in deciles.values() if not stale(d["period"])]
    spread = max(values) - min(values) if len(values) > 1 else 0
    if spread > rule.desil_tolerance:
        reasons.add("desil")
    return {
        "household_id": facts["household_id"],
        "kecamatan": facts["kecamatan"],
        "kelurahan": facts["kelurahan"],
        "day": day,
        "reasons": [r for r in REASONS if r in reasons],
        "listed": bool(listings),
        "desil_spread": spread,
        "tolerance": rule.desil_tolerance,
        "stale_months": rule.stale_months,
        "newest_period": newest,
        "register": {
            "active_members": len(active),
            "deceased_members": sum(1 for m in members.values() if m["status"] == "deceased"),
            "running_benefits": running,
            "programs_compared": sorted(known & set(LISTING_BENEFITS)),
        },
        "sources": sources,
    }


def _person(found: dict[str, Any]) -> dict[str, Any]:
    return {"nik_hash": found["nik_hash"], "nik_token": found["nik_token"]}


def steps(facts: dict[str, Any], rule: Rule) -> list[list[Any]]:
    """The household's reasons by day, from the day before its latest event's recording
    (`as_of`) on: [day, reasons] for the first ('', in force on any day asked: what is in
    force on `as_of`) and for each day after it on which a benefit's change takes effect and
    the reasons change (a termination recorded today from next month, a period that ends)."""
    as_of = facts["as_of"]
    # only a listing that marks aid compares the benefits: without one, no day differs
    marks_aid = any(listing["benefits"] for listing in facts["listings"].values())
    days = sorted(benefit_days(facts)) if marks_aid else []
    found: list[list[Any]] = [["", _answer(facts, rule, as_of)["reasons"]]]
    for day in days:
        if day > as_of:
            reasons = _answer(facts, rule, day)["reasons"]
            if reasons != found[-1][1]:
                found.append([day, reasons])
    return found


def _compare(cur: Cursor, names: dict[str, str], household_id: str, rule: Rule) -> None:
    """Compare one household again; move the counts by the difference, day by day."""
    facts = _facts(cur, names, household_id)
    if facts is None:
        return
    kecamatan, kelurahan = facts["kecamatan"], facts["kelurahan"]
    listed = bool(facts["listings"])
    made = steps(facts, rule)
    old = cur.execute(
        f"SELECT counted_kecamatan, counted_kelurahan, listed, steps"
        f" FROM {names['households']} WHERE household_id=?",
        (household_id,),
    ).fetchone()
    deltas: dict[tuple[str, str, str, str], int] = {}
    if old[0] is not None:
        _add_counts(deltas, old[0], old[1], bool(old[2]), json.loads(old[3]), -1)
    _add_counts(deltas, kecamatan, kelurahan, listed, made, 1)
    for key, by in sorted(deltas.items()):
        if by:
            _count(cur, names, key, by)
    cur.execute(
        f"UPDATE {names['households']} SET counted_kecamatan=?, counted_kelurahan=?, listed=?,"
        " steps=? WHERE household_id=?",
        (
            kecamatan,
            kelurahan,
            1 if listed else 0,
            json.dumps(made, separators=(",", ":")),
            household_id,
        ),
    )
    cur.execute(f"DELETE FROM {names['disagreements']} WHERE household_id=?", (household_id,))
    cur.executemany(
        f"INSERT INTO {names['disagreements']} (household_id, reason, kecamatan, kelurahan,"
        " since, until) VALUES (?, ?, ?, ?, ?, ?)",
        [(household_id, reason, kecamatan, kelurahan, *span) for reason, span in _spans(made)],
    )


def _spans(made: list[list[Any]]) -> list[tuple[str, tuple[str, str]]]:
    """Each reason (and `any`) of the steps with the days it holds: (since, until), until
    '' when it holds to the end."""
    found: list[tuple[str, tuple[str, str]]] = []
    for reason in (ANY, *REASONS):
        since = None
        for day, reasons in made:
            holds = reason in reasons or (reason == ANY and bool(reasons))
            if holds and since is None:
                since = day
            elif not holds and since is not None:
                found.append((reason, (since, day)))
                since = None
        if since is not None:
            found.append((reason, (since, "")))
    return found


def _counted(listed: bool, reasons: list[str]) -> list[str]:
    reasons = [r for r in reasons if r]
    return [*([LISTED] if listed else []), *([ANY] if reasons else []), *reasons]


def _add_counts(
    deltas: dict[tuple[str, str, str, str], int],
    kecamatan: str,
    kelurahan: str,
    listed: bool,
    made: list[list[Any]],
    by: int,
) -> None:
    """What a household's steps count, by `by` (1 added, -1 taken away): from its first step
    on, what that step counts; on each later step's day, what it counts instead."""
    before: list[str] = []
    for day, reasons in made:
        now = _counted(listed, reasons)
        for reason in now:
            key = (kecamatan, kelurahan, reason, day)
            deltas[key] = deltas.get(key, 0) + by
        for reason in before:
            key = (kecamatan, kelurahan, reason, day)
            deltas[key] = deltas.get(key, 0) - by
        before = now


def _count(cur: Cursor, names: dict[str, str], key: tuple[str, str, str, str], by: int) -> None:
    """A count's row moved by `by` (made when new, dropped when it changes nothing)."""
    where = "kecamatan=? AND kelurahan=? AND reason=? AND changed_on=?"
    row = cur.execute(f"SELECT households FROM {names['counts']} WHERE {where}", key).fetchone()
    total = (row[0] if row else 0) + by
    cur.execute(f"DELETE FROM {names['counts']} WHERE {where}", key)
    if total:
        cur.execute(
            f"INSERT INTO {names['counts']} (kecamatan, kelurahan, reason, changed_on,"
            " households) VALUES (?, ?, ?, ?, ?)",
            (*key, total),
        )


HANDLERS = {
    "HouseholdRegistered": household_registered,
    "HouseholdSplitOff": household_split_off,
    "MemberAdded": member_added,
    "MemberRejoined": member_rejoined,
    "MemberRemoved": member_removed,
    "DeathRecorded": death_recorded,
    "FamilySplit": family_split,
    "HouseholdRelocated": household_relocated,
    "WelfareAssessed": welfare_assessed,
    "SourceListingRecorded": source_listing_recorded,
    "BenefitGranted": benefit_granted,
    "BenefitSuspended": _benefit_status("suspended"),
    "BenefitResumed": _benefit_status("active"),
    "BenefitTerminated": _benefit_status("terminated"),
    "ProgramDefined": program_defined,
}

PROJECTION = Projection(
    name="reconciliation",
    rebuild_weight=2.8,
    tables=TABLES,
    handlers=HANDLERS,
    # what the sources say against the register: the registry's own work (Dinas Sosial)
    serves="registry",
    indexes=INDEXES,
    read_indexes=READ_INDEXES,
    only_its_handlers=True,  # its handlers' events only: nothing else changes a comparison
    on_erasure=erase_person,
    batch=batch,
    finish=Finish(units=left_in_order, apply=_compare_all),
    # v2: benefits compared on the flags each source records (SOURCE_BENEFITS); v3: the
    # unfiltered lists' indexes; v4: the rule (tolerance, staleness) kept with each
    # generation, and the reason `stale`; v5: a source that lists no members (VERVAL) is not
    # compared on membership, its `members` null
    # v6: a death the register has and a source does not: alive_in_source
    # v7: benefits' changes from their effective dates, reasons and counts by day
    version=8,  # 8: a benefit runs only inside its period (its start and the day after its end)
    parameters=DEFAULT_RULE.parameters(),
)


def configured(rule: Rule) -> Projection:
    """The view as a process configured with this rule builds it (`projections.catalog`)."""
    return replace(PROJECTION, parameters=rule.parameters())


# --- reading ---------------------------------------------------------------------------------


def rule_in_force(db: Database) -> Rule:
    """The rule the live view was built under: what its answers follow."""
    with db.transaction() as cur:
        names = PROJECTION.table_names(current_generation(cur, PROJECTION, lock=False))
        return rule_of(cur, names)


def _day(day: str | None) -> str:
    return day or today().isoformat()


def household(db: Database, household_id: str, day: str | None = None) -> dict[str, Any] | None:
    """The side-by-side answer of one household on `day` (ISO; today by default; None: not
    in the view)."""
    names = live_tables(db, PROJECTION)
    with db.transaction() as cur:
        return side_by_side(cur, names, household_id, day=_day(day))


def counts(
    db: Database, *, kecamatan: str = "", kelurahan: str = "", day: str | None = None
) -> list[dict[str, Any]]:
    """Per kecamatan and kelurahan on `day` (ISO; today by default): families listed,
    disagreeing, and per reason (each key's changes summed up to that day)."""
    names = live_tables(db, PROJECTION)
    where, params = ["changed_on<=?"], [_day(day)]
    for column, value in (("kecamatan", kecamatan), ("kelurahan", kelurahan)):
        if value:
            where.append(f"{column}=?")
            params.append(value)
    rows = db.query(
        f"SELECT kecamatan, kelurahan, reason, SUM(households) FROM {names['counts']}"
        f" WHERE {' AND '.join(where)} GROUP BY kecamatan, kelurahan, reason"
        " ORDER BY kecamatan, kelurahan, reason",
        tuple(params),
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for kec, kel, reason, households in rows:
        if not households:
            continue
        entry = found.setdefault(
            (kec, kel),
            {"kecamatan": kec, "kelurahan": kel, LISTED: 0, ANY: 0, **dict.fromkeys(REASONS, 0)},
        )
        entry[reason] = int(households)
    return list(found.values())


CHUNK = 500  # households whose reasons one statement reads (far below any parameter limit)


def disagreeing(
    db: Database,
    *,
    kecamatan: str = "",
    kelurahan: str = "",
    reason: str = "",
    limit: int = 50,
    offset: int = 0,
    day: str | None = None,
) -> list[dict[str, Any]]:
    """The families where the sources disagree on `day` (ISO; today by default), for that
    reason or any, in household id order, a page of them, each with its reasons that day."""
    names = live_tables(db, PROJECTION)
    on = _day(day)
    in_force = "d.since<=? AND (d.until='' OR d.until>?)"
    where, params = ["d.reason=?", in_force], [reason or ANY, on, on]
    for column, value in (("kecamatan", kecamatan), ("kelurahan", kelurahan)):
        if value:
            where.append(f"d.{column}=?")
            params.append(value)
    rows = db.query(
        f"SELECT d.household_id, d.kecamatan, d.kelurahan FROM {names['disagreements']} d"
        f" WHERE {' AND '.join(where)} ORDER BY d.household_id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    reasons: dict[str, set[str]] = {}
    ids = [r[0] for r in rows]
    for at in range(0, len(ids), CHUNK):  # an export's 100,000: a bounded list each time
        chunk = ids[at : at + CHUNK]
        marks = ", ".join("?" for _ in chunk)
        for household_id, found in db.query(
            f"SELECT d.household_id, d.reason FROM {names['disagreements']} d"
            f" WHERE d.household_id IN ({marks}) AND d.reason<>? AND {in_force}",
            (*chunk, ANY, on, on),
        ):
            reasons.setdefault(household_id, set()).add(found)
    return [
        {
            "household_id": r[0],
            "kecamatan": r[1],
            "kelurahan": r[2],
            "reasons": [x for x in REASONS if x in reasons.get(r[0], ())],
        }
        for r in rows
    ]


def all_rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of the live generation, ordered: for comparing a view with a rebuild."""
    names = live_tables(db, PROJECTION)
    return {
        base: db.query(f"SELECT * FROM {names[base]} ORDER BY {order}")
        for base, order in (
            ("households", "household_id"),
            ("members", "household_id, subject"),
            ("listings", "household_id, source"),
            ("listed", "household_id, source, subject"),
            ("flags", "household_id, source, flag"),
            ("deciles", "household_id, source"),
            ("benefits", "benefit_id"),
            ("programs", "flag"),
            (PARAMETERS, "name"),
            ("disagreements", "household_id, reason, since"),
            ("counts", "kecamatan, kelurahan, reason, changed_on"),
        )
    }
