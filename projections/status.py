"""Positions of each component, for /healthz, /metrics and the tests' waits.

The store's count and the relay's position live in the store database; each
projection's progress and the dead letters in the read-model database.
"""

from __future__ import annotations

from typing import Any

from adapters.db import Database
from adapters.relay_store import events_table as events_table  # app.subject_access reads it here
from adapters.relay_store import relay_state, store_counts
from projections.base import progress
from projections.catalog import PROJECTIONS


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
