"""`casework users add|password` and `casework tokens issue`: accounts, web passwords and API
tokens from the shell. A password is read from stdin (`--password-stdin`, one line) or asked
twice without echo (`--password`); only its argon2id hash is kept (adapters/credentials.py)."""

from __future__ import annotations

import argparse
import getpass
import sys

from adapters.bootstrap import System
from adapters.credentials import (
    MAX_LENGTH,
    MIN_LENGTH,
    PasswordRejected,
    check_password,
    set_password,
)
from domain.accounts import ROLES
from domain.application import SYSTEM, make_meta
from domain.errors import DomainError

_MESSAGES = {
    "user.name_invalid": "a user name is 2-64 letters, digits or . _ @ - (starting with a letter "
    "or digit)",
    "user.exists": "a user with that name already exists",
    "user.not_found": "no such user; add it first with `casework users add NAME --role ROLE`",
    "user.inactive": "that user is deactivated; no token can be issued",
    "role.unknown": f"unknown role; use one of: {', '.join(ROLES)}",
    "kelurahan.required": "a caseworker needs at least one --kelurahan NAME",
    "kelurahan.unknown": "unknown kelurahan of Kota Jambi; use its name or code, e.g. Telanaipura",
    "opd.required": "a program_manager needs --opd CODE (e.g. DINSOS)",
    "password.too_short": f"a password needs at least {MIN_LENGTH} characters",
    "password.too_long": f"a password has at most {MAX_LENGTH} characters",
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
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise PasswordRejected("password.mismatch")
        return first
    return None


def _password_failed(error: PasswordRejected) -> int:
    print(f"casework: password: {_MESSAGES[error.code]}", file=sys.stderr)
    return 2


def _set_password(system: System, name: str, password: str) -> None:
    """Keep the hash (outside the events) and record that it was set."""
    set_password(system.store, name, password)
    system.casework.record_password_set(name, make_meta(SYSTEM, "cli"))


def _fail(error: DomainError) -> int:
    message = _MESSAGES.get(error.code, error.code)
    print(f"casework: {error.field}: {message}", file=sys.stderr)
    return 2


def users_add(system: System, args: argparse.Namespace) -> int:
    """`casework users add NAME --role ROLE [--opd CODE] [--kelurahan NAME...]`"""
    if args.role not in ROLES:
        print(f"casework: role: {_MESSAGES['role.unknown']}", file=sys.stderr)
        return 2
    try:
        password = read_password(args)
        if password is not None:
            check_password(password)
    except PasswordRejected as error:
        return _password_failed(error)
    app = system.casework
    try:
        app.add_user(args.name, args.role, args.opd, args.kelurahan or [], make_meta(SYSTEM, "cli"))
        if password is not None:
            _set_password(system, args.name, password)
        user = app.get_user(args.name)
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
        if password is not None:
            system.close()
    areas = f" kelurahan={','.join(user.kelurahan)}" if user.kelurahan else ""
    opd = f" opd={user.opd}" if user.opd else ""
    signs_in = " (signs in to the web)" if password is not None else ""
    print(f"added user {user.name} role={user.role}{opd}{areas}{signs_in}")
    return 0


def users_password(system: System, args: argparse.Namespace) -> int:
    """`casework users password NAME --password-stdin|--password`"""
    try:
        password = check_password(read_password(args) or "")
    except PasswordRejected as error:
        return _password_failed(error)
    try:
        system.casework.get_user(args.name).check_active()
        _set_password(system, args.name, password)
    except DomainError as error:
        return _fail(error)
    finally:
        system.close()
    print(f"password set for {args.name}")
    return 0


def tokens_issue(system: System, args: argparse.Namespace) -> int:
    """`casework tokens issue NAME`: the token alone on the last line, shown only this once."""
    app = system.casework
    try:
        token = app.issue_token(args.name, make_meta(SYSTEM, "cli"))
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
    print(
        f"API token for {args.name} (shown once; the store keeps only its hash):", file=sys.stderr
    )
    print(token)
    return 0
