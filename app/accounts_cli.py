"""`casework users add|list|password|deactivate|activate` and `casework tokens
issue|list|revoke`: accounts, web passwords and API tokens from the shell. A deactivated
account neither signs in nor uses its tokens until it is activated again. A token is printed
once, when issued; afterwards it is named by its id (the start of its hash), never shown
again. A password is read from stdin (`--password-stdin`, one line) or asked twice without
echo (`--password`); only its argon2id hash is kept (adapters/credentials.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import secrets
import sys
import time
from typing import Any

from adapters.bootstrap import System
from adapters.credentials import (
    MAX_LENGTH,
    MIN_LENGTH,
    PasswordRejected,
    check_new_password,
    end_sessions,
    set_password,
)
from adapters.token_use import last_used
from domain.accounts import MAX_TOKEN_DAYS, ROLES, TOKEN_DAYS
from domain.application import SYSTEM, make_meta
from domain.errors import DomainError

_MESSAGES = {
    "user.name_invalid": "a user name is 2-64 letters, digits or . _ @ - (starting with a letter "
    "or digit)",
    "user.exists": "a user with that name already exists",
    "user.not_found": "no such user; add it first with `casework users add NAME --role ROLE`",
    "user.inactive": "that user is deactivated; reactivate it first with"
    " `casework users activate NAME`",
    "role.unknown": f"unknown role; use one of: {', '.join(ROLES)}",
    "kelurahan.required": "a caseworker needs at least one --kelurahan NAME",
    "kelurahan.unknown": "unknown kelurahan of Kota Jambi; use its name or code, e.g. Telanaipura",
    "kelurahan.not_caseworker": "--kelurahan is only for --role caseworker (other roles see"
    " every kelurahan); leave it out or use --role caseworker",
    "opd.required": "a program_manager needs --opd CODE (e.g. DINSOS)",
    "opd.invalid": "an OPD code is letters, digits, space, . _ or - (at most 50), e.g. DINSOS",
    "agency.required": "an agency account needs --agency CODE: 2-32 letters, digits, - or _"
    " (e.g. BPJSKES), the code of its data-sharing agreement",
    "agency.not_agency": "--agency is only for --role agency (other roles take --opd)",
    "user.agency_fixed": "an agency account stays its agency's: add a new account for another"
    " role or agency and deactivate this one",
    "token.days_invalid": f"--days is a whole number from 1 to {MAX_TOKEN_DAYS}",
    "token.not_found": "no user and no token with that id; see `casework tokens list`",
    "token.revoked": "that token is already revoked",
    "password.too_short": f"a password needs at least {MIN_LENGTH} characters",
    "password.too_long": f"a password has at most {MAX_LENGTH} characters",
    "password.has_name": "a password may not contain the user name; choose another",
    "password.common": "that password is easy to guess (a common word such as password or"
    " katasandi with digits around it, digits only, a keyboard run, a repeat or a date);"
    " use three or four unrelated words",
    "password.mismatch": "the two passwords differ",
    "password.missing": "no password given on stdin",
}


def password_arguments(parser: argparse.ArgumentParser, required: bool = False) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the web sign-in password from the first line of stdin",
    )
    group.add_argument(
        "--password",
        action="store_true",
        help="ask for the web sign-in password (twice, without echo)",
    )


def read_password(args: argparse.Namespace) -> str | None:
    """The password the arguments ask for (None: none asked for); raises PasswordRejected."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise PasswordRejected("password.missing")
        return line
    if getattr(args, "password", False):
        return ask_password()
    return None


def ask_password() -> str:
    """A password typed twice on the terminal (not echoed); raises PasswordRejected."""
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise PasswordRejected("password.mismatch")
    return first


def generated_password(user_name: str) -> str:
    """A password for an account added by a script (about 96 random bits, 16 characters),
    one that the rules for new passwords take."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            return check_new_password(password, user_name)
        except PasswordRejected:
            continue  # the name in it, by a rare chance


def _password_failed(error: PasswordRejected) -> int:
    print(f"casework: password: {_MESSAGES[error.code]}", file=sys.stderr)
    return 2


def _set_password(system: System, name: str, password: str) -> None:
    """Keep the hash (outside the events) and record that it was set. Every web session
    signed in until now ends: a password reset because it leaked signs out whoever used it."""
    set_password(system.store, name, password)
    end_sessions(system.store, name, time.time())
    system.casework.record_password_set(name, make_meta(SYSTEM, "cli"))


def _fail(error: DomainError) -> int:
    message = _MESSAGES.get(error.code, error.code)
    print(f"casework: {error.field}: {message}", file=sys.stderr)
    return 2


def users_add(system: System, args: argparse.Namespace) -> int:
    """`casework users add NAME --role ROLE [--opd CODE] [--kelurahan NAME...]
    [--agency CODE]`: an agency account keeps its agency code as its OPD."""
    if args.role not in ROLES:
        print(f"casework: role: {_MESSAGES['role.unknown']}", file=sys.stderr)
        return 2
    agency = getattr(args, "agency", None)
    if agency is not None and args.role != "agency":
        print(f"casework: agency: {_MESSAGES['agency.not_agency']}", file=sys.stderr)
        return 2
    opd = agency.strip().upper() if args.role == "agency" and agency else args.opd
    if args.role == "agency" and not agency:
        opd = None  # the agency code is given as --agency, never as --opd
    # Never blocks a script: the password read from stdin (--password-stdin), asked on a
    # terminal, or else made here and printed once (../shared/docs/contract.md).
    generated = None
    try:
        password = read_password(args)
        if password is None and sys.stdin.isatty():
            password = ask_password()
        if password is None:
            password = generated = generated_password(args.name)  # checked as it is made
        else:
            check_new_password(password, args.name)
    except PasswordRejected as error:
        return _password_failed(error)
    app = system.casework
    try:
        app.add_user(args.name, args.role, opd, args.kelurahan or [], make_meta(SYSTEM, "cli"))
        user = app.get_user(args.name)
        _set_password(system, user.name, password)
        unknown_opd = user.role == "program_manager" and _opd_of_no_program(app, user.opd)
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
    areas = f" kelurahan={','.join(user.kelurahan)}" if user.kelurahan else ""
    label = "agency" if user.role == "agency" else "opd"
    opd = f" {label}={user.opd}" if user.opd else ""
    print(f"added user {user.name} role={user.role}{opd}{areas} (signs in to the web)")
    if generated is not None:
        print(
            f"its web password, shown only now (hand it over in person; `casework users"
            f" password {user.name} --password` sets another):"
        )
        print(generated)
    if unknown_opd:
        print(
            f"casework: opd: note: no program belongs to OPD {user.opd} yet ({unknown_opd});"
            " the account sees only its OPD's programs: check the code",
            file=sys.stderr,
        )
    return 0


def _opd_of_no_program(app: Any, opd: str | None) -> str:
    """'' when a program belongs to this OPD, else which OPDs programs belong to."""
    opds = sorted({program.opd.upper() for program in app.list_programs() if program.opd})
    if (opd or "").upper() in opds:
        return ""
    return f"programs belong to {', '.join(opds)}" if opds else "no program is defined"


def users_password(system: System, args: argparse.Namespace) -> int:
    """`casework users password NAME --password-stdin|--password`"""
    try:
        password = check_new_password(read_password(args) or "", args.name)
    except PasswordRejected as error:
        return _password_failed(error)
    try:
        user = system.casework.get_user(args.name)
        user.check_active()
        _set_password(system, user.name, password)
    except DomainError as error:
        return _fail(error)
    finally:
        system.close()
    print(f"password set for {user.name}")
    return 0


USER_COLUMNS = ("name", "role", "opd/agency", "kelurahan", "active", "web password", "tokens")


def users_list(system: System, args: argparse.Namespace) -> int:
    """`casework users list`: one line per account: name, role, OPD or agency code, kelurahan,
    whether it is active, whether it has a web password, and its API tokens in force (neither
    revoked nor expired)."""
    app = system.casework
    now = _now_text()
    try:
        users = app.list_users()
    finally:
        app.close()
    table = [USER_COLUMNS] + [
        (
            user.name,
            user.role,
            user.opd or "-",
            ",".join(user.kelurahan) or "-",
            "yes" if user.active else "no (deactivated)",
            "yes" if user.has_password else "no",
            str(
                sum(
                    1
                    for digest in user.tokens
                    if user.token_valid(digest) and not user.token_expired(digest, now)
                )
            ),
        )
        for user in users
    ]
    print_table(table)
    if not users:
        print("no users; add one with `casework users add NAME --role ROLE`", file=sys.stderr)
    return 0


def users_deactivate(system: System, args: argparse.Namespace) -> int:
    """`casework users deactivate NAME`: the account no longer signs in (its open web sessions
    end at their next page) and none of its API tokens works; its history stays."""
    app = system.casework
    try:
        user = app.get_user(args.name)
        if not user.active:
            print(f"{user.name} is already deactivated; nothing changed", file=sys.stderr)
            return 0
        app.deactivate_user(user.name, make_meta(SYSTEM, "cli"))
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
    print(
        f"deactivated {user.name}: it no longer signs in to the web (open sessions end at their"
        " next page) and its API tokens no longer work; undo: casework users activate"
        f" {user.name}"
    )
    return 0


def users_change(system: System, args: argparse.Namespace) -> int:
    """`casework users change NAME [--role ROLE] [--opd CODE] [--kelurahan NAME...]`: a staff
    member's new role or area (a case worker moved to other kelurahan, say); what is left out
    stays, and a role other than caseworker drops the kelurahan. It counts from the account's
    next page or API call; its password and tokens stay."""
    if args.role is not None and args.role not in ROLES:
        print(f"casework: role: {_MESSAGES['role.unknown']}", file=sys.stderr)
        return 2
    app = system.casework
    try:
        changed = app.change_user(
            args.name,
            make_meta(SYSTEM, "cli"),
            role=args.role,
            opd=args.opd,
            kelurahan=args.kelurahan,
        )
        user = app.get_user(args.name)
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
    if not changed:
        print(f"{user.name} already has that role and area; nothing changed", file=sys.stderr)
        return 0
    areas = f" kelurahan={','.join(user.kelurahan)}" if user.kelurahan else ""
    opd = f" opd={user.opd}" if user.opd else ""
    print(f"changed user {user.name}: role={user.role}{opd}{areas} (from its next page or call)")
    return 0


def users_activate(system: System, args: argparse.Namespace) -> int:
    """`casework users activate NAME`: a deactivated account signs in again with its password
    and its tokens neither revoked nor expired work again."""
    app = system.casework
    try:
        user = app.get_user(args.name)
        if user.active:
            print(f"{user.name} is active; nothing changed", file=sys.stderr)
            return 0
        app.reactivate_user(user.name, make_meta(SYSTEM, "cli"))
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
    print(f"reactivated {user.name}")
    return 0


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def tokens_issue(system: System, args: argparse.Namespace) -> int:
    """`casework tokens issue NAME [--days N]`: the token alone on the last line, shown only
    this once; it expires after N days (default 90)."""
    app = system.casework
    days = getattr(args, "days", None)
    days = TOKEN_DAYS if days is None else days
    try:
        token = app.issue_token(args.name, make_meta(SYSTEM, "cli"), days=days)
        issued = app.list_tokens(args.name)[-1]
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
    print(
        f"API token {issued['id']} for {args.name}, valid until {issued['expires_at']}"
        " (shown once; the store keeps only its hash):",
        file=sys.stderr,
    )
    print(token)
    return 0


COLUMNS = ("id", "owner", "issued", "expires", "last used", "revoked", "in force")


def tokens_list(system: System, args: argparse.Namespace) -> int:
    """`casework tokens list [NAME]`: one line per token: id, owner, issued, expires, last used
    (to within an hour), revoked, and whether it works now (else why not: revoked, expired,
    its account deactivated); never the token or its full hash."""
    app = system.casework
    try:
        rows = app.list_tokens(getattr(args, "name", None))
        used = last_used(system.store)
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
    table = [COLUMNS] + [
        (
            row["id"],
            row["owner"],
            _seconds(row["issued_at"]) or "-",
            _seconds(row["expires_at"]) or "never",
            used.get(row["id"], "never"),
            _seconds(row["revoked_at"]) or "yes" if row["revoked"] else "no",
            row["in_force"],
        )
        for row in rows
    ]
    print_table(table)
    if not rows:
        print("no tokens", file=sys.stderr)
    return 0


def print_table(table: list) -> None:
    """Rows of text cells in aligned columns (the first row the header)."""
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def _seconds(moment: str | None) -> str | None:
    """An RFC 3339 time to the second (the events keep microseconds)."""
    if not moment:
        return moment
    head, dot, rest = moment.partition(".")
    return f"{head}Z" if dot else moment


def tokens_revoke(system: System, args: argparse.Namespace) -> int:
    """`casework tokens revoke NAME|TOKEN-ID`: every active token of the user NAME, or the one
    token with that id (as `casework tokens list` shows it)."""
    app = system.casework
    meta = make_meta(SYSTEM, "cli")
    target = args.target
    try:
        if app.find_user(target) is not None:
            revoked = app.revoke_user_tokens(target, meta)
            owner = target
        else:
            owner = app.revoke_token_id(target, meta)
            revoked = [target.lower()]
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
    if not revoked:
        print(f"{owner} has no active token; nothing revoked", file=sys.stderr)
    for found in revoked:
        print(f"revoked token {found} of {owner}")
    return 0
