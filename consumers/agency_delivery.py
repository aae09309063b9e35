"""Each agency's delivery state per channel: how far it got (the highest position delivered
or passed over), how many events were delivered, failed and dead-lettered, and the last
error. Kept in the read-model database (one small table, not a projection: the delivering
processes write it), shown on the agencies page (`/agensi`).

The last error is a short description the channel makes (an HTTP status, an exception's
kind), never an event's data.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from adapters.db import Database

CHANNELS = ("topic", "feed", "webhook", "dci")
TABLE = "agency_delivery"
MAX_ERROR = 300
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " agency VARCHAR(32) NOT NULL, channel VARCHAR(16) NOT NULL,"
    " position BIGINT NOT NULL DEFAULT 0, delivered BIGINT NOT NULL DEFAULT 0,"
    " failed BIGINT NOT NULL DEFAULT 0, dead_lettered BIGINT NOT NULL DEFAULT 0,"
    " last_error VARCHAR(300), error_at VARCHAR(40), updated_at VARCHAR(40) NOT NULL,"
    " PRIMARY KEY (agency, channel))"
)
_FIELDS = (
    "agency",
    "channel",
    "position",
    "delivered",
    "failed",
    "dead_lettered",
    "last_error",
    "error_at",
    "updated_at",
)
_made: set[int] = set()
_lock = threading.Lock()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ensure_table(views: Database) -> None:
    """Make the table (once per Database object)."""
    with _lock:
        if id(views) in _made:
            return
        with views.transaction() as cur:
            cur.execute(_DDL)
        _made.add(id(views))


def record_delivery(
    views: Database,
    agency: str,
    channel: str,
    position: int,
    *,
    delivered: int = 0,
    failed: int = 0,
    dead_lettered: int = 0,
    error: str | None = None,
) -> None:
    """Add a batch's outcome to the agency's state on this channel: the counts add up, the
    position only moves forward; an error replaces the last one (None keeps it)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if min(delivered, failed, dead_lettered, position) < 0:
        raise ValueError("counts and positions are not negative")
    ensure_table(views)
    now = _now()
    message = " ".join(error.split())[:MAX_ERROR] if error else None
    with views.transaction() as cur:
        cur.execute(
            f"INSERT INTO {TABLE} (agency, channel, position, delivered, failed, dead_lettered,"
            " last_error, error_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (agency, channel) DO UPDATE SET"
            f" position = CASE WHEN {TABLE}.position < excluded.position"
            f" THEN excluded.position ELSE {TABLE}.position END,"
            f" delivered = {TABLE}.delivered + excluded.delivered,"
            f" failed = {TABLE}.failed + excluded.failed,"
            f" dead_lettered = {TABLE}.dead_lettered + excluded.dead_lettered,"
            f" last_error = COALESCE(excluded.last_error, {TABLE}.last_error),"
            f" error_at = COALESCE(excluded.error_at, {TABLE}.error_at),"
            " updated_at = excluded.updated_at",
            (
                agency,
                channel,
                position,
                delivered,
                failed,
                dead_lettered,
                message,
                now if message else None,
                now,
            ),
        )


def delivery_states(views: Database) -> list[dict[str, Any]]:
    """Every agency's state per channel, by agency and channel."""
    ensure_table(views)
    rows = views.query(f"SELECT {', '.join(_FIELDS)} FROM {TABLE} ORDER BY agency, channel")
    return [dict(zip(_FIELDS, row, strict=True)) for row in rows]
