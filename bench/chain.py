"""Benchmark: the cost of the event chain (`adapters.chain`), and `casework audit verify`.

Commands as deployed (encrypted with the store's key store, `open_casework`) with the chain
against the same without it (the recorder's `link_events` off), the same families in
interleaved rounds on two fresh stores of the same kind: what is left is the cost of the
links written in the events' transaction (one read of the head, one insert per event).
Target 0.8.

Then `casework audit verify` on the chained store, in events per second, beside a plain read
of the same rows and links in the same order (no hashing): a figure to read, no target.
"""

from __future__ import annotations

import statistics
import time

from adapters import chain
from adapters.bootstrap import open_casework
from adapters.db import Database
from adapters.relay_store import events_table
from app.seed_data import generate_households
from bench.commands import _run_casework, events_of
from bench.report import Result
from bench.stores import Workspace


def _plain_read(store: Database) -> tuple[int, float]:
    """Every event and link read in position order, nothing hashed."""
    table, column = events_table(store)
    started = time.perf_counter()
    count = 0
    for _ in chain._events(store, table, column, 10**18):
        count += 1
    for _ in chain._links(store, 10**18):
        pass
    return count, time.perf_counter() - started


def run(
    ws: Workspace, families_per_round: int = 150, rounds: int = 9, warmup: int = 40
) -> list[Result]:
    everything = list(generate_households(warmup + families_per_round * rounds, seed=11))
    warm, measured = everything[:warmup], everything[warmup:]
    chunks = [
        measured[i * families_per_round : (i + 1) * families_per_round] for i in range(rounds)
    ]
    chained_url = ws.store("chain_with")
    chained = open_casework(chained_url, ws.master_key)
    unchained = open_casework(ws.store("chain_without"), ws.master_key)
    unchained.recorder.link_events = False
    try:
        _run_casework(chained, warm)
        _run_casework(unchained, warm)
        with_rates, without_rates = [], []
        for i, chunk in enumerate(chunks):
            sides = ("with", "without") if i % 2 == 0 else ("without", "with")
            for side in sides:
                n, seconds = _run_casework(chained if side == "with" else unchained, chunk)
                (with_rates if side == "with" else without_rates).append(n / seconds)
    finally:
        chained.close()
        unchained.close()
    store = Database(chained_url)
    try:
        verdict = chain.verify(store)
        if not verdict.ok:
            raise RuntimeError(f"the benchmark's own chain does not verify: {verdict.broken}")
        read, read_seconds = _plain_read(store)
    finally:
        store.close()
    commands = sum(1 + len(f["members"]) for f in chunks[0])
    return [
        Result(
            name="commands with the event chain",
            unit="/s",
            casework=max(with_rates),
            casework_label="casework as deployed, chained",
            raw=max(without_rates),
            raw_label="the same without the chain",
            target=0.8,
            extra={
                "store": ws.store_kind,
                "commands_per_round": commands,
                "events_per_round": events_of(chunks[0]),
                "rounds_with_per_s": [round(r) for r in with_rates],
                "rounds_without_per_s": [round(r) for r in without_rates],
                "statistic": "best of interleaved rounds",
                "median_with_per_s": round(statistics.median(with_rates)),
                "median_without_per_s": round(statistics.median(without_rates)),
            },
        ),
        Result(
            name="audit verify",
            unit="events/s",
            casework=verdict.events / verdict.seconds,
            casework_label="casework audit verify",
            raw=read / read_seconds,
            raw_label="the same rows read, nothing hashed",
            target=None,
            extra={"store": ws.store_kind, "events": verdict.events},
        ),
    ]
