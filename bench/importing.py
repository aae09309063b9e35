"""Benchmark: `casework import` against a raw `eventsourcing` batched save of the same events.

Casework side: `app.importer.Importer` importing a DTKS file (app/source_samples.py, one row
per person) of new families into the store, as the CLI does (`own_process`: its rows checked
on both cores, app/import_ahead.py): reading and decoding the file, checking every row with
the command schemas, and for each family RegisterHousehold, AddMember per member,
RecordSourceListing, through the command handlers, saved in batches of 100 families
(`Casework.together`). Raw side: plain aggregates with the same events (a family registered,
a member added per member, a listing; its KK and NIK claims) built from the same families
already in memory, saved in the same batches with one `Application.save` each: what is left
is the cost of Casework's import (parsing, validation, rules, meta, keyed hashes).

The target (0.5) is for encryption off (`Casework(env)`), as in the commands benchmark;
"import as deployed" (encrypted, key store) is printed beside it, no target.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import event

from adapters.bootstrap import open_casework
from adapters.db import Database
from adapters.store_schema import ensure_migrated
from app.importer import BATCH, Importer
from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv
from bench.commands import Claim, Family
from bench.report import Result
from bench.stores import Workspace
from domain.application import SYSTEM, Casework, make_meta

PERIOD = "2026-Q1"


class ListedFamily(Family):
    @event("Listed")
    def listed(self, listing: dict[str, Any], meta: dict[str, Any]) -> None:
        pass


class RawImport(Application):
    name = "RawImport"

    def save_batch(self, families: list[dict], meta: dict[str, Any]) -> int:
        aggregates: list[Any] = []
        for family in families:
            household = ListedFamily(meta=meta, **family["register"])
            claims = [
                Claim(
                    key=f"kk:{family['register']['kk_number']}", family_id=household.id, meta=meta
                )
            ]
            claims.append(
                Claim(
                    key=f"nik:{family['register']['head']['nik']}",
                    family_id=household.id,
                    meta=meta,
                )
            )
            for member in family["members"]:
                household.add_member(member["person"], member["relationship"], meta)
                claims.append(
                    Claim(key=f"nik:{member['person']['nik']}", family_id=household.id, meta=meta)
                )
            household.listed(
                {
                    "source": "DTKS",
                    "period": PERIOD,
                    "reference": f"dtks.csv#row={len(aggregates)}",
                    "kk_number": family["register"]["kk_number"],
                    "members": [
                        {
                            "nik": m["person"]["nik"],
                            "relationship": m["relationship"],
                            "deceased": False,
                        }
                        for m in family["members"]
                    ],
                    "desil": None,
                    "benefits": [],
                },
                meta,
            )
            aggregates += [household, *claims]
        self.save(*aggregates)
        return len(families)


def _run_import(app: Casework, path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    summary = Importer(app, "dtks", PERIOD, batch=BATCH, own_process=True).run([path])  # as the CLI
    seconds = time.perf_counter() - started
    if summary.rejected_rows or summary.families["imported"] == 0:
        raise RuntimeError(f"the import benchmark's file was not imported: {summary.lines()}")
    return summary.families["imported"], seconds


def _run_raw(app: RawImport, families: list[dict]) -> tuple[int, float]:
    meta = make_meta(SYSTEM, "import:dtks")
    started = time.perf_counter()
    done = sum(
        app.save_batch(families[i : i + BATCH], meta) for i in range(0, len(families), BATCH)
    )
    return done, time.perf_counter() - started


def bench_import(
    ws: Workspace, families_per_round: int = 400, rounds: int = 5, warmup: int = 100
) -> list[Result]:
    everything = list(generate_households(warmup + families_per_round * rounds, seed=13))
    # new families each round (the same file again would add nothing); each side its own store
    chunks = [
        everything[warmup + i * families_per_round : warmup + (i + 1) * families_per_round]
        for i in range(rounds)
    ]
    plain_url = ws.store("import_casework")
    ensure_migrated(Database(plain_url))  # the store's own tables (the chain's links)
    casework = Casework(env=plain_url.eventsourcing_env())
    deployed = open_casework(ws.store("import_deployed"), ws.master_key)
    # the library's own recorder: no chain links, no key store
    raw_env = ws.store("import_raw").eventsourcing_env()
    raw_env.pop("APPLICATION_RECORDER_TOPIC", None)
    raw = RawImport(env=raw_env)
    rates: dict[str, list[float]] = {"casework": [], "deployed": [], "raw": []}
    with TemporaryDirectory(prefix="casework-bench-import-") as tmp:
        directory = Path(tmp)

        def file_of(name: str, families: list[dict]) -> Path:
            return write_csv(directory / f"{name}.csv", DTKS_HEADER, dtks_rows(families))

        try:
            _run_import(casework, file_of("warm_casework", everything[:warmup]))
            _run_import(deployed, file_of("warm_deployed", everything[:warmup]))
            _run_raw(raw, everything[:warmup])
            for i in range(rounds):
                order = ("raw", "casework", "deployed")
                for side in order[i % 3 :] + order[: i % 3]:
                    families = chunks[i]
                    if side == "raw":
                        n, seconds = _run_raw(raw, families)
                    else:
                        app = casework if side == "casework" else deployed
                        n, seconds = _run_import(app, file_of(f"{side}_{i}", families))
                    rates[side].append(n / seconds)
        finally:
            casework.close()
            deployed.close()
            raw.close()
    rows = sum(1 + len(f["members"]) for f in chunks[0])
    extra = {
        "store": ws.store_kind,
        "families_per_round": families_per_round,
        "rows_per_round": rows,
        "batch": BATCH,
        "statistic": "best of interleaved rounds",
        **{f"rounds_{k}_per_s": [round(r) for r in v] for k, v in rates.items()},
        **{f"median_{k}_per_s": round(statistics.median(v)) for k, v in rates.items()},
    }
    best_raw = max(rates["raw"])
    return [
        Result(
            name="import",
            unit=" families/s",
            casework=max(rates["casework"]),
            casework_label="casework import (encryption off)",
            raw=best_raw,
            raw_label="raw eventsourcing batched save",
            target=0.5,
            extra=extra,
        ),
        Result(
            name="import as deployed",
            unit=" families/s",
            casework=max(rates["deployed"]),
            casework_label="casework import, encrypted (key store)",
            raw=best_raw,
            raw_label="raw eventsourcing batched save",
            target=None,
        ),
    ]
