"""The review queue: benefit reviews the policies opened, by kelurahan, program and deadline.

Keeps no personal data: ids, the program, the household's kecamatan and kelurahan, the
review's cause, deadline and state. So it has nothing to erase (`no_personal_data`), and it
serves the registry (a restricted person's benefit is still reviewed: the decision is about
the benefit, and the view keeps nothing about the person). The queue page names the family
and the recipient to who reads the household from the register view, at request time
(`app.web._name_reviews`).

A review is open from BenefitReviewOpened until BenefitReviewDecided (DecideReview, or a
policy's withdrawal) or its benefit's BenefitTerminated; a termination recorded ahead and
then replaced by a suspension or resumption from an earlier day (which the household allows:
the termination never takes effect) opens the reviews it closed again. It is overdue once the
sweep marked it (BenefitReviewOverdue) or its deadline is before the reader's today (the
sweep runs every minute; the queue does not wait for it).
"""

from __future__ import annotations

from typing import Any

from adapters.db import Cursor, Database
from domain.household import replaced_by
from projections.base import Projection, live_tables, no_personal_data

TABLES = {
    "households": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) PRIMARY KEY,"
        " kecamatan VARCHAR(100) NOT NULL, kelurahan VARCHAR(100) NOT NULL)"
    ),
    # terminated_on: the day a termination recorded takes effect (one recorded ahead can be
    # replaced by a change from an earlier day, `domain.household.replaced_by`)
    "benefits": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " benefit_id VARCHAR(36) PRIMARY KEY, program VARCHAR(32) NOT NULL,"
        " terminated_on VARCHAR(10))"
    ),
    "reviews": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " review_id VARCHAR(36) PRIMARY KEY, household_id VARCHAR(36) NOT NULL,"
        " benefit_id VARCHAR(36) NOT NULL, program VARCHAR(32) NOT NULL,"
        " kecamatan VARCHAR(100) NOT NULL, kelurahan VARCHAR(100) NOT NULL,"
        " cause VARCHAR(20) NOT NULL, deadline VARCHAR(10) NOT NULL,"
        " opened_at VARCHAR(40) NOT NULL, overdue INTEGER NOT NULL DEFAULT 0,"
        " status VARCHAR(10) NOT NULL, decision VARCHAR(20))"
    ),
}
INDEXES = [
    "CREATE INDEX IF NOT EXISTS {reviews}_benefit ON {reviews} (benefit_id)",
    "CREATE INDEX IF NOT EXISTS {reviews}_household ON {reviews} (household_id)",
]
# only readers read by these: a rebuild makes them after its events (`Projection.read_indexes`)
READ_INDEXES = [
    "CREATE INDEX IF NOT EXISTS {reviews}_queue ON {reviews} (status, deadline)",
]


def _area(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data, household_id = envelope["data"], envelope["stream_id"]
    cur.execute(
        f"INSERT INTO {names['households']} (household_id, kecamatan, kelurahan) VALUES (?, ?, ?)"
        " ON CONFLICT (household_id) DO UPDATE"
        " SET kecamatan=excluded.kecamatan, kelurahan=excluded.kelurahan",
        (household_id, data["kecamatan"], data["kelurahan"]),
    )
    cur.execute(
        f"UPDATE {names['reviews']} SET kecamatan=?, kelurahan=? WHERE household_id=?",
        (data["kecamatan"], data["kelurahan"], household_id),
    )


def benefit_granted(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    cur.execute(
        f"INSERT INTO {names['benefits']} (benefit_id, program) VALUES (?, ?)"
        " ON CONFLICT (benefit_id) DO UPDATE SET program=excluded.program",
        (data["benefit_id"], data["program"]),
    )


def review_opened(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data, household_id = envelope["data"], envelope["stream_id"]
    area = cur.execute(
        f"SELECT kecamatan, kelurahan FROM {names['households']} WHERE household_id=?",
        (household_id,),
    ).fetchone()
    benefit = cur.execute(
        f"SELECT program FROM {names['benefits']} WHERE benefit_id=?", (data["benefit_id"],)
    ).fetchone()
    cur.execute(f"DELETE FROM {names['reviews']} WHERE review_id=?", (data["review_id"],))
    cur.execute(
        f"INSERT INTO {names['reviews']} (review_id, household_id, benefit_id, program,"
        " kecamatan, kelurahan, cause, deadline, opened_at, overdue, status, decision)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'open', NULL)",
        (
            data["review_id"],
            household_id,
            data["benefit_id"],
            benefit[0] if benefit else "",
            area[0] if area else "",
            area[1] if area else "",
            data["cause"],
            data["deadline"],
            envelope["recorded_at"],
        ),
    )


def review_decided(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    cur.execute(
        f"UPDATE {names['reviews']} SET status='closed', decision=? WHERE review_id=?",
        (data["decision"], data["review_id"]),
    )


def review_overdue(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    cur.execute(
        f"UPDATE {names['reviews']} SET overdue=1 WHERE review_id=?",
        (envelope["data"]["review_id"],),
    )


def benefit_terminated(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """The benefit ended (a decision, TerminateBenefit or a death): its open reviews close."""
    data = envelope["data"]
    cur.execute(
        f"UPDATE {names['reviews']} SET status='closed',"
        " decision=COALESCE(decision, 'benefit_terminated')"
        " WHERE benefit_id=? AND status='open'",
        (data["benefit_id"],),
    )
    cur.execute(
        f"UPDATE {names['benefits']} SET terminated_on=? WHERE benefit_id=?",
        (data.get("effective_date"), data["benefit_id"]),
    )


def benefit_changed(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """A suspension or resumption from a day before the termination recorded ahead replaces
    it (`domain.household.replaced_by`, as the household does): the reviews that termination
    closed are open again."""
    data = envelope["data"]
    row = cur.execute(
        f"SELECT terminated_on FROM {names['benefits']} WHERE benefit_id=?", (data["benefit_id"],)
    ).fetchone()
    day = data.get("effective_date")
    if row is None or row[0] is None or day is None or not replaced_by(row[0], day):
        return
    cur.execute(
        f"UPDATE {names['reviews']} SET status='open', decision=NULL"
        " WHERE benefit_id=? AND status='closed' AND decision='benefit_terminated'",
        (data["benefit_id"],),
    )
    cur.execute(
        f"UPDATE {names['benefits']} SET terminated_on=NULL WHERE benefit_id=?",
        (data["benefit_id"],),
    )


PROJECTION = Projection(
    name="reviews",
    version=2,  # 2: a termination replaced by an earlier change opens its reviews again
    rebuild_weight=0.45,
    tables=TABLES,
    only_its_handlers=True,  # the review queue only: nothing else of a household is kept
    handlers={
        "HouseholdRegistered": _area,
        "HouseholdRelocated": _area,
        "HouseholdSplitOff": _area,
        "BenefitGranted": benefit_granted,
        "BenefitReviewOpened": review_opened,
        "BenefitReviewDecided": review_decided,
        "BenefitReviewOverdue": review_overdue,
        "BenefitTerminated": benefit_terminated,
        "BenefitSuspended": benefit_changed,
        "BenefitResumed": benefit_changed,
    },
    serves="registry",
    indexes=INDEXES,
    read_indexes=READ_INDEXES,
    on_erasure=no_personal_data,
)

COLUMNS = (
    "review_id",
    "household_id",
    "benefit_id",
    "program",
    "kecamatan",
    "kelurahan",
    "cause",
    "deadline",
    "opened_at",
)


def open_reviews(
    db: Database,
    today: str,
    *,
    kelurahan: str | None = None,
    program: str | None = None,
    overdue: bool | None = None,
    kelurahan_in: tuple[str, ...] | None = None,
    program_in: tuple[str, ...] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The open reviews, nearest deadline first. `overdue`: only those past their deadline
    on `today` (or marked), only those not yet, or both (None). `kelurahan_in` and
    `program_in` bound what the reader may see (None: everything)."""
    names = live_tables(db, PROJECTION)
    where, params = ["status='open'"], []
    late = "(overdue=1 OR deadline < ?)"
    if overdue is True:
        where.append(late)
        params.append(today)
    elif overdue is False:
        where.append(f"NOT {late}")
        params.append(today)
    for column, value in (("kelurahan", kelurahan), ("program", program)):
        if value:
            where.append(f"{column}=?")
            params.append(value)
    for column, allowed in (("kelurahan", kelurahan_in), ("program", program_in)):
        if allowed is not None:
            if not allowed:
                return []
            where.append(f"{column} IN ({', '.join('?' for _ in allowed)})")
            params.extend(allowed)
    rows = db.query(
        f"SELECT {', '.join(COLUMNS)}, CASE WHEN {late} THEN 1 ELSE 0 END"
        f" FROM {names['reviews']} WHERE {' AND '.join(where)}"
        " ORDER BY deadline, opened_at, review_id LIMIT ? OFFSET ?",
        (today, *params, limit, offset),
    )
    return [
        {**dict(zip(COLUMNS, row[:-1], strict=True)), "overdue": bool(row[-1])} for row in rows
    ]


def all_rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of the live generation, ordered: for comparing a view with a rebuild."""
    names = live_tables(db, PROJECTION)
    return {"reviews": db.query(f"SELECT * FROM {names['reviews']} ORDER BY review_id")}
