"""The relay: publishes every stored event to `casework.events.v1`, in store order.

It follows the event store's notification log by polling (SQLite has no
subscriptions), publishes a batch with an idempotent producer, waits until Kafka
has acknowledged all of it, and only then records the batch's last position in
`casework_relay_state`. A restart therefore resends at most the one unconfirmed
batch (at-least-once; consumers dedupe by position).

One relay publishes at a time: the holder of the lease row in
`casework_relay_lease`. Others stand by and take over when the lease expires.
Every position is recorded in the same transaction that confirms the lease is
still ours (fencing), so a relay that lost its lease never moves the position.

The embedded broker forgets everything when it restarts. When the events topic
is missing or empty while the recorded position says otherwise, the relay
republishes from the beginning. Logs carry positions, counts and ids, never
event data (it is personal data).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass

import psycopg
from eventsourcing.persistence import Notification, PersistenceError
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata

from consumers.topics import EVENTS, ensure_topics
from domain.settings import Settings, SettingsError
from projections.db import Cursor, Database, open_casework
from projections.envelope import encode, from_notification, headers
from projections.status import RELAY_LEASE_DDL, RELAY_STATE_DDL

log = logging.getLogger("casework.relay")

NAME = "main"
BATCH_SIZE = 1000
IDLE_SECONDS = 0.05
LEASE_SECONDS = 5.0
RENEW_SECONDS = 1.0
PROBE_SECONDS = 2.0
PROGRESS_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 10.0
REQUEST_TIMEOUT_MS = 5_000
DELIVERY_TIMEOUT_MS = 15_000
FLUSH_TIMEOUT_SECONDS = DELIVERY_TIMEOUT_MS / 1000 + 5

# What a running relay survives by backing off and trying again.
TRANSIENT_ERRORS = (KafkaError, OSError, PersistenceError, sqlite3.Error, psycopg.Error)


class LeaseLost(Exception):
    """Another relay holds the lease now: this one must stop publishing."""


class PublishFailed(Exception):
    """Kafka did not acknowledge every message of a batch."""


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Lease:
    """The row in `casework_relay_lease` that says which relay may publish."""

    def __init__(self, db: Database, owner: str, seconds: float = LEASE_SECONDS) -> None:
        self.db = db
        self.owner = owner
        self.seconds = seconds

    def acquire(self) -> bool:
        """Take or renew the lease when it is absent, expired or already ours."""
        now = time.time()
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE casework_relay_lease SET owner=?, expires_at=?"
                " WHERE name=? AND (owner=? OR expires_at<?)",
                (self.owner, now + self.seconds, NAME, self.owner, now),
            )
            if cur.rowcount == 1:
                return True
            cur.execute(
                "INSERT INTO casework_relay_lease (name, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (NAME, self.owner, now + self.seconds),
            )
            return cur.rowcount == 1

    def confirm(self, cur: Cursor) -> None:
        """Inside a write transaction: renew the lease, or raise LeaseLost if it is not ours."""
        cur.execute(
            "UPDATE casework_relay_lease SET expires_at=? WHERE name=? AND owner=?",
            (time.time() + self.seconds, NAME, self.owner),
        )
        if cur.rowcount != 1:
            raise LeaseLost(self.holder())

    def renew(self) -> None:
        """Extend our lease; LeaseLost if another relay took it meanwhile."""
        with self.db.transaction() as cur:
            self.confirm(cur)

    def holder(self) -> str | None:
        row = self.db.query_one("SELECT owner FROM casework_relay_lease WHERE name=?", (NAME,))
        return row[0] if row else None

    def release(self) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                "DELETE FROM casework_relay_lease WHERE name=? AND owner=?", (NAME, self.owner)
            )


@dataclass(frozen=True)
class TopicState:
    exists: bool
    partitions: int
    has_data: bool


class TopicWatch:
    """Looks at the events topic without creating it.

    Tansu creates a topic (with 4 partitions) whenever a client asks for its
    metadata by name, even with auto-creation disabled, so only whole-cluster
    metadata is requested here.
    """

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin: KafkaAdminClient | None = None

    @property
    def admin(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id="casework-relay-watch",
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                bootstrap_timeout_ms=REQUEST_TIMEOUT_MS,
            )
        return self._admin

    def state(self) -> TopicState:
        """Whether the topic exists, its partition count, and whether it holds any message.

        End offsets are wrong on Tansu after multi-record batches (base offset of
        the last batch plus one), but they are never 0 for a partition with data.
        """
        topic = next((t for t in self.admin.describe_topics() if t["name"] == EVENTS), None)
        if topic is None:
            return TopicState(exists=False, partitions=0, has_data=False)
        partitions = [TopicPartition(EVENTS, p["partition_index"]) for p in topic["partitions"]]
        ends = self.admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions})
        has_data = any(end.offset > 0 for end in ends.values())
        return TopicState(exists=True, partitions=len(partitions), has_data=has_data)

    def delete(self) -> None:
        self.admin.delete_topics([EVENTS])

    def close(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            except KafkaError:
                pass
            self._admin = None


def make_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    """Idempotent, acks from all replicas, batched; at most 5 requests in flight keeps order."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        max_in_flight_requests_per_connection=5,
        linger_ms=10,
        batch_size=256 * 1024,
        allow_auto_create_topics=False,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        delivery_timeout_ms=DELIVERY_TIMEOUT_MS,
        max_block_ms=10_000,
        reconnect_backoff_max_ms=2_000,
    )


def abandon(producer: KafkaProducer) -> None:
    """Close a producer without waiting for records it cannot deliver."""
    try:
        producer.close(timeout=0)
    except KafkaError:
        # kafka-python flushes before closing and gives up with a timeout while records
        # are stuck (an idempotent producer a restarted broker no longer knows keeps
        # retrying); stop its I/O thread anyway, which fails those records.
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()


class Backoff:
    def __init__(self, first: float = 0.5, limit: float = MAX_BACKOFF_SECONDS) -> None:
        self.first = first
        self.limit = limit
        self.delay = first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.limit)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class Relay:
    """Publishes the store's events to Kafka; `run` is the service loop.

    For a benchmark: `open()`, `acquire_lease()`, `connect()`, then
    `publish_pending()` as often as wanted, and `close()`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        owner: str | None = None,
        batch_size: int = BATCH_SIZE,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        if not settings.kafka:
            raise SettingsError("CASEWORK_KAFKA: the relay needs the Kafka bootstrap servers")
        self.settings = settings
        self.bootstrap = settings.kafka
        self.owner = owner or new_owner()
        self.batch_size = batch_size
        self.app = open_casework(settings.store)
        self.db = Database(settings.store)
        self.lease = Lease(self.db, self.owner, lease_seconds)
        self.watch = TopicWatch(self.bootstrap)
        self.producer: KafkaProducer | None = None
        self.position = 0
        self.published = 0
        self.leader = False
        self._standby_logged = False
        self._renewed_at = 0.0
        self._probed_at = 0.0
        self._progress = (time.monotonic(), 0)

    # --- state and lease -------------------------------------------------------------

    def open(self) -> None:
        """Create the relay's tables and load the recorded position."""
        with self.db.schema_lock(), self.db.transaction() as cur:
            cur.execute(RELAY_STATE_DDL)
            cur.execute(RELAY_LEASE_DDL)
        self._load_state()

    def _load_state(self) -> None:
        row = self.db.query_one(
            "SELECT position, published FROM casework_relay_state WHERE name=?", (NAME,)
        )
        self.position, self.published = (int(row[0]), int(row[1])) if row else (0, 0)

    def _record(self, position: int, published: int) -> None:
        """Durably record progress, in the transaction that confirms the lease is ours."""
        with self.db.transaction() as cur:
            self.lease.confirm(cur)
            cur.execute(
                "INSERT INTO casework_relay_state (name, position, published, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " position=excluded.position, published=excluded.published,"
                " updated_at=excluded.updated_at",
                (NAME, position, published, now_rfc3339()),
            )
        self.position, self.published = position, published
        self._renewed_at = time.monotonic()

    def acquire_lease(self) -> bool:
        """Become the publishing relay if the lease is free; False while another holds it."""
        if not self.lease.acquire():
            if not self._standby_logged:
                log.info("standby: another relay holds the lease (%s)", self.lease.holder())
                self._standby_logged = True
            return False
        self._load_state()
        self.leader = True
        self._standby_logged = False
        self._renewed_at = time.monotonic()
        log.info(
            "took the lease as %s: publishing after position %d (%d published so far)",
            self.owner,
            self.position,
            self.published,
        )
        return True

    def _keep_lease(self) -> None:
        if time.monotonic() - self._renewed_at < RENEW_SECONDS:
            return
        self.lease.renew()
        self._renewed_at = time.monotonic()

    def _stand_down(self, holder: str | None) -> None:
        log.warning(
            "lost the lease to %s at position %d: stopping publishing, standing by",
            holder,
            self.position,
        )
        self.leader = False
        self._disconnect()

    # --- broker ----------------------------------------------------------------------

    def connect(self) -> None:
        """Check the broker still has our events, make sure the topics exist, start a producer."""
        self._check_for_data_loss()
        ensure_topics(self.bootstrap, self.settings.partitions)
        partitions = self.watch.state().partitions
        if partitions != self.settings.partitions:
            log.warning(
                "topic %s has %d partitions, configured %d",
                EVENTS,
                partitions,
                self.settings.partitions,
            )
        self.producer = make_producer(self.bootstrap, f"casework-relay-{self.owner}")
        log.info("connected to Kafka at %s, publishing to %s", self.bootstrap, EVENTS)

    def _check_for_data_loss(self) -> None:
        state = self.watch.state()
        self._probed_at = time.monotonic()
        if state.exists and not state.has_data and state.partitions != self.settings.partitions:
            log.warning(
                "topic %s is empty with %d partitions instead of %d (created by a client's"
                " metadata request): deleting it so it is created as configured",
                EVENTS,
                state.partitions,
                self.settings.partitions,
            )
            self.watch.delete()
        if self.position > 0 and not state.has_data:
            log.warning(
                "broker lost its data (topic %s, relay position %d):"
                " republishing from the beginning",
                "empty" if state.exists else "missing",
                self.position,
            )
            self._record(0, 0)

    def _watch_broker(self) -> None:
        """Between batches: notice a broker that restarted empty while we were idle."""
        if time.monotonic() - self._probed_at < PROBE_SECONDS:
            return
        self._probed_at = time.monotonic()
        state = self.watch.state()
        if self.position > 0 and not state.has_data:
            self._disconnect()
            self.connect()

    def _disconnect(self) -> None:
        if self.producer is not None:
            abandon(self.producer)
            self.producer = None
        self.watch.close()

    # --- publishing ------------------------------------------------------------------

    def publish_batch(self) -> int:
        """Publish the next batch after the recorded position; the number published."""
        producer = self.producer
        assert producer is not None, "connect() first"
        notifications = self.app.recorder.select_notifications(
            self.position, self.batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        futures = [self._send(producer, notification) for notification in notifications]
        producer.flush(timeout=FLUSH_TIMEOUT_SECONDS)
        _check_delivered(futures)
        self._record(notifications[-1].id, self.published + len(notifications))
        return len(notifications)

    def publish_pending(self) -> int:
        """Publish everything stored so far; the number published."""
        total = 0
        while count := self.publish_batch():
            total += count
        return total

    def _send(self, producer: KafkaProducer, notification: Notification) -> FutureRecordMetadata:
        envelope = from_notification(self.app, notification, self.settings.tenant)
        return producer.send(
            EVENTS,
            key=envelope["stream_id"].encode(),
            value=encode(envelope),
            headers=headers(envelope),
        )

    def _log_progress(self) -> None:
        since, published_then = self._progress
        if time.monotonic() - since < PROGRESS_SECONDS:
            return
        if self.published != published_then:
            log.info(
                "published %d events in %.0f s; position %d, %d published in total",
                max(self.published - published_then, 0),
                time.monotonic() - since,
                self.position,
                self.published,
            )
        self._progress = (time.monotonic(), self.published)

    # --- service loop ----------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        log.info(
            "relay %s starting: store %s, broker %s, topic %s",
            self.owner,
            self.settings.store.kind,
            self.bootstrap,
            EVENTS,
        )
        backoff = Backoff()
        opened = False
        while not stop.is_set():
            try:
                if not opened:
                    self.open()
                    opened = True
                self._step(stop)
                backoff.reset()
            except LeaseLost as lost:
                self._stand_down(lost.args[0] if lost.args else None)
            except (PublishFailed, *TRANSIENT_ERRORS) as error:
                delay = backoff.next()
                log.warning(
                    "relay trouble (%s: %s) at position %d; retrying in %.1f s",
                    type(error).__name__,
                    error,
                    self.position,
                    delay,
                )
                self._disconnect()
                stop.wait(delay)
        self.close()

    def _step(self, stop: threading.Event) -> None:
        if not self.leader and not self.acquire_lease():
            stop.wait(RENEW_SECONDS)
            return
        if self.producer is None:
            self.connect()
        self._keep_lease()
        self._watch_broker()
        published = self.publish_batch()
        self._log_progress()
        if published < self.batch_size:
            stop.wait(IDLE_SECONDS)

    def close(self) -> None:
        """Stop: batches are flushed and recorded as they go; release the lease."""
        self._disconnect()
        if self.leader:
            try:
                self.lease.release()
            except TRANSIENT_ERRORS as error:
                log.warning("could not release the lease (%s); it expires by itself", error)
            self.leader = False
        log.info(
            "relay %s stopped at position %d (%d published)",
            self.owner,
            self.position,
            self.published,
        )
        self.db.close()
        self.app.close()


def _check_delivered(futures: list[FutureRecordMetadata]) -> None:
    for future in futures:
        if not future.succeeded():
            raise PublishFailed(
                f"{sum(not f.succeeded() for f in futures)} of {len(futures)} messages not"
                f" acknowledged; first: {future.exception!r}"
            )


def run(settings: Settings, stop: threading.Event | None = None) -> None:
    """Run the relay until `stop` is set (`casework relay`, or a thread in tests)."""
    Relay(settings).run(stop or threading.Event())
