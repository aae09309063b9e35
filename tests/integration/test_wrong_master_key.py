"""A store opened with another master key than the one its persons' keys were wrapped with:
README (Master key) says such a process fails rather than showing wrong data. It fails saying
so: the command line names CASEWORK_MASTER_KEY (exit 2, no traceback), and the web answers
503 (app/__init__.py), never a person's data."""

from __future__ import annotations

import pytest

from adapters.bootstrap import open_casework
from adapters.codec import Wrapper, WrongMasterKey, new_master_key
from adapters.settings import DatabaseUrl
from app import cli
from app.seed import seed_app
from tests.conftest import TEST_MASTER_KEY
from tests.support.events import TEST_SIGNING_KEY

pytestmark = pytest.mark.integration

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@SQLITE
def test_a_process_given_another_master_key_says_so(backend, monkeypatch, capsys):
    for name, value in {
        **backend,
        "CASEWORK_SECRET_KEY": "test-secret",
        "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    url = DatabaseUrl.parse(backend["CASEWORK_STORE"], "CASEWORK_STORE")
    app = open_casework(url, bytes.fromhex(TEST_MASTER_KEY))
    seed_app(app, 2, seed_value=1571, batch=2)
    app.close()
    capsys.readouterr()

    other = new_master_key()
    monkeypatch.setenv("CASEWORK_MASTER_KEY", other)
    assert cli.main(["rebuild", "register"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("casework: CASEWORK_MASTER_KEY: ") and "Traceback" not in said


def test_a_key_wrapped_under_another_master_key_does_not_unwrap():
    wrapped = Wrapper(bytes.fromhex(TEST_MASTER_KEY)).wrap("subject-1", b"k" * 32)
    assert Wrapper(bytes.fromhex(TEST_MASTER_KEY)).unwrap("subject-1", wrapped) == b"k" * 32
    with pytest.raises(WrongMasterKey, match="not the master key"):
        Wrapper(bytes.fromhex(new_master_key())).unwrap("subject-1", wrapped)
