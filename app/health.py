"""`/healthz` (JSON) and `/metrics` (Prometheus text): positions and lag, no personal data.

Health is judged from one snapshot, without history: degraded when the relay or a
projection is more than LAG_LIMIT events behind the store, when the relay is gone (no
heartbeat for `RELAY_GONE_SECONDS`) or stuck (events waiting and no progress for
`STUCK_SECONDS`: `projections.status.relay_entry`, from what the relay wrote of itself), a
message sits in the DLQ, or a database does not answer. Unreachable databases answer 503; a
lagging, stuck or stopped pipeline still 200, since the web itself keeps working (commands
are stored; they wait to be published). A view being rebuilt says so (`state` `rebuilding`,
its `rebuild` progress: `projections.status.rebuild_state`), judged by its lag as any other.

Both answer anyone (monitoring needs no account), so neither names an agency: which agencies
receive the city's data is the agreements' business. Anyone reads how many agency topics
there are and how far the furthest behind trails (`agencies`); who may read the agencies
page (`read_policy.WEB`, `agency_pages.page`), signed in or by bearer token, reads each
agency's topic by its code too.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from adapters.db import Database
from adapters.relay_store import highest_published
from app.auth import Unauthenticated, api_actor
from app.context import DATABASE_ERRORS, services
from app.login import signed_in_actor
from app.read_policy import allows
from consumers import agency_delivery
from projections.base import progress
from projections.catalog import PROJECTIONS
from projections.register import count_households
from projections.status import (
    components,
    dead_letter_count,
    rebuild_state,
    rebuilds,
    relay_entry,
    store_counts,
)

log = logging.getLogger("casework.health")

bp = Blueprint("health", __name__)

LAG_LIMIT = 1000
UNREACHABLE = {"error": "unreachable"}


def _reachable(db: Database) -> bool:
    try:
        db.query_one("SELECT 1")
        return True
    except DATABASE_ERRORS as error:
        log.warning("%s database unreachable: %s", db.kind, type(error).__name__)
        return False


def _partial(store: Database, views: Database, store_up: bool, views_up: bool) -> dict[str, Any]:
    """What can still be known when one database does not answer."""
    result: dict[str, Any] = {"store": dict(UNREACHABLE), "relay": dict(UNREACHABLE)}
    count = None
    if store_up:
        count, top = store_counts(store)
        result["store"] = {"position": top, "events": count}
        result["relay"] = relay_entry(store, count)
    building = rebuilds(views) if views_up else {}
    for name, projection in PROJECTIONS.items():
        if not views_up:
            result[f"projection:{name}"] = dict(UNREACHABLE)
            continue
        applied, position = (
            progress(views, projection) if views.table_exists("projection_state") else (0, 0)
        )
        entry: dict[str, Any] = {"position": position, "applied": applied}
        if count is not None:
            entry["lag"] = max(count - applied, 0)
        rebuild_state(entry, building.get(name))
        result[f"projection:{name}"] = entry
    result["dlq"] = {"count": dead_letter_count(views)} if views_up else dict(UNREACHABLE)
    return result


def _agency_topics(views: Database, top: int) -> dict[str, Any]:
    """Each agency topic's writer (`casework agencies`): the last store position it has gone
    past and how many positions it trails `top`, the highest published one (positions of
    accounts' and tokens' events in between count too: a figure to watch, not a health
    verdict; 0 when caught up). The feed, webhook and DCI channels are not here: how far they
    are depends on the agency (the page /agensi shows them)."""
    return {
        f"agency:{state['agency']}": {
            "position": state["position"],
            "lag": max(top - (state["position"] or 0), 0),
        }
        for state in agency_delivery.delivery_states(views)
        if state["channel"] == "topic"
    }


def _aggregate(agencies: dict[str, Any]) -> dict[str, Any]:
    """The agency topics without their codes: how many, and the furthest one's lag."""
    lags = [entry["lag"] for entry in agencies.values()]
    return {"agencies": {"topics": len(lags), "lag": max(lags, default=0)}}


def may_name_agencies() -> bool:
    """Whether this request's caller may read which agencies have topics: a signed-in person
    or a bearer token whose role may open the agencies page. A wrong token counts as a
    failure (`app.auth.api_actor`) and reads what anyone reads."""
    actor = signed_in_actor()
    if actor is None and request.headers.get("Authorization"):
        try:
            actor = api_actor(services().casework)
        except Unauthenticated:
            actor = None
    return actor is not None and allows("agency_pages.page", actor.role)


def snapshot(
    store: Database, views: Database, name_agencies: bool = False
) -> tuple[str, dict[str, Any], bool]:
    """(status, components, every database reachable); each agency topic by its code only
    when `name_agencies`, otherwise counted together."""
    store_up, views_up = _reachable(store), _reachable(views)
    if store_up and views_up:
        found = components(store, views)
    else:
        found = _partial(store, views, store_up, views_up)
    if store_up and views_up:
        # the topics carry published events only: an account's event after the last of
        # them left every agency 'behind' for ever
        agencies = _agency_topics(views, highest_published(store))
        found.update(agencies if name_agencies else _aggregate(agencies))
    degraded = not (store_up and views_up)
    for name, entry in found.items():
        if "error" in entry:
            degraded = True
        elif name == "relay" or name.startswith("projection:"):
            degraded = degraded or entry.get("lag", 0) > LAG_LIMIT
            degraded = degraded or entry.get("state") in ("stuck", "stopped")
        elif name == "dlq":
            degraded = degraded or entry.get("count", 0) > 0
    return ("degraded" if degraded else "ok"), found, store_up and views_up


@bp.get("/healthz")
def healthz():
    svc = services()
    status, found, reachable = snapshot(svc.store, svc.views, may_name_agencies())
    return jsonify({"status": status, "components": found}), 200 if reachable else 503


_METRICS = (
    ("casework_store_position", "Highest position (notification id) in the event store."),
    ("casework_store_events", "Events stored to publish (accounts' and tokens' left out)."),
    ("casework_relay_position", "Last store position the relay published to Kafka."),
    ("casework_relay_lag", "Events stored but not yet published by the relay."),
    ("casework_projection_position", "Highest store position a projection applied."),
    ("casework_projection_lag", "Events stored but not yet applied by a projection."),
    ("casework_agency_topics", "Agencies' topics written (agency codes: signed-in oversight)."),
    ("casework_agency_topic_lag_max", "Store positions the furthest agency topic trails."),
    ("casework_agency_topic_lag", "Store positions an agency's topic has not gone past yet."),
    ("casework_dlq_messages", "Messages in the dead-letter table."),
    ("casework_households_total", "Households in the register read model."),
    ("casework_database_up", "1 when the database answers, 0 when it does not."),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text(store: Database, views: Database, name_agencies: bool = False) -> str:
    """The gauges; each agency's topic lag by its code only when `name_agencies`."""
    _, found, _ = snapshot(store, views, True)
    samples: dict[str, list[tuple[str, float]]] = {name: [] for name, _ in _METRICS}

    def add(metric: str, value: Any, labels: str = "") -> None:
        if isinstance(value, (int, float)):
            samples[metric].append((labels, value))

    add("casework_store_position", found["store"].get("position"))
    add("casework_store_events", found["store"].get("events"))
    add("casework_relay_position", found["relay"].get("position"))
    add("casework_relay_lag", found["relay"].get("lag"))
    for name, entry in found.items():
        if name.startswith("projection:"):
            labels = f'{{projection="{_label(name.split(":", 1)[1])}"}}'
            add("casework_projection_position", entry.get("position"), labels)
            add("casework_projection_lag", entry.get("lag"), labels)
    agencies = {name: entry for name, entry in found.items() if name.startswith("agency:")}
    if "error" not in found["store"] and "error" not in found["dlq"]:
        summary = _aggregate(agencies)["agencies"]  # what /healthz tells anyone
        add("casework_agency_topics", summary["topics"])
        add("casework_agency_topic_lag_max", summary["lag"])
    for name, entry in agencies.items() if name_agencies else ():
        labels = f'{{agency="{_label(name.split(":", 1)[1])}"}}'
        add("casework_agency_topic_lag", entry.get("lag"), labels)
    add("casework_dlq_messages", found["dlq"].get("count"))
    views_up = "error" not in found["dlq"]
    if views_up:
        add("casework_households_total", count_households(views))
    add("casework_database_up", 0 if "error" in found["store"] else 1, '{database="store"}')
    add("casework_database_up", 1 if views_up else 0, '{database="views"}')

    lines = []
    for name, help_text in _METRICS:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{labels} {int(value)}" for labels, value in samples[name])
    return "\n".join(lines) + "\n"


@bp.get("/metrics")
def metrics():
    svc = services()
    return Response(
        metrics_text(svc.store, svc.views, may_name_agencies()),
        content_type="text/plain; version=0.0.4; charset=utf-8",
    )
