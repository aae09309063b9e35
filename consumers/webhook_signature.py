"""How a webhook request is signed, and the check a receiver runs on it.

Every event Casework POSTs to an agency's webhook (consumers/webhooks.py) carries:

- `X-Casework-Timestamp`: when it was sent, in whole seconds since 1970 (UTC);
- `X-Casework-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with the webhook's secret
  (answered once, when the webhook was registered), of the timestamp, a dot and the body's
  bytes exactly as received (`f"{timestamp}.".encode() + body`);
- `X-Casework-Delivery`: the event's `event_id`, the same on every attempt of the same event
  (a receiver keeps it to skip an event it has already processed). It is not signed itself:
  `verify` refuses one that is not the signed body's `event_id`.

A receiver calls `verify(secret, headers, body)` before it trusts the body: it raises
`ForgedSignature` when the signature does not match (another secret, a changed body or
timestamp), `StaleTimestamp` when the timestamp is further than `window` seconds from now
(a captured request sent again later), and `ReplayedDelivery` when the same signed request
(the same delivery at the same timestamp) arrives a second time within the window. Each retry
of a failed delivery is signed anew with its own timestamp, so it is not a replay; an event
that was processed once and arrives again in a later retry is recognised by its delivery id.

Only the standard library: a receiver may copy this one file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Mapping
from typing import Protocol

TIMESTAMP_HEADER = "X-Casework-Timestamp"
SIGNATURE_HEADER = "X-Casework-Signature"
DELIVERY_HEADER = "X-Casework-Delivery"
SCHEME = "sha256="
WINDOW_SECONDS = 300


class BadWebhook(ValueError):
    """A webhook request the receiver must refuse (answer 401 or 400 and process nothing)."""


class MissingHeader(BadWebhook):
    """A header of the signature scheme is missing or malformed."""


class ForgedSignature(BadWebhook):
    """The signature is not the webhook secret's HMAC of this timestamp and body."""


class StaleTimestamp(BadWebhook):
    """The timestamp is outside the window around the receiver's clock."""


class ReplayedDelivery(BadWebhook):
    """This very request (delivery and timestamp) was accepted before."""


class Seen(Protocol):
    """What remembers the requests accepted within the window (`ReplayCache`)."""

    def __contains__(self, key: object) -> bool: ...

    def add(self, key: str) -> None: ...


def signature(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The `X-Casework-Signature` value of a body sent at `timestamp`."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return SCHEME + digest


def sign(secret: str | bytes, body: bytes, event_id: str, now: float | None = None) -> dict:
    """The three headers of one attempt to deliver `body` (the event `event_id`)."""
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        DELIVERY_HEADER: event_id,
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header by name, whatever its case (a plain dict or an HTTP library's headers)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    if not value:
        raise MissingHeader(f"the {name} header is missing")
    return value.strip()


def _event_id(body: bytes) -> str | None:
    """The `event_id` of the signed body (one event as JSON), None when it names none."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    found = event.get("event_id") if isinstance(event, dict) else None
    return found if isinstance(found, str) else None


class ReplayCache:
    """The requests accepted within the last `window` seconds (thread-safe, in memory).
    A receiver with several processes keeps the same keys in a shared store instead."""

    def __init__(self, window: int = WINDOW_SECONDS) -> None:
        self.window = window
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def _forget_old(self, now: float) -> None:
        old = [key for key, at in self._seen.items() if at < now - 2 * self.window]
        for key in old:
            del self._seen[key]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._seen

    def add(self, key: str) -> None:
        now = time.time()
        with self._lock:
            self._forget_old(now)
            self._seen[key] = now

    def __len__(self) -> int:
        return len(self._seen)


def verify(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    window: int = WINDOW_SECONDS,
    seen: Seen | None = None,
) -> str:
    """Check one webhook request; the delivery id (the event's id) when it holds.

    Raises MissingHeader, ForgedSignature, StaleTimestamp or ReplayedDelivery (all
    BadWebhook). `seen` (a ReplayCache) remembers what was accepted: without it, replays
    within the window are not detected."""
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    given = _header(headers, SIGNATURE_HEADER)
    delivery = _header(headers, DELIVERY_HEADER)
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()) or len(raw_timestamp) > 12:
        raise MissingHeader(f"the {TIMESTAMP_HEADER} header is not a time in whole seconds")
    timestamp = int(raw_timestamp)
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise ForgedSignature("the signature does not match the secret, timestamp and body")
    current = time.time() if now is None else now
    if abs(current - timestamp) > window:
        raise StaleTimestamp(f"the timestamp is more than {window} s away from now")
    if delivery != _event_id(body):
        raise ForgedSignature(f"the {DELIVERY_HEADER} header is not the body's event_id")
    if seen is not None:
        key = f"{delivery}@{timestamp}:{given}"
        if key in seen:
            raise ReplayedDelivery("this request was accepted before")
        seen.add(key)
    return delivery
