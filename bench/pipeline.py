"""Benchmarks 2 and 3: the relay (store -> Kafka) and the projection runner (Kafka -> read model).

One fresh embedded broker and one store of synthetic Casework events serve both: the relay
publishes the store to `casework.events.v1`, then the runner applies that topic to a fresh
register projection. Each is set beside kafka-python alone on the same broker in the same run.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from adapters import wire
from adapters.bootstrap import bootstrap, open_casework, open_store_reader
from adapters.broker import EmbeddedBroker
from adapters.settings import Settings
from adapters.topics import EVENTS, FOREVER
from app.seed_data import generate_households
from bench.report import Result
from bench.stores import Workspace
from consumers.relay import PRODUCER_SETTINGS, EnvelopeWorker, Relay, make_producer
from consumers.runner import Runner, consumer_config
from domain.application import SYSTEM, make_meta
from domain.household import Household, KkIndex, NikIndex

RAW_TOPIC = "bench.raw.v1"
WARMUP_TOPIC = "bench.warmup.v1"


@dataclass
class Message:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def fill_store(settings: Settings, events: int, seed: int = 11) -> int:
    """At least `events` Casework events of synthetic families, saved many aggregates a call.

    The events are the ones RegisterHousehold and AddMember store; the store is filled
    directly only because the command path is benchmark 1's subject, not this one's.
    """
    app = open_casework(settings.store, settings.master_key)
    stored = 0
    pending: list = []
    try:
        for family in generate_households(events // 4, seed):
            meta = make_meta(SYSTEM, "seed")
            cmd = family["register"]
            household = Household(meta=meta, **cmd)
            pending += [
                household,
                KkIndex(kk_key=app.kk_key(cmd["kk_number"]), household_id=household.id, meta=meta),
                NikIndex(
                    nik_key=app.nik_key(cmd["head"]["nik"]), household_id=household.id, meta=meta
                ),
            ]
            for member in family["members"]:
                household.add_member(member["person"], member["relationship"], meta)
                key = app.nik_key(member["person"]["nik"])
                pending.append(NikIndex(nik_key=key, household_id=household.id, meta=meta))
            stored += 3 + 2 * len(family["members"])
            if len(pending) >= 300 or stored >= events:
                app.save(*pending)
                pending = []
            if stored >= events:
                break
        if pending:
            app.save(*pending)
    finally:
        app.close()
    return stored


def encoded_messages(settings: Settings) -> tuple[list[Message], dict[str, float]]:
    """Every stored event as the relay sends it: key, envelope and headers, encoded.

    Built twice, through the mapper (`from_notification`) and through the relay's fast path
    (`EnvelopeEncoder`), both by the relay's reader (personal fields stay tokens); the two
    must be identical. Also answers both rates, events/s.
    """
    app = open_store_reader(settings.store)
    notifications, position = [], 0
    try:
        while batch := app.recorder.select_notifications(position, 1000, inclusive_of_start=False):
            notifications.extend(batch)
            position = batch[-1].id
        started = time.perf_counter()
        messages = []
        for notification in notifications:
            env = wire.from_notification(app, notification, settings.tenant)
            messages.append(Message(env["stream_id"].encode(), wire.encode(env), wire.headers(env)))
        mapper_seconds = time.perf_counter() - started
        encoder = wire.EnvelopeEncoder(app, settings.tenant)
        started = time.perf_counter()
        fast = [encoder.message(notification) for notification in notifications]
        fast_seconds = time.perf_counter() - started
    finally:
        app.close()
    if [(m.key, m.value, m.headers) for m in messages] != fast:
        raise RuntimeError("the relay's fast envelope path differs from from_notification")
    rates = {
        "envelope_mapper_path_per_s": round(len(messages) / mapper_seconds),
        "envelope_fast_path_per_s": round(len(fast) / fast_seconds),
        "envelope_fast_path_share": round(encoder.fast_count / max(len(fast), 1), 4),
    }
    return messages, rates


def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="casework-bench")
    try:
        admin.create_topics(
            [
                NewTopic(n, num_partitions=partitions, replication_factor=1, topic_configs=FOREVER)
                for n in names
            ]
        )
    finally:
        admin.close()


def raw_produce(
    producer: KafkaProducer, topic: str, messages: list[Message], flush_every: int = 0
) -> float:
    """Seconds to send `messages` and have all of them acknowledged."""
    started = time.perf_counter()
    for i, m in enumerate(messages, start=1):
        producer.send(topic, key=m.key, value=m.value, headers=m.headers)
        if flush_every and i % flush_every == 0:
            producer.flush()
    producer.flush()
    return time.perf_counter() - started


class RawReader:
    """kafka-python alone: every partition assigned, read from the beginning, no group."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        config = {"bootstrap_servers": bootstrap, **consumer_config("bench")}
        for group_only in (
            "group_id",
            "max_poll_interval_ms",
            "session_timeout_ms",
            "heartbeat_interval_ms",
        ):
            config.pop(group_only)
        self.consumer = KafkaConsumer(**config | {"client_id": "casework-bench-raw"})
        self.assigned = [TopicPartition(topic, p) for p in range(partitions)]
        self.consumer.assign(self.assigned)

    def read_all(self, expected: int, timeout: float = 60) -> tuple[int, float]:
        """(records, seconds) to read the topic from its beginning until `expected` records."""
        self.consumer.seek_to_beginning(*self.assigned)
        started = time.perf_counter()
        deadline, read = time.monotonic() + timeout, 0
        while read < expected and time.monotonic() < deadline:
            read += sum(len(records) for records in self.consumer.poll(timeout_ms=200).values())
        return read, time.perf_counter() - started

    def close(self) -> None:
        self.consumer.close()


def best(rates: list[float]) -> float:
    return max(rates) if rates else 0.0


def bench_relay_and_runner(
    ws: Workspace,
    events: int = 20_000,
    warmup: int = 2_000,
    relay_rounds: int = 10,
    runner_rounds: int = 5,
    partitions: int = 6,
) -> tuple[Result, Result]:
    with EmbeddedBroker(log_path=ws.dir / "broker-pipeline.log") as broker:
        env = ws.env("pipeline", kafka=broker.bootstrap, partitions=partitions)
        settings = Settings.from_env(env)
        stored = fill_store(settings, warmup + events)
        messages, encode_rates = encoded_messages(settings)
        if len(messages) != stored:
            raise RuntimeError(f"{len(messages)} events read back from the store, {stored} saved")
        relay = bench_relay(settings, messages, warmup, relay_rounds, partitions)
        relay.extra.update(encode_rates)
        runner = bench_runner(settings, stored, runner_rounds, partitions)
    return relay, runner


def bench_relay(
    settings: Settings, messages: list[Message], warmup: int, rounds: int, partitions: int
) -> Result:
    """The relay and a raw producer in turn, each round sending the next slice of the store."""
    servers = settings.kafka
    create_topics(servers, [RAW_TOPIC, WARMUP_TOPIC], partitions)
    producer = make_producer(servers, "casework-bench-raw")  # the relay's own producer settings
    relay = Relay(bootstrap(settings))
    raw_rates, batched_rates, relay_rates = [], [], []
    try:
        relay.open()
        if not relay.acquire_lease():
            raise RuntimeError("the benchmark relay could not take the lease")
        relay.connect()
        raw_produce(producer, WARMUP_TOPIC, messages[:warmup])
        relay.publish(warmup)
        # Rounds of whole relay batches, so both sides send exactly the same slice.
        batches = (len(messages) - relay.published) // relay.batch_size
        size = max(1, batches // rounds) * relay.batch_size
        while relay.published + size <= len(messages):
            chunk = messages[relay.published : relay.published + size]
            raw_rates.append(len(chunk) / raw_produce(producer, RAW_TOPIC, chunk))
            batched = raw_produce(producer, WARMUP_TOPIC, chunk, relay.batch_size)
            batched_rates.append(len(chunk) / batched)
            before, started = relay.published, time.perf_counter()
            relay.publish(size)  # sent, acknowledged and recorded
            relay_rates.append((relay.published - before) / (time.perf_counter() - started))
        relay.publish_pending()
    finally:
        relay.close()
        producer.close()
    return Result(
        name="relay",
        unit=" events/s",
        casework=best(relay_rates),
        casework_label="casework relay",
        raw=best(raw_rates),
        raw_label="raw KafkaProducer",
        target=0.7,
        extra={
            "events_measured": size * len(relay_rates),
            "warmup_events": warmup,
            "rounds": len(relay_rates),
            "statistic": "best of interleaved rounds",
            "median_relay_per_s": round(statistics.median(relay_rates)),
            "median_raw_per_s": round(statistics.median(raw_rates)),
            "rounds_relay_per_s": [round(r) for r in relay_rates],
            "rounds_raw_per_s": [round(r) for r in raw_rates],
            "rounds_raw_flush_every_batch_per_s": [round(r) for r in batched_rates],
            "raw_flush_every_batch_per_s": round(best(batched_rates)),
            "bytes_per_message": round(sum(len(m.value) for m in messages) / len(messages)),
            "relay_batch_size": relay.batch_size,
            "relay_chunk_size": relay.chunk_size,
            "relay_envelope_worker": isinstance(relay.source, EnvelopeWorker),
            "producer_settings": dict(PRODUCER_SETTINGS),
            "partitions": partitions,
        },
    )


def bench_runner(settings: Settings, stored: int, rounds: int, partitions: int) -> Result:
    """The runner and a raw consumer in turn: each round the raw consumer reads the whole
    topic again, the runner applies its next slice."""
    raw = RawReader(settings.kafka, EVENTS, partitions)
    runner = Runner(bootstrap(settings))
    raw_rates, runner_rates = [], []
    try:
        raw.read_all(stored)  # warm-up
        runner.connect()
        deadline = time.monotonic() + 180
        # Timing starts after the runner's first batch: that poll holds the group join.
        while not runner.poll_once() and time.monotonic() < deadline:
            pass
        first = runner.applied
        size = (stored - first) // rounds
        for k in range(1, rounds + 1):
            read, seconds = raw.read_all(stored)
            raw_rates.append(read / seconds)
            target = stored if k == rounds else first + k * size
            before, started = runner.applied, time.perf_counter()
            while runner.applied < target and time.monotonic() < deadline:
                runner.poll_once()
            runner_rates.append((runner.applied - before) / (time.perf_counter() - started))
    finally:
        runner.close()
        raw.close()
    if runner.applied < stored:
        raise RuntimeError(
            f"the runner applied {runner.applied} of {stored} events within the time limit"
        )
    return Result(
        name="projection runner",
        unit=" events/s",
        casework=best(runner_rates),
        casework_label="casework runner",
        raw=best(raw_rates),
        raw_label="raw KafkaConsumer",
        target=0.3,
        extra={
            "events_measured": stored - first,
            "rounds": rounds,
            "statistic": "best of interleaved rounds; the runner's after its first batch"
            " (which holds the group join)",
            "median_runner_per_s": round(statistics.median(runner_rates)),
            "median_raw_per_s": round(statistics.median(raw_rates)),
            "rounds_runner_per_s": [round(r) for r in runner_rates],
            "rounds_raw_per_s": [round(r) for r in raw_rates],
            "views": settings.views.kind,
            "projections": [p.name for p in runner.projections],
        },
    )
