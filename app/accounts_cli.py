"""`casework users add` and `casework tokens issue`: accounts and API tokens from the shell."""

from __future__ import annotations

import argparse
import sys

from adapters.bootstrap import System
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
}


def _fail(error: DomainError) -> int:
    message = _MESSAGES.get(error.code, error.code)
    print(f"casework: {error.field}: {message}", file=sys.stderr)
    return 2


def users_add(system: System, args: argparse.Namespace) -> int:
    """`casework users add NAME --role ROLE [--opd CODE] [--kelurahan NAME...]`"""
    if args.role not in ROLES:
        print(f"casework: role: {_MESSAGES['role.unknown']}", file=sys.stderr)
        return 2
    app = system.casework
    try:
        app.add_user(args.name, args.role, args.opd, args.kelurahan or [], make_meta(SYSTEM, "cli"))
        user = app.get_user(args.name)
    except DomainError as error:
        return _fail(error)
    finally:
        app.close()
    areas = f" kelurahan={','.join(user.kelurahan)}" if user.kelurahan else ""
    opd = f" opd={user.opd}" if user.opd else ""
    print(f"added user {user.name} role={user.role}{opd}{areas}")
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
