"""Passwords for the web sign-in: argon2id hashes (argon2-cffi) in the store database.

The hash lives in `casework_credentials` (migration 0002), never in event data: the relay
publishes every stored event on `casework.events.v1`, and no subscriber may get a password
hash. The account's history records only *that* a password was set (`PasswordSet`, by whom
and when). The clear password is never stored, logged or published.
"""

from __future__ import annotations

import datetime as dt

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from adapters.db import Database

MIN_LENGTH = 10
MAX_LENGTH = 256



class _Hashing:
    """The hasher of new passwords (argon2id with the library's current RFC 9106 defaults
    unless `use_parameters` said otherwise) and a hash of its parameters that is verified when
    the account has no password, so that an unknown name costs as much as a known one."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.dummy = hasher.hash("casework: no password here")


_HASHING = _Hashing(PasswordHasher())


def use_parameters(parameters: Parameters) -> None:
    """Hash new passwords with these argon2 parameters from now on (in this process). A stored
    hash keeps its own parameters: it still verifies, and is rehashed with these at its next
    sign-in. The test suite uses argon2-cffi's `profiles.CHEAPEST`, which the library provides
    for tests, so that its thousands of throwaway accounts do not each cost a production
    hash; nothing else calls this."""
    global _HASHING
    _HASHING = _Hashing(PasswordHasher.from_parameters(parameters))


class PasswordRejected(ValueError):
    """The new password is refused (code: password.too_short|too_long|has_name|common)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# Context-specific words a guesser tries first here (NIST SP 800-63B: refuse commonly used and
# context-specific passwords), given to zxcvbn beside the account's name; zxcvbn itself knows
# common passwords, names, keyboard runs, repeats, dates and sequences.
CONTEXT_WORDS = (
    "katasandi",
    "sandi",
    "rahasia",
    "bismillah",
    "indonesia",
    "merdeka",
    "casework",
    "jambi",
    "kotajambi",
    "dinsos",
    "bappeda",
    "baznas",
)
MIN_SCORE = 3  # zxcvbn's 0-4: 3 is "safely unguessable" (about 10^8 guesses and more)


def check_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise PasswordRejected("password.too_short")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected("password.too_long")
    return password


def check_new_password(password: str, user_name: str) -> str:
    """A password an administrator gives an account, or PasswordRejected: too short or too
    long, the account's name in it, or easy to guess by zxcvbn's estimate (score below
    MIN_SCORE: a common word with digits around it, a keyboard run, a repeat, a date; digits
    only, such as a phone number). Only new passwords: one set before these rules still signs
    in and is rehashed."""
    check_password(password)
    if len(user_name) >= 4 and user_name.casefold() in password.casefold():
        raise PasswordRejected("password.has_name")
    estimate = zxcvbn(password[:100], user_inputs=[user_name, *CONTEXT_WORDS])
    if estimate["score"] < MIN_SCORE:
        raise PasswordRejected("password.common")
    return password


def set_password(store: Database, user_name: str, password: str) -> None:
    """Hash and keep this account's password, replacing any earlier one."""
    digest = _HASHING.hasher.hash(check_password(password))
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with store.transaction() as cursor:
        cursor.execute(
            "INSERT INTO casework_credentials (user_name, password_hash, updated_at)"
            " VALUES (?, ?, ?) ON CONFLICT (user_name) DO UPDATE"
            " SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
            (user_name, digest, now),
        )


def end_sessions(store: Database, user_name: str, at: float) -> None:
    """Every web session of this account signed in before `at` (seconds) ends: sign-out
    ends the account's sessions everywhere, even a copied cookie."""
    with store.transaction() as cursor:
        cursor.execute(
            "UPDATE casework_credentials SET sessions_after = ? WHERE user_name = ?",
            (at, user_name),
        )


def sessions_after(store: Database, user_name: str) -> float:
    """The moment before which this account's web sessions are no longer valid."""
    row = store.query_one(
        "SELECT sessions_after FROM casework_credentials WHERE user_name = ?", (user_name,)
    )
    return float(row[0]) if row else 0.0


def has_password(store: Database, user_name: str) -> bool:
    return _stored_hash(store, user_name) is not None


def verify_password(store: Database, user_name: str, password: str) -> bool:
    """Whether this is the account's password; rehashes it when the parameters changed."""
    stored = _stored_hash(store, user_name)
    hashing = _HASHING
    if len(password) > MAX_LENGTH:
        return False
    try:
        hashing.hasher.verify(stored or hashing.dummy, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if stored is None:
        return False
    if hashing.hasher.check_needs_rehash(stored):
        set_password(store, user_name, password)
    return True


def _stored_hash(store: Database, user_name: str) -> str | None:
    row = store.query_one(
        "SELECT password_hash FROM casework_credentials WHERE user_name = ?", (user_name,)
    )
    return row[0] if row else None
