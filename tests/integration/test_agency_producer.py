"""The agency producer against the real broker, with a stand-in for the agreements' filter
(the filter itself is tested with the agreements; test_agency_topics.py runs both together).

What an agency reads `read_committed` from its topic: each event its filter lets through,
once, in the filter's shape, signed for that topic; the relay's resends, a restart, a
producer killed mid-transaction and forged messages change nothing of that."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from adapters import wire
from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from adapters.signing import Signer, Verifier
from adapters.topics import DLQ, EVENTS, FOREVER, agency_topic
from consumers import agency_producer
from consumers.agency_producer import AgencyProducer
from tests.conftest import ROOT, wait_until
from tests.support.events import SIGNER, publish_store, register_families, store_positions
from tests.support.kafka import (
    committed_offsets,
    next_offsets,
    partitions_of,
    read_all,
    read_committed,
)

pytestmark = pytest.mark.integration

# What each fake agreement lets through: agency -> (event type, data fields kept).
AGREEMENTS = {
    "DINKES": ("HouseholdRegistered", ("kecamatan", "kelurahan")),
    "BPJS": ("MemberAdded", ("relationship",)),
}


@dataclass(frozen=True)
class Delivery:
    envelope: dict[str, Any]
    read: Any


class FakeFilter:
    """The AgencyFilter interface (design, section 3) with fixed agreements."""

    def __init__(self) -> None:
        self.views_at = 10**9
        self.asked: list[tuple[str, int]] = []
        self.loaded: list[int] = []  # positions whose keys were asked for before delivering

    def agencies(self) -> list[str]:
        return list(AGREEMENTS)

    def caught_up_to(self) -> int:
        return self.views_at

    def versions(self, agency: str) -> list[Any]:
        return [SimpleNamespace(event_types=frozenset(AGREEMENTS[agency][:1]))]

    def deliver(self, agency: str, envelope: dict[str, Any], today=None) -> Delivery | None:
        assert envelope["position"] <= self.views_at, "delivered before the view applied it"
        self.asked.append((agency, envelope["position"]))
        event_type, kept = AGREEMENTS[agency]
        if envelope["type"] != event_type:
            return None
        data = {k: v for k, v in envelope["data"].items() if k in kept}
        return Delivery(
            {**envelope, "data": data, "agreement": {"agency": agency, "version": 1}},
            envelope["stream_id"],
        )

    def prefetch(self, envelopes) -> None:
        self.loaded.extend(e["position"] for e in envelopes)

    def deliver_all(self, agencies, envelope: dict[str, Any], today=None) -> dict[str, Delivery]:
        found = {agency: self.deliver(agency, envelope, today) for agency in agencies}
        return {agency: delivery for agency, delivery in found.items() if delivery is not None}


@pytest.fixture(params=["sqlite"])
def backend(request, tmp_path) -> dict[str, str]:
    """SQLite only: what is tested here is Kafka's side (the databases are the relay's and
    the runner's concern, tested on both)."""
    return {
        "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
        "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
    }


class Recorded:
    def __init__(self) -> None:
        self.reads: list[tuple[str, str, str, int]] = []
        self.deliveries: list[tuple[str, str, int, int]] = []

    def record_reads(self, store, channel, deliveries) -> int:
        for agency, endpoint, reads in deliveries:
            self.reads.append((agency, channel, endpoint, len(reads)))
        return len(deliveries)

    def record_delivery(self, views, agency, channel, position, *, delivered=0, **_) -> None:
        self.deliveries.append((agency, channel, position, delivered))


class Running:
    """An AgencyProducer in a thread."""

    def __init__(
        self, system, fake: FakeFilter, recorded: Recorded, worker: int = 0, workers: int = 1
    ) -> None:
        self.stop = threading.Event()
        self.producer = AgencyProducer(
            system,
            fake,
            record_reads=recorded.record_reads,
            record_delivery=recorded.record_delivery,
            follow_runner=False,  # no projection runner here: the fake filter is the view
            worker=worker,
            workers=workers,
        )
        self.thread = threading.Thread(target=self.producer.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def running(settings) -> Iterator:
    started: list[Running] = []

    def start(fake: FakeFilter, recorded: Recorded, worker: int = 0, workers: int = 1) -> Running:
        # each with its own databases
        started.append(Running(bootstrap(settings), fake, recorded, worker, workers))
        return started[-1]

    yield start
    for each in started:
        each.stop.set()
        each.thread.join(30)


def expected(casework) -> dict[str, set[int]]:
    """Per agency, the positions of the events its fake agreement lets through."""
    wanted: dict[str, set[int]] = {code: set() for code in AGREEMENTS}
    after = 0
    while batch := casework.recorder.select_notifications(after, 1000, inclusive_of_start=False):
        for n in batch:
            for code, (event_type, _) in AGREEMENTS.items():
                if n.topic.endswith(f".{event_type}"):
                    wanted[code].add(n.id)
        after = batch[-1].id
    return wanted


def positions_on(bootstrap_servers: str, code: str) -> list[int]:
    return sorted(
        int(dict(r.headers)["position"])
        for r in read_committed(bootstrap_servers, agency_topic(code))
    )


def delivered_all(bootstrap_servers: str, wanted: dict[str, set[int]]) -> bool:
    return all(set(positions_on(bootstrap_servers, c)) >= p for c, p in wanted.items())


def test_each_allowed_event_once_in_its_shape_and_signed(
    casework, relay_reader, broker, settings, running
):
    register_families(casework, 12)
    publish_store(relay_reader, broker.bootstrap)
    fake, recorded = FakeFilter(), Recorded()
    worker = running(fake, recorded)
    wanted = expected(casework)
    assert all(wanted.values())
    wait_until(lambda: delivered_all(broker.bootstrap, wanted), 30, "the agency topics")
    worker.halt()

    verifier = Verifier.from_jwks(Signer(settings.signing_key).jwks())
    for code, (event_type, kept) in AGREEMENTS.items():
        topic = agency_topic(code)
        records = read_committed(broker.bootstrap, topic)
        assert sorted(int(dict(r.headers)["position"]) for r in records) == sorted(wanted[code])
        assert len(partitions_of(broker.bootstrap, topic)) == settings.partitions
        for record in records:
            verifier.verify(topic, record.key, record.value, record.headers)
            envelope = json.loads(record.value)
            assert envelope["type"] == event_type
            assert set(envelope["data"]) <= set(kept)
            assert envelope["agreement"] == {"agency": code, "version": 1}
            assert record.key == envelope["stream_id"].encode()
            assert dict(record.headers)["type"] == event_type.encode()
            # Signed for its own topic: the same message does not verify for another.
            other = agency_topic(next(c for c in AGREEMENTS if c != code))
            with pytest.raises(ValueError):
                verifier.verify(other, record.key, record.value, record.headers)
    # Each event of a type an agreement takes was offered to that agency once, after the
    # view had applied it (FakeFilter checks); the other types were not asked about.
    assert len(fake.asked) == len(set(fake.asked))
    assert set(fake.asked) == {(code, p) for code, found in wanted.items() for p in found}
    # Their keys were fetched for the batch before any of them was judged.
    assert {p for _, p in fake.asked} <= set(fake.loaded)
    assert len(store_positions(casework)) > len(fake.asked) / len(AGREEMENTS)
    delivered = {code: sum(n for a, _, _, n in recorded.deliveries if a == code) for code in wanted}
    assert delivered == {code: len(p) for code, p in wanted.items()}
    assert {channel for _, channel, _, _ in recorded.deliveries} == {"topic"}
    assert {(a, ch, ep) for a, ch, ep, _ in recorded.reads} == {
        (code, "kafka", agency_topic(code)) for code in AGREEMENTS
    }


def test_resends_restarts_a_zombie_transaction_and_forgeries_deliver_nothing_twice(
    casework, relay_reader, broker, settings, running
):
    register_families(casework, 6)
    publish_store(relay_reader, broker.bootstrap)
    first = running(FakeFilter(), Recorded())
    wait_until(lambda: delivered_all(broker.bootstrap, expected(casework)), 30, "a first pass")
    first.halt()

    # The relay resends what it published (as after a crash), and more is stored meanwhile.
    register_families(casework, 6, seed=7)
    publish_store(relay_reader, broker.bootstrap)
    # A forged event: a real household's message with its data changed, signature kept.
    [original] = [
        r
        for r in read_all(broker.bootstrap, partitions_of(broker.bootstrap, EVENTS))
        if dict(r.headers)["type"] == b"HouseholdRegistered"
    ][:1]
    forged = dict(json.loads(original.value), position=10**9)
    plain = KafkaProducer(bootstrap_servers=broker.bootstrap)
    # One without headers first (no type says it may be left unopened: it is opened and
    # parked), then one with the original's (same key: same partition, after it).
    plain.send(EVENTS, key=original.key, value=wire.encode(forged))
    plain.send(EVENTS, key=original.key, value=wire.encode(forged), headers=original.headers)
    plain.flush()
    plain.close()
    # A producer that died mid-transaction: what it wrote stays open until the next one
    # fences it (the embedded broker then shows it even to read_committed readers).
    zombie = KafkaProducer(bootstrap_servers=broker.bootstrap, **agency_producer.PRODUCER_SETTINGS)
    zombie.init_transactions()
    zombie.begin_transaction()
    # It got as far as the first DINKES event still due in each partition (a producer sends
    # a partition's messages in order, so what it leaves behind is a prefix of them).
    due_now = set(expected(casework)["DINKES"]) - set(positions_on(broker.bootstrap, "DINKES"))
    first_due: dict[int, tuple[int, object]] = {}
    for record in read_all(broker.bootstrap, partitions_of(broker.bootstrap, EVENTS)):
        position = json.loads(record.value)["position"]
        if position in due_now and position < first_due.get(record.partition, (10**9,))[0]:
            first_due[record.partition] = (position, record)
    assert first_due
    for _, record in first_due.values():
        envelope = json.loads(record.value)
        envelope = {**envelope, "data": {}, "agreement": {"agency": "DINKES", "version": 1}}
        value = wire.encode(envelope)
        topic = agency_topic("DINKES")
        zombie.send(
            topic,
            key=record.key,
            value=value,
            partition=record.partition,
            headers=SIGNER.headers(topic, record.key, value, wire.headers(envelope)),
        )
    zombie.flush()
    agency_producer.abandon(zombie)

    second = running(FakeFilter(), Recorded())
    wanted = expected(casework)
    wait_until(lambda: delivered_all(broker.bootstrap, wanted), 30, "the agency topics")
    second.halt()

    for code, positions in wanted.items():
        assert positions_on(broker.bootstrap, code) == sorted(positions), code
    parked = read_all(broker.bootstrap, partitions_of(broker.bootstrap, DLQ))
    assert [dict(m.headers)["reason"] for m in parked] == [b"unverified", b"unverified"]
    assert 10**9 not in {p for c in AGREEMENTS for p in positions_on(broker.bootstrap, c)}


def partition_of(bootstrap_servers: str) -> dict[int, int]:
    """Position -> the events topic's partition it is in."""
    return {
        json.loads(r.value)["position"]: r.partition
        for r in read_all(bootstrap_servers, partitions_of(bootstrap_servers, EVENTS))
    }


def test_two_workers_share_the_partitions_and_deliver_each_event_once(
    casework, relay_reader, broker, settings, running
):
    register_families(casework, 12)
    publish_store(relay_reader, broker.bootstrap)
    fakes = [FakeFilter(), FakeFilter()]
    workers = [running(fakes[i], Recorded(), worker=i, workers=2) for i in range(2)]
    wanted = expected(casework)
    wait_until(lambda: delivered_all(broker.bootstrap, wanted), 30, "the agency topics")
    for code, found in wanted.items():
        assert positions_on(broker.bootstrap, code) == sorted(found), code
    # Each worker was asked only about the events of its own partitions, and between them
    # about every event once.
    where = partition_of(broker.bootstrap)
    for i, fake in enumerate(fakes):
        assert fake.asked and {where[p] % 2 for _, p in fake.asked} == {i}
    asked = fakes[0].asked + fakes[1].asked
    assert sorted(asked) == sorted({(c, p) for c, found in wanted.items() for p in found})

    # One worker stops; what is stored meanwhile waits for it (the other does not take its
    # partitions), and its successor delivers it once, after the committed offsets.
    workers[1].halt()
    register_families(casework, 12, seed=5)
    publish_store(relay_reader, broker.bootstrap)
    wanted = expected(casework)
    where = partition_of(broker.bootstrap)
    wait_until(
        lambda: all(
            set(positions_on(broker.bootstrap, c)) >= {p for p in found if where[p] % 2 == 0}
            for c, found in wanted.items()
        ),
        30,
        "worker 0's share",
    )
    assert not any(
        set(positions_on(broker.bootstrap, c)) >= found for c, found in wanted.items()
    ), "worker 1's partitions went out without worker 1"
    running(FakeFilter(), Recorded(), worker=1, workers=2)
    wait_until(lambda: delivered_all(broker.bootstrap, wanted), 30, "worker 1's successor")
    for code, found in wanted.items():
        assert positions_on(broker.bootstrap, code) == sorted(found), code
    committed = committed_offsets(broker.bootstrap, workers[0].producer.group)
    ends = next_offsets(read_all(broker.bootstrap, partitions_of(broker.bootstrap, EVENTS)))
    assert all(committed.get(tp, 0) >= end for tp, end in ends.items())


def test_a_worker_is_told_its_share_within_bounds(settings):
    with pytest.raises(ValueError, match="worker 2 of 2"):
        AgencyProducer(bootstrap(settings), FakeFilter(), worker=2, workers=2)
    assert agency_producer.transactional_id(0) == agency_producer.TRANSACTIONAL_ID
    assert agency_producer.transactional_id(1) != agency_producer.transactional_id(0)


def topic_settings(bootstrap_servers: str, topic: str) -> dict[str, str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        found = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all"
        )
    finally:
        admin.close()
    return {k: v["value"] for k, v in found["topic"][topic].items()}


def test_agency_topics_keep_messages_the_days_set_also_one_made_before_for_ever(
    casework, relay_reader, broker, env, settings
):
    """An agency topic carries personal data in clear where an agreement allows it: kept
    CASEWORK_AGENCY_RETENTION_DAYS days, so an erased person's messages leave it. A topic made
    for ever before (by an earlier version, kafka-init) is changed when the producer starts;
    the events topic stays for ever (contract)."""
    register_families(casework, 2)
    publish_store(relay_reader, broker.bootstrap)
    worker = Running(bootstrap(settings), FakeFilter(), Recorded())
    try:
        wait_until(lambda: delivered_all(broker.bootstrap, expected(casework)), 30, "the events")
    finally:
        worker.halt()
    month, day = str(30 * 86_400_000), str(86_400_000)
    for code in AGREEMENTS:  # made by the producer: the default, 30 days
        found = topic_settings(broker.bootstrap, agency_topic(code))
        assert (found["retention.ms"], found["cleanup.policy"]) == (month, "delete"), code
        assert found["segment.ms"] == day, code
    # One topic as an earlier version made it: kept for ever (made here by the producer and
    # changed: the embedded broker does not let the producer write a topic another client made).
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, agency_topic("DINKES"), configs=FOREVER)],
            raise_on_unknown=False,
        )
    finally:
        admin.close()
    assert topic_settings(broker.bootstrap, agency_topic("DINKES"))["retention.ms"] == "-1"

    register_families(casework, 1, seed=2)
    publish_store(relay_reader, broker.bootstrap)
    week = Settings.from_env({**env, "CASEWORK_AGENCY_RETENTION_DAYS": "7"})
    worker = Running(bootstrap(week), FakeFilter(), Recorded())
    try:
        wait_until(lambda: delivered_all(broker.bootstrap, expected(casework)), 30, "the events")
    finally:
        worker.halt()
    for code in AGREEMENTS:
        found = topic_settings(broker.bootstrap, agency_topic(code))
        assert found["retention.ms"] == str(7 * 86_400_000), code
        assert (found["cleanup.policy"], found["segment.ms"]) == ("delete", day), code
    assert topic_settings(broker.bootstrap, EVENTS)["retention.ms"] == "-1"


class EmptyUntilCaughtUp(FakeFilter):
    """A view that knows no agreement until it has caught up (it applies them then)."""

    def agencies(self) -> list[str]:
        return list(AGREEMENTS) if self.views_at else []


def test_waits_for_the_agencies_view(casework, relay_reader, broker, running):
    register_families(casework, 3)
    publish_store(relay_reader, broker.bootstrap)
    fake = FakeFilter()
    fake.views_at = 0
    running(fake, Recorded())
    wanted = expected(casework)
    wait_until(lambda: partitions_of(broker.bootstrap, agency_topic("DINKES")), 20, "topics")
    threading.Event().wait(1.0)  # time enough to have delivered had it not waited
    assert not any(positions_on(broker.bootstrap, c) for c in AGREEMENTS)
    assert not fake.asked
    fake.views_at = 10**9  # the view caught up: out it goes (FakeFilter checks the order)
    wait_until(lambda: delivered_all(broker.bootstrap, wanted), 30, "the events")


def test_agreements_the_view_applies_while_the_producer_waits_count_for_that_batch(
    casework, relay_reader, broker, running
):
    """The agreements are defined just before the burst: the producer starts while the view
    knows none, waits for it, and must then ask the view again (a first version kept the
    list from its start for two seconds and committed those events undelivered)."""
    register_families(casework, 3)
    publish_store(relay_reader, broker.bootstrap)
    fake = EmptyUntilCaughtUp()
    fake.views_at = 0
    running(fake, Recorded())
    threading.Event().wait(0.5)
    fake.views_at = 10**9
    wait_until(lambda: delivered_all(broker.bootstrap, expected(casework)), 30, "the events")


def test_the_example_agency_consumer_prints_verified_events_and_refuses_forgeries(
    casework, relay_reader, broker, settings, running, tmp_path
):
    register_families(casework, 4)
    publish_store(relay_reader, broker.bootstrap)
    worker = running(FakeFilter(), Recorded())
    wanted = expected(casework)
    wait_until(lambda: delivered_all(broker.bootstrap, wanted), 30, "the agency topics")
    worker.halt()
    # A forgery on the agency's topic: a delivered message with its data changed.
    topic = agency_topic("DINKES")
    [genuine, *_] = read_committed(broker.bootstrap, topic)
    changed = json.loads(genuine.value)
    changed["data"] = {"kecamatan": "Pasar Jambi"}
    plain = KafkaProducer(bootstrap_servers=broker.bootstrap)
    plain.send(
        topic,
        key=genuine.key,
        value=wire.encode({**changed, "position": 10**9}),
        headers=genuine.headers,
        partition=genuine.partition,
    )
    plain.flush()
    plain.close()
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(Signer(settings.signing_key).jwks()))  # what /api/v1/keys says

    command = [sys.executable, "-m", "consumers.example_agency_consumer"]
    helped = subprocess.run([*command, "--help"], capture_output=True, text=True, cwd=ROOT)
    assert helped.returncode == 0 and "read_committed" in helped.stdout
    ran = subprocess.run(
        [
            *command,
            "--bootstrap",
            broker.bootstrap,
            "--agency",
            "DINKES",
            "--keys-file",
            str(keys),
            "--state",
            str(tmp_path / "handled.sqlite"),
            "--idle-exit",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    printed = [json.loads(line) for line in ran.stdout.splitlines()]
    assert sorted(e["position"] for e in printed) == sorted(wanted["DINKES"])
    assert all(e["agreement"]["agency"] == "DINKES" for e in printed)
    assert ran.stderr.count("refused") == 1 and "bad signature" in ran.stderr
    assert "Pasar Jambi" not in ran.stderr  # the refusal does not quote the message
    # Run again with the same group: its offsets were committed, nothing is printed twice.
    again = subprocess.run(ran.args, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert again.returncode == 0 and again.stdout == ""
    # It stands alone: nothing of Casework is imported, only kafka-python and cryptography.
    source = (ROOT / "consumers/example_agency_consumer.py").read_text()
    assert not re.search(
        r"^\s*(from|import) (app|adapters|domain|projections|consumers)\b", source, re.M
    )


def test_the_example_agency_consumer_passes_over_what_it_handled_before_a_crash(
    casework, relay_reader, broker, settings, running, tmp_path
):
    """What its docstring says: an event handled is not handled again, even when the reader
    stopped before committing its offsets (here: the next run reads with a group that has
    none, as after a crash between printing and committing) or when a message comes twice
    (a genuine one sent again, as a producer's retry does). It keeps the event ids it handled
    in a small SQLite file (--state)."""
    register_families(casework, 3)
    publish_store(relay_reader, broker.bootstrap)
    worker = running(FakeFilter(), Recorded())
    wanted = expected(casework)
    wait_until(lambda: delivered_all(broker.bootstrap, wanted), 30, "the agency topics")
    worker.halt()
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(Signer(settings.signing_key).jwks()))
    state = tmp_path / "handled.sqlite"

    def run(group: str, state_file=state) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "consumers.example_agency_consumer",
                "--bootstrap",
                broker.bootstrap,
                "--agency",
                "DINKES",
                "--keys-file",
                str(keys),
                "--state",
                str(state_file),
                "--group",
                group,
                "--idle-exit",
                "2",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )

    first = run("dinkes-a")
    assert first.returncode == 0, first.stderr[-2000:]
    printed = [json.loads(line) for line in first.stdout.splitlines()]
    assert sorted(e["position"] for e in printed) == sorted(wanted["DINKES"])
    # a genuine message delivered twice: signed as it was, on the same partition
    topic = agency_topic("DINKES")
    [genuine, *_] = read_committed(broker.bootstrap, topic)
    plain = KafkaProducer(bootstrap_servers=broker.bootstrap)
    plain.send(
        topic,
        key=genuine.key,
        value=genuine.value,
        headers=genuine.headers,
        partition=genuine.partition,
    )
    plain.flush()
    plain.close()
    # no offsets committed for this group: every message comes again, none is printed again
    again = run("dinkes-b")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout == "" and "refused" not in again.stderr
    # another state (another reader): all of them, the one sent twice once
    fresh = run("dinkes-c", tmp_path / "other.sqlite")
    positions = [json.loads(line)["position"] for line in fresh.stdout.splitlines()]
    assert sorted(positions) == sorted(wanted["DINKES"])
