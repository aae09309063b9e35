"""Accounts that sign in to the web: `casework users add --password-stdin`, `casework users
password`, and the demo accounts of `casework up --demo` (one per role, logins printed). The
password hash is kept outside the events: nothing the relay publishes carries it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app
from app.up import DEMO_ACCOUNTS, demo_accounts, print_logins
from domain.accounts import ROLES
from tests.conftest import ROOT, TEST_MASTER_KEY
from tests.support.events import TEST_SIGNING_KEY
from tests.support.signin import sign_in

pytestmark = pytest.mark.integration


@pytest.fixture
def env(backend) -> dict[str, str]:
    return {
        **backend,
        "CASEWORK_SECRET_KEY": "test-secret",
        "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
    }


def casework_cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )


def add_user(env: dict[str, str], name: str, role: str, password: str):
    """`casework users add NAME --role ROLE --password-stdin`, the password given."""
    return casework_cli(
        env, "users", "add", name, "--role", role, "--password-stdin", stdin=f"{password}\n"
    )


def test_users_add_sets_a_password_that_signs_in_and_is_never_in_the_events(env):
    short = casework_cli(
        env, "users", "add", "sri", "--role", "supervisor", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    added = add_user(env, "sri", "supervisor", "kata-sandi-sri-2026")
    assert added.returncode == 0, added.stderr
    assert "signs in to the web" in added.stdout
    changed = casework_cli(
        env, "users", "password", "sri", "--password-stdin", stdin="kata-sandi-baru-2026\n"
    )
    assert changed.returncode == 0, changed.stderr

    system = bootstrap(Settings.from_env(env))
    web = create_app(system)
    try:
        assert sign_in(web.test_client(), "sri", "kata-sandi-sri-2026").status_code == 401
        assert sign_in(web.test_client(), "sri", "kata-sandi-baru-2026").status_code == 303
        user = system.casework.get_user("sri")
        assert user.has_password
        stored = b"".join(
            bytes(n.state)
            for n in system.casework.recorder.select_notifications(start=1, limit=100)
        )
        topics = [
            n.topic for n in system.casework.recorder.select_notifications(start=1, limit=100)
        ]
        assert topics.count("domain.accounts:User.PasswordSet") == 2
        assert b"argon2" not in stored and b"kata-sandi" not in stored
    finally:
        system.close()


def test_the_demo_accounts_are_one_per_role_and_sign_in_with_the_printed_logins(env, capsys):
    system = bootstrap(Settings.from_env(env))
    try:
        logins = demo_accounts(system)
        assert {DEMO_ACCOUNTS[name][0] for name in logins} == set(ROLES)
        print_logins(logins, "http://127.0.0.1:8000")
        printed = capsys.readouterr().err
        web = create_app(system)
        for name, password in logins.items():
            assert f"{name}" in printed and password in printed
            assert sign_in(web.test_client(), name, password).status_code == 303, name
        # a later start gives new passwords: the old ones no longer sign in
        again = demo_accounts(system)
        name = "demo-supervisor"
        assert sign_in(web.test_client(), name, logins[name]).status_code == 401
        assert sign_in(web.test_client(), name, again[name]).status_code == 303
    finally:
        system.close()


def test_a_password_reset_signs_out_the_sessions_signed_in_with_the_old_one(env):
    """An administrator resets a leaked password: whoever signed in with it is signed out at
    their next page, and only the new password signs in."""
    added = add_user(env, "tari", "supervisor", "kata-sandi-lama-2026")
    assert added.returncode == 0, added.stderr
    system = bootstrap(Settings.from_env(env))
    try:
        web = create_app(system)
        intruder = web.test_client()
        assert sign_in(intruder, "tari", "kata-sandi-lama-2026").status_code == 303
        assert intruder.get("/").status_code == 200
        reset = casework_cli(
            env, "users", "password", "tari", "--password-stdin", stdin="kata-sandi-baru-2026\n"
        )
        assert reset.returncode == 0, reset.stderr
        after = intruder.get("/")
        assert after.status_code == 303 and "/login" in after.headers["Location"]
        owner = web.test_client()
        assert sign_in(owner, "tari", "kata-sandi-baru-2026").status_code == 303
        assert owner.get("/").status_code == 200
    finally:
        system.close()


def test_a_deactivated_account_is_signed_out_and_signs_in_again_once_activated(env):
    added = add_user(env, "wati", "auditor", "teh-manis-pagi-2026")
    assert added.returncode == 0, added.stderr
    system = bootstrap(Settings.from_env(env))
    try:
        web = create_app(system)
        wati = web.test_client()
        assert sign_in(wati, "wati", "teh-manis-pagi-2026").status_code == 303
        gone = casework_cli(env, "users", "deactivate", "wati")
        assert gone.returncode == 0 and "deactivated wati" in gone.stdout, gone.stderr
        assert wati.get("/").status_code == 303
        assert sign_in(web.test_client(), "wati", "teh-manis-pagi-2026").status_code == 401
        listed = casework_cli(env, "users", "list")
        assert "no (deactivated)" in listed.stdout
        back = casework_cli(env, "users", "activate", "wati")
        assert back.returncode == 0, back.stderr
        assert sign_in(web.test_client(), "wati", "teh-manis-pagi-2026").status_code == 303
    finally:
        system.close()


def test_a_user_name_signs_in_however_its_letters_are_cased(env):
    """A phone's keyboard capitalises the first letter: Siti.cw is the account siti.cw (and a
    second account Siti.CW cannot be added beside it)."""
    added = add_user(env, "siti.cw", "auditor", "teh-manis-pagi-2026")
    assert added.returncode == 0, added.stderr
    again = casework_cli(env, "users", "add", "Siti.CW", "--role", "supervisor")
    assert again.returncode == 2 and "already exists" in again.stderr
    reset = casework_cli(
        env, "users", "password", "SITI.CW", "--password-stdin", stdin="kopi-susu-siang-2026\n"
    )
    assert reset.returncode == 0 and "password set for siti.cw" in reset.stdout, reset.stderr
    system = bootstrap(Settings.from_env(env))
    try:
        web = create_app(system)
        page = web.test_client().get("/login").get_data(as_text=True)
        assert 'autocapitalize="none"' in page
        client = web.test_client()
        assert sign_in(client, "Siti.cw", "kopi-susu-siang-2026").status_code == 303
        assert "siti.cw" in client.get("/").get_data(as_text=True)
        assert sign_in(web.test_client(), "Siti.cw", "teh-manis-pagi-2026").status_code == 401
    finally:
        system.close()
