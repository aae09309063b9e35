"""An agency's HTTP feed and its webhook deliveries, each beside a raw baseline of the same run.

One fresh store of synthetic families and an agreement (defined and approved through the
API) that lets HouseholdRegistered and MemberAdded through with their area and the NIKs as
pseudonyms; the agencies view brought up to date as the projection runner would.

- feed: the agency reads its whole feed, `limit=100` a page, through the WSGI app (bearer
  token, read policy, filter, Ed25519 signature, read log, delivery state), against the same
  store paged through eventsourcing's recorder and decoded by its mapper alone.
- webhooks: `consumers.webhooks.Sender` queues and POSTs every event to a receiver on
  127.0.0.1 that checks each HMAC signature (tests/support/receiver.py), against the same
  bodies POSTed by plain `http.client` over one kept-alive connection to the same receiver.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

from eventsourcing.persistence import Mapper

from adapters import webhook_store, wire
from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app
from bench.pipeline import fill_store
from bench.report import Result
from bench.stores import Workspace
from consumers.webhook_signature import ReplayCache, sign
from consumers.webhooks import Sender, sender_for
from domain.application import SYSTEM, make_meta
from domain.streams import is_private_topic
from projections import agencies
from projections.base import apply_batch, reveal
from tests.support.receiver import Receiver

AGENCY = "BENCH"
AGREEMENT = {
    "agency": AGENCY,
    "purpose": "Benchmark",
    "legal_basis": "Benchmark",
    "event_types": ["HouseholdRegistered", "MemberAdded"],
    "fields": {
        "HouseholdRegistered": ["kecamatan", "kelurahan", "head.nik"],
        "MemberAdded": ["relationship", "person.nik"],
    },
    "valid_from": "2026-01-01",
}
PAGE = 100
ALLOWED = frozenset(AGREEMENT["event_types"])


def _command(client: Any, name: str, body: dict, token: str) -> dict:
    answer = client.post(
        f"/api/v1/commands/{name}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    if answer.status_code not in (201, 202):
        raise RuntimeError(f"{name} answered {answer.status_code}")
    return answer.get_json()


def _project(svc: Any, tenant: str) -> None:
    """Everything stored applied to the agencies view, as the projection runner would."""
    after = 0
    while batch := svc.casework.recorder.select_notifications(
        after, 2000, inclusive_of_start=False
    ):
        envelopes = [
            reveal(svc.casework.codec, wire.from_notification(svc.casework, n, tenant, sealed=True))
            for n in batch
            if not is_private_topic(n.topic)
        ]
        apply_batch(svc.views, agencies.PROJECTION, envelopes)
        after = batch[-1].id


def _raw_store_rate(svc: Any) -> tuple[float, int]:
    """eventsourcing alone: the store paged through its recorder, each event decoded; the
    events of the agreement's types counted (the same events the feed hands out)."""
    recorder, mapper = svc.casework.recorder, svc.casework.mapper
    started, count, after = time.perf_counter(), 0, 0
    while batch := recorder.select_notifications(after, PAGE, inclusive_of_start=False):
        for notification in batch:
            event = Mapper.to_domain_event(mapper, notification)  # the library's, no reveal
            if type(event).__qualname__.rsplit(".", 1)[-1] in ALLOWED:
                count += 1
        after = batch[-1].id
    return count / (time.perf_counter() - started), count


def _raw_post_rate(receiver: Receiver, secret: str, bodies: list[tuple[bytes, str]]) -> float:
    """http.client alone: the same bodies POSTed over one kept-alive connection."""
    parts = urlsplit(receiver.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    started = time.perf_counter()
    for body, event_id in bodies:
        headers = {**sign(secret, body, event_id), "Content-Type": "application/json"}
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"the receiver answered {response.status}")
    took = time.perf_counter() - started
    connection.close()
    return len(bodies) / took


def run(ws: Workspace, events: int = 20_000) -> list[Result]:
    settings = Settings.from_env(ws.env("feed"))
    flask_app = create_app(bootstrap(settings))
    svc = flask_app.extensions["casework"]
    meta = make_meta(SYSTEM, "cli")
    tokens = {}
    for name, role, opd in (
        ("sup1", "supervisor", None),
        ("sup2", "supervisor", None),
        ("bench-agency", "agency", AGENCY),
    ):
        svc.casework.add_user(name, role, opd, [], meta)
        tokens[name] = svc.casework.issue_token(name, meta)
    client = flask_app.test_client()
    asked = _command(client, "DefineAgencyAgreement", AGREEMENT, tokens["sup1"])
    _command(client, "ApproveChange", {"approval_id": asked["approval_id"]}, tokens["sup2"])
    fill_store(settings, events)
    _project(svc, settings.tenant)
    try:
        raw_rate, same_types = _raw_store_rate(svc)
        agency = flask_app.test_client()
        agency.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['bench-agency']}"
        started, delivered, after = time.perf_counter(), [], 0
        while True:
            page = agency.get(f"/api/v1/feed?after={after}&limit={PAGE}").get_json()
            delivered += page["events"]
            if page["next"] == after:
                break
            after = page["next"]
        feed_rate = len(delivered) / (time.perf_counter() - started)
        feed = Result(
            name="feed",
            unit=" events/s",
            casework=feed_rate,
            casework_label=f"GET /api/v1/feed (limit {PAGE})",
            raw=raw_rate,
            raw_label="eventsourcing recorder pages, decoded, same types",
            target=None,
            extra={"events_delivered": len(delivered), "events_of_those_types": same_types},
        )
        webhooks = _webhooks(settings, svc, delivered)
    finally:
        svc.close()
    return [feed, webhooks]


def _webhooks(settings: Settings, svc: Any, delivered: list[dict]) -> Result:
    with Receiver() as receiver:
        hook = webhook_store.register(svc.store, AGENCY, receiver.url)
        receiver.secret = hook.secret
        system = bootstrap(settings)
        sender: Sender = sender_for(system)
        started = time.perf_counter()
        deadline = time.monotonic() + 600
        while len(receiver.accepted) < len(delivered) and time.monotonic() < deadline:
            if not sender.step():
                time.sleep(0.01)
        took = time.perf_counter() - started
        sender.close()
        system.close()
        sent = len(receiver.accepted)
        if sent < len(delivered):
            raise RuntimeError(f"the webhook delivered {sent} of {len(delivered)} events")
        bodies = [
            (json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode(), e["event_id"])
            for e in receiver.accepted
        ]
        receiver.delivery_ids.clear()  # the same events once more, as new
        receiver.seen = ReplayCache()
        raw_rate = _raw_post_rate(receiver, hook.secret, bodies)
    return Result(
        name="webhooks",
        unit=" deliveries/s",
        casework=sent / took,
        casework_label="casework webhooks (queue, filter, sign, POST)",
        raw=raw_rate,
        raw_label="http.client POSTs of the same bodies",
        target=None,
        extra={"deliveries": sent, "receiver": "127.0.0.1, HMAC checked on each request"},
    )
