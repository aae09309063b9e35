"""The relay against the real broker, on SQLite and PostgreSQL: envelope, crashes, standby, loss."""

from __future__ import annotations

import datetime as dt
import json
import random
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from kafka import KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.consumer.fetcher import ConsumerRecord

from adapters.bootstrap import bootstrap
from adapters.signing import Signer, Verifier
from adapters.topics import EVENTS, ensure_topics
from adapters.wire import REQUIRED
from consumers.relay import LeaseLost, Relay, TopicWatch, run
from domain.application import SYSTEM, Casework, make_meta
from projections.status import relay_state, store_counts
from tests.conftest import wait_until
from tests.support.events import store_positions
from tests.support.kafka import partitions_of, read_positions

pytestmark = pytest.mark.integration

REGION = "157101"
HEAD_BORN = dt.date(1985, 5, 15)
KK_DATE = "010120"


def nik(born: dt.date, sex: str, serial: int) -> str:
    day = born.day + (40 if sex == "F" else 0)
    return f"{REGION}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def person(serial: int, sex: str) -> dict:
    return {
        "nik": nik(HEAD_BORN, sex, serial),
        "name": f"Warga {serial} {sex}",
        "birth_date": HEAD_BORN.isoformat(),
        "sex": sex,
    }


def add_families(app: Casework, first: int, count: int) -> list[str]:
    """Register `count` households (serials from `first`), each with a wife: 5 events each."""
    ids = []
    for serial in range(first, first + count):
        registered = app.register_household(
            {
                "kk_number": f"{REGION}{KK_DATE}{serial:04d}",
                "kecamatan": "Telanaipura",
                "kelurahan": "Telanaipura",
                "address": f"Jl. Uji No. {serial}",
                "rt": "001",
                "rw": "002",
                "head": person(serial, "M"),
            },
            make_meta(SYSTEM, "api"),
        )
        app.add_member(
            {
                "household_id": registered.stream_id,
                "person": person(serial, "F"),
                "relationship": "istri",
            },
            make_meta(SYSTEM, "api"),
        )
        ids.append(registered.stream_id)
    return ids


def read_topic(bootstrap: str, positions: list[int], timeout: float = 30) -> list[ConsumerRecord]:
    """Every message on the events topic, in partition order, once all `positions` arrived
    (duplicates included, so the checks see all of them)."""
    records = read_positions(bootstrap, positions, timeout)
    return sorted(records, key=lambda r: (r.partition, r.offset))


def assert_complete_and_ordered(records: list[ConsumerRecord], positions: list[int]) -> int:
    """Every position at least once, copies byte-identical, per stream versions 1..n in order.

    Returns the number of duplicate messages.
    """
    values: dict[int, set[bytes]] = defaultdict(set)
    first_seen: dict[str, list[int]] = defaultdict(list)
    last_position: dict[str, int] = {}
    for record in records:
        envelope = json.loads(record.value)
        values[envelope["position"]].add(record.value)
        stream = envelope["stream_id"]
        assert record.key == stream.encode()
        if envelope["version"] not in first_seen[stream]:
            first_seen[stream].append(envelope["version"])
            assert envelope["position"] > last_position.get(stream, 0)
            last_position[stream] = envelope["position"]
    assert sorted(values) == sorted(positions)
    assert all(len(copies) == 1 for copies in values.values()), "a duplicate differs"
    for stream, versions in first_seen.items():
        assert versions == list(range(1, len(versions) + 1)), f"stream {stream}: {versions}"
    return len(records) - len(positions)


def published_all(store_db) -> bool:
    count, top = store_counts(store_db)
    return relay_state(store_db) == (top, count)


def log_text(proc: subprocess.Popen) -> str:
    return Path(proc.log_file).read_text()  # type: ignore[attr-defined]


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def lease_holder_pid(store_db) -> int | None:
    row = store_db.query_one("SELECT owner FROM casework_relay_lease WHERE name='main'")
    return int(row[0].split(":")[1]) if row else None


def test_envelope_on_the_topic(casework, broker, settings, store_db):
    stop = threading.Event()
    relay = threading.Thread(target=run, args=(bootstrap(settings), stop), daemon=True)
    relay.start()
    try:
        [household] = add_families(casework, 1, 1)
        positions = store_positions(casework)
        wait_until(lambda: published_all(store_db), 30, "the relay to publish")
        records = read_topic(broker.bootstrap, positions)
    finally:
        stop.set()
        relay.join(30)
    assert not relay.is_alive()

    assert assert_complete_and_ordered(records, positions) == 0
    signer = Signer(settings.signing_key)
    verifier, verifier_id = Verifier.from_jwks(signer.jwks()), signer.key_id
    envelopes = [json.loads(r.value) for r in records]
    for record, envelope in zip(records, envelopes, strict=True):
        assert set(REQUIRED) | {"reason", "source"} <= set(envelope)
        assert envelope["tenant"] == settings.tenant
        headers = dict(record.headers)
        assert headers.pop("signature") and headers.pop("key_id") == verifier_id.encode()
        headers.pop("proof")  # its path to the signed root of its chunk
        assert headers == {
            "type": envelope["type"].encode(),
            "position": str(envelope["position"]).encode(),
        }
        # Signed by the system: whoever holds the public key can check it.
        verifier.verify(record.topic, record.key, record.value, record.headers)
        assert envelope["actor"] == {"id": "system", "role": "admin", "opd": None}
        assert envelope["source"] == "api"
    ours = sorted((e for e in envelopes if e["stream_id"] == household), key=lambda e: e["version"])
    assert [(e["stream_type"], e["type"], e["version"]) for e in ours] == [
        ("Household", "HouseholdRegistered", 1),
        ("Household", "MemberAdded", 2),
    ]
    assert ours[0]["position"] < ours[1]["position"]
    # Personal fields travel as ciphertext; readers with the key store open them.
    kk_token = ours[0]["data"]["kk_number"]
    assert kk_token.startswith("pd1.") and f"{REGION}{KK_DATE}0001" not in json.dumps(envelopes)
    assert casework.codec.open(kk_token) == f"{REGION}{KK_DATE}0001"
    assert {e["type"] for e in envelopes} == {
        "HouseholdRegistered",
        "MemberAdded",
        "KkClaimed",
        "NikClaimed",
    }
    # A clean stop records the position and releases the lease.
    assert published_all(store_db)
    assert lease_holder_pid(store_db) is None


def test_sigkill_three_times_loses_nothing(casework, broker, store_db, processes):
    rng = random.Random()
    relay = processes.start("relay")
    serial = 1
    for _ in range(3):
        # Measured before adding: the relay may publish all 250 while they are added.
        before = relay_state(store_db)[0]
        add_families(casework, serial, 250)
        serial += 250
        wait_until(lambda b=before: relay_state(store_db)[0] > b, 30, "the relay to publish")
        time.sleep(rng.uniform(0, 0.3))
        kill(relay)
        relay = processes.start("relay")
    add_families(casework, serial, 250)
    positions = store_positions(casework)
    assert len(positions) == 5000

    wait_until(lambda: published_all(store_db), 60, "the relay to publish everything")
    duplicates = assert_complete_and_ordered(read_topic(broker.bootstrap, positions), positions)
    assert duplicates <= 3 * 1000, "more than one unconfirmed batch per crash was resent"
    assert relay_state(store_db) == (positions[-1], 5000)


def test_standby_takes_over_when_the_leader_dies(casework, broker, store_db, processes):
    relays = [processes.start("relay", name="relay-a"), processes.start("relay", name="relay-b")]
    add_families(casework, 1, 50)
    wait_until(lambda: published_all(store_db), 30, "the leader to publish")
    leader_pid = lease_holder_pid(store_db)
    [leader] = [p for p in relays if p.pid == leader_pid]
    [standby] = [p for p in relays if p is not leader]
    wait_until(lambda: "standby: another relay holds the lease" in log_text(standby), 10, "standby")
    # on a starved machine the first to start may have held the lease and lost it before
    # publishing anything: the standby is the one standing by now, whatever came before
    before = len(log_text(standby))

    kill(leader)
    add_families(casework, 51, 50)
    wait_until(lambda: published_all(store_db), 60, "the standby to take over")
    assert lease_holder_pid(store_db) == standby.pid
    assert "took the lease" in log_text(standby)[before:]

    positions = store_positions(casework)
    assert_complete_and_ordered(read_topic(broker.bootstrap, positions), positions)


def test_broker_loss_republishes_from_the_beginning(
    casework, broker, settings, store_db, processes
):
    relay = processes.start("relay")
    add_families(casework, 1, 40)
    wait_until(lambda: published_all(store_db), 30, "the relay to publish")
    read_topic(broker.bootstrap, store_positions(casework))

    broker.restart()
    wait_until(lambda: "broker lost its data" in log_text(relay), 30, "the relay to notice")
    add_families(casework, 41, 10)
    positions = store_positions(casework)
    wait_until(lambda: published_all(store_db), 30, "the relay to republish")

    assert "republishing from the beginning" in log_text(relay)
    assert len(partitions_of(broker.bootstrap, EVENTS)) == settings.partitions
    assert_complete_and_ordered(read_topic(broker.bootstrap, positions), positions)
    assert relay.poll() is None


def test_end_offsets_are_wrong_but_never_zero_once_data_exists(broker):
    """What the relay's broker-loss check relies on (environment.md, Trap 2)."""
    ensure_topics(broker.bootstrap, 6)
    watch = TopicWatch(broker.bootstrap)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=50)
    try:
        assert watch.state().has_data is False
        for _ in range(100):
            producer.send(EVENTS, value=b"v", partition=0)
        producer.flush()
        ends = watch.admin.list_partition_offsets({TopicPartition(EVENTS, 0): OffsetSpec.LATEST})
        assert 0 < ends[TopicPartition(EVENTS, 0)].offset  # Tansu: last batch's base + 1, not 100
        assert watch.state().has_data is True
    finally:
        producer.close()
        watch.close()


def test_lease_is_exclusive_and_fences_a_relay_that_lost_it(settings, store_db):
    first, second = (
        Relay(bootstrap(settings), lease_seconds=0.5),
        Relay(bootstrap(settings), lease_seconds=0.5),
    )
    try:
        first.open()
        second.open()
        assert first.acquire_lease()
        assert not second.acquire_lease()
        time.sleep(0.6)  # the first relay stalls past its lease
        assert second.acquire_lease()
        with pytest.raises(LeaseLost):
            first._record(123, 1)
        assert relay_state(store_db) == (0, 0)
        assert lease_holder_pid(store_db) is not None
    finally:
        first.close()
        second.close()
    assert lease_holder_pid(store_db) is None


def test_a_recreated_topic_that_already_holds_resent_messages_is_republished(
    casework, broker, settings, store_db
):
    """The broker restarted empty while messages were in flight: the producer's retries land
    in the topic made again, so it is not empty, yet everything before is gone. The relay
    tells the topic by its id and republishes from the beginning (under `casework up` it
    resumed after its position, and the first events never reached the new topic)."""
    relay = Relay(bootstrap(settings), envelope_worker=False)
    try:
        relay.open()
        assert relay.acquire_lease()
        relay.connect()
        add_families(casework, 1, 5)
        relay.publish_pending()
        positions = store_positions(casework)
        [*_, last] = read_topic(broker.bootstrap, positions)

        broker.restart()
        ensure_topics(broker.bootstrap, settings.partitions)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        producer.send(EVENTS, key=last.key, value=last.value, headers=last.headers).get(10)
        producer.close()

        relay._disconnect()  # what the relay does after a failed send
        relay.connect()
        relay.publish_pending()
    finally:
        relay.close()
    assert relay_state(store_db)[1] == len(positions)
    assert_complete_and_ordered(read_topic(broker.bootstrap, positions), positions)
