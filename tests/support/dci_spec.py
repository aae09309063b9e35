"""The SPDCI social registry's OpenAPI document (tests/fixtures/dci/social_api_v1.0.0.yaml) as
validators of the DCI interface's requests, answers and callbacks (app/dci.py).

Each body is checked against the document's own schema for it, with `openapi-schema-validator`
(OpenAPI 3.0 schema objects) and `referencing` resolving the document's $refs. Three defects
of the published document are worked around here, never by editing the document:

- `type: enum` (NotifyEventRequest ... response_entity) is no OpenAPI type: it is checked as
  a string (its `enum` still applies);
- two $refs point through another $ref (`#/paths/~1registry~1search/.../message/oneOf/0/
  properties/...`, where `oneOf/0` is itself a $ref to SearchRequest): they are resolved here
  the way the authors meant, following the $ref on the way;
- the 1.0.0 release lists schemas for subscribe, unsubscribe and notify but no paths for them:
  their envelopes are composed as the document composes every other one (`header`: the
  request or callback header with the action; `message`: the schema or an EncryptedMessage).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import validators
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_FILE = Path(__file__).parents[1] / "fixtures" / "dci" / "social_api_v1.0.0.yaml"
BASE = "urn:spdci:social_api:1.0.0"

Validator = validators.extend(
    OAS30Validator,
    type_checker=OAS30Validator.TYPE_CHECKER.redefine(
        "enum", lambda checker, instance: isinstance(instance, str)
    ),
)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _canonical(spec: dict[str, Any], pointer: str) -> str:
    """The pointer of the node `pointer` means, following any $ref met on the way."""
    tokens: list[str] = []
    node: Any = spec
    for token in (_unescape(t) for t in pointer.lstrip("#/").split("/")):
        while isinstance(node, dict) and token not in node and "$ref" in node:
            tokens = [_unescape(t) for t in node["$ref"].lstrip("#/").split("/")]
            node = spec
            for step in tokens:
                node = node[step]
        node = node[int(token)] if isinstance(node, list) else node[token]
        tokens.append(token)
    return "#/" + "/".join(_escape(t) for t in tokens)


def _fix_refs(spec: dict[str, Any], node: Any) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/paths/"):
            node["$ref"] = _canonical(spec, ref)
        for value in node.values():
            _fix_refs(spec, value)
    elif isinstance(node, list):
        for value in node:
            _fix_refs(spec, value)


@cache
def spec() -> dict[str, Any]:
    document = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    _fix_refs(document, document)
    return document


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(spec(), default_specification=DRAFT4)
    return Registry().with_resource(BASE, resource)


def _errors(schema: dict[str, Any], body: Any) -> list[str]:
    validator = Validator(
        {"$ref": f"{BASE}{schema['$ref']}"} if "$ref" in schema else schema,
        registry=_registry(),
        format_checker=oas30_format_checker,
    )
    found = validator.iter_errors(body)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in found)


def _ref(pointer: str) -> dict[str, str]:
    return {"$ref": pointer}


def _envelope(header: str, action: str, message: str, required: list[str]) -> dict[str, Any]:
    return {
        "$ref": None,  # replaced below: an inline schema whose $refs resolve in the document
        "type": "object",
        "properties": {
            "signature": _ref(f"{BASE}#/components/schemas/MsgSignature"),
            "header": {
                "allOf": [
                    _ref(f"{BASE}#/components/schemas/{header}"),
                    {"properties": {"action": {"enum": [action]}}},
                ]
            },
            "message": {
                "type": "object",
                "oneOf": [
                    _ref(f"{BASE}#/components/schemas/{message}"),
                    _ref(f"{BASE}#/components/schemas/EncryptedMessage"),
                ],
            },
        },
        "required": required,
    }


# Envelopes the release describes only by their schemas (see the module's docstring).
COMPOSED = {
    ("request", "/registry/subscribe"): ("MsgHeader_V1.0.0", "subscribe", "SubscribeRequest"),
    ("request", "/registry/unsubscribe"): (
        "MsgHeader_V1.0.0",
        "unsubscribe",
        "UnSubscribeRequest",
    ),
    ("callback", "on-subscribe"): ("MsgCallbackHeader_V1.0.0", "on-subscribe", "SubscribeResponse"),
    ("callback", "on-unsubscribe"): (
        "MsgCallbackHeader_V1.0.0",
        "on-unsubscribe",
        "UnSubscribeResponse",
    ),
    ("callback", "notify"): ("MsgCallbackHeader_V1.0.0", "notify", "NotifyEventRequest"),
}
CALLBACK_PATHS = {"on-search": "/registry/on-search", "txn/on-status": "/registry/txn/on-status"}


def _composed(key: tuple[str, str]) -> dict[str, Any]:
    header, action, message = COMPOSED[key]
    schema = _envelope(header, action, message, ["header", "message"])
    del schema["$ref"]
    return schema


def _operation(path: str) -> dict[str, Any]:
    return spec()["paths"][path]["post"]


def _body_schema_pointer(path: str) -> str:
    escaped = _escape(path)
    return f"#/paths/{escaped}/post/requestBody/content/application~1json/schema"


def request_errors(path: str, body: Any) -> list[str]:
    """What is wrong with a request to `path` (e.g. "/registry/sync/search") by the spec."""
    if ("request", path) in COMPOSED:
        return _errors(copy.deepcopy(_composed(("request", path))), body)
    _operation(path)  # a KeyError for a path the document does not have
    return _errors({"$ref": _body_schema_pointer(path)}, body)


def response_errors(path: str, status: int, body: Any) -> list[str]:
    """What is wrong with the answer `status` of `path`, by the spec's responses (the
    subscribe and unsubscribe routes answer as the document's other asynchronous routes)."""
    described = "/registry/search" if ("request", path) in COMPOSED else path
    responses = _operation(described)["responses"]
    key = str(status) if str(status) in responses else "default"
    response = responses[key]
    if "$ref" in response:
        pointer = response["$ref"] + "/content/application~1json/schema"
    else:
        pointer = (
            f"#/paths/{_escape(described)}/post/responses/{key}/content/application~1json/schema"
        )
    return _errors({"$ref": pointer}, body)


def callback_errors(action: str, body: Any) -> list[str]:
    """What is wrong with a callback this registry sent (`on-search`, `on-subscribe`,
    `on-unsubscribe`, `notify`, `txn/on-status`)."""
    if ("callback", action) in COMPOSED:
        return _errors(copy.deepcopy(_composed(("callback", action))), body)
    return _errors({"$ref": _body_schema_pointer(CALLBACK_PATHS[action])}, body)
