"""Positions of each component, for /healthz, /metrics and the tests' waits.

The store's count and the relay's position live in the store database; each
projection's progress and the dead letters in the read-model database.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from adapters.db import Database
from adapters.relay_store import events_table as events_table  # app.subject_access reads it here
from adapters.relay_store import relay_liveness, relay_state, store_counts
from projections.base import FILLING, Filling, fillings, progress
from projections.catalog import PROJECTIONS

# How /healthz and /status judge the relay from what it last wrote of itself (README, Health),
# and the projection runners alike (`runner_state`):
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


@dataclass(frozen=True)
class Runners:
    """What the projection runners last said of themselves (unix seconds): the newest
    heartbeat of any, and the oldest last progress among those still alive (a runner holding
    partitions but stalled is not hidden by another with nothing to do). None: no runner of
    this version ran."""

    seen_at: float | None
    progress_at: float | None


def runners(views: Database, now: float | None = None) -> Runners:
    """The runners' liveness (`projection_runners`, a few rows: one per runner process)."""
    if not views.table_exists("projection_runners"):
        return Runners(None, None)
    rows = views.query("SELECT seen_at, progress_at FROM projection_runners")
    if not rows:
        return Runners(None, None)
    now = time.time() if now is None else now
    alive = [progress for seen, progress in rows if now - seen <= RELAY_GONE_SECONDS]
    return Runners(max(seen for seen, _ in rows), min(alive) if alive else None)


def runner_state(entry: dict[str, Any], found: Runners, now: float | None = None) -> None:
    """A projection's `state` (`running`, `stuck` or `stopped`) and, when not running,
    `since`, judged as the relay's: no runner's heartbeat for RELAY_GONE_SECONDS, or events
    waiting (its lag) and a live runner without progress for STUCK_SECONDS. Nothing when no
    runner of this version ran (judged by its lag alone)."""
    if found.seen_at is None:
        return
    now = time.time() if now is None else now
    if found.progress_at is None or now - found.seen_at > RELAY_GONE_SECONDS:
        entry.update(state="stopped", since=_stamp(found.seen_at))
    elif entry.get("lag", 0) > 0 and now - found.progress_at > STUCK_SECONDS:
        entry.update(state="stuck", since=_stamp(found.progress_at))
    else:
        entry["state"] = "running"


def rebuilds(views: Database) -> dict[str, Filling]:
    """The views being rebuilt (`projections.base.fillings`), {} before the table exists."""
    return fillings(views) if views.table_exists(FILLING) else {}


def rebuild_state(entry: dict[str, Any], filling: Filling | None) -> None:
    """A view being rebuilt says so: `rebuild` (events done of the total, percent, seconds
    left at the rate so far or null) and, unless its runners are stopped or stuck, the
    `state` `rebuilding`."""
    if filling is None:
        return
    entry["rebuild"] = filling.as_json()
    if entry.get("state") not in ("stopped", "stuck"):
        entry["state"] = "rebuilding"


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
    alive = runners(views)
    building = rebuilds(views)
    for name, projection in PROJECTIONS.items():
        if views.table_exists("projection_state"):
            applied, position = progress(views, projection)
        else:
            applied, position = 0, 0
        entry = {"position": position, "applied": applied, "lag": max(count - applied, 0)}
        runner_state(entry, alive)
        rebuild_state(entry, building.get(name))
        result[f"projection:{name}"] = entry
    result["dlq"] = {"count": dead_letter_count(views) if views.table_exists("dead_letters") else 0}
    return result
