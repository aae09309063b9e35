"""Test data through the ordinary command path, and a plain publisher of stored events."""

from __future__ import annotations

import uuid
from typing import Any

from kafka import KafkaProducer

from adapters import wire
from adapters.bootstrap import open_casework
from adapters.codec import parse_master_key
from adapters.settings import DatabaseUrl
from adapters.signing import Signer
from adapters.topics import EVENTS, ensure_topics
from app.seed_data import generate_households
from domain.application import SYSTEM, Casework, make_meta
from domain.streams import is_private_topic


def register_families(app: Casework, count: int, seed: int = 1) -> list[str]:
    """Register `count` synthetic families with their members; returns the household ids."""
    ids = []
    for family in generate_households(count, seed):
        result = app.register_household(family["register"], make_meta(SYSTEM, "api"))
        for member in family["members"]:
            app.add_member({"household_id": result.stream_id, **member}, make_meta(SYSTEM, "api"))
        ids.append(result.stream_id)
    return ids


def store_positions(app: Casework) -> list[int]:
    """The positions of every event in the store the relay publishes, in order (accounts and
    tokens are never published: `domain.streams.is_private_topic`)."""
    positions: list[int] = []
    after = 0
    while batch := app.recorder.select_notifications(after, 1000, inclusive_of_start=False):
        positions.extend(n.id for n in batch if not is_private_topic(n.topic))
        after = batch[-1].id
    return positions


TEST_SIGNING_KEY = "a7" * 32  # every integration test's message signing key (Ed25519 seed)
# What signs like the tests' relay: messages a test publishes itself must verify.
SIGNER = Signer(bytes.fromhex(TEST_SIGNING_KEY))


def signed(key: bytes, value: bytes, headers=(), topic: str = EVENTS) -> dict:
    """`KafkaProducer.send` arguments for a message signed as the tests' relay signs."""
    return {"key": key, "value": value, "headers": SIGNER.headers(topic, key, value, headers)}


def publish_store(app: Casework, bootstrap: str, tenant: str = "1571", after: int = 0) -> int:
    """Publish stored events after `after` straight to the topic as the relay does (no relay;
    accounts and tokens passed over); returns the last position read.

    Pass the store as the relay reads it (`adapters.db.open_store_reader`): a revealing
    (`open_casework`) application would publish personal data in clear."""
    ensure_topics(bootstrap)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    position = after
    try:
        while batch := app.recorder.select_notifications(position, 1000, inclusive_of_start=False):
            for notification in batch:
                if is_private_topic(notification.topic):
                    continue  # as the relay: accounts and tokens are never published
                env = wire.from_notification(app, notification, tenant)
                producer.send(
                    EVENTS, **signed(env["stream_id"].encode(), wire.encode(env), wire.headers(env))
                )
            position = batch[-1].id
        producer.flush()
    finally:
        producer.close()
    return position


def _plain(value: Any) -> Any:
    """Event data without what differs between two runs: ids and moments."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("occurred_at", "timestamp")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, uuid.UUID):
        return "<id>"
    if isinstance(value, str):
        try:
            uuid.UUID(value)
        except ValueError:
            return value
        return "<id>"
    return value


def store_events(url: str, master_key: str) -> list[tuple[str, Any]]:
    """Every event of the store at `url` (opened with `master_key`), in
    order, as (topic, data) without what differs between two runs (`_plain`)."""
    app = open_casework(DatabaseUrl.parse(url, "CASEWORK_STORE"), parse_master_key(master_key))
    try:
        events, after = [], 0
        while batch := app.recorder.select_notifications(after, 500, inclusive_of_start=False):
            for notification in batch:
                event = app.mapper.to_domain_event(notification)
                data = {
                    k: v
                    for k, v in vars(event).items()
                    if k not in ("originator_id", "timestamp", "originator_topic")
                }
                events.append((notification.topic, _plain(data)))
            after = batch[-1].id
        return events
    finally:
        app.close()
