"""`casework up` as a real process: the embedded broker killed (`kill -KILL`) or a service
killed, commands are still stored, `up` starts what exited again, and the events reach the
views (the broker comes back empty: the relay republishes, the runners read the recreated
topic). Then SIGTERM stops everything with exit 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.bootstrap import bootstrap
from adapters.broker import free_port
from adapters.db import Database
from adapters.settings import Settings
from domain.application import SYSTEM, make_meta
from projections import register
from tests.conftest import ROOT, TEST_MASTER_KEY, wait_until
from tests.integration.test_flow import family  # the households the flow test sends
from tests.support.events import TEST_SIGNING_KEY

pytestmark = pytest.mark.integration


def post(base: str, token: str, body: dict) -> str | None:
    request = urllib.request.Request(
        f"{base}/api/v1/commands/RegisterHousehold",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())["stream_id"] if answer.status == 201 else None
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{error.code}: {error.read()[:300]!r}") from None


def children_of(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`: their command lines."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry)] = cmdline
    return found


def child(pid: int, marker: str) -> int:
    [found] = [p for p, cmdline in children_of(pid).items() if marker in cmdline]
    return found


@pytest.fixture
def running_up(tmp_path) -> Iterator[tuple[subprocess.Popen, str, str, Database, Path]]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")},
        "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
        "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
        "CASEWORK_SECRET_KEY": "test-secret",
        "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
        "CASEWORK_PORT": str(port),
        "CASEWORK_WEB_WORKERS": "1",
        "CASEWORK_PARTITIONS": "2",
        "PYTHONPATH": str(ROOT),
    }
    system = bootstrap(Settings.from_env(env))
    meta = make_meta(SYSTEM, "cli")
    system.casework.add_user("admin", "admin", None, [], meta)
    token = system.casework.issue_token("admin", meta)
    system.close()
    log_file = tmp_path / "up.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up"],
        env=env,
        cwd=tmp_path,  # its var/ (the broker's log) goes there
        stdout=open(log_file, "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    views = Database(Settings.from_env(env).views)
    try:
        yield proc, f"http://127.0.0.1:{port}", token, views, log_file
    finally:
        views.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(log_file.read_text(errors="replace")[-6000:])


def test_up_restarts_the_broker_and_a_service_and_keeps_storing_commands(running_up):
    proc, base, token, views, log_file = running_up
    log_text = lambda: log_file.read_text(errors="replace")  # noqa: E731
    wait_until(lambda: "Casework is up" in log_text(), 180, "casework up to say it is up")
    first = post(base, token, family(1))
    wait_until(lambda: register.get_household(views, first), 60, "the first household's row")

    # The embedded broker killed: the web still stores commands, up starts the broker again.
    os.kill(child(proc.pid, "broker --listener-url"), signal.SIGKILL)
    second = post(base, token, family(2))
    assert second
    wait_until(lambda: "started again" in log_text(), 60, "up to start the broker again")
    assert proc.poll() is None
    third = post(base, token, family(3))
    wait_until(
        lambda: register.get_household(views, second) and register.get_household(views, third),
        120,
        "the households stored while and after the broker was away to reach the views",
    )
    assert "broker lost its data" in log_text()  # the relay republished

    # A service killed: started again, the others go on.
    os.kill(child(proc.pid, "app.cli relay"), signal.SIGKILL)
    fourth = post(base, token, family(4))
    wait_until(lambda: "relay started again" in log_text(), 60, "up to start the relay again")
    wait_until(lambda: register.get_household(views, fourth), 90, "the fourth household's row")
    assert register.get_household(views, first)

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert "stopping everything" not in log_text()
