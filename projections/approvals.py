"""Who asked for which change and what became of it: the requests of the maker-checker
(domain/approval.py), by requester and by household, so a maker follows their own requests
and the household page shows the requests about its family.

Keeps no personal data: the approval's id, its command's name, the requester's account id
(staff, as the read log keeps it), the household's id, the state and two moments. The
command itself, the decider, the reason and the note stay in the store: a page reads the
few approvals it shows from there (`Casework.get_pending_change`). So the view has nothing
to erase (`no_personal_data`) and serves the registry.

A request is `pending` from ChangeRequested until ChangeApproved (`approved`),
ChangeRejected (`rejected`) or ChangeRefused (`refused`: the program's rules failed at
approval).
"""

from __future__ import annotations

from typing import Any

from adapters.db import Cursor, Database
from projections.base import Projection, live_tables, no_personal_data

TABLES = {
    "approvals": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " approval_id VARCHAR(36) PRIMARY KEY, command VARCHAR(64) NOT NULL,"
        " requester_id VARCHAR(200) NOT NULL, household_id VARCHAR(36),"
        " status VARCHAR(10) NOT NULL, requested_at VARCHAR(40) NOT NULL,"
        " decided_at VARCHAR(40), position BIGINT NOT NULL)"
    ),
}
# only readers read by these: a rebuild makes them after its events (`Projection.read_indexes`)
READ_INDEXES = [
    "CREATE INDEX IF NOT EXISTS {approvals}_requester ON {approvals} (requester_id, position)",
    "CREATE INDEX IF NOT EXISTS {approvals}_household ON {approvals} (household_id, position)",
]
STATES = ("pending", "approved", "rejected", "refused")


def requested(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    cmd = envelope["data"].get("cmd") or {}
    household_id = cmd.get("household_id")
    cur.execute(
        f"INSERT INTO {names['approvals']} (approval_id, command, requester_id, household_id,"
        " status, requested_at, decided_at, position) VALUES (?, ?, ?, ?, 'pending', ?, NULL, ?)"
        " ON CONFLICT (approval_id) DO NOTHING",
        (
            envelope["stream_id"],
            envelope["data"]["command"],
            str((envelope.get("actor") or {}).get("id") or ""),
            str(household_id) if household_id else None,
            envelope["occurred_at"],
            envelope["position"],
        ),
    )


def _decided(status: str):
    def handler(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
        cur.execute(
            f"UPDATE {names['approvals']} SET status=?, decided_at=? WHERE approval_id=?",
            (status, envelope["occurred_at"], envelope["stream_id"]),
        )

    return handler


PROJECTION = Projection(
    name="approvals",
    rebuild_weight=0.05,
    tables=TABLES,
    only_its_handlers=True,  # the requests only: nothing else is kept
    handlers={
        "ChangeRequested": requested,
        "ChangeApproved": _decided("approved"),
        "ChangeRejected": _decided("rejected"),
        "ChangeRefused": _decided("refused"),
    },
    serves="registry",
    read_indexes=READ_INDEXES,
    on_erasure=no_personal_data,
)

COLUMNS = (
    "approval_id",
    "command",
    "requester_id",
    "household_id",
    "status",
    "requested_at",
    "decided_at",
)


def requests(
    db: Database,
    *,
    requester_id: str | None = None,
    household_id: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The requests of one requester or about one household, the most recent first."""
    names = live_tables(db, PROJECTION)
    where, params = [], []
    for column, value in (("requester_id", requester_id), ("household_id", household_id)):
        if value is not None:
            where.append(f"{column}=?")
            params.append(value)
    if not where:
        raise ValueError("requests of whom, or about which household?")
    rows = db.query(
        f"SELECT {', '.join(COLUMNS)} FROM {names['approvals']} WHERE {' AND '.join(where)}"
        " ORDER BY position DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def known(db: Database, approval_ids: list[str]) -> set[str]:
    """Which of these requests the view holds already (the others it has yet to catch up)."""
    if not approval_ids:
        return set()
    names = live_tables(db, PROJECTION)
    marks = ", ".join("?" for _ in approval_ids)
    rows = db.query(
        f"SELECT approval_id FROM {names['approvals']} WHERE approval_id IN ({marks})",
        tuple(approval_ids),
    )
    return {row[0] for row in rows}
