"""API tokens over their life, on SQLite and PostgreSQL: an expired or revoked token answers 401
saying what to do; wrong tokens are refused with 429 once too many came from one address or
with one prefix; the last use is recorded; the CLI lists and revokes."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

import pytest

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from adapters.token_use import TokenUse, last_used
from app import accounts_cli
from app.failure_throttle import LIMIT
from domain.accounts import token_hash
from domain.application import SYSTEM, make_meta
from tests.conftest import TEST_MASTER_KEY
from tests.integration.conftest import add_users, bearer
from tests.support.events import TEST_SIGNING_KEY

pytestmark = pytest.mark.integration

HOUSEHOLDS = "/api/v1/households"


def meta():
    return make_meta(SYSTEM, "cli")


def test_an_expired_token_answers_401_saying_what_to_do(web):
    casework = web.extensions["casework"].casework
    casework.add_user("rina", "caseworker", None, ["Telanaipura"], meta())
    old = casework.issue_token("rina", meta(), now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    client = web.test_client()
    response = client.get(HOUSEHOLDS, headers={**bearer(old), "Accept-Language": "en"})
    assert response.status_code == 401
    assert response.json["codes"] == {"authorization": ["auth.token_expired"]}
    [text] = response.json["errors"]["authorization"]
    assert "expired" in text and "casework tokens issue" in text and "rina" not in text
    indonesian = client.get(HOUSEHOLDS, headers=bearer(old)).json["errors"]["authorization"][0]
    assert "kedaluwarsa" in indonesian


def test_a_token_revoked_from_the_cli_answers_401(web):
    tokens = add_users(web, ["admin", "auditor"])
    client = web.test_client()
    assert client.get(HOUSEHOLDS, headers=bearer(tokens["auditor"])).status_code == 200
    system = web.extensions["casework"]
    ident = token_hash(tokens["auditor"])[:12]
    assert accounts_cli.tokens_revoke(_cli(system), argparse.Namespace(target=ident)) == 0
    response = client.get(HOUSEHOLDS, headers=bearer(tokens["auditor"]))
    assert response.status_code == 401
    assert response.json["codes"] == {"authorization": ["auth.token_invalid"]}
    assert client.get(HOUSEHOLDS, headers=bearer(tokens["admin"])).status_code == 200


def test_wrong_tokens_from_one_address_are_refused_with_429(web, caplog):
    tokens = add_users(web, ["admin"])
    client = web.test_client()
    caplog.set_level(logging.INFO, logger="casework.auth")
    wrong = [f"guess-{n:04d}-{'x' * 30}" for n in range(LIMIT + 5)]
    statuses = [
        client.get(HOUSEHOLDS, headers=bearer(token), environ_base={"REMOTE_ADDR": "10.9.9.9"})
        for token in wrong
    ]
    assert [r.status_code for r in statuses[:LIMIT]] == [401] * LIMIT
    refused = statuses[LIMIT:]
    assert {r.status_code for r in refused} == {429}
    assert all(int(r.headers["Retry-After"]) > 0 for r in refused)
    assert refused[0].json["codes"] == {"authorization": ["auth.too_many_failures"]}
    # the right token still works from that address (others behind the same NAT), and
    # elsewhere
    shared = client.get(
        HOUSEHOLDS, headers=bearer(tokens["admin"]), environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert shared.status_code == 200
    again = client.get(
        HOUSEHOLDS, headers=bearer(wrong[0]), environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert again.status_code == 429  # and wrong ones are still refused
    elsewhere = client.get(
        HOUSEHOLDS, headers=bearer(tokens["admin"]), environ_base={"REMOTE_ADDR": "10.1.1.1"}
    )
    assert elsewhere.status_code == 200
    logged = [r.getMessage() for r in caplog.records if r.name == "casework.auth"]
    assert any("too many wrong tokens from 10.9.9.9" in line for line in logged)
    assert any("bearer refused from 10.9.9.9" in line for line in logged)
    for token in wrong:
        assert not any(token[:12] in line for line in logged)


def test_wrong_tokens_with_one_prefix_are_refused_from_any_address(web):
    client = web.test_client()
    answers = [
        client.get(
            HOUSEHOLDS,
            headers=bearer(f"samePrefix-{n}"),
            environ_base={"REMOTE_ADDR": f"10.2.{n}.1"},
        ).status_code
        for n in range(LIMIT + 1)
    ]
    assert answers == [401] * LIMIT + [429]


def test_the_last_use_is_recorded_and_listed_never_the_token(web, capsys):
    tokens = add_users(web, ["admin", "auditor"])
    client = web.test_client()
    assert client.get(HOUSEHOLDS, headers=bearer(tokens["auditor"])).status_code == 200
    assert client.get(HOUSEHOLDS, headers=bearer(tokens["auditor"])).status_code == 200
    system = _cli(web.extensions["casework"])
    assert accounts_cli.tokens_list(system, argparse.Namespace(name=None)) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line.split() for line in out.splitlines()[1:]}
    assert out.splitlines()[0].split()[:3] == ["id", "owner", "issued"]
    auditor, admin = lines["auditor"], lines["admin"]
    assert auditor[0] == token_hash(tokens["auditor"])[:12]
    assert auditor[4] != "never" and auditor[5] == "no"  # last used; not revoked
    assert admin[4] == "never"
    for token in tokens.values():
        assert token not in out and token_hash(token) not in out
    # one user's tokens only (each CLI call is a process of its own)
    system = _cli(web.extensions["casework"])
    assert accounts_cli.tokens_list(system, argparse.Namespace(name="admin")) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]] == ["admin"]


def _cli(services):
    """The CLI's composition root on the web's databases."""
    settings = services.settings
    return bootstrap(
        Settings.from_env(
            {
                "CASEWORK_STORE": settings.store.url,
                "CASEWORK_VIEWS": settings.views.url,
                "CASEWORK_SECRET_KEY": "test-secret",
                "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
                "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
            }
        )
    )


def test_the_last_use_is_written_at_most_once_an_hour(web):
    store = web.extensions["casework"].store
    uses = TokenUse(store)
    assert uses.record("0123456789ab", dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC))
    assert not uses.record("0123456789ab", dt.datetime(2026, 1, 1, 8, 30, tzinfo=dt.UTC))
    assert last_used(store)["0123456789ab"] == "2026-01-01T08:00:00Z"
    assert TokenUse(store).record("0123456789ab", dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC))
    assert last_used(store)["0123456789ab"] == "2026-01-01T09:00:00Z"  # another process


def test_each_request_is_its_own_callers_found_once(web, monkeypatch):
    """A request looks its token up once (the read policy and the endpoint share the answer),
    and never answers as another request's caller, even inside one application context."""
    tokens = add_users(web, ["cw_sipin", "auditor"])
    casework = web.extensions["casework"].casework
    looked_up = []
    original = casework.token_holder

    def spy(token):
        looked_up.append(token)
        return original(token)

    monkeypatch.setattr(casework, "token_holder", spy)
    client = web.test_client()
    with web.app_context():  # flask.g lives as long as this: the caller must not
        own = client.get(
            HOUSEHOLDS,
            query_string={"kelurahan": "Simpang IV Sipin"},
            headers=bearer(tokens["cw_sipin"]),
        )
        audit = client.get("/api/v1/audit", headers=bearer(tokens["auditor"]))
        refused = client.get("/api/v1/audit", headers=bearer(tokens["cw_sipin"]))
    assert (own.status_code, audit.status_code, refused.status_code) == (200, 200, 403)
    assert looked_up == [tokens["cw_sipin"], tokens["auditor"], tokens["cw_sipin"]]
