"""The HTTP API on SQLite and PostgreSQL, through Flask's test client."""

from __future__ import annotations

import sqlite3
import threading
import uuid

import pytest

import app.api
from adapters import wire
from domain.application import SYSTEM, make_meta
from projections.base import apply_batch, reveal
from projections.register import PROJECTION as REGISTER
from projections.status import store_counts
from tests.integration.conftest import authorized_client

pytestmark = pytest.mark.integration

HEAD = {"nik": "1571015203850007", "name": "Siti Aminah", "birth_date": "1985-03-12", "sex": "F"}
HOUSEHOLD = {
    "kk_number": "1571010101200003",
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 5",
    "rt": "007",
    "rw": "002",
    "head": HEAD,
}
HUSBAND = {
    "nik": "1571011004820002",
    "name": "Budi Santoso",
    "birth_date": "1982-04-10",
    "sex": "M",
}
SON = {"nik": "1571012107100003", "name": "Rizki Pratama", "birth_date": "2010-07-21", "sex": "M"}


@pytest.fixture
def client(web, admin_token):
    """The administrator's client (its account is 3 events in the store)."""
    return authorized_client(web, admin_token)


def stored_events(web) -> int:
    return store_counts(web.extensions["casework"].store)[0]


def project(web) -> None:
    """Apply everything stored to the register view, as the projection runner would."""
    svc = web.extensions["casework"]
    notifications = svc.casework.recorder.select_notifications(start=1, limit=10_000)
    envelopes = [
        reveal(svc.casework.codec, wire.from_notification(svc.casework, n, "1571", sealed=True))
        for n in notifications
    ]
    apply_batch(svc.views, REGISTER, envelopes)


def register(client, **changes) -> dict:
    response = client.post("/api/v1/commands/RegisterHousehold", json={**HOUSEHOLD, **changes})
    assert response.status_code == 201, response.json
    return response.json


def test_registering_answers_the_stream_version_position_and_event_ids(client, web):
    before = stored_events(web)
    body = register(client)
    assert uuid.UUID(body["stream_id"])
    assert body["version"] == 1
    assert body["position"] >= 1
    assert len(body["event_ids"]) == 1
    assert stored_events(web) == before + 3  # the household and its KK and NIK claims


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b'{"kk_number": "1571010101200003",', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"", "application/json"),
        (b'["RegisterHousehold"]', "application/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(client, web, data, content_type):
    before = stored_events(web)
    response = client.post(
        "/api/v1/commands/RegisterHousehold", data=data, content_type=content_type
    )
    assert response.status_code == 400
    assert response.json["errors"]["body"]
    assert stored_events(web) == before


def test_an_invalid_nik_is_422_naming_head_nik_and_stores_nothing(client, web):
    before = stored_events(web)
    response = client.post(
        "/api/v1/commands/RegisterHousehold",
        json={**HOUSEHOLD, "head": {**HEAD, "nik": "1571015203859"}},
    )
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["head.nik"]
    assert response.json["codes"] == {"head.nik": ["nik.format"]}
    assert "16 angka" in response.json["errors"]["head.nik"][0]
    assert "1571015203859" not in response.text
    assert stored_events(web) == before


def test_english_messages_when_the_caller_prefers_english(client):
    response = client.post(
        "/api/v1/commands/RegisterHousehold",
        json={**HOUSEHOLD, "head": {**HEAD, "sex": "M"}},
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    assert response.status_code == 422
    assert "does not match the NIK" in response.json["errors"]["head.nik"][0]


def test_a_nik_already_registered_is_409(client, web):
    register(client)
    before = stored_events(web)
    response = client.post(
        "/api/v1/commands/RegisterHousehold", json={**HOUSEHOLD, "kk_number": "1571010202210004"}
    )
    assert response.status_code == 409
    assert response.json["codes"] == {"head.nik": ["nik.taken"]}
    assert stored_events(web) == before


def test_a_kk_number_already_registered_is_409(client):
    register(client)
    response = client.post(
        "/api/v1/commands/RegisterHousehold", json={**HOUSEHOLD, "head": HUSBAND}
    )
    assert response.status_code == 409
    assert response.json["codes"] == {"kk_number": ["kk.taken"]}


def test_adding_a_member_to_an_unknown_household_is_404(client):
    response = client.post(
        "/api/v1/commands/AddMember",
        json={"household_id": str(uuid.uuid4()), "person": HUSBAND, "relationship": "suami"},
    )
    assert response.status_code == 404
    assert response.json["codes"] == {"household_id": ["household.not_found"]}


def test_a_stale_expected_version_is_409(client):
    household_id = register(client)["stream_id"]
    first = client.post(
        "/api/v1/commands/AddMember",
        json={
            "household_id": household_id,
            "person": HUSBAND,
            "relationship": "suami",
            "expected_version": 1,
        },
    )
    assert first.status_code == 201 and first.json["version"] == 2
    stale = client.post(
        "/api/v1/commands/AddMember",
        json={
            "household_id": household_id,
            "person": SON,
            "relationship": "anak",
            "expected_version": 1,
        },
    )
    assert stale.status_code == 409
    assert stale.json["codes"] == {"expected_version": ["version.stale"]}


def test_a_member_added_twice_is_409_on_person_nik(client):
    household_id = register(client)["stream_id"]
    body = {"household_id": household_id, "person": HEAD, "relationship": "istri"}
    response = client.post("/api/v1/commands/AddMember", json=body)
    assert response.status_code == 409
    assert response.json["codes"] == {"person.nik": ["nik.already_member"]}


def _race(web, bodies: list[dict], token: str) -> list[int]:
    """Send the bodies at the same moment from separate threads; the status codes."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def send(body: dict) -> None:
        client = authorized_client(web, token)
        barrier.wait()
        statuses.append(client.post("/api/v1/commands/AddMember", json=body).status_code)

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(statuses)


def test_two_writers_with_the_same_expected_version_one_wins(client, web, admin_token):
    household_id = register(client)["stream_id"]
    statuses = _race(
        web,
        [
            {
                "household_id": household_id,
                "person": HUSBAND,
                "relationship": "suami",
                "expected_version": 1,
            },
            {
                "household_id": household_id,
                "person": SON,
                "relationship": "anak",
                "expected_version": 1,
            },
        ],
        admin_token,
    )
    assert statuses == [201, 409]
    household = web.extensions["casework"].casework.get_household(household_id)
    assert household.version == 2
    assert len(household.members) == 2
    # No lost update: the version is exactly the number of the stream's stored events.
    assert len(list(web.extensions["casework"].casework.events.get(household.id))) == 2


def test_concurrent_writers_without_expected_version_lose_no_update(client, web, admin_token):
    household_id = register(client)["stream_id"]
    statuses = _race(
        web,
        [
            {"household_id": household_id, "person": HUSBAND, "relationship": "suami"},
            {"household_id": household_id, "person": SON, "relationship": "anak"},
        ],
        admin_token,
    )
    # neither pinned a version: the one that lost the race is carried out again on the new state
    assert statuses == [201, 201]
    household = web.extensions["casework"].casework.get_household(household_id)
    assert household.version == 3
    assert len(household.members) == 3


def test_queries_find_the_household_once_projected(client, web):
    household_id = register(client)["stream_id"]
    added = client.post(
        "/api/v1/commands/AddMember",
        json={"household_id": household_id, "person": HUSBAND, "relationship": "suami"},
    )
    assert added.status_code == 201
    project(web)

    for query in (
        f"nik={HUSBAND['nik']}",
        f"kk={HOUSEHOLD['kk_number']}",
        "q=siti",
        "q=BUDI%20santoso",
    ):
        response = client.get(f"/api/v1/households?{query}")
        assert response.status_code == 200
        results = response.json["results"]
        assert [r["id"] for r in results] == [household_id], query

    found = client.get(f"/api/v1/households/{household_id}").json
    assert found["kk_number"] == HOUSEHOLD["kk_number"]
    assert (found["kecamatan"], found["kelurahan"]) == ("Telanaipura", "Simpang IV Sipin")
    assert found["version"] == 2
    assert [(m["nik"], m["name"], m["relationship"], m["status"]) for m in found["members"]] == [
        (HEAD["nik"], HEAD["name"], "kepala_keluarga", "active"),
        (HUSBAND["nik"], HUSBAND["name"], "suami", "active"),
    ]
    assert client.get("/api/v1/households?nik=1571010101010001").json == {"results": []}


def test_a_household_not_yet_projected_is_read_from_the_store(client):
    household_id = register(client)["stream_id"]
    found = client.get(f"/api/v1/households/{household_id}")
    assert found.status_code == 200
    assert found.json["version"] == 1 and found.json["members"][0]["nik"] == HEAD["nik"]


def test_an_unknown_household_is_404_json(client):
    for household_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = client.get(f"/api/v1/households/{household_id}")
        assert response.status_code == 404
        assert response.json["codes"] == {"household_id": ["household.not_found"]}


def test_a_limit_out_of_range_is_422(client):
    response = client.get("/api/v1/households?limit=1000")
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["limit"]


def test_unknown_commands_routes_and_methods_answer_json(client):
    unknown = client.post("/api/v1/commands/DeleteEverything", json={})
    assert unknown.status_code == 404 and unknown.json["codes"] == {"command": ["command.unknown"]}
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.is_json
    wrong_method = client.get("/api/v1/commands/RegisterHousehold")
    assert wrong_method.status_code == 405 and wrong_method.is_json


def test_a_server_error_is_json_without_a_stack_trace(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom at line 1")

    monkeypatch.setattr(app.api, "search", broken)
    response = client.get("/api/v1/households?q=x")
    assert response.status_code == 500
    assert response.json["codes"] == {"body": ["server.error"]}
    assert "Traceback" not in response.text and "boom" not in response.text


def test_openapi_describes_the_commands_and_queries(client):
    document = client.get("/api/v1/openapi.json").json
    assert {
        "/api/v1/commands/RegisterHousehold",
        "/api/v1/commands/AddMember",
        "/api/v1/households",
        "/api/v1/households/{household_id}",
    } <= set(document["paths"])
    schemas = document["components"]["schemas"]
    register_schema = schemas["RegisterHousehold"]
    assert {"kk_number", "kecamatan", "kelurahan", "address", "rt", "rw", "head"} <= set(
        register_schema["required"]
    )
    assert register_schema["properties"]["head"]["allOf"] == [
        {"$ref": "#/components/schemas/Person"}
    ]
    assert schemas["Person"]["properties"]["sex"]["enum"] == ["M", "F"]
    assert "istri" in schemas["AddMember"]["properties"]["relationship"]["enum"]


def test_health_and_metrics_report_positions_and_lag(client, web):
    register(client)  # 3 events, after the administrator's account's 3
    health = client.get("/healthz")
    assert health.status_code == 200
    components = health.json["components"]
    # accounts and tokens are never published: neither counted nor lagging
    assert components["store"]["events"] == 3
    assert components["store"]["position"] == 6
    assert components["projection:register"]["lag"] == 3
    assert health.json["status"] == "ok"

    project(web)
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.content_type.startswith("text/plain")
    text = metrics.text
    for line in (
        "casework_store_events 3",
        'casework_projection_lag{projection="register"} 0',
        "casework_households_total 1",
        "casework_dlq_messages 0",
        "casework_relay_lag 3",
    ):
        assert line in text.splitlines(), line
    assert HEAD["nik"] not in text and HOUSEHOLD["kk_number"] not in text


def test_health_is_degraded_and_503_when_the_read_model_database_is_unreachable(web, monkeypatch):
    views = web.extensions["casework"].views

    def unreachable(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(views, "query_one", unreachable)
    response = web.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "degraded"
    assert response.json["components"]["projection:register"] == {"error": "unreachable"}
    assert "events" in response.json["components"]["store"]


def test_an_erased_person_is_shown_erased_by_the_api_and_the_pages(client, web):
    household_id = register(client)["stream_id"]
    added = client.post(
        "/api/v1/commands/AddMember",
        json={"household_id": household_id, "person": HUSBAND, "relationship": "suami"},
    )
    assert added.status_code == 201
    casework = web.extensions["casework"].casework
    casework.request_erasure(
        {"household_id": household_id, "nik": HUSBAND["nik"], "reason": "Permohonan tertulis"},
        make_meta(SYSTEM, "api"),
    )
    project(web)

    found = client.get(f"/api/v1/households/{household_id}").json
    head, husband = found["members"]
    assert (head["nik"], head["name"], head["erased"]) == (HEAD["nik"], HEAD["name"], False)
    assert (husband["nik"], husband["name"], husband["birth_date"]) == (None, None, None)
    assert husband["erased"] is True and husband["relationship"] == "suami"
    [result] = client.get(f"/api/v1/households?nik={HEAD['nik']}").json["results"]
    assert [(m["nik"], m["name"], m["erased"]) for m in result["members"]] == [
        (HEAD["nik"], HEAD["name"], False),
        (None, None, True),
    ]
    assert client.get(f"/api/v1/households?nik={HUSBAND['nik']}").json == {"results": []}

    page = web.test_client().get(f"/rumah-tangga/{household_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "[dihapus]" in html and HEAD["name"] in html and HEAD["nik"] in html
    for gone in (HUSBAND["nik"], HUSBAND["name"]):
        assert gone not in html
    english = web.test_client().get(f"/rumah-tangga/{household_id}?lang=en")
    assert "[erased]" in english.get_data(as_text=True)
