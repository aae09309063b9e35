"""Benchmark: the agency producer (`casework agencies`) beside the relay, with ten agreements.

One fresh embedded broker and one store of synthetic families with ten agency agreements in
force (each allowing the registrations and new members, some fields, half of them with
pseudonyms, some limited to a few kecamatan). The relay publishes the store (timed), the
projection runner builds the agencies view, and then the agency producer reads the whole
events topic and writes each agency's share in Kafka transactions (timed, from its first
batch to the last event read). The figure is the agency producer's events read per second
against the relay's events published per second, in the same run; the target is 0.5.

The producer runs as `casework agencies` does by default: one worker process per core
(`default_workers`), each owning its share of the events topic's partitions; the time is from
the moment every worker has done its first batch (the connections' set-up) to the last
worker's last event. The wide case runs three rounds (the best of each side and the median
rounds, as the other benchmarks report); it is measured with one worker too (a figure, no
target).
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from dataclasses import replace
from typing import Any

from adapters.bootstrap import bootstrap, open_casework
from adapters.broker import EmbeddedBroker
from adapters.settings import Settings
from bench.pipeline import fill_store
from bench.report import Result
from bench.stores import Workspace
from consumers.agency_producer import MAX_RECORDS, AgencyProducer, default_workers
from consumers.relay import Relay
from consumers.runner import Runner
from domain.application import SYSTEM, make_meta
from projections import agencies
from projections.status import store_counts

KECAMATAN = ["Telanaipura", "Jambi Selatan", "Kota Baru", "Alam Barajo", "Paal Merah"]


def agreements(count: int = 10, narrow: bool = False) -> list[dict]:
    """Ten agreements: every one allows registrations and new members with some fields (the
    wide case, measured against the target); `narrow`: each takes one of the two types."""
    made = []
    for k in range(count):
        types = ["HouseholdRegistered", "MemberAdded"]
        if narrow:
            types = types[k % 2 : k % 2 + 1]
        made.append(
            {
                "agency": f"AGENCY{k:02d}",
                "purpose": "benchmark",
                "legal_basis": f"PKS {k}/2026",
                "event_types": types,
                "fields": {
                    name: fields
                    for name, fields in (
                        (
                            "HouseholdRegistered",
                            ["kecamatan", "kelurahan", "head.nik", "head.name"],
                        ),
                        ("MemberAdded", ["relationship", "person.nik", "person.sex"]),
                    )
                    if name in types
                },
                "personal": "pseudonym" if k % 2 else "opened",
                "kecamatan": [] if k < 6 else KECAMATAN[: k - 4],
                "valid_from": "2026-01-01",
            }
        )
    return made


def bench_agencies(
    ws: Workspace, events: int = 20_000, partitions: int = 6, rounds: int = 3
) -> list[Result]:
    """The wide case (the target's) in `rounds` rounds, each on a fresh broker and store: the
    best round of each side, the median rounds beside it and every round's ratio in `extra`;
    the narrow case and one worker once each, as figures."""
    wide = [case(ws, events, partitions, f"agencies-{k}") for k in range(rounds)]
    best = max(wide, key=lambda r: r.casework)
    combined = replace(
        best,
        raw=max(r.raw for r in wide),
        casework_median=statistics.median(r.casework for r in wide),
        raw_median=statistics.median(r.raw for r in wide),
        extra={
            **best.extra,
            "rounds": rounds,
            "round_ratios": [round(r.ratio, 2) for r in wide],
            "median_round_ratio": round(statistics.median(r.ratio for r in wide), 2),
        },
    )
    return [
        combined,
        case(ws, events, partitions, "agencies-narrow", narrow=True),
        case(ws, events, partitions, "agencies-one", workers=1),
    ]


def case(
    ws: Workspace,
    events: int,
    partitions: int,
    label: str,
    narrow: bool = False,
    workers: int | None = None,
) -> Result:
    """One measurement on its own broker and store."""
    with EmbeddedBroker(log_path=ws.dir / f"broker-{label}.log") as broker:
        env = ws.env(label, kafka=broker.bootstrap, partitions=partitions)
        settings = Settings.from_env(env)
        app = open_casework(settings.store, settings.master_key)
        try:
            for terms in agreements(narrow=narrow):
                app.define_agency_agreement(terms, make_meta(SYSTEM, "cli"))
        finally:
            app.close()
        fill_store(settings, events)
        return run(settings, narrow, workers or default_workers(settings))


def _timed_worker(settings: Settings, worker: int, workers: int, start: Any, done: Any) -> None:
    """One worker process: connects and does its first batch, waits for the others, then
    reads its partitions to their end; puts (events read, of them in the first batch,
    messages written, of them in the first batch, start, end, CPU seconds) on `done`."""
    producer = AgencyProducer(bootstrap(settings), worker=worker, workers=workers)
    stop = threading.Event()
    producer.connect()
    consumer = producer.consumer
    assert consumer is not None
    deadline = time.monotonic() + 300

    def at_end() -> bool:
        return all(
            (high := consumer.highwater(tp)) is not None and consumer.position(tp) >= high
            for tp in producer.owned
        )

    while not producer.read and not at_end() and time.monotonic() < deadline:
        producer.poll_once(stop)  # the first batch holds the connections' set-up
    first, written_first = producer.read, producer.forwarded
    start.wait(120)
    started = time.perf_counter()  # CLOCK_MONOTONIC: one clock for every process
    cpu = time.process_time()
    while not at_end() and time.monotonic() < deadline:
        producer.poll_once(stop)
    ended = time.perf_counter()
    cpu = time.process_time() - cpu
    done.put((producer.read, first, producer.forwarded, written_first, started, ended, cpu))
    producer.close()


def run(settings: Settings, narrow: bool = False, workers: int = 1) -> Result:
    system = bootstrap(settings)
    published = store_counts(system.store)[1]
    relay = Relay(bootstrap(settings))
    relay.open()
    if not relay.acquire_lease():
        raise RuntimeError("the benchmark relay could not take the lease")
    relay.connect()
    started = time.perf_counter()
    relay.publish_pending()
    relay_seconds = time.perf_counter() - started
    relay_count = relay.published
    relay.close()

    runner = Runner(bootstrap(settings), projections=[agencies.PROJECTION])
    runner.connect()
    deadline = time.monotonic() + 300
    while runner.applied < relay_count and time.monotonic() < deadline:
        runner.poll_once()
    runner.close()

    context = multiprocessing.get_context("spawn")
    start, done = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(target=_timed_worker, args=(settings, worker, workers, start, done))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes = [done.get(timeout=400) for _ in processes]
    for process in processes:
        process.join(30)
    read = sum(o[0] for o in outcomes)
    measured = read - sum(o[1] for o in outcomes)
    written = sum(o[2] - o[3] for o in outcomes)
    agency_seconds = max(o[5] for o in outcomes) - min(o[4] for o in outcomes)
    if read < relay_count:
        raise RuntimeError(f"the agency producer read {read} of {relay_count} events")
    if narrow:
        name = "agency producer (narrow agreements)"
    elif workers == 1:
        name = "agency producer (one worker)"
    else:
        name = "agency producer"
    return Result(
        name=name,
        unit=" events/s",
        casework=measured / agency_seconds,
        casework_label=f"casework agencies (10 agreements, {workers} worker processes)",
        raw=relay_count / relay_seconds,
        raw_label="casework relay",
        target=0.5 if name == "agency producer" else None,
        extra={
            "workers": workers,
            "worker_cpu_share": [round(o[6] / max(o[5] - o[4], 1e-9), 2) for o in outcomes],
            "worker_events": [o[0] - o[1] for o in outcomes],
            "worker_seconds": [round(o[5] - o[4], 2) for o in outcomes],
            "events": relay_count,
            "events_measured": measured,
            "messages_written": written,
            "messages_per_event": round(written / max(measured, 1), 2),
            "agreements": 10,
            "agreements_take": "one of HouseholdRegistered, MemberAdded each"
            if narrow
            else "HouseholdRegistered and MemberAdded each",
            "agency_messages_per_s": round(written / agency_seconds),
            "events_per_transaction_max": MAX_RECORDS,
            "store_published_at_start": published,
            "statistic": "one pass each over the same events; the producer's after every worker's"
            " first batch, to the last worker's last event",
        },
    )
