"""How /healthz and /status judge the projection runners from what they last wrote of
themselves (`projections.status.runners`, `runner_state`): gone, stuck or running, with a
runner that has nothing to do never hiding one that stalls."""

from __future__ import annotations

from adapters.db import Database
from adapters.settings import DatabaseUrl
from projections.base import RUNNERS_DDL
from projections.status import RELAY_GONE_SECONDS, STUCK_SECONDS, Runners, runner_state, runners

NOW = 1_800_000_000.0


def views_with(tmp_path, *rows: tuple[str, float, float]) -> Database:
    path = tmp_path / "views.db"
    db = Database(DatabaseUrl(url=f"sqlite:///{path}", kind="sqlite", path=str(path)))
    with db.transaction() as cur:
        cur.execute(RUNNERS_DDL)
        cur.executemany(
            "INSERT INTO projection_runners (runner, seen_at, progress_at) VALUES (?, ?, ?)",
            rows,
        )
    return db


def state(found: Runners, lag: int) -> dict:
    entry = {"lag": lag}
    runner_state(entry, found, now=NOW)
    return entry


def test_no_runner_of_this_version_leaves_the_lag_to_judge(tmp_path):
    db = views_with(tmp_path)
    assert runners(db, now=NOW) == Runners(None, None)
    assert state(runners(db, now=NOW), 5) == {"lag": 5}


def test_a_runner_alive_and_moving_is_running_whatever_its_lag(tmp_path):
    db = views_with(tmp_path, ("a:1", NOW - 1, NOW - 2))
    assert state(runners(db, now=NOW), 0) == {"lag": 0, "state": "running"}
    assert state(runners(db, now=NOW), 800)["state"] == "running"


def test_no_heartbeat_is_stopped_even_with_nothing_waiting(tmp_path):
    last = NOW - RELAY_GONE_SECONDS - 1
    db = views_with(tmp_path, ("a:1", last, last))
    entry = state(runners(db, now=NOW), 0)
    assert entry["state"] == "stopped" and entry["since"] == "2027-01-15T07:59:44Z"


def test_alive_without_progress_while_events_wait_is_stuck(tmp_path):
    stalled = NOW - STUCK_SECONDS - 5
    db = views_with(tmp_path, ("a:1", NOW - 1, stalled))
    assert state(runners(db, now=NOW), 0)["state"] == "running"  # nothing waits for it
    entry = state(runners(db, now=NOW), 3)
    assert entry["state"] == "stuck" and entry["since"] == "2027-01-15T07:59:25Z"


def test_an_idle_runner_does_not_hide_one_that_stalls(tmp_path):
    # b has no partition and polls nothing all day; a holds the partitions and hangs
    db = views_with(
        tmp_path, ("a:1", NOW - 1, NOW - STUCK_SECONDS - 5), ("b:2", NOW - 1, NOW - 0.2)
    )
    assert state(runners(db, now=NOW), 3)["state"] == "stuck"
    # a runner gone a while does not count as stalled: the others took its partitions
    db.close()
    (tmp_path / "views.db").unlink()
    db = views_with(tmp_path, ("a:1", NOW - 600, NOW - 600), ("b:2", NOW - 1, NOW - 0.2))
    assert state(runners(db, now=NOW), 3)["state"] == "running"
