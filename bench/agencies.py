"""Benchmark: the agency producer (`casework agencies`) beside the relay, with ten agreements.

One fresh embedded broker and one store of synthetic families with ten agency agreements in
force (each allowing the registrations and new members, some fields, half of them with
pseudonyms, some limited to a few kecamatan). The relay publishes the store (timed), the
projection runner builds the agencies view, and then the agency producer reads the whole
events topic and writes each agency's share in Kafka transactions (timed, from its first
batch to the last event read). The figure is the agency producer's events read per second
against the relay's events published per second, in the same run; the target is 0.5.
"""

from __future__ import annotations

import threading
import time

from adapters.bootstrap import bootstrap, open_casework
from adapters.broker import EmbeddedBroker
from adapters.settings import Settings
from bench.pipeline import fill_store
from bench.report import Result
from bench.stores import Workspace
from consumers.agency_producer import MAX_RECORDS, AgencyProducer
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


def bench_agencies(ws: Workspace, events: int = 20_000, partitions: int = 6) -> list[Result]:
    results = []
    for narrow in (False, True):
        name = "agencies-narrow" if narrow else "agencies"
        with EmbeddedBroker(log_path=ws.dir / f"broker-{name}.log") as broker:
            env = ws.env(name, kafka=broker.bootstrap, partitions=partitions)
            settings = Settings.from_env(env)
            app = open_casework(settings.store, settings.master_key)
            try:
                for terms in agreements(narrow=narrow):
                    app.define_agency_agreement(terms, make_meta(SYSTEM, "cli"))
            finally:
                app.close()
            fill_store(settings, events)
            results.append(run(settings, narrow))
    return results


def run(settings: Settings, narrow: bool = False) -> Result:
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

    producer = AgencyProducer(bootstrap(settings))
    stop = threading.Event()
    producer.connect()
    first = 0
    while not first and time.monotonic() < deadline:
        first = producer.poll_once(stop)  # the first batch holds the connections' set-up
    written_first, started = producer.forwarded, time.perf_counter()
    while producer.read < relay_count and time.monotonic() < deadline:
        producer.poll_once(stop)
    agency_seconds = time.perf_counter() - started
    measured, written = producer.read - first, producer.forwarded - written_first
    producer.close()
    if producer.read < relay_count:
        raise RuntimeError(f"the agency producer read {producer.read} of {relay_count} events")
    return Result(
        name="agency producer (narrow agreements)" if narrow else "agency producer",
        unit=" events/s",
        casework=measured / agency_seconds,
        casework_label="casework agencies (10 agreements)",
        raw=relay_count / relay_seconds,
        raw_label="casework relay",
        target=None if narrow else 0.5,
        extra={
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
            "statistic": "one pass each over the same events; the producer's after its first batch",
        },
    )
