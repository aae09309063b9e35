"""`python -m bench --city [--households N]`: the whole system at city scale (issue 10).

Kota Jambi is about 160,000 families (650,000 people); `--households` gives another size. Every
step runs the `casework` command as deployed (SQLite store and views by default, PostgreSQL with
`--store postgresql --views postgresql`: fresh databases on CASEWORK_BENCH_PG; encryption on,
keys in the store's key store), each as its own process, timed, with the peak resident memory
of every process it starts (VmHWM from /proc, sampled every 0.2 s):

1. **Seed**: `casework seed --households N --seed 1571` (the bulk path, `Casework.together()`)
   into a fresh store. The store is cached by a digest of the seed code, seed and size (SQLite:
   a file under `var/bench-cache/`; PostgreSQL: a database `cwcity_<digest>_<N>` kept on the
   server, copied for each run with `CREATE DATABASE ... TEMPLATE`), with its seed figures and
   the bench keys it was written with (`var/bench-cache/.../seed.json`); a later run reuses it
   and reprints those figures (`--fresh` seeds again).
2. **Rebuild**: `casework rebuild --workers 2` of every view from a copy of that store into
   empty views (no broker: from the store). Goal: 120 s for 2 million events, i.e. at least
   16,667 events/s; at another size the time for 2 million events is extrapolated linearly.
3. **Server time** of the reads a user waits for, in this process through the Flask test
   client (the whole request: sign-in session or bearer token, the read log row, the view
   query, rendering; no HTTP server or socket): search by name, NIK and KK, the household
   page, eligibility, the cross-OPD views, the overlap matrix and the reconciliation page,
   each over random values from the city (a supervisor). Goal: p95 < 50 ms each.
4. **Load**: `casework web` (gunicorn) on that store and views, and locust
   (`bench/locustfile.py`, headless, its own process) with 50 signed-in users of several roles
   (accounts and tokens made by `casework users add --password-stdin` and
   `casework tokens issue`) asking a mix of those pages and API reads. Goal: p95 < 250 ms,
   no errors. The server's own p95 (gunicorn's access log) is printed beside locust's.

Seed (and import) goal: the city in under 10 minutes on SQLite (160,000 families at least 267
families/s), under 20 on PostgreSQL; a smaller size is extrapolated linearly to the city.
Memory goal: under 1 GB per process (the benchmark's processes; PostgreSQL's own are not
counted).
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from adapters.bootstrap import bootstrap, open_store_reader
from adapters.codec import new_master_key
from adapters.db import Database
from adapters.settings import DatabaseUrl, Settings
from app import create_app
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv
from bench.city_plan import PLAN_ENV, Account, Plan, login_form
from bench.eligibility_city import (
    CACHE,
    CITY_FAMILIES,
    GENERATOR_SOURCES,
    SEED,
    Reads,
    checkpoint,
    sources_digest,
)
from bench.report import percentile
from bench.stores import Workspace
from projections import register
from projections.base import live_tables

ROOT = Path(__file__).resolve().parent.parent
CASEWORK = [sys.executable, "-m", "app.cli"]
CITY_VERSION = 1  # raise it when the cached city's making changes outside SEED_SOURCES
SEED_SOURCES = (*GENERATOR_SOURCES, "domain/use_case.py")  # the bulk path: Casework.together()
GB = 1024**3
GOAL_SEED_SECONDS = 600.0  # the city, 160,000 families, on SQLite
GOAL_SEED_SECONDS_PG = 1200.0  # on PostgreSQL
GOAL_RSS = 1 * GB
GOAL_REBUILD_SECONDS = 120.0  # for 2 million events
REBUILD_EVENTS = 2_000_000
GOAL_LOAD_P95_MS = 250.0
CASEWORKER_KELURAHAN = 2  # the case worker's area: the two largest kelurahan
PM_OPD = "DINSOS"
PASSWORD = "bench-city-password-0123"  # noqa: S105 - the benchmark's own throw-away accounts
SAMPLES = 300  # random values of each kind for the reads and the load test


# --- measuring processes ---------------------------------------------------------------------


class Peaks:
    """The peak resident memory (VmHWM) of a process and all its descendants, sampled."""

    def __init__(self, root: int, every: float = 0.2) -> None:
        self.root, self.every = root, every
        self.peaks: dict[int, tuple[str, int]] = {}  # pid -> (what it runs, bytes)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="peaks", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.every)

    def sample(self) -> None:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
        family, grew = {self.root}, True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in family} - family
            family |= more
            grew = bool(more)
        for pid in family:
            hwm = _vm_hwm(pid)
            if hwm and hwm > self.peaks.get(pid, ("", 0))[1]:
                self.peaks[pid] = (self.peaks.get(pid, (_what(pid), 0))[0] or _what(pid), hwm)

    def stop(self) -> dict[int, tuple[str, int]]:
        self.stop_event.set()
        self.thread.join()
        return self.peaks


def _vm_hwm(pid: int) -> int:
    try:
        for text in Path(f"/proc/{pid}/status").read_text().splitlines():
            if text.startswith("VmHWM:"):
                return int(text.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _what(pid: int) -> str:
    """A short name of what a process runs: `casework seed`, `spawned worker`, ..."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in args if a]
    text = " ".join(words)
    if "multiprocessing" in text:
        return "resource tracker" if "resource_tracker" in text else "spawned worker"
    if "app.cli" in words:
        rest = words[words.index("app.cli") + 1 :]
        return "casework " + " ".join(rest[:1])
    if "gunicorn" in text or "casework-web" in text:
        return "gunicorn"
    return os.path.basename(words[0]) if words else "?"


@dataclass
class Measured:
    """One command run to its end: seconds, exit code and each process's peak memory."""

    label: str
    seconds: float
    returncode: int
    peaks: dict[int, tuple[str, int]]
    load_before: list[float]
    load_after: list[float]
    stdout: str = ""

    def peak_text(self) -> str:
        return ", ".join(f"{what} {rss / 2**20:,.0f} MB" for what, rss in self.peak_list())

    def peak_list(self) -> list[tuple[str, int]]:
        return sorted(self.peaks.values(), key=lambda p: -p[1])

    @property
    def max_rss(self) -> int:
        return max((rss for _, rss in self.peaks.values()), default=0)


def run_measured(label: str, argv: list[str], env: dict[str, str], stdin: str = "") -> Measured:
    """Run a command (stderr passed through: its progress lines) and measure it."""
    load_before = _load()
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own command
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    peaks = Peaks(child.pid)
    out, _ = child.communicate(stdin)
    seconds = time.perf_counter() - started
    found = peaks.stop()
    if child.returncode:
        raise RuntimeError(f"{label}: `casework` exited with {child.returncode}")
    return Measured(label, seconds, child.returncode, found, load_before, _load(), out)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _casework(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """A short `casework` command (accounts, tokens): its standard output."""
    done = subprocess.run(  # noqa: S603 - our own command
        [*CASEWORK, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"casework {args[0]} {args[1]} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


# --- the figures -----------------------------------------------------------------------------


@dataclass
class Figure:
    """A measured figure beside its goal (None: no goal, a figure to read)."""

    name: str
    text: str
    goal: str
    ok: bool | None
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        verdict = "" if self.ok is None else (" OK" if self.ok else " BELOW TARGET")
        goal = f"goal {self.goal}" if self.goal else "no goal"
        return f"{self.name}: {self.text} ({goal}){verdict}"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "text": self.text,
            "goal": self.goal,
            "ok": self.ok,
            **self.extra,
        }


SIGN_IN = "/login"  # the sign-ins (argon2id, slow on purpose) are not one of the reads


@dataclass
class Load:
    """The load test's figures: every request's time as locust saw it (the sign-ins apart),
    and the server's own time of each from gunicorn's access log."""

    name: str
    users: int
    seconds: float
    samples: list[tuple[str, float, bool]]  # locust: name, ms, answered without error
    server: list[tuple[str, int, float]]  # gunicorn: route, status, ms
    per_name: list[dict[str, Any]]  # locust's own table
    peaks: dict[int, tuple[str, int]]
    load_before: list[float]
    load_after: list[float]
    think: str

    def reads_ms(self) -> list[float]:
        return [ms for name, ms, _ in self.samples if not name.startswith(SIGN_IN)]

    def server_ms(self) -> list[float]:
        return [ms for route, _, ms in self.server if route != SIGN_IN]

    @property
    def p95(self) -> float:
        return percentile(self.reads_ms(), 95)

    @property
    def failures(self) -> int:
        return sum(1 for *_, ok in self.samples if not ok)

    @property
    def server_errors(self) -> int:
        return sum(1 for _, status, _ in self.server if status >= 400)

    @property
    def ok(self) -> bool:
        return self.p95 < GOAL_LOAD_P95_MS and self.failures == 0 and self.server_errors == 0

    def line(self) -> str:
        verdict = "OK" if self.ok else "BELOW TARGET"
        reads, server = self.reads_ms(), self.server_ms()
        logins = [ms for name, ms, _ in self.samples if name.startswith(SIGN_IN)]
        return (
            f"{self.name}: {self.users} users ({self.think}) for {self.seconds:.0f} s ->"
            f" {len(reads):,} reads ({len(reads) / self.seconds:,.1f}/s): p50"
            f" {percentile(reads, 50):.0f} ms, p95 {self.p95:.0f} ms,"
            f" p99 {percentile(reads, 99):.0f} ms; {self.failures} failed"
            f" ({len(logins)} sign-in requests apart: p95 {percentile(logins, 95):.0f} ms);"
            f" server time p50 {percentile(server, 50):.0f} ms, p95 {percentile(server, 95):.0f}"
            f" ms, {self.server_errors} answers >= 400; peak memory"
            f" {max((r for _, r in self.peaks.values()), default=0) / 2**20:,.0f} MB"
            f" (goal p95 < {GOAL_LOAD_P95_MS:.0f} ms, no errors) {verdict}"
        )

    def as_json(self) -> dict[str, Any]:
        reads, server = self.reads_ms(), self.server_ms()
        return {
            "name": self.name,
            "users": self.users,
            "seconds": self.seconds,
            "think": self.think,
            "reads": len(reads),
            **{f"p{p}_ms": round(percentile(reads, p), 1) for p in (50, 95, 99)},
            "failures": self.failures,
            "sign_ins": len(self.samples) - len(reads),
            "server_p50_ms": round(percentile(server, 50), 1),
            "server_p95_ms": round(percentile(server, 95), 1),
            "server_errors": self.server_errors,
            "per_name": self.per_name,
            "peak_rss_mb": {f"{w} ({pid})": round(r / 2**20) for pid, (w, r) in self.peaks.items()},
            "load_before": self.load_before,
            "load_after": self.load_after,
            "ok": self.ok,
        }


def _rss_figure(name: str, run: Measured) -> Figure:
    return Figure(
        name=f"{name}: peak memory",
        text=run.peak_text(),
        goal="< 1 GB per process",
        ok=run.max_rss < GOAL_RSS,
        extra={
            "peak_rss_mb": {f"{w} ({pid})": round(r / 2**20) for pid, (w, r) in run.peaks.items()}
        },
    )


# --- (1) the seeded city, cached -------------------------------------------------------------


@dataclass
class City:
    households: int
    store: str  # the cached store's URL (never written to: each run works on a copy)
    seed: dict[str, Any]  # the seed's figures and keys (seed.json)
    reused: bool = False  # found in the cache: the figures are those of the run that made it

    @property
    def kind(self) -> str:
        return DatabaseUrl.parse(self.store, "CASEWORK_STORE").kind


def keys_env(master_key: str) -> dict[str, str]:
    return {
        "CASEWORK_SECRET_KEY": "bench-secret",
        "CASEWORK_MASTER_KEY": master_key,
        "CASEWORK_SIGNING_KEY": master_key[::-1],  # any 32 bytes: a bench key
        "CASEWORK_TENANT": "1571",
    }


def process_env(store: str, views: str, master_key: str) -> dict[str, str]:
    """The environment of a `casework` process on these store and views URLs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env.update(keys_env(master_key))
    env.update(
        {
            "CASEWORK_STORE": store,
            "CASEWORK_VIEWS": views,
            "CASEWORK_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _sqlite(path: Path) -> str:
    return f"sqlite:///{path}"


def city(ws: Workspace, households: int, fresh: bool = False) -> City:
    """The cached seeded store of `households` families, seeding it first when missing.

    SQLite: a file under `var/bench-cache/`. PostgreSQL: a database kept on the server
    (`cwcity_<digest>_<N>`, never written to: each run copies it with `CREATE DATABASE ...
    TEMPLATE`), its figures under `var/bench-cache/`; reused when seed.json names that
    database on that server and the database is there."""
    digest = sources_digest(SEED_SOURCES)
    pg = ws.store_kind == "postgresql"
    folder = CACHE / (f"city-c{CITY_VERSION}-{digest}-s{SEED}-{households}" + ("-pg" if pg else ""))
    figures = folder / "seed.json"
    database = f"cwcity_{digest}_{households}"
    if figures.exists() and not fresh:
        seed = json.loads(figures.read_text())
        if not pg and (folder / "store.db").exists():
            return City(households, _sqlite(folder / "store.db"), seed, reused=True)
        if (
            pg
            and seed.get("database") == database
            and seed.get("server") == ws.pg_server
            and ws.database_exists(database)
        ):
            return City(households, ws.pg_url(database), seed, reused=True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    master_key = new_master_key()
    if pg:
        for name in (database, f"{database}_partial"):
            ws.drop_database(name)
        partial = ws.create_database(f"{database}_partial", keep=True)
        views = ws.url(ws.views_kind, "seed_views")  # the seed writes no view: thrown away
    else:
        partial = _sqlite(folder / "partial_store.db")
        views = _sqlite(folder / "seed_views.db")
    env = process_env(partial, views, master_key)
    where = f"database {database} on {ws.pg_server}" if pg else str(folder)
    print(f"  city: seeding {households:,} families into {where} (casework seed)", flush=True)
    run = run_measured(
        "seed", [*CASEWORK, "seed", "--households", str(households), "--seed", str(SEED)], env
    )
    if not pg:
        checkpoint(folder / "partial_store.db")
        for leftover in folder.glob("seed_views.db*"):
            leftover.unlink()
    seed = {
        "households": households,
        "seed": SEED,
        "store_kind": ws.store_kind,
        "events": _events(partial),
        "seconds": round(run.seconds, 1),
        "peak_rss": {f"{w} ({pid})": r for pid, (w, r) in run.peaks.items()},
        "store_bytes": _db_size(ws, partial),
        "load_before": run.load_before,
        "load_after": run.load_after,
        "seeded_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "commit": _commit(),
        # a throw-away key of synthetic data: the copies of this store need it
        "master_key": master_key,
    }
    if pg:
        ws.rename_database(f"{database}_partial", database)
        seed.update(database=database, server=ws.pg_server)
        store = ws.pg_url(database)
    else:
        (folder / "partial_store.db").rename(folder / "store.db")
        store = _sqlite(folder / "store.db")
    figures.write_text(json.dumps(seed, indent=1))
    return City(households, store, seed)


def _events(store: str) -> int:
    reader = open_store_reader(DatabaseUrl.parse(store, "CASEWORK_STORE"))
    try:
        return reader.recorder.max_notification_id() or 0
    finally:
        reader.close()


def _commit() -> str:
    done = subprocess.run(  # noqa: S603, S607 - git, read only
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def _db_size(ws: Workspace, url: str) -> int:
    """A database's bytes: a SQLite file with its WAL, or `pg_database_size`."""
    parsed = DatabaseUrl.parse(url, "CASEWORK_STORE")
    if parsed.kind == "sqlite":
        return _size(Path(parsed.path))
    return ws.database_size(parsed.dbname)


def goal_seconds(kind: str) -> float:
    """The city's seed or import (issue 10): 10 minutes on SQLite, 20 on PostgreSQL."""
    return GOAL_SEED_SECONDS if kind == "sqlite" else GOAL_SEED_SECONDS_PG


def seed_figures(town: City) -> list[Figure]:
    seed = town.seed
    seconds, families, events = seed["seconds"], seed["households"], seed["events"]
    city_seconds = seconds * CITY_FAMILIES / families
    extrapolated = families != CITY_FAMILIES
    peaks, size = dict(seed["peak_rss"]), seed["store_bytes"]
    biggest = max(peaks.values(), default=0)
    goal = goal_seconds(town.kind)
    cache = (
        f"database {seed['database']} kept on {seed['server']}"
        if town.kind == "postgresql"
        else "var/bench-cache"
    )
    made = (
        f" (seeded {seed['seeded_at']}, commit {seed['commit']}, load"
        f" {seed['load_before'][0]}->{seed['load_after'][0]}"
        + (f"; reused from {cache})" if town.reused else ")")
    )
    return [
        Figure(
            name=f"city: seed {families:,} families (casework seed, bulk, {town.kind})",
            text=f"{seconds:,.1f} s, {families / seconds:,.0f} families/s,"
            f" {events:,} events ({events / seconds:,.0f}/s)"
            + (f"; the city linearly: {city_seconds / 60:,.1f} min" if extrapolated else "")
            + made,
            goal=f"the city (160,000 families) < {goal / 60:.0f} min",
            ok=city_seconds < goal,
            extra={
                **{k: v for k, v in seed.items() if k != "master_key"},
                "city_seconds_linear": round(city_seconds, 1),
                "extrapolated": extrapolated,
            },
        ),
        Figure(
            name="city: seed peak memory",
            text=", ".join(f"{w.split(' (')[0]} {r / 2**20:,.0f} MB" for w, r in peaks.items()),
            goal="< 1 GB per process",
            ok=biggest < GOAL_RSS,
        ),
        Figure(
            name="city: store size",
            text=f"{size / 2**20:,.0f} MB ({size / max(events, 1):,.0f} bytes per event,"
            f" {size / families / 1024:,.1f} KB per family)",
            goal="",
            ok=None,
        ),
    ]


# --- (1b) a city-size import ----------------------------------------------------------------


def import_figures(ws: Workspace, town: City) -> list[Figure]:
    """`casework import dtks FILE` of the city's families as DTKS lists them (one row per
    person, app/source_samples.py) into a fresh store: every row checked, each family
    registered with its members and its listing, in batches."""
    families = list(generate_households(town.households, SEED))
    path = write_csv(ws.dir / "dtks_city.csv", DTKS_HEADER, dtks_rows(families))
    rows = sum(1 + len(f["members"]) for f in families)
    del families
    store = ws.url(ws.store_kind, "import_store")
    env = process_env(store, ws.url(ws.views_kind, "import_views"), town.seed["master_key"])
    run = run_measured(
        "import", [*CASEWORK, "import", "dtks", str(path), "--period", "2026-Q1"], env
    )
    rate = town.households / run.seconds
    city_seconds = CITY_FAMILIES / rate
    goal = goal_seconds(ws.store_kind)
    return [
        Figure(
            name=f"city: import of {town.households:,} families (casework import dtks)",
            text=f"{run.seconds:,.1f} s, {rate:,.0f} families/s, {rows / run.seconds:,.0f} rows/s,"
            f" {_events(store):,} events, store {_db_size(ws, store) / 2**20:,.0f} MB"
            + (
                f"; the city linearly: {city_seconds / 60:,.1f} min"
                if town.households != CITY_FAMILIES
                else ""
            )
            + f" (load {run.load_before[0]}->{run.load_after[0]})",
            goal=f"the city < {goal / 60:.0f} min",
            ok=city_seconds < goal,
            extra={
                "seconds": round(run.seconds, 1),
                "rows": rows,
                "city_seconds_linear": round(city_seconds, 1),
                "load_before": run.load_before,
                "load_after": run.load_after,
            },
        ),
        _rss_figure("city: import", run),
    ]


# --- (2) the rebuild -------------------------------------------------------------------------


@dataclass
class Deployment:
    """A copy of the city's store, its views, and the environment of its processes."""

    store: str  # URLs
    views: str
    env: dict[str, str]
    events: int

    @property
    def settings(self) -> Settings:
        return Settings.from_env({k: v for k, v in self.env.items() if k.startswith("CASEWORK_")})


def deploy(ws: Workspace, town: City) -> Deployment:
    """A copy of the cached store (a file copy, or `CREATE DATABASE ... TEMPLATE`) and empty
    views of the workspace's kind."""
    if town.kind == "sqlite":
        path = ws.dir / "city_store.db"
        shutil.copyfile(DatabaseUrl.parse(town.store, "CASEWORK_STORE").path, path)
        store = _sqlite(path)
    else:
        store = ws.create_database(
            f"cwbench_city_store_{uuid.uuid4().hex[:8]}", template=town.seed["database"]
        )
    views = (
        _sqlite(ws.dir / "city_views.db")
        if ws.views_kind == "sqlite"
        else ws.url("postgresql", "city_views")
    )
    env = process_env(store, views, town.seed["master_key"])
    return Deployment(store, views, env, town.seed["events"])


def rebuild(ws: Workspace, deployment: Deployment, workers: int) -> list[Figure]:
    run = run_measured("rebuild", [*CASEWORK, "rebuild", "--workers", str(workers)], deployment.env)
    events = deployment.events
    rate = events / run.seconds
    for_goal = REBUILD_EVENTS / rate
    views_bytes = _db_size(ws, deployment.views)
    views_url = DatabaseUrl.parse(deployment.views, "CASEWORK_VIEWS")
    if views_url.kind == "sqlite":
        views_file = Path(views_url.path).stat().st_size
        views_text = (
            f"{views_bytes / 2**20:,.0f} MB with its WAL, {views_file / 2**20:,.0f} MB without"
        )
    else:
        views_file = views_bytes
        views_text = f"{views_bytes / 2**20:,.0f} MB (pg_database_size)"
    return [
        Figure(
            name=f"city: rebuild of every view (rebuild --workers {workers}, from the store)",
            text=f"{run.seconds:,.1f} s for {events:,} events ({rate:,.0f} events/s; 2 million"
            f" events at that rate: {for_goal:,.0f} s), load {run.load_before[0]}->"
            f"{run.load_after[0]}",
            goal=f"2 million events < {GOAL_REBUILD_SECONDS:.0f} s",
            ok=for_goal < GOAL_REBUILD_SECONDS,
            extra={
                "seconds": round(run.seconds, 1),
                "events": events,
                "events_per_s": round(rate),
                "seconds_for_2m": round(for_goal),
                "load_before": run.load_before,
                "load_after": run.load_after,
            },
        ),
        _rss_figure("city: rebuild", run),
        Figure(
            name="city: views size",
            text=f"{views_text} (store {_db_size(ws, deployment.store) / 2**20:,.0f} MB)",
            goal="",
            ok=None,
            extra={"views_bytes": views_bytes, "views_file_bytes": views_file},
        ),
    ]


# --- accounts and the values asked for -------------------------------------------------------


def make_plan(deployment: Deployment, households: int) -> Plan:
    """An account (web password and API token) per role, made by `casework users add` and
    `casework tokens issue`, and random values from the city."""
    views = Database(DatabaseUrl.parse(deployment.views, "CASEWORK_VIEWS"))
    try:
        table = live_tables(views, register.PROJECTION)["households"]
        rows = views.query(f"SELECT id, kelurahan FROM {table}")
    finally:
        views.close()
    rng = random.Random(SEED)
    by_kelurahan: dict[str, list[str]] = {}
    for household_id, kelurahan in rows:
        by_kelurahan.setdefault(kelurahan, []).append(household_id)
    largest = sorted(by_kelurahan, key=lambda k: -len(by_kelurahan[k]))[:CASEWORKER_KELURAHAN]
    roles = {
        "admin": [],
        "supervisor": [],
        "auditor": [],
        "caseworker": ["--kelurahan", *largest],
        "program_manager": ["--opd", PM_OPD],
    }
    accounts = {}
    for role, more in roles.items():
        name = f"bench-{role.replace('_', '-')}"
        _casework(
            deployment.env,
            "users",
            "add",
            name,
            "--role",
            role,
            *more,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        token = _casework(deployment.env, "tokens", "issue", name).strip().splitlines()[-1]
        accounts[role] = Account(
            name,
            role,
            PASSWORD,
            token,
            PM_OPD if role == "program_manager" else None,
            largest if role == "caseworker" else [],
        )
    names, niks, kks = _people(households, rng)
    area = [h for k in largest for h in by_kelurahan[k]]
    services = bootstrap(deployment.settings)
    try:
        programs = services.casework.list_programs()
    finally:
        services.close()
    return Plan(
        accounts=accounts,
        names=names,
        niks=niks,
        kks=kks,
        households=rng.sample([r[0] for r in rows], min(SAMPLES, len(rows))),
        area_households=rng.sample(area, min(SAMPLES, len(area))),
        programs=[p.code for p in programs],
        opd_programs=[p.code for p in programs if p.opd == PM_OPD],
        kelurahan=sorted(by_kelurahan),
    )


def _people(households: int, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """A word of a member's name, members' NIKs and KK numbers of random families, drawn as
    `casework seed` drew them (the same generator and seed)."""
    wanted = set(rng.sample(range(households), min(SAMPLES, households)))
    names, niks, kks = [], [], []
    for index, family in enumerate(generate_households(households, SEED)):
        if index not in wanted:
            continue
        register_ = family["register"]
        people = [register_["head"], *(m["person"] for m in family["members"])]
        person = rng.choice(people)
        names.append(rng.choice(person["name"].split()))
        niks.append(person["nik"])
        kks.append(register_["kk_number"])
    return names, niks, kks


# --- (3) server time in this process ---------------------------------------------------------


def reads(deployment: Deployment, plan: Plan, requests: int, warmup: int = 20) -> Iterator[Reads]:
    """p50/p95 of each read a user waits for, Flask test client, one thread (a supervisor)."""
    web = create_app(bootstrap(deployment.settings))
    try:
        reader = plan.accounts["supervisor"]
        page = web.test_client()
        form = login_form(page.get("/login").get_data(as_text=True), reader.name, PASSWORD)
        if page.post("/login", data=form).status_code != 303:
            raise RuntimeError("the supervisor could not sign in")
        api = web.test_client()
        api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {reader.token}"
        rng = random.Random(SEED + 1)
        pick = rng.choice
        cases = [
            ("search by name, page /?q=<word>", page, lambda: f"/?q={quote(pick(plan.names))}"),
            (
                "search by name, API ?q=<word>",
                api,
                lambda: f"/api/v1/households?q={quote(pick(plan.names))}",
            ),
            ("search by NIK, page /?q=<NIK>", page, lambda: f"/?q={pick(plan.niks)}"),
            ("search by NIK, API ?nik=", api, lambda: f"/api/v1/households?nik={pick(plan.niks)}"),
            ("search by KK, API ?kk=", api, lambda: f"/api/v1/households?kk={pick(plan.kks)}"),
            (
                "household page /rumah-tangga/<id>",
                page,
                lambda: f"/rumah-tangga/{pick(plan.households)}",
            ),
            (
                "eligibility API /households/<id>/eligibility",
                api,
                lambda: f"/api/v1/households/{pick(plan.households)}/eligibility",
            ),
            (
                "eligibility API /programs/<code>/eligible?kelurahan=",
                api,
                lambda: (
                    f"/api/v1/programs/{pick(plan.programs)}/eligible"
                    f"?kelurahan={quote(pick(plan.kelurahan))}"
                ),
            ),
            ("cross-OPD page /lintas-opd", page, lambda: "/lintas-opd"),
            ("cross-OPD API /overview", api, lambda: "/api/v1/overview"),
            (
                "cross-OPD API /overview?kelurahan=",
                api,
                lambda: f"/api/v1/overview?kelurahan={quote(pick(plan.kelurahan))}",
            ),
            ("overlap matrix API /overlaps", api, lambda: "/api/v1/overlaps"),
            ("reconciliation page /rekonsiliasi", page, lambda: "/rekonsiliasi"),
        ]
        for label, client, url in cases:
            samples = []
            for n in range(warmup + requests):
                target = url()
                started = time.perf_counter()
                response = client.get(target)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{label}: answered {response.status_code}")
                if n >= warmup:
                    samples.append(elapsed)
            yield Reads(
                f"city: {label}",
                samples,
                extra={"client": "Flask test client, one thread", "load": _load()},
            )
    finally:
        web.extensions["casework"].close()


# --- (4) the load test -----------------------------------------------------------------------

ACCESS = re.compile(r'"\S+ (\S+) \S+" (\d{3}) \S+ (\d+)ms "')


def load_test(
    deployment: Deployment, plan: Plan, ws: Workspace, users: int, seconds: int, think: float
) -> Load:
    port = _free_port()
    access_log = ws.dir / "web_access.log"
    env = dict(
        deployment.env,
        CASEWORK_HOST="127.0.0.1",
        CASEWORK_PORT=str(port),
        CASEWORK_LOG_LEVEL="WARNING",
    )
    plan_path = plan.write(ws.dir / "plan.json")
    with access_log.open("w") as out:
        web = subprocess.Popen(  # noqa: S603 - our own command
            [*CASEWORK, "web"], cwd=ROOT, env=env, stdout=out, start_new_session=True
        )
    peaks = Peaks(web.pid, every=0.5)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", web)
        prefix = ws.dir / "locust"
        load_before = _load()
        samples_path = ws.dir / "locust_samples.json"
        locust_env = dict(
            os.environ,
            **{
                PLAN_ENV: str(plan_path),
                "BENCH_THINK": str(think),
                "BENCH_SAMPLES": str(samples_path),
            },
        )
        done = subprocess.run(  # noqa: S603 - locust from this environment
            [
                str(Path(sys.executable).parent / "locust"),
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "-u",
                str(users),
                "-r",
                str(max(1, users // 5)),
                "-t",
                f"{seconds}s",
                "-H",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env=locust_env,
            capture_output=True,
            text=True,
        )
        load_after = _load()
        if done.returncode not in (0, 1):  # 1: some requests failed (counted below)
            raise RuntimeError(f"locust exited with {done.returncode}: {done.stderr[-500:]}")
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        try:
            web.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()
        found = peaks.stop()
    rows = _csv_rows(prefix.with_name(prefix.name + "_stats.csv"))
    server = [
        (hit.group(1), int(hit.group(2)), float(hit.group(3)))
        for hit in map(ACCESS.search, access_log.read_text().splitlines())
        if hit
    ]
    per_name = [
        {k: r[k] for k in ("Type", "Name", "Request Count", "Failure Count", "50%", "95%", "99%")}
        for r in rows
    ]
    return Load(
        name="city: load test (locust -> gunicorn)",
        users=users,
        seconds=seconds,
        samples=[tuple(s) for s in json.loads(samples_path.read_text())],
        server=server,
        per_name=per_name,
        peaks=found,
        load_before=load_before,
        load_after=load_after,
        think="no think time" if think <= 0 else f"think time {think / 2:g}-{think * 1.5:g} s",
    )


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as rows:
        return list(csv.DictReader(rows))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(url: str, web: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise RuntimeError(f"casework web exited with {web.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - our server
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("casework web did not answer /healthz")


# --- the benchmark ---------------------------------------------------------------------------


def run(
    ws: Workspace,
    households: int = CITY_FAMILIES,
    fresh: bool = False,
    requests: int = 200,
    users: int = 50,
    seconds: int = 60,
    think: float = 1.0,
    workers: int = 2,
    steps: tuple[str, ...] | list[str] = ("import", "rebuild", "reads", "load"),
) -> Iterator[Figure | Reads | Load]:
    """What `python -m bench --city` runs; each figure as soon as it is known."""
    town = city(ws, households, fresh)
    yield from seed_figures(town)
    if "import" in steps:
        yield from import_figures(ws, town)
    if "rebuild" not in steps:
        return
    deployment = deploy(ws, town)
    yield from rebuild(ws, deployment, workers)
    plan = make_plan(deployment, households)
    if "reads" in steps:
        yield from reads(deployment, plan, requests)
    if "load" in steps:
        yield load_test(deployment, plan, ws, users, seconds, think)


def summary(results: list[Any]) -> str:
    """The table printed at the end: each figure, its goal, PASS or BELOW."""
    lines = [f"{'figure':<62} {'result':<44} verdict", "-" * 116]
    for r in results:
        if isinstance(r, Reads):
            text = f"p95 {r.percentile(95):.1f} ms (p50 {r.percentile(50):.1f})"
            goal = f"p95 < {r.goal_p95_ms:.0f} ms"
        elif isinstance(r, Load):
            text = f"p95 {r.p95:.0f} ms, {r.failures} failed"
            goal = "p95 < 250 ms, no errors"
        else:
            text = r.text.split(";")[0]
            goal = r.goal or "-"
        ok = getattr(r, "ok", None)
        verdict = "-" if ok is None else ("PASS" if ok else "BELOW")
        lines.append(
            f"{r.name.removeprefix('city: ')[:62]:<62} {text[:44]:<44} {verdict}  ({goal})"
        )
    return "\n".join(lines)
