"""What agencies read over HTTP: their feed and their webhook (on the API blueprint).

- `GET /api/v1/feed?after=&limit=&wait=`: the agency's events after position `after`
  (consumers/agency_feed.py: the store's events the agreement allows, filtered and signed as
  on the agency's topic), at most `limit`, and `next`, where to continue; with `wait` (up to
  30 s) a request that finds nothing new waits for an event (long polling).
- `POST /api/v1/webhooks` `{"url": ...}`: the agency's endpoint (https, or http to a loopback
  address); the answer holds the signing secret, shown this once. Registering again replaces
  the endpoint and its secret. `GET` shows it (without the secret) and its queue, `DELETE`
  stops it.
- `GET /api/v1/webhooks/dead-letters`: the events whose delivery failed every attempt (no
  personal data), and `POST /api/v1/webhooks/dead-letters/redeliver` `{"agency": CODE,
  "stream_id": optional}` puts them back in the queue (administrators).

The agency of an agency account is its `opd` (`casework users add NAME --role agency
--agency CODE`); its feed and webhook stop when its agreement is revoked or expired.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from adapters import webhook_store
from adapters.codec import Wrapper
from adapters.signing import Signer
from app.api_schemas import MAX_LIMIT
from app.command_path import caller, error_response, errors_body, whole_args
from app.context import services
from app.disclosure import codec
from app.schemas import Invalid
from consumers import agency_delivery, agency_filter
from consumers.agency_feed import MAX_WAIT_SECONDS, AgencyEvents
from consumers.webhooks import url_problem
from domain.application import Actor
from domain.approval import Forbidden

FEED_ENDPOINT = "/api/v1/feed"
_EVENTS = "casework.agency_events"
_AGENCY_CODE = re.compile(r"[A-Z0-9_-]{2,32}")
_STREAM_ID = re.compile(r"[0-9a-f-]{36}")


def agency_events() -> AgencyEvents:
    """The store's events as agencies receive them (one per web process)."""
    found = current_app.extensions.get(_EVENTS)
    if found is None:
        kept = services()
        settings = kept.settings
        agencies = agency_filter.AgencyFilter(
            kept.views,
            codec(),
            agency_filter.pseudonym_secret(settings),
            read_key=settings.secret_key,
            stored=agency_filter.stored_terms(kept.casework),
        )
        found = AgencyEvents(kept.casework, settings.tenant, agencies, Signer(settings.signing_key))
        current_app.extensions[_EVENTS] = found
    return found


def agency_of(actor: Actor) -> str:
    """The caller's agency code (an agency account's `opd`); 403 when it has none."""
    agency = (actor.opd or "").strip()
    if not _AGENCY_CODE.fullmatch(agency):
        raise Forbidden("agency", "agency.unknown")
    return agency


def _record(store_reads: list[Any], agency: str, channel: str, position: int, count: int) -> None:
    kept = services()
    if store_reads:
        agency_filter.record_reads(kept.store, agency, "api", FEED_ENDPOINT, store_reads)
    agency_delivery.record_delivery(kept.views, agency, channel, position, delivered=count)


# Requests that may wait (long polling) at once, per web process: half of its threads.
LONG_POLLS = threading.BoundedSemaphore(2)


def agency_feed():
    """The agency's events after `after`, filtered by its agreement and signed."""
    agency = agency_of(caller())
    try:
        after, limit, wait = whole_args(
            ("after", 0, 0, 10**18), ("limit", 50, 1, MAX_LIMIT), ("wait", 0, 0, MAX_WAIT_SECONDS)
        )
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    events = agency_events()
    if events.filter.current(agency) is None:
        raise Forbidden("agency", "agency.no_agreement")
    # a position no event has yet (a cursor mistyped, or kept from another store) would
    # skip every event stored up to it, silently: refused
    if after and after > (services().casework.recorder.max_notification_id() or 0):
        return jsonify(errors_body({"after": ["feed.after_beyond_end"]})), 422
    # A waiting request holds one of the process's few threads (app/server.py THREADS): at
    # most LONG_POLLS wait at once, so staff pages are never starved; another is answered at
    # once (an empty page with `next`) and simply asks again.
    if wait and LONG_POLLS.acquire(blocking=False):
        try:
            page = events.long_poll(agency, after, limit, wait)
        finally:
            LONG_POLLS.release()
    else:
        page = events.page(agency, after, limit)
    # The agreement again, as the store holds it now: one revoked or expired while this
    # request waited answers as a request made after it would, and records no position.
    if events.filter.current(agency) is None:
        raise Forbidden("agency", "agency.no_agreement")
    if page.events or page.next > after:
        _record(page.reads, agency, "feed", page.next, len(page.events))
    return jsonify({"events": page.events, "next": page.next})


def _body_object() -> dict[str, Any] | tuple[Any, int]:
    from app.api import BadBody, json_body

    try:
        payload = json_body()
    except BadBody as bad:
        return error_response(bad.status, bad.field, bad.code)
    if not isinstance(payload, dict):
        return error_response(400, "body", "field.object")
    return payload


def _unknown(payload: dict[str, Any], known: set[str]) -> dict[str, list[str]]:
    return {str(name): ["field.unknown"] for name in payload if name not in known}


def webhook_register():
    """Register (or replace) the agency's endpoint; the secret is answered this once."""
    agency = agency_of(caller())
    payload = _body_object()
    if not isinstance(payload, dict):
        return payload
    errors = _unknown(payload, {"url"})
    url = payload.get("url")
    if url is None or url == "":
        errors["url"] = ["field.required"]
    else:
        loopback = services().settings.loopback_endpoints
        problem = url_problem(url, loopback) if isinstance(url, str) else "webhook.url_invalid"
        if problem:
            errors["url"] = [problem]
    if errors:
        return jsonify(errors_body(errors)), 422
    if agency_events().filter.current(agency) is None:
        raise Forbidden("agency", "agency.no_agreement")
    kept = services()
    made = webhook_store.register(
        kept.store, agency, url.strip(), Wrapper(kept.settings.master_key)
    )
    return jsonify(
        {
            "id": made.id,
            "agency": agency,
            "url": made.url,
            "secret": made.secret,
            "created_at": made.created_at,
            "active": True,
        }
    ), 201


def webhook_show():
    """The agency's active endpoint (without its secret) and its queue."""
    agency = agency_of(caller())
    kept = services()
    store = kept.store
    found = webhook_store.active(store, agency, Wrapper(kept.settings.master_key))
    hook = found[0] if found else None
    return jsonify(
        {
            "webhook": None
            if hook is None
            else {"id": hook.id, "url": hook.url, "created_at": hook.created_at, "active": True},
            "queue": webhook_store.queued(store, agency),
        }
    )


def webhook_delete():
    """Stop the agency's endpoint; nothing more is POSTed to it."""
    agency = agency_of(caller())
    return jsonify({"deactivated": webhook_store.deactivate(services().store, agency)})


def _agency_argument(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and _AGENCY_CODE.fullmatch(raw) else None


def webhook_dead_letters():
    """The dead-lettered webhook events, of one agency when `agency` is given."""
    caller()
    raw = request.args.get("agency", "").strip()
    agency = _agency_argument(raw) if raw else None
    if raw and agency is None:
        return jsonify(errors_body({"agency": ["agency.invalid"]})), 422
    return jsonify({"dead_letters": webhook_store.dead_letters(services().store, agency)})


def webhook_redeliver():
    """An agency's dead letters (of one stream when given) back in the queue."""
    caller()
    payload = _body_object()
    if not isinstance(payload, dict):
        return payload
    errors = _unknown(payload, {"agency", "stream_id"})
    agency = _agency_argument(payload.get("agency"))
    if agency is None:
        errors["agency"] = ["field.required" if not payload.get("agency") else "agency.invalid"]
    stream_id = payload.get("stream_id")
    if stream_id is not None and not (
        isinstance(stream_id, str) and _STREAM_ID.fullmatch(stream_id)
    ):
        errors["stream_id"] = ["stream_id.invalid"]
    if errors:
        return jsonify(errors_body(errors)), 422
    count = webhook_store.redeliver(services().store, agency or "", stream_id)
    return jsonify({"redelivered": count})


# The routes that change something: a role their policy does not name is told it may not do
# this (`auth.role`, app/api.py's guard), not that it may not read it.
WRITES = frozenset({"api.webhook_register", "api.webhook_delete", "api.webhook_redeliver"})

ROUTES = (
    ("/feed", "agency_feed", agency_feed, ["GET"]),
    ("/webhooks", "webhook_register", webhook_register, ["POST"]),
    ("/webhooks", "webhook_show", webhook_show, ["GET"]),
    ("/webhooks", "webhook_delete", webhook_delete, ["DELETE"]),
    ("/webhooks/dead-letters", "webhook_dead_letters", webhook_dead_letters, ["GET"]),
    ("/webhooks/dead-letters/redeliver", "webhook_redeliver", webhook_redeliver, ["POST"]),
)


def register(blueprint: Blueprint) -> None:
    """Add the routes to the API blueprint (before the app registers it)."""
    for rule, endpoint, view, methods in ROUTES:
        blueprint.add_url_rule(rule, endpoint, view, methods=methods)
