"""The agency topics end to end, on SQLite: agreements defined through the real commands
(a supervisor asks, another approves), the relay, the projection runner and `casework
agencies --workers 2` as real processes, the relay and the agency producer (its parent
process: its workers must not outlive it) each SIGKILLed once in the middle of a burst and
started again.

What an agency reads `read_committed` from its topic afterwards: exactly the events its
agreement allows (types, area), each once, reduced to the allowed fields (pseudonyms where
the agreement says so), each signed for that topic by the key of `GET /api/v1/keys`.
Nothing more after its agreement is revoked; an erased person's data is not delivered
afterwards, even for events stored before the erasure."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from adapters import wire
from adapters.bootstrap import bootstrap
from adapters.signing import Verifier
from adapters.topics import EVENTS, agency_topic, events_topic_id
from app import create_app
from consumers.agency_filter import AgencyFilter, pseudonym_secret
from projections.status import relay_state
from tests.conftest import wait_until
from tests.integration.conftest import add_users, bearer
from tests.support.events import register_families
from tests.support.kafka import (
    committed_offsets,
    next_offsets,
    partitions_of,
    read_all,
    read_committed,
)

pytestmark = pytest.mark.integration

AREA = "Telanaipura"
DINKES = {
    "agency": "DINKES",
    "purpose": "Pendataan kesehatan keluarga",
    "legal_basis": "PKS No. 1/2026",
    "event_types": ["HouseholdRegistered", "MemberAdded"],
    "fields": {
        "HouseholdRegistered": ["kecamatan", "kelurahan", "head.nik", "head.name"],
        "MemberAdded": ["relationship", "person.nik"],
    },
    "valid_from": "2026-01-01",
}  # pseudonyms (the default): names left out, NIKs as pseudonyms
BPJS = {
    "agency": "BPJS",
    "purpose": "Verifikasi PBI-JK",
    "legal_basis": "PKS No. 2/2026",
    "event_types": ["HouseholdRegistered"],
    "fields": {"HouseholdRegistered": ["kecamatan", "head.nik"]},
    "personal": "opened",
    "kecamatan": [AREA],
    "valid_from": "2026-01-01",
}
WIFE = {"nik": "1571014708860002", "name": "Kartika Sulistyawati", "birth_date": "1986-08-07"}
HOUSEHOLD = {
    "kk_number": "1571010204190001",
    "kecamatan": AREA,
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 12",
    "rt": "004",
    "rw": "001",
    "head": {
        "nik": "1571010101800001",
        "name": "Bambang Sutrisno",
        "birth_date": "1980-01-01",
        "sex": "M",
    },
}


@pytest.fixture(params=["sqlite"])
def backend(request, tmp_path) -> dict[str, str]:
    return {
        "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
        "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
    }


@pytest.fixture
def web(settings) -> Iterator:
    flask_app = create_app(bootstrap(settings))
    yield flask_app
    flask_app.extensions["casework"].close()


def post(client, command: str, body: dict, token: str):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def approved(client, command: str, body: dict, tokens: dict) -> None:
    """Asked by one supervisor (202), approved by the other (201)."""
    asked = post(client, command, body, tokens["sup1"])
    assert asked.status_code == 202, asked.get_json()
    approval = {"approval_id": asked.get_json()["approval_id"]}
    done = post(client, "ApproveChange", approval, tokens["sup2"])
    assert done.status_code == 201, done.get_json()


def positions(records: list) -> list[int]:
    return sorted(int(dict(r.headers)["position"]) for r in records)


def stored(casework, tenant: str) -> list[dict]:
    """Every stored event as an envelope with its data in clear (to compute what is due)."""
    found, after = [], 0
    while batch := casework.recorder.select_notifications(after, 1000, inclusive_of_start=False):
        for n in batch:
            if n.topic.endswith((".HouseholdRegistered", ".MemberAdded", ".AgreementRevoked")):
                found.append(wire.from_notification(casework, n, tenant))
        after = batch[-1].id
    return found


def read_to_the_end(bootstrap_servers: str) -> bool:
    """Whether the agency producer's committed offsets reached the end of the events topic
    (its transactions commit them with what they wrote)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        group = f"casework-agencies.{events_topic_id(admin)}"
    finally:
        admin.close()
    ends = next_offsets(read_all(bootstrap_servers, partitions_of(bootstrap_servers, EVENTS)))
    committed = committed_offsets(bootstrap_servers, group)
    return all(committed.get(tp, 0) >= end for tp, end in ends.items())


def kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux: /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so after its closing paren
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has exited


def start_agencies(processes):
    """`casework agencies` with two workers; answers once both are running."""
    parent = processes.start("agencies", "--workers", "2")
    wait_until(lambda: len(children(parent.pid)) >= 2, 30, "the two agency workers")
    return parent


def leaves(data: dict, prefix: str = "") -> set[str]:
    out = set()
    for key, value in data.items():
        if isinstance(value, dict):
            out |= leaves(value, f"{prefix}{key}.")
        else:
            out.add(f"{prefix}{key}")
    return out


def test_agencies_get_exactly_their_share_once_through_crashes_revocation_and_erasure(
    web, settings, broker, processes, store_db, views_db
):
    casework = web.extensions["casework"].casework
    tokens = add_users(web, ["admin", "sup1", "sup2", "cw_sipin"])
    client = web.test_client()
    for agreement in (DINKES, BPJS):
        approved(client, "DefineAgencyAgreement", agreement, tokens)

    relay = processes.start("relay")
    processes.start("projections")
    agencies = start_agencies(processes)

    # A burst of households while the relay and the agency producer are each killed once.
    enough = threading.Event()

    def burst() -> None:  # about 70 events a second until told to stop (at most 90 s)
        seed, until = 100, time.monotonic() + 90
        while not enough.is_set() and time.monotonic() < until:
            register_families(casework, 1, seed=seed)
            seed += 1
            time.sleep(0.1)

    writer = threading.Thread(target=burst, daemon=True)
    writer.start()
    dinkes, bpjs = agency_topic("DINKES"), agency_topic("BPJS")
    wait_until(lambda: read_committed(broker.bootstrap, dinkes), 60, "a first delivery")
    workers = children(agencies.pid)
    kill(agencies)
    wait_until(lambda: all(gone(pid) for pid in workers), 10, "the workers to end with it")
    agencies = start_agencies(processes)
    published = relay_state(store_db)[0]
    wait_until(lambda: relay_state(store_db)[0] > published, 20, "the relay to go on")
    kill(relay)
    relay = processes.start("relay")
    time.sleep(1.0)
    enough.set()
    writer.join(30)
    assert not writer.is_alive()

    def due() -> tuple[dict[str, set[int]], dict[int, dict]]:
        envelopes = stored(casework, settings.tenant)
        by_position = {e["position"]: e for e in envelopes}
        wanted = {
            "DINKES": {
                e["position"]
                for e in envelopes
                if e["type"] in ("HouseholdRegistered", "MemberAdded")
            },
            "BPJS": {
                e["position"]
                for e in envelopes
                if e["type"] == "HouseholdRegistered" and e["data"]["kecamatan"] == AREA
            },
        }
        return wanted, by_position

    wanted, by_position = due()
    assert wanted["BPJS"] and len(wanted["BPJS"]) < len(wanted["DINKES"]) / 2

    def delivered(code: str) -> list[int]:
        return positions(read_committed(broker.bootstrap, agency_topic(code)))

    wait_until(
        lambda: (
            set(delivered("DINKES")) >= wanted["DINKES"]
            and set(delivered("BPJS")) >= wanted["BPJS"]
        ),
        60,
        "every due event on the agency topics",
    )
    # Exactly the due events, each once (a resent or replayed one would show twice).
    assert delivered("DINKES") == sorted(wanted["DINKES"])
    assert delivered("BPJS") == sorted(wanted["BPJS"])

    verifier = Verifier.from_jwks(client.get("/api/v1/keys").get_json())
    for code, topic in (("DINKES", dinkes), ("BPJS", bpjs)):
        for record in read_committed(broker.bootstrap, topic):
            verifier.verify(topic, record.key, record.value, record.headers)
            envelope = json.loads(record.value)
            original = by_position[envelope["position"]]
            assert envelope["agreement"] == {"agency": code, "version": 1}
            assert record.key == original["stream_id"].encode()
            allowed = (BPJS if code == "BPJS" else DINKES)["fields"]
            assert leaves(envelope["data"]) <= set(allowed[envelope["type"]])
            if envelope["type"] == "HouseholdRegistered":
                nik = envelope["data"]["head"]["nik"]
                if code == "BPJS":  # opened
                    assert nik == original["data"]["head"]["nik"]
                    assert envelope["data"]["kecamatan"] == AREA
                else:  # a pseudonym, and no name
                    assert nik.startswith("ps1.") and nik != original["data"]["head"]["nik"]
                    assert "name" not in envelope["data"]["head"]

    # Who received whose data: every household delivered is in the read log, per agency.
    def logged(code: str) -> set[str]:
        rows = store_db.query(
            "SELECT t.term FROM casework_access_log_terms t"
            " JOIN casework_access_log l ON l.id = t.log_id"
            " WHERE l.actor_id = ? AND l.channel = 'kafka'",
            (f"agency:{code}",),
        )
        return {row[0] for row in rows}

    for code, topic in (("DINKES", dinkes), ("BPJS", bpjs)):
        households = {
            json.loads(r.value)["stream_id"] for r in read_committed(broker.bootstrap, topic)
        }
        assert households and households <= logged(code), code

    # Revoked: nothing more for BPJS, while DINKES goes on.
    approved(client, "RevokeAgencyAgreement", {"agency": "BPJS", "reason": "PKS berakhir"}, tokens)
    agreements = AgencyFilter(views_db, casework.codec, pseudonym_secret(settings))
    wait_until(lambda: agreements.current("BPJS") is None, 30, "the revocation in the view")
    before = len(delivered("BPJS"))
    register_families(casework, 6, seed=999)
    wanted, by_position = due()
    wait_until(lambda: set(delivered("DINKES")) >= wanted["DINKES"], 30, "DINKES going on")
    assert len(delivered("BPJS")) == before
    assert delivered("DINKES") == sorted(wanted["DINKES"])

    # Erased before the producer got to her: nothing of her goes out, the rest does.
    agencies.send_signal(signal.SIGTERM)
    assert agencies.wait(20) == 0
    registered = post(client, "RegisterHousehold", HOUSEHOLD, tokens["admin"])
    assert registered.status_code == 201, registered.get_json()
    household_id = registered.get_json()["stream_id"]
    wife = {**WIFE, "sex": "F"}
    body = {"household_id": household_id, "person": wife, "relationship": "istri"}
    assert post(client, "AddMember", body, tokens["admin"]).status_code == 201
    request = {"household_id": household_id, "nik": WIFE["nik"], "reason": "Surat permohonan"}
    asked = post(client, "RequestErasure", request, tokens["cw_sipin"])
    assert asked.status_code == 202, asked.get_json()
    approval = {"approval_id": asked.get_json()["approval_id"], "note": "ok"}
    assert post(client, "ApproveChange", approval, tokens["sup1"]).status_code == 201
    top = casework.recorder.max_notification_id()
    wait_until(lambda: agreements.caught_up_to() >= top, 30, "the view to apply the erasure")
    start_agencies(processes)
    envelopes = [e for e in stored(casework, settings.tenant) if e["stream_id"] == household_id]
    head = next(e["position"] for e in envelopes if e["type"] == "HouseholdRegistered")
    hers = next(e["position"] for e in envelopes if e["type"] == "MemberAdded")
    wait_until(lambda: read_to_the_end(broker.bootstrap), 30, "the producer to read it all")
    assert head in delivered("DINKES")
    records = read_committed(broker.bootstrap, dinkes)
    assert hers not in positions(records)
    assert not any(WIFE["nik"].encode() in r.value for r in records)
    assert len(positions(records)) == len(set(positions(records)))
