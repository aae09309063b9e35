"""The Kafka SASL settings (CASEWORK_KAFKA_SASL_*) reach every kafka-python client a process
builds: its producers, consumers and admin clients, the topic creation and the relay's topic
watch; without them no SASL parameter is passed (the embedded broker of development)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import topics
from adapters.bootstrap import bootstrap
from adapters.settings import Settings, SettingsError
from consumers import relay

BASE = {
    "CASEWORK_STORE": "sqlite:///var/test-sasl.db",
    "CASEWORK_VIEWS": "sqlite:///var/test-sasl-views.db",
    "CASEWORK_KAFKA": "kafka:9092",
    "CASEWORK_SECRET_KEY": "s",
    "CASEWORK_MASTER_KEY": "3c" * 32,
}
SASL = {
    **BASE,
    "CASEWORK_KAFKA_SASL_USERNAME": "relay",
    "CASEWORK_KAFKA_SASL_PASSWORD": "relay-secret",
}
EXPECTED = {
    "security_protocol": "SASL_PLAINTEXT",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_plain_username": "relay",
    "sasl_plain_password": "relay-secret",
}


class Recorder:
    """Stands in for a kafka-python client class: keeps the keyword arguments it was given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, *topics: str, **config: Any) -> Recorder:
        self.calls.append(config)
        return self

    def close(self) -> None:
        pass

    def list_topics(self) -> list[str]:
        return [topics.EVENTS, topics.DLQ, topics.ANCHORS]


def test_the_sasl_settings_reach_producers_consumers_and_admin_clients(monkeypatch):
    producers, consumers, admins = Recorder(), Recorder(), Recorder()
    monkeypatch.setattr("adapters.bootstrap.KafkaAdminClient", admins)
    system = bootstrap(
        Settings.from_env(SASL), producer_factory=producers, consumer_factory=consumers
    )
    system.producer(acks="all")
    system.consumer(topics.EVENTS, group_id="g")
    system.admin(client_id="probe")
    for calls in (producers.calls, consumers.calls, admins.calls):
        assert len(calls) == 1
        assert {k: calls[0][k] for k in EXPECTED} == EXPECTED
        assert calls[0]["bootstrap_servers"] == "kafka:9092"
    assert producers.calls[0]["acks"] == "all"  # the client's own settings are kept


def test_topic_creation_and_the_relays_watch_use_them_too(monkeypatch):
    admins = Recorder()
    monkeypatch.setattr(topics, "KafkaAdminClient", admins)
    monkeypatch.setattr(relay, "KafkaAdminClient", admins)
    config = Settings.from_env(SASL).kafka_client_config()
    topics.ensure_topics("kafka:9092", 6, timeout=1, client_config=config)
    assert relay.TopicWatch("kafka:9092", config).admin is admins
    assert len(admins.calls) == 2
    for call in admins.calls:
        assert {k: call[k] for k in EXPECTED} == EXPECTED


def test_without_a_username_no_sasl_parameter_is_passed():
    producers = Recorder()
    system = bootstrap(Settings.from_env(BASE), producer_factory=producers)
    system.producer()
    assert not {k for k in producers.calls[0] if k.startswith(("sasl", "security"))}


def test_the_mechanism_and_protocol_can_be_chosen_and_are_checked():
    chosen = Settings.from_env(
        {
            **SASL,
            "CASEWORK_KAFKA_SASL_MECHANISM": "scram-sha-256",
            "CASEWORK_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        }
    ).kafka_client_config()
    assert chosen["sasl_mechanism"] == "SCRAM-SHA-256"
    assert chosen["security_protocol"] == "SASL_SSL"
    with pytest.raises(SettingsError, match="CASEWORK_KAFKA_SASL_MECHANISM"):
        Settings.from_env({**SASL, "CASEWORK_KAFKA_SASL_MECHANISM": "GSSAPI"})
    with pytest.raises(SettingsError, match="CASEWORK_KAFKA_SASL_PASSWORD"):
        Settings.from_env({**BASE, "CASEWORK_KAFKA_SASL_USERNAME": "relay"})


def test_the_password_is_not_in_the_settings_repr():
    assert "relay-secret" not in repr(Settings.from_env(SASL))
