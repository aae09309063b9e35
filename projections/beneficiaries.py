"""Beneficiaries per program: the benefits of each program, for the programs (serves="program").

A person whose processing is restricted (UU PDP) is hidden here while restricted and shown
again when the restriction is lifted (projections.base calls `hide_person`); the rows are
kept, flagged, so lifting needs no replay.
"""

from __future__ import annotations

from typing import Any

from projections.base import Projection, live_tables
from projections.db import Cursor, Database

TABLES = {
    "benefits": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " benefit_id VARCHAR(36) PRIMARY KEY, household_id VARCHAR(36) NOT NULL,"
        " nik VARCHAR(16) NOT NULL, program VARCHAR(32) NOT NULL,"
        " period_start VARCHAR(10) NOT NULL, period_end VARCHAR(10) NOT NULL,"
        " amount BIGINT NOT NULL, status VARCHAR(20) NOT NULL,"
        " restricted INTEGER NOT NULL DEFAULT 0, granted_at VARCHAR(40) NOT NULL)"
    ),
}
INDEXES = [
    "CREATE INDEX IF NOT EXISTS {benefits}_program ON {benefits} (program, status)",
    "CREATE INDEX IF NOT EXISTS {benefits}_person ON {benefits} (household_id, nik)",
]


def benefit_granted(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    cur.execute(
        f"INSERT INTO {names['benefits']} (benefit_id, household_id, nik, program, period_start,"
        " period_end, amount, status, restricted, granted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'active', 0, ?)",
        (
            data["benefit_id"],
            envelope["stream_id"],
            data["nik"],
            data["program"],
            data["period_start"],
            data["period_end"],
            data["amount"],
            envelope["recorded_at"],
        ),
    )


def _status(status: str):
    def handler(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
        cur.execute(
            f"UPDATE {names['benefits']} SET status=? WHERE benefit_id=?",
            (status, envelope["data"]["benefit_id"]),
        )

    return handler


def hide_person(
    cur: Cursor, names: dict[str, str], household_id: str, nik: str, restricted: bool
) -> None:
    cur.execute(
        f"UPDATE {names['benefits']} SET restricted=? WHERE household_id=? AND nik=?",
        (1 if restricted else 0, household_id, nik),
    )


PROJECTION = Projection(
    name="beneficiaries",
    tables=TABLES,
    handlers={
        "BenefitGranted": benefit_granted,
        "BenefitSuspended": _status("suspended"),
        "BenefitResumed": _status("active"),
        "BenefitTerminated": _status("terminated"),
    },
    serves="program",
    indexes=INDEXES,
    on_restriction=hide_person,
)

_COLUMNS = ("benefit_id", "household_id", "nik", "program", "period_start", "period_end")


def beneficiaries(
    db: Database, program: str, *, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """The active benefits of one program, restricted persons left out."""
    names = live_tables(db, PROJECTION)
    rows = db.query(
        f"SELECT {', '.join(_COLUMNS)}, amount, status FROM {names['benefits']}"
        " WHERE program=? AND status='active' AND restricted=0"
        " ORDER BY granted_at, benefit_id LIMIT ? OFFSET ?",
        (program, limit, offset),
    )
    keys = (*_COLUMNS, "amount", "status")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def all_rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of the live generation, ordered: for comparing a view with a rebuild."""
    names = live_tables(db, PROJECTION)
    return {"benefits": db.query(f"SELECT * FROM {names['benefits']} ORDER BY benefit_id")}
