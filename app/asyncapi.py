"""The AsyncAPI 3.0.0 document of the Kafka topics (served at /api/v1/asyncapi.json).

Every topic the system writes: the events topic, each agency's topic (one channel with the
agency's code as a parameter), the audit anchors and the DLQ. Every event type that is
published is a message, its `data` described by the same marshmallow schemas the consumers
check events with (`consumers.event_schemas`), turned into JSON Schema by apispec as the
OpenAPI document's are (app/openapi.py). On an agency topic the data is the agreement's
share of it (any field may be left out, personal fields may be pseudonyms) and the envelope
names the agreement.
"""

from __future__ import annotations

import copy
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from adapters.settings import Settings
from adapters.signing import KEY_ID_HEADER, PROOF_HEADER, SIGNATURE_HEADER
from adapters.topics import ANCHORS, DLQ, EVENTS, FOREVER, agency_retention
from adapters.wire import REQUIRED
from consumers.agency_producer import GROUP as AGENCIES_GROUP
from consumers.event_schemas import schemas
from domain.streams import PRIVATE_STREAM_TYPES

VERSION = "3.0.0"
KAFKA_BINDING = "0.5.0"
PRIVATE = {stream.__name__ for stream in PRIVATE_STREAM_TYPES}
AGENCY_ADDRESS = "casework.agency.{agency}.v1"
_REF = "#/components/schemas/"

DESCRIPTION = (
    "The Kafka topics of Casework, the poverty-alleviation register of Kota Jambi. Every"
    " message is signed with the system's Ed25519 key (headers `signature`, `key_id`,"
    " `proof`) over its topic, key, value and other headers; check it with the JWK set of"
    " `GET /api/v1/keys` (adapters/signing.py says how; consumers/example_agency_consumer.py"
    " does it). Personal fields on the events topic are ciphertext (`pd1.` tokens); an"
    " agency's topic carries only what its agreement allows. Read the agency topics with"
    " `isolation.level=read_committed`: they are written in Kafka transactions."
)


def _positive(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "description": description}


def envelope_schema(data_ref: str, agency: bool) -> dict[str, Any]:
    """The envelope every message value is (adapters/wire.py), with this data schema."""
    actor = {
        "type": "object",
        "required": ["id", "role"],
        "properties": {
            "id": {"type": "string"},
            "role": {"type": "string"},
            "opd": {"type": ["string", "null"]},
        },
    }
    properties: dict[str, Any] = {
        "event_id": {"type": "string", "format": "uuid"},
        "tenant": {"type": "string", "description": "the deployment's BPS region code"},
        "position": _positive("the event's position in the store (a store-wide order)"),
        "stream_id": {"type": "string", "format": "uuid", "description": "also the key"},
        "stream_type": {"type": "string"},
        "version": _positive("the event's version in its stream (1, 2, ...)"),
        "type": {"type": "string"},
        "schema_version": {"type": "integer"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "recorded_at": {"type": "string", "format": "date-time"},
        "actor": actor,
        "reason": {"type": ["string", "null"]},
        "source": {"type": ["string", "null"]},
        "data": {"$ref": data_ref},
    }
    required = list(REQUIRED)  # the envelope's own fields (adapters.wire)
    if agency:
        properties["agreement"] = {
            "type": "object",
            "required": ["agency", "version"],
            "description": "the agency agreement (and its version) that let this through",
            "properties": {
                "agency": {"type": "string", "pattern": "^[A-Z0-9_-]{2,32}$"},
                "version": _positive("the agreement's terms version"),
            },
        }
        required.append("agreement")
    return {"type": "object", "required": required, "properties": properties}


def _signed_headers(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties = {
        SIGNATURE_HEADER: {
            "type": "string",
            "description": "base64 Ed25519 signature of the Merkle root of the signed batch",
        },
        KEY_ID_HEADER: {"type": "string", "description": "the `kid` of the key in /api/v1/keys"},
        PROOF_HEADER: {
            "type": "string",
            "description": "base64 path from this message to the signed root (33-byte steps)",
        },
        **(extra or {}),
    }
    return {"type": "object", "required": sorted(properties), "properties": properties}


EVENT_HEADERS = {
    "type": {"type": "string", "description": "the event type"},
    "position": {"type": "string", "pattern": "^[0-9]+$", "description": "the position"},
}
KEY = {"type": "string", "format": "uuid", "description": "the stream id"}


def _data_schemas() -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The events' data schemas as JSON Schema (apispec, as for the OpenAPI document), and
    (message name, stream type, event type) of every published event."""
    spec = APISpec(
        title="events", version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()]
    )
    published = []
    for (stream, event), schema in sorted(schemas().items()):
        if stream in PRIVATE:
            continue  # accounts and tokens are never published
        name = f"{stream}{event}"
        spec.components.schema(f"{name}Data", schema=schema)
        published.append((name, stream, event))
    return spec.to_dict()["components"]["schemas"], published


def _agency_variant(schema: dict[str, Any]) -> dict[str, Any]:
    """An agency's share of an event's data: every field optional, any value may be a
    pseudonym (a string) instead of what the event holds."""
    shared = copy.deepcopy(schema)
    shared.pop("required", None)
    shared["description"] = (
        "the fields the agreement allows; personal fields opened or as pseudonyms"
    )
    shared["properties"] = {
        name: {"anyOf": [field, {"type": "string"}]}
        for name, field in shared.get("properties", {}).items()
    }
    return shared


def _channel(
    address: str,
    description: str,
    messages: list[str],
    topic: dict[str, str] = FOREVER,
    **binding: Any,
) -> dict:
    """A channel; `topic`: its topic's settings (kept for ever unless given)."""
    return {
        "address": address,
        "description": description,
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in messages},
        "bindings": {
            "kafka": {
                "topicConfiguration": {
                    "retention.ms": int(topic["retention.ms"]),
                    "cleanup.policy": [topic["cleanup.policy"]],
                },
                "bindingVersion": KAFKA_BINDING,
                **binding,
            }
        },
    }


def _operation(channel: str, messages: list[str], summary: str, **more: Any) -> dict:
    return {
        "action": "send",
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in messages],
        **more,
    }


def document(settings: Settings) -> dict[str, Any]:
    """The AsyncAPI document of this deployment's topics."""
    data, published = _data_schemas()
    components_schemas: dict[str, Any] = dict(data)
    messages: dict[str, Any] = {}
    event_messages, agency_messages = [], []
    for name, stream, event in published:
        components_schemas[f"{name}AgencyData"] = _agency_variant(data[f"{name}Data"])
        components_schemas[f"{name}Envelope"] = envelope_schema(f"{_REF}{name}Data", False)
        components_schemas[f"{name}AgencyEnvelope"] = envelope_schema(
            f"{_REF}{name}AgencyData", True
        )
        common = {
            "contentType": "application/json",
            "headers": _signed_headers(EVENT_HEADERS),
            "bindings": {"kafka": {"key": KEY, "bindingVersion": KAFKA_BINDING}},
        }
        messages[name] = {
            "name": event,
            "title": f"{stream} {event}",
            "summary": f"{event} of a {stream} stream",
            "payload": {"$ref": f"{_REF}{name}Envelope"},
            **common,
        }
        messages[f"Agency{name}"] = {
            "name": event,
            "title": f"{stream} {event} (an agency's share)",
            "summary": f"{event} as an agency's agreement lets it see it",
            "payload": {"$ref": f"{_REF}{name}AgencyEnvelope"},
            **common,
        }
        event_messages.append(name)
        agency_messages.append(f"Agency{name}")
    messages["AuditAnchor"] = {
        "name": "AuditAnchor",
        "title": "the event chain's head",
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "description": "a signed anchor (adapters/chain.py): position and link of the"
            " event chain's head, and the read log's last row (read_log_id, read_log_hash);"
            " check its `signature` with /api/v1/keys",
            "required": ["signature", "key_id"],
            "properties": {"signature": {"type": "string"}, "key_id": {"type": "string"}},
        },
    }
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "a message a consumer could not use",
        "summary": "the original key and value, with why it was parked",
        "headers": {
            "type": "object",
            "required": ["error", "reason", "consumer", "original_topic"],
            "properties": {
                name: {"type": "string"}
                for name in (
                    "error",
                    "reason",
                    "consumer",
                    "original_topic",
                    "original_partition",
                    "original_offset",
                )
            },
        },
        "payload": {},
    }
    partitions = settings.partitions
    days = settings.agency_retention_days
    channels = {
        "events": _channel(
            EVENTS,
            "Every stored event but accounts and tokens, in store order per stream (the key is"
            " the stream id), published at least once by the relay: deduplicate by `position`.",
            event_messages,
            partitions=partitions,
        ),
        "agency": {
            **_channel(
                AGENCY_ADDRESS,
                "One agency's share of the events under its agreement (event types, fields,"
                " area), written in Kafka transactions: read it `read_committed` and each event"
                " is there once. Signed for this topic (a message copied to another topic does"
                " not verify). Only the agency's own principal may read it."
                f" Kept {days} days (CASEWORK_AGENCY_RETENTION_DAYS), not for ever: read it"
                f" within {days} days, or what is older is gone. Messages may carry personal"
                " data in clear where the agreement allows it; when a person's data is erased"
                " (UU PDP) nothing of them is written any more, and their earlier messages are"
                f" gone from the topic {days} days after they were written (at most a day"
                " later: Kafka deletes whole segments, closed daily). What the agency copied"
                " out of the topic is its own to erase.",
                agency_messages,
                agency_retention(days),
                partitions=partitions,
            ),
            "parameters": {
                "agency": {"description": "the agency's code (upper case), e.g. BPJSKES"}
            },
        },
        "anchors": _channel(
            ANCHORS,
            "The event chain's head every few minutes, signed: keep one to check the store.",
            ["AuditAnchor"],
            partitions=1,
        ),
        "deadLetters": _channel(
            DLQ,
            "Messages a consumer parked: forged or unverifiable, of another tenant, malformed.",
            ["DeadLetter"],
            partitions=partitions,
        ),
    }
    operations = {
        "publishEvents": _operation(
            "events", event_messages, "the relay publishes every stored event (`casework relay`)"
        ),
        "publishAgencyEvents": _operation(
            "agency",
            agency_messages,
            "the agency producer writes each agency's share (`casework agencies`)",
            description="Exactly once per agency for `read_committed` readers: the messages"
            " and the events topic's offsets commit in one transaction.",
            bindings={
                "kafka": {
                    "groupId": {"type": "string", "enum": [AGENCIES_GROUP]},
                    "bindingVersion": KAFKA_BINDING,
                }
            },
        ),
        "publishAnchors": _operation(
            "anchors", ["AuditAnchor"], "the relay publishes the chain's head"
        ),
        "parkDeadLetters": _operation(
            "deadLetters", ["DeadLetter"], "the consumers park what they cannot use"
        ),
    }
    return {
        "asyncapi": VERSION,
        "info": {
            "title": "Casework topics",
            "version": "1",
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "servers": {
            "kafka": {
                "host": settings.kafka or "kafka:9092",
                "protocol": "kafka",
                "description": "the deployment's Kafka (SASL/SCRAM-SHA-512, one principal per"
                " reader; an agency's principal reads only its own topic)",
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            }
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": components_schemas,
            "messages": messages,
            "securitySchemes": {
                "scram": {"type": "scramSha512", "description": "one principal per reader"}
            },
        },
    }
