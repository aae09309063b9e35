"""Accounts and API tokens. A token is shown once when issued; the store keeps only its
SHA-256 hash, and a lookup aggregate keyed by that hash finds its user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.agreement import AGENCY_CODE
from domain.errors import Conflict, DomainError
from domain.regions import KECAMATAN, find_kelurahan

ROLES = ("caseworker", "supervisor", "auditor", "program_manager", "agency", "admin")

ERROR_CODES = (
    "user.name_invalid",
    "user.exists",
    "user.not_found",
    "user.inactive",
    "role.unknown",
    "kelurahan.required",
    "kelurahan.unknown",
    "opd.required",
    "opd.invalid",
    "kelurahan.not_caseworker",
    "user.agency_fixed",
    "agency.required",
    "token.not_found",
    "token.revoked",
    "token.expired",
    "token.days_invalid",
)

TOKEN_DAYS = 90  # a token's lifetime unless `casework tokens issue --days N` says otherwise
MAX_TOKEN_DAYS = 730
TOKEN_ID_LENGTH = 12  # hex digits of the token's hash shown as its id (never the full hash)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
# An OPD code as programs are defined with (DefineProgram's `opd`, app/schemas.py), upper-cased
_OPD = re.compile(r"[A-Z0-9_. -]{1,50}")
_NAMESPACE = uuid.UUID("3e7a9c51-0b4d-4f2e-8a6c-9d1e2f3a4b5c")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id(digest: str) -> str:
    """A token's public id: the start of its hash, enough to name it, never enough to use it."""
    return digest[:TOKEN_ID_LENGTH]


def check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise DomainError("days", "token.days_invalid")
    return days


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DomainError("name", "user.name_invalid")
    return name


def canonical_kelurahan(name: str) -> str:
    """The kelurahan's official name, from any spelling or code Kota Jambi's sources use."""
    for kecamatan in KECAMATAN:
        found = find_kelurahan(kecamatan.code, name)
        if found is not None:
            return found.name
    raise DomainError("kelurahan", "kelurahan.unknown")


def check_account(role: str, opd: str | None, kelurahan: list[str]) -> None:
    if role not in ROLES:
        raise DomainError("role", "role.unknown")
    if role == "caseworker" and not kelurahan:
        raise DomainError("kelurahan", "kelurahan.required")
    if role != "caseworker" and kelurahan:
        # only a case worker is held to kelurahan: any other role would read the whole city
        # while its account seemed limited to them
        raise DomainError("kelurahan", "kelurahan.not_caseworker")
    if role == "program_manager" and not opd:
        raise DomainError("opd", "opd.required")
    if role != "agency" and opd is not None and not _OPD.fullmatch(opd):
        raise DomainError("opd", "opd.invalid")
    if role == "agency" and not (opd and AGENCY_CODE.fullmatch(opd)):
        # an agency account's OPD is its agency code (its agreement's, `domain.agreement`)
        raise DomainError("agency", "agency.required")


class User(Aggregate):
    """A person who signs in or calls the API, with the role and area they may act in."""

    @staticmethod
    def create_id(name: str) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, f"user:{name}")

    @event("UserAdded")
    def __init__(
        self,
        name: str,
        role: str,
        opd: str | None,
        kelurahan: list[str],
        meta: dict[str, Any],
    ) -> None:
        self.name = name
        self.role = role
        self.opd = opd
        self.kelurahan = list(kelurahan)
        self.active = True
        # token hash -> "active" | "revoked"
        self.tokens: dict[str, str] = {}
        # token hash -> {"id", "issued_at", "expires_at", "revoked_at"} (RFC 3339 texts;
        # expires_at None for tokens issued before expiry existed)
        self.token_details: dict[str, dict[str, str | None]] = {}
        # Whether a web sign-in password was set. The hash itself is never in an event
        # (adapters/credentials.py keeps it outside the store's events and the topic).
        self.has_password = False

    def check_active(self) -> None:
        if not self.active:
            raise DomainError("name", "user.inactive")

    @event("TokenIssued")
    def token_issued(
        self, token_hash: str, meta: dict[str, Any], expires_at: str | None = None
    ) -> None:
        self.tokens[token_hash] = "active"
        self.token_details[token_hash] = {
            "id": token_id(token_hash),
            "issued_at": (meta or {}).get("occurred_at"),
            "expires_at": expires_at,
            "revoked_at": None,
        }

    def revoke_token(self, token_hash: str, meta: dict[str, Any]) -> None:
        status = self.tokens.get(token_hash)
        if status is None:
            raise DomainError("token", "token.not_found")
        if status == "revoked":
            raise Conflict("token", "token.revoked")
        self._token_revoked(token_hash, meta)

    @event("TokenRevoked")
    def _token_revoked(self, token_hash: str, meta: dict[str, Any]) -> None:
        self.tokens[token_hash] = "revoked"
        if token_hash in self.token_details:
            self.token_details[token_hash]["revoked_at"] = (meta or {}).get("occurred_at")

    def hash_of_token_id(self, wanted: str) -> str | None:
        """The hash of this user's token with that id (None when the user has none)."""
        for digest in self.tokens:
            if token_id(digest) == wanted.lower():
                return digest
        return None

    @event("PasswordSet")
    def password_set(self, meta: dict[str, Any]) -> None:
        """A password for the web sign-in was set or changed (by `meta`'s actor)."""
        self.has_password = True

    def deactivate(self, meta: dict[str, Any]) -> None:
        if self.active:
            self._deactivated(meta)

    @event("UserDeactivated")
    def _deactivated(self, meta: dict[str, Any]) -> None:
        self.active = False

    def reactivate(self, meta: dict[str, Any]) -> None:
        """Undo a deactivation: the account signs in again with its password, and its tokens
        neither revoked nor expired work again."""
        if not self.active:
            self._reactivated(meta)

    def change(
        self, role: str, opd: str | None, kelurahan: list[str], meta: dict[str, Any]
    ) -> bool:
        """A new role, OPD or kelurahan (checked as an account added with them; an agency
        account stays one and keeps its agency code); False when nothing differs."""
        if "agency" in (role, self.role) and (role, opd) != (self.role, self.opd):
            raise DomainError("role", "user.agency_fixed")
        check_account(role, opd, kelurahan)
        if (role, opd, list(kelurahan)) == (self.role, self.opd, self.kelurahan):
            return False
        self._changed(role, opd, list(kelurahan), meta)
        return True

    @event("UserChanged")
    def _changed(
        self, role: str, opd: str | None, kelurahan: list[str], meta: dict[str, Any]
    ) -> None:
        self.role, self.opd, self.kelurahan = role, opd, list(kelurahan)

    @event("UserReactivated")
    def _reactivated(self, meta: dict[str, Any]) -> None:
        self.active = True

    def token_valid(self, token_hash: str) -> bool:
        return self.active and self.tokens.get(token_hash) == "active"

    def token_expired(self, token_hash: str, now: str) -> bool:
        """Whether the token's expiry (RFC 3339, UTC) is at or before `now` (same format)."""
        expires = self.token_details.get(token_hash, {}).get("expires_at")
        return expires is not None and _instant(expires) <= _instant(now)


def _instant(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))


class TokenIndex(Aggregate):
    """Finds the user of a token from its hash."""

    @staticmethod
    def create_id(token_hash: str) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, f"token:{token_hash}")

    @event("TokenClaimed")
    def __init__(self, token_hash: str, user_name: str, meta: dict[str, Any]) -> None:
        self.user_name = user_name
