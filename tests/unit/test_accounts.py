"""Accounts and API tokens: the store keeps only a token's hash (no I/O)."""

import argparse
import datetime as dt
import io

import pytest

from adapters.bootstrap import bootstrap
from adapters.credentials import verify_password
from adapters.settings import DatabaseUrl
from app import accounts_cli
from domain.accounts import TokenIndex, token_hash
from domain.application import SYSTEM, Actor, make_meta
from domain.catalog import seed_catalog
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
        ("bpjs", "agency", None, [], "agency", "agency.required"),
        ("bpjs", "agency", "X", [], "agency", "agency.required"),
        ("a b", "admin", None, [], "name", "user.name_invalid"),
        # only a case worker is held to kelurahan: a supervisor or an auditor given one would
        # read the whole city while the account seemed limited to it
        ("sari", "supervisor", None, ["Telanaipura"], "kelurahan", "kelurahan.not_caseworker"),
        ("ani", "auditor", None, ["Telanaipura"], "kelurahan", "kelurahan.not_caseworker"),
        ("andi", "program_manager", "DINSOS", ["Legok"], "kelurahan", "kelurahan.not_caseworker"),
        ("andi", "program_manager", "dinas sosial!", [], "opd", "opd.invalid"),
        ("andi", "program_manager", "D" * 51, [], "opd", "opd.invalid"),
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


def test_a_user_name_is_taken_once_whatever_its_case(app):
    app.add_user("Siti.CW", "caseworker", None, ["Legok"], meta())
    with pytest.raises(Conflict) as taken:
        app.add_user("siti.cw", "auditor", None, [], meta())
    assert taken.value.code == "user.exists"
    with pytest.raises(Conflict):
        app.add_user("SITI.CW", "auditor", None, [], meta())
    assert app.get_user("sItI.cW").name == "siti.cw"
    assert app.user_names() == ["siti.cw"]


def test_a_token_for_an_unknown_user_is_refused(app):
    with pytest.raises(NotFound) as missing:
        app.issue_token("ghost", meta())
    assert missing.value.code == "user.not_found"


class _Settings:
    master_key = bytes(range(32))

    def __init__(self, folder) -> None:
        # the web passwords' hashes are kept in the store, outside the events
        self.store = DatabaseUrl.parse(f"sqlite:///{folder}/store.db", "CASEWORK_STORE")


@pytest.fixture
def system(app, tmp_path):
    """The CLI's parts with the in-memory application handed to the composition root."""

    class _Unclosed:
        def __getattr__(self, name):
            return getattr(app, name)

        def close(self):
            pass

    return bootstrap(_Settings(tmp_path), casework=_Unclosed())


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
        (
            "users_add",
            {"name": "bpjs", "role": "agency", "opd": None, "kelurahan": [], "agency": None},
            "--agency CODE",
        ),
        (
            "users_add",
            {"name": "x1", "role": "auditor", "opd": None, "kelurahan": [], "agency": "BPJS"},
            "only for --role agency",
        ),
    ],
)
def test_the_cli_explains_a_mistake_without_a_traceback(system, capsys, call, args, words):
    assert getattr(accounts_cli, call)(system, argparse.Namespace(**args)) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_an_account_a_script_adds_without_a_password_gets_one_printed_once(
    app, system, capsys, monkeypatch
):
    # ../shared/docs/contract.md: `users add` never blocks a script; with no terminal and no
    # --password-stdin it makes a password and prints it once (it made an account that could
    # not sign in, and the new staff member met "wrong user name or password")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # a script: no terminal
    args = argparse.Namespace(name="rina", role="caseworker", opd=None, kelurahan=["Legok"])
    assert accounts_cli.users_add(system, args) == 0
    printed = capsys.readouterr()
    assert "signs in to the web" in printed.out and "shown only now" in printed.out
    password = printed.out.strip().splitlines()[-1]
    assert len(password) == 16
    assert verify_password(system.store, "rina", password)
    assert app.get_user("rina").has_password


def test_the_cli_refuses_a_kelurahan_for_a_role_it_would_not_limit_and_stores_nothing(
    app, system, capsys
):
    args = argparse.Namespace(name="sari", role="supervisor", opd=None, kelurahan=["Legok"])
    assert accounts_cli.users_add(system, args) == 2
    err = capsys.readouterr().err
    assert err.startswith("casework: kelurahan: --kelurahan is only for --role caseworker")
    assert app.find_user("sari") is None


def test_the_cli_notes_an_opd_no_program_belongs_to(app, system, capsys):
    seed_catalog(app, meta())
    args = argparse.Namespace(name="pm-x", role="program_manager", opd="dinsoss", kelurahan=[])
    assert accounts_cli.users_add(system, args) == 0
    err = capsys.readouterr().err
    assert "no program belongs to OPD DINSOSS yet" in err and "DINSOS" in err.split("(")[1]
    args = argparse.Namespace(name="pm-y", role="program_manager", opd="dinsos", kelurahan=[])
    assert accounts_cli.users_add(system, args) == 0
    assert "no program belongs" not in capsys.readouterr().err


def test_an_agency_account_keeps_its_agency_code_as_its_opd(app, system, capsys):
    args = argparse.Namespace(
        name="bpjs-api", role="agency", opd=None, kelurahan=[], agency="bpjskes"
    )
    assert accounts_cli.users_add(system, args) == 0
    assert "agency=BPJSKES" in capsys.readouterr().out
    assert accounts_cli.tokens_issue(system, argparse.Namespace(name="bpjs-api")) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert app.actor_for_token(token).opd == "BPJSKES"


# --- token lifecycle: expiry, listing, revoking by id or user ------------------------------

LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def test_tokens_list_says_which_token_works_now_and_why_not(app, system, capsys):
    # an expired token said "revoked no" like one in force: the administrator had to compare
    # its expiry with the date to see why an agency's calls answered 401
    app.add_user("yusuf", "supervisor", None, [], meta())
    app.issue_token("yusuf", meta())
    app.issue_token("yusuf", meta(), now=LONG_AGO)
    revoked = app.issue_token("yusuf", meta())
    app.revoke_token(revoked, meta())
    assert accounts_cli.tokens_list(system, argparse.Namespace(name="yusuf")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("in force")
    assert [line.split("  ")[-1].strip() for line in lines[1:]] == [
        "yes",
        "no (expired)",
        "no (revoked)",
    ]
    app.deactivate_user("yusuf", meta())
    assert accounts_cli.tokens_list(system, argparse.Namespace(name="yusuf")) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("no (account deactivated)")


def test_a_token_expires_after_90_days_by_default(app):
    app.add_user("yusuf", "supervisor", None, [], meta())
    fresh = app.issue_token("yusuf", meta())
    old = app.issue_token("yusuf", meta(), now=LONG_AGO)
    week = app.issue_token("yusuf", meta(), days=7, now=LONG_AGO)
    [first, second, third] = app.list_tokens("yusuf")
    assert second["expires_at"] == "2020-03-31T00:00:00Z"  # 90 days after
    assert third["expires_at"] == "2020-01-08T00:00:00Z"
    assert app.token_holder(fresh) == (Actor(id="yusuf", role="supervisor", opd=None), None)
    assert app.token_holder(old) == (None, "token.expired")
    assert app.actor_for_token(week) is None
    # valid until its expiry, from its issue on
    assert app.actor_for_token(old, now=LONG_AGO + dt.timedelta(days=89)).id == "yusuf"
    issued, expires = (
        dt.datetime.fromisoformat(first[k].replace("Z", "+00:00"))
        for k in ("issued_at", "expires_at")
    )
    assert (expires - issued).days in (89, 90)


@pytest.mark.parametrize("days", [0, -1, 731, True])
def test_a_token_lifetime_out_of_range_is_refused(app, days):
    app.add_user("yusuf", "supervisor", None, [], meta())
    with pytest.raises(DomainError) as refused:
        app.issue_token("yusuf", meta(), days=days)
    assert (refused.value.field, refused.value.code) == ("days", "token.days_invalid")
    assert app.list_tokens("yusuf") == []


def test_tokens_are_listed_by_id_never_by_token_or_full_hash(app):
    app.add_user("yusuf", "supervisor", None, [], meta())
    app.add_user("rina", "caseworker", None, ["Telanaipura"], meta())
    tokens = [app.issue_token("yusuf", meta()), app.issue_token("rina", meta())]
    rows = app.list_tokens()
    assert [r["owner"] for r in rows] == ["rina", "yusuf"]
    assert [r["id"] for r in rows] == [token_hash(tokens[1])[:12], token_hash(tokens[0])[:12]]
    text = repr(rows)
    for token in tokens:
        assert token not in text and token_hash(token) not in text
    assert all(r["issued_at"] and r["expires_at"] and not r["revoked"] for r in rows)
    assert app.user_names() == ["rina", "yusuf"]


def test_a_token_is_revoked_by_its_id_and_all_of_a_user_by_name(app):
    app.add_user("yusuf", "supervisor", None, [], meta())
    one, two, three = (app.issue_token("yusuf", meta()) for _ in range(3))
    assert app.revoke_token_id(token_hash(one)[:12].upper(), meta()) == "yusuf"
    assert app.actor_for_token(one) is None and app.actor_for_token(two).id == "yusuf"
    with pytest.raises(Conflict):
        app.revoke_token_id(token_hash(one)[:12], meta())
    with pytest.raises(NotFound) as unknown:
        app.revoke_token_id("0123456789ab", meta())
    assert unknown.value.code == "token.not_found"
    assert app.revoke_user_tokens("yusuf", meta()) == [token_hash(t)[:12] for t in (two, three)]
    assert app.actor_for_token(two) is None and app.actor_for_token(three) is None
    assert [r["revoked"] for r in app.list_tokens("yusuf")] == [True, True, True]
    assert app.revoke_user_tokens("yusuf", meta()) == []


def test_a_token_issued_before_expiry_existed_never_expires(app):
    """Tokens stored before this change have no expiry in their TokenIssued event."""
    app.add_user("yusuf", "supervisor", None, [], meta())
    user = app.get_user("yusuf")
    user.token_issued(token_hash("legacy-token"), meta())
    app._save(
        user, [TokenIndex(token_hash=token_hash("legacy-token"), user_name="yusuf", meta=meta())]
    )
    assert app.actor_for_token("legacy-token").id == "yusuf"
    assert app.list_tokens("yusuf")[0]["expires_at"] is None


def test_the_cli_issues_a_token_for_n_days(app, system, capsys):
    app.add_user("rina", "caseworker", None, ["Telanaipura"], meta())
    args = argparse.Namespace(name="rina", days=30)
    assert accounts_cli.tokens_issue(system, args) == 0
    captured = capsys.readouterr()
    token = captured.out.strip().splitlines()[-1]
    [row] = app.list_tokens("rina")
    assert row["id"] == token_hash(token)[:12] and row["id"] in captured.err
    assert row["expires_at"] in captured.err
    issued = dt.datetime.fromisoformat(row["issued_at"].replace("Z", "+00:00"))
    expires = dt.datetime.fromisoformat(row["expires_at"].replace("Z", "+00:00"))
    assert (expires - issued).days in (29, 30)


def test_the_cli_refuses_a_bad_lifetime_without_a_traceback(app, system, capsys):
    app.add_user("rina", "caseworker", None, ["Telanaipura"], meta())
    assert accounts_cli.tokens_issue(system, argparse.Namespace(name="rina", days=1000)) == 2
    err = capsys.readouterr().err
    assert "--days" in err and "Traceback" not in err
    assert app.list_tokens("rina") == []


def test_the_cli_revokes_by_user_name_or_token_id(app, system, capsys):
    app.add_user("rina", "caseworker", None, ["Telanaipura"], meta())
    one, two = app.issue_token("rina", meta()), app.issue_token("rina", meta())
    ident = token_hash(one)[:12]
    assert accounts_cli.tokens_revoke(system, argparse.Namespace(target=ident)) == 0
    assert f"revoked token {ident} of rina" in capsys.readouterr().out
    assert app.actor_for_token(one) is None and app.actor_for_token(two).id == "rina"
    assert accounts_cli.tokens_revoke(system, argparse.Namespace(target="rina")) == 0
    assert app.actor_for_token(two) is None
    assert accounts_cli.tokens_revoke(system, argparse.Namespace(target="ffffffffffff")) == 2
    err = capsys.readouterr().err
    assert "tokens list" in err and "Traceback" not in err


def test_the_cli_refuses_a_lifetime_of_zero_days(app, system, capsys):
    app.add_user("rina", "caseworker", None, ["Telanaipura"], meta())
    assert accounts_cli.tokens_issue(system, argparse.Namespace(name="rina", days=0)) == 2
    assert "--days" in capsys.readouterr().err
    assert app.list_tokens("rina") == []


# --- an administrator's accounts: list, deactivate, activate again ------------------------


def test_the_cli_deactivates_an_account_and_activates_it_again(app, system, capsys):
    app.add_user("rina", "caseworker", None, ["Telanaipura"], meta())
    token = app.issue_token("rina", meta())
    assert accounts_cli.users_deactivate(system, argparse.Namespace(name="rina")) == 0
    assert "deactivated rina" in capsys.readouterr().out
    assert app.actor_for_token(token) is None
    assert accounts_cli.users_deactivate(system, argparse.Namespace(name="rina")) == 0
    assert "already deactivated" in capsys.readouterr().err
    assert accounts_cli.users_activate(system, argparse.Namespace(name="rina")) == 0
    assert "reactivated rina" in capsys.readouterr().out
    assert app.actor_for_token(token).id == "rina"


def test_the_cli_lists_every_account_with_its_area_and_state(app, system, capsys):
    app.add_user("rina", "caseworker", None, ["Telanaipura", "Legok"], meta())
    app.add_user("pm-dinsos", "program_manager", "DINSOS", [], meta())
    app.issue_token("pm-dinsos", meta())
    app.deactivate_user("rina", meta())
    assert accounts_cli.users_list(system, argparse.Namespace()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "role", "opd/agency"]
    assert lines[1].split() == ["pm-dinsos", "program_manager", "DINSOS", "-", "yes", "no", "1"]
    assert lines[2].split()[:5] == ["rina", "caseworker", "-", "Telanaipura,Legok", "no"]


@pytest.mark.parametrize("call", ["users_deactivate", "users_activate"])
def test_the_cli_names_an_unknown_account_without_a_traceback(system, capsys, call):
    assert getattr(accounts_cli, call)(system, argparse.Namespace(name="ghost")) == 2
    err = capsys.readouterr().err
    assert err.startswith("casework: name: no such user") and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("password", "code_words"),
    [
        ("password123456", "easy to guess"),
        ("Katasandi2026!", "easy to guess"),
        ("1234567890", "easy to guess"),
        ("081234567890", "easy to guess"),  # a phone number
        ("aaaaaaaaaaaa", "easy to guess"),
        ("rina.dewi-2026", "may not contain the user name"),
    ],
)
def test_a_guessable_password_is_refused_and_no_account_is_made(
    app, system, capsys, monkeypatch, password, code_words
):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{password}\n"))
    args = argparse.Namespace(
        name="rina.dewi", role="auditor", opd=None, kelurahan=[], password_stdin=True
    )
    assert accounts_cli.users_add(system, args) == 2
    err = capsys.readouterr().err
    assert err.startswith("casework: password: ") and code_words in err
    assert len(err.splitlines()) == 1
    assert app.find_user("rina.dewi") is None


def test_a_guessable_password_is_refused_when_reset_too(app, system, capsys, monkeypatch):
    app.add_user("rina.dewi", "auditor", None, [], meta())
    monkeypatch.setattr("sys.stdin", io.StringIO("Password2026!\n"))
    args = argparse.Namespace(name="rina.dewi", password_stdin=True)
    assert accounts_cli.users_password(system, args) == 2
    assert "easy to guess" in capsys.readouterr().err
    assert not app.get_user("rina.dewi").has_password


def test_a_case_worker_moved_to_other_kelurahan_and_promoted_keeps_one_account(
    app, system, capsys
):
    # there was no way to change a role or an area: a transferred case worker needed a new
    # account under another name, losing their history and tokens
    app.add_user("rina", "caseworker", None, ["Legok"], meta())
    token = app.issue_token("rina", meta())
    args = argparse.Namespace(name="Rina", role=None, opd=None, kelurahan=["Solok Sipin"])
    assert accounts_cli.users_change(system, args) == 0
    assert "kelurahan=Solok Sipin" in capsys.readouterr().out
    assert app.get_user("rina").kelurahan == ["Solok Sipin"]
    args = argparse.Namespace(name="rina", role="supervisor", opd=None, kelurahan=None)
    assert accounts_cli.users_change(system, args) == 0
    promoted = app.get_user("rina")
    assert (promoted.role, promoted.kelurahan) == ("supervisor", [])  # the whole city now
    assert app.actor_for_token(token).role == "supervisor"  # its token stays, as supervisor
    # the same again changes nothing and stores nothing
    before = app.recorder.max_notification_id()
    assert accounts_cli.users_change(system, args) == 0
    assert "nothing changed" in capsys.readouterr().err
    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize(
    ("start", "change", "words"),
    [
        (("supervisor", None, []), {"role": "caseworker"}, "needs at least one --kelurahan"),
        (("caseworker", None, ["Legok"]), {"kelurahan": ["Atlantis"]}, "unknown kelurahan"),
        (("program_manager", "DINSOS", []), {"opd": "dinas sosial!"}, "an OPD code is"),
        (("agency", "BPJSKES", []), {"role": "supervisor"}, "stays its agency's"),
        (("supervisor", None, []), {"role": "boss"}, "unknown role"),
    ],
)
def test_a_change_that_would_not_hold_is_named_and_stores_nothing(
    app, system, capsys, start, change, words
):
    app.add_user("sari", *start, meta())
    before = app.recorder.max_notification_id()
    args = argparse.Namespace(
        name="sari", **{"role": None, "opd": None, "kelurahan": None, **change}
    )
    assert accounts_cli.users_change(system, args) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.splitlines()) == 1
    assert app.recorder.max_notification_id() == before
