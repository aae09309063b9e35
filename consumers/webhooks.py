"""Agencies' webhooks: each event an agency's agreement allows is POSTed to the endpoint it
registered (`POST /api/v1/webhooks`), signed (consumers/webhook_signature.py).

`casework webhooks` runs `run_webhooks`: in rounds, for every active endpoint,

1. queue: the store's events after the agency's progress, up to what the agencies view has
   applied, of the types its agreement names (any version) are queued by position and stream
   (adapters/webhook_store.py; no personal data in the queue), and the progress moves on in
   the same transaction;
2. send: the queued events go out in store order, each built afresh from the store and
   passed through `AgencyFilter.deliver` (what it refuses, for its area, an erasure, a
   restriction or a revocation since it was queued, is dropped, not sent), signed as on the
   agency's topic, with the headers `X-Casework-Timestamp`, `X-Casework-Signature` and
   `X-Casework-Delivery` (the event id).

Order: within each stream (a household's events are its stream's) an event is sent only
after every earlier one was delivered. A failed attempt (a timeout, no connection, an answer
other than 2xx) is tried again after `Backoff.delay` (exponential, capped); after
`Backoff.attempts` attempts it is dead-lettered and its stream parked: its later events wait
until an administrator redelivers (`POST /api/v1/webhooks/dead-letters/redeliver`). When the
receiver itself is down (no connection, a timeout, 5xx or 429) the round for it stops at that
event; other streams go on after a 4xx.

Only https endpoints, never on this host (a loopback address, and then http too, only with
CASEWORK_LOOPBACK_ENDPOINTS=allow: tests, development); the host is
resolved when connecting and no address it resolves to may be one no agency can own
(`adapters.outbound.connect`: refused, the endpoint's failure "forbidden address (...)");
requests have a timeout and follow no redirect. Whatever goes wrong while POSTing to one
endpoint (even an error http.client raises for a URL it cannot send) is that endpoint's failed
attempt, retried after the back-off, and its kept-alive connection is dropped: one agency's
endpoint never fails or delays another's round. A crash between a POST and its record sends
that event again: the receiver recognises it by `X-Casework-Delivery`.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from adapters import outbound, webhook_store
from adapters.bootstrap import System, bootstrap
from adapters.codec import Wrapper
from adapters.db import Database
from adapters.settings import Settings
from adapters.signing import Signer
from adapters.webhook_store import Queued, Webhook
from consumers import agency_delivery, agency_filter
from consumers.agency_feed import AgencyEvents, Filter
from consumers.webhook_signature import sign

log = logging.getLogger("casework.webhooks")

TIMEOUT_SECONDS = 10.0
QUEUE_SCAN = 5000  # store events looked at per agency and round
SEND_BATCH = 500  # queued events looked at per agency and round
IDLE_SECONDS = 0.2
USER_AGENT = "casework-webhooks/1"


@dataclass(frozen=True)
class Backoff:
    """Attempt n (1, 2, ...) failed: the next one `first * 2**(n-1)` seconds later, at most
    `cap`; after `attempts` failed attempts the event is dead-lettered."""

    first: float = 1.0
    cap: float = 300.0
    attempts: int = 10

    def delay(self, failed_attempts: int) -> float:
        return min(self.cap, self.first * 2 ** max(failed_attempts - 1, 0))


def url_problem(url: str, loopback: bool = False) -> str | None:
    """Why a webhook URL is refused (an error code), None when it is fine
    (`adapters.outbound.endpoint_problem`: https; a loopback address, and then http too, only
    where `loopback` allows it; no user name or password; printable ASCII; no address an
    agency cannot own, an IPv4 address as a dotted quad; at most 2048 characters)."""
    problem = outbound.endpoint_problem(url, loopback)
    if problem is None:
        return None
    return {
        outbound.NOT_HTTPS: "webhook.url_not_https",
        outbound.FORBIDDEN: "webhook.url_forbidden",
        outbound.NOT_DOTTED: "webhook.url_ip_form",
    }.get(problem, "webhook.url_invalid")


class Unreachable(Exception):
    """The receiver could not be reached or did not answer in time."""


class Refused(Exception):
    """Not connected: the endpoint's host resolved to an address no agency can own (or, for
    plain http, to one that is not a loopback address); the exception's text is the address."""


@dataclass
class Answer:
    status: int


class Poster:
    """POSTs bodies to webhook URLs over kept-alive connections (one per endpoint)."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS, loopback: bool = False) -> None:
        self.timeout = timeout
        self.loopback = loopback  # whether endpoints on this host may be reached
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._tls = ssl.create_default_context()

    def _connection(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        key = (scheme, host, port)
        found = self._connections.get(key)
        if found is None:
            # the host resolved and every address checked when it connects, not by name
            if scheme == "https":
                found = outbound.CheckedTlsConnection(
                    host, port, self.timeout, self._tls, self.loopback
                )
            else:
                found = outbound.CheckedConnection(host, port, self.timeout, self.loopback)
            self._connections[key] = found
        return found

    def _drop(self, key: tuple[str, str, int]) -> None:
        found = self._connections.pop(key, None)
        if found is not None:
            found.close()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """The receiver's status; raises Unreachable (no connection, a timeout) or Refused (a
        forbidden address). Any failure drops the endpoint's connection: a request broken off
        half-way must not stay on it for the next one."""
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (scheme, host, port)
        sent = {
            **headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        for attempt in (1, 2):  # a kept-alive connection the receiver closed: once more
            connection = self._connection(scheme, host, port)
            try:
                connection.request("POST", target, body=body, headers=sent)
                response = connection.getresponse()
                response.read(65536)
                if response.will_close or not response.isclosed():
                    self._drop(key)
                return Answer(response.status)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self._drop(key)
                if attempt == 2:
                    raise Unreachable(type(e).__name__) from None
            except outbound.ForbiddenAddress as refused:
                self._drop(key)
                raise Refused(refused.address) from None
            except (OSError, http.client.HTTPException) as error:
                self._drop(key)
                raise Unreachable(type(error).__name__) from None
            except BaseException:
                self._drop(key)  # e.g. UnicodeEncodeError: the caller decides, on a clean slate
                raise
        raise Unreachable("no answer")

    def close(self) -> None:
        for key in list(self._connections):
            self._drop(key)


def _body(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def _nothing(*_args: Any, **_kwargs: Any) -> None:
    return None


@dataclass
class Round:
    """What one round did for one endpoint."""

    queued: int = 0
    delivered: int = 0
    dropped: int = 0
    failed: int = 0
    dead_lettered: int = 0
    last_position: int = 0
    error: str | None = None
    reads: list[Any] = field(default_factory=list)

    @property
    def work(self) -> int:
        return self.queued + self.delivered + self.dropped + self.failed


class Sender:
    """Queues and sends every active endpoint's events (one round: `step`).

    `record_reads(store, agency, channel, endpoint, reads)` and
    `record_delivery(views, agency, channel, position, delivered=, failed=, dead_lettered=,
    error=)` are consumers/agency_filter.py's and consumers/agency_delivery.py's (fakes in unit
    tests)."""

    def __init__(
        self,
        store: Database,
        views: Database | None,
        events: AgencyEvents,
        *,
        backoff: Backoff | None = None,
        poster: Poster | None = None,
        record_reads: Callable[..., Any] = _nothing,
        record_delivery: Callable[..., Any] = _nothing,
        clock: Callable[[], float] = time.time,
        sealer: Wrapper | None = None,
    ) -> None:
        self.store = store
        self.sealer = sealer  # unwraps the endpoints' secrets (adapters.webhook_store)
        self.views = views
        self.events = events
        self.filter: Filter = events.filter
        self.backoff = backoff or Backoff()
        self.poster = poster or Poster()
        self.record_reads = record_reads
        self.record_delivery = record_delivery
        self.clock = clock
        self.paused_until: dict[str, float] = {}  # webhook id -> when its receiver is tried again

    def step(self) -> int:
        """One round for every active endpoint; how much was done (0: idle)."""
        work = 0
        for webhook in webhook_store.active(self.store, sealer=self.sealer):
            done = Round()
            self.queue(webhook, done)
            self.send(webhook, done)
            self.record(webhook, done)
            work += done.work
        return work

    def queue(self, webhook: Webhook, done: Round) -> None:
        agency = webhook.agency
        after = webhook_store.progress(self.store, agency)
        top = self.filter.caught_up_to()
        if top <= after:
            return
        found: list[tuple[int, str]] = []
        last = after
        wanted = self.wanted_types(agency)
        found_events = self.events.settled(agency, list(self.events.sealed(after, top, QUEUE_SCAN)))
        for position, envelope in found_events:
            last = position
            if envelope is None or (wanted is not None and envelope["type"] not in wanted):
                continue
            # of a type the agreement names: the filter decides the rest when it is sent
            if wanted is not None or self.filter.deliver(agency, envelope) is not None:
                found.append((position, str(envelope["stream_id"])))
        if last > after:
            webhook_store.enqueue(self.store, agency, found, last, self.clock())
            done.queued += len(found)

    def wanted_types(self, agency: str) -> frozenset[str] | None:
        """The event types any version of the agency's agreement names (what is queued; the
        filter decides the rest when each is sent); None: every event is checked whole."""
        versions = getattr(self.filter, "versions", None)
        if versions is None:
            return None
        return frozenset().union(*(terms.event_types for terms in versions(agency)))

    def send(self, webhook: Webhook, done: Round) -> None:
        agency = webhook.agency
        if self.paused_until.get(webhook.id, 0.0) > self.clock():
            return  # its receiver is down: backing off as a whole, so the order holds
        problem = url_problem(webhook.url, self.poster.loopback)
        waiting = webhook_store.heads(self.store, agency, SEND_BATCH)
        blocked: set[str] = set()
        finished: list[int] = []
        try:
            for item in waiting:
                if item.stream_id in blocked:
                    continue
                if item.next_at > self.clock():
                    blocked.add(item.stream_id)  # backing off: its later events wait too
                    continue
                envelope = self.events.at(item.position)
                delivery = self.filter.deliver(agency, envelope) if envelope else None
                if delivery is None:  # erased, restricted or revoked since it was queued
                    finished.append(item.position)
                    done.dropped += 1
                    continue
                if problem is not None:
                    self.fail(webhook, item, problem, done)
                    return
                body = _body(self.events.signed(agency, delivery.envelope))
                headers = sign(webhook.secret, body, str(delivery.envelope["event_id"]))
                answer, error = self.post(webhook, body, headers)
                if answer is None:
                    self.pause(webhook, self.fail(webhook, item, error, done))
                    return  # down or refused: the next round, after the back-off
                if 200 <= answer.status < 300:
                    finished.append(item.position)
                    done.delivered += 1
                    done.last_position = max(done.last_position, item.position)
                    done.reads.append(delivery.read)
                    continue
                next_at = self.fail(webhook, item, f"http {answer.status}", done)
                blocked.add(item.stream_id)
                if answer.status >= 500 or answer.status == 429:
                    self.pause(webhook, next_at)
                    return  # the receiver is in trouble: not every stream's head at once
        finally:
            # logged before marked done: a crash between the two sends it again and logs it
            # again, never leaves a delivery unlogged
            if done.reads:
                self.record_reads(self.store, agency, "webhook", webhook.url, done.reads)
                done.reads = []
            webhook_store.done(self.store, agency, finished)

    def post(
        self, webhook: Webhook, body: bytes, headers: dict[str, str]
    ) -> tuple[Answer | None, str]:
        """POST one event to the endpoint: its answer, or None and why it failed. Whatever
        goes wrong is this endpoint's failure only, never the whole round's."""
        try:
            return self.poster.post(webhook.url, body, headers), ""
        except Unreachable as error:
            return None, f"unreachable ({error})"
        except Refused as error:
            return None, f"forbidden address ({error})"
        except Exception as error:  # noqa: BLE001 - e.g. a URL http.client cannot encode
            log.warning("webhook of %s: POST failed (%s)", webhook.agency, type(error).__name__)
            return None, f"failed ({type(error).__name__})"

    def pause(self, webhook: Webhook, until: float) -> None:
        self.paused_until[webhook.id] = until

    def fail(self, webhook: Webhook, item: Queued, error: str, done: Round) -> float:
        """Record a failed attempt; when the event is tried again."""
        attempts = item.attempts + 1
        dead = attempts >= self.backoff.attempts
        next_at = self.clock() + self.backoff.delay(attempts)
        webhook_store.failed(
            self.store, webhook.agency, item.position, attempts, next_at, error, dead
        )
        done.failed += 1
        done.error = error
        if dead:
            done.dead_lettered += 1
            log.warning(
                "webhook of %s: event at position %d dead-lettered after %d attempts (%s)",
                webhook.agency,
                item.position,
                attempts,
                error,
            )
        return next_at

    def record(self, webhook: Webhook, done: Round) -> None:
        if done.delivered or done.failed or done.dead_lettered:
            self.record_delivery(
                self.views,
                webhook.agency,
                "webhook",
                done.last_position,
                delivered=done.delivered,
                failed=done.failed,
                dead_lettered=done.dead_lettered,
                error=done.error,
            )

    def run(self, stop: threading.Event, idle: float = IDLE_SECONDS) -> None:
        while not stop.is_set():
            try:
                work = self.step()
            except Exception as error:  # noqa: BLE001 - a database down for a while: go on
                log.warning("webhook round failed (%s); trying again", type(error).__name__)
                work = 0
                stop.wait(1.0)
            if not work:
                stop.wait(idle)

    def close(self) -> None:
        self.poster.close()


def sender_for(system: System) -> Sender:
    """A Sender wired to the real filter, read log and delivery state (the composition)."""
    settings: Settings = system.settings
    agencies = agency_filter.AgencyFilter(
        system.views,
        system.reader_codec(),
        agency_filter.pseudonym_secret(settings),
        read_key=settings.secret_key,
        stored=agency_filter.stored_terms(system.casework),
    )
    events = AgencyEvents(system.casework, settings.tenant, agencies, Signer(settings.signing_key))
    return Sender(
        system.store,
        system.views,
        events,
        record_reads=agency_filter.record_reads,
        record_delivery=agency_delivery.record_delivery,
        sealer=Wrapper(settings.master_key),
        poster=Poster(loopback=settings.loopback_endpoints),
    )


def run_webhooks(settings: Settings, stop: threading.Event) -> None:
    """`casework webhooks`: deliver every agency's webhook events until `stop` is set."""
    system = bootstrap(settings)
    sender = sender_for(system)
    log.info("webhooks starting: store %s", settings.store.kind)
    try:
        sender.run(stop)
    finally:
        sender.close()
        system.close()
        log.info("webhooks stopped")
