"""One agency's bad webhook endpoint is that endpoint's failure only: an error while POSTing
(even one http.client raises for a URL it cannot send), or a host name that resolves to a
forbidden address, is recorded as its failed attempt and retried after the back-off, and
another agency's events, on the same receiver, go out in the same rounds
(tests/unit/test_agency_feed_webhooks.py has the fake filter)."""

from __future__ import annotations

import socket
import time

import pytest

from adapters import webhook_store
from adapters.db import Database
from adapters.settings import DatabaseUrl
from adapters.store_schema import migrate
from consumers import webhooks
from consumers.agency_feed import AgencyEvents
from consumers.webhooks import Backoff, Poster, Sender
from tests.support.apps import memory_casework
from tests.support.events import SIGNER, register_families, store_positions
from tests.support.receiver import Receiver
from tests.unit.test_agency_feed_webhooks import FakeFilter

BAD, GOOD = "BPJS", "BAZNAS"


@pytest.fixture
def events():
    casework = memory_casework()
    register_families(casework, 4)
    yield AgencyEvents(casework, "1571", FakeFilter(store_positions(casework)[-1]), SIGNER)
    casework.close()


@pytest.fixture
def store(tmp_path):
    db = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/store.db", "CASEWORK_STORE"))
    migrate(db)
    yield db
    db.close()


def _allowed(events: AgencyEvents) -> list[int]:
    return [p for p in store_positions(events.app) if events.at(p)["type"] in FakeFilter.types]


def _sender(store, events, recorded: list) -> Sender:
    def record_delivery(views, agency, channel, position, **counts):
        recorded.append((agency, counts))

    return Sender(
        store,
        None,
        events,
        poster=Poster(loopback=True),  # the receivers listen on 127.0.0.1
        backoff=Backoff(first=0.01, cap=0.05, attempts=1000),
        record_delivery=record_delivery,
    )


def _rounds(sender: Sender, seconds: float = 1.5) -> None:
    """Rounds for a while (each must finish: `step` raises nothing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not sender.step():
            time.sleep(0.01)


def _deliver_beside_a_bad_url(store, events, seconds: float) -> tuple[Receiver, list]:
    """Rounds for `seconds` with two endpoints on one receiver: BAD's URL with a right-to-left
    override (stored as no check would let it), GOOD's as it is. The receiver and what the
    sender recorded of each delivery."""
    recorded: list = []
    with Receiver() as receiver:
        webhook_store.register(store, BAD, receiver.url + "\u202e")
        receiver.secret = webhook_store.register(store, GOOD, receiver.url).secret
        sender = _sender(store, events, recorded)
        _rounds(sender, seconds)
        sender.close()
    return receiver, recorded


def _errors(recorded: list, agency: str) -> set[str]:
    return {counts["error"] for name, counts in recorded if name == agency and counts["error"]}


def test_a_url_http_client_cannot_send_fails_only_its_own_endpoint(store, events, monkeypatch):
    """A URL with a right-to-left override, stored as if no check had refused it: every POST
    to it fails inside http.client (UnicodeEncodeError). Before, that aborted the whole round
    for every agency, and left the half-used connection to the same receiver cached, so the
    next POST there failed with CannotSendRequest."""
    monkeypatch.setattr(webhooks, "url_problem", lambda _url, _loopback=False: None)
    expected = _allowed(events)
    receiver, recorded = _deliver_beside_a_bad_url(store, events, 1.5)
    assert [e["position"] for e in receiver.accepted] == expected  # every one, in order
    assert {e["agreement"]["agency"] for e in receiver.accepted} == {GOOD}
    assert receiver.refused == [] and receiver.duplicates == 0
    assert _errors(recorded, BAD) == {"failed (UnicodeEncodeError)"}
    assert _errors(recorded, GOOD) == set()
    # retried with the back-off, as every failure: the first event only, attempt after attempt
    (waiting,) = [d for d in webhook_store.heads(store, BAD, 10) if d.attempts]
    assert waiting.position == expected[0] and waiting.attempts > 1
    assert webhook_store.queued(store, GOOD)["pending"] == 0


def test_a_url_stored_before_the_checks_is_refused_when_sending(store, events):
    expected = _allowed(events)
    receiver, recorded = _deliver_beside_a_bad_url(store, events, 0.5)
    assert [e["position"] for e in receiver.accepted] == expected
    assert _errors(recorded, BAD) == {"webhook.url_invalid"}


def test_a_name_that_resolves_to_a_forbidden_address_is_never_connected_to(
    store, events, monkeypatch
):
    """The host resolves to the receiver and to the cloud metadata address: refused before
    connecting anywhere, as that endpoint's failure; plain http to a name that resolves to the
    receiver on 127.0.0.1 still delivers."""
    real = socket.getaddrinfo
    with Receiver() as receiver:
        port = receiver.server.server_address[1]

        def getaddrinfo(host, *args, **kwargs):
            if host == "metadata.example":
                return [
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port)),
                ]
            if host == "receiver.localhost":
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        # http to a name
        monkeypatch.setattr(webhooks, "url_problem", lambda _url, _loopback=False: None)
        webhook_store.register(store, BAD, f"https://metadata.example:{port}/hook")
        good = webhook_store.register(store, GOOD, f"http://receiver.localhost:{port}/hook")
        receiver.secret = good.secret
        recorded: list = []
        sender = _sender(store, events, recorded)
        _rounds(sender, 0.8)
        sender.close()
    assert _errors(recorded, BAD) == {"forbidden address (169.254.169.254)"}
    assert {e["agreement"]["agency"] for e in receiver.accepted} == {GOOD}
    assert receiver.requests == len(_allowed(events))  # none of them from BPJS's endpoint
