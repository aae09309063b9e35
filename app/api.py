"""The HTTP API for integrators (`/api/v1`, JSON): its routes, and only them.

Each route translates HTTP into a call and the answer back: the command path is in
app/command_path.py, what of a person is shown in app/disclosure.py, the history reader in
app/history.py and the OpenAPI document in app/openapi.py.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from adapters import chain, idempotency
from adapters.signing import Signer
from adapters.wire import rfc3339
from app import (
    access_log,
    agency_api,
    asyncapi,
    audit_log,
    openapi,
    overview_api,
    read_policy,
    reconciliation,
    time_travel,
)
from app.api_schemas import MAX_LIMIT
from app.audit_cli import ANCHOR
from app.auth import READ_ONLY, kelurahan_of, require_kelurahan, require_role
from app.command_path import (
    answers_errors_as_json,
    caller,
    domain_error_body,
    domain_status,
    error_response,
    errors_body,
    run_command,
    whole_args,
)
from app.context import services
from app.csv_export import (
    ERROR_HEADER,
    RECONCILIATION_HEADER,
    WHAT_IF_HEADER,
    csv_response,
    error_rows,
    reconciliation_rows,
    what_if_rows,
)
from app.disclosure import (
    codec,
    disclose_beneficiary,
    disclose_household,
    disclose_households,
    household_from_store,
    masked_nik,
)
from app.drafts import draft_rules, load_draft
from app.history import stream_history
from app.schemas import COMMANDS, Invalid
from app.xlsx_export import xlsx_response
from domain.application import Actor
from domain.approval import Forbidden
from domain.city import WIB, today
from domain.errors import Conflict, DomainError, NotFound
from domain.household import runs_on, scheduled_changes, status_on
from domain.identity import nik_problems
from domain.regions import kelurahan_matches
from projections import approvals as approval_views
from projections import eligibility, program_views
from projections.beneficiaries import beneficiaries
from projections.eligibility import eligible_households, household_eligibility
from projections.register import get_household, search
from projections.reviews import open_reviews

log = logging.getLogger("casework.api")

bp = Blueprint("api", __name__, url_prefix="/api/v1")
answers_errors_as_json(bp)


@bp.before_request
def _read_policy() -> None:
    """Least privilege (app/read_policy.py): 401 without a valid token, 403 for a role the
    endpoint's declared policy does not name (an endpoint without a policy: every role)."""
    policy = read_policy.policy_for(request.endpoint)
    if policy.public or request.endpoint is None:  # None: no such route, answered 404
        return
    actor = caller()
    if actor.role not in policy.roles:
        writes = request.endpoint == "api.command"
        code = "auth.read_only" if writes and actor.role in READ_ONLY else "auth.read"
        if request.endpoint in agency_api.WRITES:
            code = "auth.role"  # a change this role may not make, not a read
        raise Forbidden("actor", code)


def _json(status: int, body: str) -> Response:
    return Response(body, status=status, mimetype="application/json")


def _dump(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# How deep a request body may nest: the deepest command (a program's rules) needs 4 levels.
MAX_JSON_DEPTH = 32


class BadBody(Exception):
    """A request body the JSON endpoints refuse: `status` (400 or 415), an error code and the
    field it concerns (`body`, or the field named twice)."""

    def __init__(self, status: int, code: str, field: str = "body") -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.field = field


def _depth(value: Any) -> int:
    """How deep a parsed JSON value nests (without recursion)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)
    return deepest


class _Repeated(dict):
    """A JSON object that named one of its fields more than once (`repeated`, the first)."""

    repeated = ""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    seen: set[str] = set()
    marked = _Repeated(found)
    for key, _ in pairs:
        if key in seen:
            marked.repeated = key
            break
        seen.add(key)
    return marked


def _repeated_field(value: Any) -> str | None:
    """The dotted path of a field a parsed JSON value names twice (`_object`), or None."""
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        item, path = pending.pop()
        if isinstance(item, _Repeated):
            return path + item.repeated
        if isinstance(item, dict):
            pending.extend((child, f"{path}{key}.") for key, child in item.items())
        elif isinstance(item, list):
            pending.extend((child, f"{path}{index}.") for index, child in enumerate(item))
    return None


def _keys_are_text(value: Any) -> bool:
    """No object key holds a lone surrogate (it could not be named back in an answer)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key in item:
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return False
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def json_body() -> Any:
    """The request's JSON body; raises BadBody: 415 when it is not sent as JSON, 400 when it
    is not JSON, nests deeper than MAX_JSON_DEPTH, names a field with a lone surrogate or
    names a field twice (JSON parsers disagree on which of the two counts: neither is
    guessed; the error is on that field)."""
    raw = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # a body streamed without a length (chunked) is cut at the limit as it is read, and
        # werkzeug stops there silently: too large, not broken JSON
        raise RequestEntityTooLarge()
    if raw and not request.is_json:
        raise BadBody(415, "body.media_type")
    try:
        payload = json.loads(raw or b"", object_pairs_hook=_object)
    except ValueError:  # not JSON, not UTF-8, or a number of more than 4300 digits
        raise BadBody(400, "body.json") from None
    except RecursionError:
        raise BadBody(400, "body.too_deep") from None
    if _depth(payload) > MAX_JSON_DEPTH:
        raise BadBody(400, "body.too_deep")
    if not _keys_are_text(payload):
        raise BadBody(400, "body.json")
    repeated = _repeated_field(payload)
    if repeated is not None:
        raise BadBody(400, "body.duplicate_key", repeated)
    return payload


def _answer(name: str, payload: dict[str, Any], actor: Actor) -> tuple[int, str, bool]:
    """(status, JSON body, whether it is final) of one command request. A version conflict
    (409 version.stale: another write to the stream came first) is not final: the same
    request sent again may be carried out, so it is not kept under an Idempotency-Key."""
    try:
        outcome = run_command(services().casework, name, payload, actor, "api")
    except Invalid as invalid:
        return 422, _dump(errors_body(invalid.codes)), True
    except DomainError as error:
        final = not (isinstance(error, Conflict) and error.code == "version.stale")
        return domain_status(error), _dump(domain_error_body(error)), final
    log.info("%s answered %s (stream %s)", name, outcome.status, outcome.stream_id)
    return outcome.status, _dump(outcome.body), True


@bp.post("/commands/<name>")
def command(name: str):
    if name not in COMMANDS:
        return error_response(404, "command", "command.unknown")
    actor = caller()
    try:
        payload = json_body()
    except BadBody as bad:
        return error_response(bad.status, bad.field, bad.code)
    if not isinstance(payload, dict):
        return error_response(400, "body", "field.object")
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        status, body, _ = _answer(name, payload, actor)
        return _json(status, body)
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
        status, body, final = _answer(name, payload, actor)
    except BaseException:
        idempotency.release(store, actor.id, key)
        raise
    if final:
        idempotency.keep(store, actor.id, key, status, body)
    else:  # a lost race: a retry with this key runs the command again
        idempotency.release(store, actor.id, key)
    return _json(status, body)


@bp.get("/households")
def households():
    actor = caller()
    try:
        limit, offset = page_args()
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    casework = services().casework
    nik = request.args.get("nik", "").strip()
    kk = request.args.get("kk", "").strip()
    # a NIK or KK number of the wrong form matches no one: say what to correct, not "none"
    malformed = {
        field: [code]
        for field, value, code in (("nik", nik, "nik.format"), ("kk", kk, "kk.format"))
        if value and not (len(value) == 16 and value.isascii() and value.isdigit())
    }
    if malformed:
        return jsonify(errors_body(malformed)), 422
    found = search(
        services().views,
        nik_hash=casework.nik_key(nik) if nik else "",
        kk_hash=casework.kk_key(kk) if kk else "",
        q=request.args.get("q", "").strip(),
        kelurahan_in=kelurahan_of(casework, actor),
        limit=limit,
        offset=offset,
        name_key=casework.name_key,
    )
    results = disclose_households(codec(), found)
    access_log.record_households(actor, "api", results, access_log.api_reason(), nik or None)
    return jsonify({"results": results})


def page_args() -> tuple[int, int]:
    """(limit, offset) of a paged list: 50 by default, at most MAX_LIMIT; Invalid (422 naming
    the field) when out of range or not a whole number."""
    limit, offset = whole_args(("limit", 50, 1, MAX_LIMIT), ("offset", 0, 0, 10**9))
    return limit, offset


def _uuid_or_404(raw: str, field: str, code: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise NotFound(field, code) from None


class _BadTime(ValueError):
    """The malformed moments and mode of one time-travel request, each under its own field."""

    def __init__(self, codes: dict[str, list[str]]) -> None:
        super().__init__(", ".join(codes))
        self.codes = codes


def _time_arg(errors: dict[str, list[str]], parse: Any, *args: Any) -> Any:
    """`parse(*args)`; None when malformed, its code kept in `errors` under its own field (so
    one answer names every field to correct)."""
    try:
        return parse(*args)
    except time_travel.BadMoment as bad:
        errors.setdefault(bad.field, []).append(bad.code)
        return None


def _moment() -> tuple[dt.datetime, str] | None:
    """(as_of, mode) of a time-travel request, None without `as_of`; _BadTime when malformed
    (a `mode` without `as_of` too)."""
    errors: dict[str, list[str]] = {}
    raw = request.args.get("as_of")
    mode = _time_arg(errors, time_travel.parse_mode, request.args.get("mode"))
    if raw is None:
        if "mode" in request.args and not errors:
            errors["as_of"] = ["as_of.required"]
        if errors:
            raise _BadTime(errors)
        return None
    at = _time_arg(errors, time_travel.parse_past_moment, raw)
    if errors:
        raise _BadTime(errors)
    return at, mode


def _bad_moment(codes: dict[str, list[str]]) -> tuple[Response, int]:
    return jsonify(errors_body(codes)), 422


def _require_household_area(actor: Actor, household_id: str) -> None:
    """403 for a case worker reading a household outside their kelurahan (Area.KELURAHAN);
    404 for an unknown household."""
    if actor.role == "caseworker":
        casework = services().casework
        kelurahan = casework.get_household(household_id).kelurahan  # 404 household.not_found
        require_kelurahan(casework, actor, kelurahan, "household_id")


def _as_of_fields(moment: tuple[dt.datetime, str]) -> dict[str, Any]:
    return {"as_of": rfc3339(moment[0]), "mode": moment[1]}


@bp.get("/households/<household_id>")
def household(household_id: str):
    actor = caller()
    household_id = _uuid_or_404(household_id, "household_id", "household.not_found")
    _require_household_area(actor, household_id)
    try:
        moment = _moment()
    except _BadTime as bad:
        return _bad_moment(bad.codes)
    if moment is not None:
        require_role(actor, *time_travel.TIME_TRAVELLERS, field="as_of")
        then = time_travel.household_as_of(
            services().casework, household_id, *moment, store=services().store
        )
        if then is None:
            return error_response(404, "as_of", "household.not_yet")
        shown, skipped = then
        access_log.record_households(actor, "api", [shown], access_log.api_reason())
        day = moment[0].astimezone(WIB).date()
        answer = {**_benefits_on(shown, day), **_as_of_fields(moment)}
        if skipped:
            answer["skipped"] = skipped
        return jsonify(answer)
    found = household_from_store(services().casework, household_id)
    if found is None:
        row = get_household(services().views, household_id)
        found = disclose_household(codec(), row) if row is not None else None
    if found is None:
        return error_response(404, "household_id", "household.not_found")
    access_log.record_households(actor, "api", [found], access_log.api_reason())
    return jsonify(_benefits_on(found, today()))


def _benefits_on(state: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """The household's answer with each benefit's `status` in force on that day, whether it is
    received that day (`running`: its period covers the day and it is active) and the steps
    of its history recorded to take effect later in `scheduled`."""
    if "benefits" not in state:
        return state
    benefits = [
        {
            **b,
            "status": status_on(b, day),
            "running": runs_on(b, day),
            "scheduled": scheduled_changes(b, day),
        }
        for b in state["benefits"]
    ]
    return {**state, "benefits": benefits}


@bp.get("/households/<household_id>/history")
def household_history(household_id: str):
    actor = caller()
    casework = services().casework
    household_id = _uuid_or_404(household_id, "household_id", "household.not_found")
    try:
        moment = _moment()
    except _BadTime as bad:
        return _bad_moment(bad.codes)
    household = casework.get_household(household_id)
    require_kelurahan(casework, actor, household.kelurahan, "household_id")
    if moment is not None:
        require_role(actor, *time_travel.TIME_TRAVELLERS, field="as_of")
        events = time_travel.history_as_of(casework, household_id, *moment)
        if events is None:
            return error_response(404, "as_of", "household.not_yet")
        access_log.record_households(actor, "api", [household], access_log.api_reason())
        return jsonify({"household_id": household_id, "events": events, **_as_of_fields(moment)})
    access_log.record_households(actor, "api", [household], access_log.api_reason())
    return jsonify({"household_id": household_id, "events": stream_history(casework, household.id)})


@bp.get("/households/<household_id>/diff")
def household_diff(household_id: str):
    """What changed in a household between two moments (`from` before or equal to `to`)."""
    actor = caller()
    require_role(actor, *time_travel.TIME_TRAVELLERS)
    casework = services().casework
    household_id = _uuid_or_404(household_id, "household_id", "household.not_found")
    errors: dict[str, list[str]] = {}
    mode = _time_arg(errors, time_travel.parse_mode, request.args.get("mode"))
    start = _time_arg(errors, time_travel.parse_past_moment, request.args.get("from", ""), "from")
    end = _time_arg(errors, time_travel.parse_past_moment, request.args.get("to", ""), "to")
    if errors:
        return _bad_moment(errors)
    if start > end:
        return jsonify(errors_body({"from": ["from.after_to"]})), 422
    household = casework.get_household(household_id)
    changed = time_travel.diff(casework, household_id, start, end, mode)
    access_log.record_households(actor, "api", [household], access_log.api_reason())
    return jsonify(
        {
            "household_id": household_id,
            "from": rfc3339(start),
            "to": rfc3339(end),
            "mode": mode,
            **changed,
        }
    )


# Who may read eligibility answers: not agencies (their agreement's feed is theirs); a
# caseworker only in their own kelurahan, a program manager only their OPD's programs.
ELIGIBILITY_READERS = ("caseworker", "supervisor", "auditor", "program_manager", "admin")


def _caseworker_areas(actor: Actor) -> set[str] | None:
    """The kelurahan a caseworker may read; None for the roles not bound to an area."""
    if actor.role != "caseworker":
        return None
    return set(services().casework.get_user(actor.id).kelurahan)


def _kelurahan_arg(actor: Actor, *, required_of_caseworkers: bool = True) -> str:
    """The `kelurahan` asked (a name or code of Kota Jambi's), as the views name it; "" for
    none. Raises Invalid (422 `kelurahan.unknown`) for a kelurahan the city has not, and
    Forbidden (403) for one outside a caseworker's area (or for none, when a caseworker must
    name one of theirs)."""
    asked = request.args.get("kelurahan", "").strip()[:100]
    name = ""
    if asked:
        names = {kelurahan for _, kelurahan in kelurahan_matches(asked)}
        if len(names) != 1:
            raise Invalid({"kelurahan": ["kelurahan.unknown"]})
        [name] = names
    areas = _caseworker_areas(actor)
    if areas is not None and (name or required_of_caseworkers) and name not in areas:
        raise Forbidden("kelurahan", "auth.kelurahan")
    return name


@bp.get("/households/<household_id>/eligibility")
def household_eligibility_answer(household_id: str):
    """Per program, whether the household is eligible today, with the reasons (the
    eligibility view, serves="program": restricted persons are left out); with `as_of`, as of
    that moment (app/time_travel.py)."""
    actor = caller()
    require_role(actor, *ELIGIBILITY_READERS)
    household_id = _uuid_or_404(household_id, "household_id", "household.not_found")
    try:
        moment = _moment()
    except _BadTime as bad:
        return _bad_moment(bad.codes)
    views = services().views
    if moment is not None:
        require_role(actor, *time_travel.TIME_TRAVELLERS, field="as_of")
        answers = time_travel.eligibility_as_of(
            services().casework, household_id, *moment, store=services().store
        )
        if answers is None:
            return error_response(404, "as_of", "household.not_yet")
        access_log.record_households(actor, "api", [{"id": household_id}], access_log.api_reason())
        at, mode = moment
        return jsonify(
            {
                "household_id": household_id,
                "as_of": at.astimezone(time_travel.WIB).date().isoformat(),
                "as_of_time": rfc3339(at),
                "mode": mode,
                "programs": answers,
            }
        )
    as_of = eligibility.CLOCK().isoformat()
    answers = household_eligibility(views, household_id)
    if answers is None:
        return error_response(404, "household_id", "household.not_found")
    areas = _caseworker_areas(actor)
    if areas is not None:
        row = get_household(views, household_id)
        if row is None or row["kelurahan"] not in areas:
            return error_response(403, "household_id", "auth.kelurahan")
    if actor.role == "program_manager":
        own = {p.code for p in services().casework.list_programs() if p.opd == (actor.opd or "")}
        answers = [a for a in answers if a["program"] in own]
    access_log.record_households(actor, "api", [{"id": household_id}], access_log.api_reason())
    return jsonify({"household_id": household_id, "as_of": as_of, "programs": answers})


@bp.get("/programs/<code>/eligible")
def program_eligible(code: str):
    """The families with a member eligible for the program today, optionally in one
    kelurahan (a caseworker must name one of theirs)."""
    actor = caller()
    require_role(actor, *ELIGIBILITY_READERS)
    try:
        limit, offset = page_args()
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    casework = services().casework
    program = casework.get_program(code)  # 404 program.not_found
    if actor.role == "program_manager" and program.opd != (actor.opd or ""):
        return error_response(403, "code", "auth.opd")
    try:
        kelurahan = _kelurahan_arg(actor)
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    rows = eligible_households(
        services().views, program.code, kelurahan=kelurahan, limit=limit, offset=offset
    )
    shown = [{"id": r["household_id"]} for r in rows]
    access_log.record_households(actor, "api", shown, access_log.api_reason())
    return jsonify({"program": program.code, "kelurahan": kelurahan or None, "results": rows})


# Who may read a program's targeting errors: supervisors, auditors, administrators, the
# program's own OPD, and a caseworker for one of their kelurahan; and who may try a draft of
# its rules (what-if): the same, caseworkers apart.
ERROR_READERS = ("caseworker", "supervisor", "auditor", "program_manager", "admin")
WHAT_IF_READERS = ("supervisor", "auditor", "program_manager", "admin")


def _program_for(actor: Actor, code: str, *roles: str) -> Any:
    """The program, if the actor's role may read its lists; raises Forbidden or NotFound."""
    require_role(actor, *roles)
    program = services().casework.get_program(code)  # 404 program.not_found
    if actor.role == "program_manager" and program.opd != (actor.opd or ""):
        raise Forbidden("code", "auth.opd")
    return program


def _program_errors(code: str) -> dict[str, Any]:
    """The inclusion and exclusion errors the request asks for; raises Forbidden, NotFound."""
    actor = caller()
    program = _program_for(actor, code, *ERROR_READERS)
    kelurahan = _kelurahan_arg(actor)
    answer = program_views.errors(services().views, program.code, kelurahan=kelurahan)
    if answer is None:  # defined in the store, not yet in the eligibility view
        raise NotFound("code", "program.not_found")
    shown = [{"id": f["household_id"]} for kind in program_views.ERROR_KINDS for f in answer[kind]]
    access_log.record_households(actor, "api", shown, access_log.api_reason())
    return answer


@bp.get("/programs/<code>/errors")
def program_errors(code: str):
    """Inclusion errors (receiving, ineligible), exclusion errors (eligible, not receiving)
    and receiving families whose eligibility needs a review, per kelurahan."""
    try:
        return jsonify(_program_errors(code))
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422


@bp.get("/programs/<code>/errors.csv")
def program_errors_csv(code: str):
    """The same families as CSV, one row each."""
    try:
        answer = _program_errors(code)
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    name = f"kesalahan-{answer['program']}.csv"
    return csv_response(name, ERROR_HEADER, error_rows(answer))


def _what_if(code: str) -> dict[str, Any] | tuple[Response, int]:
    """The what-if answer the request asks for, or the error response."""
    actor = caller()
    program = _program_for(actor, code, *WHAT_IF_READERS)
    try:
        payload = json_body()
    except BadBody as bad:
        return error_response(bad.status, bad.field, bad.code)
    try:
        rules = draft_rules(program, load_draft(payload))
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    answer = program_views.what_if(services().views, program.code, rules)
    if answer is None:
        return error_response(404, "code", "program.not_found")
    shown = [{"id": f["household_id"]} for f in (*answer["gaining"], *answer["losing"])]
    access_log.record_households(actor, "api", shown, access_log.api_reason())
    return answer


@bp.post("/programs/<code>/what-if")
def program_what_if(code: str):
    """A draft rule version evaluated against today's data: who gains and who loses
    eligibility, per kelurahan. Stores nothing."""
    answer = _what_if(code)
    return jsonify(answer) if isinstance(answer, dict) else answer


@bp.post("/programs/<code>/what-if.csv")
def program_what_if_csv(code: str):
    """The families gaining and losing eligibility under the draft, as CSV."""
    answer = _what_if(code)
    if not isinstance(answer, dict):
        return answer
    name = f"rancangan-{answer['program']}.csv"
    return csv_response(name, WHAT_IF_HEADER, what_if_rows(answer))


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
        "yearly_target": getattr(program, "yearly_target", None),
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
        limit, offset = page_args()
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    program = services().casework.get_program(code)  # 404 program.not_found, as its siblings
    if read_policy.area_of(request.endpoint, actor.role) is read_policy.Area.OPD:
        if program.opd != (actor.opd or ""):
            return error_response(403, "code", "auth.opd")
    rows = beneficiaries(services().views, code, limit=limit, offset=offset)
    results = [disclose_beneficiary(codec(), row) for row in rows]
    shown = [{"id": r["household_id"], "members": [{"nik": r["nik"]}]} for r in results]
    access_log.record_households(actor, "api", shown, access_log.api_reason())
    if read_policy.masks_nik(request.endpoint, actor.role):
        results = [{**r, "nik": masked_nik(r["nik"])} for r in results]
    return jsonify({"program": code, "results": results})


def _reconciliation(export: bool = False) -> dict[str, Any]:
    """The reconciliation answer the request asks for (Invalid, Forbidden raised)."""
    actor = caller()
    answer = reconciliation.answer(actor, request.args, export=export)
    shown = [{"id": f["household_id"]} for f in answer.get("results", [])]
    if shown:
        access_log.record_households(actor, "api", shown, access_log.api_reason())
    return answer


@bp.get("/reconciliation")
def reconciliation_list():
    """Where the sources disagree: counts per kecamatan and kelurahan, and a page of the
    families (program managers: the counts only)."""
    try:
        return jsonify(_reconciliation())
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422


@bp.get("/reconciliation.csv")
def reconciliation_csv():
    """Every family of the filter where the sources disagree, as CSV."""
    try:
        answer = _reconciliation(export=True)
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    rows = reconciliation_rows(answer["results"])
    return csv_response("rekonsiliasi.csv", RECONCILIATION_HEADER, rows)


@bp.get("/reconciliation.xlsx")
def reconciliation_xlsx():
    """The same families as an XLSX workbook."""
    try:
        answer = _reconciliation(export=True)
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    rows = reconciliation_rows(answer["results"])
    return xlsx_response("rekonsiliasi.xlsx", [("Rekonsiliasi", RECONCILIATION_HEADER, rows)])


@bp.get("/reconciliation/<household_id>")
def reconciliation_household(household_id: str):
    """What each source says about one household beside the register."""
    actor = caller()
    answer = reconciliation.side_by_side(actor, household_id)
    access_log.record_households(actor, "api", [{"id": household_id}], access_log.api_reason())
    return jsonify(answer)


PERSON_BENEFIT_READERS = ("admin", "supervisor", "auditor")


@bp.get("/persons/<nik>/benefits")
def person_benefits(nik: str):
    """Every benefit the NIK ever received, on any KK, and those granted before the NIK was
    known (a provisional person later linked, `person_id`), from the event store."""
    actor = caller()
    require_role(actor, *PERSON_BENEFIT_READERS)
    problems = nik_problems(nik)
    if problems:
        return jsonify(errors_body({"nik": [p.code for p in problems]})), 422
    casework = services().casework
    # never registered, or erased (her key destroyed): the same answer, which does not say
    # that she was ever here; one who moved out stays known (with her benefits, or none)
    if not casework.nik_known(nik):
        raise NotFound("nik", "nik.unknown")
    found = casework.benefits_of_nik(nik)
    home = casework.household_id_for_nik(nik)
    households = sorted({b["household_id"] for b in found if b["household_id"]})
    if home is not None and str(home) not in households:
        households.append(str(home))
    shown = [{"id": household_id, "members": [{"nik": nik}]} for household_id in households]
    access_log.record_households(actor, "api", shown, access_log.api_reason(), searched_nik=nik)
    keys = ("benefit_id", "household_id", "person_id", "program", "period_start", "period_end")
    known = {p.code: p for p in casework.list_programs()}
    day = today()
    results = []
    for b in found:
        history = status_history(b)
        ahead = len(scheduled_changes(b, day))
        results.append(
            {
                **{key: b.get(key) for key in keys},
                "opd": known[b["program"]].opd if b["program"] in known else None,
                "program_name": known[b["program"]].name if b["program"] in known else None,
                "amount": b["amount"],
                # in force today; a change recorded to take effect later is `scheduled`
                "status": status_on(b, day),
                # received today: its period not ended, nor still to begin, and active
                "running": runs_on(b, day),
                "before_nik": b.get("person_id") is not None,
                "history": history,
                "scheduled": history[len(history) - ahead :],
            }
        )
    return jsonify({"results": results})


def status_history(benefit: dict[str, Any]) -> list[dict[str, Any]]:
    """A benefit's changes in order: granted (active from its start), then each suspension,
    resumption and termination with its effective date, reason code and reason."""
    steps = []
    for at, step in enumerate(benefit.get("history", [])):
        status = step["status"]
        change = "granted" if at == 0 else CHANGE_OF.get(status, status)
        steps.append(
            {
                "change": change,
                "status": status,
                "effective_date": step.get("effective_date"),
                "reason_code": step.get("reason_code"),
                "reason": step.get("reason"),
            }
        )
    return steps


CHANGE_OF = {"active": "resumed", "suspended": "suspended", "terminated": "terminated"}


def _overdue_filter() -> bool | None:
    raw = request.args.get("overdue", "").strip().lower()
    if raw in ("", "all"):
        return None
    if raw in ("true", "1", "yes", "ya"):
        return True
    if raw in ("false", "0", "no", "tidak"):
        return False
    raise Invalid({"overdue": ["overdue.invalid"]})


def review_scope(actor: Actor) -> dict[str, tuple[str, ...] | None]:
    """What of the review queue the caller may see: supervisors, administrators and auditors
    everything; a case worker their kelurahan; a program manager their OPD's programs."""
    casework = services().casework
    if actor.role in ("supervisor", "admin", "auditor"):
        return {}
    if actor.role == "caseworker":
        return {"kelurahan_in": tuple(casework.get_user(actor.id).kelurahan)}
    if actor.role == "program_manager":
        own = tuple(p.code for p in casework.list_programs() if p.opd == (actor.opd or ""))
        return {"program_in": own}
    require_role(actor, "supervisor")  # 403 for everyone else (agencies)
    return {}


def review_queue(scope: dict[str, Any]) -> list[dict[str, Any]]:
    """The open reviews the request's filters ask for, within `scope`; raises Invalid."""
    kelurahan = _kelurahan_arg(caller(), required_of_caseworkers=False) or None
    overdue = _overdue_filter()
    limit, offset = page_args()
    program = request.args.get("program", "").strip()[:50] or None
    if program is not None:
        try:  # a code no program has: 404, as the other lists by program answer
            program = services().casework.get_program(program).code
        except NotFound:
            raise NotFound("program", "program.not_found") from None
    return open_reviews(
        services().views,
        today().isoformat(),
        kelurahan=kelurahan,
        program=program,
        overdue=overdue,
        limit=limit,
        offset=offset,
        **scope,
    )


@bp.get("/reviews")
def reviews():
    """The open benefit reviews, nearest deadline first (the reviews view). They hold no
    personal data: ids, program, area, cause and deadline."""
    scope = review_scope(caller())
    try:
        results = review_queue(scope)
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    return jsonify({"results": results})


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
        # refused at approval: the program's rules that failed (domain.errors.RulesFailed)
        "reasons": getattr(change, "reasons", []),
    }


@bp.get("/approvals")
def approvals():
    """The changes waiting for a supervisor, oldest first."""
    require_role(caller(), *read_policy.OVERSIGHT)
    pending = services().casework.pending_approvals()
    return jsonify({"approvals": [approval_body(change) for change in pending]})


@bp.get("/approvals/mine")
def my_approvals():
    """The caller's own requests for approval, whatever became of them, the most recent first
    (`limit`, `offset`): each as `GET /approvals/<id>` answers it, with when it was decided.
    The approvals view says which (it keeps no personal data); each is read from the store.
    The first page begins with the requests still pending that the view does not hold yet."""
    actor = caller()
    try:
        limit, offset = page_args()
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    casework = services().casework
    # the first page begins with the requests just made, before the view holds them
    results = _requests_not_in_view(actor, limit) if offset == 0 else []
    listed = {result["approval_id"] for result in results}
    found = approval_views.requests(
        services().views, requester_id=actor.id, limit=limit, offset=offset
    )
    for entry in found:
        if entry["approval_id"] in listed:
            continue  # the view caught up while this page was read
        try:
            change = casework.get_pending_change(entry["approval_id"])
        except NotFound:
            continue  # in the view, not (yet) in this store
        decided_at = entry["decided_at"] if change.status != "pending" else None
        results.append({**approval_body(change), "decided_at": decided_at})
    return jsonify({"approvals": results[:limit]})


def _requests_not_in_view(actor: Actor, limit: int) -> list[dict[str, Any]]:
    """The caller's requests still pending in the store that the approvals view does not hold
    yet (it follows the store a moment later), the most recent first, at most `limit`: a
    request answered 202 is listed at once, as `Permintaan saya` lists it (app/web.py
    `just_requested`)."""
    casework = services().casework
    ids = [str(approval_id) for approval_id in casework.pending_approval_ids()]
    held = approval_views.known(services().views, ids)
    results: list[dict[str, Any]] = []
    for approval_id in reversed(ids):
        if len(results) >= limit:
            break
        if approval_id in held:
            continue
        try:
            change = casework.get_pending_change(approval_id)
        except NotFound:
            continue
        if change.status != "pending" or (change.requester or {}).get("id") != actor.id:
            continue
        results.append({**approval_body(change), "decided_at": None})
    return results


def _require_own(actor: Actor, change: Any) -> None:
    """403 for a maker reading an approval someone else requested (Area.OWN)."""
    if read_policy.area_of(request.endpoint, actor.role) is read_policy.Area.OWN:
        if change.requester["id"] != actor.id:
            raise Forbidden("approval_id", "auth.own")


@bp.get("/approvals/<approval_id>")
def approval(approval_id: str):
    actor = caller()
    approval_id = _uuid_or_404(approval_id, "approval_id", "approval.not_found")
    change = services().casework.get_pending_change(approval_id)
    _require_own(actor, change)
    return jsonify(approval_body(change))


@bp.get("/approvals/<approval_id>/history")
def approval_history(approval_id: str):
    actor = caller()
    casework = services().casework
    approval_id = _uuid_or_404(approval_id, "approval_id", "approval.not_found")
    change = casework.get_pending_change(approval_id)
    _require_own(actor, change)
    return jsonify({"approval_id": approval_id, "events": stream_history(casework, change.id)})


# Who may read the stored history as a whole and check its chains.
AUDIT_READERS = ("auditor", "supervisor", "admin")


@bp.get("/audit/verify")
def audit_verify():
    """The event chain and the read log's chain checked now: the first broken link of each
    (the same answer as `casework audit verify`), and the chain's head to keep as an anchor.
    `anchor=POSITION:LINK`, one held from earlier: the event chain must still pass through
    it (`--anchor`), else it is broken there (reason `anchor`)."""
    require_role(caller(), *AUDIT_READERS)
    anchors: list[chain.Anchor] = []
    if "anchor" in request.args:  # an anchor held: the chain must still pass through it
        held = ANCHOR.match(request.args["anchor"].strip().lower())
        if held is None:
            return error_response(422, "anchor", "anchor.invalid")
        anchors.append(chain.Anchor(int(held[1]), held[2], 0, ""))
    answer = audit_log.report(services().store, anchors)
    head = chain.anchor(services().store)
    answer["anchor"] = f"{head.position}:{head.link}" if head else None
    answer["anchor_checked"] = anchors[0].position if anchors else None
    return jsonify(answer)


@bp.get("/audit")
def audit():
    """The global audit log: every stored event in store order, without its data."""
    require_role(caller(), *AUDIT_READERS)
    try:
        after, limit, filters = audit_log.parse(request.args)
    except Invalid as invalid:
        return jsonify(errors_body(invalid.codes)), 422
    return jsonify(audit_log.page(services().casework, services().views, after, limit, filters))


@bp.get("/keys")
def signing_keys():
    """The public keys that sign every message on the events topic, as a JWK set: anyone may
    read them (they prove a message is this system's and reveal nothing)."""
    return jsonify(Signer(services().settings.signing_key).jwks())


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(openapi.document(current_app))


@bp.get("/asyncapi.json")
def asyncapi_json():
    """The AsyncAPI 3 document of the Kafka topics (app/asyncapi.py): public, like the keys."""
    return jsonify(asyncapi.document(services().settings))


# The cross-OPD view's routes (app/overview_api.py), on this blueprint and under its policies.
overview_api.register(bp)

# Agencies' feed and webhooks (app/agency_api.py), on this blueprint and under its policies.
agency_api.register(bp)
