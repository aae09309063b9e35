"""The agencies view: what the agency filter (`consumers.agency_filter`) needs to decide,
for each event, whether an agency may receive it.

- `agreements`: every version of every agency agreement, with the position from which it
  applies (the position of the event that recorded it) and its complete terms (JSON);
- `revocations`: the position at which an agreement was revoked;
- `households`: each household's area (kecamatan, kelurahan), kept current through
  registration, a split (the new family's own registration) and relocation; a person without
  papers by the kecamatan where they were found (no kelurahan);
- the restricted persons of each household (the base's `restrictions` table, kept by
  `projections.base.apply_envelopes` because this view serves agencies).

Keeps no personal data: agreement terms, household ids and areas. So it has nothing to erase
(`no_personal_data`); an erased person is recognised in each event itself (their tokens no
longer open). Serving agencies, it must honour restrictions: its rows name no person, so there
is nothing to hide besides the restriction itself, which the filter reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from adapters.db import Cursor, Database
from domain.agreement import TERM_FIELDS
from projections.base import (
    RESTRICTIONS,
    Projection,
    live_tables,
    no_personal_data,
    progress,
)

TABLES = {
    "agreements": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " agency VARCHAR(32) NOT NULL, version INTEGER NOT NULL,"
        " from_position BIGINT NOT NULL, recorded_at VARCHAR(40) NOT NULL,"
        " terms TEXT NOT NULL, PRIMARY KEY (agency, version))"
    ),
    "revocations": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " agency VARCHAR(32) PRIMARY KEY, position BIGINT NOT NULL,"
        " recorded_at VARCHAR(40) NOT NULL)"
    ),
    "households": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) PRIMARY KEY,"
        " kecamatan VARCHAR(100) NOT NULL, kelurahan VARCHAR(100))"
    ),
}


def _version(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    terms = {name: data.get(name) for name in TERM_FIELDS}
    cur.execute(
        f"DELETE FROM {names['agreements']} WHERE agency=? AND version=?",
        (data["agency"], data["terms_version"]),
    )
    cur.execute(
        f"INSERT INTO {names['agreements']} (agency, version, from_position, recorded_at, terms)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            data["agency"],
            data["terms_version"],
            envelope["position"],
            envelope["recorded_at"],
            json.dumps(terms, sort_keys=True),
        ),
    )


def _revoked(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    agency = envelope["data"]["agency"]
    cur.execute(f"DELETE FROM {names['revocations']} WHERE agency=?", (agency,))
    cur.execute(
        f"INSERT INTO {names['revocations']} (agency, position, recorded_at) VALUES (?, ?, ?)",
        (agency, envelope["position"], envelope["recorded_at"]),
    )


def _area(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data, household_id = envelope["data"], envelope["stream_id"]
    cur.execute(
        f"INSERT INTO {names['households']} (household_id, kecamatan, kelurahan) VALUES (?, ?, ?)"
        " ON CONFLICT (household_id) DO UPDATE"
        " SET kecamatan=excluded.kecamatan, kelurahan=excluded.kelurahan",
        (household_id, data["kecamatan"], data.get("kelurahan")),
    )


def _no_rows_to_hide(
    cur: Cursor, names: dict[str, str], stream_id: str, subject: str, restricted: bool
) -> None:
    """The view's rows name no person: the restriction itself (the base's table) is what the
    filter reads."""


PROJECTION = Projection(
    name="agencies",
    tables=TABLES,
    handlers={
        "AgreementDefined": _version,
        "AgreementChanged": _version,
        "AgreementRevoked": _revoked,
        "HouseholdRegistered": _area,
        "HouseholdSplitOff": _area,
        "HouseholdRelocated": _area,
        "HomelessPersonRegistered": _area,
    },
    serves="agency",
    only_its_handlers=True,
    on_restriction=_no_rows_to_hide,
    on_erasure=no_personal_data,
    rebuild_weight=0.35,
)


# --- reading ---------------------------------------------------------------------------------


def versions(views: Database, agency: str | None = None) -> list[dict[str, Any]]:
    """Every version of every agreement (of one agency), by agency and version, with the
    position its revocation was recorded at (None: not revoked)."""
    names = live_tables(views, PROJECTION)
    where, params = ("WHERE a.agency=?", [agency]) if agency else ("", [])
    rows = views.query(
        f"SELECT a.agency, a.version, a.from_position, a.recorded_at, a.terms, r.position,"
        f" r.recorded_at FROM {names['agreements']} a"
        f" LEFT JOIN {names['revocations']} r ON r.agency = a.agency {where}"
        " ORDER BY a.agency, a.version",
        params,
    )
    return [
        {
            "agency": row[0],
            "version": int(row[1]),
            "from_position": int(row[2]),
            "recorded_at": row[3],
            "terms": json.loads(row[4]),
            "revoked_at": int(row[5]) if row[5] is not None else None,
            "revoked_recorded_at": row[6],
        }
        for row in rows
    ]


def area_of(views: Database, household_id: str) -> tuple[str, str | None] | None:
    """(kecamatan, kelurahan) of a household or a person without papers; None if unknown."""
    names = live_tables(views, PROJECTION)
    row = views.query_one(
        f"SELECT kecamatan, kelurahan FROM {names['households']} WHERE household_id=?",
        (household_id,),
    )
    return (row[0], row[1]) if row else None


def restricted(views: Database, household_id: str) -> set[str]:
    """The subjects of the household's persons whose processing is restricted."""
    names = live_tables(views, PROJECTION)
    rows = views.query(
        f"SELECT subject FROM {names[RESTRICTIONS]} WHERE stream_id=?", (household_id,)
    )
    return {row[0] for row in rows}


def areas_of(
    views: Database, household_ids: Iterable[str]
) -> dict[str, tuple[str, str | None] | None]:
    """`area_of` for each of these ids at once (None for an unknown one)."""
    wanted = list(dict.fromkeys(household_ids))
    found: dict[str, tuple[str, str | None] | None] = dict.fromkeys(wanted)
    table = live_tables(views, PROJECTION)["households"]
    for row in _rows_of(views, table, "household_id", ("kecamatan", "kelurahan"), wanted):
        found[row[0]] = (row[1], row[2])
    return found


def restricted_of(views: Database, household_ids: Iterable[str]) -> dict[str, set[str]]:
    """`restricted` for each of these ids at once (an empty set for most)."""
    wanted = list(dict.fromkeys(household_ids))
    found: dict[str, set[str]] = {stream_id: set() for stream_id in wanted}
    table = live_tables(views, PROJECTION)[RESTRICTIONS]
    for row in _rows_of(views, table, "stream_id", ("subject",), wanted):
        found[row[0]].add(row[1])
    return found


def _rows_of(
    views: Database, table: str, key: str, columns: tuple[str, ...], ids: list[str]
) -> Iterable[tuple]:
    """(key, *columns) of the table's rows whose key is one of `ids`, 500 ids a statement
    (a statement's parameters stay few)."""
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        yield from views.query(
            f"SELECT {key}, {', '.join(columns)} FROM {table}"
            f" WHERE {key} IN ({', '.join('?' * len(part))})",
            part,
        )


def applied_position(views: Database) -> int:
    """The highest position the view has applied."""
    return progress(views, PROJECTION)[1]


def applied_versions(views: Database, stream_ids: list[str]) -> dict[str, int]:
    """The last version of each of these streams the view has applied (absent: none)."""
    wanted = list(dict.fromkeys(stream_ids))
    if not wanted:
        return {}
    names = live_tables(views, PROJECTION)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):  # a statement's parameters stay few
        part = wanted[start : start + 500]
        rows = views.query(
            f"SELECT stream_id, version FROM {names['tracking']}"
            f" WHERE stream_id IN ({', '.join('?' * len(part))})",
            part,
        )
        found.update({row[0]: row[1] for row in rows})
    return found
