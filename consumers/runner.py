"""The projection runner: Kafka -> every registered projection, exactly once in effect.

Rows and per-stream tracking are written in one read-model transaction, and the
Kafka offsets are committed only after it, so a message delivered twice is
skipped. Runner processes share the partitions as one consumer group.

Only messages this system published are applied: each must carry the relay's signature
over its topic, key, value and headers (`adapters.signing`) and the deployment's tenant;
any other (unsigned, badly signed, copied under another key, of another tenant) goes to the
DLQ with the reason and changes no view, so the positions `/healthz` shows (the views'
tracking) come only from verified messages.

Messages carry personal fields encrypted per person; each is revealed with the keys of the
store's key store (`adapters.keystore`) before its data is checked and applied
(`projections.base.reveal`). After a PersonalDataErased the cached keys are dropped, so the
messages that follow reveal the erased person as markers.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import multiprocessing
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing, nullcontext
from pathlib import Path
from typing import Any

import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from adapters import wire
from adapters.bootstrap import System, bootstrap, keystore_of
from adapters.codec import Codec
from adapters.db import Cursor, Database, sort_cache, temporary_scratch
from adapters.processes import spawned_worker
from adapters.relay_store import store_counts
from adapters.retry import reconnecting, transient
from adapters.settings import DatabaseUrl, Settings
from adapters.signing import BadSignature, Signer, Verifier
from adapters.topics import EVENTS, ensure_topics, events_topic_id
from consumers.dead_letters import park
from consumers.event_schemas import data_errors
from consumers.relay import abandon
from domain.streams import is_private_topic
from projections import eligibility
from projections.base import (
    ERASURE_EVENT,
    Deferred,
    Projection,
    apply_envelopes,
    create_generation,
    current_generation,
    deferring,
    drop_generation,
    drop_older_versions,
    end_filling,
    ensure_schema,
    filled_so_far,
    generations,
    make_read_indexes,
    no_personal_data,
    older_version_tables,
    progress,
    reconfigured,
    reveal,
    start_filling,
)
from projections.catalog import PROJECTIONS, configured

log = logging.getLogger("casework.projections")

GROUP = "casework-projections"
HEARTBEAT_SECONDS = 1.0  # a runner says it is alive this often (projections.status)
RUNNERS_KEPT_SECONDS = 86_400.0  # the row of a runner gone longer is pruned
RETRIES = 3  # attempts at a batch that fails otherwise than transiently (then it is the data's)
TRANSIENT = (sqlite3.OperationalError, psycopg.OperationalError)
# Any error of the store's database while revealing is the database's, never the message's.
KEY_STORE_ERRORS = (sqlite3.Error, psycopg.Error)
_KEY_STORE_RETRIES = transient(None, errors=KEY_STORE_ERRORS, what="key store busy or down")


def consumer_config(topic_id: str) -> dict[str, Any]:
    # A short max poll interval: the group join waits for the whole rebalance timeout.
    return {
        "group_id": f"{GROUP}.{topic_id}",
        "client_id": "casework-projections",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 500,
        "max_poll_interval_ms": 10000,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 1000,
        "fetch_max_wait_ms": 100,
        "allow_auto_create_topics": False,
    }


class TopicRecreated(KafkaError):
    """The events topic has a new id: the broker lost its data and the relay republishes it."""


def topic_id(system: System) -> str:
    """The id of the events topic as the broker knows it now (topics are created first)."""
    admin = system.admin(client_id="casework-probe")
    try:
        return events_topic_id(admin) or "unknown"
    finally:
        admin.close()


def forget_keys(codec: Codec) -> None:
    """After a PersonalDataErased: drop every cached key and subject, so what follows is
    revealed with the key store as it is now (the erased person's key gone: markers)."""
    codec.forget()
    forget = getattr(codec.ring, "forget", None)  # KeyStore's per-process key cache
    if forget is not None:
        forget()


def reveal_with_retries(
    codec: Codec, envelope: dict[str, Any], *, live: bool = True
) -> dict[str, Any]:
    """`reveal`, waiting out a busy or absent store database (where the keys are).

    `live` (the runner following the topic): after a PersonalDataErased, drop the cached
    keys. A rebuild need not: it loaded only the keys alive when it started, and the key
    store's epoch tells it of an erasure since."""
    try:
        revealed = reveal(codec, envelope)
    except KEY_STORE_ERRORS:  # the policy only when needed: it costs per call, this is per event
        revealed = _KEY_STORE_RETRIES(reveal, codec, envelope)
    if live and revealed["type"] == ERASURE_EVENT:
        forget_keys(codec)
    return revealed


def apply_all(cur: Cursor, projections: Iterable[Projection], envelopes: list[dict]) -> int:
    applied = 0
    for projection in projections:
        generation = current_generation(cur, projection, lock=True)
        applied += apply_envelopes(cur, projection, projection.table_names(generation), envelopes)
    return applied


def erased_tables(cur: Cursor, projections: Iterable[Projection]) -> list[str]:
    """Every table, of every generation, of the views that keep personal data."""
    return [
        table
        for projection in projections
        if projection.on_erasure is not no_personal_data
        for generation in generations(cur, projection)
        for table in projection.table_names(generation).values()
    ]


def tick(views: Database, projections: Iterable[Projection], today: dt.date) -> int:
    """The daily turn of the views whose answers time alone changes (the eligibility view:
    residence months reached, a rule version taking effect): the families re-evaluated."""
    evaluated = 0
    for projection in projections:
        if projection.name != eligibility.PROJECTION.name:
            continue
        with views.transaction() as cur:
            names = projection.table_names(current_generation(cur, projection, lock=True))
            families, changed = eligibility.tick(cur, names, today)
        log.info("daily tick: %d families re-evaluated, %d answers changed", families, changed)
        evaluated += families
    return evaluated


def verifier(system: System) -> Verifier:
    """What checks that a message is this system's: the public half of its signing key."""
    return Signer(system.settings.signing_key).verifier()


def admitted(verify: Verifier, tenant: str, record: Any) -> dict[str, Any]:
    """The envelope of a record this system published for this tenant; raises
    BadSignature or wire.BadMessage (their text says why, never quoting the message)."""
    verify.verify(record.topic, record.key, record.value, record.headers)
    envelope = wire.decode(record.value)
    if envelope["tenant"] != tenant:
        raise wire.BadMessage(f"foreign tenant: the message is not of tenant {tenant}")
    return envelope


class GroupMember:
    """A member of a consumer group on the events topic, named after the topic's id."""

    system: System
    consumer: KafkaConsumer | None
    dlq: KafkaProducer | None
    admin: KafkaAdminClient | None = None
    topic_id: str
    next_topic_check: float
    verify: Verifier

    def admit(self, record: Any) -> dict[str, Any] | None:
        """The record's envelope when it is this system's, of this tenant, and well-formed;
        otherwise None, the record parked in the DLQ with the reason."""
        try:
            return admitted(self.verify, self.system.settings.tenant, record)
        except BadSignature as error:
            self.dead_letter(record, f"unverified: {error}")
        except wire.BadMessage as error:
            reason = str(error)
            self.dead_letter(
                record, reason if reason.startswith("foreign tenant") else f"undecodable: {reason}"
            )
        return None

    def dead_letter(self, record: Any, error: str) -> None:
        raise NotImplementedError

    def check_topic(self) -> None:
        """Notice a recreated events topic: its offsets mean nothing in the new one.

        The consumer group is named after the topic's id, so after a recreation every runner
        joins a fresh group that starts at the beginning; what is already applied is skipped.
        """
        if time.monotonic() < self.next_topic_check or self.consumer is None:
            return
        self.next_topic_check = time.monotonic() + 2
        if self.admin is None:
            self.admin = self.system.admin(client_id="casework-topic-check")
        current = events_topic_id(self.admin)
        if current is not None and current != self.topic_id:
            log.warning(
                "topic %s was recreated (the broker lost its data?): joining a fresh group that"
                " reads it from the beginning",
                EVENTS,
            )
            raise TopicRecreated()

    def disconnect(self) -> None:
        """Drop the Kafka clients without waiting on a broker that may be gone."""
        if self.consumer is not None:
            try:
                self.consumer.close(autocommit=False, timeout_ms=3000)
            except KafkaError:
                pass
        if self.dlq is not None:
            abandon(self.dlq)
        if self.admin is not None:
            try:
                self.admin.close()
            except KafkaError:
                pass
        self.consumer = self.dlq = self.admin = None


class Runner(GroupMember):
    """Consumes `casework.events.v1` and keeps every projection up to date."""

    def __init__(self, system: System, projections: list[Projection] | None = None) -> None:
        self.system = system
        self.settings = system.settings
        self.projections = projections or list(configured(self.settings).values())
        self.views = system.views
        self.store = system.store
        self.codec = system.reader_codec()
        self.verify = verifier(system)
        ensure_schema(self.views, self.projections)
        # What some projection reads: only those events are revealed and checked against
        # their schema (the others only move the tracking on; a malformed one harms no view),
        # as a rebuild does (`Projection.reads`).
        self.uses = read_by(self.projections)
        self.consumer: KafkaConsumer | None = None
        self.dlq: KafkaProducer | None = None
        self.applied = 0
        self._waiting_out_the_database = transient(
            None, errors=TRANSIENT, what="read-model database busy or down"
        )
        self._conflicts = transient(
            RETRIES, errors=Exception, except_for=TRANSIENT, what=None, first=0.05
        )
        self.topic_id = ""
        self.next_topic_check = 0.0
        self.ticked_on: dt.date | None = None  # the last day of the daily tick
        # liveness, for /healthz and /status (`heartbeat`, projections.status.runner_state)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.progress_at = time.time()  # its loop last came back from the broker
        self.rebuilding = False  # filling empty views: busy, not stuck

    def connect(self) -> None:
        ensure_topics(
            self.system.kafka, self.settings.partitions, client_config=self.system.kafka_config
        )
        self.topic_id = topic_id(self.system)
        self.consumer = self.system.consumer(EVENTS, **consumer_config(self.topic_id))

    def dlq_producer(self) -> KafkaProducer:
        if self.dlq is None:
            self.dlq = self.system.producer(acks="all", linger_ms=0)
        return self.dlq

    def close(self) -> None:
        self.disconnect()
        self.views.close()
        self.store.close()

    def fill_empty_views(self) -> None:
        """Rebuild the views that hold nothing while others hold events (a projection added), or
        whose tables changed shape (an earlier version's tables are there): the group's
        committed offsets would skip the past; and the views built under other settings than
        this process's (`Projection.parameters`: a tolerance changed). Then drop the earlier
        versions' tables, which may hold personal data as the old code kept it."""
        applied = {p.name: progress(self.views, p)[0] for p in self.projections}
        with self.views.transaction() as cur:
            reshaped = {p.name for p in self.projections if older_version_tables(cur, p)}
            changed = {p.name: (reconfigured(cur, p), p.parameters) for p in self.projections}
        for name, (built, wanted_now) in changed.items():
            if built is not None:
                log.warning(
                    "view %s was built under %s, the settings say %s: rebuilding it",
                    name,
                    built,
                    wanted_now,
                )
        empty = [name for name, count in applied.items() if count == 0]
        wanted = [n for n in empty if n in reshaped or max(applied.values()) > 0]
        wanted += [n for n, (built, _) in changed.items() if built is not None and n not in wanted]
        if wanted:
            log.info(
                "views %s hold nothing yet: rebuilding them from the events", ", ".join(wanted)
            )
            rebuild(self.system, wanted, workers=1)  # beside the running service: one core
        drop_older_versions(self.views, self.projections)

    def run(self, stop: threading.Event) -> None:
        beating = threading.Event()
        heart = threading.Thread(
            target=self.heartbeat, args=(beating,), name="runner-heartbeat", daemon=True
        )
        heart.start()
        try:
            self.rebuilding = True
            try:
                self.fill_empty_views()
            finally:
                self.rebuilding = False
            log.info(
                "projection runner starting: %s", ", ".join(p.name for p in self.projections)
            )
            retrying = reconnecting(stop, after=lambda _: self.disconnect())
            while not stop.is_set():
                retrying(self.step, stop)
        finally:
            beating.set()
            heart.join(5)
        self.close()
        log.info("projection runner stopped after applying %d events", self.applied)

    def heartbeat(self, stop: threading.Event) -> None:
        """Until `stop`: say this runner is alive, and when its loop last made progress, about
        every second (a thread of its own: a loop waiting on the broker or the database still
        says it is alive, and then is seen as stuck); rows of runners gone a day are pruned."""
        try:
            while True:
                now = time.time()
                progress_at = now if self.rebuilding else self.progress_at
                try:
                    with self.views.transaction() as cur:
                        cur.execute(
                            "INSERT INTO projection_runners (runner, seen_at, progress_at)"
                            " VALUES (?, ?, ?) ON CONFLICT (runner) DO UPDATE SET"
                            " seen_at=excluded.seen_at, progress_at=excluded.progress_at",
                            (self.name, now, progress_at),
                        )
                        cur.execute(
                            "DELETE FROM projection_runners WHERE seen_at < ?",
                            (now - RUNNERS_KEPT_SECONDS,),
                        )
                except TRANSIENT as error:
                    log.debug("heartbeat not written (%s)", type(error).__name__)
                if stop.wait(HEARTBEAT_SECONDS):
                    return
        finally:
            self.views.close()  # this thread's connection

    def step(self, stop: threading.Event) -> None:
        """One turn of the service loop: connect when not connected, then one poll; on a
        new day first the daily tick."""
        if stop.is_set():
            return
        self.daily_tick()
        if self.consumer is None:
            self.connect()
        self.poll_once()

    def daily_tick(self, today: dt.date | None = None) -> int:
        """Re-evaluate what time alone changed, once a day (every runner may do it: it is
        idempotent); the families re-evaluated."""
        day = today or eligibility.CLOCK()
        if self.ticked_on == day:
            return 0
        evaluated = self._waiting_out_the_database(tick, self.views, self.projections, day)
        self.ticked_on = day
        return evaluated

    def poll_once(self) -> int:
        if self.consumer is None:
            raise RuntimeError("poll_once() before connect()")
        self.check_topic()
        batches = self.consumer.poll(timeout_ms=200)
        if not batches:
            self.progress_at = time.time()  # nothing waiting for it: as good as progress
            return 0
        count = 0
        for partition, records in batches.items():
            count += self.process(partition, records)
        self.consumer.commit()
        self.progress_at = time.time()
        return count

    def process(self, partition: TopicPartition, records: list) -> int:
        """Apply one partition's records; undecodable or failing ones go to the DLQ."""
        good: list[tuple[Any, dict]] = []
        for record in records:
            envelope = self.admit(record)
            if envelope is None:
                continue
            if not self.uses(envelope):
                good.append((record, envelope))  # only tracked: nothing to open or check
                continue
            try:
                envelope = reveal_with_retries(self.codec, envelope)
            except Exception as error:  # noqa: BLE001 - a token that does not open: park it
                # Only the error's kind: its text could quote the message.
                self.dead_letter(record, f"unrevealable: {type(error).__name__}")
                continue
            errors = data_errors(envelope)
            if errors:
                self.dead_letter(record, f"invalid data: fields {', '.join(sorted(errors))}")
                continue
            good.append((record, envelope))
        if not good:
            return 0
        try:
            return self.apply_with_retries([env for _, env in good])
        except TRANSIENT:
            raise
        except Exception:  # noqa: BLE001 - isolate the message that fails, one by one
            log.warning(
                "batch on partition %s failed; applying one message at a time", partition.partition
            )
        applied = 0
        for record, env in good:
            try:
                applied += self.apply_with_retries([env])
            except TRANSIENT:
                raise
            except Exception as error:  # noqa: BLE001 - a poison message must not stop the runner
                self.dead_letter(record, f"{type(error).__name__}: {error}")
        return applied

    def apply_with_retries(self, envelopes: list[dict]) -> int:
        """Apply in one transaction; a busy or absent database is waited out, any other error
        is tried `RETRIES` times (a concurrent writer's conflict) and then raised."""
        return self._waiting_out_the_database(self._conflicts, self._apply, envelopes)

    def _apply(self, envelopes: list[dict]) -> int:
        with self.views.transaction() as cur:
            applied = apply_all(cur, self.projections, envelopes)
            erased = any(env["type"] == ERASURE_EVENT for env in envelopes)
            tables = erased_tables(cur, self.projections) if erased else []
        if erased:  # the rows as they were before the erasure leave the WAL (or dead tuples)
            self.views.purge(tables)
            # and the views as stopped rebuilds left them in their scratch files
            if remove_stale_scratch(self.views):
                log.info("after an erasure: removed the scratch files of stopped rebuilds")
        self.applied += applied
        return applied

    def dead_letter(self, record: Any, error: str) -> None:
        park(self.dlq_producer(), self.views, record, error, GROUP)


def run(system: System, stop: threading.Event | None = None) -> None:
    if not system.settings.kafka:
        raise SystemExit("casework projections: set CASEWORK_KAFKA to the Kafka bootstrap servers")
    Runner(system).run(stop or threading.Event())


# --- rebuild -----------------------------------------------------------------


def _topic_envelopes(
    system: System,
    codec: Codec,
    top: int,
    expected: int,
    read: Callable[[dict], bool] = lambda _: True,
) -> Iterable[dict]:
    """Envelopes on the topic up to position `top`, until `expected` distinct ones were seen,
    revealed when `read` says a projection reads them (one whose tokens do not open is left
    out, as the runner parks it; the others are only tracked, as the runner does)."""
    consumer = system.consumer(
        enable_auto_commit=False,
        client_id="casework-rebuild",
        allow_auto_create_topics=False,
        fetch_max_wait_ms=100,
        max_poll_records=2000,
    )
    try:
        partitions = consumer.partitions_for_topic(EVENTS) or set()
        assigned = [TopicPartition(EVENTS, p) for p in partitions]
        if not assigned:
            return
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        seen: set[int] = set()
        verify, tenant = verifier(system), system.settings.tenant
        idle_since = time.monotonic()
        while len(seen) < expected and time.monotonic() - idle_since < 3:
            batches = consumer.poll(timeout_ms=300)
            if batches:
                idle_since = time.monotonic()
            for records in batches.values():
                for record in records:
                    try:  # what the runner parks, the rebuild leaves out
                        env = admitted(verify, tenant, record)
                    except (BadSignature, wire.BadMessage):
                        continue
                    if env["position"] > top or env["position"] in seen:
                        continue
                    seen.add(env["position"])
                    if not read(env):
                        yield env
                        continue
                    try:
                        opened = reveal_with_retries(codec, env, live=False)
                    except Exception as error:  # noqa: BLE001 - the runner parks it too
                        log.warning(
                            "rebuild: the message at position %s does not reveal (%s)",
                            env["position"],
                            type(error).__name__,
                        )
                        continue
                    yield opened
    finally:
        consumer.close()


def _store_envelopes(
    encoder: wire.EnvelopeEncoder,
    reader: Codec,
    after: int,
    top: int | None,
    read: Callable[[dict], bool] = lambda _: True,
) -> Iterable[dict]:
    """The stored events after `after` (up to `top`), revealed by the rebuild's reader codec
    when `read` says a projection reads them. The others are only tracked: left sealed, and
    for those whose type the stored frame says, only what tracking needs (`tracked`: the
    state is not even decoded). Sealed first, as the relay publishes them: the encoder builds
    each envelope straight from the stored JSON where it can (the relay's fast path, the same
    envelope as the mapper's; tests/unit/test_envelope.py), on an application that reads the
    store as it is."""
    recorder = encoder.app.recorder
    position = after
    while True:
        batch = recorder.select_notifications(position, 1000, stop=top, inclusive_of_start=False)
        if not batch:
            return
        for notification in batch:
            if is_private_topic(notification.topic):
                continue  # accounts and tokens: never published, read by no view
            minimal = encoder.tracked(notification)
            if minimal is not None and not read(minimal):
                yield minimal
                continue
            envelope = encoder.envelope(notification)
            yield reveal_with_retries(reader, envelope, live=False) if read(envelope) else envelope
        position = batch[-1].id


def read_by(projections: list[Projection]) -> Callable[[dict], bool]:
    """Whether any of these projections reads an envelope's data (`Projection.reads`), by
    its stream and event type."""
    known: dict[tuple[str, str], bool] = {}

    def read(envelope: dict) -> bool:
        kind = (envelope["stream_type"], envelope["type"])
        found = known.get(kind)
        if found is None:
            found = known[kind] = any(p.reads(*kind) for p in projections)
        return found

    return read


REBUILD_CHUNK = 1000  # events per read-model transaction of a rebuild
PROGRESS_SECONDS = 5.0  # a rebuild's progress line at most this often


class RebuildProgress:
    """A rebuild's progress line: events done of the total, events/s (every few seconds);
    at the end where the time went (each projection's handlers, the commits, the rest:
    reading and revealing the events)."""

    def __init__(
        self,
        name: str,
        total: int,
        unit: str = "events",
        listener: Callable[[int], None] | None = None,
    ) -> None:
        self.name, self.total, self.unit = name, max(total, 1), unit
        self.started = self.shown = time.monotonic()
        self.spent: dict[str, float] = {}  # projection (or "commit") -> seconds
        self.listener = listener  # also hears what the line says (the rebuild's row in FILLING)

    def add(self, what: str, seconds: float) -> None:
        self.spent[what] = self.spent.get(what, 0.0) + seconds

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.shown < PROGRESS_SECONDS:
            return
        self.shown = now
        if self.listener is not None:
            self.listener(done)
        rate = done / max(now - self.started, 1e-6)
        log.info(
            "rebuilding %s: %d/%d %s (%d%%, %.0f %s/s, about %.0f s left)",
            self.name,
            done,
            self.total,
            self.unit,
            100 * done // self.total,
            rate,
            self.unit,
            max(self.total - done, 0) / max(rate, 1e-6),
        )

    def summary(self, applied: int) -> None:
        took = time.monotonic() - self.started
        parts = [f"{what} {seconds:.1f} s" for what, seconds in self.spent.items()]
        reading = took - sum(self.spent.values())
        log.info(
            "rebuilding %s: %d events applied in %.1f s (%.0f events/s): %s, reading and"
            " revealing %.1f s",
            self.name,
            applied,
            took,
            applied / max(took, 1e-6),
            ", ".join(parts),
            reading,
        )


def _apply_in_chunks(
    views: Database,
    projections: list[Projection],
    names: dict[str, dict[str, str]],
    envelopes: Iterable[dict],
    bar: RebuildProgress | None = None,
    streams: SeenStreams | None = None,
) -> int:
    """Apply the envelopes to every projection's tables, `REBUILD_CHUNK` at a time (the
    projections' batches), one transaction per chunk, or one for all of them in a scratch
    file (nobody else waits for it, and a page is written to it once, not at every commit);
    answers how many events were new (the first projection's count: every projection tracks
    every stream).

    `streams`, for tables that were empty when the rebuild began: the streams its chunks had
    so far (`SeenStreams`, updated here). A stream not seen has no tracking yet, so it is not
    looked up (a look-up in a large table is a page read from the disk cache; a stream
    wrongly taken as seen only costs a look-up). The projections then track in the first
    one's table only (`shared_tracking`): each chunk goes to the others first, which read
    the tracking as it was before the chunk, then to the first, which writes it; each
    decides alike, since each had every chunk before."""
    applied, seen, chunk = 0, 0, []
    timing = bar or RebuildProgress("", 0)
    whole = views.transaction() if views.scratch else nullcontext(None)
    shared = shared_tracking(projections, names) if streams is not None else None

    def write(cur: Cursor, chunk: list[dict]) -> int:
        counts = []
        untracked: set[str] = set()
        if streams is not None:
            untracked.update(streams.first_seen(env["stream_id"] for env in chunk))
        for at, projection in reversed(list(enumerate(projections))):
            began = time.monotonic()
            counts.append(
                apply_envelopes(
                    cur,
                    projection,
                    names[projection.name],
                    chunk,
                    untracked,
                    tracking=shared,
                    writes_tracking=shared is None or at == 0,
                )
            )
            timing.add(projection.name, time.monotonic() - began)
        return counts[-1]

    def committed(outer: Cursor | None, chunk: list[dict]) -> int:
        if outer is not None:
            return write(outer, chunk)
        with views.transaction() as cur:
            count = write(cur, chunk)
            began = time.monotonic()
        timing.add("commit", time.monotonic() - began)
        return count

    with whole as outer:
        for env in envelopes:
            chunk.append(env)
            if len(chunk) >= REBUILD_CHUNK:
                applied += committed(outer, chunk)
                seen += len(chunk)
                chunk = []
                if bar is not None:
                    bar.update(seen)
        if chunk:
            applied += committed(outer, chunk)
        began = time.monotonic()
    timing.add("commit", time.monotonic() - began)
    return applied


class SeenStreams:
    """The streams a rebuild's chunks had so far, as one bit each of a bitmap indexed by a
    hash of the stream's id (8 MB: the city's 950,000 streams as a set of hashes took 73 MB).
    A stream whose bit is clear was never seen; one whose bit is set probably was (about one
    in seventy is not, at the city's size, sharing its bit with another)."""

    BITS = 1 << 26

    def __init__(self) -> None:
        self._bits = bytearray(self.BITS >> 3)

    def first_seen(self, stream_ids: Iterable[str]) -> set[str]:
        """Those of these streams never seen before (each now seen)."""
        bits, mask, new = self._bits, self.BITS - 1, set()
        for stream_id in stream_ids:
            key = hash(stream_id) & mask
            at, bit = key >> 3, 1 << (key & 7)
            if not bits[at] & bit:
                bits[at] |= bit
                new.add(stream_id)
        return new


def shared_tracking(projections: list[Projection], names: dict[str, dict[str, str]]) -> str:
    """The tracking table of projections rebuilt together: the first one's."""
    return names[projections[0].name]["tracking"]


def copy_shared_tracking(
    built: Database, projections: list[Projection], names: dict[str, dict[str, str]]
) -> None:
    """After a rebuild's chunks: each projection's tracking table gets the rows of the one
    they shared (`_apply_in_chunks`), the others' being empty."""
    shared = shared_tracking(projections, names)
    with built.transaction() as cur:
        for projection in projections[1:]:
            cur.execute(f"INSERT INTO {names[projection.name]['tracking']} SELECT * FROM {shared}")


FINISH_CHUNK = 1000  # units (households, families) per transaction of a rebuild's finish


def finish_deferred(
    views: Database,
    projections: list[Projection],
    names: dict[str, dict[str, str]],
    left: dict[str, Deferred],
    bar: RebuildProgress,
) -> None:
    """Each projection's end-of-batch work its batches left to the rebuild's end (`deferring`),
    done once per unit (`Projection.finish`), `FINISH_CHUNK` units per transaction, with a
    progress line every few seconds; its time counts as the projection's."""
    heard = bar.listener
    for projection in projections:
        deferral = left.get(projection.name)  # None: a view without a `finish`
        if deferral is None or projection.finish is None:
            continue
        began = time.monotonic()
        with views.transaction() as cur:
            units = projection.finish.units(cur, names[projection.name], deferral)
        # readers keep being told the view is filled (`FILLING`: all its events read, its
        # row updated, so that it is not taken for a rebuild that was killed)
        finishing = RebuildProgress(
            f"{projection.name}, finishing",
            len(units),
            projection.finish.unit,
            listener=None if heard is None else (lambda _units: heard(bar.total)),
        )
        for at in range(0, len(units), FINISH_CHUNK):
            with views.transaction() as cur:
                projection.finish.apply(cur, names[projection.name], units[at : at + FINISH_CHUNK])
            if len(units) > 1:  # one unit (the register's terms) says how it went itself
                finishing.update(min(at + FINISH_CHUNK, len(units)))
        bar.add(projection.name, time.monotonic() - began)


def groups(names: list[str], workers: int) -> list[list[str]]:
    """The projections split among `workers` processes, each reading the events once: the
    heaviest first (`Projection.rebuild_weight`), each to the group lightest so far."""
    found: list[list[str]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for name in sorted(names, key=lambda n: -PROJECTIONS[n].rebuild_weight):
        lightest = load.index(min(load))
        found[lightest].append(name)
        load[lightest] += PROJECTIONS[name].rebuild_weight
    return [group for group in found if group]


def rebuild(
    system: System, names: list[str], workers: int | None = None, *, in_place: bool = False
) -> None:
    """Rebuild projections into fresh tables and swap them in while readers keep reading.

    The projections are split among `workers` processes (default: one per core, `groups`),
    each reading and revealing the events once for all of its projections and writing in
    transactions of `REBUILD_CHUNK` events; into a scratch file of its own, copied into the
    views at the end (`rebuild_together`), unless `in_place` (less disk: the views are written
    directly, on SQLite the processes taking turns for every chunk).
    `workers=1`: all of them here, from one reading."""
    workers = min(len(names), workers or os.cpu_count() or 1)
    chosen = configured(system.settings)  # as the settings configure each (parameters)
    if workers > 1:
        settings = system.settings
        try:
            ensure_schema(system.views, [chosen[n] for n in names])
        finally:
            system.close()
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [
                pool.submit(_rebuild_in_process, settings, group, in_place)
                for group in groups(names, workers)
            ]
            for future in as_completed(futures):
                future.result()
        return
    app = system.casework
    keystore_of(app).preload()  # every live key at once
    reader = Codec(keystore_of(app), remember=False)  # opens each once
    store, views = system.store, system.views
    # What lives now (the keys just loaded: about a million at city size) lives until the
    # rebuild's end: left out of the collector's full passes, which walked all of it again
    # and again while the events' objects came and went (gc.freeze, undone at the end).
    gc.freeze()
    try:
        ensure_schema(views, [chosen[n] for n in names])
        rebuild_together(
            system, reader, store, views, [chosen[n] for n in names], in_place=in_place
        )
    finally:
        gc.unfreeze()
        system.close()


def _rebuild_in_process(settings: Settings, names: list[str], in_place: bool) -> None:
    """A group of projections rebuilt in a worker process of `rebuild`. A worker whose parent
    (`casework rebuild`) is gone ends (`spawned_worker`); its scratch file, if it has one, is
    then left for the next rebuild to remove (`scratch_views`). Nothing is left half swapped:
    each swap is one transaction."""
    spawned_worker(settings.log_level, "rebuild worker")
    rebuild(bootstrap(settings), names, workers=1, in_place=in_place)


def rebuild_together(
    system: System,
    reader: Codec,
    store: Database,
    views: Database,
    projections: list[Projection],
    *,
    in_place: bool = False,
) -> dict[str, int]:
    """Rebuild these projections from one reading of the events (each event revealed once,
    applied to each projection's fresh tables in the same transaction), then swap each in;
    answers each one's new generation.

    On SQLite the fresh tables are filled in a scratch file of this process (`scratch_views`)
    and copied into the views file at the end, one transaction per projection: processes
    rebuilding side by side do not take turns on the views file for every chunk, and the
    chunks wait for no disk. On PostgreSQL they are filled in a temporary SQLite file
    (`temporary_scratch`) and copied in with COPY (`copy_generation`): a statement sent to the
    server per row and per look-up made the rebuild about five times as slow. With `in_place`
    they are filled in the views database itself."""
    started = time.monotonic()
    settings = system.settings
    expected, top = store_counts(store)
    fresh: dict[str, int] = {}
    names: dict[str, dict[str, str]] = {}
    # the events as stored, for the encoder's fast path (`_store_envelopes`)
    with closing(system.store_reader()) as stored:
        encoder = wire.EnvelopeEncoder(stored, settings.tenant)
        scratch = None
        if not in_place:
            scratch = scratch_views(views) if views.kind == "sqlite" else temporary_scratch()
        try:
            with views.transaction() as cur:
                for projection in projections:
                    live = current_generation(cur, projection, lock=False)
                    fresh[projection.name] = live + 1
                    if scratch is None:
                        _clear_generations(cur, projection, live)
                        names[projection.name] = create_generation(
                            cur, projection, live + 1, read_indexes=False
                        )
            if scratch is not None:
                with scratch.transaction() as cur:
                    for projection in projections:
                        names[projection.name] = create_generation(
                            cur, projection, fresh[projection.name], read_indexes=False
                        )
            label = ", ".join(p.name for p in projections)
            log.info("rebuilding %s from %d events", label, expected)
            filling = [p.name for p in projections]
            start_filling(views, filling, expected, time.time())  # readers are told (FILLING)
            bar = RebuildProgress(
                label,
                expected,
                listener=lambda done: filled_so_far(views, filling, done, time.time()),
            )
            built = scratch or views
            read = read_by(projections)
            applied = 0
            streams = SeenStreams()  # of the fresh (empty) tables: every chunk's streams
            # the views' end-of-batch work for what the events marked, once at the end
            with deferring(projections, names) as left:
                if settings.kafka:
                    from_topic = _topic_envelopes(system, reader, top, expected, read)
                    applied = _apply_in_chunks(built, projections, names, from_topic, bar, streams)
                if applied < expected:
                    source = (
                        "the store" if applied == 0 else "the store (the topic lacks some events)"
                    )
                    log.warning("rebuild of %s: reading from %s", label, source)
                    applied += _apply_in_chunks(
                        built,
                        projections,
                        names,
                        _store_envelopes(encoder, reader, 0, top, read),
                        bar,
                        streams,
                    )
            copy_shared_tracking(built, projections, names)
            finish_deferred(built, projections, names, left, bar)
            bar.summary(applied)
            if scratch is None or not scratch.temporary:  # else in PostgreSQL, after the copy
                made = time.monotonic()
                with built.transaction() as cur, sort_cache(cur):
                    for projection in projections:
                        make_read_indexes(cur, projection, names[projection.name])
                        analyze(cur, names[projection.name])
                log.info("rebuild of %s: indexes made in %.1f s", label, time.monotonic() - made)
            if scratch is not None:
                copied = time.monotonic()
                for projection in projections:
                    copy_generation(views, scratch, projection, fresh[projection.name])
                log.info(
                    "rebuild of %s: copied into the views in %.1f s",
                    label,
                    time.monotonic() - copied,
                )
        except BaseException:
            _not_filling(views, [p.name for p in projections])
            raise
        finally:
            if scratch is not None:
                discard(scratch)
        for projection in projections:
            with views.transaction() as cur:
                # Lock the pointer first: runners wait, then the events stored since `top` are
                # applied.
                cur.execute(
                    "UPDATE projection_state SET generation=generation WHERE name=?",
                    (projection.name,),
                )
                catch_up = list(_store_envelopes(encoder, reader, top, None))
                apply_envelopes(cur, projection, names[projection.name], catch_up)
                cur.execute(
                    "UPDATE projection_state SET generation=?, rebuilt_at=? WHERE name=?",
                    (fresh[projection.name], dt.datetime.now(dt.UTC).isoformat(), projection.name),
                )
                end_filling(cur, projection.name)
            log.info(
                "rebuilt %s: generation %d live after %.1f s",
                projection.name,
                fresh[projection.name],
                time.monotonic() - started,
            )
        return fresh


def _not_filling(views: Database, names: list[str]) -> None:
    """A rebuild that failed no longer says it fills these views (`FILLING`); one that was
    killed leaves its rows, rewritten by the next rebuild of those views."""
    try:
        with views.transaction() as cur:
            for name in names:
                end_filling(cur, name)
    except KEY_STORE_ERRORS as error:  # the database's: the rebuild's own error is raised
        log.warning(
            "rebuild of %s: not cleared as filling (%s)", ", ".join(names), type(error).__name__
        )


def _clear_generations(cur: Cursor, projection: Projection, live: int) -> None:
    """Room for generation live + 1: whatever an earlier rebuild left of it is dropped, and
    generation live - 2 (readers may still be on live - 1)."""
    if live > 2:
        drop_generation(cur, projection, live - 2)
    drop_generation(cur, projection, live + 1)


def scratch_views(views: Database) -> Database:
    """An empty scratch SQLite file beside the views file (same disk, its owner's only),
    for this process's rebuild."""
    path = Path(f"{views.url.path}.rebuild-{os.getpid()}")
    # what a process that had this id left, and what rebuilds stopped midway left
    remove_stale_scratch(views, also=os.getpid())
    # the views file's page size, so that the copy moves pages' rows as they are
    size = views.connection.execute("PRAGMA page_size").fetchone()[0]
    return Database(
        DatabaseUrl(url=f"sqlite:///{path}", kind="sqlite", path=str(path)),
        scratch=True,
        page_size=size,
    )


def remove_stale_scratch(views: Database, also: int | None = None) -> int:
    """Remove the scratch files beside the views file of rebuilds no longer running (killed,
    or ended with their parent: `_rebuild_in_process`), and the one of process `also`;
    answers how many. They hold views as they were when the rebuild read the events, personal
    values of the eligibility view included, so an erasure's clean-up calls this too
    (`Runner`): no erased value survives in a file no rebuild will ever swap in or remove.
    A running rebuild's own file is left to it (it applies the erasure in its catch-up and
    removes the file when it ends)."""
    if views.kind != "sqlite":
        return 0
    base = Path(views.url.path)
    prefix = f"{base.name}.rebuild-"
    removed = 0
    for other in base.parent.glob(f"{prefix}*"):
        owner = other.name[len(prefix) :]
        if owner.isdigit() and (int(owner) == also or not _running(int(owner))):
            other.unlink(missing_ok=True)
            for suffix in ("-journal", "-wal", "-shm"):
                Path(f"{other}{suffix}").unlink(missing_ok=True)
            removed += 1
    return removed


def _running(pid: int) -> bool:
    """Whether a process with this id runs (one of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discard(scratch: Database) -> None:
    scratch.close()  # a temporary one is gone with its connection
    if scratch.temporary:
        return
    path = Path(scratch.url.path)
    for leftover in (path, Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)


SCRATCH = "rebuilt"  # the schema name of the scratch file attached to the views


def copy_generation(views: Database, scratch: Database, projection: Projection, fresh: int) -> None:
    """Generation `fresh` of the projection, built in `scratch`, copied into the views file
    (not live yet: the pointer moves afterwards). Its tables are first created empty as
    `create_generation` makes them, so SQLite copies each table's rows and index entries as
    they are, in one statement; then the scratch file is attached for the copy only (an
    unqualified name could mean one of its tables). A rebuild that swapped in meanwhile is
    refused. Into PostgreSQL, from a temporary scratch file: `_copy_generation_in`."""
    if scratch.temporary:
        _copy_generation_in(views, scratch, projection, fresh)
        return
    scratch.close()  # its exclusive lock released; everything is committed
    with views.transaction() as cur:
        _room_for(cur, projection, fresh)
        tables = list(create_generation(cur, projection, fresh).values())
        for table in tables:
            cur.execute(f"DELETE FROM {table}")  # create_generation's progress row
    conn = views.connection
    conn.execute(f"ATTACH DATABASE ? AS {SCRATCH}", (scratch.url.path,))
    try:
        with views.transaction() as cur:
            for table in tables:
                cur.execute(f"INSERT INTO main.{table} SELECT * FROM {SCRATCH}.{table}")
    finally:
        conn.execute(f"DETACH DATABASE {SCRATCH}")


def _room_for(cur: Cursor, projection: Projection, fresh: int) -> None:
    """Room in the views for generation `fresh` of a rebuild (`_clear_generations`); refused
    when another rebuild swapped its generation in meanwhile."""
    live = current_generation(cur, projection, lock=False)
    if live + 1 != fresh:
        raise RuntimeError(f"rebuild of {projection.name}: generation {live} went live meanwhile")
    _clear_generations(cur, projection, live)


def analyze(cur: Cursor, names: dict[str, str]) -> None:
    """On PostgreSQL, the planner's statistics of a generation's tables taken before it goes
    live (`ANALYZE`): a table filled at once has none until autovacuum comes by, a minute or
    more later, and until then the planner guesses. At the city's size, read just after a
    rebuild, the search by NIK took 324 ms at the median instead of 4 ms, by name 100 ms
    instead of 14 (docs/performance.md, twenty-eighth session). SQLite keeps no statistics
    unless asked, and the views' query plans are checked without them: left as it is."""
    if cur.db.kind != "postgresql":
        return
    for table in names.values():
        cur.execute(f"ANALYZE {table}")


def _copy_generation_in(
    views: Database, scratch: Database, projection: Projection, fresh: int
) -> None:
    """`copy_generation` into PostgreSQL, in one transaction: the generation's tables made
    without their read indexes, each filled by one COPY stream of the scratch's rows (in the
    scratch's column order, named), then the read indexes made on the rows (faster than
    keeping them up to date row by row) and its statistics taken (`analyze`). A rebuild that
    swapped in meanwhile is refused."""
    with views.transaction() as cur:
        _room_for(cur, projection, fresh)
        names = create_generation(cur, projection, fresh, read_indexes=False)
        built = scratch.connection
        for table in names.values():
            cur.execute(f"DELETE FROM {table}")  # create_generation's progress row
            columns = [row[1] for row in built.execute(f"PRAGMA table_info({table})")]
            if not columns:
                raise RuntimeError(f"rebuild of {projection.name}: {table} was not built")
            rows = built.execute(f"SELECT {', '.join(columns)} FROM {table}")
            cur.copy_in(table, columns, rows)
        make_read_indexes(cur, projection, names)
        analyze(cur, names)
