"""Reading a topic to its end, and a consumer group's progress, without trusting the broker's
end offsets.

The embedded broker (Tansu) reports wrong end offsets after multi-record batches
(`end_offsets`, `seek_to_end`: environment.md, Trap 2), so "read until the reported end" can
stop early and "poll until nothing comes" only guesses. What is right: a reported end of 0 only
for an empty partition, and the high watermark in the fetch responses. So a partition is read
to its end once the consumer's position reaches the high watermark its fetches reported.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from adapters.topics import EVENTS
from tests.conftest import wait_until


def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The topic's partitions, asked without naming it (Tansu would create it); none if the
    topic does not exist."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        topics = admin.describe_topics()
    finally:
        admin.close()
    return [
        TopicPartition(topic, p["partition_index"])
        for t in topics
        if t["name"] == topic
        for p in t["partitions"]
    ]


def read_all(
    bootstrap: str, partitions: list[TopicPartition], timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Every message these partitions hold now, in (topic, partition, offset) order."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    records: list[ConsumerRecord] = []
    try:
        if not partitions:
            return records
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        pending = {tp for tp, end in consumer.end_offsets(partitions).items() if end > 0}
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f} s reading {len(pending)} partitions to the end"
                )
            for batch in consumer.poll(timeout_ms=300, max_records=5000).values():
                records.extend(batch)
            pending = {tp for tp in pending if not read_to_the_end(consumer, tp)}
    finally:
        consumer.close()
    return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))


def read_positions(
    bootstrap: str, positions: Iterable[int], timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Every message on the events topic, once each of these store positions is there (the
    relay publishes each at least once; the `position` header says which)."""
    wanted = set(positions)

    def complete() -> list[ConsumerRecord] | None:
        records = read_all(bootstrap, partitions_of(bootstrap, EVENTS))
        seen = {int(dict(r.headers).get("position", b"0")) for r in records}
        return records if wanted <= seen else None

    return wait_until(complete, timeout, f"{len(wanted)} positions on the events topic")


def read_to_the_end(consumer: KafkaConsumer, tp: TopicPartition) -> bool:
    highwater = consumer.highwater(tp)  # None until a fetch of this partition answered
    return highwater is not None and consumer.position(tp) >= highwater


def next_offsets(records: list[ConsumerRecord]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last of these records."""
    ends: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        ends[tp] = max(ends.get(tp, 0), r.offset + 1)
    return ends


def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """The offsets the consumer group has committed, by partition."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


def read_committed(bootstrap_servers: str, topic: str) -> list:
    """Every message a read_committed reader gets from the topic now."""
    partitions = partitions_of(bootstrap_servers, topic)
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    records: list = []
    try:
        if not partitions:
            return records
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        # Until every partition's fetch was answered (the high watermark is known), then two
        # polls in a row with nothing more (an open transaction's records wait for its end).
        quiet, deadline = 0, time.monotonic() + 30
        while quiet < 2 and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300)
            answered = all(consumer.highwater(tp) is not None for tp in partitions)
            quiet = 0 if batch or not answered else quiet + 1
            for part in batch.values():
                records.extend(part)
    finally:
        consumer.close()
    return records
