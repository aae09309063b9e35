"""Benchmark: what encrypting personal data per person costs (crypto-shredding, UU PDP).

(a) Commands. RegisterHousehold + AddMember through `Casework` on two SQLite stores, the same
families on both: with encryption as production runs it (`open_casework(url, master_key)`:
every personal field a token under the person's key from the store's key store, NIK and KK
claims found by a keyed hash) against the same application without it
(`Casework(env, encrypt=False)`: fields stored as given, claims by a plain SHA-256).
Interleaved rounds, best of each side. Target >= 0.8.

(b) A rebuild of the register projection from the events (a) stored with encryption: read
from the store through the relay's reader (`open_store_reader`, so the envelopes carry the
tokens, as on the topic) in chunks of 1,000, each chunk opened by `projections.base.reveal`
(tokens decrypted, keyed hashes for the identifiers) and applied in one read-model
transaction into fresh tables, as `casework rebuild` does. The key store is a fresh one each
round (a new process: no key cached) and `preload`s the keys first, as before a rebuild.
Without decryption: the same loop, with the envelopes opened before the clock starts. (The
projection cannot apply envelopes that were never opened: it keeps a person's subject, keyed
hash and token, never a NIK, so there is no unencrypted path to set beside it.) The same
loop with the keys unwrapped one by one as they are met (no `preload`) is in the JSON.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

from app.seed_data import generate_households
from bench.commands import _run_casework, events_of
from bench.report import Result
from bench.stores import Workspace
from domain.application import Casework
from domain.personal_data import Codec
from domain.settings import DatabaseUrl
from projections import register
from projections.base import apply_envelopes, create_generation, drop_generation, ensure_schema
from projections.base import reveal as open_envelope
from projections.db import Database, open_casework, open_store_reader
from projections.envelope import EnvelopeEncoder
from projections.keystore import KeyStore

TENANT = "1571"
CHUNK = 1_000


def bench_commands(
    ws: Workspace, families_per_round: int = 80, rounds: int = 8, warmup: int = 20
) -> tuple[Result, DatabaseUrl]:
    """(a); also answers the encrypted store, for (b)."""
    everything = list(generate_households(warmup + families_per_round * rounds, seed=29))
    warm, measured = everything[:warmup], everything[warmup:]
    chunks = [
        measured[i * families_per_round : (i + 1) * families_per_round] for i in range(rounds)
    ]
    encrypted_url = ws.store("encryption_on")
    encrypted = open_casework(encrypted_url, ws.master_key)
    plain = Casework(env=ws.store("encryption_off").eventsourcing_env(), encrypt=False)
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
            name="encryption: commands",
            unit="/s",
            casework=max(encrypted_rates),
            casework_label="encrypted (key store)",
            raw=max(plain_rates),
            raw_label="not encrypted",
            target=0.8,
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
    )


def _chunks(reader: Casework, encoder: EnvelopeEncoder) -> Iterator[list[dict[str, Any]]]:
    """The store's envelopes, tokens and all, `CHUNK` at a time."""
    position = 0
    while batch := reader.recorder.select_notifications(position, CHUNK, inclusive_of_start=False):
        yield [encoder.envelope(n) for n in batch]
        position = batch[-1].id


class Rebuild:
    """The register projection rebuilt into fresh tables of the read-model database."""

    def __init__(self, store: DatabaseUrl, views: DatabaseUrl, master_key: bytes) -> None:
        self.store, self.master_key = store, master_key
        self.views = Database(views)
        self.reader = open_store_reader(store)
        self.encoder = EnvelopeEncoder(self.reader, TENANT)
        self.projection = register.PROJECTION
        self.generation = 1
        self.applied = 0
        ensure_schema(self.views, [self.projection])

    def codec(self, preload: bool) -> Codec:
        keys = KeyStore(Database(self.store), self.master_key)
        if preload:
            keys.preload()
        return Codec(keys)

    def opened(self) -> list[list[dict[str, Any]]]:
        codec = self.codec(preload=True)
        return [[open_envelope(codec, e) for e in chunk] for chunk in self._source()]

    def _source(self) -> Iterator[list[dict[str, Any]]]:
        return _chunks(self.reader, self.encoder)

    def run(self, opened: list[list[dict[str, Any]]] | None, preload: bool = True) -> float:
        """Events per second: with `opened`, those envelopes are applied instead of opening
        the ones read (which are still read and built, as the rebuild reads them)."""
        self.generation += 1
        with self.views.transaction() as cur:
            names = create_generation(cur, self.projection, self.generation)
        started = time.perf_counter()
        codec = None if opened is not None else self.codec(preload)
        applied = 0
        for i, chunk in enumerate(self._source()):
            envelopes = (
                opened[i] if opened is not None else [open_envelope(codec, e) for e in chunk]
            )
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


def bench_rebuild(ws: Workspace, store: DatabaseUrl, rounds: int = 6) -> Result:
    """(b)"""
    views = DatabaseUrl.parse(ws.url(ws.views_kind, "encryption_views"), "CASEWORK_VIEWS")
    rebuild = Rebuild(store, views, ws.master_key)
    try:
        opened = rebuild.opened()
        events = sum(len(chunk) for chunk in opened)
        rebuild.run(opened)  # warm-up, and a check that every event applies
        if rebuild.applied != events:
            raise RuntimeError(f"the rebuild applied {rebuild.applied} of {events} events")
        decrypting, plain, unloaded = [], [], []
        for i in range(rounds):
            for side in ("plain", "decrypting") if i % 2 == 0 else ("decrypting", "plain"):
                if side == "plain":
                    plain.append(rebuild.run(opened))
                else:
                    decrypting.append(rebuild.run(None))
            unloaded.append(rebuild.run(None, preload=False))
    finally:
        rebuild.close()
    return Result(
        name="encryption: register rebuild",
        unit=" events/s",
        casework=max(decrypting),
        casework_label="decrypting",
        raw=max(plain),
        raw_label="opened beforehand",
        target=None,
        extra={
            "events": events,
            "views": ws.views_kind,
            "rounds_decrypting_per_s": [round(r) for r in decrypting],
            "rounds_plain_per_s": [round(r) for r in plain],
            "rounds_decrypting_without_preload_per_s": [round(r) for r in unloaded],
            "statistic": "best of interleaved rounds",
            "median_decrypting_per_s": round(statistics.median(decrypting)),
            "median_plain_per_s": round(statistics.median(plain)),
            "best_decrypting_without_preload_per_s": round(max(unloaded)),
        },
    )


def run(ws: Workspace, quick: bool = False) -> list[Result]:
    """What `python -m bench` runs (`--only encryption`)."""
    sizes = {"families_per_round": 20, "rounds": 2, "warmup": 5} if quick else {}
    commands, store = bench_commands(ws, **sizes)
    return [commands, bench_rebuild(ws, store, rounds=2 if quick else 6)]


if __name__ == "__main__":
    with Workspace() as workspace:
        for result in run(workspace):
            print(result.line())
            print(result.extra)
