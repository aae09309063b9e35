"""The contract's topics, created at start with their settings."""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger("casework.topics")

EVENTS = "casework.events.v1"
DLQ = "casework.dlq.v1"
FOREVER = {"retention.ms": "-1", "cleanup.policy": "delete"}


def agency_topic(agency_code: str) -> str:
    return f"casework.agency.{agency_code}.v1"


def ensure_topics(bootstrap: str, partitions: int = 6, timeout: float = 30.0) -> None:
    """Create the events and DLQ topics if they are missing; leave existing ones alone."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="casework-admin")
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=FOREVER)
            for name in (EVENTS, DLQ)
            if name not in existing
        ]
        if wanted:
            try:
                admin.create_topics(wanted)
                log.info("created topics %s", ", ".join(t.name for t in wanted))
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
