"""The Flask app without a broker, accounts for the API tests (users of every role, each with
a bearer token), and the store as the relay reads it (encrypted personal fields)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from adapters.bootstrap import bootstrap, open_store_reader
from adapters.settings import Settings
from app import create_app
from domain.application import SYSTEM, Casework, make_meta
from tests.conftest import TEST_MASTER_KEY
from tests.support.events import TEST_SIGNING_KEY
from tests.support.signin import use_signed_in_clients

# name -> (role, OPD, kelurahan)
USERS = {
    "admin": ("admin", None, []),
    "sup1": ("supervisor", None, []),
    "sup2": ("supervisor", None, []),
    "cw_sipin": ("caseworker", None, ["Simpang IV Sipin"]),
    "cw_pelayangan": ("caseworker", None, ["Tahtul Yaman"]),
    "auditor": ("auditor", None, []),
    "agency": ("agency", "BPJSKES", []),
    "pm_dinsos": ("program_manager", "DINSOS", []),
    "pm_baznas": ("program_manager", "BAZNAS", []),
}


@pytest.fixture
def web(backend) -> Iterator[Flask]:
    """The Flask app on this test's backend, with no broker (the web and the API never talk to
    Kafka). A test that runs the relay or the runner next to it overrides this with an app on
    the processes' settings (see test_erasure).

    Its test clients are signed in to the web as the administrator `web-admin`;
    `web.test_client(user="sup1")` signs in as an account of USERS, `user=None` not at all
    (tests/support/signin.py)."""
    settings = Settings.from_env(
        {
            **backend,
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
            "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
            "CASEWORK_LOOPBACK_ENDPOINTS": "allow",  # the tests' receivers listen on 127.0.0.1
        }
    )
    flask_app = use_signed_in_clients(create_app(bootstrap(settings)), USERS)
    yield flask_app
    flask_app.extensions["casework"].close()


@pytest.fixture
def relay_reader(settings) -> Iterator[Casework]:
    """The store as the relay reads it: personal fields stay tokens, so what
    `tests.support.events.publish_store` publishes through it is what the relay publishes."""
    reader = open_store_reader(settings.store)
    yield reader
    reader.close()


def add_users(web, names) -> dict[str, str]:
    """Add these users through the account use cases; their tokens by name."""
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "cli")
    tokens = {}
    for name in names:
        role, opd, kelurahan = USERS[name]
        casework.add_user(name, role, opd, kelurahan, meta)
        tokens[name] = casework.issue_token(name, meta)
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def authorized_client(web, token: str):
    """A test client that sends this bearer token with every request."""
    client = web.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def tokens(web) -> dict[str, str]:
    """A user of every role (USERS), with their tokens by name."""
    return add_users(web, USERS)


@pytest.fixture
def admin_token(web) -> str:
    """Only the administrator (3 events: the user, its token and the token's index)."""
    return add_users(web, ["admin"])["admin"]
