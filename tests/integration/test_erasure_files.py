"""Erasure that leaves nothing behind in any file, while the system keeps running.

A full workload runs through the real processes (relay, projection runner, policies, the
embedded broker): a household with three members, a program, a benefit. Then one member's
erasure is requested and approved. Without stopping anything and without checkpointing on
the test's side, every file under the data directory (the store and the views with their
WAL and SHM files, the processes' and the broker's logs) is read byte by byte: none may hold
her NIK, her name or her birth date. The database files are readable by their owner only.
Her NIK and her name find nothing any more, and her subject access report holds nothing.

On PostgreSQL the server's files are out of the test's reach: every row of every table,
as text, is searched instead (`database_bytes`).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.bootstrap import bootstrap, open_casework
from adapters.settings import Settings
from app import create_app
from domain.application import SYSTEM, make_meta
from tests.conftest import wait_until
from tests.integration.conftest import add_users, bearer
from tests.integration.test_erasure import (
    CHILD,
    HEAD,
    HOUSEHOLD,
    PKH,
    WIFE,
    beneficiary_count,
    database_bytes,
    found,
    post,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def web(settings) -> Iterator:
    """The app on the processes' settings (the same store, views and keys)."""
    flask_app = create_app(bootstrap(settings))
    yield flask_app
    flask_app.extensions["casework"].close()


DATABASE_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")


def files_under(directory: Path) -> dict[str, bytes]:
    """Every regular file under the data directory, as it is on disk right now."""
    out = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            try:
                out[str(path.relative_to(directory))] = path.read_bytes()
            except FileNotFoundError:  # a WAL or SHM file removed while walking
                continue
    return out


def everything(settings: Settings, data_dir: Path) -> dict[str, bytes]:
    places = {f"file {k}": v for k, v in files_under(data_dir).items()}
    if settings.views.kind == "postgresql":
        places.update({f"store {k}": v for k, v in database_bytes(settings.store).items()})
        places.update({f"views {k}": v for k, v in database_bytes(settings.views).items()})
    return places


def households(client, token: str, query: str) -> list[dict]:
    response = client.get(f"/api/v1/households?{query}", headers=bearer(token))
    assert response.status_code == 200, response.json
    return response.json["results"]


def subject_access(client, token: str, nik: str):
    return client.get(f"/api/v1/persons/{nik}/subject-access", headers=bearer(token))


def test_after_an_erasure_no_file_holds_the_person_and_her_nik_leads_nowhere(
    settings,
    web,
    broker,
    processes,
    tmp_path,
):
    casework = web.extensions["casework"].casework
    casework.define_program(PKH, make_meta(SYSTEM, "cli"))
    tokens = add_users(web, ["admin", "sup1", "cw_sipin", "auditor"])
    client = web.test_client()
    admin = tokens["admin"]

    response = post(client, "RegisterHousehold", HOUSEHOLD, admin)
    assert response.status_code == 201, response.json
    household_id = response.json["stream_id"]
    for person, relationship in ((WIFE, "istri"), (CHILD, "anak")):
        body = {"household_id": household_id, "person": person, "relationship": relationship}
        assert post(client, "AddMember", body, admin).status_code == 201
    casework.grant_benefit(
        {
            "household_id": household_id,
            "nik": WIFE["nik"],
            "program": "PKH",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "amount": 750_000,
        },
        make_meta(SYSTEM, "cli"),
    )
    for name in ("relay", "projections", "policies"):
        processes.start(name)
    wait_until(lambda: beneficiary_count(client, admin) == 1, 60, "the views to be built")

    # Before: she is found by NIK and by name, her report holds her, and the files hold her
    # name (the views keep names to search and show): the search below can see.
    assert [h["id"] for h in households(client, admin, f"nik={WIFE['nik']}")] == [household_id]
    assert [h["id"] for h in households(client, admin, f"q={WIFE['name']}")] == [household_id]
    response = subject_access(client, tokens["auditor"], WIFE["nik"])
    assert response.status_code == 200 and response.json["person"]["name"] == WIFE["name"]
    assert found(everything(settings, tmp_path)), "the search cannot see her data before"
    # Owner-only files: the databases with their WAL and SHM files.
    databases = [p for p in tmp_path.iterdir() if p.name.endswith(DATABASE_SUFFIXES)]
    assert databases or settings.views.kind == "postgresql"
    for path in databases:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name

    request = {"household_id": household_id, "nik": WIFE["nik"], "reason": "Surat permohonan"}
    response = post(client, "RequestErasure", request, tokens["cw_sipin"])
    assert response.status_code == 202, response.json
    approval = {"approval_id": response.json["approval_id"], "note": "ok"}
    response = post(client, "ApproveChange", approval, tokens["sup1"])
    assert response.status_code == 201, response.json

    # While everything keeps running: no file holds her any more.
    try:
        wait_until(lambda: not found(everything(settings, tmp_path)), 60, "every file clean")
    except AssertionError:
        pass  # the assertion below names where she is still found
    assert not found(everything(settings, tmp_path)), "found in clear after the erasure"
    assert households(client, admin, f"nik={WIFE['nik']}") == []
    assert households(client, admin, f"q={WIFE['name']}") == []
    assert households(client, admin, f"q={WIFE['name'].split()[1]}") == []
    response = subject_access(client, tokens["auditor"], WIFE["nik"])
    assert response.status_code == 404, response.json
    assert response.json["codes"]["nik"] == ["nik.unknown"]
    # The others are still there, found and shown.
    [household] = households(client, admin, f"q={HEAD['name']}")
    assert {m["name"] for m in household["members"]} == {HEAD["name"], CHILD["name"], None}

    processes.stop_all()
    web.extensions["casework"].close()
    assert not found(everything(settings, tmp_path)), "found in clear after shutdown"
    for path in tmp_path.iterdir():
        if path.name.endswith(DATABASE_SUFFIXES):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_generated_keys_and_new_databases_are_readable_by_their_owner_only(tmp_path, monkeypatch):
    """The embedded default: no key in the environment, so both are generated into var/."""
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env(
        {"CASEWORK_STORE": "sqlite:///var/casework.db", "CASEWORK_VIEWS": "sqlite:///var/views.db"}
    )
    casework = open_casework(settings.store, settings.master_key)
    try:
        casework.define_program(PKH, make_meta(SYSTEM, "cli"))
    finally:
        casework.close()
    var = tmp_path / "var"
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    names = {path.name: stat.S_IMODE(path.stat().st_mode) for path in var.iterdir()}
    assert {"master_key", "secret_key", "casework.db"} <= set(names), names
    assert names == dict.fromkeys(names, 0o600)
    # A second start reads the same keys.
    again = Settings.from_env({"CASEWORK_STORE": "sqlite:///var/casework.db"})
    assert (again.master_key, again.secret_key) == (settings.master_key, settings.secret_key)


def _scratch_copy(views: Path, scratch: Path) -> bytes:
    """The views file as a rebuild's scratch file holds it: a consistent copy (WAL included)."""
    scratch.unlink(missing_ok=True)
    with sqlite3.connect(views) as source, sqlite3.connect(scratch) as target:
        source.backup(target)
    source.close()
    target.close()
    return scratch.read_bytes()


def test_an_erasure_removes_the_scratch_files_stopped_rebuilds_left(
    settings, web, broker, processes, tmp_path
):
    if settings.views.kind != "sqlite":
        pytest.skip(  # tests/integration/test_rebuild_stopped.py: nothing to remove
            "on PostgreSQL a rebuild's scratch file has no name and dies with its process"
        )
    casework = web.extensions["casework"].casework
    casework.define_program(PKH, make_meta(SYSTEM, "cli"))
    tokens = add_users(web, ["admin", "sup1", "cw_sipin"])
    client = web.test_client()
    response = post(client, "RegisterHousehold", HOUSEHOLD, tokens["admin"])
    assert response.status_code == 201, response.json
    household_id = response.json["stream_id"]
    body = {"household_id": household_id, "person": WIFE, "relationship": "istri"}
    assert post(client, "AddMember", body, tokens["admin"]).status_code == 201
    for name in ("relay", "projections"):
        processes.start(name)
    wait_until(lambda: households(client, tokens["admin"], f"nik={WIFE['nik']}"), 60, "the views")

    # A rebuild killed midway (SIGKILL: nothing of it ran on) left its scratch file: the
    # views as it had built them, her birth date in the eligibility view among them.
    stopped = subprocess.Popen(["true"])
    stopped.wait()
    views = Path(settings.views.path)
    scratch = views.parent / f"{views.name}.rebuild-{stopped.pid}"
    wait_until(
        lambda: found({"scratch": _scratch_copy(views, scratch)}), 60, "her data in the copy"
    )
    running = views.parent / f"{views.name}.rebuild-{os.getpid()}"  # a rebuild still running
    running.write_bytes(b"its own, left to it")

    request = {"household_id": household_id, "nik": WIFE["nik"], "reason": "Surat permohonan"}
    response = post(client, "RequestErasure", request, tokens["cw_sipin"])
    assert response.status_code == 202, response.json
    approval = {"approval_id": response.json["approval_id"], "note": "ok"}
    assert post(client, "ApproveChange", approval, tokens["sup1"]).status_code == 201

    wait_until(lambda: households(client, tokens["admin"], f"nik={WIFE['nik']}") == [], 60)
    try:
        wait_until(lambda: not scratch.exists(), 30, "the stopped rebuild's scratch removed")
    except AssertionError:
        pass  # the assertions below say what is left
    assert not scratch.exists(), "the scratch file of a stopped rebuild survived the erasure"
    assert running.exists(), "a running rebuild's scratch file was removed under it"
    running.unlink()
    processes.stop_all()
    assert not found(files_under(tmp_path)), "found in clear after the erasure"
