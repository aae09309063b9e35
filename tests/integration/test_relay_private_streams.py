"""Accounts and tokens never reach `casework.events.v1`: the relay passes over their events,
its position still moves past them and /healthz shows no lag (real broker, SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
import threading

import pytest

from adapters.bootstrap import bootstrap
from adapters.topics import EVENTS
from consumers.relay import run
from domain.accounts import token_hash
from domain.application import SYSTEM, make_meta
from domain.streams import is_private_topic
from projections.status import components, relay_state, store_counts
from tests.conftest import wait_until
from tests.integration.test_relay import add_families
from tests.support.kafka import partitions_of, read_all, read_positions

pytestmark = pytest.mark.integration


def public_positions(app) -> list[int]:
    """Positions of the stored events that are not of an account or token stream."""
    found, after = [], 0
    while batch := app.recorder.select_notifications(after, 1000, inclusive_of_start=False):
        found += [n.id for n in batch if not is_private_topic(n.topic)]
        after = batch[-1].id
    return found


def test_no_account_or_token_event_reaches_the_topic(
    casework, broker, settings, store_db, views_db
):
    meta = make_meta(SYSTEM, "cli")
    add_families(casework, 1, 1)  # published
    stop = threading.Event()
    relay = threading.Thread(target=run, args=(bootstrap(settings), stop), daemon=True)
    relay.start()
    try:
        casework.add_user("rina", "caseworker", None, ["Telanaipura"], meta)
        token = casework.issue_token("rina", meta)
        casework.revoke_token(casework.issue_token("rina", meta), meta)
        # the store ends with private events: the relay must still move past them
        count, top = store_counts(store_db)
        wait_until(lambda: relay_state(store_db) == (top, count), 30, "the relay to pass over")
        health = components(store_db, views_db)
        assert health["relay"] == {
            "position": top,
            "published": count,
            "lag": 0,
            "state": "running",
        }

        add_families(casework, 2, 1)  # after them, publishing goes on
        count, top = store_counts(store_db)
        wait_until(lambda: relay_state(store_db) == (top, count), 30, "the relay to publish")
        wanted = public_positions(casework)
        read_positions(broker.bootstrap, wanted, 30)
        records = read_all(broker.bootstrap, partitions_of(broker.bootstrap, EVENTS))
    finally:
        stop.set()
        relay.join(30)
    envelopes = [json.loads(r.value) for r in records]
    assert sorted({e["position"] for e in envelopes}) == wanted
    assert count == len(wanted) and top > wanted[-1] - 1
    assert not {e["stream_type"] for e in envelopes} & {"User", "TokenIndex"}
    assert not {e["type"] for e in envelopes} & {"UserAdded", "TokenIssued", "TokenClaimed"}
    for record in records:
        assert b"rina" not in record.value
        assert token_hash(token).encode() not in record.value
