"""Signed events against the real broker, on SQLite and PostgreSQL: the relay signs every
message; the projection runner and the policies apply only what verifies and is of this
tenant. What a plain producer sends (a copied message under a new stream id, another
tenant's message, a forged position) lands in the DLQ and changes no view, and /healthz
keeps reporting the real positions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaProducer

from adapters import wire
from adapters.bootstrap import bootstrap
from adapters.signing import BadSignature, Verifier
from adapters.topics import DLQ, EVENTS
from app import create_app
from app.health import snapshot
from projections import register
from projections.base import progress
from projections.catalog import PROJECTIONS
from projections.status import dead_letter_count, store_counts
from tests.conftest import wait_until
from tests.support.events import register_families, signed
from tests.support.kafka import partitions_of, read_all

pytestmark = pytest.mark.integration


@pytest.fixture
def web(settings) -> Iterator:
    flask_app = create_app(bootstrap(settings))
    yield flask_app
    flask_app.extensions["casework"].close()


def all_caught_up(views_db, store_db) -> bool:
    count = store_counts(store_db)[0]
    return all(progress(views_db, p)[0] == count for p in PROJECTIONS.values())


def events_on_topic(bootstrap_servers: str) -> list:
    return read_all(bootstrap_servers, partitions_of(bootstrap_servers, EVENTS))


def test_forged_messages_change_no_view_and_a_good_one_still_applies(
    casework, broker, store_db, views_db, processes, web
):
    ids = register_families(casework, 3)
    processes.start("relay")
    processes.start("projections")
    processes.start("policies")
    wait_until(lambda: all_caught_up(views_db, store_db), 90, "the views to catch up")
    wait_until(
        lambda: len(events_on_topic(broker.bootstrap)) >= store_counts(store_db)[0],
        30,
        "the relay to publish every event",
    )

    # Whoever reads the topic can check each message with the public keys alone.
    keys = web.test_client().get("/api/v1/keys")
    assert keys.status_code == 200
    verifier = Verifier.from_jwks(keys.json)
    published = events_on_topic(broker.bootstrap)
    for record in published:
        verifier.verify(record.topic, record.key, record.value, record.headers)

    before = register.all_rows(views_db)
    status_before, found_before, _ = snapshot(store_db, views_db)
    assert status_before == "ok"
    original = next(r for r in published if json.loads(r.value)["type"] == "HouseholdRegistered")
    envelope = json.loads(original.value)
    stream_id = str(uuid.uuid4())

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    # 1. The household copied under a new stream id, its signature headers kept.
    copied = dict(envelope, stream_id=stream_id)
    producer.send(
        EVENTS, key=stream_id.encode(), value=wire.encode(copied), headers=original.headers
    ).get(timeout=10)
    # 2. The same copy sent as it was (value and headers), only under a new key.
    producer.send(
        EVENTS, key=str(uuid.uuid4()).encode(), value=original.value, headers=original.headers
    ).get(timeout=10)
    # 3. Another tenant's household, even signed with this system's key.
    foreign_id = str(uuid.uuid4())
    foreign = dict(envelope, tenant="1572", stream_id=foreign_id, event_id=str(uuid.uuid4()))
    producer.send(EVENTS, **signed(foreign_id.encode(), wire.encode(foreign))).get(timeout=10)
    # 4. A forged position and version on a real household: the lag would read 0 for ever.
    forged = dict(envelope, version=1_000_000, position=10**12)
    producer.send(
        EVENTS, key=original.key, value=wire.encode(forged), headers=original.headers
    ).get(timeout=10)
    # 5. Unsigned.
    producer.send(EVENTS, key=original.key, value=wire.encode(forged)).get(timeout=10)
    producer.close()

    def parked_messages() -> list:
        return read_all(broker.bootstrap, partitions_of(broker.bootstrap, DLQ))

    # Each forgery parked by each of the two consumers, counted once in the views.
    wait_until(lambda: len(parked_messages()) == 10, 60, "both consumers to park the forgeries")
    assert dead_letter_count(views_db) == 5
    parked = parked_messages()
    reasons = {(dict(m.headers)["consumer"], dict(m.headers)["reason"]) for m in parked}
    for consumer in (b"casework-projections", b"casework-policies"):
        assert (consumer, b"unverified") in reasons
        assert (consumer, b"foreign tenant") in reasons

    # Nothing of it shows: no household, no duplicate NIK or KK, the same positions and lag.
    assert register.all_rows(views_db) == before
    assert register.get_household(views_db, stream_id) is None
    assert register.get_household(views_db, foreign_id) is None
    _, found_after, _ = snapshot(store_db, views_db)
    for name, entry in found_before.items():
        if name.startswith("projection:"):
            assert found_after[name] == entry, name

    # A good message still applies, after the forgeries.
    more = register_families(casework, 2, seed=42)
    wait_until(lambda: all_caught_up(views_db, store_db), 60, "the new events to apply")
    assert all(register.get_household(views_db, i) for i in [*ids, *more])
    status, found, _ = snapshot(store_db, views_db)
    top = store_counts(store_db)[1]
    assert found["projection:register"]["position"] == top
    assert found["projection:register"]["lag"] == 0
    assert status == "degraded"  # the DLQ holds the forgeries: an operator looks


def test_a_message_is_checked_with_the_public_key_only(casework, broker, processes, web):
    register_families(casework, 1)
    processes.start("relay")
    wait_until(lambda: events_on_topic(broker.bootstrap), 60, "the relay to publish")
    [record, *_] = events_on_topic(broker.bootstrap)
    verifier = Verifier.from_jwks(web.test_client().get("/api/v1/keys").json)
    verifier.verify(EVENTS, record.key, record.value, record.headers)
    with pytest.raises(BadSignature):
        verifier.verify(
            EVENTS, record.key, record.value.replace(b'"1571"', b'"1572"'), record.headers
        )
    with pytest.raises(BadSignature):
        verifier.verify("casework.agency.bpjs.v1", record.key, record.value, record.headers)
