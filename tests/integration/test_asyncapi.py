"""/api/v1/asyncapi.json: a valid AsyncAPI 3.0.0 document (checked against the specification's
own JSON Schema, from the npm package @asyncapi/specs), public, naming every topic the
system writes, and describing what really travels on them: a message the relay publishes and
its agency-topic share validate against the document's schemas for their event type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from adapters import wire
from adapters.bootstrap import bootstrap, open_store_reader
from adapters.settings import Settings
from adapters.topics import ANCHORS, DLQ, EVENTS, agency_topic
from app import create_app
from tests.support.events import register_families

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SPEC_SCHEMA = ROOT / "node_modules/@asyncapi/specs/schemas/3.0.0-without-$id.json"


@pytest.fixture
def web(tmp_path) -> Iterator[Flask]:
    settings = Settings.from_env(
        {
            "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": "5e" * 32,
            "CASEWORK_KAFKA": "broker.example:9092",
        }
    )
    flask_app = create_app(bootstrap(settings))
    yield flask_app
    flask_app.extensions["casework"].close()


@pytest.fixture
def document(web) -> dict:
    response = web.test_client().get("/api/v1/asyncapi.json")  # no bearer token: public
    assert response.status_code == 200
    return response.json


def test_the_document_is_valid_asyncapi_3(document):
    schema = json.loads(SPEC_SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])
    assert document["asyncapi"] == "3.0.0"
    # and a broken one is refused: the check can fail
    broken = {**document, "channels": {"events": {"address": 5}}}
    assert list(Draft7Validator(schema).iter_errors(broken))


def test_every_topic_is_a_channel_with_its_operation(document):
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {EVENTS, "casework.agency.{agency}.v1", ANCHORS, DLQ}
    assert agency_topic("BPJSKES") == "casework.agency.{agency}.v1".format(agency="BPJSKES")
    assert document["servers"]["kafka"]["host"] == "broker.example:9092"
    assert (
        "Kept 30 days (CASEWORK_AGENCY_RETENTION_DAYS)"
        in document["channels"]["agency"]["description"]
    )
    for channel, described in document["channels"].items():
        kept = described["bindings"]["kafka"]["topicConfiguration"]
        # an agency topic: CASEWORK_AGENCY_RETENTION_DAYS (30 by default); the others for ever
        assert kept["retention.ms"] == (30 * 86_400_000 if channel == "agency" else -1), channel
        assert kept["cleanup.policy"] == ["delete"]
        assert any(
            op["channel"] == {"$ref": f"#/channels/{channel}"}
            for op in document["operations"].values()
        ), channel

    # every $ref points at something in the document
    def targets(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from targets(value)
        elif isinstance(node, list):
            for value in node:
                yield from targets(value)

    for ref in targets(document):
        here = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in here, ref
            here = here[part]
    # accounts and tokens are never published, so never described
    assert not any(
        name.startswith(("User", "TokenIndex")) for name in document["components"]["messages"]
    )


def validator_for(document: dict, schema_name: str) -> Draft202012Validator:
    registry = Registry().with_resource("urn:casework", DRAFT202012.create_resource(document))
    return Draft202012Validator(
        {"$ref": f"urn:casework#/components/schemas/{schema_name}"}, registry=registry
    )


def test_what_travels_fits_the_document(document, web):
    """A household's events as the relay builds them, and an agency's share of one."""
    casework = web.extensions["casework"].casework
    [household] = register_families(casework, 1)
    reader = open_store_reader(web.extensions["casework"].settings.store)  # as the relay reads
    envelopes = []
    after = 0
    while batch := reader.recorder.select_notifications(after, 100, inclusive_of_start=False):
        for n in batch:
            envelope = json.loads(wire.encode(wire.from_notification(reader, n, "1571")))
            if envelope["stream_id"] == household:
                envelopes.append(envelope)
        after = batch[-1].id
    reader.close()
    assert {e["type"] for e in envelopes} >= {"HouseholdRegistered", "MemberAdded"}
    for envelope in envelopes:
        name = f"{envelope['stream_type']}{envelope['type']}"
        errors = list(validator_for(document, f"{name}Envelope").iter_errors(envelope))
        assert not errors, (name, [e.message[:200] for e in errors])
    registered = next(e for e in envelopes if e["type"] == "HouseholdRegistered")
    share = {
        **registered,
        "data": {"kecamatan": registered["data"]["kecamatan"], "head": "pseudonym-1a2b"},
        "agreement": {"agency": "BPJSKES", "version": 2},
    }
    validator = validator_for(document, "HouseholdHouseholdRegisteredAgencyEnvelope")
    assert not list(validator.iter_errors(share))
    assert list(validator.iter_errors({**share, "agreement": {"agency": "x"}}))
    # a household registration is not what the anchors' or another event's schema describe
    assert list(validator_for(document, "HouseholdMemberAddedEnvelope").iter_errors(registered))
