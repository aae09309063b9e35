"""Every command over HTTP on SQLite and PostgreSQL: invalid input, tokens and roles,
maker-checker, Idempotency-Key, and the queries behind them."""

from __future__ import annotations

import uuid

import pytest

from adapters import idempotency
from app.schemas import COMMANDS, example
from domain.application import SYSTEM, make_meta
from projections.status import store_counts
from tests.integration.conftest import bearer
from tests.integration.test_eligibility_api import project
from tests.unit.test_command_schemas import invalid_cases

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
GRANT = {
    "nik": HEAD["nik"],
    "program": "PKH",
    "period_start": "2025-01-01",
    "period_end": "2025-03-31",
    "amount": 750000,
}


@pytest.fixture
def client(web):
    return web.test_client()


def stored(web) -> int:
    return store_counts(web.extensions["casework"].store)[0]


def post(client, command: str, body: dict, token: str, **headers):
    return client.post(
        f"/api/v1/commands/{command}", json=body, headers={**bearer(token), **headers}
    )


def register(client, token: str, **changes) -> str:
    response = post(client, "RegisterHousehold", {**HOUSEHOLD, **changes}, token)
    assert response.status_code == 201, response.json
    return response.json["stream_id"]


def define_pkh(client, tokens) -> None:
    """PKH as the schema's example defines it: a grant naming no program is 404."""
    program = example(COMMANDS["DefineProgram"].schema)
    assert post(client, "DefineProgram", program, tokens["admin"]).status_code == 201


def household(client, household_id: str, token: str) -> dict:
    response = client.get(f"/api/v1/households/{household_id}", headers=bearer(token))
    assert response.status_code == 200, response.json
    return response.json


# --- invalid input ------------------------------------------------------------------------


def _one_of_each_kind(name: str):
    """Per field: missing, null, one wrong type and one out-of-range value."""
    seen = set()
    for what, payload, path in invalid_cases(name):
        kind = what.split(" ")[0] + (what.split(" ")[1] if what.startswith("out") else "")
        if (kind, path) not in seen:
            seen.add((kind, path))
            yield what, payload, path


def test_every_invalid_input_of_every_command_is_422_naming_the_field(client, web, tokens):
    before = stored(web)
    failures = []
    sent = 0
    for name in sorted(COMMANDS):
        for what, payload, path in _one_of_each_kind(name):
            response = post(client, name, payload, tokens["admin"])
            sent += 1
            if response.status_code != 422 or path not in response.json["codes"]:
                failures.append(f"{name}: {what} at {path}: {response.status_code} {response.json}")
            elif not all(response.json["errors"][path]):
                failures.append(f"{name}: {what} at {path}: no message")
    assert not failures, "\n".join(failures[:20])
    assert sent > 25 * 5
    assert stored(web) == before  # nothing stored


# --- who may do what ----------------------------------------------------------------------


def test_without_a_valid_token_every_call_is_401(client, web, tokens):
    before = stored(web)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        response = client.post(
            "/api/v1/commands/RegisterHousehold", json=HOUSEHOLD, headers=headers
        )
        assert response.status_code == 401
        assert list(response.json["codes"]) == ["authorization"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.get("/api/v1/households?q=siti", headers=headers).status_code == 401
    assert stored(web) == before
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_actor_on_the_event_comes_from_the_token(client, tokens):
    household_id = register(client, tokens["cw_sipin"])
    history = client.get(
        f"/api/v1/households/{household_id}/history", headers=bearer(tokens["admin"])
    )
    [registered] = history.json["events"]
    assert registered["type"] == "HouseholdRegistered"
    assert registered["actor"] == {"id": "cw_sipin", "role": "caseworker", "opd": None}
    assert registered["source"] == "api"


def test_a_caseworker_acts_only_in_their_kelurahan(client, web, tokens):
    household_id = register(client, tokens["cw_sipin"])
    before = stored(web)
    note = {"household_id": household_id, "text": "Kunjungan rumah."}
    outside = post(client, "AddCaseNote", note, tokens["cw_pelayangan"])
    assert outside.status_code == 403
    assert outside.json["codes"] == {"household_id": ["auth.kelurahan"]}
    elsewhere = {**HOUSEHOLD, "kk_number": "1571010202210004"}
    refused = post(client, "RegisterHousehold", elsewhere, tokens["cw_pelayangan"])
    assert refused.status_code == 403 and refused.json["codes"] == {"kelurahan": ["auth.kelurahan"]}
    assert stored(web) == before
    assert post(client, "AddCaseNote", note, tokens["cw_sipin"]).status_code == 201


def test_a_caseworker_relocates_a_family_only_between_kelurahan_of_their_area(client, web, tokens):
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "cli")
    casework.add_user("cw_two", "caseworker", None, ["Simpang IV Sipin", "Teluk Kenali"], meta)
    two = casework.issue_token("cw_two", meta)
    household_id = register(client, tokens["cw_sipin"])
    move = {
        "household_id": household_id,
        "kecamatan": "Telanaipura",
        "kelurahan": "teluk kenali",
        "address": "Jl. Arif Rahman Hakim No. 12",
        "rt": "3",
        "rw": "1",
        "moved_on": "2025-06-01",
    }
    before = stored(web)
    refused = post(client, "RelocateHousehold", move, tokens["cw_sipin"])
    assert refused.status_code == 403 and refused.json["codes"] == {"kelurahan": ["auth.kelurahan"]}
    outside = post(client, "RelocateHousehold", move, tokens["cw_pelayangan"])
    assert outside.json["codes"] == {"household_id": ["auth.kelurahan"]}
    assert stored(web) == before

    moved = post(client, "RelocateHousehold", move, two)
    assert moved.status_code == 201, moved.json
    found = household(client, household_id, tokens["sup1"])
    assert (found["kelurahan"], found["address"], found["rt"], found["rw"]) == (
        "Teluk Kenali",
        "Jl. Arif Rahman Hakim No. 12",
        "003",
        "001",
    )
    # the family is now outside the first case worker's area
    note = {"household_id": household_id, "text": "Kunjungan rumah."}
    assert post(client, "AddCaseNote", note, tokens["cw_sipin"]).status_code == 403


def test_auditors_and_agencies_only_read(client, web, tokens):
    household_id = register(client, tokens["admin"])
    before = stored(web)
    for name in ("auditor", "agency"):
        response = post(
            client, "AddCaseNote", {"household_id": household_id, "text": "x"}, tokens[name]
        )
        assert response.status_code == 403 and response.json["codes"] == {
            "actor": ["auth.read_only"]
        }
    assert household(client, household_id, tokens["auditor"])["id"] == household_id
    refused = client.get(f"/api/v1/households/{household_id}", headers=bearer(tokens["agency"]))
    assert refused.status_code == 403  # an agency reads no household (app/read_policy.py)
    assert stored(web) == before


def test_a_program_manager_defines_only_their_own_opds_programs(client, tokens):
    program = {**example(COMMANDS["DefineProgram"].schema), "opd": "DINSOS"}
    other = post(client, "DefineProgram", program, tokens["pm_baznas"])
    assert other.status_code == 403 and other.json["codes"] == {"opd": ["auth.opd"]}
    assert post(client, "DefineProgram", program, tokens["pm_dinsos"]).status_code == 201
    household_id = register(client, tokens["admin"])
    grant = {**GRANT, "household_id": household_id}
    assert post(client, "GrantBenefit", grant, tokens["pm_baznas"]).status_code == 403
    assert post(client, "GrantBenefit", grant, tokens["pm_dinsos"]).status_code == 202
    note = {"household_id": household_id, "text": "x"}
    assert post(client, "AddCaseNote", note, tokens["pm_dinsos"]).status_code == 403

    listed = client.get("/api/v1/programs", headers=bearer(tokens["auditor"])).json["programs"]
    assert [(p["code"], p["opd"], p["rules"]["max_desil"]) for p in listed] == [
        ("PKH", "DINSOS", 4)
    ]


# --- maker-checker ------------------------------------------------------------------------


def test_a_grant_waits_for_a_different_supervisor(client, web, tokens):
    program = example(COMMANDS["DefineProgram"].schema)
    # no minimum residence: the head's arrival is not recorded (it would be refused)
    program["rules"] = {**program["rules"], "min_residence_months": 0}
    assert post(client, "DefineProgram", program, tokens["admin"]).status_code == 201
    household_id = register(client, tokens["cw_sipin"])
    before = stored(web)
    asked = post(client, "GrantBenefit", {**GRANT, "household_id": household_id}, tokens["sup1"])
    assert asked.status_code == 202
    approval_id = asked.json["approval_id"]
    assert set(asked.json) == {"approval_id"}
    # Only the request is stored (and the queue of pending requests, opened with the first);
    # the household is as it was.
    assert stored(web) - before == 3
    state = household(client, household_id, tokens["admin"])
    assert state["version"] == 1 and state["benefits"] == []

    queue = client.get("/api/v1/approvals", headers=bearer(tokens["sup2"])).json["approvals"]
    assert [(a["approval_id"], a["command"], a["requested_by"]["id"]) for a in queue] == [
        (approval_id, "GrantBenefit", "sup1")
    ]
    assert client.get("/api/v1/approvals", headers=bearer(tokens["cw_sipin"])).status_code == 403

    decision = {"approval_id": approval_id, "note": "Sesuai SK."}
    own = post(client, "ApproveChange", decision, tokens["sup1"])
    assert own.status_code == 403 and own.json["codes"] == {"actor": ["approval.self"]}
    not_supervisor = post(client, "ApproveChange", decision, tokens["cw_sipin"])
    assert not_supervisor.status_code == 403
    assert household(client, household_id, tokens["admin"])["version"] == 1

    approved = post(client, "ApproveChange", decision, tokens["sup2"])
    assert approved.status_code == 201, approved.json
    assert approved.json["stream_id"] == household_id and approved.json["version"] == 2
    state = household(client, household_id, tokens["admin"])
    [benefit] = state["benefits"]
    assert benefit["benefit_id"] == approved.json["benefit_id"]
    assert (benefit["program"], benefit["amount"], benefit["status"]) == ("PKH", 750000, "active")

    events = client.get(
        f"/api/v1/households/{household_id}/history", headers=bearer(tokens["admin"])
    ).json["events"]
    assert [e["type"] for e in events] == ["HouseholdRegistered", "BenefitGranted"]
    assert events[1]["actor"]["id"] == "sup1" and events[1]["approved_by"]["id"] == "sup2"
    assert client.get("/api/v1/approvals", headers=bearer(tokens["sup2"])).json["approvals"] == []
    again = post(client, "ApproveChange", decision, tokens["sup2"])
    assert again.status_code == 409 and again.json["codes"] == {"approval_id": ["approval.decided"]}


def test_a_rejection_is_recorded_and_changes_nothing(client, web, tokens):
    define_pkh(client, tokens)
    household_id = register(client, tokens["cw_sipin"])
    asked = post(
        client, "GrantBenefit", {**GRANT, "household_id": household_id}, tokens["cw_sipin"]
    )
    approval_id = asked.json["approval_id"]
    no_note = post(client, "RejectChange", {"approval_id": approval_id}, tokens["sup1"])
    assert no_note.status_code == 422 and set(no_note.json["codes"]) == {"note", "reason_code"}

    rejected = post(
        client,
        "RejectChange",
        {"approval_id": approval_id, "reason_code": "rules_not_met", "note": "Bukan desil 1-4."},
        tokens["sup1"],
    )
    assert rejected.status_code == 201 and rejected.json["stream_id"] == approval_id
    trail = client.get(
        f"/api/v1/approvals/{approval_id}/history", headers=bearer(tokens["cw_sipin"])
    ).json["events"]
    assert [e["type"] for e in trail] == ["ChangeRequested", "ChangeRejected"]
    assert trail[1]["actor"]["id"] == "sup1" and trail[1]["data"]["note"] == "Bukan desil 1-4."
    assert trail[1]["data"]["reason_code"] == "rules_not_met"
    status = client.get(f"/api/v1/approvals/{approval_id}", headers=bearer(tokens["cw_sipin"]))
    assert status.json["status"] == "rejected"
    assert household(client, household_id, tokens["admin"])["benefits"] == []
    late = post(client, "ApproveChange", {"approval_id": approval_id}, tokens["sup2"])
    assert late.status_code == 409


def test_a_requester_lists_their_own_requests_and_what_became_of_them(client, web, tokens):
    define_pkh(client, tokens)
    household_id = register(client, tokens["cw_sipin"])
    grant = {**GRANT, "household_id": household_id}
    refused_id = post(client, "GrantBenefit", grant, tokens["cw_sipin"]).json["approval_id"]
    rejected = post(
        client,
        "RejectChange",
        {"approval_id": refused_id, "reason_code": "rules_not_met", "note": "Bukan desil 1-4."},
        tokens["sup1"],
    )
    assert rejected.status_code == 201
    waiting_id = post(client, "GrantBenefit", grant, tokens["cw_sipin"]).json["approval_id"]
    others_id = post(client, "GrantBenefit", grant, tokens["sup2"]).json["approval_id"]
    project(web)

    def mine(user: str, **query) -> list[dict]:
        answer = client.get(
            "/api/v1/approvals/mine", query_string=query, headers=bearer(tokens[user])
        )
        assert answer.status_code == 200, answer.json
        return answer.json["approvals"]

    listed = mine("cw_sipin")
    # the most recent first, each with its outcome; never another requester's
    assert [a["approval_id"] for a in listed] == [waiting_id, refused_id]
    waiting, refused = listed
    assert (waiting["status"], waiting["decided_by"], waiting["decided_at"]) == (
        "pending",
        None,
        None,
    )
    assert refused["status"] == "rejected" and refused["decided_by"]["id"] == "sup1"
    assert refused["note"] == "Bukan desil 1-4." and refused["decided_at"]
    assert [a["approval_id"] for a in mine("cw_sipin", limit=1, offset=1)] == [refused_id]
    assert [a["approval_id"] for a in mine("sup2")] == [others_id]
    assert mine("cw_pelayangan") == [] and mine("auditor") == []
    agency = client.get("/api/v1/approvals/mine", headers=bearer(tokens["agency"]))
    assert agency.status_code == 403
    bad = client.get(
        "/api/v1/approvals/mine", query_string={"limit": 0}, headers=bearer(tokens["cw_sipin"])
    )
    assert bad.status_code == 422 and set(bad.json["codes"]) == {"limit"}


def test_a_request_just_made_is_listed_before_the_view_holds_it(client, web, tokens):
    """The approvals view follows the store a moment later: a request answered 202 is on the
    requester's first page at once (from the store), the most recent first, once each, and
    the page keeps to its limit."""
    define_pkh(client, tokens)
    household_id = register(client, tokens["cw_sipin"])
    grant = {**GRANT, "household_id": household_id}

    def ask(user: str) -> str:
        answer = post(client, "GrantBenefit", grant, tokens[user])
        assert answer.status_code == 202, answer.json
        return answer.json["approval_id"]

    def mine(**query) -> list[str]:
        answer = client.get(
            "/api/v1/approvals/mine", query_string=query, headers=bearer(tokens["cw_sipin"])
        )
        assert answer.status_code == 200, answer.json
        return [a["approval_id"] for a in answer.json["approvals"]]

    first = ask("cw_sipin")
    project(web)  # the view holds the first request, not those that follow
    second, others, third = ask("cw_sipin"), ask("sup2"), ask("cw_sipin")
    assert mine() == [third, second, first]
    listed = client.get("/api/v1/approvals/mine", headers=bearer(tokens["cw_sipin"]))
    assert listed.json["approvals"][0]["status"] == "pending"
    assert listed.json["approvals"][0]["decided_at"] is None
    assert listed.json["approvals"][0]["cmd"]["household_id"] == household_id
    assert mine(limit=2) == [third, second]
    assert mine(limit=1) == [third]
    assert mine(offset=1) == []  # the view's first request, on the view's second page
    assert others not in mine()
    project(web)  # caught up: each once, as the view orders them
    assert mine() == [third, second, first]
    assert mine(limit=2, offset=1) == [second, first]


def test_an_unknown_approval_is_404(client, tokens):
    response = post(client, "ApproveChange", {"approval_id": str(uuid.uuid4())}, tokens["sup1"])
    assert response.status_code == 404
    assert response.json["codes"] == {"approval_id": ["approval.not_found"]}


# --- Idempotency-Key ----------------------------------------------------------------------


def test_a_repeated_request_answers_the_same_and_stores_nothing(client, web, tokens):
    define_pkh(client, tokens)
    household_id = register(client, tokens["cw_sipin"])
    note = {"household_id": household_id, "text": "Kunjungan pertama."}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = post(client, "AddCaseNote", note, tokens["cw_sipin"], **key)
    assert first.status_code == 201
    after_first = stored(web)

    repeat = post(client, "AddCaseNote", note, tokens["cw_sipin"], **key)
    assert (repeat.status_code, repeat.data) == (201, first.data)
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert stored(web) == after_first

    reused = post(client, "AddCaseNote", {**note, "text": "Lain."}, tokens["cw_sipin"], **key)
    assert reused.status_code == 422
    assert reused.json["codes"] == {"idempotency_key": ["idempotency.key_reused"]}
    # The key is the caller's own: another caller's same key is a new request.
    other = post(client, "AddCaseNote", note, tokens["admin"], **key)
    assert other.status_code == 201 and other.json["version"] == first.json["version"] + 1

    asked = post(
        client, "GrantBenefit", {**GRANT, "household_id": household_id}, tokens["sup1"], **key
    )
    again = post(
        client, "GrantBenefit", {**GRANT, "household_id": household_id}, tokens["sup1"], **key
    )
    assert asked.status_code == again.status_code == 202 and again.data == asked.data
    assert (
        len(client.get("/api/v1/approvals", headers=bearer(tokens["sup2"])).json["approvals"]) == 1
    )


def test_a_duplicate_while_the_first_runs_is_409(client, web, tokens):
    household_id = register(client, tokens["cw_sipin"])
    note = {"household_id": household_id, "text": "Kunjungan."}
    store = web.extensions["casework"].store
    digest = idempotency.request_hash("AddCaseNote", note)
    assert idempotency.claim(store, "cw_sipin", "k-1", digest) is None  # the first, running
    before = stored(web)
    duplicate = post(client, "AddCaseNote", note, tokens["cw_sipin"], **{"Idempotency-Key": "k-1"})
    assert duplicate.status_code == 409
    assert duplicate.json["codes"] == {"idempotency_key": ["idempotency.in_progress"]}
    assert stored(web) == before


# --- queries and the document -------------------------------------------------------------


def test_the_household_answers_its_whole_state(client, tokens):
    household_id = register(client, tokens["admin"])
    assessment = {"household_id": household_id, "source": "DTSEN", "desil": 2, "period": "2025-Q1"}
    assert post(client, "RecordWelfareAssessment", assessment, tokens["admin"]).status_code == 201
    state = household(client, household_id, tokens["auditor"])
    assert state["assessments"] == {"DTSEN": [{"period": "2025-Q1", "desil": 2, "reference": None}]}
    assert state["members"][0]["status"] == "active" and state["registered_at"]
    assert state["version"] == 2


def test_openapi_covers_every_command(client):
    document = client.get("/api/v1/openapi.json").json
    for name, command in COMMANDS.items():
        operation = document["paths"][f"/api/v1/commands/{name}"]["post"]
        answered = "202" if command.needs_approval else "201"
        assert answered in operation["responses"], name
        assert {"401", "403", "422"} <= set(operation["responses"])
        body = operation["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{name}"}
        assert body["example"]
    schemas = document["components"]["schemas"]
    assert schemas["IssueKtp"]["properties"]["arrival"]["allOf"] == [
        {"$ref": "#/components/schemas/Arrival"}
    ]
    assert schemas["Rules"]["properties"]["recipient"]["enum"] == [
        "head",
        "adult_woman",
        "any_member",
    ]
    assert schemas["RecordWelfareAssessment"]["properties"]["desil"]["maximum"] == 10


def test_an_implausible_family_or_an_unexplained_benefit_change_is_422_naming_the_field(
    client, tokens
):
    """A child older than the head, a KTP before 17, a benefit change without a listed reason:
    each answers 422 naming the field, in Bahasa Indonesia, without the value; nothing stored."""
    household_id = register(client, tokens["cw_sipin"])  # the head was born 1985-03-12
    older_child = {"nik": "1571010101800003", "name": "Anak Tua", "birth_date": "1980-01-01"}
    older_child["sex"] = "M"
    answer = post(
        client,
        "AddMember",
        {"household_id": household_id, "person": older_child, "relationship": "anak"},
        tokens["cw_sipin"],
    )
    assert answer.status_code == 422
    assert answer.json["codes"] == {"person.birth_date": ["member.older_than_parent"]}
    assert "Anak" in answer.json["errors"]["person.birth_date"][0]
    assert "1980" not in str(answer.json) and "Anak Tua" not in str(answer.json)
    too_young = {"household_id": household_id, "nik": HEAD["nik"], "issued_on": "2001-05-01"}
    too_young["arrival"] = {"type": "born_here"}
    answer = post(client, "IssueKtp", too_young, tokens["cw_sipin"])
    assert answer.status_code == 422 and answer.json["codes"] == {"issued_on": ["ktp.too_young"]}
    state = household(client, household_id, tokens["admin"])
    assert state["version"] == 1 and len(state["members"]) == 1

    suspend = {
        "household_id": household_id,
        "benefit_id": str(uuid.uuid4()),
        "effective_date": "2025-02-01",
    }
    answer = post(client, "SuspendBenefit", suspend, tokens["admin"])
    assert answer.status_code == 422 and list(answer.json["codes"]) == ["reason_code"]


def test_a_move_a_visit_or_an_objection_dated_before_the_family_was_born_is_422(
    client, web, tokens
):
    """The walkthrough's visit dated 1950, for a family registered now whose head was born in
    1985: 422 naming the date, in Bahasa Indonesia, nothing stored. A date before the family
    was registered, after its head's birth, is stored (an import of a past period)."""
    household_id = register(client, tokens["cw_sipin"])
    dated = {
        "RelocateHousehold": {
            **{k: HOUSEHOLD[k] for k in ("kecamatan", "kelurahan", "rt", "rw")},
            "address": "Jl. Arif Rahman Hakim No. 12",
            "moved_on": "1950-06-01",
        },
        "RecordVerification": {
            "outcome": "valid",
            "visited_on": "1950-06-01",
            "verifier": "Tim 12",
        },
        "FileObjection": {
            "objector_nik": HEAD["nik"],
            "grounds": "Keluarga ini mampu",
            "filed_on": "1950-06-01",
            "photo_reference": "foto/sanggah-0012.jpg",
            "latitude": -1.61,
            "longitude": 103.61,
        },
    }
    fields = {"RelocateHousehold": "moved_on", "RecordVerification": "visited_on"}
    before = stored(web)
    for name, body in dated.items():
        field = fields.get(name, "filed_on")
        answer = post(client, name, {"household_id": household_id, **body}, tokens["cw_sipin"])
        assert answer.status_code == 422, (name, answer.json)
        assert answer.json["codes"] == {field: ["date.before_family"]}
        assert "sebelum ada anggota keluarga ini yang lahir" in answer.json["errors"][field][0]
    assert stored(web) == before
    assert household(client, household_id, tokens["admin"])["version"] == 1
    for name, body in dated.items():
        field = fields.get(name, "filed_on")
        body = {"household_id": household_id, **body, field: "2019-03-01"}
        answer = post(client, name, body, tokens["cw_sipin"])
        assert answer.status_code == 201, (name, answer.json)


def test_an_objector_not_in_the_register_must_name_the_households_kelurahan(client, web, tokens):
    """The walkthrough: an objection by someone the register does not know was stored whatever
    kelurahan they lived in. Now it is 422 on `objector_kelurahan` until it names the
    household's, in Bahasa Indonesia; nothing stored meanwhile."""
    household_id = register(client, tokens["cw_sipin"])  # in Simpang IV Sipin
    objection = {
        "household_id": household_id,
        "objector_nik": "1571011004820002",  # in no household
        "grounds": "Keluarga ini mampu",
        "filed_on": "2025-06-02",
        "photo_reference": "foto/sanggah-0012.jpg",
        "latitude": -1.61,
        "longitude": 103.61,
    }
    before = stored(web)
    for given, code in (
        (None, "objection.kelurahan_required"),
        ("Kemayoran", "kelurahan.unknown"),
        ("Pematang Sulur", "objection.other_kelurahan"),
    ):
        body = objection if given is None else {**objection, "objector_kelurahan": given}
        answer = post(client, "FileObjection", body, tokens["cw_sipin"])
        assert answer.status_code == 422, answer.json
        assert answer.json["codes"] == {"objector_kelurahan": [code]}
        assert "kelurahan" in answer.json["errors"]["objector_kelurahan"][0].lower()
    assert stored(web) == before
    body = {**objection, "objector_kelurahan": "simpang iv sipin"}
    assert post(client, "FileObjection", body, tokens["cw_sipin"]).status_code == 201
