"""The HTTP API for integrators (`/api/v1`, JSON): commands, queries and its OpenAPI document.

`run_command` is the one command path: the web forms call it too.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError
from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, fields

from adapters import idempotency
from adapters.codec import Codec, is_erased
from adapters.wire import EVENT_FRAME, plain, rfc3339
from app import access_log
from app.auth import Unauthenticated, api_actor, authorize, require_role
from app.context import services
from app.messages import translate
from app.schemas import COMMANDS, Invalid, example, load
from domain.application import Actor, Casework, Stored, event_id, make_meta
from domain.approval import Forbidden
from domain.errors import Conflict, DomainError, NotFound
from domain.household import derived_id
from projections.beneficiaries import beneficiaries
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


@dataclass(frozen=True)
class Outcome:
    """What a command answered: 201 with the stored stream, or 202 waiting for approval."""

    status: int
    body: dict[str, Any]
    stored: Stored | None = None

    @property
    def stream_id(self) -> str | None:
        return self.stored.stream_id if self.stored else None

    @property
    def version(self) -> int | None:
        return self.stored.version if self.stored else None


# The id of the thing a command creates inside a household, derived from the answered version.
_CREATED_IDS = {
    "GrantBenefit": ("benefit_id", "benefit"),
    "EnrollEmpowerment": ("enrollment_id", "enrollment"),
    "FileObjection": ("objection_id", "objection"),
}


def stored_body(command: str, stored: Stored) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stream_id": stored.stream_id,
        "version": stored.version,
        "position": stored.position,
        "event_ids": stored.event_ids,
    }
    if command in _CREATED_IDS:
        name, kind = _CREATED_IDS[command]
        body[name] = derived_id(stored.stream_id, kind, stored.version)
    if command == "RegisterHomelessPerson":
        body["person_id"] = stored.stream_id
    return body


def run_command(casework: Casework, name: str, payload: Any, actor: Actor, source: str) -> Outcome:
    """Validate a command with its schema, check the actor may give it, and carry it out (or
    keep it for a second person's approval). Raises Invalid or a DomainError (Forbidden: 403).
    The one command path: the API and the web forms both call it."""
    command = COMMANDS[name]
    data = load(name, payload)
    meta = make_meta(actor, source, reason=data.pop("reason"), occurred_at=data.pop("occurred_at"))
    try:
        authorize(casework, actor, name, data)
        if command.needs_approval:
            pending = casework.request_approval(name, data, meta)
            return Outcome(202, {"approval_id": pending.stream_id}, pending)
        stored = casework.execute(name, data, meta)
        carried_out = name
        if name == "ApproveChange":
            carried_out = casework.get_pending_change(data["approval_id"]).command
        return Outcome(201, stored_body(carried_out, stored), stored)
    except IntegrityError:
        # Another writer stored the same stream version first.
        raise Conflict("expected_version", "version.stale") from None
    except DomainError as error:
        field = command.domain_fields.get(error.field, error.field)
        if field == error.field:
            raise
        raise type(error)(field, error.code) from None


def errors_body(codes: dict[str, list[str]]) -> dict[str, Any]:
    """The error answer: messages in the caller's language, plus the stable codes."""
    return {"errors": translate(codes), "codes": codes}


def error_response(
    status: int, field: str = "body", code: str | None = None
) -> tuple[Response, int]:
    code = code or _STATUS_CODES.get(status, "request.bad")
    return jsonify(errors_body({field: [code]})), status


def domain_status(error: DomainError) -> int:
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 422


def _json(status: int, body: str) -> Response:
    return Response(body, status=status, mimetype="application/json")


def _dump(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def caller() -> Actor:
    """The API caller by their bearer token; raises Unauthenticated (answered 401)."""
    return api_actor(services().casework)


@bp.errorhandler(Unauthenticated)
def _unauthenticated(error: Unauthenticated):
    response, status = error_response(401, "authorization", error.code)
    response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
    return response, status


@bp.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return error_response(403, error.field, error.code)


def _answer(name: str, payload: dict[str, Any], actor: Actor) -> tuple[int, str]:
    """(status, JSON body) of one command request."""
    try:
        outcome = run_command(services().casework, name, payload, actor, "api")
    except Invalid as invalid:
        return 422, _dump(errors_body(invalid.codes))
    except DomainError as error:
        return domain_status(error), _dump(errors_body({error.field: [error.code]}))
    log.info("%s answered %s (stream %s)", name, outcome.status, outcome.stream_id)
    return outcome.status, _dump(outcome.body)


@bp.post("/commands/<name>")
def command(name: str):
    if name not in COMMANDS:
        return error_response(404, "command", "command.unknown")
    actor = caller()
    try:
        payload = json.loads(request.get_data(cache=False) or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return error_response(400, "body", "body.json")
    if not isinstance(payload, dict):
        return error_response(400, "body", "field.object")
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return _json(*_answer(name, payload, actor))
    if len(key) > idempotency.MAX_KEY_LENGTH:
        return error_response(422, "idempotency_key", "idempotency.key_invalid")
    store = services().store
    try:
        kept = idempotency.claim(store, actor.id, key, idempotency.request_hash(name, payload))
    except idempotency.InProgress:
        return error_response(409, "idempotency_key", "idempotency.in_progress")
    except idempotency.KeyReused:
        return error_response(422, "idempotency_key", "idempotency.key_reused")
    if kept is not None:
        response = _json(kept.status, kept.body)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    try:
        status, body = _answer(name, payload, actor)
    except BaseException:
        idempotency.release(store, actor.id, key)
        raise
    idempotency.keep(store, actor.id, key, status, body)
    return _json(status, body)


def _bounded_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Invalid({name: [f"{name}.invalid"]})
    return int(raw)


# --- personal data in what is shown -------------------------------------------------------
#
# The read models keep no NIK or KK number in clear, only tokens (projections.register). What a
# page or an answer shows is opened here, with the write side's codec; an erased person shows
# as erased (`erased: true`, no NIK, name or birth date).


def _opened(codec: Codec, token: str | None) -> str | None:
    """The clear value of a token from a view, None when erased (or missing)."""
    if not token:
        return None
    value = codec.reveal(token)
    return None if is_erased(value) else str(value)


def disclose_member(codec: Codec, member: dict[str, Any]) -> dict[str, Any]:
    """A member row of the register view as shown: the NIK opened, or the person erased."""
    nik = _opened(codec, member.get("nik_token"))
    erased = bool(member.get("erased")) or nik is None
    return {
        "nik": None if erased else nik,
        "name": None if erased else member["name"],
        "birth_date": None if erased else member.get("birth_date"),
        "sex": member["sex"],
        "relationship": member["relationship"],
        "status": member["status"],
        "restricted": bool(member.get("restricted")),
        "erased": erased,
    }


def disclose_household(codec: Codec, row: dict[str, Any]) -> dict[str, Any]:
    """A household of the register view as shown: KK number and NIKs opened."""
    rest = {key: value for key, value in row.items() if key not in ("id", "kk_token", "members")}
    return {
        "id": row["id"],
        "kk_number": _opened(codec, row.get("kk_token")),
        **rest,
        "members": [disclose_member(codec, m) for m in row["members"]],
    }


def public_state(state: dict[str, Any]) -> dict[str, Any]:
    """The household's state as the API answers it: an erased person is `erased: true` with
    no NIK, name or birth date; any other erased value (a marker) is null."""
    members = []
    for member in state.get("members", []):
        erased = bool(member.get("erased")) or is_erased(member.get("nik"))
        shown = _scrubbed(member)
        if erased:
            shown.update(nik=None, name=None, birth_date=None)
        members.append({**shown, "erased": erased})
    return {**_scrubbed({k: v for k, v in state.items() if k != "members"}), "members": members}


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return None if is_erased(value) else value
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


def _codec() -> Codec:
    codec = services().casework.codec
    assert codec is not None, "the web reads the store through the revealing mapper"
    return codec


@bp.get("/households")
def households():
    actor = caller()
    try:
        limit = _bounded_int("limit", 50, 1, MAX_LIMIT)
        offset = _bounded_int("offset", 0, 0, 10**9)
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    casework = services().casework
    nik = request.args.get("nik", "").strip()
    kk = request.args.get("kk", "").strip()
    found = search(
        services().views,
        nik_hash=casework.nik_key(nik) if nik else "",
        kk_hash=casework.kk_key(kk) if kk else "",
        q=request.args.get("q", "").strip(),
        limit=limit,
        offset=offset,
    )
    results = [disclose_household(_codec(), row) for row in found]
    access_log.record_households(actor, "api", results, access_log.api_reason(), nik or None)
    return jsonify({"results": results})


def household_from_store(casework: Casework, household_id: str) -> dict[str, Any] | None:
    """The household as the event store knows it now: the whole state when the aggregate
    offers it (`as_dict`), else the register's fields."""
    try:
        household = casework.get_household(household_id)
    except NotFound:
        return None
    if hasattr(household, "as_dict"):
        state = public_state(household.as_dict())
        return {**state, "registered_at": rfc3339(household.created_on)}
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
        "members": public_state({"members": list(household.members.values())})["members"],
    }


def _uuid_or_404(raw: str, field: str, code: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise NotFound(field, code) from None


@bp.errorhandler(NotFound)
def _not_found(error: NotFound):
    return error_response(404, error.field, error.code)


@bp.get("/households/<household_id>")
def household(household_id: str):
    actor = caller()
    household_id = _uuid_or_404(household_id, "household_id", "household.not_found")
    found = household_from_store(services().casework, household_id)
    if found is None:
        row = get_household(services().views, household_id)
        found = disclose_household(_codec(), row) if row is not None else None
    if found is None:
        return error_response(404, "household_id", "household.not_found")
    access_log.record_households(actor, "api", [found], access_log.api_reason())
    return jsonify(found)


def stream_history(casework: Casework, stream_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every event of one stream, in order, as the audit trail shows it."""
    history = []
    for stored in casework.recorder.select_events(stream_id):
        event = casework.mapper.to_domain_event(stored)
        meta = getattr(event, "meta", None) or {}
        entry = {
            "event_id": event_id(event.originator_id, event.originator_version),
            "version": event.originator_version,
            "type": type(event).__qualname__.rsplit(".", 1)[-1],
            "occurred_at": meta.get("occurred_at") or rfc3339(event.timestamp),
            "recorded_at": rfc3339(event.timestamp),
            "actor": meta.get("actor"),
            "reason": meta.get("reason"),
            "source": meta.get("source"),
            "data": {k: plain(v) for k, v in event.__dict__.items() if k not in EVENT_FRAME},
        }
        if "approved_by" in meta:
            entry["approved_by"] = meta["approved_by"]
        history.append(entry)
    return history


@bp.get("/households/<household_id>/history")
def household_history(household_id: str):
    actor = caller()
    casework = services().casework
    household_id = _uuid_or_404(household_id, "household_id", "household.not_found")
    household = casework.get_household(household_id)
    access_log.record_households(actor, "api", [household], access_log.api_reason())
    return jsonify({"household_id": household_id, "events": stream_history(casework, household.id)})


def program_body(program: Any) -> dict[str, Any]:
    return {
        "code": program.code,
        "name": program.name,
        "opd": program.opd,
        "funding": program.funding,
        "kind": program.kind,
        "version": program.version,
        "rules": dict(program.rules),
        "rule_versions": [dict(r) for r in program.rule_versions],
    }


@bp.get("/programs")
def programs():
    caller()
    return jsonify({"programs": [program_body(p) for p in services().casework.list_programs()]})


@bp.get("/programs/<code>/beneficiaries")
def program_beneficiaries(code: str):
    """The program's active benefits (the beneficiaries view, serves="program"): a person
    whose processing is restricted (UU PDP) is not in it while restricted."""
    actor = caller()
    try:
        limit = _bounded_int("limit", 50, 1, MAX_LIMIT)
        offset = _bounded_int("offset", 0, 0, 10**9)
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    rows = beneficiaries(services().views, code, limit=limit, offset=offset)
    results = [_beneficiary(_codec(), row) for row in rows]
    shown = [{"id": r["household_id"], "members": [{"nik": r["nik"]}]} for r in results]
    access_log.record_households(actor, "api", shown, access_log.api_reason())
    return jsonify({"program": code, "results": results})


def _beneficiary(codec: Codec, row: dict[str, Any]) -> dict[str, Any]:
    """A benefit as the program sees it: the recipient's NIK opened (null once erased)."""
    nik = _opened(codec, row["nik_token"])
    return {
        "benefit_id": row["benefit_id"],
        "household_id": row["household_id"],
        "nik": None if row["erased"] else nik,
        "program": row["program"],
        "period_start": row["period_start"],
        "period_end": row["period_end"],
        "amount": row["amount"],
        "status": row["status"],
        "erased": bool(row["erased"]) or nik is None,
    }


def approval_body(change: Any) -> dict[str, Any]:
    meta = change.requester_meta
    return {
        "approval_id": str(change.id),
        "version": change.version,
        "status": change.status,
        "command": change.command,
        "cmd": change.cmd,
        "requested_by": meta.get("actor"),
        "requested_at": meta.get("occurred_at"),
        "reason": meta.get("reason"),
        "decided_by": change.decided_by,
        "note": change.note,
    }


@bp.get("/approvals")
def approvals():
    """The changes waiting for a supervisor, oldest first."""
    require_role(caller(), "supervisor", "admin")
    pending = services().casework.pending_approvals()
    return jsonify({"approvals": [approval_body(change) for change in pending]})


@bp.get("/approvals/<approval_id>")
def approval(approval_id: str):
    caller()
    approval_id = _uuid_or_404(approval_id, "approval_id", "approval.not_found")
    return jsonify(approval_body(services().casework.get_pending_change(approval_id)))


@bp.get("/approvals/<approval_id>/history")
def approval_history(approval_id: str):
    caller()
    casework = services().casework
    approval_id = _uuid_or_404(approval_id, "approval_id", "approval.not_found")
    change = casework.get_pending_change(approval_id)
    return jsonify({"approval_id": approval_id, "events": stream_history(casework, change.id)})


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
        created = _CREATED_IDS.get(name)
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


def openapi_document() -> dict[str, Any]:
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
