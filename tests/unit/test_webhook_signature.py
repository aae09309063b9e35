"""The check a webhook receiver runs (consumers/webhook_signature.py)."""

from __future__ import annotations

import pytest

from consumers.webhook_signature import (
    ForgedSignature,
    MissingHeader,
    ReplayCache,
    ReplayedDelivery,
    StaleTimestamp,
    sign,
    verify,
)

SECRET = "c0ffee" * 8
BODY = b'{"event_id":"e1","type":"HouseholdRegistered"}'
NOW = 1_800_000_000


def test_a_signed_request_verifies_and_answers_its_delivery_id():
    headers = sign(SECRET, BODY, "e1", now=NOW)
    assert headers["X-Casework-Signature"].startswith("sha256=")
    assert verify(SECRET, headers, BODY, now=NOW + 10) == "e1"
    lowered = {name.lower(): value for name, value in headers.items()}
    assert verify(SECRET, lowered, BODY, now=NOW) == "e1"


def test_a_forged_signature_is_rejected():
    other_secret = sign("another secret", BODY, "e1", now=NOW)
    with pytest.raises(ForgedSignature):
        verify(SECRET, other_secret, BODY, now=NOW)
    genuine = sign(SECRET, BODY, "e1", now=NOW)
    with pytest.raises(ForgedSignature):
        verify(SECRET, genuine, BODY.replace(b"e1", b"e2"), now=NOW)  # the body changed
    with pytest.raises(ForgedSignature):
        verify(SECRET, {**genuine, "X-Casework-Timestamp": str(NOW + 1)}, BODY, now=NOW)


def test_a_timestamp_outside_the_window_is_rejected():
    headers = sign(SECRET, BODY, "e1", now=NOW)
    with pytest.raises(StaleTimestamp):
        verify(SECRET, headers, BODY, now=NOW + 301)
    with pytest.raises(StaleTimestamp):
        verify(SECRET, headers, BODY, now=NOW - 301)
    assert verify(SECRET, headers, BODY, now=NOW + 300) == "e1"


def test_a_replayed_request_is_rejected_but_a_retry_signed_anew_is_not():
    seen = ReplayCache()
    first = sign(SECRET, BODY, "e1", now=NOW)
    verify(SECRET, first, BODY, now=NOW, seen=seen)
    with pytest.raises(ReplayedDelivery):
        verify(SECRET, dict(first), BODY, now=NOW + 5, seen=seen)
    retry = sign(SECRET, BODY, "e1", now=NOW + 2)  # the sender's next attempt
    assert verify(SECRET, retry, BODY, now=NOW + 5, seen=seen) == "e1"


def test_missing_or_malformed_headers_are_named():
    headers = sign(SECRET, BODY, "e1", now=NOW)
    for name in headers:
        partial = {k: v for k, v in headers.items() if k != name}
        with pytest.raises(MissingHeader, match=name):
            verify(SECRET, partial, BODY, now=NOW)
    with pytest.raises(MissingHeader):
        verify(SECRET, {**headers, "X-Casework-Timestamp": "soon"}, BODY, now=NOW)


def test_a_delivery_id_that_is_not_the_bodys_event_is_refused():
    """The delivery id a receiver deduplicates by is the signed body's `event_id`: a header
    changed on the way (to make the receiver skip the event as one already processed, or
    take it twice) is refused."""
    genuine = sign(SECRET, BODY, "e1", now=NOW)
    for other in ("e2", "e1x", "E1"):
        with pytest.raises(ForgedSignature, match="X-Casework-Delivery"):
            verify(SECRET, {**genuine, "X-Casework-Delivery": other}, BODY, now=NOW)
    # a captured request sent again under a delivery id of the attacker's choosing does not
    # pass as an event the receiver has not processed yet
    seen = ReplayCache()
    assert verify(SECRET, genuine, BODY, now=NOW, seen=seen) == "e1"
    with pytest.raises(ForgedSignature, match="X-Casework-Delivery"):
        verify(SECRET, {**genuine, "X-Casework-Delivery": "e9"}, BODY, now=NOW + 5, seen=seen)
    unnamed = b'{"type":"HouseholdRegistered"}'
    with pytest.raises(ForgedSignature, match="X-Casework-Delivery"):
        verify(SECRET, sign(SECRET, unnamed, "e1", now=NOW), unnamed, now=NOW)
