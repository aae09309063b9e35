"""Positions of each component, for /healthz, /metrics and the tests' waits.

The store's count and the relay's position live in the store database; each
projection's progress and the dead letters in the read-model database.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from adapters.db import Database
from adapters.relay_store import events_table as events_table  # app.subject_access reads it here
from adapters.relay_store import relay_liveness, relay_state, store_counts
from projections.base import progress
from projections.catalog import PROJECTIONS

# How /healthz and /status judge the relay from what it last wrote of itself (README, Health):
# - gone: no heartbeat for RELAY_GONE_SECONDS (the leading relay writes one every second, from
#   a thread of its own, also while it waits for the broker): no relay runs;
# - stuck: events wait to be published (lag > 0) and it made no progress (no position
#   recorded, and never found itself caught up) for STUCK_SECONDS: the broker does not answer
#   or does not acknowledge. Longer than the relay's own delivery timeout (15 s), so one slow
#   acknowledgement is not an outage.
RELAY_GONE_SECONDS = 15.0
STUCK_SECONDS = 30.0
RELAY_STATES = ("running", "stuck", "stopped")


def _stamp(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def relay_entry(store: Database, count: int, now: float | None = None) -> dict[str, Any]:
    """The relay's position, events published and lag, and, once a relay of this version has
    run, its `state` (`running`, `stuck` or `stopped`) and, when not running, `since` (RFC
    3339: its last heartbeat, or its last progress). Two lookups by primary key."""
    position, published = relay_state(store)
    lag = max(count - published, 0)
    entry: dict[str, Any] = {"position": position, "published": published, "lag": lag}
    alive = relay_liveness(store)
    if alive.seen_at is None:
        return entry  # no relay of this version has run: judged by its lag alone
    now = time.time() if now is None else now
    last_progress = alive.progress_at if alive.progress_at is not None else alive.seen_at
    if now - alive.seen_at > RELAY_GONE_SECONDS:
        entry.update(state="stopped", since=_stamp(alive.seen_at))
    elif lag > 0 and now - last_progress > STUCK_SECONDS:
        entry.update(state="stuck", since=_stamp(last_progress))
    else:
        entry["state"] = "running"
    return entry


def dead_letter_count(views: Database) -> int:
    if not views.table_exists("dead_letters"):
        return 0
    return int(views.query_one("SELECT COUNT(*) FROM dead_letters")[0])


def components(store: Database, views: Database) -> dict[str, Any]:
    """Each component's position and lag in events behind the store."""
    count, top = store_counts(store)
    result: dict[str, Any] = {
        "store": {"position": top, "events": count},
        "relay": relay_entry(store, count),
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
