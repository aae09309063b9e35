"""UU PDP erasure by crypto-shredding, end to end, on SQLite and PostgreSQL.

A household is registered, its wife granted PKH; the relay publishes to the real broker,
the projection runner builds every view, `casework rebuild register` leaves an older
generation of the register behind. Then a caseworker requests the wife's erasure and a
supervisor approves it (maker-checker, over the API).

Afterwards her NIK, her name and her birth date are searched byte by byte: in every table of
the store and of the read models (on SQLite the database files themselves, WAL included, so
freed pages count too; on PostgreSQL every row of every table as text), in every message of
every Kafka topic, and in every log file. None may be there in clear. The household still
loads with its history, the benefit is still counted, and her fields say they were erased.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaAdminClient, TopicPartition

from adapters.bootstrap import bootstrap
from adapters.codec import ERASED_ID
from adapters.settings import DatabaseUrl
from app import create_app
from domain.application import SYSTEM, make_meta
from tests.conftest import wait_until
from tests.integration.conftest import add_users, bearer
from tests.support.kafka import read_all

pytestmark = pytest.mark.integration

HEAD = {
    "nik": "1571010101800001",
    "name": "Bambang Sutrisno",
    "birth_date": "1980-01-01",
    "sex": "M",
}
WIFE = {
    "nik": "1571014708860002",
    "name": "Kartika Sulistyawati",
    "birth_date": "1986-08-07",
    "sex": "F",
}
CHILD = {
    "nik": "1571015203120003",
    "name": "Aulia Rahmadani",
    "birth_date": "2012-03-12",
    "sex": "F",
}
HOUSEHOLD = {
    "kk_number": "1571010204190001",
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 12",
    "rt": "004",
    "rw": "001",
    "head": HEAD,
}
PKH = {
    "code": "PKH",
    "name": "Program Keluarga Harapan",
    "opd": "DINSOS",
    "funding": "APBN",
    "kind": "bansos",
    "rules": {"max_desil": 10},
    "effective_from": "2020-01-01",
}
# What must be gone: her NIK, her name (as written and as the name index folds it), her
# birth date in the forms the system writes it.
SECRETS = {
    "nik": WIFE["nik"].encode(),
    "name": WIFE["name"].encode(),
    "name (lower case)": WIFE["name"].lower().encode(),
    "birth date": WIFE["birth_date"].encode(),
}


@pytest.fixture
def web(settings) -> Iterator:
    flask_app = create_app(bootstrap(settings))
    yield flask_app
    flask_app.extensions["casework"].close()


def post(client, command: str, body: dict, token: str):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def household_json(client, token: str, household_id: str) -> dict:
    response = client.get(f"/api/v1/households/{household_id}", headers=bearer(token))
    assert response.status_code == 200, response.json
    return response.json


def beneficiary_count(client, token: str) -> int:
    response = client.get("/api/v1/programs/PKH/beneficiaries", headers=bearer(token))
    assert response.status_code == 200, response.json
    return len(response.json["results"])


# --- where the bytes are ---------------------------------------------------------------


def database_bytes(url: DatabaseUrl) -> dict[str, bytes]:
    """Every byte of the database: the files on SQLite, every row as text on PostgreSQL."""
    if url.kind == "sqlite":
        with sqlite3.connect(url.path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {
            path.name: path.read_bytes()
            for path in Path(url.path).parent.glob(Path(url.path).name + "*")
        }
    out = {}
    with psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.user,
        password=url.password or None,
        dbname=url.dbname,
    ) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        for table in tables:
            rows = conn.execute(f'SELECT t::text FROM "{table}" t').fetchall()
            out[table] = "\n".join(row[0] for row in rows).encode()
    return out


def topic_bytes(bootstrap: str) -> dict[str, bytes]:
    """Every message (key, value, headers) of every topic, from the beginning."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        topics = admin.describe_topics()
    finally:
        admin.close()
    partitions = [
        TopicPartition(t["name"], p["partition_index"]) for t in topics for p in t["partitions"]
    ]
    out: dict[str, list[bytes]] = {}
    for r in read_all(bootstrap, partitions):
        parts = [r.key or b"", r.value or b"", *(v for _, v in r.headers)]
        out.setdefault(r.topic, []).append(b"|".join(parts))
    assert out, "the topics hold the published events"
    return {topic: b"\n".join(messages) for topic, messages in out.items()}


def log_bytes(logs: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in logs.glob("*.log")}


def found(places: dict[str, bytes]) -> list[str]:
    """'where: what' for every secret found in clear."""
    return [
        f"{where}: {what}"
        for where, data in places.items()
        for what, secret in SECRETS.items()
        if secret in (data.lower() if what == "name (lower case)" else data)
    ]


# --- the test --------------------------------------------------------------------------


def test_an_erased_person_is_nowhere_in_clear_and_the_household_still_counts(
    settings, web, broker, processes, tmp_path
):
    casework = web.extensions["casework"].casework
    casework.define_program(PKH, make_meta(SYSTEM, "cli"))
    tokens = add_users(web, ["admin", "sup1", "cw_sipin"])
    client = web.test_client()
    admin, supervisor, caseworker = tokens["admin"], tokens["sup1"], tokens["cw_sipin"]

    response = post(client, "RegisterHousehold", HOUSEHOLD, admin)
    assert response.status_code == 201, response.json
    household_id = response.json["stream_id"]
    for person, relationship in ((WIFE, "istri"), (CHILD, "anak")):
        body = {"household_id": household_id, "person": person, "relationship": relationship}
        assert post(client, "AddMember", body, admin).status_code == 201
    casework.grant_benefit(
        {
            "household_id": household_id,
            "nik": WIFE["nik"],
            "program": "PKH",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "amount": 750_000,
        },
        make_meta(SYSTEM, "cli"),
    )

    processes.start("relay")
    processes.start("projections")
    wait_until(lambda: beneficiary_count(client, admin) == 1, 60, "the views to be built")
    members = household_json(client, admin, household_id)["members"]
    assert WIFE["name"] in [m["name"] for m in members]
    # A rebuild leaves the previous generation of the register behind: it must forget her too.
    rebuild = processes.start("rebuild", "register")
    assert rebuild.wait(120) == 0
    # Before: her data is readable by those allowed, and the store never held it in clear.
    assert not found(database_bytes(settings.store)), "the store holds her data in clear"

    # The erasure: requested by the caseworker, approved by a supervisor.
    request = {"household_id": household_id, "nik": WIFE["nik"], "reason": "Surat permohonan"}
    response = post(client, "RequestErasure", request, caseworker)
    assert response.status_code == 202, response.json
    approval_id = response.json["approval_id"]
    response = post(client, "ApproveChange", {"approval_id": approval_id, "note": "ok"}, supervisor)
    assert response.status_code == 201, response.json

    def her_nik_finds_nothing() -> bool:
        response = client.get(f"/api/v1/households?nik={WIFE['nik']}", headers=bearer(admin))
        assert response.status_code == 200, response.json
        return response.json["results"] == []

    # The register view erases her hash with the rest once the runner applies the erasure.
    wait_until(her_nik_finds_nothing, 60, "the register view to apply the erasure")
    # The household still loads, with its history; the benefit is still there and counted.
    household = casework.get_household(household_id)
    [wife] = [m for nik, m in household.members.items() if nik.startswith(ERASED_ID)]
    assert wife["relationship"] == "istri" and wife["erased"]
    [benefit] = household.benefits.values()
    assert (benefit["nik"], benefit["amount"], benefit["status"]) == (
        wife["nik"],
        750_000,
        "active",
    )
    assert beneficiary_count(client, admin) == 1
    view = household_json(client, admin, household_id)
    erased = [m for m in view["members"] if m.get("erased")]
    assert len(erased) == 1 and erased[0]["nik"] is None and erased[0]["name"] is None
    assert {m["name"] for m in view["members"] if not m.get("erased")} == {
        HEAD["name"],
        CHILD["name"],
    }
    # By name, the household is still found, without her.
    response = client.get(f"/api/v1/households?q={HEAD['name']}", headers=bearer(admin))
    [found_by_name] = response.json["results"]
    assert [m["name"] for m in found_by_name["members"] if m.get("erased")] == [None]

    processes.stop_all()  # logs flushed, connections closed
    web.extensions["casework"].close()
    places = {
        **{f"store {k}": v for k, v in database_bytes(settings.store).items()},
        **{f"views {k}": v for k, v in database_bytes(settings.views).items()},
        **{f"kafka {k}": v for k, v in topic_bytes(broker.bootstrap).items()},
        **{f"log {k}": v for k, v in log_bytes(tmp_path).items()},
    }
    assert not found(places), "found in clear after erasure"
    # The search can see: what the views keep in clear is found there (no one's name is).
    views = [data for where, data in places.items() if "views" in where]
    assert any(HOUSEHOLD["kelurahan"].encode() in data for data in views)
    assert not any(HEAD["name"].encode() in data for data in views)
