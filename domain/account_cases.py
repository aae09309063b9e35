"""Accounts and API tokens: add a user, issue and revoke tokens, find who holds a token."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from domain.accounts import (
    TOKEN_DAYS,
    TokenIndex,
    User,
    canonical_kelurahan,
    check_account,
    check_days,
    check_name,
    token_hash,
    token_id,
)
from domain.errors import Conflict, NotFound
from domain.use_case import Actor, Stored, UseCases


class AccountCases(UseCases):
    def add_user(
        self,
        name: str,
        role: str,
        opd: str | None,
        kelurahan: list[str] | None,
        meta: dict[str, Any],
    ) -> Stored:
        # User names are told apart without regard to case: a new one is kept in lowercase
        # (Siti.CW is siti.cw), and every lookup finds it however it is typed (_find_user).
        name = check_name(name).lower()
        opd = (opd or "").strip().upper() or None
        areas = list(dict.fromkeys(canonical_kelurahan(k) for k in kelurahan or []))
        check_account(role, opd, areas)
        if self._find_user(name) is not None:
            raise Conflict("name", "user.exists")
        user = User(name=name, role=role, opd=opd, kelurahan=areas, meta=meta)
        try:
            return self._save(user, [])
        except Conflict:
            raise Conflict("name", "user.exists") from None

    def issue_token(
        self,
        name: str,
        meta: dict[str, Any],
        days: int = TOKEN_DAYS,
        now: dt.datetime | None = None,
    ) -> str:
        """A new API token for the user, valid `days` days from `now` and shown only now: the
        store keeps its hash."""
        check_days(days)
        user = self.get_user(name)
        user.check_active()
        token = secrets.token_urlsafe(32)
        digest = token_hash(token)
        expires_at = _rfc3339((now or _now()) + dt.timedelta(days=days))
        user.token_issued(digest, meta, expires_at=expires_at)
        self._save(user, [TokenIndex(token_hash=digest, user_name=user.name, meta=meta)])
        return token

    def revoke_token(self, token: str, meta: dict[str, Any]) -> Stored:
        digest = token_hash(token)
        user = self._user_of_hash(digest)
        if user is None:
            raise NotFound("token", "token.not_found")
        user.revoke_token(digest, meta)
        return self._save(user, [])

    def revoke_token_id(self, wanted: str, meta: dict[str, Any]) -> str:
        """Revoke the token with this id (as `tokens list` shows it); the holder's name."""
        for user in self._users():
            digest = user.hash_of_token_id(wanted)
            if digest is not None:
                user.revoke_token(digest, meta)
                self._save(user, [])
                return user.name
        raise NotFound("token", "token.not_found")

    def revoke_user_tokens(self, name: str, meta: dict[str, Any]) -> list[str]:
        """Revoke every active token of the user; the ids revoked (none: already all revoked)."""
        user = self.get_user(name)
        revoked = []
        for digest, status in list(user.tokens.items()):
            if status == "active":
                user.revoke_token(digest, meta)
                revoked.append(token_id(digest))
        if revoked:
            self._save(user, [])
        return revoked

    def list_tokens(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every token (of one user, or of all): id, owner, issued, expires, revoked, in force
        now or why not; never the token or its full hash. Oldest first per user, users by
        name."""
        users = [self.get_user(name)] if name is not None else self._users()
        now = _rfc3339(_now())
        rows = []
        for user in sorted(users, key=lambda u: u.name):
            details = getattr(user, "token_details", {})
            for digest, status in user.tokens.items():
                found = details.get(digest, {})
                rows.append(
                    {
                        "id": token_id(digest),
                        "owner": user.name,
                        "issued_at": found.get("issued_at"),
                        "expires_at": found.get("expires_at"),
                        "revoked": status == "revoked",
                        "revoked_at": found.get("revoked_at"),
                        # what an API call with it meets now: in force, or why not
                        "in_force": "yes"
                        if user.token_valid(digest) and not user.token_expired(digest, now)
                        else "no (revoked)"
                        if status == "revoked"
                        else "no (account deactivated)"
                        if not user.active
                        else "no (expired)",
                    }
                )
        return rows

    def user_names(self) -> list[str]:
        """Every user's name, from the store's UserAdded events (a short scan, for the CLI)."""
        topic = get_topic(User.UserAdded)  # type: ignore[attr-defined]
        names, start = [], 1
        while True:
            found = self.recorder.select_notifications(start, 500, topics=[topic])
            for notification in found:
                event = self.mapper.to_domain_event(notification)
                names.append(event.name)  # type: ignore[attr-defined]
            if len(found) < 500:
                return sorted(set(names))
            start = found[-1].id + 1

    def _users(self) -> list[User]:
        return [u for u in (self._find_user(n) for n in self.user_names()) if u is not None]

    def record_password_set(self, name: str, meta: dict[str, Any]) -> Stored:
        """Record that the user's web password was set (the hash is kept by the caller, outside
        the events)."""
        user = self.get_user(name)
        user.check_active()
        user.password_set(meta)
        return self._save(user, [])

    def deactivate_user(self, name: str, meta: dict[str, Any]) -> Stored:
        user = self.get_user(name)
        user.deactivate(meta)
        return self._save(user, [])

    def change_user(
        self,
        name: str,
        meta: dict[str, Any],
        role: str | None = None,
        opd: str | None = None,
        kelurahan: list[str] | None = None,
    ) -> bool:
        """Another role, OPD or kelurahan for an account (each left out keeps its value; a
        role other than caseworker drops the kelurahan, which only bind a case worker). It
        counts from the account's next page or API call; False when nothing differs."""
        user = self.get_user(name)
        new_role = role or user.role
        new_opd = user.opd if opd is None else (opd.strip().upper() or None)
        if kelurahan is not None:
            areas = list(dict.fromkeys(canonical_kelurahan(k) for k in kelurahan))
        else:
            areas = list(user.kelurahan) if new_role == "caseworker" else []
        if not user.change(new_role, new_opd, areas, meta):
            return False
        self._save(user, [])
        return True

    def reactivate_user(self, name: str, meta: dict[str, Any]) -> Stored:
        user = self.get_user(name)
        user.reactivate(meta)
        return self._save(user, [])

    def list_users(self) -> list[User]:
        """Every account, by name."""
        return sorted(self._users(), key=lambda user: user.name)

    def actor_for_token(self, token: str, now: dt.datetime | None = None) -> Actor | None:
        """Who holds this token, or None when it is unknown, revoked, expired or its user
        inactive."""
        return self.token_holder(token, now)[0]

    def token_holder(
        self, token: str, now: dt.datetime | None = None
    ) -> tuple[Actor | None, str | None]:
        """(who holds this token, None), or (None, why not): `token.invalid` for a token that
        is unknown, revoked or of an inactive user, `token.expired` for one past its expiry."""
        if not token:
            return None, "token.invalid"
        digest = token_hash(token)
        user = self._user_of_hash(digest)
        if user is None or not user.token_valid(digest):
            return None, "token.invalid"
        if user.token_expired(digest, _rfc3339(now or _now())):
            return None, "token.expired"
        return Actor(id=user.name, role=user.role, opd=user.opd), None

    def get_user(self, name: str) -> User:
        user = self._find_user(name)
        if user is None:
            raise NotFound("name", "user.not_found")
        return user

    def find_user(self, name: str) -> User | None:
        """The user of that name, or None."""
        return self._find_user(name)

    def _find_user(self, name: str) -> User | None:
        """The user of this name as written, else of its lowercase (how names are kept since
        they are case-insensitive; an older account keeps the case it was added with)."""
        for candidate in dict.fromkeys((name, name.lower())):
            try:
                return self.repository.get(User.create_id(candidate))
            except AggregateNotFoundError:
                continue
        return None

    def _user_of_hash(self, digest: str) -> User | None:
        try:
            index = self.repository.get(TokenIndex.create_id(digest))
        except AggregateNotFoundError:
            return None
        return self._find_user(index.user_name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
