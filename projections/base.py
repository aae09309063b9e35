"""How a projection's rows and its tracking position are kept together.

Each projection lives in tables of one *generation* (`<table>_g<N>`). The
current generation is in `projection_state`; a rebuild fills generation N+1
beside it and swaps the pointer in one transaction, so readers never see a
half-built view. Tracking is per stream: the last version applied, so a
duplicate or replayed message (same stream, same or older version) is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from projections.db import Cursor, Database

log = logging.getLogger("casework.projections")

Handler = Callable[[Cursor, dict[str, str], dict[str, Any]], None]


@dataclass
class Projection:
    """A read model: its tables (DDL with `{name}` placeholders) and one handler per event type."""

    name: str
    tables: dict[str, str]
    handlers: dict[str, Handler]
    indexes: list[str] = field(default_factory=list)
    # For event types without a handler of their own, by stream type (e.g. "Household").
    stream_handlers: dict[str, Handler] = field(default_factory=dict)

    def table_names(self, generation: int) -> dict[str, str]:
        names = {base: f"{self.name}_{base}_g{generation}" for base in self.tables}
        names["tracking"] = f"{self.name}_tracking_g{generation}"
        return names


STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_state ("
    " name VARCHAR(100) PRIMARY KEY, generation INTEGER NOT NULL,"
    " rebuilt_at VARCHAR(40))"
)
DLQ_DDL = (
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    " topic VARCHAR(200) NOT NULL, partition_no INTEGER NOT NULL, record_offset BIGINT NOT NULL,"
    " error TEXT NOT NULL, recorded_at VARCHAR(40) NOT NULL,"
    " PRIMARY KEY (topic, partition_no, record_offset))"
)


def ensure_schema(db: Database, projections: Iterable[Projection]) -> None:
    with db.schema_lock(), db.transaction() as cur:
        cur.execute(STATE_DDL)
        cur.execute(DLQ_DDL)
        for projection in projections:
            row = cur.execute(
                "SELECT generation FROM projection_state WHERE name=?", (projection.name,)
            ).fetchone()
            generation = row[0] if row else 1
            create_generation(cur, projection, generation)
            if row is None:
                cur.execute(
                    "INSERT INTO projection_state (name, generation) VALUES (?, ?)",
                    (projection.name, generation),
                )


def create_generation(cur: Cursor, projection: Projection, generation: int) -> dict[str, str]:
    names = projection.table_names(generation)
    for base, ddl in projection.tables.items():
        cur.execute(ddl.format(name=names[base]))
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {names['tracking']} ("
        " stream_id VARCHAR(36) PRIMARY KEY, version INTEGER NOT NULL, position BIGINT NOT NULL)"
    )
    for index in projection.indexes:
        cur.execute(index.format(g=generation, **names))
    return names


def drop_generation(cur: Cursor, projection: Projection, generation: int) -> None:
    for table in projection.table_names(generation).values():
        cur.execute(f"DROP TABLE IF EXISTS {table}")


def current_generation(cur: Cursor, projection: Projection, *, lock: bool) -> int:
    statement = "SELECT generation FROM projection_state WHERE name=?"
    if lock and cur.db.kind == "postgresql":
        statement += " FOR SHARE"
    row = cur.execute(statement, (projection.name,)).fetchone()
    if row is None:
        raise LookupError(f"projection {projection.name} has no state; run ensure_schema first")
    return row[0]


def apply_envelopes(
    cur: Cursor, projection: Projection, names: dict[str, str], envelopes: Iterable[dict[str, Any]]
) -> int:
    """Apply what is new for this projection; returns how many events were applied."""
    applied = 0
    for envelope in envelopes:
        stream_id, version = envelope["stream_id"], envelope["version"]
        row = cur.execute(
            f"SELECT version FROM {names['tracking']} WHERE stream_id=?", (stream_id,)
        ).fetchone()
        if row is not None and version <= row[0]:
            continue
        if row is not None and version > row[0] + 1:
            log.warning(
                "projection %s: stream %s jumps from version %s to %s",
                projection.name,
                stream_id,
                row[0],
                version,
            )
        handler = projection.handlers.get(envelope["type"]) or projection.stream_handlers.get(
            envelope["stream_type"]
        )
        if handler is not None:
            handler(cur, names, envelope)
        if row is None:
            cur.execute(
                f"INSERT INTO {names['tracking']} (stream_id, version, position) VALUES (?, ?, ?)",
                (stream_id, version, envelope["position"]),
            )
        else:
            cur.execute(
                f"UPDATE {names['tracking']} SET version=?, position=? WHERE stream_id=?",
                (version, envelope["position"], stream_id),
            )
        applied += 1
    return applied


def apply_batch(db: Database, projection: Projection, envelopes: list[dict[str, Any]]) -> int:
    """Rows and tracking in one transaction of the read-model database."""
    with db.transaction() as cur:
        generation = current_generation(cur, projection, lock=True)
        return apply_envelopes(cur, projection, projection.table_names(generation), envelopes)


def progress(db: Database, projection: Projection) -> tuple[int, int]:
    """(events applied, highest position applied) of the current generation."""
    row = db.query_one("SELECT generation FROM projection_state WHERE name=?", (projection.name,))
    if row is None:
        return 0, 0
    tracking = projection.table_names(row[0])["tracking"]
    applied, top = db.query_one(
        f"SELECT COALESCE(SUM(version), 0), COALESCE(MAX(position), 0) FROM {tracking}"
    )
    return int(applied), int(top)


def live_tables(db: Database, projection: Projection) -> dict[str, str]:
    row = db.query_one("SELECT generation FROM projection_state WHERE name=?", (projection.name,))
    return projection.table_names(row[0] if row else 1)
