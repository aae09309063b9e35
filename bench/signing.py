"""The cost of signing: the relay publishing with its Ed25519 signatures against the same
relay publishing unsigned, in interleaved rounds of the same run (goal: at least 0.8).

One fresh embedded broker and store of synthetic events. The relay's envelope worker builds
and signs the messages in its child process (`consumers.relay.StoreReader`); for the
unsigned rounds the relay is handed a second envelope worker without a key. Each round
publishes the next slice of the store (sent, acknowledged and the position recorded).
"""

from __future__ import annotations

import statistics
import time

from adapters.bootstrap import bootstrap
from adapters.broker import EmbeddedBroker
from adapters.settings import Settings
from bench.pipeline import best, fill_store
from bench.report import Result
from bench.stores import Workspace
from consumers.relay import EnvelopeWorker, Relay


def run(ws: Workspace, events: int = 20_000, warmup: int = 2_000, rounds: int = 10) -> list:
    with EmbeddedBroker(log_path=ws.dir / "broker-signing.log") as broker:
        settings = Settings.from_env(ws.env("signing", kafka=broker.bootstrap))
        stored = fill_store(settings, warmup + events)
        relay = Relay(bootstrap(settings))
        signed = relay.source
        unsigned = EnvelopeWorker(settings.store, settings.tenant, relay.chunk_size)
        signed_rates: list[float] = []
        unsigned_rates: list[float] = []
        try:
            relay.open()
            if not relay.acquire_lease():
                raise RuntimeError("the benchmark relay could not take the lease")
            relay.connect()
            relay.publish(warmup)
            size = max(relay.batch_size, (stored - warmup) // (2 * rounds))
            size -= size % relay.batch_size
            turn = 0
            while relay.published + size <= stored:
                source, rates = (
                    (signed, signed_rates) if turn % 2 == 0 else (unsigned, unsigned_rates)
                )
                relay.source = source
                source.seek(relay.position)
                before, started = relay.published, time.perf_counter()
                relay.publish(size)
                rates.append((relay.published - before) / (time.perf_counter() - started))
                turn += 1
        finally:
            relay.source = signed
            unsigned.close()
            relay.close()
    return [
        Result(
            name="relay_signing",
            unit=" events/s",
            casework=best(signed_rates),
            casework_label="relay, signed",
            raw=best(unsigned_rates),
            raw_label="relay, unsigned",
            target=0.8,
            extra={
                "events_measured": size * (len(signed_rates) + len(unsigned_rates)),
                "statistic": "best of interleaved rounds",
                "median_signed_per_s": round(statistics.median(signed_rates)),
                "median_unsigned_per_s": round(statistics.median(unsigned_rates)),
                "rounds_signed_per_s": [round(r) for r in signed_rates],
                "rounds_unsigned_per_s": [round(r) for r in unsigned_rates],
                "signature": "Ed25519 over topic, key, value and headers (adapters.signing)",
            },
        )
    ]
