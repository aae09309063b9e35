"""Benchmark: the eligibility view at city scale (Kota Jambi: 160,000 families, about
650,000 people; `CASEWORK_BENCH_FAMILIES` for another size).

The dataset: the synthetic families of `casework seed` (`app.seed.seed_app`: the program
catalog, then each family registered with its members and its history: KTPs with arrivals,
welfare assessments from several sources, NIBs, benefits at about the national rates, deaths,
terminations, objections) through the ordinary write side (`domain.application.Casework`,
encryption off: what encryption costs a rebuild is measured by the `encryption` benchmark), into
a SQLite store cached under `var/bench-cache/` by generator version, a digest of the seed code,
seed and size. The first generation of the full size takes a long while (it prints its
progress); later runs copy the cached store.

(1) Rebuild from scratch: every stored event read in chunks of 1,000 as the relay publishes it
(`EnvelopeEncoder` on the relay's reader), each NIK and KK number given its keyed hash
(`bench.encryption.plain_identities`, views keep no number in clear) and applied through
`projections.base.apply_envelopes` with the eligibility projection into empty tables, one
read-model transaction per chunk: what `casework rebuild` does (`consumers.runner`), without the
decryption. Raw side, same run: the same chunks read through the raw recorder
(`select_notifications`), each event's stored JSON decoded (`json.loads`, then encoded again as
the row's text) and one row per event written with a plain `executemany` in one transaction per
chunk, into a fresh table of the same kind of database. No target: the ratio says what the
rules cost over moving the events.

(2) A rule change with immediate effect (`ChangeProgramRules` of PKH, max_desil one decile
higher: 4 -> 5 in the seed catalog, taking effect today) stored by the write side and applied
as the runner applies it: every family re-evaluated for that program. Seconds, families
evaluated and families whose answer (a status or an eligible-from date) changed.

(3) Reads through the Flask test client (`create_app`, a supervisor's bearer token, in this
process; no HTTP server): p50/p95 of `GET /api/v1/households/<id>/eligibility` for random
families and of `GET /api/v1/programs/<code>/eligible?kelurahan=<k>` for random programs and
kelurahan. Goal: p95 < 50 ms.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from adapters.bootstrap import bootstrap, open_casework, open_store_reader
from adapters.codec import Codec
from adapters.db import Database
from adapters.keystore import KeyStore
from adapters.settings import DatabaseUrl, Settings
from adapters.store_schema import migrate
from adapters.wire import EnvelopeEncoder
from app import create_app
from app.seed import seed_app
from bench.encryption import plain_identities
from bench.report import Result, percentile
from bench.stores import Workspace, migrated
from domain.application import SYSTEM, Casework, make_meta
from domain.regions import KECAMATAN
from projections import eligibility
from projections.base import apply_envelopes, ensure_schema, live_tables
from projections.eligibility import PROJECTION

GENERATOR_VERSION = 1  # raise it when the dataset's generation changes
SEED = 1571
CITY_FAMILIES = 160_000
CACHE = Path("var/bench-cache")
GENERATOR_SOURCES = ("app/seed.py", "app/seed_data.py", "domain/catalog.py")
TENANT = "1571"
CHUNK = 1_000  # events per read-model transaction, as `casework rebuild`
RULE_PROGRAM = "PKH"
GOAL_P95_MS = 50.0
WARMUP = 20


def families_wanted(quick: bool) -> int:
    raw = os.environ.get("CASEWORK_BENCH_FAMILIES", "").strip()
    if raw:
        return int(raw)
    return 500 if quick else CITY_FAMILIES


class _Bar:
    """Progress of a long generation: a line every 2% (at least every 500 families)."""

    def __init__(self, total: int) -> None:
        self.total, self.started = total, time.monotonic()
        self.step = max(500, total // 50)

    def update(self, done: int) -> None:
        if done % self.step and done != self.total:
            return
        elapsed = time.monotonic() - self.started
        rate = done / max(elapsed, 1e-6)
        left = (self.total - done) / max(rate, 1e-6)
        print(
            f"  eligibility_city: generated {done:,}/{self.total:,} families"
            f" ({rate:,.0f}/s, {elapsed:,.0f} s, about {left:,.0f} s left)",
            flush=True,
        )


def dataset(families: int) -> Path:
    """The cached SQLite store of `families` synthetic families (generated on first use)."""
    path = CACHE / f"eligibility_city-g{GENERATOR_VERSION}-{sources_digest()}-s{SEED}-{families}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.db")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    print(f"  eligibility_city: generating {families:,} families into {path}", flush=True)
    url = migrated(DatabaseUrl.parse(f"sqlite:///{partial.resolve()}", "CASEWORK_STORE"))
    app = Casework(env=url.eventsourcing_env())
    try:
        counts = seed_app(app, families, seed_value=SEED, bar=_Bar(families))
    finally:
        app.close()
    if counts["skipped"]:
        raise RuntimeError(f"{counts['skipped']} families skipped: the store was not fresh")
    checkpoint(partial)
    partial.rename(path)
    return path


def sources_digest(names: tuple[str, ...] = GENERATOR_SOURCES) -> str:
    """A digest of the code that draws the families and the catalog: a change to it makes
    another dataset (the write side's own changes need GENERATOR_VERSION raised)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in names:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:10]


def checkpoint(path: Path) -> None:
    """Fold the WAL into the file, so the file alone is the store."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


if __name__ == "__main__":
    # `python -m bench.eligibility_city [FAMILIES]`: only generate (and cache) the dataset
    print(dataset(int(sys.argv[1]) if len(sys.argv) > 1 else CITY_FAMILIES))


# --- the figures -----------------------------------------------------------------------------


@dataclass
class Timing:
    """One timed operation, with no other side to compare with."""

    name: str
    seconds: float
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)
    ok: bool = True

    def line(self) -> str:
        return f"{self.name}: {self.seconds:,.1f} s, {self.detail} (no target)"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 3), **self.extra}


@dataclass
class Reads:
    """Response times of one read endpoint over random requests."""

    name: str
    samples_ms: list[float]
    goal_p95_ms: float = GOAL_P95_MS
    extra: dict[str, Any] = field(default_factory=dict)

    def percentile(self, p: float) -> float:
        return percentile(self.samples_ms, p)

    @property
    def ok(self) -> bool:
        return self.percentile(95) < self.goal_p95_ms

    def line(self) -> str:
        verdict = "OK" if self.ok else "BELOW TARGET"
        return (
            f"{self.name}: {len(self.samples_ms):,} requests (Flask test client) ->"
            f" p50 {self.percentile(50):.1f} ms, p95 {self.percentile(95):.1f} ms,"
            f" max {max(self.samples_ms or [0]):.1f} ms"
            f" (goal p95 < {self.goal_p95_ms:.0f} ms) {verdict}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": len(self.samples_ms),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "max_ms": round(max(self.samples_ms or [0]), 2),
            "goal_p95_ms": self.goal_p95_ms,
            "ok": self.ok,
            **self.extra,
        }


# --- (1) the rebuild and its raw side --------------------------------------------------------


class City:
    """A copy of the cached store in the workspace, and the views built from it."""

    def __init__(self, ws: Workspace, cached: Path) -> None:
        self.ws = ws
        self.store_path = ws.dir / "city_store.db"
        shutil.copyfile(cached, self.store_path)
        self.store_url = DatabaseUrl.parse(f"sqlite:///{self.store_path}", "CASEWORK_STORE")
        migrate(Database(self.store_url))  # the key store's tables (keyed hashes, tokens)
        self.views_url = DatabaseUrl.parse(ws.url(ws.views_kind, "city_views"), "CASEWORK_VIEWS")
        self.raw_url = ws.url(ws.views_kind, "city_raw")
        self.reader = open_store_reader(self.store_url)
        self.encoder = EnvelopeEncoder(self.reader, TENANT)
        self.top = self.reader.recorder.max_notification_id() or 0
        keys = KeyStore(Database(self.store_url), ws.master_key)
        keys.preload()
        self.codec = Codec(keys, remember=False)
        self.views = Database(self.views_url)
        ensure_schema(self.views, [PROJECTION])

    def close(self) -> None:
        self.reader.close()
        self.views.close()

    def _chunks(self, label: str) -> Iterator[list[Any]]:
        """The store's notifications, CHUNK at a time, with a progress line every 10%."""
        position, tenth, started = 0, 0, time.monotonic()
        recorder = self.reader.recorder
        while batch := recorder.select_notifications(position, CHUNK, inclusive_of_start=False):
            yield batch
            position = batch[-1].id
            if self.top >= 200_000 and 10 * position // self.top > tenth:
                tenth = 10 * position // self.top
                print(
                    f"  eligibility_city: {label} {position:,}/{self.top:,} events"
                    f" ({time.monotonic() - started:,.0f} s)",
                    flush=True,
                )

    def rebuild(self) -> tuple[int, float]:
        """(events applied, seconds): the eligibility view from scratch (empty tables)."""
        names = live_tables(self.views, PROJECTION)
        started = time.perf_counter()
        applied = 0
        for batch in self._chunks("rebuild"):
            envelopes = [plain_identities(self.codec, self.encoder.envelope(n)) for n in batch]
            with self.views.transaction() as cur:
                applied += apply_envelopes(cur, PROJECTION, names, envelopes)
        return applied, time.perf_counter() - started

    def raw(self) -> tuple[int, float]:
        """(events written, seconds): the same events read by the recorder, decoded, and
        written one row each with a plain executemany, one transaction per chunk."""
        conn, placeholder = _raw_connection(self.raw_url)
        table = f"raw_events_{int(time.monotonic() * 1000)}"
        conn.execute(
            f"CREATE TABLE {table} (position BIGINT PRIMARY KEY, stream_id VARCHAR(36),"
            " version INTEGER, topic TEXT, data TEXT)"
        )
        conn.commit()
        insert = f"INSERT INTO {table} VALUES ({', '.join([placeholder] * 5)})"
        started = time.perf_counter()
        written = 0
        for batch in self._chunks("raw side"):
            rows = []
            for n in batch:
                state = json.loads(n.state)
                rows.append(
                    (n.id, str(n.originator_id), n.originator_version, n.topic, json.dumps(state))
                )
            cur = conn.cursor()
            cur.executemany(insert, rows)
            conn.commit()
            written += len(rows)
        seconds = time.perf_counter() - started
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
        conn.close()
        return written, seconds

    def counts(self) -> dict[str, int]:
        names = live_tables(self.views, PROJECTION)
        one = self.views.query_one
        return {
            "families": one(f"SELECT COUNT(*) FROM {names['facts']}")[0],
            "people": one(f"SELECT COUNT(DISTINCT subject) FROM {names['persons']}")[0],
            "result_rows": one(f"SELECT COUNT(*) FROM {names['results']}")[0],
        }


def _raw_connection(url: str) -> tuple[Any, str]:
    """A plain DB-API connection (sqlite3 or psycopg) and its placeholder."""
    parsed = DatabaseUrl.parse(url, "raw")
    if parsed.kind == "sqlite":
        conn = sqlite3.connect(parsed.path)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn, "?"
    return psycopg.connect(url), "%s"


def bench_rebuild(city: City) -> Result:
    raw_events, raw_seconds = city.raw()
    events, seconds = city.rebuild()
    if events != raw_events:
        raise RuntimeError(f"the rebuild applied {events} events, the raw side wrote {raw_events}")
    counts = city.counts()
    return Result(
        name="eligibility_city: rebuild",
        unit=" events/s",
        casework=events / seconds,
        casework_label="eligibility view",
        raw=raw_events / raw_seconds,
        raw_label="raw read+decode+executemany",
        target=None,
        extra={
            "events": events,
            "seconds": round(seconds, 1),
            "raw_seconds": round(raw_seconds, 1),
            "views": city.ws.views_kind,
            **counts,
            "statistic": "one run of each side (the raw side first)",
        },
    )


# --- (2) a rule change -----------------------------------------------------------------------


def _answers(views: Database, code: str) -> dict[str, set[tuple]]:
    names = live_tables(views, PROJECTION)
    found: dict[str, set[tuple]] = {}
    for household_id, subject, status, eligible_from in views.query(
        f"SELECT household_id, subject, status, eligible_from FROM {names['results']}"
        " WHERE program=?",
        (code,),
    ):
        found.setdefault(household_id, set()).add((subject, status, eligible_from))
    return found


def bench_rule_change(city: City, writer: Casework) -> Timing:
    """PKH's max_desil 4 -> 5 from today, stored, then applied as the runner applies it."""
    before = _answers(city.views, RULE_PROGRAM)
    program = writer.get_program(RULE_PROGRAM)
    old = program.rules["max_desil"]
    writer.execute(
        "ChangeProgramRules",
        {
            "code": RULE_PROGRAM,
            "rules": {"max_desil": old + 1},
            "effective_from": eligibility.CLOCK().isoformat(),
        },
        make_meta(SYSTEM, "cli"),
    )
    batch = city.reader.recorder.select_notifications(city.top, CHUNK, inclusive_of_start=False)
    envelopes = [plain_identities(city.codec, city.encoder.envelope(n)) for n in batch]
    changes = [e for e in envelopes if e["type"] == "ProgramRulesChanged"]
    if len(changes) != 1:
        raise RuntimeError(f"expected one ProgramRulesChanged, found {len(changes)}")
    names = live_tables(city.views, PROJECTION)
    started = time.perf_counter()
    with city.views.transaction() as cur:
        apply_envelopes(cur, PROJECTION, names, changes)
    seconds = time.perf_counter() - started
    after = _answers(city.views, RULE_PROGRAM)
    families = city.counts()["families"]
    changed = sum(1 for h in before.keys() | after.keys() if before.get(h) != after.get(h))
    return Timing(
        name=f"eligibility_city: rule change ({RULE_PROGRAM} max_desil {old} -> {old + 1})",
        seconds=seconds,
        detail=f"{families:,} families evaluated, {changed:,} answers changed"
        f" ({families / seconds:,.0f} families/s)",
        extra={"families": families, "changed": changed, "views": city.ws.views_kind},
    )


# --- (3) reads -------------------------------------------------------------------------------


def bench_reads(city: City, writer: Casework, requests: int) -> list[Reads]:
    meta = make_meta(SYSTEM, "cli")
    writer.add_user("bench_reader", "supervisor", None, [], meta)
    token = writer.issue_token("bench_reader", meta)
    settings = Settings.from_env(
        {
            "CASEWORK_STORE": city.store_url.url,
            "CASEWORK_VIEWS": city.views_url.url,
            "CASEWORK_SECRET_KEY": "bench-secret",
            "CASEWORK_MASTER_KEY": city.ws.master_key_text,
            "CASEWORK_SIGNING_KEY": city.ws.master_key_text[::-1],
            "CASEWORK_LOG_LEVEL": "WARNING",
        }
    )
    web = create_app(bootstrap(settings))
    try:
        client = web.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        names = live_tables(city.views, PROJECTION)
        households = [r[0] for r in city.views.query(f"SELECT household_id FROM {names['facts']}")]
        programs = [p.code for p in writer.list_programs()]
        kelurahan = [k.name for kecamatan in KECAMATAN for k in kecamatan.kelurahan]
        rng = random.Random(SEED)

        def timed(urls: list[str]) -> list[float]:
            for url in urls[:WARMUP]:
                _get(client, url)
            samples = []
            for url in urls[WARMUP:]:
                started = time.perf_counter()
                _get(client, url)
                samples.append((time.perf_counter() - started) * 1000)
            return samples

        one = [
            f"/api/v1/households/{rng.choice(households)}/eligibility"
            for _ in range(WARMUP + requests)
        ]
        listed = [
            f"/api/v1/programs/{rng.choice(programs)}/eligible"
            f"?kelurahan={quote(rng.choice(kelurahan))}"
            for _ in range(WARMUP + requests)
        ]
        household_ms = timed(one)
        program_ms = timed(listed)
    finally:
        web.extensions["casework"].close()
    extra = {"views": city.ws.views_kind, "client": "Flask test client, one thread"}
    return [
        Reads("eligibility_city: GET /households/<id>/eligibility", household_ms, extra=extra),
        Reads(
            "eligibility_city: GET /programs/<code>/eligible?kelurahan=", program_ms, extra=extra
        ),
    ]


def _get(client: Any, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url.split('?')[0]} answered {response.status_code}")


# --- the benchmark ---------------------------------------------------------------------------


def run(ws: Workspace, quick: bool = False) -> Iterator[Result | Timing | Reads]:
    """What `python -m bench --only eligibility_city` runs; each figure as soon as it is known."""
    families = families_wanted(quick)
    cached = dataset(families)
    city = City(ws, cached)
    writer = open_casework(city.store_url, ws.master_key, migrate=False)
    try:
        yield bench_rebuild(city)
        yield bench_rule_change(city, writer)
        yield from bench_reads(city, writer, requests=100 if quick else 500)
    finally:
        writer.close()
        city.close()
