"""Eligibility: for every household and program, and every person the program could pay,
`eligible`, `ineligible` or `review`, with the reasons (serves="program").

The view keeps what the rules read of each household (`facts`: members by pseudonymous
subject with birth date, sex, relationship, status and KTP arrival; welfare assessments;
NIBs by keyed hash; benefits), of each provisional person (`provisional`: their benefits,
and the subject of the NIK they were linked to) and of each program (its rule versions), with
the store positions of the events behind each fact. It keeps no name, no NIK, no KK number.

A result row is recomputed (`domain.eligibility_rules.facts_for`, `domain.program.evaluate`)
- for one household, on every event of it that changes a fact a rule reads;
- for one program and every household, when its rules change (a version that takes effect
  later only marks the rows due on that day);
- when time alone changes an answer: each row keeps `changes_on`, the next day an answer
  can change without an event (residence months reached, a 17th birthday, a benefit ending,
  an assessment's quarter beginning, a rule version taking effect); `tick` re-evaluates the
  rows due, once a day (the runner calls it).

An answer says whether a benefit of the program could start for that person on that day: the
pair rules (double receipt, once per KK, combinability both ways) are judged as a grant of
that one day is (`domain.eligibility_rules.clashes`), on the benefits received that day, the
person's benefits on their other KKs included; a benefit event re-evaluates those KKs too. So
are the benefits a person received before their NIK was known (a provisional person's), once
LinkIdentity joined them to that NIK (IdentityLinked), with their later changes, as a grant
counts them; the link, and each change of such a benefit, re-evaluates the KKs of that NIK.
The decile follows the program's `desil_source` rule; sources that disagree beyond its
tolerance answer `review`, the reason naming each source and its events.

Within a batch (`apply_envelopes`, through the projection's `batch` scope) the handlers
change the facts and only mark what needs evaluating: the households whose facts (or whose
members' benefits on other KKs) changed, and the programs whose rules changed at once; each
marked household is evaluated once, for every program, and each marked program once for the
other households, at the end of the batch, before the tracking is written (same transaction).
Outside a batch (a handler called alone) they evaluate at once, as before.

Every answer is a function of the facts, the rules and the day alone, so evaluating at the end
of a batch gives the rows evaluating after each event gives, and a rebuild gives the same rows
as the live view, whatever order the partitions delivered the events in (and however they were
cut into batches). The one write that is not an evaluation, a later-dated rule change marking
rows due, first evaluates what the batch marked so far, as it would have been.

A restricted person's rows are hidden (kept, flagged); so are an erased person's, whose birth
date leaves the facts (`erased` in their facts): nobody can be paid or served through a
person whose data is gone, and time travel leaves them out alike (`app.time_travel`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import orjson

from adapters.codec import is_erased
from adapters.db import Cursor, Database
from domain.eligibility_rules import (
    add_months,
    benefit_period,
    candidates,
    desil_facts,
    facts_for,
    residence_eligible_from,
    residence_reached_detail,
    residence_since,
)
from domain.household import replaced_by
from domain.program import Detail, answer_rank, evaluate, nobody_detail, text_of, verdict
from domain.texts import N_
from projections.base import (
    RESTRICTIONS,
    Deferred,
    Finish,
    Projection,
    deferred,
    identity,
    live_tables,
)

WIB = dt.timezone(dt.timedelta(hours=7))


def _today_in_jambi() -> dt.date:
    return dt.datetime.now(WIB).date()


# The day answers are computed for; tests replace it.
CLOCK: Callable[[], dt.date] = _today_in_jambi

TABLES = {
    # what the rules read of one household, as JSON (no names, no NIK, no KK number)
    "facts": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) PRIMARY KEY, kelurahan VARCHAR(100) NOT NULL,"
        " facts TEXT NOT NULL)"
    ),
    # which household a person (subject) is or was a member of: for erasure
    "persons": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " subject VARCHAR(32) NOT NULL, household_id VARCHAR(36) NOT NULL,"
        " PRIMARY KEY (subject, household_id))"
    ),
    "programs": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " stream_id VARCHAR(36) PRIMARY KEY, code VARCHAR(32) NOT NULL,"
        " rule_versions TEXT NOT NULL)"
    ),
    # the benefits of a person before their NIK was known (a provisional person, by its
    # stream), and once LinkIdentity joined them to a NIK (IdentityLinked) that NIK's subject:
    # then they are that person's benefits on every KK they are in (`_benefits_elsewhere`)
    "provisional": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " person_id VARCHAR(36) PRIMARY KEY, subject VARCHAR(32), benefits TEXT NOT NULL)"
    ),
    # subject '' : the program pays nobody of this household (no member fits the recipient)
    "results": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, program VARCHAR(32) NOT NULL,"
        " subject VARCHAR(32) NOT NULL, kelurahan VARCHAR(100) NOT NULL,"
        " status VARCHAR(12) NOT NULL, reasons TEXT NOT NULL,"
        " eligible_from VARCHAR(10), changes_on VARCHAR(10),"
        " restricted INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (household_id, program, subject))"
    ),
}
INDEXES = [
    "CREATE INDEX IF NOT EXISTS {persons}_household ON {persons} (household_id)",
    "CREATE INDEX IF NOT EXISTS {programs}_code ON {programs} (code)",
    "CREATE INDEX IF NOT EXISTS {provisional}_subject ON {provisional} (subject)",
]
# only readers read by these: a rebuild makes them after its events (`Projection.read_indexes`)
READ_INDEXES = [
    "CREATE INDEX IF NOT EXISTS {results}_program ON {results} (program, status, kelurahan)",
    "CREATE INDEX IF NOT EXISTS {results}_due ON {results} (changes_on)",
    "CREATE INDEX IF NOT EXISTS {results}_subject ON {results} (subject)",
]

_ADULT_AGE = 17
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _sorted_json(value: Any) -> str:
    """Compact JSON with sorted keys: the same text for the same facts or reasons, for every
    row of every evaluation (orjson; `json` took about an eighth of a household's
    evaluation)."""
    try:
        return orjson.dumps(value, option=_SORTED).decode()
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- facts -----------------------------------------------------------------------------------


def _subject(value: Any) -> str:
    return identity(value).subject


def _date_or_none(value: Any) -> str | None:
    if value is None or is_erased(value):
        return None
    return str(value)


def _member(person: dict[str, Any], relationship: str, position: int) -> dict[str, Any]:
    return {
        "birth_date": _date_or_none(person.get("birth_date")),
        "sex": person["sex"],
        "relationship": relationship,
        "status": "active",
        "arrival": None,
        "positions": [position],
        "ktp_position": None,
    }


def _load(cur: Cursor, names: dict[str, str], household_id: str) -> dict[str, Any] | None:
    """The household's facts; within a batch read once and kept until the batch writes them
    (`_write_facts`), so a household's many events cost one read and one write."""
    marks = _marks_for(names)
    if marks is not None and household_id in marks.facts:
        return marks.facts[household_id]
    row = cur.execute(
        f"SELECT facts FROM {names['facts']} WHERE household_id=?", (household_id,)
    ).fetchone()
    facts = orjson.loads(row[0]) if row else None
    if marks is not None:
        marks.facts[household_id] = facts
    return facts


def _save(cur: Cursor, names: dict[str, str], household_id: str, facts: dict[str, Any]) -> None:
    marks = _marks_for(names)
    if marks is not None:
        marks.facts[household_id] = facts
        if household_id not in marks.new:
            marks.changed.add(household_id)
        return
    cur.execute(
        f"UPDATE {names['facts']} SET kelurahan=?, facts=? WHERE household_id=?",
        (facts["kelurahan"], _sorted_json(facts), household_id),
    )


def _insert(cur: Cursor, names: dict[str, str], household_id: str, facts: dict[str, Any]) -> None:
    marks = _marks_for(names)
    if marks is not None:
        if household_id in marks.new or marks.facts.get(household_id) is not None:
            raise ValueError("eligibility: a household registered twice in one batch")
        marks.facts[household_id] = facts
        marks.new.add(household_id)
        return
    cur.execute(
        f"INSERT INTO {names['facts']} (household_id, kelurahan, facts) VALUES (?, ?, ?)",
        (household_id, facts["kelurahan"], _sorted_json(facts)),
    )


def _write_facts(cur: Cursor, names: dict[str, str]) -> None:
    """The facts the batch has changed so far, written (before anything reads the table)."""
    marks = _marks_for(names)
    if marks is None or not (marks.new or marks.changed):
        return
    table = names["facts"]
    if marks.new:
        cur.executemany(
            f"INSERT INTO {table} (household_id, kelurahan, facts) VALUES (?, ?, ?)",
            [
                (h, marks.facts[h]["kelurahan"], _sorted_json(marks.facts[h]))
                for h in sorted(marks.new)
            ],
        )
    if marks.changed:
        cur.executemany(
            f"UPDATE {table} SET kelurahan=?, facts=? WHERE household_id=?",
            [
                (marks.facts[h]["kelurahan"], _sorted_json(marks.facts[h]), h)
                for h in sorted(marks.changed)
            ],
        )
    marks.new, marks.changed = set(), set()


def _known_persons(cur: Cursor, names: dict[str, str], household_id: str) -> set[str]:
    """The subjects the persons table holds for this household (kept within a batch)."""
    marks = _marks_for(names)
    if marks is not None and household_id in marks.persons:
        return marks.persons[household_id]
    known = {
        row[0]
        for row in cur.execute(
            f"SELECT subject FROM {names['persons']} WHERE household_id=?", (household_id,)
        ).fetchall()
    }
    if marks is not None:
        marks.persons[household_id] = known
    return known


def _remember_person(cur: Cursor, names: dict[str, str], subject: str, household_id: str) -> None:
    marks = _marks_for(names)
    if marks is not None and subject in marks.persons.get(household_id, ()):
        return
    cur.execute(
        f"INSERT INTO {names['persons']} (subject, household_id) VALUES (?, ?)"
        " ON CONFLICT (subject, household_id) DO NOTHING",
        (subject, household_id),
    )
    if marks is not None and household_id in marks.persons:
        marks.persons[household_id].add(subject)


def _registered(envelope: dict[str, Any]) -> dict[str, Any]:
    """A new household's facts: its head alone."""
    data = envelope["data"]
    head = _subject(data["head"]["nik"])
    return {
        "kelurahan": data["kelurahan"],
        "head": head,
        "members": {head: _member(data["head"], "kepala_keluarga", envelope["position"])},
        "assessments": [],
        "nibs": [],
        "benefits": {},
    }


def household_registered(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    household_id = envelope["stream_id"]
    facts = _registered(envelope)
    _insert(cur, names, household_id, facts)
    _remember_person(cur, names, facts["head"], household_id)
    _evaluate_soon(cur, names, household_id)


def _changes(mutate: Callable[[dict[str, Any], dict[str, Any], int], None]):
    """A handler that changes the household's facts, then re-evaluates it."""

    def handler(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
        household_id = envelope["stream_id"]
        facts = _load(cur, names, household_id)
        if facts is None:  # its registration was never applied here (a parked message)
            return
        mutate(facts, envelope["data"], envelope["position"])
        _save(cur, names, household_id, facts)
        known = _known_persons(cur, names, household_id)
        for subject in facts["members"].keys() - known:
            _remember_person(cur, names, subject, household_id)
        _evaluate_soon(cur, names, household_id)

    handler.__name__ = mutate.__name__
    handler.fold = mutate  # type: ignore[attr-defined] # the change alone (`household_facts`)
    return handler


@_changes
def member_added(facts: dict, data: dict, position: int) -> None:
    subject = _subject(data["person"]["nik"])
    facts["members"][subject] = _member(data["person"], data["relationship"], position)


@_changes
def member_rejoined(facts: dict, data: dict, position: int) -> None:
    member = facts["members"].get(_subject(data["person"]["nik"]))
    if member is not None:
        member.update(relationship=data["relationship"], status="active")
        member["positions"].append(position)


@_changes
def member_corrected(facts: dict, data: dict, position: int) -> None:
    """A birth date, sex or relationship corrected (CorrectMember): the ages, sexes and
    relationships (a spouse is an adult) the rules read."""
    member = facts["members"].get(_subject(data["nik"]))
    read = ("birth_date", "sex", "relationship")
    if member is None or all(data.get(key) is None for key in read):
        return
    if data.get("birth_date") is not None:
        member["birth_date"] = _date_or_none(data["birth_date"])
    if data.get("sex") is not None:
        member["sex"] = data["sex"]
    if data.get("relationship") is not None:  # schema v2
        member["relationship"] = data["relationship"]
    member["positions"].append(position)


def _status(status_of: Callable[[dict], str]):
    def mutate(facts: dict, data: dict, position: int) -> None:
        member = facts["members"].get(_subject(data["nik"]))
        if member is not None:
            member["status"] = status_of(data)
            member["positions"].append(position)

    return mutate


member_removed = _changes(_status(lambda data: data["status"]))
death_recorded = _changes(_status(lambda data: "deceased"))


@_changes
def head_changed(facts: dict, data: dict, position: int) -> None:
    facts["head"] = _subject(data["nik"])
    for nik, relationship in data["relationships"].items():
        member = facts["members"].get(_subject(nik))
        if member is not None:
            member["relationship"] = relationship
            member["positions"].append(position)


def _split_member(person: dict[str, Any], relationship: str, position: int) -> dict[str, Any]:
    """A member of a family formed by a split, with the KTP arrival they had on the old KK."""
    member = _member(person, relationship, position)
    arrival = person.get("arrival")
    if arrival:
        member["arrival"] = {"type": arrival["type"], "arrived_on": arrival.get("arrived_on")}
        member["ktp_position"] = position
    return member


@_changes
def _split_off_members(facts: dict, data: dict, position: int) -> None:
    head = _subject(data["head"]["nik"])
    facts["members"][head] = _split_member(
        {**data["head"], **(data.get("head_identity") or {})}, "kepala_keluarga", position
    )
    for person in data["members"]:
        facts["members"][_subject(person["nik"])] = _split_member(
            person, person["relationship"], position
        )


def household_split_off(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """A family formed by members who split from another KK (SplitFamily)."""
    household_registered(cur, names, envelope)
    _split_off_members(cur, names, envelope)


@_changes
def family_split(facts: dict, data: dict, position: int) -> None:
    """Members left to form a new family: no longer this household's (moved out)."""
    for nik in data["members"]:
        member = facts["members"].get(_subject(nik))
        if member is not None:
            member["status"] = "moved_out"
            member["positions"].append(position)


@_changes
def ktp_issued(facts: dict, data: dict, position: int) -> None:
    member = facts["members"].get(_subject(data["nik"]))
    if member is not None:
        arrival = data["arrival"]
        member["arrival"] = {"type": arrival["type"], "arrived_on": arrival.get("arrived_on")}
        member["ktp_position"] = position


def _nib_key(nib: Any) -> str:
    return hashlib.sha256(str(nib).encode()).hexdigest()[:32]


@_changes
def nib_registered(facts: dict, data: dict, position: int) -> None:
    facts["nibs"].append(
        {
            "nik": _subject(data["nik"]),
            "nib": _nib_key(data["nib"]),
            "registered_on": data["registered_on"],
            "revoked_on": None,
            "positions": [position],
        }
    )


@_changes
def nib_revoked(facts: dict, data: dict, position: int) -> None:
    key = _nib_key(data["nib"])
    for record in facts["nibs"]:
        if record["nib"] == key and record["revoked_on"] is None:
            record["revoked_on"] = data["revoked_on"]
            record["positions"].append(position)
            return


@_changes
def welfare_assessed(facts: dict, data: dict, position: int) -> None:
    for record in facts["assessments"]:
        if record["source"] == data["source"] and record["period"] == data["period"]:
            record.update(desil=data["desil"], position=position)
            return
    facts["assessments"].append(
        {
            "source": data["source"],
            "period": data["period"],
            "desil": data["desil"],
            "position": position,
        }
    )


@_changes
def household_relocated(facts: dict, data: dict, position: int) -> None:
    facts["kelurahan"] = data["kelurahan"]


def _granted(data: dict, nik: str | None, position: int) -> dict[str, Any]:
    """A benefit's facts as granted (a household's, or a provisional person's)."""
    return {
        "benefit_id": data["benefit_id"],
        "nik": nik,
        "program": data["program"],
        "period_start": data["period_start"],
        "period_end": data["period_end"],
        "status": "active",
        "history": [],
        "positions": [position],
    }


def _status_changed(benefits: dict, data: dict, status: str, position: int) -> None:
    """A benefit suspended, resumed or terminated (a household's, or a provisional person's)."""
    benefit = benefits.get(data["benefit_id"])
    if benefit is not None:
        benefit["status"] = status
        # the pair rules count a terminated benefit until the day before it took effect
        day = data.get("effective_date")
        if day:  # replacing the changes recorded to take effect after it (with_change)
            benefit["history"] = [
                *(s for s in benefit["history"] if not replaced_by(s["effective_date"], day)),
                {"status": status, "effective_date": day},
            ]
        benefit["positions"].append(position)


@_changes
def benefit_granted(facts: dict, data: dict, position: int) -> None:
    facts["benefits"][data["benefit_id"]] = _granted(data, _subject(data["nik"]), position)


def _benefit_status(status: str):
    def mutate(facts: dict, data: dict, position: int) -> None:
        _status_changed(facts["benefits"], data, status, position)

    return _changes(mutate)


def _benefits_elsewhere(
    cur: Cursor, names: dict[str, str], household_id: str, facts: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """subject -> that member's benefits recorded on other KKs they are or were in (the
    double-receipt and combinability rules count them, as a grant does)."""
    subjects = sorted(facts["members"])
    if not subjects:
        return {}
    marks = ", ".join("?" for _ in subjects)
    rows = cur.execute(
        f"SELECT subject, household_id FROM {names['persons']}"
        f" WHERE subject IN ({marks}) AND household_id <> ? ORDER BY household_id",
        (*subjects, household_id),
    ).fetchall()
    found: dict[str, list[dict[str, Any]]] = {}
    for subject, other in rows:
        other_facts = _load(cur, names, other)
        for benefit in (other_facts or {}).get("benefits", {}).values():
            if benefit["nik"] == subject:
                found.setdefault(subject, []).append(benefit)
    # and those they received before their NIK was known, once linked to it (as a grant
    # counts the NIK's receipts of a provisional person)
    for subject, text in cur.execute(
        f"SELECT subject, benefits FROM {names['provisional']}"
        f" WHERE subject IN ({marks}) ORDER BY person_id",
        subjects,
    ).fetchall():
        found.setdefault(subject, []).extend(orjson.loads(text).values())
    return found


def _and_elsewhere(handler: Callable[[Cursor, dict[str, str], dict[str, Any]], None]):
    """A benefit handler that then re-evaluates the recipient's other KKs (their pair rules
    read this benefit too)."""

    def wrapped(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
        handler(cur, names, envelope)
        household_id = envelope["stream_id"]
        facts = _load(cur, names, household_id)
        benefit = (facts or {}).get("benefits", {}).get(envelope["data"]["benefit_id"])
        if benefit is None:
            return
        others = cur.execute(
            f"SELECT household_id FROM {names['persons']}"
            " WHERE subject=? AND household_id <> ? ORDER BY household_id",
            (benefit["nik"], household_id),
        ).fetchall()
        for (other,) in others:
            _evaluate_soon(cur, names, other)

    wrapped.__name__ = handler.__name__
    wrapped.fold = handler.fold  # type: ignore[attr-defined]
    return wrapped


# --- benefits before a NIK (a provisional person's stream) ------------------------------------


def _provisional_changes(mutate: Callable[[dict[str, Any], dict[str, Any], int], None]):
    """A handler of a provisional person's event that changes what the view keeps of them
    (`provisional`: their subject once linked, their benefits), then re-evaluates the KKs of
    the NIK they were linked to (their pair rules read these benefits)."""

    def handler(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
        person_id, table = envelope["stream_id"], names["provisional"]
        row = cur.execute(
            f"SELECT subject, benefits FROM {table} WHERE person_id=?", (person_id,)
        ).fetchone()
        record = {"subject": row[0], "benefits": orjson.loads(row[1])} if row else None
        record = record or {"subject": None, "benefits": {}}
        mutate(record, envelope["data"], envelope["position"])
        values = (record["subject"], _sorted_json(record["benefits"]), person_id)
        if row is None:
            cur.execute(
                f"INSERT INTO {table} (subject, benefits, person_id) VALUES (?, ?, ?)", values
            )
        else:
            cur.execute(f"UPDATE {table} SET subject=?, benefits=? WHERE person_id=?", values)
        if record["subject"] is None:  # not linked yet: no KK reads them
            return
        for (household_id,) in cur.execute(
            f"SELECT household_id FROM {names['persons']} WHERE subject=? ORDER BY household_id",
            (record["subject"],),
        ).fetchall():
            _evaluate_soon(cur, names, household_id)

    handler.__name__ = mutate.__name__
    handler.fold = mutate  # type: ignore[attr-defined] # the change alone (`provisional_facts`)
    return handler


@_provisional_changes
def provisional_benefit_granted(record: dict, data: dict, position: int) -> None:
    record["benefits"][data["benefit_id"]] = _granted(data, record["subject"], position)


def _provisional_status(status: str):
    def mutate(record: dict, data: dict, position: int) -> None:
        _status_changed(record["benefits"], data, status, position)

    return _provisional_changes(mutate)


@_provisional_changes
def identity_linked(record: dict, data: dict, position: int) -> None:
    """The person is a NIK: their benefits are that person's, the link among the events
    behind them."""
    record["subject"] = _subject(data["nik"])
    for benefit in record["benefits"].values():
        benefit["nik"] = record["subject"]
        benefit["positions"].append(position)


# --- programs --------------------------------------------------------------------------------


def _programs(cur: Cursor, names: dict[str, str], code: str | None = None) -> list[SimpleNamespace]:
    sql = f"SELECT code, rule_versions FROM {names['programs']}"
    rows = (
        cur.execute(sql + " WHERE code=?", (code,)).fetchall()
        if code
        else cur.execute(sql + " ORDER BY code").fetchall()
    )
    return [_cached_program(row[0], row[1]) for row in rows]


# Programs as evaluated, by (code, stored rule versions): every evaluation reads the programs,
# and their rows change only with their rules. Nothing mutates a program once built.
_PROGRAMS: dict[tuple[str, str], SimpleNamespace] = {}
_PROGRAMS_KEPT = 256


def _cached_program(code: str, versions_text: str) -> SimpleNamespace:
    key = (code, versions_text)
    program = _PROGRAMS.get(key)
    if program is None:
        if len(_PROGRAMS) >= _PROGRAMS_KEPT:
            _PROGRAMS.clear()
        program = _PROGRAMS[key] = _program(code, json.loads(versions_text))
    return program


def _program(code: str, versions: list[dict[str, Any]]) -> SimpleNamespace:
    # day (a date or its ISO text) -> index of the version in force, -1 none (memo)
    in_force_on: dict[dt.date | str, int] = {}

    def rules_at(on: dt.date | str) -> dict[str, Any] | None:
        index = in_force_on.get(on)  # by the date as given: no ISO text made on a hit
        if index is None:
            day = on.isoformat() if isinstance(on, dt.date) else str(on)
            in_force = [i for i, r in enumerate(versions) if r["effective_from"] <= day]
            index = in_force_on[on] = in_force[-1] if in_force else -1
        return dict(versions[index]) if index >= 0 else None

    return SimpleNamespace(code=code, rule_versions=versions, rules=versions[-1], rules_at=rules_at)


def program_defined(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    versions = [
        {
            "version": 1,
            "effective_from": data["effective_from"],
            **data["rules"],
            "position": envelope["position"],
        }
    ]
    cur.execute(
        f"INSERT INTO {names['programs']} (stream_id, code, rule_versions) VALUES (?, ?, ?)",
        (envelope["stream_id"], data["code"], _sorted_json(versions)),
    )
    # combinability is symmetric, and a program's stream may reach the view after a benefit
    # of it (another partition): the programs it names were judged against a program unknown
    # ("not combinable") and are answered again with it
    partners = data["rules"].get("combinable_with") or []
    _evaluate_program_soon(cur, names, data["code"], *partners)


def program_rules_changed(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    row = cur.execute(
        f"SELECT code, rule_versions FROM {names['programs']} WHERE stream_id=?",
        (envelope["stream_id"],),
    ).fetchone()
    if row is None:
        return
    code, versions = row[0], json.loads(row[1])
    versions.append(
        {
            "version": data["version"],
            "effective_from": data["effective_from"],
            **data["rules"],
            "position": envelope["position"],
        }
    )
    cur.execute(
        f"UPDATE {names['programs']} SET rule_versions=? WHERE stream_id=?",
        (_sorted_json(versions), envelope["stream_id"]),
    )
    # combinability is symmetric: a program entering or leaving this one's list changes the
    # answers of that program too
    before = set(versions[-2].get("combinable_with") or []) if len(versions) > 1 else set()
    codes = sorted({code} | (before ^ set(data["rules"].get("combinable_with") or [])))
    today = CLOCK()
    if data["effective_from"] > today.isoformat():
        # nothing changes before that day: the rows are only due then (the rows as they are
        # now: what the batch marked so far is evaluated first)
        _evaluate_marked(cur, names)
        for affected in codes:
            cur.execute(
                f"UPDATE {names['results']} SET changes_on=? WHERE program=?"
                " AND (changes_on IS NULL OR changes_on > ?)",
                (data["effective_from"], affected, data["effective_from"]),
            )
        return
    _evaluate_program_soon(cur, names, *codes)


# --- evaluation ------------------------------------------------------------------------------


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _quarter_start(period: str) -> dt.date:
    """The first day of an assessment's period (`2025-Q3`), as the rules read it."""
    year, quarter = period.split("-Q")
    return dt.date(int(year), 3 * int(quarter) - 2, 1)


def _birthday(birth_date: str, years: int) -> dt.date:
    born = _day(birth_date)
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return dt.date(born.year + years, 3, 1)


def _without_own(
    facts: dict[str, Any], elsewhere: list[dict[str, Any]], subject: str, code: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The facts without the person's own benefits of program `code` on this KK: a family
    served is asked whether it still qualifies, not refused for the receipt it holds (the
    inclusion errors read this). The benefits elsewhere stay whole: the same program received
    on another KK is a double receipt here, as a grant here would be refused
    (`domain.eligibility_rules.clashes`)."""
    own = {k for k, b in facts["benefits"].items() if b["nik"] == subject and b["program"] == code}
    if own:
        facts = {**facts, "benefits": {k: b for k, b in facts["benefits"].items() if k not in own}}
    return facts, elsewhere


def _household(facts: dict[str, Any]) -> SimpleNamespace:
    """What `facts_for` reads of a household, keyed by subject instead of NIK."""
    return SimpleNamespace(
        head_nik=facts["head"],
        members=facts["members"],
        assessments=facts["assessments"],
        nibs=facts["nibs"],
        benefits=facts["benefits"],
    )


def _candidates(facts: dict[str, Any], rules: dict[str, Any]) -> list[str]:
    """The members the program could pay: the head, the women, or every active member."""
    return candidates(facts["members"], facts["head"], rules.get("recipient", "any_member"))


def _positions(
    rule: str,
    facts: dict[str, Any],
    subject: str,
    program: str,
    day: dt.date,
    facts_now: dict[str, Any],
    elsewhere: list[dict[str, Any]],
) -> list[int]:
    """The positions of the events behind one rule's answer."""
    member = facts["members"].get(subject, {})
    found: list[int] = []
    if rule == "max_desil":
        # the assessment the answer used, or every source it names when they disagree
        shown = {tuple(pair) for pair in facts_now.get("desil_shown", [])}
        found = [r["position"] for r in facts["assessments"] if (r["source"], r["period"]) in shown]
    elif rule == "min_residence_months":
        found = [p for p in (member.get("ktp_position"),) if p]
        found += member.get("positions", [])[:1]
    elif rule == "excludes_nib_holders":
        found = [p for r in facts["nibs"] if r["nik"] == subject for p in r["positions"]]
    elif rule in ("double_receipt", "once_per_kk"):
        # the benefits clashing on that day (eligibility_rules.clashes)
        clashing = {
            r["detail"]["benefit_id"]
            for r in facts_now.get("pair_clashes", [])
            if r["rule"] == rule
        }
        found = [
            p
            for b in (*facts["benefits"].values(), *elsewhere)
            if b["benefit_id"] in clashing
            for p in b["positions"]
        ]
    elif rule == "combinable_with":
        # the person's other benefits received on that day
        found = [
            p
            for b in (*facts["benefits"].values(), *elsewhere)
            if b["nik"] == subject and b["program"] != program and _received_on(b, day)
            for p in b["positions"]
        ]
    elif rule == "recipient":
        found = list(member.get("positions", []))
        head = facts["members"].get(facts["head"], {})
        found += head.get("positions", [])
    return sorted(set(found))


def _received_on(benefit: dict[str, Any], day: dt.date) -> bool:
    received = benefit_period(benefit)
    return received is not None and received[0] <= day <= received[1]


def _first_after(days: Iterable[dt.date], day: dt.date) -> dt.date | None:
    future = [d for d in days if d > day]
    return min(future) if future else None


def _next_change(
    facts: dict[str, Any],
    program: SimpleNamespace,
    subject: str,
    day: dt.date,
    catalog: dict[str, SimpleNamespace],
    elsewhere: list[dict[str, Any]],
    memo: dict[tuple, Any] | None = None,
) -> dt.date | None:
    """The next day after `day` on which time alone can change this row's answer. `memo`:
    one household's evaluation on `day`, where the parts every row of a program shares (its
    rule versions, the assessments and NIBs) and each benefit's own days are found once."""
    memo = {} if memo is None else memo
    found: list[dt.date | None] = []
    key = ("next", program.code)
    if key not in memo:
        later = [_day(r["effective_from"]) for r in program.rule_versions]
        later += [_quarter_start(r["period"]) for r in facts["assessments"]]
        for record in facts["nibs"]:
            later += [_day(d) for d in (record["registered_on"], record["revoked_on"]) if d]
        memo[key] = _first_after(later, day)
    found.append(memo[key])
    for benefit in [*facts["benefits"].values(), *elsewhere]:
        # the pair rules: a benefit starting, ending, or cut short by its termination (the
        # benefit is the same object for every row of the evaluation)
        key = ("benefit", id(benefit))
        if key not in memo:
            later = [
                _day(benefit["period_start"]),
                _day(benefit["period_end"]) + dt.timedelta(days=1),
                *(_day(h["effective_date"]) for h in benefit["history"]),
            ]
            memo[key] = (benefit, _first_after(later, day))  # kept alive: its id stays its own
        found.append(memo[key][1])
        other = catalog.get(benefit["program"])
        if other is not None and benefit["nik"] == subject:  # combinability, both ways
            key = ("versions", other.code)
            if key not in memo:
                memo[key] = _first_after(
                    (_day(r["effective_from"]) for r in other.rule_versions), day
                )
            found.append(memo[key])
    member = facts["members"].get(subject)
    if member is not None:
        rules = program.rules_at(day) or program.rules
        since = residence_since(member)
        needed = rules.get("min_residence_months") or 0
        later = []
        if since and needed:
            later.append(add_months(_day(since), needed))
        if member.get("birth_date"):
            later.append(_birthday(member["birth_date"], _ADULT_AGE))
        found.append(_first_after(later, day))
    future = [d for d in found if d is not None]
    return min(future) if future else None


# desil_source rules as JSON, by the rule object (a cached program's rule versions hold the
# same one for every row; kept beside its text, so its id stays its own)
_SOURCE_KEYS: dict[int, tuple[Any, str]] = {}


def _source_key(rule: Any) -> str:
    """The same text for the same `desil_source` rule (a memo key)."""
    found = _SOURCE_KEYS.get(id(rule))
    if found is None or found[0] is not rule:
        if len(_SOURCE_KEYS) >= _PROGRAMS_KEPT:
            _SOURCE_KEYS.clear()
        found = _SOURCE_KEYS[id(rule)] = (rule, _sorted_json(rule))
    return found[1]


def _evaluate_row(
    facts: dict[str, Any],
    program: SimpleNamespace,
    subject: str,
    day: dt.date,
    catalog: dict[str, SimpleNamespace],
    elsewhere: list[dict[str, Any]] | None = None,
    memo: dict[tuple, Any] | None = None,
) -> tuple[str, list[dict[str, Any]], str | None, str | None]:
    """(status, reasons, eligible_from, changes_on) of one person (or '' for nobody): whether a
    benefit of the program could start for them on that day (`catalog`: every program, and
    `elsewhere`: the person's benefits on other KKs, for the pair rules), leaving out the
    person's own benefits of this program (`_without_own`). `memo`: what the rows of one
    household's evaluation share."""
    memo = {} if memo is None else memo
    facts, elsewhere = _without_own(facts, elsewhere or [], subject, program.code)
    changes = _next_change(facts, program, subject, day, catalog, elsewhere, memo)
    changes_on = changes.isoformat() if changes else None
    rules = program.rules_at(day)
    if rules is None:
        first = program.rule_versions[0]
        detail = Detail(N_("the program takes effect on %(date)s"), date=first["effective_from"])
        reason = {
            "rule": "in_force",
            "rule_version": first["version"],
            "passed": False,
            "detail": str(detail),
            "text": text_of(detail),
            "positions": [first["position"]],
        }
        return "ineligible", [reason], None, changes_on
    rule_position = rules["position"]
    if not subject:
        detail = nobody_detail(rules.get("recipient", "any_member"))
        reason = {
            "rule": "recipient",
            "rule_version": rules["version"],
            "passed": False,
            "detail": str(detail),
            "text": text_of(detail),
            "positions": [rule_position],
        }
        return "ineligible", [reason], None, changes_on
    household = _household(facts)
    # the decile is the household's: one answer for every member and every program with the
    # same source rule (`memo`, one household's evaluation)
    key = ("desil", day, _source_key(rules.get("desil_source")))
    desil = memo.get(key)
    if desil is None:
        desil = memo[key] = desil_facts(household, day, rules)
    facts_now = facts_for(
        household, subject, program, day, elsewhere=elsewhere, programs=catalog.get, desil=desil
    )
    results = evaluate(rules, facts_now)
    reasons = [
        {
            "rule": rule,
            "rule_version": rules["version"],
            "passed": passed,
            "detail": str(detail),
            "text": text_of(detail),
            "positions": sorted(
                {
                    rule_position,
                    *_positions(rule, facts, subject, program.code, day, facts_now, elsewhere),
                }
            ),
        }
        for rule, passed, detail in results
    ]
    status = verdict(results)
    eligible_from = residence_eligible_from(facts["members"][subject], rules, results)
    since = residence_since(facts["members"][subject])
    needed = rules.get("min_residence_months") or 0
    for reason, (rule, passed, _detail) in zip(reasons, results, strict=True):
        if rule != "min_residence_months" or passed is None or not since:
            continue
        if passed:
            # the count of months grows every month: the answer says when it was reached
            # (`residence_reached_detail`: for one born here, no day)
            detail = residence_reached_detail(facts["members"][subject], needed)
            if detail is not None:
                reason["detail"], reason["text"] = str(detail), text_of(detail)
        else:
            # short: the count in the detail changes on the next monthly anniversary
            months = facts_now["residence_months"]
            anniversary = add_months(_day(since), months + 1)
            if changes_on is None or anniversary.isoformat() < changes_on:
                changes_on = anniversary.isoformat()
    return status, reasons, eligible_from, changes_on


def _rows_for(
    facts: dict[str, Any],
    program: SimpleNamespace,
    day: dt.date,
    catalog: dict[str, SimpleNamespace],
    elsewhere: dict[str, list[dict[str, Any]]],
    memo: dict[tuple, Any] | None = None,
) -> dict[str, tuple[str, str, str | None, str | None]]:
    """subject -> (status, reasons JSON, eligible_from, changes_on) for one program."""
    rules = program.rules_at(day) or program.rules
    subjects = _candidates(facts, rules) or [""]
    rows = {}
    for subject in subjects:
        status, reasons, eligible_from, changes_on = _evaluate_row(
            facts, program, subject, day, catalog, elsewhere.get(subject, []), memo
        )
        rows[subject] = (status, _sorted_json(reasons), eligible_from, changes_on)
    return rows


@dataclass
class _Read:
    """What `_evaluate_household` reads of a household besides the programs: its facts (None:
    no such household), its restricted members, and its rows as stored (program -> subject
    -> row), as `_read_households` reads it."""

    facts: dict[str, Any] | None
    restricted: set[str]
    stored: dict[str, dict[str, tuple]]


_ROW_COLUMNS = "program, subject, kelurahan, status, reasons, eligible_from, changes_on"
_READ_AT_ONCE = 500  # households per statement of `_read_households`


def _read_households(cur: Cursor, names: dict[str, str], households: list[str]) -> dict[str, _Read]:
    """What `_evaluate_household` reads of each of these households, three statements per
    `_READ_AT_ONCE` of them (a rebuild's finish reads them all); the facts a batch holds
    already (`_load`) are not read again. Its rows are read once for every program."""
    batch = _marks_for(names)
    held = batch.facts if batch is not None else {}
    found: dict[str, _Read] = {}
    for at in range(0, len(households), _READ_AT_ONCE):
        part = households[at : at + _READ_AT_ONCE]
        marks = ", ".join("?" for _ in part)
        read = {h: _Read(held.get(h), set(), {}) for h in part}
        unread = [h for h in part if h not in held]
        if unread:
            for household_id, facts in cur.execute(
                f"SELECT household_id, facts FROM {names['facts']}"
                f" WHERE household_id IN ({', '.join('?' for _ in unread)})",
                unread,
            ).fetchall():
                read[household_id].facts = orjson.loads(facts)
        for household_id, subject in cur.execute(
            f"SELECT stream_id, subject FROM {names[RESTRICTIONS]} WHERE stream_id IN ({marks})",
            part,
        ).fetchall():
            read[household_id].restricted.add(subject)
        for household_id, *row in cur.execute(
            f"SELECT household_id, {_ROW_COLUMNS} FROM {names['results']}"
            f" WHERE household_id IN ({marks})",
            part,
        ).fetchall():
            read[household_id].stored.setdefault(row[0], {})[row[1]] = tuple(row[2:])
        found.update(read)
    return found


def _evaluate_household(
    cur: Cursor,
    names: dict[str, str],
    household_id: str,
    programs: list[SimpleNamespace],
    day: dt.date,
    read: _Read | None = None,
    catalog: dict[str, SimpleNamespace] | None = None,
) -> bool:
    """Recompute the household's rows of these programs; whether any answer (a status, or the
    date from which it turns eligible) changed. `read`: the household as read already
    (`_read_households`), `catalog`: every program by code, as read already."""
    read = read or _read_households(cur, names, [household_id])[household_id]
    facts, restricted, stored = read.facts, read.restricted, read.stored
    if facts is None:
        return False
    changed = False
    results = names["results"]
    if catalog is None:
        catalog = {p.code: p for p in _programs(cur, names)}
    elsewhere = _benefits_elsewhere(cur, names, household_id, facts)
    deletes: list[tuple] = []
    inserts: list[tuple] = []
    updates: list[tuple] = []
    memo: dict[tuple, Any] = {}  # what the household's rows share (`_evaluate_row`)
    for program in programs:
        old = stored.get(program.code, {})
        new = {
            subject: (facts["kelurahan"], *row)
            for subject, row in _rows_for(facts, program, day, catalog, elsewhere, memo).items()
        }
        for subject in sorted(old.keys() - new.keys()):
            deletes.append((household_id, program.code, subject))
            changed = True
        for subject, row in new.items():
            if subject not in old:
                hidden = 1 if subject in restricted or _erased(facts, subject) else 0
                inserts.append((household_id, program.code, subject, *row, hidden))
                changed = True
            elif old[subject] != row:
                updates.append((*row, household_id, program.code, subject))
                # the answer a user sees: the status, and from when it turns eligible
                changed = changed or (old[subject][1], old[subject][3]) != (row[1], row[3])
    if deletes:
        cur.executemany(
            f"DELETE FROM {results} WHERE household_id=? AND program=? AND subject=?", deletes
        )
    if inserts:
        cur.executemany(
            f"INSERT INTO {results} (household_id, program, subject, kelurahan, status,"
            " reasons, eligible_from, changes_on, restricted)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
    if updates:
        cur.executemany(
            f"UPDATE {results} SET kelurahan=?, status=?, reasons=?, eligible_from=?,"
            " changes_on=? WHERE household_id=? AND program=? AND subject=?",
            updates,
        )
    return changed


def evaluate_household(cur: Cursor, names: dict[str, str], household_id: str) -> bool:
    return _evaluate_household(cur, names, household_id, _programs(cur, names), CLOCK())


def evaluate_program(cur: Cursor, names: dict[str, str], *codes: str) -> tuple[int, int]:
    """Every household for these programs: (families evaluated, families whose answer
    changed)."""
    catalog = {p.code: p for p in _programs(cur, names)}
    programs = [p for p in catalog.values() if p.code in codes]
    day = CLOCK()
    households = [
        row[0]
        for row in cur.execute(
            f"SELECT household_id FROM {names['facts']} ORDER BY household_id"
        ).fetchall()
    ]
    changed = sum(
        _evaluate_household(cur, names, h, programs, day, catalog=catalog) for h in households
    )
    return len(households), changed


def tick(cur: Cursor, names: dict[str, str], today: dt.date | None = None) -> tuple[int, int]:
    """Re-evaluate the rows whose answer time alone may have changed by `today`:
    (families evaluated, families whose answer changed)."""
    day = today or CLOCK()
    due = cur.execute(
        f"SELECT DISTINCT household_id, program FROM {names['results']}"
        " WHERE changes_on IS NOT NULL AND changes_on <= ? ORDER BY household_id, program",
        (day.isoformat(),),
    ).fetchall()
    by_household: dict[str, set[str]] = {}
    for household_id, code in due:
        by_household.setdefault(household_id, set()).add(code)
    programs = {p.code: p for p in _programs(cur, names)}
    changed = 0
    for household_id, codes in by_household.items():
        chosen = [programs[c] for c in sorted(codes) if c in programs]
        changed += _evaluate_household(cur, names, household_id, chosen, day, catalog=programs)
    return len(by_household), changed


# --- evaluating once per batch ---------------------------------------------------------------


@dataclass
class _Marks:
    """What one batch has marked for evaluation in one generation of the tables."""

    results: str  # the results table of that generation
    households: set[str] = field(default_factory=set)  # for every program
    programs: set[str] = field(default_factory=set)  # codes, for every household
    # the facts read or written in the batch (None: no such household), and which of them
    # are to be inserted or updated at its end (`_write_facts`)
    facts: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    new: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    persons: dict[str, set[str]] = field(default_factory=dict)  # household -> its subjects


# The marks of the batch being applied (per thread / context); None outside a batch.
_BATCH: ContextVar[_Marks | None] = ContextVar("eligibility_batch", default=None)


def _marks_for(names: dict[str, str]) -> _Marks | None:
    """The batch's marks, if a batch of this generation is being applied (an erasure also
    touches the other generations: those evaluate at once)."""
    marks = _BATCH.get()
    return marks if marks is not None and marks.results == names["results"] else None


def _evaluate_soon(cur: Cursor, names: dict[str, str], household_id: str) -> None:
    """The household for every program: at the end of the batch, or now outside one."""
    marks = _marks_for(names)
    if marks is None:
        evaluate_household(cur, names, household_id)
    else:
        marks.households.add(household_id)


def _evaluate_program_soon(cur: Cursor, names: dict[str, str], *codes: str) -> None:
    """Every household for these programs: at the end of the batch, or now outside one."""
    marks = _marks_for(names)
    if marks is None:
        evaluate_program(cur, names, *codes)
    else:
        marks.programs.update(codes)


def _evaluate_marked(cur: Cursor, names: dict[str, str]) -> None:
    """Evaluate what the batch has marked so far (and forget it): each marked household once
    for every program, each other household once for the marked programs."""
    _write_facts(cur, names)
    marks = _marks_for(names)
    if marks is None or not (marks.households or marks.programs):
        return
    households, codes = sorted(marks.households), marks.programs
    marks.households, marks.programs = set(), set()
    later = deferred(names)
    if later is not None:  # a rebuild: every household it marked, once at its end
        later.add(households, everything=bool(codes))
        return
    everything = _programs(cur, names)
    catalog = {p.code: p for p in everything}
    day = CLOCK()
    if codes:
        chosen, full = [p for p in everything if p.code in codes], set(households)
        for (household_id,) in cur.execute(
            f"SELECT household_id FROM {names['facts']} ORDER BY household_id"
        ).fetchall():
            if household_id not in full:  # evaluated below, for every program
                _evaluate_household(cur, names, household_id, chosen, day, catalog=catalog)
    for household_id in households:
        _evaluate_household(cur, names, household_id, everything, day, catalog=catalog)


@contextmanager
def batch(cur: Cursor, names: dict[str, str]) -> Iterator[None]:
    """The projection's batch scope (`projections.base.BatchScope`): handlers mark, the
    marked households and programs are evaluated once at the end; a failed batch drops its
    marks (its transaction is rolled back)."""
    token = _BATCH.set(_Marks(results=names["results"]))
    try:
        yield
        _evaluate_marked(cur, names)
    finally:
        _BATCH.reset(token)


def _left_households(cur: Cursor, names: dict[str, str], left: Deferred) -> list[str]:
    """The households a rebuild's batches marked (every household when one marked a
    program), by id."""
    if left.everything:
        found = cur.execute(f"SELECT household_id FROM {names['facts']} ORDER BY household_id")
        return [row[0] for row in found.fetchall()]
    return sorted(left.marked)


def _finish_households(cur: Cursor, names: dict[str, str], households: list[str]) -> None:
    """Each household evaluated for every program, on the facts after the rebuild's last
    event: what it would answer had the batches evaluated it at their ends."""
    programs, day = _programs(cur, names), CLOCK()
    catalog = {p.code: p for p in programs}
    read = _read_households(cur, names, households)
    for household_id in households:
        _evaluate_household(cur, names, household_id, programs, day, read[household_id], catalog)


# --- privacy hooks ---------------------------------------------------------------------------


def hide_person(
    cur: Cursor, names: dict[str, str], household_id: str, subject: str, restricted: bool
) -> None:
    cur.execute(
        f"UPDATE {names['results']} SET restricted=? WHERE household_id=? AND subject=?",
        (1 if restricted else 0, household_id, subject),
    )


def erase_person(cur: Cursor, names: dict[str, str], subject: str) -> None:
    """The person's birth date leaves the facts of every household they were in, and they
    are marked erased there: their rows are hidden, as a restricted person's, and the
    household's answers are recomputed without them (the view keeps no other personal data
    of theirs)."""
    households = cur.execute(
        f"SELECT household_id FROM {names['persons']} WHERE subject=? ORDER BY household_id",
        (subject,),
    ).fetchall()
    for (household_id,) in households:
        facts = _load(cur, names, household_id)
        member = facts["members"].get(subject) if facts else None
        if member is None:
            continue
        member["birth_date"] = None
        member["erased"] = True
        _save(cur, names, household_id, facts)
        hide_person(cur, names, household_id, subject, True)
        _evaluate_soon(cur, names, household_id)


def _erased(facts: dict[str, Any], subject: str) -> bool:
    """Whether the household's facts mark the person erased (`erase_person`): their rows are
    hidden, as a restricted person's."""
    return bool(facts["members"].get(subject, {}).get("erased"))


HANDLERS = {
    "HouseholdRegistered": household_registered,
    "MemberAdded": member_added,
    "MemberRejoined": member_rejoined,
    "MemberRemoved": member_removed,
    "DeathRecorded": death_recorded,
    "MemberCorrected": member_corrected,
    "HeadChanged": head_changed,
    "KtpIssued": ktp_issued,
    "NibRegistered": nib_registered,
    "NibRevoked": nib_revoked,
    "WelfareAssessed": welfare_assessed,
    "HouseholdRelocated": household_relocated,
    "HouseholdSplitOff": household_split_off,
    "FamilySplit": family_split,
    "BenefitGranted": _and_elsewhere(benefit_granted),
    "BenefitSuspended": _and_elsewhere(_benefit_status("suspended")),
    "BenefitResumed": _and_elsewhere(_benefit_status("active")),
    "BenefitTerminated": _and_elsewhere(_benefit_status("terminated")),
    "ProvisionalBenefitGranted": provisional_benefit_granted,
    "ProvisionalBenefitSuspended": _provisional_status("suspended"),
    "ProvisionalBenefitResumed": _provisional_status("active"),
    "ProvisionalBenefitTerminated": _provisional_status("terminated"),
    "IdentityLinked": identity_linked,
    "ProgramDefined": program_defined,
    "ProgramRulesChanged": program_rules_changed,
}

PROJECTION = Projection(
    name="eligibility",
    rebuild_weight=8.9,
    tables=TABLES,
    handlers=HANDLERS,
    serves="program",
    indexes=INDEXES,
    read_indexes=READ_INDEXES,
    # 2: the benefits' facts keep their start and termination (the pair rules on periods)
    # 3: each reason keeps whether its rule passed and its localisable text (msgid, params)
    # 4: the residence reason of one born here gives no day (it would tell the birth date)
    # 5: each reason says whose facts it read: the recipient's (NIB, residence, receipts,
    #    programs) or the family's (decile), not "no member holds an NIB"; a program paying
    #    any member of a household with nobody active says so, not "no adult woman"
    # 6: the same program received on another KK is a double receipt (as a grant judges it)
    # 7: the benefits a person received before their NIK was known count as theirs once
    #    LinkIdentity joined them to it (`provisional`), as a grant counts them
    # 8: a program's definition answers again the programs it names (combinable both ways):
    #    reaching the view after a benefit of it, it had left them "not combinable"
    # 9: an erased person's rows are hidden (`erased` in the facts), as time travel's are
    version=9,
    ignores=frozenset(
        {
            # streams without a fact the rules read
            *("KkIndex", "NikIndex", "PendingChange", "PendingIndex", "ProgramCatalog"),
            *("TokenIndex", "User", "AgencyAgreement"),
            # a provisional person's events but its benefits and its link to a NIK (the
            # household's ProvisionalIdentityLinked says the same as IdentityLinked)
            *("HomelessPersonRegistered", "PersonNoteAdded", "ServiceRecorded"),
            # household events that change no fact a rule reads
            *("BenefitReviewOpened", "BenefitReviewDecided", "BenefitReviewOverdue"),
            *("CaseNoteAdded", "EmpowermentCompleted"),
            *("EmpowermentEnrolled", "ErasureRefused", "ObjectionFiled", "ObjectionLapsed"),
            *("ObjectionResolved", "ProvisionalIdentityLinked", "VerificationRecorded"),
            # what a source lists: the rules read the decile of WelfareAssessed
            "SourceListingRecorded",
        }
    ),
    on_restriction=hide_person,
    on_erasure=erase_person,
    batch=batch,
    finish=Finish(units=_left_households, apply=_finish_households),
)


# --- reading ---------------------------------------------------------------------------------


def _best(rows: list[tuple]) -> tuple | None:
    """The household's answer for one program: its best visible person's
    (`domain.program.answer_rank`, then by subject), rows being (subject, status, reasons
    as JSON, ...)."""
    if not rows:
        return None
    return min(rows, key=lambda r: (_rank(r[1], json.loads(r[2])), r[0]))


def _rank(status: str, reasons: list[dict[str, Any]]) -> tuple[int, int, int]:
    return answer_rank(status, (reason.get("passed") for reason in reasons))


def household_eligibility(
    db: Database, household_id: str, *, with_subject: bool = False
) -> list[dict[str, Any]] | None:
    """Per program, the household's answer (None: no such household in the view); with
    `with_subject`, each answer names the pseudonymous subject of the member it is about
    (`subject`; '' when the program can pay nobody), for the household page to show whom."""
    names = live_tables(db, PROJECTION)
    if (
        db.query_one(f"SELECT 1 FROM {names['facts']} WHERE household_id=?", (household_id,))
        is None
    ):
        return None
    by_program: dict[str, list[tuple]] = {}
    for program, subject, status, reasons, eligible_from in db.query(
        f"SELECT program, subject, status, reasons, eligible_from FROM {names['results']}"
        " WHERE household_id=? AND restricted=0 ORDER BY program, subject",
        (household_id,),
    ):
        by_program.setdefault(program, []).append((subject, status, reasons, eligible_from))
    answers = []
    for program, rows in sorted(by_program.items()):
        subject, status, reasons, eligible_from = _best(rows)
        answer = {"program": program, "status": status, "reasons": json.loads(reasons)}
        if with_subject:
            answer["subject"] = subject
        if eligible_from:
            answer["eligible_from"] = eligible_from
        answers.append(answer)
    return answers


def eligible_households(
    db: Database, program: str, *, kelurahan: str = "", limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """The families with a visible member eligible for the program, by household id."""
    names = live_tables(db, PROJECTION)
    where, params = ["program=?", "status='eligible'", "restricted=0"], [program]
    if kelurahan:
        where.append("kelurahan=?")
        params.append(kelurahan)
    rows = db.query(
        f"SELECT household_id, MIN(kelurahan) FROM {names['results']}"
        f" WHERE {' AND '.join(where)} GROUP BY household_id ORDER BY household_id"
        " LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [{"household_id": row[0], "kelurahan": row[1]} for row in rows]


def all_rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of the live generation, ordered: for comparing a view with a rebuild."""
    names = live_tables(db, PROJECTION)
    return {
        "facts": db.query(f"SELECT * FROM {names['facts']} ORDER BY household_id"),
        "persons": db.query(f"SELECT * FROM {names['persons']} ORDER BY subject, household_id"),
        "programs": db.query(f"SELECT * FROM {names['programs']} ORDER BY stream_id"),
        "provisional": db.query(f"SELECT * FROM {names['provisional']} ORDER BY person_id"),
        "results": db.query(
            f"SELECT * FROM {names['results']} ORDER BY household_id, program, subject"
        ),
    }


# --- answers evaluated on demand (error lists, what-if; nothing written) ---------------------


def program_answers(
    cur: Cursor,
    code: str,
    rules: dict[str, Any] | None = None,
    day: dt.date | None = None,
    kelurahan: str = "",
    households: set[str] | None = None,
) -> list[dict[str, Any]] | None:
    """Every household's answer for one program, evaluated from the view's facts as the view
    evaluates them, writing nothing: with the program's rule versions or, given `rules` (a
    complete rule set, `domain.program.normalize_rules`), with them as a draft version in force
    on `day`; only the households of `kelurahan`, and only `households`, when given. Per
    household, the answer of its best person not restricted (households whose every candidate
    is restricted are left out): `household_id`, `kelurahan`, `status` and `reasons`, each
    reason with `passed` (True, False, or None when a fact is unknown).
    None: no such program in the view."""
    names = live_tables(cur.db, PROJECTION)
    day = day or CLOCK()
    found = _programs(cur, names, code)
    if not found:
        return None
    program = found[0]
    if rules is not None:
        today = day.isoformat()
        before = [v for v in program.rule_versions if v["effective_from"] <= today]
        later = [v for v in program.rule_versions if v["effective_from"] > today]
        latest = program.rule_versions[-1]
        draft = {
            **rules,
            "version": latest["version"] + 1,
            "effective_from": today,
            "position": (before or program.rule_versions)[-1]["position"],
        }
        program = _program(code, [*before, draft, *later])
    # every program, the draft in place of the program's own versions: the pair rules read
    # the other programs' rules (combinability is symmetric)
    catalog = {p.code: p for p in _programs(cur, names)}
    catalog[code] = program
    restricted = set(
        cur.execute(f"SELECT stream_id, subject FROM {names[RESTRICTIONS]}").fetchall()
    )
    where, params = ("WHERE kelurahan=?", (kelurahan,)) if kelurahan else ("", ())
    answers = []
    for household_id, text in cur.execute(
        f"SELECT household_id, facts FROM {names['facts']} {where} ORDER BY household_id", params
    ).fetchall():
        if households is not None and household_id not in households:
            continue
        facts = orjson.loads(text)
        elsewhere = _benefits_elsewhere(cur, names, household_id, facts)
        rows = {
            subject: row
            for subject, row in _rows_for(facts, program, day, catalog, elsewhere).items()
            if (household_id, subject) not in restricted and not _erased(facts, subject)
        }
        if not rows:
            continue
        # the household's answer is its best person's, as the view answers (`_best`); each
        # reason keeps whether its rule passed (`_evaluate_row`)
        best = _best([(subject, row[0], row[1]) for subject, row in rows.items()])
        status, reasons = best[1], json.loads(best[2])
        answers.append(
            {
                "household_id": household_id,
                "kelurahan": facts["kelurahan"],
                "status": status,
                "reasons": reasons,
            }
        )
    return answers


def household_facts(envelopes: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """One household's facts folded in memory from its envelopes (revealed for the views, in
    store order) as the handlers fold them, without a database: what the view would hold
    after those events alone (time travel reads the events behind a past answer from them).
    None when no registration is among them."""
    facts: dict[str, Any] | None = None
    for envelope in envelopes:
        kind = envelope["type"]
        if kind in ("HouseholdRegistered", "HouseholdSplitOff"):
            facts = _registered(envelope)
            if kind == "HouseholdRegistered":
                continue
            kind = "_split_off"
        fold = _FOLDS.get(kind)
        if facts is not None and fold is not None:
            fold(facts, envelope["data"], envelope["position"])
    return facts


def positions_behind(
    rule: str,
    facts: dict[str, Any],
    subject: str,
    program: str,
    day: dt.date,
    facts_now: dict[str, Any],
    elsewhere: list[dict[str, Any]] | None = None,
) -> list[int]:
    """The store positions of the events behind one rule's answer for `subject` (the
    view's reasons' `positions`, less the rule version's own): `facts` as `household_facts`
    folds them, `facts_now` as `domain.eligibility_rules.facts_for` answered for the rule,
    `elsewhere` the person's benefits on their other KKs as `household_facts` folds those
    KKs (the view's `_benefits_elsewhere`), so that a clash with one of them names its
    events too."""
    return _positions(rule, facts, subject, program, day, facts_now, elsewhere or [])


# a provisional person's events, folded into what the view keeps of them (`provisional`)
_PROVISIONAL_FOLDS: dict[str, Callable[[dict, dict, int], None]] = {
    kind: HANDLERS[kind].fold  # type: ignore[attr-defined]
    for kind in (
        "ProvisionalBenefitGranted",
        "ProvisionalBenefitSuspended",
        "ProvisionalBenefitResumed",
        "ProvisionalBenefitTerminated",
        "IdentityLinked",
    )
}
_FOLDS: dict[str, Callable[[dict, dict, int], None]] = {
    kind: handler.fold
    for kind, handler in HANDLERS.items()
    if hasattr(handler, "fold") and kind not in _PROVISIONAL_FOLDS
} | {"_split_off": _split_off_members.fold}  # type: ignore[attr-defined]


def provisional_facts(envelopes: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """What the view keeps of one provisional person, folded in memory from their envelopes
    (revealed for the views, in store order) as the handlers fold them: `subject` (None until
    IdentityLinked) and `benefits` by benefit_id, each with the positions of the events behind
    it (time travel names them as the view's reasons do)."""
    record: dict[str, Any] = {"subject": None, "benefits": {}}
    for envelope in envelopes:
        fold = _PROVISIONAL_FOLDS.get(envelope["type"])
        if fold is not None:
            fold(record, envelope["data"], envelope["position"])
    return record
