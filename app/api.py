"""The HTTP API for integrators (`/api/v1`, JSON): commands, queries and its OpenAPI document.

`run_command` is the one command path: the web forms call it too.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from eventsourcing.persistence import IntegrityError
from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, fields

from app import services
from app.messages import LANGUAGES, translate
from app.schemas import COMMANDS, Invalid, load
from domain.application import Actor, Casework, Stored, make_meta
from domain.errors import Conflict, DomainError, NotFound
from projections.envelope import rfc3339
from projections.register import get_household, search

log = logging.getLogger("casework.api")

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_LIMIT = 100

_STATUS_CODES = {
    400: "request.bad",
    404: "route.not_found",
    405: "method.not_allowed",
    413: "request.too_large",
    500: "server.error",
    503: "store.unavailable",
}


def current_actor() -> Actor:
    """Who is calling. Seam for accounts and API tokens (a later issue): until then every
    caller is the administrator."""
    return Actor(id="api", role="admin")


def run_command(casework: Casework, name: str, payload: Any, actor: Actor, source: str) -> Stored:
    """Validate a command with its schema and carry it out; raises Invalid or a DomainError."""
    command = COMMANDS[name]
    data = load(name, payload)
    meta = make_meta(actor, source, reason=data.pop("reason"), occurred_at=data.pop("occurred_at"))
    try:
        return getattr(casework, command.method)(data, meta)
    except IntegrityError:
        # Another writer stored the same stream version first.
        raise Conflict("expected_version", "version.stale") from None
    except DomainError as error:
        field = command.domain_fields.get(error.field, error.field)
        if field == error.field:
            raise
        raise type(error)(field, error.code) from None


def language() -> str:
    return request.accept_languages.best_match(LANGUAGES, default=LANGUAGES[0])


def errors_body(codes: dict[str, list[str]]) -> dict[str, Any]:
    """The error answer: messages in the caller's language, plus the stable codes."""
    return {"errors": translate(codes, language()), "codes": codes}


def error_response(
    status: int, field: str = "body", code: str | None = None
) -> tuple[Response, int]:
    code = code or _STATUS_CODES.get(status, "request.bad")
    return jsonify(errors_body({field: [code]})), status


def _domain_status(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 422


@bp.post("/commands/<name>")
def command(name: str):
    if name not in COMMANDS:
        return error_response(404, "command", "command.unknown")
    try:
        payload = json.loads(request.get_data(cache=False) or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return error_response(400, "body", "body.json")
    if not isinstance(payload, dict):
        return error_response(400, "body", "field.object")
    try:
        stored = run_command(services().casework, name, payload, current_actor(), "api")
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    except DomainError as error:
        return jsonify(errors_body({error.field: [error.code]})), _domain_status(error)
    log.info("%s stored: stream %s version %s", name, stored.stream_id, stored.version)
    body = {
        "stream_id": stored.stream_id,
        "version": stored.version,
        "position": stored.position,
        "event_ids": stored.event_ids,
    }
    return jsonify(body), 201


def _bounded_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Invalid({name: [f"{name}.invalid"]})
    return int(raw)


@bp.get("/households")
def households():
    try:
        limit = _bounded_int("limit", 50, 1, MAX_LIMIT)
        offset = _bounded_int("offset", 0, 0, 10**9)
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    results = search(
        services().views,
        nik=request.args.get("nik", "").strip(),
        kk=request.args.get("kk", "").strip(),
        q=request.args.get("q", "").strip(),
        limit=limit,
        offset=offset,
    )
    return jsonify({"results": results})


def household_from_store(casework: Casework, household_id: str) -> dict[str, Any] | None:
    """The household as the event store knows it (before the read model caught up)."""
    try:
        household = casework.get_household(household_id)
    except NotFound:
        return None
    return {
        "id": str(household.id),
        "kk_number": household.kk_number,
        "kecamatan": household.kecamatan,
        "kelurahan": household.kelurahan,
        "address": household.address,
        "rt": household.rt,
        "rw": household.rw,
        "version": household.version,
        "registered_at": rfc3339(household.created_on),
        "members": list(household.members.values()),
    }


@bp.get("/households/<household_id>")
def household(household_id: str):
    try:
        household_id = str(uuid.UUID(household_id))
    except ValueError:
        return error_response(404, "household_id", "household.not_found")
    found = get_household(services().views, household_id)
    if found is None:
        # Just stored, not yet projected: answer from the store so a writer reads its write.
        found = household_from_store(services().casework, household_id)
    if found is None:
        return error_response(404, "household_id", "household.not_found")
    return jsonify(found)


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


# --- OpenAPI, generated from the marshmallow schemas -------------------------------------

_FIELD_TYPES: list[tuple[type, dict[str, Any]]] = [
    (fields.UUID, {"type": "string", "format": "uuid"}),
    (fields.AwareDateTime, {"type": "string", "format": "date-time"}),
    (fields.Integer, {"type": "integer"}),
    (fields.String, {"type": "string"}),
]


def _json_schema(field: fields.Field) -> dict[str, Any]:
    if isinstance(field, fields.Nested):
        return {"$ref": f"#/components/schemas/{_schema_name(field.nested)}"}
    out: dict[str, Any] = {}
    for cls, base in _FIELD_TYPES:
        if isinstance(field, cls):
            out.update(base)
            break
    out.update(field.metadata.get("openapi", {}))
    if "description" in field.metadata:
        out["description"] = field.metadata["description"]
    if "example" in field.metadata:
        out["example"] = field.metadata["example"]
    if field.allow_none:
        out["nullable"] = True
    return out


def _schema_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


def component(schema: type[Schema]) -> dict[str, Any]:
    declared = schema().fields
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, f in declared.items() if f.required],
        "properties": {name: _json_schema(f) for name, f in declared.items()},
    }


_ERRORS = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "object",
            "description": "messages by field (dot paths such as head.nik), in the Accept-Language",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "codes": {
            "type": "object",
            "description": "the same errors as stable codes",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}
_STORED = {
    "type": "object",
    "required": ["stream_id", "version", "position", "event_ids"],
    "properties": {
        "stream_id": {"type": "string", "format": "uuid"},
        "version": {"type": "integer"},
        "position": {"type": "integer"},
        "event_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}},
    },
}
_MEMBER = {
    "type": "object",
    "properties": {
        "nik": {"type": "string"},
        "name": {"type": "string"},
        "birth_date": {"type": "string", "format": "date"},
        "sex": {"type": "string", "enum": ["M", "F"]},
        "relationship": {"type": "string"},
        "status": {"type": "string"},
    },
}
_HOUSEHOLD = {
    "type": "object",
    "required": ["id", "kk_number", "kecamatan", "kelurahan", "version", "members"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "kk_number": {"type": "string"},
        "kecamatan": {"type": "string"},
        "kelurahan": {"type": "string"},
        "address": {"type": "string"},
        "rt": {"type": "string"},
        "rw": {"type": "string"},
        "version": {"type": "integer"},
        "registered_at": {"type": "string", "format": "date-time"},
        "members": {"type": "array", "items": {"$ref": "#/components/schemas/Member"}},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
    }


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Errors": _ERRORS,
        "Stored": _STORED,
        "Member": _MEMBER,
        "Household": _HOUSEHOLD,
    }
    paths: dict[str, Any] = {}
    for name, command in COMMANDS.items():
        schemas[_schema_name(command.schema)] = component(command.schema)
        for f in command.schema().fields.values():
            if isinstance(f, fields.Nested):
                schemas[_schema_name(f.nested)] = component(f.nested)
        paths[f"/commands/{name}"] = {
            "post": {
                "operationId": name,
                "summary": f"{name} command",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "$ref": f"#/components/schemas/{_schema_name(command.schema)}"
                            }
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "stored",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Stored"}}
                        },
                    },
                    "400": _error("the body is not a JSON object"),
                    "404": _error("no such stream"),
                    "409": _error("expected_version is stale, or a NIK or KK number is taken"),
                    "422": _error("invalid: nothing stored"),
                },
            }
        }
    query = [
        {"name": n, "in": "query", "required": False, "schema": s, "description": d}
        for n, s, d in (
            ("nik", {"type": "string"}, "a member's NIK (exact)"),
            ("kk", {"type": "string"}, "the KK number (exact)"),
            ("q", {"type": "string"}, "part of a member's name"),
            ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "default 50"),
            ("offset", {"type": "integer", "minimum": 0}, "default 0"),
        )
    ]
    paths["/households"] = {
        "get": {
            "operationId": "searchHouseholds",
            "summary": "households matching every criterion given; none given: the newest",
            "parameters": query,
            "responses": {
                "200": {
                    "description": "the matches",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "results": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Household"},
                                    }
                                },
                            }
                        }
                    },
                },
                "422": _error("limit or offset out of range"),
            },
        }
    }
    paths["/households/{id}"] = {
        "get": {
            "operationId": "getHousehold",
            "summary": "a household with its members",
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                }
            ],
            "responses": {
                "200": {
                    "description": "the household",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Household"}}
                    },
                },
                "404": _error("no such household"),
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Casework API",
            "version": "1",
            "description": "The event-sourced poverty-alleviation register of Kota Jambi. Errors "
            "name the field at fault by its dot path (head.nik), with messages in the caller's "
            "Accept-Language (id by default, en) and stable codes.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }
