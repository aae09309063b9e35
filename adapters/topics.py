"""The contract's topics, created at start with their settings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from adapters.retry import transient

log = logging.getLogger("casework.topics")

EVENTS = "casework.events.v1"
DLQ = "casework.dlq.v1"
# The event chain's head, published every few minutes by the relay (consumers.anchors): one
# partition, kept for ever, so that anyone holding an earlier anchor can check the store;
# each anchor signed with the system's key (adapters.chain.signed_anchor).
ANCHORS = "casework.audit-anchors.v1"
FOREVER = {"retention.ms": "-1", "cleanup.policy": "delete"}
DAY_MS = 86_400_000


def agency_retention(days: int) -> dict[str, str]:
    """An agency topic's settings: its messages kept `days` days (CASEWORK_AGENCY_RETENTION_DAYS;
    personal data in clear where the agreement allows it, so not for ever: UU PDP erasure).
    Kafka deletes whole segments once their newest message is older than `retention.ms`; a
    segment is closed after `segment.ms` (a day at most here), so a message is gone at most
    a day (and the broker's retention check, 5 minutes by default) after its `days`."""
    retention = days * DAY_MS
    return {
        "retention.ms": str(retention),
        "cleanup.policy": "delete",
        "segment.ms": str(min(retention, DAY_MS)),
    }


def events_topic_id(admin: KafkaAdminClient) -> str | None:
    """The events topic's id (KIP-516) as the broker knows it now, None without the topic.
    Whole-cluster metadata: Tansu creates a topic that is asked for by name."""
    topic = next((t for t in admin.describe_topics() if t["name"] == EVENTS), None)
    return str(topic["topic_id"]) if topic and topic.get("topic_id") else None


def agency_topic(agency_code: str) -> str:
    return f"casework.agency.{agency_code}.v1"


def ensure_topics(
    bootstrap: str,
    partitions: int = 6,
    timeout: float = 30.0,
    client_config: Mapping[str, Any] | None = None,
) -> None:
    """Create the events, DLQ and anchors topics if they are missing; leave existing ones
    alone. `client_config`: the process's SASL settings (Settings.kafka_client_config)."""
    admin = transient(
        None, errors=KafkaError, seconds=timeout, first=0.5, what="kafka not answering yet"
    )(
        KafkaAdminClient,
        bootstrap_servers=bootstrap,
        client_id="casework-admin",
        **dict(client_config or {}),
    )
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=FOREVER)
            for name in (EVENTS, DLQ)
            if name not in existing
        ]
        if ANCHORS not in existing:
            wanted.append(
                NewTopic(ANCHORS, num_partitions=1, replication_factor=1, topic_configs=FOREVER)
            )
        if wanted:
            try:
                admin.create_topics(wanted)
                log.info("created topics %s", ", ".join(t.name for t in wanted))
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
