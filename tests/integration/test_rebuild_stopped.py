"""`casework rebuild --workers 2` stopped by a signal to it alone (as `kill PID` does): its
worker processes stop with it instead of going on and swapping their views in later, and
the next rebuild removes the scratch files they left. On PostgreSQL a rebuild's scratch file
has no name: a killed one leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.bootstrap import open_casework
from adapters.db import Database
from adapters.settings import DatabaseUrl
from app.seed import BATCH, seed_app
from tests.conftest import TEST_MASTER_KEY
from tests.support.events import TEST_SIGNING_KEY

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def _generations(views: str) -> dict[str, int]:
    db = Database(DatabaseUrl.parse(views, "CASEWORK_VIEWS"))
    try:
        return {
            name: gen for name, gen in db.query("SELECT name, generation FROM projection_state")
        }
    finally:
        db.close()


def test_a_stopped_rebuild_stops_its_workers_and_the_next_removes_their_scratch(tmp_path):
    store, views = f"sqlite:///{tmp_path}/casework.db", f"sqlite:///{tmp_path}/views.db"
    app = open_casework(DatabaseUrl.parse(store, "CASEWORK_STORE"), bytes.fromhex(TEST_MASTER_KEY))
    try:
        seed_app(app, 1500, seed_value=3, batch=BATCH)  # a rebuild of some seconds
    finally:
        app.close()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")},
        "CASEWORK_STORE": store,
        "CASEWORK_VIEWS": views,
        "CASEWORK_SECRET_KEY": "test-secret",
        "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
        "CASEWORK_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "app.cli", "rebuild", "--workers", "2"]
    subprocess.run(command, env=env, check=True, timeout=300)  # the views, once
    before = _generations(views)

    rebuild = subprocess.Popen(command, env=env)
    scratch: list[Path] = []
    deadline = time.monotonic() + 60
    while len(scratch) < 2 and time.monotonic() < deadline and rebuild.poll() is None:
        time.sleep(0.05)
        scratch = [p for p in tmp_path.glob("views.db.rebuild-*") if p.name[-1].isdigit()]
    assert len(scratch) == 2, "the two workers did not start"
    workers = [int(p.name.rsplit("-", 1)[1]) for p in scratch]
    rebuild.send_signal(signal.SIGTERM)  # to the rebuild alone, not its process group
    rebuild.wait(timeout=30)

    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "a worker outlived its rebuild"
    assert _generations(views) == before  # nothing was swapped in after the stop
    assert all(p.exists() for p in scratch)  # left by the workers, as they stopped

    subprocess.run(command, env=env, check=True, timeout=300)
    assert list(tmp_path.glob("views.db.rebuild-*")) == []
    after = _generations(views)
    assert all(after[name] == before[name] + 1 for name in before)


# A process that fills a temporary scratch database until SQLite writes it to a file (a small
# page cache), says which files of its temporary directory it holds open, and is killed.
_FILLS_AND_DIES = """
import json, os, signal
from adapters.db import temporary_scratch
scratch = temporary_scratch()
with scratch.transaction() as cur:
    cur.execute("PRAGMA cache_size=-256")
    cur.execute("CREATE TABLE facts (household_id TEXT, facts TEXT)")
    rows = [(str(n), "Siti Aminah " * 40) for n in range(20000)]
    cur.executemany("INSERT INTO facts VALUES (?, ?)", rows)
folder = os.environ["SQLITE_TMPDIR"]
held = []
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    if target.startswith(folder + "/"):
        held.append(target)
print(json.dumps([held, sorted(os.listdir(folder))]), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_rebuild_on_postgresql_builds_in_a_file_without_a_name_that_dies_with_it(tmp_path):
    """On PostgreSQL a rebuild's scratch (`adapters.db.temporary_scratch`) is an SQLite file of
    the temporary directory that is unlinked as it is made: while the process fills it no
    file there has a name (nothing another process could open), and a process killed
    (SIGKILL: nothing of it runs on) leaves nothing behind, its views' personal values
    included."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    env = {**os.environ, "SQLITE_TMPDIR": str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", _FILLS_AND_DIES], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    held, named = json.loads(done.stdout)
    assert held and all(path.endswith(" (deleted)") for path in held), held  # on disk, unnamed
    assert named == []
    assert list(folder.iterdir()) == []  # nothing left by the killed process
