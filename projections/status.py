"""Positions of each component, for /healthz, /metrics and the tests' waits.

The store's count and the relay's position live in the store database; each
projection's progress and the dead letters in the read-model database.
"""

from __future__ import annotations

from typing import Any

from adapters.db import Database
from projections.base import progress
from projections.catalog import PROJECTIONS

RELAY_STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS casework_relay_state ("
    " name VARCHAR(50) PRIMARY KEY, position BIGINT NOT NULL, published BIGINT NOT NULL,"
    " updated_at VARCHAR(40) NOT NULL)"
)
RELAY_LEASE_DDL = (
    "CREATE TABLE IF NOT EXISTS casework_relay_lease ("
    " name VARCHAR(50) PRIMARY KEY, owner VARCHAR(100) NOT NULL,"
    " expires_at DOUBLE PRECISION NOT NULL)"
)


def events_table(store: Database) -> tuple[str, str]:
    """The `eventsourcing` table of stored events and its position column."""
    if store.kind == "sqlite":
        return "stored_events", "rowid"
    return "casework_events", "notification_id"


def store_counts(store: Database) -> tuple[int, int]:
    """(number of stored events, highest position) in the event store."""
    table, column = events_table(store)
    if not store.table_exists(table):
        return 0, 0
    count, top = store.query_one(f"SELECT COUNT(*), COALESCE(MAX({column}), 0) FROM {table}")
    return int(count), int(top)


def relay_state(store: Database) -> tuple[int, int]:
    """(last position published, events published) by the relay; zeros before its first run."""
    if not store.table_exists("casework_relay_state"):
        return 0, 0
    row = store.query_one("SELECT position, published FROM casework_relay_state WHERE name='main'")
    return (int(row[0]), int(row[1])) if row else (0, 0)


def dead_letter_count(views: Database) -> int:
    if not views.table_exists("dead_letters"):
        return 0
    return int(views.query_one("SELECT COUNT(*) FROM dead_letters")[0])


def components(store: Database, views: Database) -> dict[str, Any]:
    """Each component's position and lag in events behind the store."""
    count, top = store_counts(store)
    relay_position, published = relay_state(store)
    result: dict[str, Any] = {
        "store": {"position": top, "events": count},
        "relay": {
            "position": relay_position,
            "published": published,
            "lag": max(count - published, 0),
        },
    }
    for name, projection in PROJECTIONS.items():
        if views.table_exists("projection_state"):
            applied, position = progress(views, projection)
        else:
            applied, position = 0, 0
        result[f"projection:{name}"] = {
            "position": position,
            "applied": applied,
            "lag": max(count - applied, 0),
        }
    result["dlq"] = {"count": dead_letter_count(views) if views.table_exists("dead_letters") else 0}
    return result
