"""The projection runner against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid

import pytest
from kafka import KafkaProducer

from adapters import wire
from adapters.bootstrap import bootstrap
from adapters.db import Database
from adapters.topics import DLQ, EVENTS, ensure_topics
from consumers.runner import rebuild
from projections import register
from projections.base import drop_generation, live_tables, progress
from projections.catalog import PROJECTIONS
from projections.status import dead_letter_count, store_counts
from tests.conftest import wait_until
from tests.support.events import publish_store, register_families, signed
from tests.support.kafka import partitions_of, read_all

pytestmark = pytest.mark.integration


def applied(views_db) -> int:
    if not views_db.table_exists("projection_state"):
        return 0
    return progress(views_db, register.PROJECTION)[0]


def caught_up(views_db, store_db) -> bool:
    return applied(views_db) == store_counts(store_db)[0]


def dlq_messages(bootstrap: str) -> list:
    """Every message on the dead-letter topic."""
    return read_all(bootstrap, partitions_of(bootstrap, DLQ))


def test_garbage_message_lands_in_dlq_and_runner_goes_on(
    casework, relay_reader, broker, store_db, views_db, processes
):
    register_families(casework, 5)
    position = publish_store(relay_reader, broker.bootstrap)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    # Signed by the system (a bug of its own), yet no envelope: parked as undecodable.
    producer.send(EVENTS, **signed(b"garbage", b"{this is not an envelope")).get(timeout=10)
    producer.close()

    processes.start("projections")
    wait_until(lambda: caught_up(views_db, store_db), 60, "the register to catch up")
    wait_until(lambda: dead_letter_count(views_db) == 1, 30, "the dead letter to be counted")

    parked = dlq_messages(broker.bootstrap)
    assert [m.value for m in parked] == [b"{this is not an envelope"]
    headers = dict(parked[0].headers)
    assert headers["error"].startswith(b"undecodable")
    assert headers["original_topic"] == EVENTS.encode()

    # The runner goes on: later events still reach the register.
    ids = register_families(casework, 2, seed=99)
    publish_store(relay_reader, broker.bootstrap, after=position)
    wait_until(lambda: caught_up(views_db, store_db), 30, "the runner to apply new events")
    assert all(register.get_household(views_db, i) for i in ids)


def test_sigkill_mid_batch_three_times_equals_a_fresh_rebuild(
    casework, relay_reader, broker, store_db, views_db, processes, settings
):
    register_families(casework, 400)
    publish_store(relay_reader, broker.bootstrap)
    total = store_counts(store_db)[0]
    rng = random.Random(7)

    runner = processes.start("projections")
    for _ in range(3):
        before = applied(views_db)
        # Kill it while it is applying: after it has moved, before it is done.
        wait_until(lambda b=before: applied(views_db) > b, 60, "the runner to make progress")
        time.sleep(rng.uniform(0, 0.05))
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        runner = processes.start("projections")
    wait_until(lambda: caught_up(views_db, store_db), 90, "the register to catch up after kills")
    assert applied(views_db) == total

    served = register.all_rows(views_db)
    rebuild(bootstrap(settings), ["register"])
    assert register.all_rows(views_db) == served
    assert len(served["households"]) == 400


def test_two_runners_share_the_work_and_a_survivor_takes_over(
    casework, relay_reader, broker, store_db, views_db, processes
):
    ensure_topics(broker.bootstrap)
    first = processes.start("projections")
    processes.start("projections")
    register_families(casework, 50)
    position = publish_store(relay_reader, broker.bootstrap)
    wait_until(lambda: caught_up(views_db, store_db), 60, "two runners to catch up")

    first.send_signal(signal.SIGKILL)
    first.wait()
    ids = register_families(casework, 50, seed=5)
    publish_store(relay_reader, broker.bootstrap, after=position)
    wait_until(lambda: caught_up(views_db, store_db), 60, "the survivor to take over")
    assert all(register.get_household(views_db, i) for i in ids)


def test_rebuild_swaps_in_while_readers_keep_reading(
    casework, relay_reader, broker, store_db, views_db, settings, processes
):
    register_families(casework, 200)
    publish_store(relay_reader, broker.bootstrap)
    processes.start("projections")
    wait_until(lambda: caught_up(views_db, store_db), 60, "the register to catch up")
    before = register.all_rows(views_db)

    failures: list[Exception] = []
    counts: list[int] = []
    done = threading.Event()

    def read_continuously() -> None:
        reader = Database(settings.views)
        while not done.is_set():
            try:
                counts.append(len(register.search(reader, limit=500)))
            except Exception as error:  # noqa: BLE001 - the test reports any failure
                failures.append(error)
        reader.close()

    thread = threading.Thread(target=read_continuously)
    thread.start()
    try:
        rebuild(bootstrap(settings), ["register"])
        rebuild(bootstrap(settings), ["register"])
    finally:
        done.set()
        thread.join()
    assert failures == []
    assert counts and set(counts) == {200}
    assert register.all_rows(views_db) == before


def test_an_envelope_with_malformed_data_lands_in_dlq(
    casework, relay_reader, broker, store_db, views_db, processes
):
    register_families(casework, 3)
    publish_store(relay_reader, broker.bootstrap)
    first = relay_reader.recorder.select_notifications(1, 1)[0]
    envelope = wire.from_notification(relay_reader, first, "1571")
    envelope["data"]["kk_number"] = 1571  # a number where the schema says text
    envelope["position"] = 10_000_000
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    producer.send(EVENTS, **signed(b"bad", wire.encode(envelope))).get(timeout=10)
    producer.close()

    processes.start("projections")
    wait_until(lambda: caught_up(views_db, store_db), 60, "the register to catch up")
    wait_until(lambda: dead_letter_count(views_db) == 1, 30, "the dead letter to be counted")
    [parked] = dlq_messages(broker.bootstrap)
    assert dict(parked.headers)["error"] == b"invalid data: fields kk_number"


def test_a_token_that_does_not_open_is_parked_only_where_a_view_reads_it(
    casework, relay_reader, broker, store_db, views_db, processes
):
    """A household event whose personal field does not open goes to the DLQ; an event no
    view reads (a NIK claim) is not opened at all, only tracked, as a rebuild does."""
    register_families(casework, 2)
    publish_store(relay_reader, broker.bootstrap)
    notifications = relay_reader.recorder.select_notifications(1, 100)
    registered = next(n for n in notifications if n.topic.endswith("HouseholdRegistered"))
    claim = next(n for n in notifications if n.topic.endswith("NikClaimed"))
    sealed = wire.from_notification(relay_reader, registered, "1571")
    name = sealed["data"]["head"]["name"]  # a token: its key is in the key store
    # its ciphertext changed by one character: it does not open (the key does not fit)
    bad = name[:-6] + ("B" if name[-6] != "B" else "C") + name[-5:]
    broken = {}
    for notification, position in ((registered, 10_000_000), (claim, 10_000_001)):
        envelope = wire.from_notification(relay_reader, notification, "1571")
        envelope["position"] = position
        envelope["stream_id"] = str(uuid.uuid4())
        envelope["version"] = 1
        if "head" in envelope["data"]:
            envelope["data"]["head"]["name"] = bad
        else:
            envelope["data"]["note"] = bad
        broken[envelope["type"]] = envelope
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for envelope in broken.values():
        value = wire.encode(envelope)
        producer.send(EVENTS, **signed(envelope["stream_id"].encode(), value)).get(timeout=10)
    producer.close()

    processes.start("projections")
    wait_until(lambda: dead_letter_count(views_db) == 1, 60, "the dead letter to be counted")
    [parked] = dlq_messages(broker.bootstrap)
    assert dict(parked.headers)["error"].startswith(b"unrevealable: ")
    assert wire.decode(parked.value)["type"] == "HouseholdRegistered"
    register_tracking = live_tables(views_db, PROJECTIONS["register"])["tracking"]

    def tracked(stream_id: str) -> bool:
        return bool(
            views_db.query(f"SELECT 1 FROM {register_tracking} WHERE stream_id=?", (stream_id,))
        )

    wait_until(lambda: tracked(broken["NikClaimed"]["stream_id"]), 30, "the claim tracked")
    assert not tracked(broken["HouseholdRegistered"]["stream_id"])


def test_a_view_added_later_is_filled_from_the_past(
    casework, relay_reader, broker, store_db, views_db, processes
):
    register_families(casework, 20)
    publish_store(relay_reader, broker.bootstrap)
    runner = processes.start("projections")
    wait_until(lambda: caught_up(views_db, store_db), 60, "the register to catch up")
    runner.terminate()
    runner.wait()
    # As if the beneficiaries view had just been added: no tables, no state, offsets long past.
    added = PROJECTIONS["beneficiaries"]
    with views_db.transaction() as cur:
        drop_generation(cur, added, 1)
        cur.execute("DELETE FROM projection_state WHERE name=?", (added.name,))

    processes.start("projections")
    total = store_counts(store_db)[0]
    wait_until(lambda: progress(views_db, added)[0] == total, 60, "the added view to be filled")
