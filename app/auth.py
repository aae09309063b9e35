"""Who is calling, and what their role lets them do.

The API knows its caller by `Authorization: Bearer <token>` (domain/account_cases.py). The
role rules are checked at the edge, after the command is validated and before it runs:

- `auditor`, `agency`: read only, no command;
- `caseworker`: only households in their own kelurahan (RegisterHousehold: the kelurahan
  given; RegisterHomelessPerson: a kecamatan holding one of their kelurahan);
- `program_manager`: DefineProgram and ChangeProgramRules for their own OPD, and the benefit
  and empowerment commands for programs of their OPD;
- `supervisor`, `admin`: everything.

ApproveChange and RejectChange are left to the domain (a supervisor, not the maker).
"""

from __future__ import annotations

from typing import Any

from flask import request

from domain.application import Actor, Casework
from domain.approval import Forbidden
from domain.errors import DomainError, NotFound
from domain.regions import find_kelurahan

READ_ONLY = ("auditor", "agency")
EVERYTHING = ("supervisor", "admin")
DECISIONS = ("ApproveChange", "RejectChange")
PROGRAM_COMMANDS = ("DefineProgram", "ChangeProgramRules")
# Benefit and empowerment commands: the program is named, or found from the benefit/enrolment.
BENEFIT_COMMANDS = (
    "GrantBenefit",
    "SuspendBenefit",
    "ResumeBenefit",
    "TerminateBenefit",
    "EnrollEmpowerment",
    "CompleteEmpowerment",
)

# The web UI has no sign-in yet: every session acts as this built-in administrator.
# Seam: replace `web_actor()` by the signed-in user's Actor when the login pages arrive.
WEB_ACTOR = Actor(id="web", role="admin")


def web_actor() -> Actor:
    return WEB_ACTOR


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


def api_actor(casework: Casework) -> Actor:
    """The caller of this API request; raises Unauthenticated."""
    token = bearer_token()
    if token is None:
        raise Unauthenticated("auth.token_missing")
    actor = casework.actor_for_token(token)
    if actor is None:
        raise Unauthenticated("auth.token_invalid")
    return actor


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden("actor", "auth.role")


# Restricting a person's data is decided by a supervisor or an administrator only.
PRIVACY_DECISIONS = frozenset({"RestrictProcessing", "LiftRestriction"})


def authorize(casework: Casework, actor: Actor, command: str, data: dict[str, Any]) -> None:
    """Raise Forbidden (403) unless the actor's role and area allow this validated command."""
    if actor.role in EVERYTHING:
        return
    if command in PRIVACY_DECISIONS:
        raise Forbidden("actor", "auth.role")
    if actor.role in READ_ONLY:
        raise Forbidden("actor", "auth.read_only")
    if command in DECISIONS:
        return  # the domain decides: a supervisor who is not the maker
    if actor.role == "caseworker":
        _caseworker(casework, actor, command, data)
    elif actor.role == "program_manager":
        _program_manager(casework, actor, command, data)
    else:
        raise Forbidden("actor", "auth.role")


def _caseworker(casework: Casework, actor: Actor, command: str, data: dict[str, Any]) -> None:
    if command in PROGRAM_COMMANDS:
        raise Forbidden("actor", "auth.role")
    areas = set(casework.get_user(actor.id).kelurahan)
    if "household_id" in data:
        try:
            kelurahan = casework.get_household(data["household_id"]).kelurahan
        except NotFound:
            return  # the command answers 404 itself
        if kelurahan not in areas:
            raise Forbidden("household_id", "auth.kelurahan")
    elif command == "RegisterHousehold":
        if data["kelurahan"] not in areas:
            raise Forbidden("kelurahan", "auth.kelurahan")
    elif command == "RegisterHomelessPerson":
        if not any(find_kelurahan(data["kecamatan"], name) for name in areas):
            raise Forbidden("kecamatan", "auth.kecamatan")
    else:
        raise Forbidden("actor", "auth.role")


def _program_manager(casework: Casework, actor: Actor, command: str, data: dict[str, Any]) -> None:
    if command == "DefineProgram":
        if data["opd"] != (actor.opd or ""):
            raise Forbidden("opd", "auth.opd")
        return
    if command == "ChangeProgramRules":
        _own_program(casework, actor, data["code"], "code")
        return
    if command not in BENEFIT_COMMANDS:
        raise Forbidden("actor", "auth.role")
    if "program" in data:
        _own_program(casework, actor, data["program"], "program")
        return
    program = _program_of(casework, data)
    if program is None:
        return  # no such benefit or enrolment: the command answers that itself
    _own_program(casework, actor, program, "household_id")


def _program_of(casework: Casework, data: dict[str, Any]) -> str | None:
    """The program of the benefit or enrolment the command names, if it exists."""
    try:
        household = casework.get_household(data["household_id"])
    except NotFound:
        return None
    if "benefit_id" in data:
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
