"""Benchmark: a long household. Loading one of 1,000 events with and without a snapshot, and
the command rate of `add_case_note` on it against a plain `eventsourcing` aggregate.

Build: a synthetic family registered through Casework, then case notes until the household
stream holds `events` events; the raw side builds a plain aggregate to the same length with
a similar event (text and a constant meta dict). The builds run in interleaved rounds (raw,
Casework, Casework, raw, ...) and are the command-rate figures: each command loads the
aggregate, triggers one event and saves it. Both applications take a snapshot every 100
versions (Casework's `snapshotting_intervals`; the raw one is given the same), so what is
left is Casework's own layer: meta, the checks, the `Stored` answer, and a larger state.

Loads: the finished household read through Casework (latest snapshot plus the events after
it) and through the same store by an application without snapshotting (every event
replayed), alternating, `loads` times each.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from adapters.bootstrap import open_casework
from adapters.codec import Codec
from app.seed_data import generate_households
from bench.report import Result
from bench.stores import Workspace
from domain.application import SYSTEM, Casework, make_meta
from domain.household import Household


class Notebook(Aggregate):
    """The raw side: an aggregate whose events carry a text and a meta, like CaseNoteAdded."""

    @event("Opened")
    def __init__(self, meta: dict[str, Any]) -> None:
        self.notes: list[dict[str, Any]] = []

    @event("NoteAdded")
    def add_note(self, text: str, meta: dict[str, Any]) -> None:
        self.notes.append({"text": text, "author": meta["actor"]["id"]})


class RawNotes(Application):
    name = "RawNotes"
    snapshotting_intervals = {Notebook: 100}

    def add_note(self, notebook_id: uuid.UUID, text: str, meta: dict[str, Any]) -> None:
        notebook = self.repository.get(notebook_id)
        notebook.add_note(text, meta)
        self.save(notebook)


class FullReplay(Casework):
    """Casework reading the same store without snapshots: every event is replayed."""

    snapshotting_intervals: dict = {}


NOTE = "Kunjungan rumah: keluarga ditemui, kondisi rumah dan pekerjaan dicatat. Tindak lanjut."


def _casework_notes(app: Casework, household_id: str, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        app.add_case_note(
            {"household_id": household_id, "text": f"{NOTE} ({i})"}, make_meta(SYSTEM, "ui")
        )
    return time.perf_counter() - started


def _raw_notes(app: RawNotes, notebook_id: uuid.UUID, count: int, meta: dict) -> float:
    started = time.perf_counter()
    for i in range(count):
        app.add_note(notebook_id, f"{NOTE} ({i})", meta)
    return time.perf_counter() - started


def _time_load(app: Application, aggregate_id: uuid.UUID) -> float:
    started = time.perf_counter()
    app.repository.get(aggregate_id)
    return time.perf_counter() - started


def bench_household_load(
    ws: Workspace, events: int = 1_000, rounds: int = 10, loads: int = 30
) -> list[Result]:
    family = next(generate_households(1, seed=11))
    url = ws.store("household_load")
    casework = open_casework(url, ws.master_key)
    raw = RawNotes(env=ws.migrated_store("household_load_raw").eventsourcing_env())
    meta = make_meta(SYSTEM, "ui")
    try:
        stored = casework.register_household(family["register"], make_meta(SYSTEM, "api"))
        household_id = stored.stream_id
        for member in family["members"]:
            casework.add_member({"household_id": household_id, **member}, make_meta(SYSTEM, "api"))
        notebook = Notebook(meta=meta)
        raw.save(notebook)
        notes = events - casework.get_household(household_id).version
        per_round = [notes // rounds + (1 if i < notes % rounds else 0) for i in range(rounds)]
        raw_per_round = [
            (events - 1) // rounds + (1 if i < (events - 1) % rounds else 0) for i in range(rounds)
        ]
        casework_rates, raw_rates = [], []
        for i in range(rounds):
            sides = ("raw", "casework") if i % 2 == 0 else ("casework", "raw")
            for side in sides:
                if side == "raw":
                    raw_rates.append(
                        raw_per_round[i] / _raw_notes(raw, notebook.id, raw_per_round[i], meta)
                    )
                else:
                    seconds = _casework_notes(casework, household_id, per_round[i])
                    casework_rates.append(per_round[i] / seconds)
        household = casework.get_household(household_id)
        if household.version != events:
            raise RuntimeError(f"the household has {household.version} events, not {events}")
        if raw.repository.get(notebook.id).version != events:
            raise RuntimeError(f"the raw notebook does not have {events} events")

        replaying = FullReplay(env=url.eventsourcing_env(), codec=Codec(casework.codec.ring))
        try:
            hid = uuid.UUID(household_id)
            if replaying.repository.get(hid).as_dict() != household.as_dict():
                raise RuntimeError("a full replay of the household differs from its snapshot load")
            with_snapshot, without = [], []
            for _ in range(loads):
                with_snapshot.append(_time_load(casework, hid))
                without.append(_time_load(replaying, hid))
        finally:
            replaying.close()
        snapshot = list(casework.snapshots.get(hid, desc=True, limit=1))[0]
        snapshot_bytes = len(casework.mapper.to_stored_event(snapshot).state)
    finally:
        casework.close()
        raw.close()

    best_with, best_without = min(with_snapshot), min(without)
    load = Result(
        name="household_load",
        unit=" loads/s",
        casework=1 / best_with,
        casework_label=f"{events:,}-event household from its snapshot",
        raw=1 / best_without,
        raw_label="replaying every event",
        target=1.0,
        extra={
            "store": ws.store_kind,
            "events": events,
            "snapshot_version": snapshot.originator_version,
            "snapshot_bytes": snapshot_bytes,
            "ms_per_load_with_snapshot": round(best_with * 1000, 2),
            "ms_per_load_full_replay": round(best_without * 1000, 2),
            "median_ms_with_snapshot": round(statistics.median(with_snapshot) * 1000, 2),
            "median_ms_full_replay": round(statistics.median(without) * 1000, 2),
            "speedup": round(best_without / best_with, 2),
            "loads": loads,
            "statistic": "best of alternating loads",
        },
    )
    rate = Result(
        name="case_notes",
        unit="/s",
        casework=max(casework_rates),
        casework_label="Household.add_case_note",
        raw=max(raw_rates),
        raw_label="raw aggregate",
        target=0.7,
        extra={
            "store": ws.store_kind,
            "events_per_stream": events,
            "snapshot_interval": Casework.snapshotting_intervals[Household],
            "rounds_casework_per_s": [round(r) for r in casework_rates],
            "rounds_raw_per_s": [round(r) for r in raw_rates],
            "median_casework_per_s": round(statistics.median(casework_rates)),
            "median_raw_per_s": round(statistics.median(raw_rates)),
            "statistic": "best of interleaved rounds",
        },
    )
    return [load, rate]


def run(ws: Workspace, quick: bool = False) -> list[Result]:
    """What `python -m bench` runs (`--only household_load`)."""
    if quick:
        return bench_household_load(ws, events=300, rounds=3, loads=10)
    return bench_household_load(ws)


if __name__ == "__main__":
    with Workspace() as workspace:
        for result in run(workspace):
            print(result.line())
            print(result.extra)
