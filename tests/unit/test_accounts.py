"""Accounts and API tokens: the store keeps only a token's hash (no I/O)."""

import argparse

import pytest

from adapters.bootstrap import bootstrap
from app import accounts_cli
from domain.application import SYSTEM, Actor, make_meta
from domain.errors import Conflict, DomainError, NotFound
from tests.support.apps import memory_casework


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


def meta():
    return make_meta(SYSTEM, "cli")


def test_a_user_holds_a_role_and_an_area(app):
    app.add_user("rina", "caseworker", None, ["telanaipura", "Sijinjang"], meta())
    user = app.get_user("rina")
    assert (user.role, user.opd, user.kelurahan, user.active) == (
        "caseworker",
        None,
        ["Telanaipura", "Sijenjang"],
        True,
    )


def test_an_issued_token_identifies_its_user(app):
    app.add_user("pm-dinsos", "program_manager", "dinsos", [], meta())
    token = app.issue_token("pm-dinsos", meta())
    assert len(token) >= 40
    assert app.actor_for_token(token) == Actor(id="pm-dinsos", role="program_manager", opd="DINSOS")


def test_an_unknown_token_identifies_nobody(app):
    app.add_user("yusuf", "supervisor", None, [], meta())
    app.issue_token("yusuf", meta())
    assert app.actor_for_token("not-a-token") is None
    assert app.actor_for_token("") is None


def test_a_revoked_token_no_longer_works_and_others_still_do(app):
    app.add_user("yusuf", "supervisor", None, [], meta())
    old = app.issue_token("yusuf", meta())
    new = app.issue_token("yusuf", meta())
    app.revoke_token(old, meta())
    assert app.actor_for_token(old) is None
    assert app.actor_for_token(new).id == "yusuf"
    with pytest.raises(Conflict) as again:
        app.revoke_token(old, meta())
    assert again.value.code == "token.revoked"


def test_a_deactivated_user_loses_access(app):
    app.add_user("yusuf", "supervisor", None, [], meta())
    token = app.issue_token("yusuf", meta())
    app.deactivate_user("yusuf", meta())
    assert app.actor_for_token(token) is None
    with pytest.raises(DomainError) as inactive:
        app.issue_token("yusuf", meta())
    assert inactive.value.code == "user.inactive"


def test_the_store_never_holds_a_raw_token(app):
    app.add_user("yusuf", "supervisor", None, [], meta())
    tokens = [app.issue_token("yusuf", meta()) for _ in range(3)]
    app.revoke_token(tokens[0], meta())
    states = [n.state for n in app.recorder.select_notifications(1, 1000)]
    assert len(states) >= 7
    for token in tokens:
        assert not any(token.encode() in state for state in states)


@pytest.mark.parametrize(
    ("name", "role", "opd", "kelurahan", "field", "code"),
    [
        ("andi", "janitor", None, [], "role", "role.unknown"),
        ("andi", "caseworker", None, [], "kelurahan", "kelurahan.required"),
        ("andi", "caseworker", None, ["Atlantis"], "kelurahan", "kelurahan.unknown"),
        ("andi", "program_manager", None, [], "opd", "opd.required"),
        ("a b", "admin", None, [], "name", "user.name_invalid"),
    ],
)
def test_an_invalid_account_is_refused(app, name, role, opd, kelurahan, field, code):
    with pytest.raises(DomainError) as invalid:
        app.add_user(name, role, opd, kelurahan, meta())
    assert (invalid.value.field, invalid.value.code) == (field, code)


def test_a_user_name_is_taken_once(app):
    app.add_user("yusuf", "supervisor", None, [], meta())
    with pytest.raises(Conflict) as taken:
        app.add_user("yusuf", "auditor", None, [], meta())
    assert taken.value.code == "user.exists"


def test_a_token_for_an_unknown_user_is_refused(app):
    with pytest.raises(NotFound) as missing:
        app.issue_token("ghost", meta())
    assert missing.value.code == "user.not_found"


class _Settings:
    store = "the store's url"
    master_key = bytes(range(32))


@pytest.fixture
def system(app):
    """The CLI's parts with the in-memory application handed to the composition root."""

    class _Unclosed:
        def __getattr__(self, name):
            return getattr(app, name)

        def close(self):
            pass

    return bootstrap(_Settings(), casework=_Unclosed())


def test_the_cli_adds_a_user_and_prints_a_token_on_the_last_line(app, system, capsys):
    args = argparse.Namespace(name="rina", role="caseworker", opd=None, kelurahan=["Telanaipura"])
    assert accounts_cli.users_add(system, args) == 0
    assert accounts_cli.tokens_issue(system, argparse.Namespace(name="rina")) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert app.actor_for_token(token).id == "rina"


@pytest.mark.parametrize(
    ("call", "args", "words"),
    [
        (
            "users_add",
            {"name": "x1", "role": "janitor", "opd": None, "kelurahan": []},
            "unknown role",
        ),
        (
            "users_add",
            {"name": "x1", "role": "caseworker", "opd": None, "kelurahan": []},
            "--kelurahan",
        ),
        ("tokens_issue", {"name": "ghost"}, "no such user"),
    ],
)
def test_the_cli_explains_a_mistake_without_a_traceback(system, capsys, call, args, words):
    assert getattr(accounts_cli, call)(system, argparse.Namespace(**args)) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
