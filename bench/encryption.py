"""Benchmark: what encrypting personal data per person costs (crypto-shredding, UU PDP).

(a) Commands, with encryption as production runs it (`open_casework(url, master_key)`: every
personal field a token under the person's key from the store's key store, NIK and KK claims
found by a keyed hash) against the same application without it (`Casework(env,
encrypt=False)`: fields stored as given, claims by a plain SHA-256), on two SQLite stores.
Interleaved rounds, best of each side.
  - Registration with histories (target >= 0.8): families registered with their members and
    then their histories, as `casework seed` stores them (KTPs, assessments, verifications,
    grants, NIBs, deaths, objections, notes): a case worker's mix of commands.
  - Registration only (no target, the worst case): RegisterHousehold + AddMember alone, the
    same families on both sides; every command brings a new person (a new key to make, wrap
    and store) and nothing else.

(b) A full rebuild of the register projection from the events (a) stored, on each side: read
from the store through the relay's reader (`open_store_reader`: the envelopes as the topic
carries them) in chunks of 1,000 and applied in one read-model transaction each into fresh
tables, as `casework rebuild` does. Encrypted: each envelope opened by
`projections.base.reveal` (tokens decrypted with keys from a fresh, preloaded key store, as in
a new process). Not encrypted: the same families stored in clear, each NIK and KK number only
given its keyed hash (`plain_identities`: views keep no number in clear either way). Target
>= 0.8.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from adapters.bootstrap import open_casework, open_store_reader
from adapters.codec import KK_FIELDS, PERSONAL_FIELDS, Codec, Revealed
from adapters.db import Database
from adapters.keystore import KeyStore
from adapters.settings import DatabaseUrl
from adapters.store_schema import migrate
from adapters.wire import EnvelopeEncoder
from app.seed import seed_app
from app.seed_data import generate_households
from bench.commands import _run_casework, events_of
from bench.report import Result
from bench.stores import Workspace, migrated
from domain.application import Casework
from projections import register
from projections.base import (
    SEARCHED_FIELDS,
    Opened,
    apply_envelopes,
    create_generation,
    drop_generation,
    ensure_schema,
)
from projections.base import reveal as open_envelope

TENANT = "1571"
CHUNK = 1_000


def bench_commands(
    ws: Workspace, families_per_round: int = 80, rounds: int = 8, warmup: int = 20
) -> tuple[Result, DatabaseUrl, DatabaseUrl]:
    """(a); also answers both stores (the same families, encrypted and not), for (b)."""
    everything = list(generate_households(warmup + families_per_round * rounds, seed=29))
    warm, measured = everything[:warmup], everything[warmup:]
    chunks = [
        measured[i * families_per_round : (i + 1) * families_per_round] for i in range(rounds)
    ]
    encrypted_url, plain_url = ws.store("encryption_on"), ws.migrated_store("encryption_off")
    encrypted = open_casework(encrypted_url, ws.master_key)
    plain = Casework(env=plain_url.eventsourcing_env())
    try:
        _run_casework(encrypted, warm)
        _run_casework(plain, warm)
        encrypted_rates, plain_rates = [], []
        for i, chunk in enumerate(chunks):
            for side in ("plain", "encrypted") if i % 2 == 0 else ("encrypted", "plain"):
                app = plain if side == "plain" else encrypted
                n, seconds = _run_casework(app, chunk)
                (plain_rates if side == "plain" else encrypted_rates).append(n / seconds)
        stored = [n.state for n in encrypted.recorder.select_notifications(1, 3)]
        if not any(b'"pd1.' in state for state in stored):
            raise RuntimeError("the encrypted store holds no tokens")
    finally:
        encrypted.close()
        plain.close()
    commands = sum(1 + len(f["members"]) for f in chunks[0])
    return (
        Result(
            name="encryption: commands, registration only (worst case: new persons only)",
            unit="/s",
            casework=max(encrypted_rates),
            casework_label="encrypted (key store)",
            raw=max(plain_rates),
            raw_label="not encrypted",
            target=None,
            extra={
                "store": ws.store_kind,
                "families_per_round": families_per_round,
                "commands_per_round": commands,
                "events_per_round": events_of(chunks[0]),
                "rounds_encrypted_per_s": [round(r) for r in encrypted_rates],
                "rounds_plain_per_s": [round(r) for r in plain_rates],
                "statistic": "best of interleaved rounds",
                "median_encrypted_per_s": round(statistics.median(encrypted_rates)),
                "median_plain_per_s": round(statistics.median(plain_rates)),
            },
        ),
        encrypted_url,
        plain_url,
    )


def _chunks(reader: Casework, encoder: EnvelopeEncoder) -> Iterator[list[dict[str, Any]]]:
    """The store's envelopes, tokens and all, `CHUNK` at a time."""
    position = 0
    while batch := reader.recorder.select_notifications(position, CHUNK, inclusive_of_start=False):
        yield [encoder.envelope(n) for n in batch]
        position = batch[-1].id


def plain_identities(codec: Codec, envelope: dict[str, Any]) -> dict[str, Any]:
    """What a system without encryption would do with an envelope before the projection: each
    NIK and KK number (in clear on the topic) becomes a `Revealed` with its keyed hash (views
    find people by it and keep no number in clear either way); each other personal text an
    `Opened` that is its own token (a name with its search terms, as `reveal` makes them);
    nothing is decrypted."""

    def walk(value: Any, kind: str = "nik", field: str | None = None) -> Any:
        if type(value) is dict:
            return {
                walk(k): walk(v, "kk" if k in KK_FIELDS else "nik", k) for k, v in value.items()
            }
        if type(value) is list:
            return [walk(item, kind, field) for item in value]
        if type(value) is str and field in PERSONAL_FIELDS:
            opened = Opened(value)
            opened.token = value
            if field in SEARCHED_FIELDS:
                opened._codec = codec  # its terms hashed as `reveal` has them hashed
            return opened
        if type(value) is str and len(value) == 16 and value.isdigit():
            revealed = Revealed(value)
            revealed.keyed_hash = codec.lookup(kind, value)
            revealed.subject = revealed.keyed_hash[:32]
            revealed.token = value
            return revealed
        return value

    return {**envelope, "data": walk(envelope["data"])}


class Rebuild:
    """The register projection rebuilt into fresh tables of the read-model database, from the
    envelopes of one store (as the relay publishes them), each prepared by `prepare`."""

    def __init__(self, store: DatabaseUrl, views: DatabaseUrl, master_key: bytes) -> None:
        self.store, self.master_key = store, master_key
        migrate(Database(store))  # the key store's tables, on the plain store too
        self.views = Database(views)
        self.reader = open_store_reader(store)
        self.encoder = EnvelopeEncoder(self.reader, TENANT)
        self.projection = register.PROJECTION
        self.generation = 1
        self.applied = 0
        ensure_schema(self.views, [self.projection])

    def codec(self) -> Codec:
        """A fresh key store (a new process: nothing cached), preloaded as a rebuild does."""
        keys = KeyStore(Database(self.store), self.master_key)
        keys.preload()
        return Codec(keys, remember=False)  # as the runner's (`adapters.bootstrap.reader_codec`)

    def run(self, prepare: Callable[[Codec, dict[str, Any]], dict[str, Any]]) -> float:
        """Events per second, reading, preparing and applying every envelope of the store."""
        self.generation += 1
        with self.views.transaction() as cur:
            names = create_generation(cur, self.projection, self.generation)
        started = time.perf_counter()
        codec = self.codec()
        applied = 0
        for chunk in _chunks(self.reader, self.encoder):
            envelopes = [prepare(codec, e) for e in chunk]
            with self.views.transaction() as cur:
                applied += apply_envelopes(cur, self.projection, names, envelopes)
        seconds = time.perf_counter() - started
        with self.views.transaction() as cur:
            drop_generation(cur, self.projection, self.generation)
        self.applied = applied
        return applied / seconds

    def close(self) -> None:
        self.reader.close()
        self.views.close()


def bench_rebuild(
    ws: Workspace, encrypted_store: DatabaseUrl, plain_store: DatabaseUrl, rounds: int = 6
) -> Result:
    """(b)"""
    views = DatabaseUrl.parse(ws.url(ws.views_kind, "encryption_views"), "CASEWORK_VIEWS")
    encrypted = Rebuild(encrypted_store, views, ws.master_key)
    plain = Rebuild(plain_store, views, ws.master_key)
    try:
        encrypted.run(open_envelope)  # warm-up, and a check that both apply every event
        plain.run(plain_identities)
        if encrypted.applied != plain.applied or not plain.applied:
            raise RuntimeError(f"applied {encrypted.applied} vs {plain.applied} events")
        decrypting, not_encrypted = [], []
        for i in range(rounds):
            for side in ("plain", "decrypting") if i % 2 == 0 else ("decrypting", "plain"):
                if side == "plain":
                    not_encrypted.append(plain.run(plain_identities))
                else:
                    decrypting.append(encrypted.run(open_envelope))
    finally:
        encrypted.close()
        plain.close()
    return Result(
        name="encryption: register rebuild",
        unit=" events/s",
        casework=max(decrypting),
        casework_label="decrypting",
        raw=max(not_encrypted),
        raw_label="not encrypted",
        target=0.8,
        extra={
            "events": encrypted.applied,
            "views": ws.views_kind,
            "rounds_decrypting_per_s": [round(r) for r in decrypting],
            "rounds_plain_per_s": [round(r) for r in not_encrypted],
            "statistic": "best of interleaved rounds",
            "median_decrypting_per_s": round(statistics.median(decrypting)),
            "median_plain_per_s": round(statistics.median(not_encrypted)),
        },
    )


def _seed(app: Casework, households: int, seed: int) -> tuple[int, float]:
    """Families with their whole histories, as `casework seed` stores them: commands, seconds."""
    started = time.perf_counter()
    counts = seed_app(app, households, seed_value=seed)
    seconds = time.perf_counter() - started
    if counts["skipped"]:
        raise RuntimeError(f"{counts['skipped']} families skipped: the store was not fresh")
    done = sum(n for k, n in counts.items() if not k.startswith(("refused:", "skipped")))
    return done, seconds


def bench_histories(ws: Workspace, households: int = 40, rounds: int = 6) -> Result:
    """(a) on a case worker's mix: each family registered with its members and then its
    history (KTPs, assessments, verifications, grants, NIBs, deaths, objections, notes) through
    the same use cases the API calls (`app.seed.seed_app`), into fresh stores each round."""
    encrypted_rates, plain_rates, commands = [], [], 0
    for i in range(rounds):
        for side in ("plain", "encrypted") if i % 2 == 0 else ("encrypted", "plain"):
            url = ws.store(f"histories_{side}_{i}")
            app = (
                open_casework(url, ws.master_key)
                if side == "encrypted"
                else Casework(env=migrated(url).eventsourcing_env())
            )
            try:
                commands, seconds = _seed(app, households, seed=100 + i)
            finally:
                app.close()
            (plain_rates if side == "plain" else encrypted_rates).append(commands / seconds)
    return Result(
        name="encryption: commands, registration with histories",
        unit="/s",
        casework=max(encrypted_rates),
        casework_label="encrypted (key store)",
        raw=max(plain_rates),
        raw_label="not encrypted",
        target=0.8,
        extra={
            "store": ws.store_kind,
            "households_per_round": households,
            "commands_per_round": commands,
            "rounds_encrypted_per_s": [round(r) for r in encrypted_rates],
            "rounds_plain_per_s": [round(r) for r in plain_rates],
            "statistic": "best of interleaved rounds, fresh stores each round",
            "median_encrypted_per_s": round(statistics.median(encrypted_rates)),
            "median_plain_per_s": round(statistics.median(plain_rates)),
        },
    )


def run(ws: Workspace, quick: bool = False) -> list[Result]:
    """What `python -m bench` runs (`--only encryption`)."""
    sizes = {"families_per_round": 20, "rounds": 2, "warmup": 5} if quick else {}
    commands, encrypted_store, plain_store = bench_commands(ws, **sizes)
    histories = bench_histories(ws, households=8 if quick else 40, rounds=2 if quick else 6)
    rebuild = bench_rebuild(ws, encrypted_store, plain_store, rounds=2 if quick else 6)
    return [histories, commands, rebuild]


if __name__ == "__main__":
    with Workspace() as workspace:
        for result in run(workspace):
            print(result.line())
            print(result.extra)
