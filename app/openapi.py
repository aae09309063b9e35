"""The OpenAPI document of /api/v1 (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from marshmallow import Schema, fields

from adapters import idempotency
from app.api_schemas import MAX_LIMIT
from app.command_path import CREATED_IDS
from app.schemas import COMMANDS, example

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
        "nik": {"type": "string", "nullable": True, "description": "null once erased"},
        "name": {"type": "string", "nullable": True, "description": "null once erased"},
        "birth_date": {"type": "string", "format": "date", "nullable": True},
        "sex": {"type": "string", "enum": ["M", "F"]},
        "relationship": {"type": "string"},
        "status": {"type": "string"},
        "restricted": {"type": "boolean"},
        "erased": {
            "type": "boolean",
            "description": "the person's data was erased (UU PDP): no NIK, name or birth date",
        },
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


def _add_components(schemas: dict[str, Any], schema: type[Schema]) -> None:
    """The schema and every schema nested in it, by name."""
    schemas[_schema_name(schema)] = component(schema)
    for f in schema().fields.values():
        if isinstance(f, fields.Nested):
            _add_components(schemas, f.nested)


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": idempotency.MAX_KEY_LENGTH},
    "description": "a repeat with the same key and body answers exactly as the first request, "
    "storing nothing more; the same key with another body is 422 idempotency.key_reused; "
    "while the first is still running, 409 idempotency.in_progress",
}


def _command_operation(name: str, command: Any) -> dict[str, Any]:
    ref = f"#/components/schemas/{_schema_name(command.schema)}"
    if command.needs_approval:
        answered = {
            "202": {
                "description": "kept until a supervisor other than the caller approves it "
                "(ApproveChange) or rejects it (RejectChange); nothing else is stored",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Pending"}}
                },
            }
        }
    else:
        stored = {"$ref": "#/components/schemas/Stored"}
        created = CREATED_IDS.get(name)
        if created:
            stored = {
                "allOf": [
                    stored,
                    {
                        "type": "object",
                        "properties": {created[0]: {"type": "string", "format": "uuid"}},
                    },
                ]
            }
        description = "stored"
        if name == "ApproveChange":
            description = "the approved command was carried out: answered as that command"
        answered = {
            "201": {"description": description, "content": {"application/json": {"schema": stored}}}
        }
    return {
        "operationId": name,
        "summary": f"{name} command"
        + (" (needs a supervisor's approval)" if command.needs_approval else ""),
        "description": (command.schema.__doc__ or "").strip(),
        "security": [{"bearer": []}],
        "parameters": [_IDEMPOTENCY_KEY],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": ref}, "example": example(command.schema)}
            },
        },
        "responses": {
            **answered,
            "400": _error("the body is not a JSON object"),
            "401": _error("no valid bearer token"),
            "403": _error("not allowed for this role or area"),
            "404": _error("no such stream"),
            "409": _error(
                "expected_version is stale, a unique value (NIK, KK) is taken, or a request "
                "with the same Idempotency-Key is still running"
            ),
            "422": _error("invalid: nothing stored"),
        },
    }


def _get(operation_id: str, summary: str, schema: dict[str, Any], *params: str) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "security": [{"bearer": []}],
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ],
            "responses": {
                "200": {
                    "description": "found",
                    "content": {"application/json": {"schema": schema}},
                },
                "401": _error("no valid bearer token"),
                "403": _error("not allowed for this role"),
                "404": _error("not found"),
            },
        }
    }


_EVENTS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "event_id": {"type": "string", "format": "uuid"},
            "version": {"type": "integer"},
            "type": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "recorded_at": {"type": "string", "format": "date-time"},
            "actor": {"type": "object"},
            "reason": {"type": "string", "nullable": True},
            "source": {"type": "string"},
            "data": {"type": "object"},
        },
    },
}


def document(app: Flask) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Errors": _ERRORS,
        "Stored": _STORED,
        "Member": _MEMBER,
        "Household": _HOUSEHOLD,
        "Pending": {
            "type": "object",
            "required": ["approval_id"],
            "properties": {"approval_id": {"type": "string", "format": "uuid"}},
        },
    }
    paths: dict[str, Any] = {}
    for name, command in COMMANDS.items():
        _add_components(schemas, command.schema)
        paths[f"/commands/{name}"] = {"post": _command_operation(name, command)}
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
    paths["/households/{id}/history"] = _get(
        "householdHistory",
        "the household's events in order",
        {"type": "object", "properties": {"household_id": {"type": "string"}, "events": _EVENTS}},
        "id",
    )
    paths["/programs"] = _get(
        "listPrograms",
        "every program with its current rules and every version of them",
        {
            "type": "object",
            "properties": {"programs": {"type": "array", "items": {"type": "object"}}},
        },
    )
    paths["/programs/{code}/beneficiaries"] = _get(
        "programBeneficiaries",
        "the program's active benefits; persons whose processing is restricted are left out"
        " (query: limit, offset)",
        {
            "type": "object",
            "properties": {
                "program": {"type": "string"},
                "results": {"type": "array", "items": {"type": "object"}},
            },
        },
        "code",
    )
    paths["/approvals"] = _get(
        "pendingApprovals",
        "changes waiting for a supervisor's decision, oldest first (supervisors and admins)",
        {
            "type": "object",
            "properties": {"approvals": {"type": "array", "items": {"type": "object"}}},
        },
    )
    paths["/approvals/{id}"] = _get(
        "getApproval", "one change: its command, status and decision", {"type": "object"}, "id"
    )
    paths["/approvals/{id}/history"] = _get(
        "approvalHistory",
        "the change's events: requested, approved or rejected",
        {"type": "object", "properties": {"approval_id": {"type": "string"}, "events": _EVENTS}},
        "id",
    )
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
        "security": [{"bearer": []}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
