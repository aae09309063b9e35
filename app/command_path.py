"""The command path and the answers every JSON endpoint shares.

`run_command` is the one way a command is carried out: the API (app/api.py) and the web
forms (app/web.py) both call it. The error bodies (messages in the caller's language plus
stable codes), the caller by bearer token and the status of a domain error are here too, for
every blueprint under /api/v1 (app/api.py, app/privacy.py, app/subject_access.py).
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError
from flask import Blueprint, Response, jsonify, request

from adapters import retry
from app import import_jobs, read_policy
from app.auth import TooManyFailures, Unauthenticated, api_actor, authorize
from app.context import services
from app.messages import message, translate
from app.schemas import COMMANDS, Invalid, load
from domain.application import Actor, Casework, Stored, make_meta
from domain.approval import Forbidden
from domain.errors import Concurrent, Conflict, DomainError, NotFound, Refused
from domain.household import derived_id

log = logging.getLogger("casework.web")

STATUS_CODES = {
    400: "request.bad",
    404: "route.not_found",
    405: "method.not_allowed",
    413: "request.too_large",
    415: "body.media_type",
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
CREATED_IDS = {
    "GrantBenefit": ("benefit_id", "benefit"),
    "EnrollEmpowerment": ("enrollment_id", "enrollment"),
    "FileObjection": ("objection_id", "objection"),
    "GrantProvisionalBenefit": ("benefit_id", "benefit"),  # inside the provisional person
}


# The commands that change a benefit's status from a day: each answers the changes recorded
# ahead that it replaced (`replaced`, domain.household.with_change), [] when none.
BENEFIT_CHANGES = frozenset({"SuspendBenefit", "ResumeBenefit", "TerminateBenefit", "DecideReview"})


def stored_body(command: str, stored: Stored) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stream_id": stored.stream_id,
        "version": stored.version,
        "position": stored.position,
        "event_ids": stored.event_ids,
    }
    if command in CREATED_IDS:
        name, kind = CREATED_IDS[command]
        body[name] = derived_id(stored.stream_id, kind, stored.version)
    if command == "RegisterHomelessPerson":
        body["person_id"] = stored.stream_id
    return body


# How many times in all, and for how long at most, a command is carried out when another
# write to its stream keeps landing between loading the stream and saving it
# (domain.errors.Concurrent). A dozen clerks writing to one family at once on a busy database
# need more than a handful of tries for the last of them: each try that loses waits a random
# while (at most 0.2 s), so the time limit, not the count, is what usually ends a hopeless race.
ATTEMPTS = 40
CONTENDED_SECONDS = 10.0


def run_command(casework: Casework, name: str, payload: Any, actor: Actor, source: str) -> Outcome:
    """Validate a command with its schema, check the actor may give it, and carry it out (or
    keep it for a second person's approval). Raises Invalid or a DomainError (Forbidden: 403).
    The one command path: the API and the web forms both call it.

    When another write to the same stream is stored between loading it and saving (a
    Concurrent conflict), the command is carried out again on the new state, from the
    authorization on, every check of the domain with it (a pinned `expected_version` is then
    stale and answered 409 naming it), at most ATTEMPTS times in all and for CONTENDED_SECONDS
    at most."""
    data = load(name, payload)
    meta = make_meta(actor, source, reason=data.pop("reason"), occurred_at=data.pop("occurred_at"))
    attempts = retry.contended(ATTEMPTS, errors=Concurrent, within=CONTENDED_SECONDS)
    return attempts(lambda: _carry_out(casework, name, copy.deepcopy(data), meta, actor))


def _carry_out(
    casework: Casework, name: str, data: dict[str, Any], meta: dict[str, Any], actor: Actor
) -> Outcome:
    """One attempt at a validated command (see run_command)."""
    command = COMMANDS[name]
    try:
        authorize(casework, actor, name, data)
        if command.declaration.waits_for_approval(data):
            casework.check_request(name, data, meta)
            if command.declaration.precheck is not None:
                command.declaration.precheck(casework, data, meta)
            pending = casework.request_approval(name, data, meta)
            return Outcome(202, {"approval_id": pending.stream_id}, pending)
        stored = casework.execute(name, data, meta)
        carried_out = name
        if name == "ApproveChange":
            carried_out = casework.get_pending_change(data["approval_id"]).command
        if carried_out == "RequestErasure":
            _after_erasure(casework)
        body = stored_body(carried_out, stored)
        if carried_out in BENEFIT_CHANGES:
            # a change from an earlier day replaces those recorded ahead of it: said, not silent
            body["replaced"] = casework.replaced_changes(stored)
        return Outcome(201, body, stored)
    except IntegrityError:
        # Another writer stored the same stream version first.
        raise Concurrent() from None
    except DomainError as error:
        field = command.domain_fields.get(error.field, error.field)
        if field == error.field or getattr(error, "reasons", None):
            raise
        raise type(error)(field, error.code) from None


def _after_erasure(casework: Casework) -> None:
    """An erasure reaches the files kept for interrupted imports from the web too: they hold
    their rows in clear (`import_jobs.sweep`). The erasure is stored whatever happens here."""
    try:
        import_jobs.sweep(import_jobs.import_root(), import_jobs.erasures_now(casework))
    except Exception as error:  # noqa: BLE001 - the next visit to /impor sweeps again
        log.warning("after an erasure: imports not swept (%s)", type(error).__name__)


def errors_body(codes: dict[str, list[str]]) -> dict[str, Any]:
    """The error answer: messages in the caller's language, plus the stable codes."""
    return {"errors": translate(codes), "codes": codes}


def domain_error_body(error: DomainError) -> dict[str, Any]:
    """The answer to a refused command; a grant refused by its program's rules
    (RulesFailed) names every failing rule, with its version and what it found. A change
    closed as refused at approval (Refused) answers the approval's status, the refusal stored
    and its reasons: `approval.refused` on approval_id, then each reason on its field (a
    program rule's on `program`)."""
    if isinstance(error, Refused):
        codes: dict[str, list[str]] = {error.field: [error.code]}
        errors = {error.field: [message(error.code)]}
        for reason in error.reasons:
            field = reason.get("field", "program")
            codes.setdefault(field, []).append(reason["code"])
            errors.setdefault(field, []).append(message(reason["code"], reason.get("detail")))
        return {
            "approval_id": error.stored.stream_id,
            "status": "refused",
            **stored_body("RejectChange", error.stored),
            "errors": errors,
            "codes": codes,
            "reasons": error.reasons,
        }
    reasons = getattr(error, "reasons", None)
    if not reasons:
        return errors_body({error.field: [error.code]})
    return {
        "errors": {error.field: [message(r["code"], r["detail"]) for r in reasons]},
        "codes": {error.field: [r["code"] for r in reasons]},
        "reasons": reasons,
    }


def error_response(
    status: int, field: str = "body", code: str | None = None
) -> tuple[Response, int]:
    code = code or STATUS_CODES.get(status, "request.bad")
    return jsonify(errors_body({field: [code]})), status


def domain_status(error: DomainError) -> int:
    if isinstance(error, Refused):
        return 200  # decided: the change was closed as refused (stored), not carried out
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 422


_CALLER = "casework.api_caller"  # the request's caller, kept in its WSGI environ


def caller() -> Actor:
    """The API caller by their bearer token; raises Unauthenticated (answered 401) or
    TooManyFailures (429). Found once per request (the read policy asks first, then the
    endpoint): the token and its account are read from the store once, a failure counted
    once and raised again to whoever asks next."""
    kept = request.environ  # this request's own (flask.g may outlive it: an app context)
    found = kept.get(_CALLER)
    if found is None:
        try:
            found = api_actor(services().casework)
        except (Unauthenticated, TooManyFailures) as refusal:
            found = refusal
        kept[_CALLER] = found
    if isinstance(found, Unauthenticated | TooManyFailures):
        raise found
    return found


def _unauthenticated(error: Unauthenticated):
    response, status = error_response(401, "authorization", error.code)
    response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
    return response, status


def _too_many_failures(error: TooManyFailures):
    response, status = error_response(429, "authorization", "auth.too_many_failures")
    response.headers["Retry-After"] = str(error.seconds)
    return response, status


def _forbidden(error: Forbidden):
    return error_response(403, error.field, error.code)


def _not_found(error: NotFound):
    return error_response(404, error.field, error.code)


def answers_errors_as_json(blueprint: Blueprint) -> None:
    """A JSON blueprint answers a missing or bad token (401), a refusal (403) and a missing
    stream (404) with the error body. Call it where the blueprint is defined."""
    blueprint.register_error_handler(Unauthenticated, _unauthenticated)
    blueprint.register_error_handler(TooManyFailures, _too_many_failures)
    blueprint.register_error_handler(Forbidden, _forbidden)
    blueprint.register_error_handler(NotFound, _not_found)


# The query parameters an API endpoint takes more than once (a list), by endpoint; every other
# parameter given twice is refused, not read as its first value.
REPEATABLE_QUERY = {"privacy_api.breach_api": frozenset({"actor"})}


def refuse_repeated_query() -> Response | None:
    """Before every request under /api/: a query parameter given more than once (`?opd=A&opd=B`)
    is 422 `query.repeated` naming it, as a command's field given twice is; not the first of
    them read and the rest ignored in silence."""
    if not request.path.startswith("/api/") or request.endpoint is None:
        return None  # no such route: 404
    allowed = REPEATABLE_QUERY.get(request.endpoint, frozenset())
    repeated = sorted(
        name for name, values in request.args.lists() if len(values) > 1 and name not in allowed
    )
    if not repeated:
        return None
    policy = read_policy.policy_for(request.endpoint)
    if not policy.public:
        # who asks comes first: without a valid token 401, for a role the route refuses 403,
        # answered by the route's own guard (in its own shape; `caller` remembers a failure)
        try:
            if caller().role not in policy.roles:
                return None
        except (Unauthenticated, TooManyFailures):
            return None
    return jsonify(errors_body({name: ["query.repeated"] for name in repeated})), 422


def whole_arg(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query argument within [low, high] (default when absent); otherwise
    Invalid (422) naming it, e.g. `limit.invalid`."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    # at most 19 digits (10**18, the largest bound, has 19): no long number is parsed
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not low <= int(raw) <= high:
        raise Invalid({name: [f"{name}.invalid"]})
    return int(raw)


def whole_args(*arguments: tuple[str, int, int, int]) -> tuple[int, ...]:
    """Whole-number query arguments, each (name, default, low, high) as `whole_arg` reads it;
    one Invalid (422) naming every bad one, not only the first."""
    values, bad = [], {}
    for name, default, low, high in arguments:
        try:
            values.append(whole_arg(name, default, low, high))
        except Invalid as invalid:
            bad.update(invalid.codes)
    if bad:
        raise Invalid(bad)
    return tuple(values)
