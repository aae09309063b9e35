"""The agency producer: each agency's share of the events, on its own topic, exactly once.

`casework agencies` reads `casework.events.v1` and writes, for every agency with an agreement,
what the agreement lets it see to `casework.agency.<CODE>.v1` (`consumers.agency_filter`:
the event types, the fields, the area, personal fields opened or as pseudonyms; nothing of a
restricted or erased person; nothing before the agreement starts or after it ends or is
revoked). Each message keeps the event's key (the stream id) and carries the headers `type`
and `position`, and is signed again with the system's key for its own topic
(`adapters.signing`: the agency checks it with `GET /api/v1/keys`).

Consume-transform-produce in Kafka transactions: the messages of a batch for every agency
and the events topic's offsets after that batch (`send_offsets_to_transaction`) commit
together or not at all, so an agency reading `read_committed` sees each event once, also
when this process dies mid-batch (the next one's `init_transactions` aborts the open
transaction and resumes after the committed offsets).

Two more guards make it once per agency on top of that:
- the relay publishes at least once (after a crash it resends up to a batch): a message
  whose position is not above the last one seen on its partition is a resend, skipped;
- the embedded broker (Tansu 0.6) does not tell `read_committed` readers which
  transactions were aborted, so records of a transaction cut short by a crash stay
  visible there. After connecting, the producer reads the end of every agency topic and
  never writes a position again that a partition already shows. Each agency topic has as
  many partitions as the events topic and a message goes to the partition its event came
  from, so the positions of an agency partition only grow.

A message that does not verify (or is of another tenant, or is not an envelope) goes to the
DLQ, never to an agency; each relay chunk's signature is checked once (`RootVerifier`). Only
the messages something here reads are opened (verified and decoded): those of a type some
agreement takes (by their signed `type` header), erasures, those without a readable type,
and the last of each partition in a batch. The others are counted as read and never opened
nor forwarded (the projection runner, which opens every message, parks a forged one).
Before delivering a batch the producer waits until the agencies view has applied it: the
view's position (`AgencyFilter.caught_up_to`) has reached the batch, and the projection
runner has committed, in every partition of the events topic, the offsets this producer had
read (the view applies each partition on its own, so its highest position alone does not
say that an agreement's change in another partition is in). The agreements, areas,
restrictions and erasures in force then decide. Before committing a batch it writes one
read-log row per agency that received something, all in one transaction of the store
(`record_batch_reads`, channel "kafka"); after the commit, each agency's delivery state
(`record_delivery`, channel "topic").

Several processes share the work (`casework agencies --workers N`, one per core by default):
worker I of N owns the events topic's partitions P with P % N == I, and only it reads,
filters and writes their events and commits their offsets (one consumer group for all: each
transaction commits only its own partitions' offsets). Each worker has its own transactional
id (`casework-agencies` for worker 0, `casework-agencies-I` for the others), so a restarted
worker fences only its own predecessor. A worker also reads the other partitions, from their
end on, only to know where each ends: the wait for the projection runner covers every
partition, whoever owns it. The workers are the parent's children: when the parent stops,
they stop after their batch; when it dies, they exit at once (`adapters.processes.spawned_worker`).

The agency topics are kept `CASEWORK_AGENCY_RETENTION_DAYS` days, not for ever: they carry
personal fields in clear where an agreement opens them, and after a person's erasure (UU PDP)
their messages must leave the topics. The producer sets that retention when it makes a topic
and on every agency topic that already exists when it first meets it (`ensure_agency_topics`);
the events topic is kept for ever.

One producer runs per worker index at a time (a second one with the same transactional id
fences the first: harmless, but it takes turns). Logs carry positions, counts and agency
codes, never data.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from adapters import wire
from adapters.bootstrap import System, bootstrap
from adapters.codec import Codec
from adapters.db import Database
from adapters.keystore import KeyStore
from adapters.processes import spawned_worker
from adapters.retry import reconnecting
from adapters.settings import Settings
from adapters.signing import (
    KEY_ID_HEADER,
    OWN_HEADERS,
    PROOF_HEADER,
    SIGNATURE_HEADER,
    Signer,
    Verifier,
    leaf_hash,
    root_of,
    signed_bytes,
)
from adapters.topics import EVENTS, agency_retention, agency_topic, ensure_topics
from consumers import agency_delivery
from consumers import agency_filter as filters
from consumers.dead_letters import park
from consumers.relay import TRANSIENT_ERRORS, abandon
from consumers.runner import GroupMember, forget_keys, topic_id, verifier
from consumers.runner import consumer_config as runner_config
from projections.base import ERASURE_EVENT, ensure_schema

log = logging.getLogger("casework.agencies")

GROUP = "casework-agencies"
TRANSACTIONAL_ID = "casework-agencies"
CHANNEL = "topic"  # agency_delivery's channel
READ_CHANNEL = "kafka"  # the read log's channel
MAX_RECORDS = 1000  # events read per batch (one transaction)
WAIT_SECONDS = 0.05  # between looks at the agencies view while it is behind
WAIT_LOG_SECONDS = 5.0
REQUEST_TIMEOUT_MS = 10_000

PRODUCER_SETTINGS: dict[str, Any] = {
    "transactional_id": TRANSACTIONAL_ID,
    "enable_idempotence": True,
    "acks": "all",
    # Committing a transaction flushes what waits (kafka-python's sender begins a flush when
    # a transaction completes), so a long linger delays nothing: the batch goes out when it
    # fills or at the commit, with fewer wake-ups of the I/O thread than after 5 ms.
    "linger_ms": 200,
    "batch_size": 256 * 1024,
    "allow_auto_create_topics": False,
    "request_timeout_ms": REQUEST_TIMEOUT_MS,
    "max_block_ms": 15_000,
    "transaction_timeout_ms": 60_000,
    "reconnect_backoff_max_ms": 2_000,
}


def transactional_id(worker: int) -> str:
    """Worker 0 keeps the single producer's id (what an earlier single producer left open is
    aborted by it); the others are numbered."""
    return TRANSACTIONAL_ID if worker == 0 else f"{TRANSACTIONAL_ID}-{worker}"


def owns(partition: int, worker: int, workers: int) -> bool:
    return partition % workers == worker


def consumer_settings(events_topic_id: str) -> dict[str, Any]:
    """The events topic's reader: partitions assigned, not subscribed (no group join to wait
    for: environment.md, Trap 1); the group only keeps the offsets the transactions commit,
    named after the topic's id (a recreated topic starts from its beginning)."""
    return {
        "group_id": f"{GROUP}.{events_topic_id}",
        "client_id": "casework-agencies",
        "enable_auto_commit": False,
        "isolation_level": "read_committed",
        "auto_offset_reset": "earliest",
        "max_poll_records": MAX_RECORDS,
        "fetch_max_wait_ms": 100,
        "allow_auto_create_topics": False,
        "request_timeout_ms": REQUEST_TIMEOUT_MS + 5_000,
    }


class Filter(Protocol):
    """What the producer needs of `consumers.agency_filter.AgencyFilter`."""

    def agencies(self) -> list[str]: ...

    def caught_up_to(self) -> int: ...

    def versions(self, agency: str) -> list[Any]:
        """Every version of the agency's terms (each with its `event_types`)."""

    def deliver_all(
        self, agencies: list[str], envelope: dict[str, Any], today: dt.date | None = None
    ) -> Mapping[str, Any]:
        """Agency -> its Delivery (`envelope`: what the agency receives; `read`: for the
        log), for those of these agencies that receive something."""

    def prefetch(self, envelopes: Iterable[dict[str, Any]]) -> None:
        """Fetch at once what these envelopes' deliveries will look up (keys, areas,
        restrictions)."""


# (store, channel, [(agency, endpoint, reads), ...]) -> read-log rows written
RecordReads = Callable[[Database, str, list[tuple[str, str, list[Any]]]], int]
RecordDelivery = Callable[..., None]


@dataclass
class Outgoing:
    """One agency's messages of a batch."""

    topic: str
    # (partition, position, key, value, headers)
    messages: list[tuple[int, int, bytes, bytes, list[tuple[str, bytes]]]] = field(
        default_factory=list
    )
    reads: list[Any] = field(default_factory=list)


def partitions_of(admin: KafkaAdminClient, topics: Iterable[str]) -> dict[str, int]:
    """The partition count of each of these topics that exists (whole-cluster metadata: the
    embedded broker creates a topic that is asked for by name)."""
    wanted = set(topics)
    return {t["name"]: len(t["partitions"]) for t in admin.describe_topics() if t["name"] in wanted}


def ensure_agency_topics(
    admin: KafkaAdminClient, codes: Iterable[str], partitions: int, retention_days: int
) -> None:
    """Create the agencies' topics that are missing, as many partitions as the events topic
    (a message goes to the partition its event came from), and give every one of them, new
    or already there, the retention of `agency_retention(retention_days)`: one made earlier
    (kept for ever before, made by kafka-init or by a broker that creates a topic asked for
    by name) is changed in place."""
    names = {agency_topic(code) for code in codes}
    existing = set(admin.list_topics())
    missing = sorted(names - existing)
    wanted = agency_retention(retention_days)
    if missing:
        try:
            admin.create_topics([NewTopic(n, partitions, 1, topic_configs=wanted) for n in missing])
            log.info("created topics %s", ", ".join(missing))
        except TopicAlreadyExistsError:
            pass
    keep_for(admin, sorted(names & existing), wanted)


def keep_for(admin: KafkaAdminClient, topics: list[str], wanted: Mapping[str, str]) -> None:
    """Set `wanted` on those of `topics` whose settings differ (DescribeConfigs, then
    IncrementalAlterConfigs where the broker has it). Every setting is asked for: the
    embedded broker drops the connection when asked for some by name, and reports the
    settings given to a topic as defaults (so `config_filter="all"`)."""
    if not topics:
        return
    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics], config_filter="all"
    ).get("topic", {})
    changes = []
    for topic in topics:
        now = {k: v.get("value") for k, v in described.get(topic, {}).items()}
        differ = {k: v for k, v in wanted.items() if now.get(k) != v}
        if differ:
            changes.append(ConfigResource(ConfigResourceType.TOPIC, topic, configs=differ))
    if not changes:
        return
    # raise_on_unknown=False: that check asks for the "dynamic" settings, and the embedded
    # broker lists only those a topic was given (none for a topic made by its name).
    results = admin.alter_configs(changes, raise_on_unknown=False).get("topic", {})
    for change in changes:
        result = results.get(change.name, "no answer")
        if result != "OK":
            raise KafkaError(f"topic {change.name}: retention not set: {result}")
        log.info(
            "topic %s: %s",
            change.name,
            ", ".join(f"{k}={v}" for k, v in sorted(change.configs.items())),
        )


def last_positions(
    consumer: KafkaConsumer, partitions: list[TopicPartition], timeout: float = 30.0
) -> dict[TopicPartition, int]:
    """The highest `position` header each partition shows to a read_committed reader (0 when
    it shows none). Positions only grow within a partition, so the last record has it.

    The end offsets are not trusted (environment.md, Trap 2: after a multi-record batch the
    embedded broker reports its base offset plus one), and transaction markers take offsets
    too: the search starts a little before the reported end and reaches further back until
    it finds a record, reading each time up to the high watermark the fetches report."""
    found: dict[TopicPartition, int] = {tp: 0 for tp in partitions}
    if not partitions:
        return found
    ends = consumer.end_offsets(partitions)
    consumer.assign(partitions)
    back = 8
    pending = {tp for tp in partitions if ends.get(tp, 0) > 0}
    deadline = time.monotonic() + timeout
    while pending:
        for tp in pending:
            consumer.seek(tp, max(ends[tp] - back, 0))
        seen: dict[TopicPartition, int] = {}
        reading = set(pending)
        while reading:
            if time.monotonic() > deadline:
                raise KafkaError("timed out reading the ends of the agency topics")
            for tp, records in consumer.poll(timeout_ms=200, max_records=10_000).items():
                for record in records:
                    position = dict(record.headers or ()).get("position")
                    if position is not None:
                        seen[tp] = max(seen.get(tp, 0), int(position))
            reading = {
                tp
                for tp in reading
                if (high := consumer.highwater(tp)) is None or consumer.position(tp) < high
            }
        for tp in list(pending):
            if tp in seen or ends[tp] - back <= 0:
                found[tp] = seen.get(tp, 0)
                pending.discard(tp)
        back *= 8
    return found


def header_type(record: Any) -> str | None:
    """The record's `type` header (`wire.headers`), None without a readable one. Signed with
    the rest: a forger who changes it only keeps the record from being opened here."""
    for name, value in record.headers or ():
        if name == "type":
            try:
                return value.decode()
            except (AttributeError, UnicodeDecodeError):
                return None
    return None


class RootVerifier:
    """`Verifier.verify`, checking each signed Merkle root once: the relay signs a chunk of
    messages with one signature over their root, and each message carries its path to it.
    A message whose own bytes and path lead to a (signature, key, root) already verified is
    as verified as by the full check; anything else gets the full check."""

    def __init__(self, verifier: Verifier, remember: int = 256) -> None:
        self.verifier = verifier
        self.remember = remember
        self._verified: OrderedDict[tuple[bytes, bytes, bytes], None] = OrderedDict()

    def verify(self, topic: str, key: bytes | None, value: bytes | None, headers: Any) -> None:
        given = list(headers or ())
        own = {name: data for name, data in given if name in OWN_HEADERS}
        signature, kid = own.get(SIGNATURE_HEADER), own.get(KEY_ID_HEADER)
        seen = None
        if signature and kid:
            try:
                path = base64.b64decode(own.get(PROOF_HEADER) or b"", validate=True)
                root = root_of(leaf_hash(signed_bytes(topic, key, value, given)), path)
                seen = (signature, kid, root)
            except ValueError:
                seen = None
            if seen is not None and seen in self._verified:
                return
        self.verifier.verify(topic, key, value, given)  # BadSignature unless it verifies
        if seen is not None:
            self._verified[seen] = None
            if len(self._verified) > self.remember:
                self._verified.popitem(last=False)


class AgencyProducer(GroupMember):
    """Reads the events topic and writes each agency's topic in Kafka transactions."""

    def __init__(
        self,
        system: System,
        agency_filter: Filter | None = None,
        *,
        record_reads: RecordReads | None = None,
        record_delivery: RecordDelivery | None = None,
        max_records: int = MAX_RECORDS,
        follow_runner: bool = True,
        today: Callable[[], dt.date | None] | None = None,
        worker: int = 0,
        workers: int = 1,
    ) -> None:
        if not 0 <= worker < workers:
            raise ValueError(f"worker {worker} of {workers}: 0 <= worker < workers")
        self.worker, self.workers = worker, workers
        self.system = system
        self.settings = system.settings
        self.views = system.views
        self.store = system.store
        # A codec that keeps what it opened: each token is looked at for every agency (it
        # still drops everything when a key is destroyed: forget_keys, the key store's epoch).
        self.codec = Codec(
            KeyStore(self.store, self.settings.master_key, self.settings.key_cache),
            key_cache=self.settings.key_cache,
        )
        ensure_schema(self.views, [])  # the DLQ's count (the agencies view is the runner's)
        self.filter: Filter = agency_filter or filters.AgencyFilter(
            self.views,
            self.codec,
            filters.pseudonym_secret(self.settings),
            read_key=self.settings.secret_key,
        )
        self.record_reads = record_reads or filters.record_batch_reads
        self.record_delivery = record_delivery or agency_delivery.record_delivery
        self.signer = Signer(self.settings.signing_key)
        self.verify = RootVerifier(verifier(system))  # type: ignore[assignment]
        self.max_records = max_records
        self.follow_runner = follow_runner
        self.today = today or (lambda: None)  # None: the filter's today (the city's date)
        self.consumer: KafkaConsumer | None = None
        self.producer: KafkaProducer | None = None
        self.dlq: KafkaProducer | None = None
        self.admin: KafkaAdminClient | None = None
        self.topic_id = ""
        self.group = GROUP
        self.next_topic_check = 0.0
        self.partitions: list[TopicPartition] = []  # every partition of the events topic
        self.owned: list[TopicPartition] = []  # those whose events this worker delivers
        self.seen: dict[int, int] = {}  # source partition -> highest position read
        self.delivered: dict[tuple[str, int], int] = {}  # (agency, partition) -> last position
        self.topic_partitions: dict[str, int] = {}  # agency topic -> its partition count
        self._agencies: list[str] = []
        self.forwarded = 0  # messages written to agency topics (committed)
        self.read = 0  # events read (committed)

    # --- connecting --------------------------------------------------------------------

    def connect(self) -> None:
        """Topics, the transactional producer (fencing any earlier one), the events reader at
        the committed offsets, and what every agency partition already shows."""
        ensure_topics(
            self.system.kafka, self.settings.partitions, client_config=self.system.kafka_config
        )
        self.admin = self.system.admin(client_id="casework-agencies-admin")
        self.topic_id = topic_id(self.system)
        self.group = consumer_settings(self.topic_id)["group_id"]
        self.next_topic_check = time.monotonic() + 2
        count = partitions_of(self.admin, [EVENTS]).get(EVENTS, self.settings.partitions)
        self.partitions = [TopicPartition(EVENTS, p) for p in range(count)]
        self.owned = [tp for tp in self.partitions if owns(tp.partition, self.worker, self.workers)]
        self.producer = self.system.producer(
            client_id=f"casework-agencies-{self.worker}",
            **{**PRODUCER_SETTINGS, "transactional_id": transactional_id(self.worker)},
        )
        self.producer.init_transactions()  # aborts what a crashed predecessor left open
        self.consumer = self.system.consumer(**consumer_settings(self.topic_id))
        self.consumer.assign(self.partitions)
        self._learn_ends()
        self._rewind()
        self.topic_partitions.clear()
        self.delivered.clear()
        self._refresh_agencies()
        log.info(
            "connected to Kafka at %s: worker %d of %d, partitions %s of %s, %d agencies",
            self.system.kafka,
            self.worker + 1,
            self.workers,
            ",".join(str(tp.partition) for tp in self.owned) or "none",
            EVENTS,
            len(self._agencies),
        )

    def _learn_ends(self, timeout: float = 10.0) -> None:
        """Read every partition from about its end until each fetch has said where it ends
        (`highwater`), before the first batch: the wait for the runner needs every
        partition's end, and the partitions this worker does not own are read only for that.
        `seek_to_end` can land short of the end (environment.md, Trap 2), so what is read
        here is discarded; the owned partitions are sent back to their committed offsets."""
        consumer = self.consumer
        assert consumer is not None
        consumer.seek_to_end(*self.partitions)
        deadline = time.monotonic() + timeout
        while any(consumer.highwater(tp) is None for tp in self.partitions):
            if time.monotonic() > deadline:
                log.warning("the ends of some partitions of %s are not known yet", EVENTS)
                return
            consumer.poll(timeout_ms=200, max_records=10_000)

    def _rewind(self) -> None:
        """Back to the committed offsets (after connecting, and after an aborted batch); the
        relay's resends are recognised again from the positions read."""
        consumer = self.consumer
        assert consumer is not None
        for tp in self.owned:
            committed = consumer.committed(tp)
            if committed is None:
                consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
        self.seen.clear()

    def _refresh_agencies(self) -> list[str]:
        """The agencies with an agreement as the filter knows them now; their topics made,
        and what each topic's partitions already show read, when an agency is new to this
        process. Asked for every batch after the wait for the view (`_deliveries`): a list
        kept from before it would miss an agreement the view applied during the wait, and
        that agency's events of the batch would be committed undelivered."""
        agencies = sorted(self.filter.agencies())
        new = [code for code in agencies if agency_topic(code) not in self.topic_partitions]
        if new:
            assert self.admin is not None
            ensure_agency_topics(
                self.admin, new, len(self.partitions), self.settings.agency_retention_days
            )
            counts = partitions_of(self.admin, [agency_topic(c) for c in new])
            for code in new:
                topic = agency_topic(code)
                count = counts.get(topic, len(self.partitions))
                if count != len(self.partitions):
                    log.warning(
                        "topic %s has %d partitions, %s has %d: messages of several event"
                        " partitions share one",
                        topic,
                        count,
                        EVENTS,
                        len(self.partitions),
                    )
                self.topic_partitions[topic] = count
            self._read_agency_ends(new)
        if agencies != self._agencies:
            log.info("agencies with an agreement: %s", ", ".join(agencies) or "none")
        self._agencies = agencies
        return agencies

    def _read_agency_ends(self, codes: list[str]) -> None:
        reader = self.system.consumer(
            client_id="casework-agencies-ends",
            enable_auto_commit=False,
            isolation_level="read_committed",
            allow_auto_create_topics=False,
        )
        try:
            partitions = [
                TopicPartition(agency_topic(code), p)
                for code in codes
                for p in range(self.topic_partitions[agency_topic(code)])
            ]
            for tp, position in last_positions(reader, partitions).items():
                code = tp.topic[len("casework.agency.") : -len(".v1")]
                self.delivered[(code, tp.partition)] = position
        finally:
            reader.close(autocommit=False)

    def dlq_producer(self) -> KafkaProducer:
        if self.dlq is None:
            self.dlq = self.system.producer(acks="all", linger_ms=0)
        return self.dlq

    def dead_letter(self, record: Any, error: str) -> None:
        park(self.dlq_producer(), self.views, record, error, GROUP)

    def disconnect(self) -> None:
        if self.producer is not None:
            abandon(self.producer)
            self.producer = None
        super().disconnect()

    def close(self) -> None:
        self.disconnect()
        self.views.close()
        self.store.close()

    # --- the loop ----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        log.info("agency producer starting: %s -> casework.agency.<CODE>.v1", EVENTS)
        retrying = reconnecting(
            stop,
            errors=TRANSIENT_ERRORS,
            what=lambda: f"agency producer trouble after {self.read} events",
            after=lambda _: self.disconnect(),
            logger=log,
        )
        while not stop.is_set():
            retrying(self.step, stop)
        self.close()
        log.info(
            "agency producer stopped: %d events read, %d messages written",
            self.read,
            self.forwarded,
        )

    def step(self, stop: threading.Event) -> int:
        """Connect when not connected, then one batch; the number of events read."""
        if stop.is_set():
            return 0
        if self.consumer is None:
            self.connect()
        return self.poll_once(stop)

    def poll_once(self, stop: threading.Event | None = None) -> int:
        consumer = self.consumer
        if consumer is None:
            raise RuntimeError("poll_once() before connect()")
        self.check_topic()
        batches = consumer.poll(timeout_ms=200, max_records=self.max_records)
        if not batches:
            return 0
        try:
            return self._process(batches, stop or threading.Event())
        except BaseException:
            self._rewind()  # nothing of this batch is committed: read it again
            raise

    def _process(self, batches: Mapping[TopicPartition, list], stop: threading.Event) -> int:
        batches = {tp: records for tp, records in batches.items() if tp in self.owned}
        if not batches:
            return 0  # only the ends of other workers' partitions moved
        opened = self._admit_wanted(batches, stop)
        if opened is None:
            self._rewind()  # stopping: nothing of this batch was written
            return 0
        admitted: list[tuple[Any, dict[str, Any]]] = []
        unopened = 0
        for tp in sorted(batches, key=lambda t: t.partition):
            seen = self.seen.get(tp.partition, 0)
            for record in batches[tp]:
                at = (tp.partition, record.offset)
                if at not in opened:
                    unopened += 1  # of a type no agency takes: read, not opened
                    continue
                envelope = opened[at]
                if envelope is None:
                    continue  # parked
                if envelope["position"] <= seen:
                    continue  # the relay's resend of what this partition already gave
                seen = envelope["position"]
                admitted.append((record, envelope))
            self.seen[tp.partition] = seen
        offsets = {
            tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)
            for tp, records in batches.items()
            if records
        }
        outgoing = self._deliveries(admitted)
        # The read log first: a crash between it and the commit logs a delivery that is then
        # made again (the batch is read again), never one that is not logged.
        self.record_reads(
            self.store,
            READ_CHANNEL,
            [(agency, out.topic, out.reads) for agency, out in outgoing.items()],
        )
        self._commit(outgoing, offsets)
        last = max((env["position"] for _, env in admitted), default=0)
        self._after_commit(outgoing, last)
        self.read += len(admitted) + unopened
        return len(admitted) + unopened

    def _admit_wanted(
        self, batches: Mapping[TopicPartition, list], stop: threading.Event
    ) -> dict[tuple[int, int], dict[str, Any] | None] | None:
        """The envelopes of the batch's records that something here reads, by (partition,
        offset), None for a record parked in the DLQ; after the agencies view has applied
        them (None: stopping first). Read: a record of a type some agreement takes (its
        signed `type` header says which), an erasure, a record without a readable type, and
        the last record of each partition (the batch's position). The others are never
        opened: most events are of types no agency takes, and opening means verifying and
        decoding. An agreement the view applies during the wait may take more types: their
        records are opened then, and waited for again."""
        opened: dict[tuple[int, int], dict[str, Any] | None] = {}
        waited = 0
        while True:
            wanted = self._wanted_types()
            for tp, records in batches.items():
                last = records[-1].offset if records else None
                for record in records:
                    at = (tp.partition, record.offset)
                    if at in opened:
                        continue
                    kind = header_type(record)
                    if kind is None or kind in wanted or record.offset == last:
                        opened[at] = self.admit(record)  # a forgery is parked, never forwarded
            top = max((env["position"] for env in opened.values() if env), default=0)
            if top <= waited:
                return opened
            if not self._wait_for_views(top, self._applied_targets(), stop):
                return None
            waited = top

    def _wanted_types(self) -> frozenset[str]:
        """The event types some agreement of an agency takes (any version), and erasures."""
        return frozenset({ERASURE_EVENT}).union(*self._takes(self._refresh_agencies()).values())

    def _takes(self, agencies: list[str]) -> dict[str, frozenset[str]]:
        """Per agency, the event types some version of its agreement takes."""
        return {
            agency: frozenset().union(*(t.event_types for t in self.filter.versions(agency)))
            for agency in agencies
        }

    def _applied_targets(self) -> dict[TopicPartition, int]:
        """Per partition of the events topic, the offset the projection runner must have
        committed before this batch goes out: the end each partition had when it was read."""
        consumer = self.consumer
        assert consumer is not None
        targets = {}
        for tp in self.partitions:
            high = consumer.highwater(tp)
            targets[tp] = max(high or 0, consumer.position(tp) or 0)
        return targets

    def _runner_applied(self, targets: dict[TopicPartition, int]) -> bool:
        """Whether the projection runner (whose agencies view the filter reads) has applied
        every message of every partition up to these offsets. The view's own position
        (`caught_up_to`) is the highest it applied, and the runner applies each partition on
        its own: an agreement's event in one partition may still wait while the households of
        another are applied far beyond it. The runner commits a partition's offsets once its
        views committed, so its offsets say what the view holds, partition by partition."""
        if not self.follow_runner:
            return True
        assert self.admin is not None
        group = runner_config(self.topic_id)["group_id"]
        committed = self.admin.list_group_offsets({group: None}).get(group, {})
        return all(
            (found := committed.get(tp)) is not None and found.offset >= target
            for tp, target in targets.items()
            if target > 0
        )

    def _wait_for_views(
        self, position: int, targets: dict[TopicPartition, int], stop: threading.Event
    ) -> bool:
        """Until the agencies view has applied this position and everything before it in
        every partition (what it says then decides); False when stopping first."""
        since = logged = time.monotonic()
        while self.filter.caught_up_to() < position or not self._runner_applied(targets):
            if stop.is_set():
                return False
            if time.monotonic() - logged > WAIT_LOG_SECONDS:
                log.info(
                    "waiting %.0f s for the agencies view to reach position %d (at %d)",
                    time.monotonic() - since,
                    position,
                    self.filter.caught_up_to(),
                )
                logged = time.monotonic()
            stop.wait(WAIT_SECONDS)
        return True

    def _deliveries(self, admitted: list[tuple[Any, dict[str, Any]]]) -> dict[str, Outgoing]:
        agencies = self._refresh_agencies()
        today = self.today()
        outgoing: dict[str, Outgoing] = {}
        deliver_all = self.filter.deliver_all
        # What no version of an agreement allows is not asked about (deliver would say None
        # as its second rule): most events are of types an agency does not take.
        takes = self._takes(agencies)
        targets = {
            agency: (agency_topic(agency), self.topic_partitions[agency_topic(agency)])
            for agency in agencies
        }
        taken = frozenset().union(*takes.values())
        self.filter.prefetch(envelope for _, envelope in admitted if envelope["type"] in taken)
        for record, envelope in admitted:
            position, event_type = envelope["position"], envelope["type"]
            asked = []
            for agency in agencies:
                if event_type not in takes[agency]:
                    continue
                partition = record.partition % targets[agency][1]
                if position <= self.delivered.get((agency, partition), 0):
                    continue  # this partition of the agency's topic shows it already
                asked.append(agency)
            deliveries = deliver_all(asked, envelope, today) if asked else {}
            headers = wire.headers(envelope) if deliveries else []  # the type and position
            for agency in asked:  # in the agencies' order
                delivery = deliveries.get(agency)
                if delivery is None:
                    continue
                topic, partitions = targets[agency]
                out = outgoing.get(agency)
                if out is None:
                    out = outgoing[agency] = Outgoing(topic)
                out.messages.append(
                    (
                        record.partition % partitions,
                        position,
                        record.key,
                        wire.encode(delivery.envelope),
                        headers,
                    )
                )
                out.reads.append(delivery.read)
            if envelope["type"] == ERASURE_EVENT:
                forget_keys(self.codec)  # what follows is opened with the key store as it is now
        return outgoing

    def _commit(
        self, outgoing: dict[str, Outgoing], offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        """The batch's messages and the events topic's offsets after it, in one transaction."""
        producer = self.producer
        assert producer is not None and self.consumer is not None
        signed = {
            agency: self.signer.sign_batch(
                out.topic, [(key, value, headers) for _, _, key, value, headers in out.messages]
            )
            for agency, out in outgoing.items()
        }
        producer.begin_transaction()
        try:
            for agency, out in outgoing.items():
                send, topic = producer.send, out.topic
                for (partition, _, key, value, _), headers in zip(
                    out.messages, signed[agency], strict=True
                ):
                    send(topic, key=key, value=value, headers=headers, partition=partition)
            producer.send_offsets_to_transaction(offsets, self.group)
            producer.commit_transaction()
        except BaseException:
            try:
                producer.abort_transaction()
            except KafkaError as error:
                log.warning("could not abort the transaction (%s)", type(error).__name__)
            raise

    def _after_commit(self, outgoing: dict[str, Outgoing], last: int) -> None:
        for agency, out in outgoing.items():
            for partition, position, *_ in out.messages:
                self.delivered[(agency, partition)] = position  # they grow per partition
            self.forwarded += len(out.messages)
        if not last:
            return
        # The delivery state, not part of the Kafka transaction: a crash right here leaves
        # the page's counts one batch behind, never a message undelivered or unlogged.
        for agency in self._agencies:
            out = outgoing.get(agency)
            self.record_delivery(
                self.views, agency, CHANNEL, last, delivered=len(out.messages) if out else 0
            )


def default_workers(settings: Settings) -> int:
    """One worker per core, never more than the events topic has partitions."""
    return max(1, min(os.cpu_count() or 1, settings.partitions))


def run(system: System, stop: threading.Event | None = None, workers: int = 1) -> int:
    """Run the agency producer until `stop` is set (`casework agencies`): here when one
    worker, else in `workers` child processes; the exit status (1: a worker ended without
    being asked to, and the others were stopped, for the supervisor to start it all again)."""
    if not system.settings.kafka:
        raise SystemExit("casework agencies: set CASEWORK_KAFKA to the Kafka bootstrap servers")
    stop = stop or threading.Event()
    if workers <= 1:
        AgencyProducer(system).run(stop)
        return 0
    settings = system.settings
    system.close()
    context = multiprocessing.get_context("spawn")  # never fork a process with threads
    children = [
        context.Process(
            target=_worker, args=(settings, worker, workers), name=f"casework-agencies-{worker}"
        )
        for worker in range(workers)
    ]
    for child in children:
        child.start()
    failed = False
    try:
        while not stop.wait(0.5):
            ended = [child for child in children if not child.is_alive()]
            if ended:
                log.error(
                    "agency worker %s ended (exit %s): stopping the others",
                    ended[0].name,
                    ended[0].exitcode,
                )
                failed = True
                break
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM: it stops after its batch
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
                child.join(5)
    return 1 if failed else 0


def _worker(settings: Settings, worker: int, workers: int) -> None:
    """One worker process of `run`: stops on SIGTERM or SIGINT after its batch, and exits at
    once when its parent is gone (a parent killed must not leave its workers behind)."""
    spawned_worker(settings.log_level, "agency worker")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    AgencyProducer(bootstrap(settings), worker=worker, workers=workers).run(stop)
