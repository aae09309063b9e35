"""/healthz and /status while the broker or the relay is down (real broker, real relay process,
SQLite and PostgreSQL): a relay that makes no progress while events wait (the broker frozen)
shows as stuck, a relay that is gone (killed) as not running, whatever the lag, and both say
since when. Thresholds shortened here (projections.status); the defaults are in the README."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator

import pytest

from adapters.bootstrap import bootstrap
from app import create_app
from projections import status
from projections.status import relay_state, store_counts
from tests.conftest import wait_until
from tests.integration.conftest import USERS
from tests.support.events import register_families
from tests.support.signin import use_signed_in_clients

pytestmark = pytest.mark.integration


@pytest.fixture
def web(settings) -> Iterator:
    flask_app = use_signed_in_clients(create_app(bootstrap(settings)), USERS)
    yield flask_app
    flask_app.extensions["casework"].close()


def published_all(store_db) -> bool:
    count, top = store_counts(store_db)
    return relay_state(store_db) == (top, count)


def health(web) -> tuple[int, dict]:
    answer = web.test_client().get("/healthz")
    return answer.status_code, answer.get_json()


def relay_row(web) -> str:
    """The relay's row of the status page (in English), its markup as the browser gets it."""
    page = web.test_client().get("/status?lang=en").get_data(as_text=True)
    overall = re.search(r'<p class="overall overall-(\w+)"', page)
    row = re.search(r"<tr[^>]*>\s*<th scope=\"row\">Relay to Kafka</th>.*?</tr>", page, re.S)
    assert overall and row, page
    return f"{overall.group(1)} {row.group(0)}"


def test_a_frozen_broker_and_a_killed_relay_show_as_degraded(
    casework, broker, store_db, processes, web, monkeypatch
):
    monkeypatch.setattr(status, "STUCK_SECONDS", 4.0, raising=False)
    monkeypatch.setattr(status, "RELAY_GONE_SECONDS", 5.0, raising=False)
    processes.start("relay")
    register_families(casework, 2, seed=1)
    wait_until(lambda: published_all(store_db), 60, "the relay to publish")
    code, found = health(web)
    assert (code, found["status"]) == (200, "ok")

    # The broker frozen: the relay runs (its heartbeat goes on) but publishes nothing.
    os.kill(broker.process.pid, signal.SIGSTOP)
    try:
        register_families(casework, 3, seed=2)
        wait_until(lambda: health(web)[1]["status"] == "degraded", 60, "/healthz to say degraded")
        code, found = health(web)
        relay = found["components"]["relay"]
        assert code == 200  # the web still works: commands are stored
        assert relay["state"] == "stuck" and relay["lag"] > 0 and relay["since"].endswith("Z")
        row = relay_row(web)
        assert row.startswith("degraded ") and 'class="row-error"' in row
        assert "Stuck: events wait, no progress since" in row
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)
    wait_until(lambda: published_all(store_db), 90, "the relay to publish after the freeze")
    wait_until(lambda: health(web)[1]["status"] == "ok", 30, "/healthz to say ok again")

    # The relay killed: nothing waits (lag 0), yet no relay runs.
    processes.running[0].send_signal(signal.SIGKILL)
    processes.running[0].wait(10)
    wait_until(lambda: health(web)[1]["status"] == "degraded", 30, "/healthz to say degraded")
    code, found = health(web)
    relay = found["components"]["relay"]
    assert code == 200 and relay["lag"] == 0
    assert relay["state"] == "stopped" and relay["since"].endswith("Z")
    row = relay_row(web)
    assert row.startswith("degraded ") and "Not running (no heartbeat since" in row

    # A relay started again clears it.
    processes.start("relay")
    wait_until(lambda: health(web)[1]["status"] == "ok", 30, "/healthz to say ok again")


def projections_of(found: dict) -> dict[str, dict]:
    return {k: v for k, v in found["components"].items() if k.startswith("projection:")}


def view_row(web, label: str) -> str:
    page = web.test_client().get("/status?lang=en").get_data(as_text=True)
    row = re.search(rf"<tr[^>]*>\s*<th scope=\"row\">{re.escape(label)}</th>.*?</tr>", page, re.S)
    assert row, page
    return row.group(0)


def test_a_killed_projection_runner_shows_as_not_running(
    casework, store_db, processes, web, monkeypatch
):
    monkeypatch.setattr(status, "RELAY_GONE_SECONDS", 5.0, raising=False)
    processes.start("relay")
    runner = processes.start("projections")
    register_families(casework, 2, seed=1)

    def caught_up_and_running() -> bool:
        entries = projections_of(health(web)[1])
        return all(e["lag"] == 0 and e.get("state") == "running" for e in entries.values())

    wait_until(caught_up_and_running, 120, "the runner to apply every event")
    assert health(web)[1]["status"] == "ok"

    # Killed: nothing waits (every lag 0), yet no runner applies what comes next.
    runner.send_signal(signal.SIGKILL)
    runner.wait(10)
    wait_until(lambda: health(web)[1]["status"] == "degraded", 30, "/healthz to say degraded")
    code, found = health(web)
    assert code == 200
    for entry in projections_of(found).values():
        assert (entry["state"], entry["lag"]) == ("stopped", 0) and entry["since"].endswith("Z")
    row = view_row(web, "View: register of households")
    assert 'class="row-error"' in row and "Not running (no heartbeat since" in row

    # A runner started again clears it, and applies what was stored meanwhile.
    register_families(casework, 1, seed=3)
    processes.start("projections")
    wait_until(caught_up_and_running, 120, "a new runner to catch up")
    assert health(web)[1]["status"] == "ok"
