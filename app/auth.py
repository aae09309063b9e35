"""Who is calling, and what their role lets them do.

The API knows its caller by `Authorization: Bearer <token>` (domain/account_cases.py), the web
by the signed-in account of the session (app/login.py). The same role rules are checked at the
edge for both, after the command is validated and before it runs, by each command's declared
area (`domain.commands.Area`):

- `auditor`, `agency`: read only, no command;
- `caseworker`: only households in their own kelurahan (RegisterHousehold: the kelurahan
  given; RegisterHomelessPerson: a kecamatan holding one of their kelurahan;
  RelocateHousehold: the household's and the target kelurahan);
- `program_manager`: DefineProgram and ChangeProgramRules for their own OPD, and the benefit
  and empowerment commands for programs of their OPD (a benefit before a NIK: the program of
  the provisional person's benefit);
- `supervisor`, `admin`: everything.

ApproveChange and RejectChange are left to the domain (a supervisor, not the maker).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from flask import current_app, g, request
from werkzeug.exceptions import TooManyRequests

from adapters.token_use import TokenUse
from app.context import services
from app.failure_throttle import FailureThrottle
from domain.accounts import token_hash, token_id
from domain.application import Actor, Casework
from domain.approval import Forbidden
from domain.commands import COMMANDS, Area, Kelurahan, Opd
from domain.errors import DomainError, NotFound
from domain.regions import KECAMATAN, Kecamatan, find_kelurahan

log = logging.getLogger("casework.auth")

READ_ONLY = ("auditor", "agency")
EVERYTHING = ("supervisor", "admin")


def web_actor() -> Actor:
    """The person signed in to the web (app/login.py puts them on the request before any page
    runs; a page never runs without one)."""
    actor = g.get("web_actor")
    if actor is None:
        raise Unauthenticated("auth.session_missing")
    return actor


class Unauthenticated(Exception):
    """No token, or one that is unknown, revoked or of an inactive user (answered as 401)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class TooManyFailures(TooManyRequests):
    """Too many wrong bearer tokens from this address or with this prefix (answered 429 with
    Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)
        self.seconds = retry_after


TOKEN_PREFIX = 8  # characters of a presented token that key its failures (never logged)


def _bearer_guard() -> tuple[FailureThrottle, TokenUse]:
    """This web process's failure counts and last-use writer (made on first use)."""
    found = current_app.extensions.get("casework.bearer")
    if found is None:
        found = (FailureThrottle(), TokenUse(services().store))
        current_app.extensions["casework.bearer"] = found
    return found


def api_actor(casework: Casework) -> Actor:
    """The caller of this API request; raises Unauthenticated (401) or TooManyFailures (429).

    Wrong tokens are counted per address and per token prefix (`app.failure_throttle`): past
    the limit a wrong token is answered 429 without being counted. A valid token is always
    answered: one client's wrong tokens behind a shared address (an office's NAT) lock no
    one else out, and a token (256 random bits) is not found by guessing. The token's last
    use is recorded at most once an hour (`adapters.token_use`). Logs name the address and
    counts, never the token.
    """
    token = bearer_token()
    if token is None:
        raise Unauthenticated("auth.token_missing")
    throttle, uses = _bearer_guard()
    address = request.remote_addr or "unknown"
    keys = (f"address:{address}", f"prefix:{token[:TOKEN_PREFIX]}")
    actor, why = casework.token_holder(token)
    wait = throttle.retry_after(*keys) if actor is None else 0
    if wait:
        log.info("bearer refused from %s: retry after %d s", address, wait)
        raise TooManyFailures(wait)
    if actor is None:
        failures = throttle.failed(*keys)
        log.info("bearer failed (%s) from %s: %d in the window", why, address, failures)
        if failures == throttle.limit:
            log.warning(
                "bearer: too many wrong tokens from %s or with one prefix: refusing them for"
                " %.0f s",
                address,
                throttle.window,
            )
        raise Unauthenticated(
            "auth.token_expired" if why == "token.expired" else "auth.token_invalid"
        )
    uses.record(token_id(token_hash(token)))
    return actor


def require_role(actor: Actor, *roles: str, field: str = "actor") -> None:
    """403 unless the actor's role is one of `roles`. For reads: the refusal says the role may
    not read this (`auth.read`, as the read policy's guard says it); commands are refused by
    `authorize`. `field`: what the refusal names, e.g. the parameter only these roles use."""
    if actor.role not in roles:
        raise Forbidden(field, "auth.read")


def authorize(casework: Casework, actor: Actor, command: str, data: dict[str, Any]) -> None:
    """Raise Forbidden (403) unless the actor's role and area allow this validated command,
    by the command's declared area (domain/commands.py)."""
    if actor.role in EVERYTHING:
        return
    area = COMMANDS[command].area
    if not (area.decision or area.kelurahan is not Kelurahan.NONE or area.opd is not Opd.NONE):
        raise Forbidden("actor", "auth.role")  # supervisors and administrators only
    if actor.role in READ_ONLY:
        raise Forbidden("actor", "auth.read_only")
    if area.decision:
        return  # the domain decides: a supervisor who is not the maker
    if actor.role == "caseworker" and area.kelurahan is not Kelurahan.NONE:
        _caseworker(casework, actor, area, data)
    elif actor.role == "program_manager" and area.opd is not Opd.NONE:
        _program_manager(casework, actor, area, data)
    else:
        raise Forbidden("actor", "auth.role")


def may_issue(role: str, command: str) -> bool:
    """Whether the role may send the command at all, wherever it applies (`authorize` then
    checks the household's kelurahan or the program's OPD): what a list of commands offers."""
    if role in EVERYTHING:
        return True
    area = COMMANDS[command].area
    if role in READ_ONLY or area.decision:  # a decision: a supervisor who is not the maker
        return False
    if role == "caseworker":
        return area.kelurahan is not Kelurahan.NONE
    if role == "program_manager":
        return area.opd is not Opd.NONE
    return False


# What an import records (app/importer.py): what a source's file says of its families.
IMPORT_COMMANDS = frozenset(
    {
        "RegisterHousehold",
        "AddMember",
        "RecordWelfareAssessment",
        "RecordVerification",
        "RecordSourceListing",
    }
)
# Who imports the sources' files: data stewards of the city's social data. A program manager
# may not register a household by hand (`authorize`), but may load DTSEN, DTKS, P3KE and verval
# files, whose families their programs are chosen from; the import records only these
# commands, each as the manager's own, with source `import:<kind>`.
IMPORTERS = ("admin", "program_manager")


def authorize_import(casework: Casework, actor: Actor, command: str, data: dict[str, Any]) -> None:
    """Raise Forbidden (403) unless the actor may record this command by an import: an
    importer (`IMPORTERS`) the import's own commands, anyone else as `authorize` decides."""
    if actor.role in IMPORTERS and command in IMPORT_COMMANDS:
        return
    authorize(casework, actor, command, data)


def _caseworker(casework: Casework, actor: Actor, area: Area, data: dict[str, Any]) -> None:
    areas = set(casework.get_user(actor.id).kelurahan)
    if area.kelurahan is Kelurahan.HOUSEHOLD:
        try:
            kelurahan = casework.get_household(data["household_id"]).kelurahan
        except NotFound:
            return  # the command answers 404 itself
        if kelurahan not in areas:
            raise Forbidden("household_id", "auth.kelurahan")
    elif area.kelurahan is Kelurahan.GIVEN:
        if data["kelurahan"] not in areas:
            raise Forbidden("kelurahan", "auth.kelurahan")
    elif area.kelurahan is Kelurahan.KECAMATAN:
        if not any(find_kelurahan(data["kecamatan"], name) for name in areas):
            raise Forbidden("kecamatan", "auth.kecamatan")
    elif area.kelurahan is Kelurahan.PERSON:
        try:
            kecamatan = casework.get_provisional_person(data["person_id"]).kecamatan
        except NotFound:
            return  # the command answers 404 itself
        if not any(find_kelurahan(kecamatan, name) for name in areas):
            raise Forbidden("person_id", "auth.kecamatan")
    target = area.target_kelurahan
    if target is not None and data.get(target) is not None and data[target] not in areas:
        raise Forbidden(target, "auth.kelurahan")


def _program_manager(casework: Casework, actor: Actor, area: Area, data: dict[str, Any]) -> None:
    if area.opd is Opd.GIVEN:
        if data["opd"] != (actor.opd or ""):
            raise Forbidden("opd", "auth.opd")
    elif area.opd is Opd.PROGRAM:
        field = "program" if "program" in data else "code"
        _own_program(casework, actor, data[field], field)
    else:
        program = _program_of(casework, data)
        if program is None:
            return  # no such benefit or enrolment: the command answers that itself
        field = "household_id" if "household_id" in data else "benefit_id"
        _own_program(casework, actor, program, field)


def _program_of(casework: Casework, data: dict[str, Any]) -> str | None:
    """The program of the benefit, review or enrolment the command names, if it exists: on
    the household `household_id`, or on the provisional person `person_id` (a benefit
    before a NIK)."""
    if "household_id" not in data:
        try:
            person = casework.get_provisional_person(data["person_id"])
        except NotFound:
            return None
        found = person.benefits.get(str(data["benefit_id"]))
        return found["program"] if found else None
    try:
        household = casework.get_household(data["household_id"])
    except NotFound:
        return None
    if "review_id" in data:
        try:
            found, _ = household.review(data["review_id"])
        except DomainError:
            found = None
    elif "benefit_id" in data:
        found = household.benefits.get(data["benefit_id"])
    else:
        found = household.enrollments.get(data["enrollment_id"])
    return found["program"] if found else None


def _own_program(casework: Casework, actor: Actor, code: str, field: str) -> None:
    try:
        program = casework.get_program(code)
    except DomainError:
        if field == "code":
            return  # ChangeProgramRules answers 404 itself
        raise Forbidden(field, "auth.opd") from None
    if program.opd != (actor.opd or ""):
        raise Forbidden(field, "auth.opd")


def kelurahan_of(casework: Casework, actor: Actor) -> tuple[str, ...] | None:
    """The kelurahan a case worker may read (app/read_policy.py, Area.KELURAHAN); None for
    the roles not bound to an area."""
    if actor.role != "caseworker":
        return None
    return tuple(casework.get_user(actor.id).kelurahan)


def kecamatan_within(areas: tuple[str, ...] | None) -> tuple[Kecamatan, ...]:
    """The kecamatan, each with the kelurahan in it, that a person's filters and forms may
    offer, given their `kelurahan_of`: the whole city, or for a case worker only their
    kelurahan (and the kecamatan holding them). What is not offered would only answer 403."""
    if areas is None:
        return KECAMATAN
    return tuple(
        dataclasses.replace(kec, kelurahan=mine)
        for kec in KECAMATAN
        if (mine := tuple(kel for kel in kec.kelurahan if kel.name in areas))
    )


def require_kelurahan(casework: Casework, actor: Actor, kelurahan: str, field: str) -> None:
    """Raise Forbidden (403) when a case worker reads a record outside their kelurahan."""
    areas = kelurahan_of(casework, actor)
    if areas is not None and kelurahan not in areas:
        raise Forbidden(field, "auth.kelurahan")
