"""The feed's paging and the webhook sender's order, retries and dead letters, against a
fake of the agencies filter (the real one: tests/integration/test_agency_feed.py)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest

from adapters import webhook_store
from adapters.db import Database
from adapters.settings import DatabaseUrl
from adapters.store_schema import migrate
from adapters.topics import agency_topic
from consumers.agency_feed import AgencyEvents
from consumers.webhooks import Backoff, Poster, Sender, url_problem
from tests.support.apps import memory_casework
from tests.support.events import SIGNER, register_families, store_positions
from tests.support.receiver import Receiver

AGENCY = "BPJS"


@dataclass(frozen=True)
class FakeDelivery:
    envelope: dict[str, Any]
    read: Any


class FakeFilter:
    """Lets HouseholdRegistered and MemberAdded through with only their stream and type."""

    types = frozenset({"HouseholdRegistered", "MemberAdded"})

    def __init__(self, top: int) -> None:
        self.top = top
        self.revoked: set[str] = set()
        self.erased: set[str] = set()  # streams whose persons are erased
        self.unapplied: set[str] = set()  # streams the agencies view has not applied yet
        self.loaded: list[int] = []  # positions whose keys were fetched before delivering

    def ready(self, agency, envelopes) -> int:
        for count, envelope in enumerate(envelopes):
            if envelope["stream_id"] in self.unapplied:
                return count
        return len(envelopes)

    def current(self, agency, today=None):
        return None if agency in self.revoked else object()

    def versions(self, agency):
        return [SimpleNamespace(event_types=self.types)]

    def prefetch(self, envelopes) -> None:
        self.loaded.extend(e["position"] for e in envelopes)

    def caught_up_to(self) -> int:
        return self.top

    def deliver(self, agency, envelope, today=None):
        if agency in self.revoked or envelope["type"] not in self.types:
            return None
        if envelope["stream_id"] in self.erased:
            return None
        data = {"kelurahan": envelope["data"].get("kelurahan")}
        kept = {**envelope, "data": data, "agreement": {"agency": agency, "version": 1}}
        return FakeDelivery(kept, envelope["stream_id"])


@pytest.fixture
def app():
    casework = memory_casework()
    register_families(casework, 6)
    yield casework
    casework.close()


@pytest.fixture
def events(app) -> AgencyEvents:
    return AgencyEvents(app, "1571", FakeFilter(store_positions(app)[-1]), SIGNER)


@pytest.fixture
def store(tmp_path):
    db = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/store.db", "CASEWORK_STORE"))
    migrate(db)
    yield db
    db.close()


def _all_pages(events: AgencyEvents, limit: int) -> tuple[list[dict], list[int]]:
    found, nexts, after = [], [], 0
    while True:
        page = events.page(AGENCY, after, limit)
        if page.next == after:
            return found, nexts
        found += page.events
        nexts.append(page.next)
        after = page.next


def test_the_feed_pages_through_the_allowed_events_each_once_signed(events, app):
    every, nexts = _all_pages(events, limit=4)
    expected = [
        position
        for position in store_positions(app)
        if events.at(position)["type"] in FakeFilter.types
    ]
    assert [e["position"] for e in every] == expected
    assert nexts == sorted(nexts) and len(set(nexts)) == len(nexts)
    assert all(set(e["data"]) == {"kelurahan"} for e in every)
    # each delivered event's keys were fetched with its chunk's, and only events of the
    # types the agreement takes were asked for
    loaded = events.filter.loaded
    assert set(expected) <= set(loaded)
    assert all(events.at(p)["type"] in FakeFilter.types for p in loaded)
    verifier = SIGNER.verifier()
    for event in every:
        verifier.verify_document(agency_topic(AGENCY), event["stream_id"].encode(), event)
    # the same request answers the same page (stable), at most `limit` events
    again = events.page(AGENCY, nexts[0], 4)
    assert again.events == events.page(AGENCY, nexts[0], 4).events
    assert 0 < len(again.events) <= 4


def test_a_page_stops_at_what_the_agencies_view_has_applied(events, app):
    positions = store_positions(app)
    events.filter.top = positions[3]
    page = events.page(AGENCY, 0, 100)
    assert page.next == positions[3]
    assert all(e["position"] <= positions[3] for e in page.events)
    assert events.page(AGENCY, page.next, 100).next == page.next  # nothing new: stays


def test_a_page_never_moves_past_an_event_the_view_has_not_applied(events, app):
    """The runner applies each partition on its own: an event below `caught_up_to()` whose
    household the view has not applied yet ends the page before it, and is delivered once the
    view has it (never skipped)."""
    positions = store_positions(app)
    at = next(
        i for i, p in enumerate(positions) if i > 3 and events.at(p)["type"] in FakeFilter.types
    )
    late = events.at(positions[at])
    events.filter.unapplied = {late["stream_id"]}
    page = events.page(AGENCY, 0, 100)
    assert page.next == positions[at - 1] and page.events
    assert all(e["position"] < positions[at] for e in page.events)
    assert events.page(AGENCY, page.next, 100).events == []  # still waiting for it
    events.filter.unapplied = set()
    rest = events.page(AGENCY, page.next, 100)
    assert rest.events[0]["position"] == positions[at]
    assert rest.next == positions[-1]


def test_a_page_without_allowed_events_still_moves_on(events, app):
    events.filter.types = frozenset({"NoSuchEvent"})
    page = events.page(AGENCY, 0, 10, scan=7)
    assert page.events == [] and page.next == store_positions(app)[6]


def test_long_polling_answers_once_an_event_is_applied(events, app):
    positions = store_positions(app)
    events.filter.top = positions[-3]
    drained = events.page(AGENCY, 0, 100).next

    def applied_later():
        time.sleep(0.3)
        events.filter.top = positions[-1]

    threading.Thread(target=applied_later).start()
    started = time.monotonic()
    page = events.long_poll(AGENCY, drained, 100, wait=5)
    took = time.monotonic() - started
    assert page.events and 0.2 < took < 3
    assert events.long_poll(AGENCY, page.next, 100, wait=0).events == []


@pytest.mark.parametrize(
    "url, problem",
    [
        ("https://agency.example/hook?x=1", None),
        ("http://127.0.0.1:8080/hook", None),
        ("http://[::1]/hook", None),
        ("http://localhost/hook", None),
        ("http://agency.example/hook", "webhook.url_not_https"),
        ("http://10.0.0.1/hook", "webhook.url_not_https"),
        ("https://10.0.0.1/hook", None),  # a government intranet's address
        ("https://169.254.169.254/latest/meta-data", "webhook.url_forbidden"),
        ("https://[fe80::1]/hook", "webhook.url_forbidden"),
        ("https://0.0.0.0/hook", "webhook.url_forbidden"),
        ("https://224.0.0.1/hook", "webhook.url_forbidden"),
        ("ftp://agency.example/hook", "webhook.url_invalid"),
        ("https://user:pw@agency.example/hook", "webhook.url_invalid"),
        ("https://", "webhook.url_invalid"),
        ("https://agency.example:99999/", "webhook.url_invalid"),
        ("https://agency.example/" + "a" * 2048, "webhook.url_invalid"),
    ],
)
def test_only_https_or_loopback_http_endpoints(url, problem):
    """With loopback endpoints allowed (tests, development; refused otherwise:
    test_outbound_addresses)."""
    assert url_problem(url, loopback=True) == problem


def _sender(store, events, *, attempts=50, recorded=None) -> Sender:
    def record_delivery(views, agency, channel, position, **counts):
        if recorded is not None:
            recorded.append((agency, channel, position, counts))

    return Sender(
        store,
        None,
        events,
        poster=Poster(loopback=True),  # the receivers listen on 127.0.0.1
        backoff=Backoff(first=0.01, cap=0.05, attempts=attempts),
        record_delivery=record_delivery,
    )


def _run_until(sender: Sender, done, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the sender did not finish in time"
        if not sender.step():
            time.sleep(0.01)


def _allowed(events: AgencyEvents, app) -> list[int]:
    return [p for p in store_positions(app) if events.at(p)["type"] in FakeFilter.types]


def test_a_receiver_that_fails_for_a_while_gets_every_event_once_in_order(store, events, app):
    expected = _allowed(events, app)
    recorded: list = []
    with Receiver(answer=lambda count, _env: 503 if count <= 5 else 200) as receiver:
        hook = webhook_store.register(store, AGENCY, receiver.url)
        receiver.secret = hook.secret
        sender = _sender(store, events, recorded=recorded)
        _run_until(sender, lambda: len(receiver.accepted) >= len(expected))
        sender.step()
        sender.close()
    assert [e["position"] for e in receiver.accepted] == expected
    assert receiver.refused == [] and receiver.duplicates == 0
    assert receiver.requests == len(expected) + 5
    assert sum(c["failed"] for *_, c in recorded) == 5
    assert sum(c["delivered"] for *_, c in recorded) == len(expected)
    assert webhook_store.queued(store, AGENCY) == {"pending": 0, "dead": 0}


def test_a_dead_lettered_household_waits_until_redelivered(store, events, app):
    expected = _allowed(events, app)
    poisoned = events.at(expected[0])["stream_id"]
    broken = {"on": True}

    def answer(_count, envelope):
        return 422 if broken["on"] and envelope["stream_id"] == poisoned else 200

    with Receiver(answer=answer) as receiver:
        hook = webhook_store.register(store, AGENCY, receiver.url)
        receiver.secret = hook.secret
        sender = _sender(store, events, attempts=3)
        others = [p for p in expected if events.at(p)["stream_id"] != poisoned]
        _run_until(
            sender,
            lambda: (
                len(receiver.accepted) >= len(others) and webhook_store.dead_letters(store, AGENCY)
            ),
        )
        for _ in range(3):
            sender.step()
        assert [e["position"] for e in receiver.accepted] == others
        dead = webhook_store.dead_letters(store, AGENCY)
        parked = len(expected) - len(others) - 1
        assert [(d["position"], d["attempts"], d["waiting"]) for d in dead] == [
            (expected[0], 3, parked)
        ]
        assert dead[0]["error"] == "http 422"
        broken["on"] = False
        assert webhook_store.redeliver(store, AGENCY, poisoned) == 1
        _run_until(sender, lambda: len(receiver.accepted) >= len(expected))
        sender.close()
    mine = [e["position"] for e in receiver.accepted if e["stream_id"] == poisoned]
    assert mine == sorted(mine) and mine[0] == expected[0]
    assert sorted(e["position"] for e in receiver.accepted) == expected


def test_nothing_is_sent_of_an_erased_household_or_after_a_revocation(store, events, app):
    expected = _allowed(events, app)
    erased = events.at(expected[0])["stream_id"]
    with Receiver(answer=lambda count, _env: 503) as receiver:
        hook = webhook_store.register(store, AGENCY, receiver.url)
        receiver.secret = hook.secret
        sender = _sender(store, events)
        sender.step()  # queued; the receiver is down
        assert webhook_store.queued(store, AGENCY)["pending"] == len(expected)
        events.filter.erased.add(erased)
        receiver.answer = lambda count, _env: 200
        _run_until(sender, lambda: webhook_store.queued(store, AGENCY)["pending"] == 0)
        assert erased not in {e["stream_id"] for e in receiver.accepted}
        assert len(receiver.accepted) == len(
            [p for p in expected if events.at(p)["stream_id"] != erased]
        )
        register_families(app, 1, seed=7)
        events.filter.top = store_positions(app)[-1]
        events.filter.revoked.add(AGENCY)
        before = len(receiver.accepted)
        for _ in range(3):
            sender.step()
        sender.close()
    assert len(receiver.accepted) == before


def test_the_queue_keeps_no_personal_data(store, events):
    with Receiver(answer=lambda count, _env: 503) as receiver:
        webhook_store.register(store, AGENCY, receiver.url)
        sender = _sender(store, events)
        sender.step()
        sender.close()
    columns = store.query("SELECT * FROM casework_webhook_queue")
    assert columns and all(len(row) == 7 for row in columns)
    text = json.dumps(columns)
    assert "nik" not in text.lower() and "name" not in text.lower()
