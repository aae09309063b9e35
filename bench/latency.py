"""Benchmark 4: command-to-projection latency at a steady command rate.

The relay and the projection runner run as their own processes (`python -m app.cli relay`
and `... projections`), as in production. Commands (RegisterHousehold, then each family's
AddMember) are issued on a fixed schedule, open loop; a poller thread looks for every
pending household version in the register projection every few milliseconds. The latency
of a command is from its call returning to its row being visible. A plain consumer notes
when each event reaches the topic, which splits the latency into store -> topic (relay)
and topic -> view (runner).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from adapters import wire
from adapters.bootstrap import open_casework
from adapters.broker import EmbeddedBroker
from adapters.db import Database
from adapters.settings import Settings
from adapters.topics import EVENTS
from app.seed_data import generate_households
from bench.report import Latency, percentile
from bench.stores import Workspace
from domain.application import SYSTEM, Casework, make_meta
from projections import register
from projections.base import live_tables

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.002


class Visibility:
    """Pending (household, version) pairs, and when each became visible in the projection."""

    def __init__(self, views: Database) -> None:
        self.views = views
        self.lock = threading.Lock()
        self.pending: dict[str, list[tuple[int, float, bool]]] = {}
        self.samples: list[tuple[str, int, float, float]] = []  # stream, version, returned, seen
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, name="visibility", daemon=True)
        self.table = ""

    def start(self) -> None:
        self.table = live_tables(self.views, register.PROJECTION)["households"]
        self.thread.start()

    def expect(self, stream_id: str, version: int, returned_at: float, measured: bool) -> None:
        with self.lock:
            self.pending.setdefault(stream_id, []).append((version, returned_at, measured))

    @property
    def latencies_ms(self) -> list[float]:
        return [(seen - returned) * 1000 for _, _, returned, seen in self.samples]

    def outstanding(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.pending.values())

    def _poll(self) -> None:
        try:
            while not self.stop.is_set():
                with self.lock:
                    ids = list(self.pending)
                if ids:
                    marks = ",".join("?" for _ in ids)
                    rows = self.views.query(
                        f"SELECT id, version FROM {self.table} WHERE id IN ({marks})", ids
                    )
                    seen_at = time.perf_counter()
                    self._resolve(rows, seen_at)
                time.sleep(POLL_SECONDS)
        finally:
            self.views.close()

    def _resolve(self, rows: list[tuple], seen_at: float) -> None:
        with self.lock:
            for stream_id, version in rows:
                waiting = self.pending.get(stream_id, [])
                still = []
                for expected, returned_at, measured in waiting:
                    if expected <= version:
                        if measured:
                            self.samples.append((stream_id, expected, returned_at, seen_at))
                    else:
                        still.append((expected, returned_at, measured))
                if still:
                    self.pending[stream_id] = still
                else:
                    self.pending.pop(stream_id, None)


class Arrivals:
    """When each event first shows up on the topic, to split the latency into its two legs."""

    def __init__(self, bootstrap: str, partitions: int) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id="casework-bench-arrivals",
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
        )
        assigned = [TopicPartition(EVENTS, p) for p in range(partitions)]
        self.consumer.assign(assigned)
        self.consumer.seek_to_beginning(*assigned)
        self.seen: dict[tuple[str, int], float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, name="arrivals", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while not self.stop.is_set():
                for records in self.consumer.poll(timeout_ms=100).values():
                    now = time.perf_counter()
                    for record in records:
                        env = wire.decode(record.value)
                        self.seen.setdefault((env["stream_id"], env["version"]), now)
        finally:
            self.consumer.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def _legs(visibility: Visibility, arrivals: Arrivals | None) -> dict[str, float]:
    """p50/p95 of command -> topic (relay) and topic -> view (runner) in ms."""
    if arrivals is None:
        return {}
    relay, runner = [], []
    for stream_id, version, returned, seen in visibility.samples:
        on_topic = arrivals.seen.get((stream_id, version))
        if on_topic is not None:
            relay.append((on_topic - returned) * 1000)
            runner.append((seen - on_topic) * 1000)
    legs = {}
    for name, values in (("store_to_topic", relay), ("topic_to_view", runner)):
        if values:
            legs[f"{name}_p50_ms"] = round(percentile(values, 50), 1)
            legs[f"{name}_p95_ms"] = round(percentile(values, 95), 1)
    return legs


def _commands(seed: int) -> Iterator[dict]:
    """An endless stream of families' commands: register, then each member."""
    for family in generate_households(1_000_000, seed):
        yield {"register": family["register"]}
        for member in family["members"]:
            yield {"member": member}


def _start(service: str, env: dict[str, str], logs: Path) -> subprocess.Popen:
    full = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")} | env
    log = open(logs / f"{service}.log", "ab")  # noqa: SIM115 - closed when the process is reaped
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", service],
        env=full,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _stop(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    for proc in processes:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _wait(
    predicate, timeout: float, what: str, processes: list[subprocess.Popen], logs: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for proc in processes:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[-1]} exited ({proc.returncode}); see {logs}")
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}; logs in {logs}")


def bench_latency(
    ws: Workspace, rate: float = 100, seconds: float = 20, warmup: float = 3
) -> Latency:
    logs = ws.dir
    with EmbeddedBroker(log_path=logs / "broker-latency.log") as broker:
        env = ws.env("latency", kafka=broker.bootstrap)
        settings = Settings.from_env(env)
        app = open_casework(settings.store, settings.master_key)
        views = Database(settings.views)
        processes = [_start("relay", env, logs), _start("projections", env, logs)]
        visibility = Visibility(views)
        arrivals: Arrivals | None = None
        try:
            _wait(
                lambda: views.table_exists("projection_state"),
                60,
                "the runner's schema",
                processes,
                logs,
            )
            visibility.start()
            commands = _commands(seed=23)
            # The first command waits for the runner's group join; then a warm-up at the full rate.
            household = _issue(app, visibility, next(commands), None, measured=False)
            _wait(lambda: visibility.outstanding() == 0, 90, "the first household", processes, logs)
            arrivals = Arrivals(broker.bootstrap, settings.partitions)
            household = _run_schedule(
                app, visibility, commands, rate, warmup, household, measured=False
            )
            _wait(lambda: visibility.outstanding() == 0, 30, "the warm-up", processes, logs)
            started = time.perf_counter()
            _run_schedule(app, visibility, commands, rate, seconds, household, measured=True)
            elapsed = time.perf_counter() - started
            deadline = time.monotonic() + 15
            while visibility.outstanding() and time.monotonic() < deadline:
                time.sleep(0.05)
            missed = visibility.outstanding()
        finally:
            visibility.stop.set()
            if visibility.thread.is_alive():
                visibility.thread.join(5)
            if arrivals is not None:
                arrivals.close()
            _stop(processes)
            app.close()
            views.close()
    issued = len(visibility.latencies_ms) + missed
    return Latency(
        name="latency",
        rate=rate,
        seconds=seconds,
        samples_ms=visibility.latencies_ms,
        missed=missed,
        extra={
            "achieved_rate": round(issued / elapsed, 1),
            **_legs(visibility, arrivals),
            "poll_interval_ms": POLL_SECONDS * 1000,
            "processes": "relay and projections as subprocesses (python -m app.cli ...)",
            "store": ws.store_kind,
            "views": ws.views_kind,
        },
    )


def _issue(
    app: Casework, visibility: Visibility, command: dict, household: str | None, measured: bool
) -> str:
    if "register" in command:
        result = app.register_household(command["register"], make_meta(SYSTEM, "api"))
    else:
        result = app.add_member(
            {"household_id": household, **command["member"]}, make_meta(SYSTEM, "api")
        )
    visibility.expect(result.stream_id, result.version, time.perf_counter(), measured)
    return result.stream_id


def _run_schedule(
    app: Casework,
    visibility: Visibility,
    commands: Iterator[dict],
    rate: float,
    seconds: float,
    household: str,
    measured: bool,
) -> str:
    """Issue commands at `rate` per second for `seconds`, each at its slot (open loop)."""
    start = time.perf_counter()
    for k in range(int(rate * seconds)):
        command = next(commands)
        delay = start + k / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        household = _issue(app, visibility, command, household, measured)
    return household
