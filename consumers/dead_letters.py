"""Parking a message that cannot be processed: the DLQ topic, and a count in the read models."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from kafka import KafkaProducer

from adapters.db import Database
from adapters.topics import DLQ

log = logging.getLogger("casework.dlq")


def park(producer: KafkaProducer, views: Database, record: Any, error: str, consumer: str) -> None:
    """Send the message to the DLQ with the error in its headers, and count it once."""
    error = error[:500]
    headers = [
        ("error", error.encode()),
        ("reason", error.split(":")[0].encode()),  # its kind: unverified, foreign tenant, ...
        ("consumer", consumer.encode()),
        ("original_topic", record.topic.encode()),
        ("original_partition", str(record.partition).encode()),
        ("original_offset", str(record.offset).encode()),
    ]
    producer.send(DLQ, key=record.key, value=record.value, headers=headers).get(timeout=30)
    now = dt.datetime.now(dt.UTC).isoformat()
    # Counted once even when two consumers (the runner and the policies) park the same
    # message at the same moment: a check before the insert would let both insert.
    with views.transaction() as cur:
        cur.execute(
            "INSERT INTO dead_letters (topic, partition_no, record_offset, error, recorded_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (topic, partition_no, record_offset) DO NOTHING",
            (record.topic, record.partition, record.offset, error, now),
        )
    # Only the error's kind: its detail may quote the message.
    log.error(
        "%s: message %s[%d]@%d sent to %s: %s",
        consumer,
        record.topic,
        record.partition,
        record.offset,
        DLQ,
        error.split(":")[0],
    )
