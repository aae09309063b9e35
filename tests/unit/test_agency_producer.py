"""The agency producer's verifier checks a relay chunk's signature once and still refuses
every message that is not exactly as signed."""

from __future__ import annotations

import pytest

from adapters.settings import Settings, SettingsError
from adapters.signing import BadSignature, Signer
from adapters.topics import agency_retention
from consumers.agency_producer import RootVerifier, consumer_settings

SIGNER = Signer(bytes(range(32)))
TOPIC = "casework.events.v1"


class Counting:
    def __init__(self) -> None:
        self.inner = SIGNER.verifier()
        self.calls = 0

    def verify(self, *args) -> None:
        self.calls += 1
        self.inner.verify(*args)


def chunk(count: int = 5) -> list[tuple[bytes, bytes, list]]:
    messages = [(f"k{i}".encode(), f'{{"n":{i}}}'.encode(), [("type", b"X")]) for i in range(count)]
    signed = SIGNER.sign_batch(TOPIC, messages)
    return [(k, v, h) for (k, v, _), h in zip(messages, signed, strict=True)]


def test_a_chunk_is_checked_once_and_each_message_still_alone():
    counting = Counting()
    verify = RootVerifier(counting)  # type: ignore[arg-type]
    messages = chunk()
    for key, value, headers in messages:
        verify.verify(TOPIC, key, value, headers)
    assert counting.calls == 1  # one Ed25519 check for the five

    key, value, headers = messages[2]
    with pytest.raises(BadSignature):  # a changed value leads to another root
        verify.verify(TOPIC, key, value.replace(b"2", b"9"), headers)
    with pytest.raises(BadSignature):  # another key
        verify.verify(TOPIC, b"other", value, headers)
    with pytest.raises(BadSignature):  # another topic
        verify.verify("casework.agency.X.v1", key, value, headers)
    with pytest.raises(BadSignature):  # another message's proof
        proof = dict(messages[0][2])["proof"]
        verify.verify(TOPIC, key, value, [*headers[:-1], ("proof", proof)])
    with pytest.raises(BadSignature):  # unsigned
        verify.verify(TOPIC, key, value, [("type", b"X")])
    with pytest.raises(BadSignature):  # signed by another key
        other = Signer(bytes(32)).sign_batch(TOPIC, [(key, value, [("type", b"X")])])[0]
        verify.verify(TOPIC, key, value, other)


def test_the_reader_reads_committed_and_assigns_partitions():
    settings = consumer_settings("topic-id")
    assert settings["isolation_level"] == "read_committed"
    assert settings["enable_auto_commit"] is False
    assert settings["group_id"] == "casework-agencies.topic-id"


PG = {
    "CASEWORK_STORE": "postgresql://u@h/db",
    "CASEWORK_VIEWS": "postgresql://u@h/views",
    "CASEWORK_SECRET_KEY": "s",
    "CASEWORK_MASTER_KEY": "5e" * 32,
    "CASEWORK_SIGNING_KEY": "cd" * 32,
}


def test_the_agency_topics_retention_is_a_setting_and_a_bad_value_is_named():
    assert Settings.from_env(PG).agency_retention_days == 30
    assert (
        Settings.from_env({**PG, "CASEWORK_AGENCY_RETENTION_DAYS": " 7 "}).agency_retention_days
        == 7
    )
    for value in ("0", "3651", "-1", "1.5", "sebulan", "30d"):
        with pytest.raises(
            SettingsError, match="^CASEWORK_AGENCY_RETENTION_DAYS: must be a whole number from 1 to"
        ):
            Settings.from_env({**PG, "CASEWORK_AGENCY_RETENTION_DAYS": value})


def test_an_agency_topic_keeps_its_messages_the_days_set_and_closes_a_segment_daily():
    """Kafka deletes a segment whose newest message is past retention.ms: closed at least
    daily, a message is gone at most a day after its days."""
    assert agency_retention(30) == {
        "retention.ms": str(30 * 86_400_000),
        "cleanup.policy": "delete",
        "segment.ms": "86400000",
    }
    assert agency_retention(1)["segment.ms"] == agency_retention(1)["retention.ms"] == "86400000"
