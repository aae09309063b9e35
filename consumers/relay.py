"""The relay: publishes every stored event to `casework.events.v1`, in store order.

It follows the event store's notification log by polling (SQLite has no
subscriptions) and publishes with an idempotent producer, pipelined: it sends
chunks of events while earlier chunks are still in flight, and records a chunk's
last position in `casework_relay_state` only once Kafka acknowledged every
message of that chunk and of all chunks before it. At most `batch_size` events
are sent and not yet recorded, so a restart resends at most that many
(at-least-once; consumers dedupe by position). Caught up, it looks for new events
every `IDLE_SECONDS` with one indexed lookup.

The messages are built by a child process, the envelope worker, which reads the
store ahead of the relay and turns each stored event into its envelope (the fast
path of `adapters.wire.EnvelopeEncoder`, byte for byte what
`from_notification` gives). That is Python work which, in the relay's own
process, would take turns through the GIL with kafka-python's own Python work in
`send`; in the worker it runs on another core meanwhile. Positions, the lease and
everything sent stay with the relay.

One relay publishes at a time: the holder of the lease row in
`casework_relay_lease`. Others stand by and take over when the lease expires.
Every position is recorded in the same transaction that confirms the lease is
still ours (fencing), so a relay that lost its lease never moves the position.

Accounts and tokens are not published: the events of the private streams
(`domain.streams.PRIVATE_STREAM_TYPES`: users, their tokens and sign-in secrets) are
passed over. They are read like the others, so the recorded position moves past them, but
no envelope is built and nothing is sent; `published` counts only what was sent, and
`/healthz` measures lag against the events that will ever be published
(`adapters.relay_store.store_counts`).

Its liveness is kept with its position (`adapters.relay_store.Liveness`, read by `/healthz`
and `/status`): a heartbeat thread writes `seen_at` every `RENEW_SECONDS` while this relay is
the lease's holder, whatever the publishing loop is doing (waiting for a broker that does not
answer included); `progress_at` moves with every recorded position and, when caught up, with
each renewal of the lease. So a relay that is gone (its heartbeat stops) is told from one that
runs but makes no progress (the broker unreachable).

The embedded broker forgets everything when it restarts. When the events topic
is missing or empty while the recorded position says otherwise, the relay
republishes from the beginning. Logs carry positions, counts and ids, never
event data (it is personal data).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import Notification, PersistenceError
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata

from adapters.bootstrap import System, open_store_reader
from adapters.relay_store import (
    LEASE_SECONDS,
    Lease,
    LeaseLost,
    events_table,
    mark_alive,
    record_position,
    relay_state,
    stored_after,
)
from adapters.retry import reconnecting
from adapters.settings import DatabaseUrl, SettingsError
from adapters.signing import Signer
from adapters.topics import EVENTS, ensure_topics
from adapters.wire import EnvelopeEncoder
from consumers.anchors import ANCHOR_SECONDS, AnchorPublisher
from domain.application import Casework
from domain.streams import is_private_topic

log = logging.getLogger("casework.relay")

BATCH_SIZE = 1000  # at most this many events sent and not yet recorded (resent after a crash)
CHUNK_SIZE = 250  # events sent together; their position is recorded once all are acknowledged
READ_SIZE = 4000  # events read from the store at a time
PREFETCH = 2  # chunks the envelope worker builds ahead of the one being sent
WORKER_TIMEOUT_SECONDS = 30.0
IDLE_SECONDS = 0.01
RENEW_SECONDS = 1.0
PROBE_SECONDS = 2.0
PROGRESS_SECONDS = 10.0
REQUEST_TIMEOUT_MS = 5_000
DELIVERY_TIMEOUT_MS = 15_000
FLUSH_TIMEOUT_SECONDS = DELIVERY_TIMEOUT_MS / 1000 + 5

# What a running relay survives by backing off and trying again.
TRANSIENT_ERRORS = (KafkaError, OSError, PersistenceError, sqlite3.Error, psycopg.Error)


class PublishFailed(Exception):
    """Kafka did not acknowledge every message of a batch."""


class WorkerFailed(Exception):
    """The envelope worker process died, hung or could not be started."""


# One message: the event's position, then the key, value and headers to send; key, value and
# headers are None for an event that is passed over (a private stream's: never published).
Message = tuple[int, bytes | None, bytes | None, list[tuple[str, bytes]] | None]
PASSED_OVER = (None, None, None)


@dataclass
class _Chunk:
    """Events sent together: the position of the last one and a future per message."""

    last: int
    futures: list[FutureRecordMetadata]
    checked: int = 0

    def done(self) -> bool:
        """Whether every message is acknowledged or failed (the futures complete in any order)."""
        futures, checked = self.futures, self.checked
        while checked < len(futures) and futures[checked].is_done:
            checked += 1
        self.checked = checked
        return checked == len(futures)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class TopicState:
    exists: bool
    partitions: int
    has_data: bool
    topic_id: str | None = None  # KIP-516: a recreated topic has another


class TopicWatch:
    """Looks at the events topic without creating it.

    Tansu creates a topic (with 4 partitions) whenever a client asks for its
    metadata by name, even with auto-creation disabled, so only whole-cluster
    metadata is requested here.
    """

    def __init__(self, bootstrap: str, client_config: Mapping[str, Any] | None = None) -> None:
        self.bootstrap = bootstrap
        self.client_config = dict(client_config or {})  # the SASL settings
        self._admin: KafkaAdminClient | None = None

    @property
    def admin(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id="casework-relay-watch",
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                bootstrap_timeout_ms=REQUEST_TIMEOUT_MS,
                **self.client_config,
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
        found_id = str(topic["topic_id"]) if topic.get("topic_id") else None
        return TopicState(
            exists=True, partitions=len(partitions), has_data=has_data, topic_id=found_id
        )

    def delete(self) -> None:
        self.admin.delete_topics([EVENTS])

    def close(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            except KafkaError:
                pass
            self._admin = None


# The relay's producer. Idempotent with acks from all replicas; at most 5 requests in flight
# keeps the order. Batches wait up to `linger_ms` to fill, but the relay flushes whenever it has
# caught up with the store, so lingering only shapes batches under load. No compression: the
# messages are small and compressing them costs more CPU than it saves on a local network.
# The benchmark's raw producer is built from these same settings.
PRODUCER_SETTINGS: dict[str, Any] = {
    "enable_idempotence": True,
    "acks": "all",
    "max_in_flight_requests_per_connection": 5,
    "linger_ms": 10,
    "batch_size": 256 * 1024,
    "compression_type": None,
    "allow_auto_create_topics": False,
    "request_timeout_ms": REQUEST_TIMEOUT_MS,
    "delivery_timeout_ms": DELIVERY_TIMEOUT_MS,
    "max_block_ms": 10_000,
    "reconnect_backoff_max_ms": 2_000,
}


def make_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    """A producer with the relay's settings (`PRODUCER_SETTINGS`)."""
    return KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, **PRODUCER_SETTINGS)


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


class StoreReader:
    """Reads the store after a position and builds the messages, in this process, each
    signed by `signer` (`adapters.signing`; None only for the benchmark's unsigned run)."""

    def __init__(
        self, app: Casework, tenant: str, read_size: int = READ_SIZE, signer: Signer | None = None
    ) -> None:
        self.app = app
        self.encoder = EnvelopeEncoder(app, tenant)
        self.signer = signer
        self.read_size = read_size
        self._read: list[Notification] = []
        self._at = 0
        self._after = 0

    def seek(self, after: int) -> None:
        """Continue after this position (forgetting what was read ahead)."""
        self._read, self._at, self._after = [], 0, after

    def take(self, count: int) -> list[Message]:
        """The messages of the next `count` events; fewer only when the store has no more."""
        taken: list[Notification] = []
        while len(taken) < count:
            if self._at >= len(self._read):
                self._read = self.app.recorder.select_notifications(
                    self._after, self.read_size, inclusive_of_start=False
                )
                self._at = 0
                if not self._read:
                    break
                self._after = self._read[-1].id
            part = self._read[self._at : self._at + count - len(taken)]
            self._at += len(part)
            taken += part
        message = self.encoder.message
        public = [n for n in taken if not is_private_topic(n.topic)]
        built = [message(n) for n in public]
        if self.signer is None:
            ready = dict(zip((n.id for n in public), built, strict=True))
        else:
            # One signature for the chunk (a Merkle root); each message carries its own proof.
            signed = self.signer.sign_batch(EVENTS, built) if built else []
            ready = {
                n.id: (key, value, headers)
                for n, (key, value, _), headers in zip(public, built, signed, strict=True)
            }
        return [(n.id, *ready.get(n.id, PASSED_OVER)) for n in taken]

    def close(self) -> None:
        pass


class EnvelopeWorker:
    """A child process that reads the store and builds the messages ahead of the relay.

    Building an envelope is Python work (JSON decoding and encoding) that would otherwise
    share one core, through the GIL, with kafka-python's own Python work in `send`. The
    child runs a `StoreReader`; the relay asks it for the next chunk while it sends the
    previous one. Requests and answers carry an epoch, so answers to requests made before
    a `seek` are recognised and dropped. The child exits when its pipe closes, also when
    the relay is killed.
    """

    def __init__(
        self,
        store: DatabaseUrl,
        tenant: str,
        chunk_size: int,
        read_size: int = READ_SIZE,
        signing_key: bytes | None = None,
    ) -> None:
        # The signing key goes to the child through its private pipe, never its command line.
        self.config = {
            "store": store.url,
            "tenant": tenant,
            "read_size": read_size,
            "signing_key": signing_key,
        }
        self.chunk_size = chunk_size
        self.process: subprocess.Popen | None = None
        self._rx: Connection | None = None
        self._tx: Connection | None = None
        self._epoch = 0
        self._after = 0
        self._seeking = True
        self._requested = 0
        self._buffer: list[Message] = []
        self._at = 0

    def seek(self, after: int) -> None:
        """Continue after this position; answers to earlier requests are dropped."""
        self._after = after
        self._epoch += 1
        self._seeking = True
        self._requested = 0
        self._buffer, self._at = [], 0

    def take(self, count: int) -> list[Message]:
        """The messages of the next `count` (or fewer) events; [] when the store has no more.

        Fewer than `count` also when the chunk the worker built ends: the relay asks for
        `chunk_size` at a time, and then a short answer means the store had no more.
        """
        if self._at >= len(self._buffer):
            self._buffer, self._at = self._next_chunk(), 0
            if not self._buffer:
                return []
        taken = self._buffer[self._at : self._at + count]
        self._at += len(taken)
        self._after = taken[-1][0]
        return taken

    def _next_chunk(self) -> list[Message]:
        try:
            if self.process is None or self.process.poll() is not None:
                self._start()
            if self._seeking:
                self._send(("seek", self._epoch, self._after))
                self._seeking = False
            if not self._requested:
                self._request()
            chunk = self._answer()
            if len(chunk) == self.chunk_size:
                # More is probably stored: have the next chunks built while this one is sent.
                # (Not after a short chunk: an answer prepared before new events were stored
                # would then say "nothing new" one poll too late.)
                while self._requested < PREFETCH:
                    self._request()
            return chunk
        except (OSError, EOFError, WorkerFailed) as error:
            self.close()
            if isinstance(error, WorkerFailed):
                raise
            raise WorkerFailed(f"envelope worker: {type(error).__name__}: {error}") from None
        except BaseException:
            self.seek(self._after)  # whatever the worker did after the error is dropped
            raise

    def _request(self) -> None:
        self._send(("next", self._epoch, self.chunk_size))
        self._requested += 1

    def _send(self, request: tuple) -> None:
        if self._tx is None:
            raise RuntimeError("the envelope worker is not running")
        self._tx.send(request)

    def _answer(self) -> list[Message]:
        """The answer to the oldest request of this epoch; raises what the worker raised."""
        if self._rx is None:
            raise RuntimeError("the envelope worker is not running")
        deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
        while True:
            if not self._rx.poll(max(deadline - time.monotonic(), 0.0)):
                raise WorkerFailed(f"envelope worker: no answer in {WORKER_TIMEOUT_SECONDS:.0f} s")
            kind, epoch, payload = self._rx.recv()
            if epoch != self._epoch:
                continue
            self._requested -= 1
            if kind == "error":
                raise payload
            return payload

    def _start(self) -> None:
        self.close()
        child_in, to_child = os.pipe()  # (read end, write end)
        from_child, child_out = os.pipe()
        root = str(Path(__file__).resolve().parents[1])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from consumers.relay import envelope_worker; envelope_worker()",
                    str(child_in),
                    str(child_out),
                ],
                pass_fds=(child_in, child_out),
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            os.close(to_child)
            os.close(from_child)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        self._tx = Connection(to_child, readable=False)
        self._rx = Connection(from_child, writable=False)
        self._send(("config", 0, self.config))
        self.seek(self._after)  # a new process: continue after the last message handed out
        log.info("envelope worker started (pid %d)", self.process.pid)

    def close(self) -> None:
        """Stop the worker process (it restarts on the next `take`)."""
        for conn in (self._tx, self._rx):
            if conn is not None:
                conn.close()
        self._tx = self._rx = None
        process, self.process = self.process, None
        if process is not None:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def envelope_worker() -> None:
    """The envelope worker's process: answers the relay's requests until its pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the relay decides when to stop
    requests = Connection(int(sys.argv[1]), writable=False)
    answers = Connection(int(sys.argv[2]), readable=False)
    try:
        _, _, config = requests.recv()
    except EOFError:
        return
    store = DatabaseUrl.parse(config["store"], "CASEWORK_STORE")
    app = open_store_reader(store)  # tokens pass through
    seed = config.get("signing_key")
    reader = StoreReader(
        app, config["tenant"], config["read_size"], Signer(seed) if seed is not None else None
    )
    try:
        while True:
            try:
                kind, epoch, argument = requests.recv()
            except EOFError:
                return
            if kind == "seek":
                reader.seek(argument)
                continue
            try:
                answer: tuple = ("chunk", epoch, reader.take(argument))
            except Exception as error:  # noqa: BLE001 - the relay raises it and decides
                answer = ("error", epoch, error)
            try:
                answers.send(answer)
            except BrokenPipeError:
                return
            except Exception as error:  # noqa: BLE001 - e.g. an exception that cannot be pickled
                answers.send(("error", epoch, WorkerFailed(f"{type(error).__name__}: {error}")))
    finally:
        app.close()


class Relay:
    """Publishes the store's events to Kafka; `run` is the service loop.

    For a benchmark: `open()`, `acquire_lease()`, `connect()`, then `publish(n)` or
    `publish_pending()` as often as wanted, and `close()`. `envelope_worker=False`
    builds the messages in this process instead of a child process. Every message is
    signed with `CASEWORK_SIGNING_KEY`; `signed=False` (the benchmark's baseline only)
    publishes them unsigned, which every consumer of this system parks in the DLQ.
    """

    def __init__(
        self,
        system: System,
        *,
        owner: str | None = None,
        batch_size: int = BATCH_SIZE,
        chunk_size: int = CHUNK_SIZE,
        read_size: int = READ_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        envelope_worker: bool = True,
        anchor_seconds: float = ANCHOR_SECONDS,
        signed: bool = True,
    ) -> None:
        if not system.settings.kafka:
            raise SettingsError("CASEWORK_KAFKA: the relay needs the Kafka bootstrap servers")
        self.system = system
        settings = self.settings = system.settings
        self.bootstrap = system.kafka
        self.owner = owner or new_owner()
        self.batch_size = batch_size
        self.chunk_size = min(chunk_size, batch_size)
        self.app = system.store_reader()
        seed = settings.signing_key if signed else None
        self.source: StoreReader | EnvelopeWorker = (
            EnvelopeWorker(settings.store, settings.tenant, self.chunk_size, read_size, seed)
            if envelope_worker
            else StoreReader(
                self.app, settings.tenant, read_size, Signer(seed) if seed is not None else None
            )
        )
        self.db = system.store
        self.lease = Lease(self.db, self.owner, lease_seconds)
        self.anchors = AnchorPublisher(
            self.db, settings.tenant, Signer(settings.signing_key), anchor_seconds
        )
        self.watch = TopicWatch(self.bootstrap, system.kafka_config)
        self.producer: KafkaProducer | None = None
        self._topic_id: str | None = None  # the id of the topic this relay published into
        self.position = 0
        self.published = 0
        self._sent: deque[_Chunk] = deque()
        self._unrecorded = 0
        self._sent_position = 0
        self._caught_up = False
        self._events_table = events_table(self.db)
        self.leader = False
        self._opened = False
        self._standby_logged = False
        self._renewed_at = 0.0
        self._idle = False  # the last look found nothing left to publish
        self._probed_at = 0.0
        self._progress = (time.monotonic(), 0)

    # --- state and lease -------------------------------------------------------------

    def open(self) -> None:
        """Load the recorded position (the store's migrations made the relay's tables)."""
        self._load_state()

    def _load_state(self) -> None:
        self.position, self.published = relay_state(self.db)
        self._reset_pipeline()

    def _record(self, position: int, published: int) -> None:
        """Durably record progress, in the transaction that confirms the lease is ours."""
        with self.db.transaction() as cur:
            self.lease.confirm(cur)
            record_position(cur, position, published, now_rfc3339())
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
        with self.db.transaction() as cur:
            mark_alive(cur, self.owner, now_rfc3339())
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
        with self.db.transaction() as cur:
            self.lease.confirm(cur)
            # caught up: nothing is waiting, which counts as progress for /healthz
            mark_alive(cur, self.owner, now_rfc3339(), progress=self._idle)
        self._renewed_at = time.monotonic()

    def heartbeat(self, stop: threading.Event) -> None:
        """Until `stop`: say this relay is alive every `RENEW_SECONDS` while it leads (a
        thread of its own, so a publishing loop waiting on the broker still says so). The
        lease itself is renewed by the publishing loop only: a standby still takes over from
        a leader that stalls."""
        try:
            while not stop.wait(RENEW_SECONDS):
                if not self.leader:
                    continue
                try:
                    with self.db.transaction() as cur:
                        mark_alive(cur, self.owner, now_rfc3339())
                except TRANSIENT_ERRORS as error:
                    log.debug("heartbeat not written (%s)", type(error).__name__)
        finally:
            self.db.close()  # this thread's connection

    def _stand_down(self, holder: str | None) -> None:
        log.warning(
            "lost the lease to %s at position %d: stopping publishing, standing by",
            holder,
            self.position,
        )
        self.leader = False
        self._disconnect()
        self.source.close()  # a standby needs no envelope worker

    # --- broker ----------------------------------------------------------------------

    def connect(self) -> None:
        """Check the broker still has our events, make sure the topics exist, start a producer."""
        self._reset_pipeline()
        self._check_for_data_loss()
        ensure_topics(
            self.bootstrap, self.settings.partitions, client_config=self.system.kafka_config
        )
        state = self.watch.state()
        self._topic_id = state.topic_id
        partitions = state.partitions
        if partitions != self.settings.partitions:
            log.warning(
                "topic %s has %d partitions, configured %d",
                EVENTS,
                partitions,
                self.settings.partitions,
            )
        self.producer = self.system.producer(
            client_id=f"casework-relay-{self.owner}", **PRODUCER_SETTINGS
        )
        log.info("connected to Kafka at %s, publishing to %s", self.bootstrap, EVENTS)

    def _recreated(self, state: TopicState) -> bool:
        """Whether the topic is another than the one this relay published into: the broker
        lost its data and the topic was made again (by a client asking for it). It may
        already hold messages: a producer's retries of what was in flight when the broker
        went away land in the new topic, so an empty topic is not the only sign."""
        return (
            self._topic_id is not None
            and state.exists
            and state.topic_id is not None
            and state.topic_id != self._topic_id
        )

    def _check_for_data_loss(self) -> None:
        state = self.watch.state()
        self._probed_at = time.monotonic()
        recreated = self._recreated(state)
        if recreated and (state.has_data or state.partitions != self.settings.partitions):
            # It holds at most copies of what this relay had in flight (only the relay writes
            # to it), out of order against what is republished: dropped, so the topic is
            # made again (as configured) and filled in store order.
            log.warning(
                "topic %s was recreated (another id) with %d partitions%s: deleting it so it"
                " is created as configured and republished in order",
                EVENTS,
                state.partitions,
                ", holding what was resent" if state.has_data else "",
            )
            self.watch.delete()
        elif state.exists and not state.has_data and state.partitions != self.settings.partitions:
            log.warning(
                "topic %s is empty with %d partitions instead of %d (created by a client's"
                " metadata request): deleting it so it is created as configured",
                EVENTS,
                state.partitions,
                self.settings.partitions,
            )
            self.watch.delete()
        if self.published > 0 and (recreated or not state.has_data):
            log.warning(
                "broker lost its data (topic %s, relay position %d):"
                " republishing from the beginning",
                "recreated" if recreated else "empty" if state.exists else "missing",
                self.position,
            )
            self._record(0, 0)
            self._reset_pipeline()

    def _watch_broker(self) -> None:
        """Between batches: notice a broker that restarted empty while we were idle."""
        if time.monotonic() - self._probed_at < PROBE_SECONDS:
            return
        self._probed_at = time.monotonic()
        state = self.watch.state()
        if self.published > 0 and (not state.has_data or self._recreated(state)):
            self._disconnect()
            self.connect()

    def _disconnect(self) -> None:
        """Drop the producer, and with it whatever was sent but not recorded."""
        if self.producer is not None:
            abandon(self.producer)
            self.producer = None
        self._reset_pipeline()
        self.watch.close()

    # --- publishing ------------------------------------------------------------------

    def pump(self, limit: int | None = None) -> int:
        """One step of the pipeline: record what Kafka confirmed, then send the next chunk.

        Sends at most `chunk_size` events (and `limit`), and only while fewer than
        `batch_size` events are sent and not yet recorded: when the window is full it
        waits for the oldest chunk first. Returns the number of events handled (sent, or
        passed over as private): fewer than `chunk_size` (0 included) when the store had no
        more after them.
        """
        producer = self.producer
        if producer is None:
            raise RuntimeError("pump() before connect()")
        self._record_confirmed()
        while self._sent and self._unrecorded + self.chunk_size > self.batch_size:
            self._await(self._sent[0])
            self._record_confirmed()
        messages = self.source.take(
            self.chunk_size if limit is None else min(self.chunk_size, limit)
        )
        if not messages:
            return 0
        send = producer.send
        futures = [
            send(EVENTS, key=key, value=value, headers=headers)
            for _, key, value, headers in messages
            if key is not None
        ]
        self._sent.append(_Chunk(messages[-1][0], futures))
        self._unrecorded += len(futures)
        self._sent_position = messages[-1][0]
        return len(messages)

    def drain(self) -> None:
        """Send what the producer still holds at once, wait for it and record it."""
        if not self._sent:
            return
        if self.producer is None:
            raise RuntimeError("drain() before connect()")
        self.producer.flush(timeout=FLUSH_TIMEOUT_SECONDS)
        while self._sent:
            self._await(self._sent[0])
            self._record_confirmed()

    def publish(self, limit: int | None = None) -> int:
        """Publish the next `limit` events (all stored so far when None), wait until Kafka
        confirmed them and record the position; the number handled (private events are
        passed over, not sent)."""
        total = 0
        while limit is None or total < limit:
            count = self.pump(None if limit is None else limit - total)
            if not count:
                break
            total += count
        self.drain()
        return total

    def publish_batch(self) -> int:
        """Publish (and confirm and record) the next `batch_size` events; the number published."""
        return self.publish(self.batch_size)

    def publish_pending(self) -> int:
        """Publish everything stored so far; the number published."""
        return self.publish()

    def _record_confirmed(self) -> None:
        """Record the position after the oldest chunks Kafka acknowledged completely.

        Chunks are recorded in the order they were sent, and only when every earlier
        chunk was acknowledged too. A chunk with a failed message raises PublishFailed
        (after recording the chunks before it): the relay then resends from the position.
        """
        last, count, failed = 0, 0, None
        while self._sent and self._sent[0].done():
            chunk = self._sent[0]
            if not all(future.succeeded() for future in chunk.futures):
                failed = chunk
                break
            self._sent.popleft()
            last, count = chunk.last, count + len(chunk.futures)
        if last:  # a chunk of private events only has no message, but moves the position
            self._unrecorded -= count
            self._record(last, self.published + count)
        if failed is not None:
            _check_delivered(failed.futures)

    def _await(self, chunk: _Chunk) -> None:
        """Wait until every message of a chunk is acknowledged or failed."""
        deadline = time.monotonic() + FLUSH_TIMEOUT_SECONDS
        for future in chunk.futures:
            if future.is_done:
                continue
            try:
                future.get(max(deadline - time.monotonic(), 0.0))
            except KafkaError:
                if not future.is_done:
                    raise

    def _reset_pipeline(self) -> None:
        """Forget what was sent and read ahead: publishing resumes after the recorded position."""
        self._sent.clear()
        self._unrecorded = 0
        self._sent_position = self.position
        self._caught_up = False
        self._idle = False
        self.source.seek(self.position)

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
        retrying = reconnecting(
            stop,
            errors=(PublishFailed, WorkerFailed, *TRANSIENT_ERRORS),
            what=lambda: f"relay trouble at position {self.position}",
            after=lambda _: self._disconnect(),
            logger=log,
        )
        beating = threading.Event()
        heart = threading.Thread(
            target=self.heartbeat, args=(beating,), name="relay-heartbeat", daemon=True
        )
        heart.start()
        try:
            while not stop.is_set():
                retrying(self._step, stop)
        finally:
            beating.set()
            heart.join(10)
        self.close()

    def _step(self, stop: threading.Event) -> None:
        """One turn of the service loop; a lost lease means standing by (no back-off)."""
        if stop.is_set():
            return
        try:
            if not self._opened:
                self.open()
                self._opened = True
            self._publish_step(stop)
        except LeaseLost as lost:
            self._stand_down(lost.args[0] if lost.args else None)

    def _publish_step(self, stop: threading.Event) -> None:
        if not self.leader and not self.acquire_lease():
            stop.wait(RENEW_SECONDS)
            return
        if self.producer is None:
            self.connect()
        self._keep_lease()
        self._watch_broker()
        if self.anchors.due() and self.producer is not None:
            self.anchors.publish(self.producer)  # the chain's head, every few minutes
        if self._caught_up and not self._stored_after(self._sent_position):
            self._idle = True
            stop.wait(IDLE_SECONDS)  # polling with one cheap query, not a read of the store
            return
        self._idle = False
        sent = self.pump()
        if sent == self.chunk_size:  # probably more stored: keep the pipeline full
            self._caught_up = False
            self._log_progress()
            return
        # Caught up with the store: confirm and record what is in flight, then poll again.
        self._caught_up = True
        self.drain()
        self._log_progress()
        if not sent:
            stop.wait(IDLE_SECONDS)

    def _stored_after(self, position: int) -> bool:
        return stored_after(self.db, self._events_table, position)

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
        self.source.close()
        self.db.close()
        self.app.close()


def _check_delivered(futures: list[FutureRecordMetadata]) -> None:
    for future in futures:
        if not future.succeeded():
            raise PublishFailed(
                f"{sum(not f.succeeded() for f in futures)} of {len(futures)} messages not"
                f" acknowledged; first: {future.exception!r}"
            )


def run(system: System, stop: threading.Event | None = None) -> None:
    """Run the relay until `stop` is set (`casework relay`, or a thread in tests)."""
    Relay(system).run(stop or threading.Event())
