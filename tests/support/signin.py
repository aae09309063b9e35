"""Signed-in web clients for the tests: every page but the login page needs a signed-in person
(app/login.py).

`use_signed_in_clients(app, accounts)` makes `app.test_client()` sign in as the administrator
`web-admin` (made on first use) before its first web page; `app.test_client(user="sup1")`
signs in as another account of `accounts` (name -> (role, OPD, kelurahan)), made on first use;
`user=None` stays anonymous.
The fixtures keep the password hash without recording `PasswordSet`, so that a test counting
stored events sees only its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request

from flask import Flask
from flask.testing import FlaskClient

from adapters.credentials import has_password, set_password
from domain.application import SYSTEM, make_meta
from domain.errors import NotFound

ADMIN = "web-admin"
PASSWORD = "test-password-0123"  # noqa: S105 - the tests' own accounts
Account = tuple[str, str | None, Sequence[str]]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def ensure_account(app: Flask, name: str, account: Account | None = None) -> None:
    """The account exists and signs in with PASSWORD."""
    services = app.extensions["casework"]
    role, opd, kelurahan = account or app.config["TEST_ACCOUNTS"].get(name, ("admin", None, []))
    try:
        services.casework.get_user(name)
    except NotFound:
        services.casework.add_user(name, role, opd, list(kelurahan), make_meta(SYSTEM, "cli"))
    if not has_password(services.store, name):
        set_password(services.store, name, PASSWORD)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD, next_: str = "") -> Any:
    """Post the login form as a browser does; the answer (303 when signed in)."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"csrf_token": token, "name": name, "password": password, "next": next_}
    )


class SignedInClient(FlaskClient):
    """Signs in before its first web page (or session change): a client that only calls the
    API (bearer tokens) makes no account, so the tests' event counts stay their own."""

    def __init__(self, *args: Any, user: str | None = ADMIN, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self._signed_in = user is None

    def _sign_in_once(self) -> None:
        if self._signed_in:
            return
        self._signed_in = True
        ensure_account(self.application, self.user)
        response = sign_in(self, self.user)
        assert response.status_code == 303, f"{self.user} could not sign in"

    def open(self, *args: Any, **kwargs: Any) -> Any:
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "/")
        if not str(path).startswith(("/api/", "/healthz", "/metrics", "/login")):
            self._sign_in_once()
        return super().open(*args, **kwargs)

    def session_transaction(self, *args: Any, **kwargs: Any) -> Any:
        self._sign_in_once()
        return super().session_transaction(*args, **kwargs)


def use_signed_in_clients(app: Flask, accounts: Mapping[str, Account] | None = None) -> Flask:
    app.config["TEST_ACCOUNTS"] = {ADMIN: ("admin", None, []), **(accounts or {})}
    app.config["LOGIN_FAILURE_DELAY"] = 0  # the throttle's refusals are tested, not its waits
    app.test_client_class = SignedInClient
    return app


def sign_in_over_http(opener: Any, base: str, name: str, password: str = PASSWORD) -> None:
    """Sign in to a running web process with a urllib opener that keeps cookies."""
    with opener.open(f"{base}/login", timeout=15) as answer:
        token = csrf_of(answer.read().decode())
    form = urlencode({"csrf_token": token, "name": name, "password": password}).encode()
    with opener.open(Request(f"{base}/login", data=form, method="POST"), timeout=15) as answer:
        assert "/login" not in answer.url, f"{name} could not sign in"
