"""Benchmark 1: commands through Casework against a plain `eventsourcing` Application.

Both sides run the same families: RegisterHousehold saves the household and its KK and NIK
claims (3 events in one save); each AddMember loads the household, adds the member and saves
it with the member's NIK claim (2 events). The raw side does the same loads and saves with
plain aggregates and a constant meta dict: what is left is the cost of Casework's own layer
(validation of NIKs and KK numbers, the keyed hashes of the uniqueness claims, meta stamping,
the answer it builds, and the snapshot lookup that its snapshotting adds to every load).

The target (0.7) is for that layer, with the encryption of personal fields off
(`Casework(env)`): `bench/encryption.py` measures what encryption costs on top
(target 0.8). The same run as deployed, encrypted with keys from the store's key store
(`open_casework`), is printed too ("commands as deployed", no target of its own: it is the
product of the two).
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from adapters.bootstrap import open_casework
from app.seed_data import generate_households
from bench.report import Result
from bench.stores import Workspace
from domain.application import SYSTEM, Casework, make_meta

_NAMESPACE = uuid.UUID("a0cf5e4e-2f4b-4a43-9d1e-3c1f2b6f7d10")


class Family(Aggregate):
    @event("Registered")
    def __init__(
        self,
        kk_number: str,
        kecamatan: str,
        kelurahan: str,
        address: str,
        rt: str,
        rw: str,
        head: dict[str, Any],
        meta: dict[str, Any],
    ) -> None:
        self.kk_number = kk_number
        self.kecamatan = kecamatan
        self.kelurahan = kelurahan
        self.address = address
        self.rt = rt
        self.rw = rw
        self.members = {head["nik"]: dict(head, relationship="kepala_keluarga")}

    @event("MemberAdded")
    def add_member(self, person: dict[str, Any], relationship: str, meta: dict[str, Any]) -> None:
        self.members[person["nik"]] = dict(person, relationship=relationship)


class Claim(Aggregate):
    @staticmethod
    def create_id(key: str) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, key)

    @event("Claimed")
    def __init__(self, key: str, family_id: uuid.UUID, meta: dict[str, Any]) -> None:
        self.family_id = family_id


class RawRegistry(Application):
    """The library alone: create, get, trigger, save."""

    name = "RawRegistry"

    def register(self, cmd: dict[str, Any], meta: dict[str, Any]) -> uuid.UUID:
        family = Family(meta=meta, **cmd)
        self.save(
            family,
            Claim(key=f"kk:{cmd['kk_number']}", family_id=family.id, meta=meta),
            Claim(key=f"nik:{cmd['head']['nik']}", family_id=family.id, meta=meta),
        )
        return family.id

    def add_member(self, family_id: uuid.UUID, person: dict, relationship: str, meta: dict) -> None:
        family = self.repository.get(family_id)
        family.add_member(person, relationship, meta)
        self.save(family, Claim(key=f"nik:{person['nik']}", family_id=family_id, meta=meta))


def _run_casework(app: Casework, families: list[dict]) -> tuple[int, float]:
    commands = 0
    started = time.perf_counter()
    for family in families:
        result = app.register_household(family["register"], make_meta(SYSTEM, "api"))
        for member in family["members"]:
            app.add_member({"household_id": result.stream_id, **member}, make_meta(SYSTEM, "api"))
        commands += 1 + len(family["members"])
    return commands, time.perf_counter() - started


def _run_raw(app: RawRegistry, families: list[dict], meta: dict) -> tuple[int, float]:
    commands = 0
    started = time.perf_counter()
    for family in families:
        family_id = app.register(family["register"], meta)
        for member in family["members"]:
            app.add_member(family_id, member["person"], member["relationship"], meta)
        commands += 1 + len(family["members"])
    return commands, time.perf_counter() - started


def events_of(families: list[dict]) -> int:
    return sum(3 + 2 * len(f["members"]) for f in families)


def bench_commands(
    ws: Workspace, families_per_round: int = 150, rounds: int = 9, warmup: int = 40
) -> list[Result]:
    everything = list(generate_households(warmup + families_per_round * rounds, seed=7))
    warm, measured = everything[:warmup], everything[warmup:]
    chunks = [
        measured[i * families_per_round : (i + 1) * families_per_round] for i in range(rounds)
    ]
    # Both plain stores use the project's recorder, which links every event into the chain:
    # their own tables (the chain's links) first, as `open_casework` does for the deployed one.
    plain_url, raw_url = ws.migrated_store("commands_casework"), ws.migrated_store("commands_raw")
    casework = Casework(env=plain_url.eventsourcing_env())
    deployed = open_casework(ws.store("commands_deployed"), ws.master_key)
    raw = RawRegistry(env=raw_url.eventsourcing_env())
    meta = make_meta(SYSTEM, "api")
    try:
        _run_casework(casework, warm)
        _run_casework(deployed, warm)
        _run_raw(raw, warm, meta)
        casework_rates, deployed_rates, raw_rates = [], [], []
        # Interleaved rounds, rotating who goes first, so a noisy moment hurts every side alike.
        for i, chunk in enumerate(chunks):
            order = ("raw", "casework", "deployed")
            for side in order[i % 3 :] + order[: i % 3]:
                if side == "raw":
                    n, seconds = _run_raw(raw, chunk, meta)
                    raw_rates.append(n / seconds)
                elif side == "casework":
                    n, seconds = _run_casework(casework, chunk)
                    casework_rates.append(n / seconds)
                else:
                    n, seconds = _run_casework(deployed, chunk)
                    deployed_rates.append(n / seconds)
    finally:
        casework.close()
        deployed.close()
        raw.close()
    commands = sum(1 + len(f["members"]) for f in chunks[0])
    best_casework, best_raw = max(casework_rates), max(raw_rates)
    as_deployed = Result(
        name="commands as deployed",
        unit="/s",
        casework=max(deployed_rates),
        casework_label="casework, encrypted (key store)",
        raw=best_raw,
        raw_label="raw eventsourcing",
        target=None,
        casework_median=statistics.median(deployed_rates),
        raw_median=statistics.median(raw_rates),
        extra={
            "rounds_deployed_per_s": [round(r) for r in deployed_rates],
            "median_deployed_per_s": round(statistics.median(deployed_rates)),
        },
    )
    return [
        Result(
            name="commands",
            unit="/s",
            casework=best_casework,
            casework_label="casework (encryption off)",
            raw=best_raw,
            raw_label="raw eventsourcing",
            target=0.7,
            casework_median=statistics.median(casework_rates),
            raw_median=statistics.median(raw_rates),
            extra={
                "store": ws.store_kind,
                "families_per_round": families_per_round,
                "commands_per_round": commands,
                "events_per_round": events_of(chunks[0]),
                "events_per_command": round(events_of(chunks[0]) / commands, 2),
                "rounds_casework_per_s": [round(r) for r in casework_rates],
                "rounds_raw_per_s": [round(r) for r in raw_rates],
                "statistic": "best of interleaved rounds",
                "median_casework_per_s": round(statistics.median(casework_rates)),
                "median_raw_per_s": round(statistics.median(raw_rates)),
            },
        ),
        as_deployed,
    ]
