"""Accounts and API tokens: add a user, issue and revoke tokens, find who holds a token."""

from __future__ import annotations

import secrets
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from domain.accounts import (
    TokenIndex,
    User,
    canonical_kelurahan,
    check_account,
    check_name,
    token_hash,
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
        check_name(name)
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

    def issue_token(self, name: str, meta: dict[str, Any]) -> str:
        """A new API token for the user, shown only now: the store keeps its hash."""
        user = self.get_user(name)
        user.check_active()
        token = secrets.token_urlsafe(32)
        digest = token_hash(token)
        user.token_issued(digest, meta)
        self._save(user, [TokenIndex(token_hash=digest, user_name=user.name, meta=meta)])
        return token

    def revoke_token(self, token: str, meta: dict[str, Any]) -> Stored:
        digest = token_hash(token)
        user = self._user_of_hash(digest)
        if user is None:
            raise NotFound("token", "token.not_found")
        user.revoke_token(digest, meta)
        return self._save(user, [])

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

    def actor_for_token(self, token: str) -> Actor | None:
        """Who holds this token, or None when it is unknown, revoked or its user inactive."""
        if not token:
            return None
        digest = token_hash(token)
        user = self._user_of_hash(digest)
        if user is None or not user.token_valid(digest):
            return None
        return Actor(id=user.name, role=user.role, opd=user.opd)

    def get_user(self, name: str) -> User:
        user = self._find_user(name)
        if user is None:
            raise NotFound("name", "user.not_found")
        return user

    def _find_user(self, name: str) -> User | None:
        try:
            return self.repository.get(User.create_id(name))
        except AggregateNotFoundError:
            return None

    def _user_of_hash(self, digest: str) -> User | None:
        try:
            index = self.repository.get(TokenIndex.create_id(digest))
        except AggregateNotFoundError:
            return None
        return self._find_user(index.user_name)
