"""Beneficiaries per program: the benefits of each program, for the programs (serves="program").

A person whose processing is restricted (UU PDP) is hidden here while restricted and shown
again when the restriction is lifted (projections.base calls `hide_person`); the rows are
kept, flagged, so lifting needs no replay.

`household_id` is the household the benefit is recorded on (where it is managed and reviewed);
`lives_in` the household the recipient belongs to now (another after a family split).

The recipient is kept as their pseudonymous `subject`, the keyed hash `nik_hash` and the
token `nik_token` (opened by whoever may show the NIK), never the NIK in clear. Once the
person's data is erased, hash and token give way to the erasure marker (`erase_person`) and
the benefit stays, counted.

A benefit granted before the person's NIK was known (ProvisionalBenefitGranted, on the
provisional person's stream) is kept under its `person_id`, counted but not listed, with no
household or recipient yet; when LinkIdentity joins the person to a NIK (IdentityLinked) it
takes the household and the NIK's identity and is listed like any other.

A suspension, resumption or termination takes effect on its effective date, not when it is
recorded: `status` is the status after every change recorded, from `status_from` (the latest
change's effective date; '' before any change) on, and each change is kept in `changes`, so a
reader asks for the status in force on a day (`status_on`): a benefit suspended from tomorrow
is still listed and counted today, and one whose suspension was backdated is not, as the
cross-OPD view (projections/overview.py) counts them. A change from an earlier day than
changes recorded before it to take effect later replaces them (`domain.household.with_change`):
they are deleted from `changes` and never take effect.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.db import Cursor, Database
from domain.city import today
from projections.base import Projection, erased_identity, identity, live_tables

TABLES = {
    "benefits": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " benefit_id VARCHAR(36) PRIMARY KEY, household_id VARCHAR(36),"
        " subject VARCHAR(32), nik_hash VARCHAR(64), nik_token TEXT,"
        " person_id VARCHAR(36),"
        " program VARCHAR(32) NOT NULL,"
        " period_start VARCHAR(10) NOT NULL, period_end VARCHAR(10) NOT NULL,"
        " amount BIGINT NOT NULL, status VARCHAR(20) NOT NULL,"
        " restricted INTEGER NOT NULL DEFAULT 0, erased INTEGER NOT NULL DEFAULT 0,"
        " granted_at VARCHAR(40) NOT NULL, lives_in VARCHAR(36),"
        " status_from VARCHAR(10) NOT NULL DEFAULT '')"
    ),
    # each suspension, resumption and termination in the order recorded (`seq` from 1), with
    # the day it takes effect (their days only grow: a change replaces those recorded before it
    # to take effect after its date, domain.household.with_change)
    "changes": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " benefit_id VARCHAR(36) NOT NULL, seq INTEGER NOT NULL,"
        " effective_date VARCHAR(10) NOT NULL, status VARCHAR(20) NOT NULL,"
        " PRIMARY KEY (benefit_id, seq))"
    ),
}
# only readers read by these: a rebuild makes them after its events (`Projection.read_indexes`)
READ_INDEXES = [
    "CREATE INDEX IF NOT EXISTS {benefits}_program ON {benefits} (program, status)",
    "CREATE INDEX IF NOT EXISTS {benefits}_person ON {benefits} (household_id, subject)",
    "CREATE INDEX IF NOT EXISTS {benefits}_subject ON {benefits} (subject)",
    "CREATE INDEX IF NOT EXISTS {benefits}_provisional ON {benefits} (person_id)",
]


def benefit_granted(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    who = identity(data["nik"])
    cur.execute(
        f"INSERT INTO {names['benefits']} (benefit_id, household_id, subject, nik_hash,"
        " nik_token, program, period_start, period_end, amount, status, restricted, erased,"
        " granted_at, lives_in) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', 0, ?, ?, ?)",
        (
            data["benefit_id"],
            envelope["stream_id"],
            who.subject,
            who.hash,
            who.token,
            data["program"],
            data["period_start"],
            data["period_end"],
            data["amount"],
            1 if who.erased else 0,
            envelope["recorded_at"],
            envelope["stream_id"],
        ),
    )


def provisional_benefit_granted(
    cur: Cursor, names: dict[str, str], envelope: dict[str, Any]
) -> None:
    """A benefit before the NIK: no household, recipient or `lives_in` until IdentityLinked."""
    data = envelope["data"]
    cur.execute(
        f"INSERT INTO {names['benefits']} (benefit_id, person_id, program, period_start,"
        " period_end, amount, status, restricted, erased, granted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 'active', 0, 0, ?)",
        (
            data["benefit_id"],
            envelope["stream_id"],
            data["program"],
            data["period_start"],
            data["period_end"],
            data["amount"],
            envelope["recorded_at"],
        ),
    )


def identity_linked(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """The provisional person is a NIK of a household: their benefits are the NIK's."""
    data = envelope["data"]
    who = identity(data["nik"])
    cur.execute(
        f"UPDATE {names['benefits']} SET household_id=?, subject=?, nik_hash=?, nik_token=?,"
        " erased=?, lives_in=? WHERE person_id=?",
        (
            data["household_id"],
            who.subject,
            who.hash,
            who.token,
            1 if who.erased else 0,
            data["household_id"],
            envelope["stream_id"],
        ),
    )


def family_split(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """Recipients who left in a family split (SplitFamily) now live in the new household; the
    benefit stays the old household's (it is reviewed there)."""
    data = envelope["data"]
    for nik in data["members"]:
        cur.execute(
            f"UPDATE {names['benefits']} SET lives_in=? WHERE household_id=? AND subject=?",
            (data["new_household_id"], envelope["stream_id"], identity(nik).subject),
        )


# The status each change of a benefit (of a household, or of a person before their NIK) leaves
# it in; `active` is running (projections/overview.py counts the same).
STATUS_OF = {
    "BenefitSuspended": "suspended",
    "BenefitResumed": "active",
    "BenefitTerminated": "terminated",
    "ProvisionalBenefitSuspended": "suspended",
    "ProvisionalBenefitResumed": "active",
    "ProvisionalBenefitTerminated": "terminated",
}


def _status(status: str):
    def handler(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
        data = envelope["data"]
        since = data.get("effective_date") or ""
        seq = cur.execute(
            f"SELECT MAX(seq) FROM {names['changes']} WHERE benefit_id=?", (data["benefit_id"],)
        ).fetchone()[0]
        # the changes recorded to take effect after its date it replaces (with_change)
        cur.execute(
            f"DELETE FROM {names['changes']} WHERE benefit_id=? AND effective_date>?",
            (data["benefit_id"], since),
        )
        cur.execute(
            f"INSERT INTO {names['changes']} (benefit_id, seq, effective_date, status)"
            " VALUES (?, ?, ?, ?)",
            (data["benefit_id"], int(seq or 0) + 1, since, status),
        )
        cur.execute(
            f"UPDATE {names['benefits']} SET status=?, status_from=? WHERE benefit_id=?",
            (status, since, data["benefit_id"]),
        )

    return handler


def status_on(names: dict[str, str], alias: str = "b") -> str:
    """SQL of the status in force on a day (its two parameters: the day, twice) of the
    benefit row `alias`: the status after every change once the latest has taken effect,
    else the last change in effect that day (the grant's `active` before any)."""
    return (
        f"(CASE WHEN {alias}.status_from<=? THEN {alias}.status ELSE COALESCE("
        f"(SELECT c.status FROM {names['changes']} c WHERE c.benefit_id={alias}.benefit_id"
        " AND c.effective_date<=? ORDER BY c.seq DESC LIMIT 1), 'active') END)"
    )


def running_on(names: dict[str, str], alias: str = "b") -> str:
    """SQL of whether the benefit row `alias` runs on a day (its four parameters: the day,
    four times): active then (`status_on`) and within its period, as the cross-OPD view
    counts it; a benefit whose period ended, or has not begun, is not received that day."""
    return (
        f"({status_on(names, alias)}='active'"
        f" AND {alias}.period_start<=? AND {alias}.period_end>=?)"
    )


def hide_person(
    cur: Cursor, names: dict[str, str], household_id: str, subject: str, restricted: bool
) -> None:
    cur.execute(
        f"UPDATE {names['benefits']} SET restricted=? WHERE household_id=? AND subject=?",
        (1 if restricted else 0, household_id, subject),
    )


def erase_person(cur: Cursor, names: dict[str, str], subject: str) -> None:
    """The recipient's data is erased: the benefit stays (it was paid), nobody's any more."""
    cur.execute(
        f"UPDATE {names['benefits']} SET nik_hash=NULL, nik_token=?, erased=1 WHERE subject=?",
        (erased_identity(subject).token, subject),
    )


PROJECTION = Projection(
    name="beneficiaries",
    rebuild_weight=0.5,
    tables=TABLES,
    only_its_handlers=True,  # benefits only: nothing else of a household is kept here
    handlers={
        "BenefitGranted": benefit_granted,
        **{event_type: _status(status) for event_type, status in STATUS_OF.items()},
        "ProvisionalBenefitGranted": provisional_benefit_granted,
        "IdentityLinked": identity_linked,
        "FamilySplit": family_split,
    },
    serves="program",
    read_indexes=READ_INDEXES,
    on_restriction=hide_person,
    on_erasure=erase_person,
    # v2: no NIK in clear (subject, hash, token), erased; v3: benefits before a NIK;
    # v4: lives_in (SplitFamily); v5: lives_in empty before a NIK (benefits of a provisional
    # person), the household once IdentityLinked; v6: each change from its effective date
    # (`status_from`, `changes`)
    version=6,
)

_COLUMNS = (
    "benefit_id",
    "household_id",
    "lives_in",
    "nik_token",
    "program",
    "period_start",
    "period_end",
)


def _day(day: dt.date | None) -> str:
    return (day or today()).isoformat()


def beneficiaries(
    db: Database,
    program: str,
    *,
    limit: int = 50,
    offset: int = 0,
    day: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The benefits of one program running on that day (today, WIB, by default: active and
    within their period, `running_on`), restricted persons left out (and those of persons
    without a NIK yet: no recipient to show until LinkIdentity)."""
    names = live_tables(db, PROJECTION)
    on = _day(day)
    rows = db.query(
        f"SELECT {', '.join(f'b.{c}' for c in _COLUMNS)}, b.amount, 'active', b.erased"
        f" FROM {names['benefits']} b WHERE b.program=? AND b.restricted=0"
        f" AND b.household_id IS NOT NULL AND {running_on(names)}"
        " ORDER BY b.granted_at, b.benefit_id LIMIT ? OFFSET ?",
        (program, on, on, on, on, limit, offset),
    )
    keys = (*_COLUMNS, "amount", "status", "erased")
    return [{**dict(zip(keys, row, strict=True)), "erased": bool(row[-1])} for row in rows]


def recipients(db: Database, benefit_ids: list[str]) -> dict[str, str]:
    """The recipient of each of these benefits as their pseudonymous `subject` (the register
    view's member key), in one look-up: for a registry page that names them from the register
    (the review queue). Restricted and erased recipients included (the register marks them);
    a benefit without a NIK yet, or unknown here, is left out."""
    if not benefit_ids:
        return {}
    names = live_tables(db, PROJECTION)
    marks = ",".join("?" for _ in benefit_ids)
    rows = db.query(
        f"SELECT benefit_id, subject FROM {names['benefits']}"
        f" WHERE benefit_id IN ({marks}) AND subject IS NOT NULL",
        list(benefit_ids),
    )
    return {benefit_id: subject for benefit_id, subject in rows}


def count_active(db: Database, program: str, day: dt.date | None = None) -> int:
    """How many benefits of the program run on that day (today by default, `running_on`;
    restricted and erased persons, and persons without a NIK yet, included)."""
    names = live_tables(db, PROJECTION)
    on = _day(day)
    row = db.query_one(
        f"SELECT COUNT(*) FROM {names['benefits']} b WHERE b.program=? AND {running_on(names)}",
        (program, on, on, on, on),
    )
    return int(row[0]) if row else 0


def all_rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of the live generation, ordered: for comparing a view with a rebuild."""
    names = live_tables(db, PROJECTION)
    return {
        "benefits": db.query(f"SELECT * FROM {names['benefits']} ORDER BY benefit_id"),
        "changes": db.query(f"SELECT * FROM {names['changes']} ORDER BY benefit_id, seq"),
    }
