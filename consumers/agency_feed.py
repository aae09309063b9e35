"""An agency's events read from the store: what the HTTP feed answers (`GET /api/v1/feed`,
app/agency_api.py) and what the webhook sender POSTs (consumers/webhooks.py).

The store's events are read in position order as the sealed envelopes the relay publishes
on `casework.events.v1` (`adapters.wire.from_notification(..., sealed=True)`), never beyond
the position the agencies view has applied (`AgencyFilter.caught_up_to`: the area of a
household, a restriction or an erasure is known there before an event about it is handed
out), passed through the agency's agreement (`AgencyFilter.deliver`: the allowed event types,
fields and area; restricted and erased persons left out; personal fields opened or as
pseudonyms) and signed as a message of the agency's topic `casework.agency.<code>.v1` with
the stream id as its key (`Signer.sign_document`), so an agency checks a feed page or a
webhook body with the same public keys (`/api/v1/keys`) as its topic.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters import wire
from adapters.signing import Signer
from adapters.topics import agency_topic
from domain.application import Casework
from domain.streams import is_private_topic

SCAN = 5000  # store events looked at per page at most: a rare match still answers quickly
READ_SIZE = 500  # store events read per query
POLL_SECONDS = 0.1  # how often a waiting request looks at the agencies view's position
MAX_WAIT_SECONDS = 30


class Delivered(Protocol):
    """What `AgencyFilter.deliver` answers (consumers/agency_filter.py's `Delivery`)."""

    envelope: dict[str, Any]
    read: Any


class Filter(Protocol):
    """The part of `consumers.agency_filter.AgencyFilter` the feed and the webhooks use."""

    def current(self, agency: str, today: Any = None) -> Any | None: ...

    def caught_up_to(self) -> int: ...

    def ready(self, agency: str, envelopes: Sequence[dict[str, Any]]) -> int: ...

    def versions(self, agency: str) -> list[Any]:
        """Every version of the agency's terms (each with its `event_types`)."""

    def prefetch(self, envelopes: Iterable[dict[str, Any]]) -> None:
        """Fetch at once what these envelopes' deliveries will look up (keys, areas,
        restrictions)."""

    def deliver(
        self, agency: str, envelope: dict[str, Any], today: Any = None
    ) -> Delivered | None: ...


@dataclass
class Page:
    """One page of an agency's feed: its signed events, where to continue, who was read."""

    events: list[dict[str, Any]]
    next: int
    reads: list[Any] = field(default_factory=list)


class AgencyEvents:
    """The store's events as an agency may receive them."""

    def __init__(self, app: Casework, tenant: str, agencies: Filter, signer: Signer) -> None:
        self.app = app
        self.tenant = tenant
        self.filter = agencies
        self.signer = signer

    def sealed(self, after: int, top: int, scan: int = SCAN) -> Iterator[tuple[int, dict | None]]:
        """(position, sealed envelope) of the store's events after `after` up to `top`, at
        most `scan` of them; the envelope None for a private stream's event (never sent)."""
        position, left = after, scan
        while left > 0 and position < top:
            batch = self.app.recorder.select_notifications(
                position, min(READ_SIZE, left), stop=top, inclusive_of_start=False
            )
            if not batch:
                return
            for notification in batch:
                if is_private_topic(notification.topic):
                    yield notification.id, None
                else:
                    yield (
                        notification.id,
                        wire.from_notification(self.app, notification, self.tenant, sealed=True),
                    )
            position = batch[-1].id
            left -= len(batch)

    def settled(
        self, agency: str, found: list[tuple[int, dict | None]]
    ) -> list[tuple[int, dict | None]]:
        """The leading part of `found` the agencies view is ready for (`AgencyFilter.ready`):
        up to, not including, the first event whose stream it has not applied yet."""
        envelopes = [envelope for _, envelope in found if envelope is not None]
        count = self.filter.ready(agency, envelopes)
        if count == len(envelopes):
            return found
        first = envelopes[count]["position"]
        return [(position, envelope) for position, envelope in found if position < first]

    def at(self, position: int) -> dict[str, Any] | None:
        """The sealed envelope of the event at `position` (None: private or not there)."""
        found = self.app.recorder.select_notifications(position, 1, inclusive_of_start=True)
        if not found or found[0].id != position or is_private_topic(found[0].topic):
            return None
        return wire.from_notification(self.app, found[0], self.tenant, sealed=True)

    def signed(self, agency: str, envelope: dict[str, Any]) -> dict[str, Any]:
        """The delivered envelope signed as a message of the agency's topic."""
        key = str(envelope["stream_id"]).encode()
        return self.signer.sign_document(agency_topic(agency), key, envelope)

    def page(self, agency: str, after: int, limit: int, scan: int = SCAN) -> Page:
        """Up to `limit` of the agency's events after `after`; `next` is the last position
        looked at (a page without events still moves on), `after` when there is nothing new."""
        top = self.filter.caught_up_to()
        events: list[dict[str, Any]] = []
        reads: list[Any] = []
        last = after
        found = self.sealed(after, top, scan)
        size = min(READ_SIZE, max(limit, 20))  # envelopes made ahead of need, at most
        takes = frozenset().union(*(t.event_types for t in self.filter.versions(agency)))
        while chunk := list(itertools.islice(found, size)):
            settled = self.settled(agency, chunk)
            # the keys the chunk's deliveries will open, in one look-up
            self.filter.prefetch(e for _, e in settled if e is not None and e["type"] in takes)
            for position, envelope in settled:
                last = position
                if envelope is None:
                    continue
                delivery = self.filter.deliver(agency, envelope)
                if delivery is None:
                    continue
                events.append(self.signed(agency, delivery.envelope))
                reads.append(delivery.read)
                if len(events) >= limit:
                    return Page(events, max(last, after), reads)
            if len(settled) < len(chunk):
                break  # an event the agencies view has not applied: the next page waits
        return Page(events, max(last, after), reads)

    def wait_for_more(
        self,
        after: int,
        seconds: float,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> bool:
        """Wait up to `seconds` until the agencies view has applied an event after `after`;
        whether it has."""
        deadline = clock() + seconds
        waiter = stop or threading.Event()
        while True:
            if self.filter.caught_up_to() > after:
                return True
            left = deadline - clock()
            if left <= 0 or waiter.wait(min(POLL_SECONDS, left)):
                return False

    def long_poll(self, agency: str, after: int, limit: int, wait: float) -> Page:
        """`page`; when it holds no event, wait up to `wait` seconds for one (the answer's
        `next` still moves on past what was looked at)."""
        deadline = time.monotonic() + min(wait, MAX_WAIT_SECONDS)
        found = self.page(agency, after, limit)
        reads = list(found.reads)
        while not found.events:
            left = deadline - time.monotonic()
            if left <= 0 or not self.wait_for_more(found.next, left):
                break
            found = self.page(agency, found.next, limit)
            reads += found.reads
        return Page(found.events, found.next, reads)
