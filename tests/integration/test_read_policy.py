"""Least privilege on every /api/v1 route (app/read_policy.py), on SQLite and PostgreSQL.

The first test is generated from the app's url_map: every /api/v1 rule and method is tried
with every role (and with no token), and the answer must be what the route's declared policy
says: 403 for a role it does not name, never 401/403 for a role it names on a record inside
that role's area. A route without a declared policy fails it. The others check what a user
would notice: a case worker's search stays in their kelurahan, an agency reads no household,
a program manager sees masked NIKs, an auditor reads and writes nothing.
"""

from __future__ import annotations

import pytest

from app import read_policy
from app.read_policy import Area
from app.schemas import COMMANDS
from domain.application import SYSTEM, make_meta
from tests.integration.conftest import USERS, authorized_client
from tests.integration.test_eligibility_api import project

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
SIPIN_HEAD = "1571015203850007"
PELAYANGAN_HEAD = "1571015203850015"
ROLE_USERS = ("cw_sipin", "sup1", "auditor", "pm_dinsos", "agency", "admin")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _household(kk: str, kecamatan: str, kelurahan: str, nik: str, name: str) -> dict:
    return {
        "kk_number": kk,
        "kecamatan": kecamatan,
        "kelurahan": kelurahan,
        "address": "Jl. Kapten Pattimura No. 5",
        "rt": "007",
        "rw": "002",
        "head": {"nik": nik, "name": name, "birth_date": "1985-03-12", "sex": "F"},
    }


@pytest.fixture
def world(web, tokens) -> dict[str, str]:
    """PKH (DINSOS) and ZAKAT (BAZNAS); a family in Simpang IV Sipin receiving PKH and one in
    Tahtul Yaman receiving ZAKAT; a removal requested by the Sipin case worker."""
    casework = web.extensions["casework"].casework
    for code, opd in (("PKH", "DINSOS"), ("ZAKAT", "BAZNAS")):
        casework.define_program(
            {
                "code": code,
                "name": code,
                "opd": opd,
                "funding": "APBN",
                "kind": "bansos",
                "rules": {},
                "effective_from": "2025-01-01",
            },
            META,
        )
    sipin = casework.register_household(
        _household("1571010101200003", "Telanaipura", "Simpang IV Sipin", SIPIN_HEAD, "Siti"),
        META,
    ).stream_id
    pelayangan = casework.register_household(
        _household("1571010101200004", "Pelayangan", "Tahtul Yaman", PELAYANGAN_HEAD, "Ani"),
        META,
    ).stream_id
    for hid, nik, program in ((sipin, SIPIN_HEAD, "PKH"), (pelayangan, PELAYANGAN_HEAD, "ZAKAT")):
        casework.grant_benefit(
            {
                "household_id": hid,
                "nik": nik,
                "program": program,
                "period_start": "2026-01-01",
                "period_end": "2030-12-31",
                "amount": 600_000,
            },
            META,
        )
    requested = authorized_client(web, tokens["cw_sipin"]).post(
        "/api/v1/commands/RemoveMember",
        json={
            "household_id": str(sipin),
            "nik": SIPIN_HEAD,
            "kind": "moved_out",
            "effective_date": "2026-01-01",
            "reason": "pindah",
        },
    )
    assert requested.status_code == 202, requested.json
    project(web)
    return {
        "sipin": str(sipin),
        "pelayangan": str(pelayangan),
        "approval": requested.json["approval_id"],
    }


def api_routes(web) -> list[tuple[str, str]]:
    return sorted(
        (rule.endpoint, method)
        for rule in web.url_map.iter_rules()
        if rule.rule.startswith(("/api/v1/", "/dci/"))
        for method in (rule.methods or set()) - IGNORED_METHODS
    )


def test_every_api_route_has_a_declared_policy(web):
    undeclared = {endpoint for endpoint, _ in api_routes(web)} - set(read_policy.POLICY)
    assert not undeclared, f"routes without a read policy (app/read_policy.py): {undeclared}"


def test_a_route_added_without_a_policy_is_caught_and_refused_to_everyone(web, tokens):
    web.add_url_rule("/api/v1/forgotten", "api.forgotten", lambda: "everything")
    assert "api.forgotten" not in read_policy.POLICY
    assert ("api.forgotten", "GET") in api_routes(web)
    answer = authorized_client(web, tokens["admin"]).get("/api/v1/forgotten")
    assert answer.status_code == 403


def _forbidden(endpoint: str, user: str, world: dict[str, str], web) -> bool:
    """Whether the declared policy refuses this user on the fixture's records (which are
    inside the Sipin case worker's kelurahan and the DINSOS manager's OPD)."""
    role = USERS[user][0]
    policy = read_policy.policy_for(endpoint)
    if role not in policy.roles:
        return True
    if endpoint == "api.agency_feed":
        return True  # the fixture's agency has no agreement in force: 403 agency.no_agreement
    if policy.areas.get(role) is Area.OWN:
        change = web.extensions["casework"].casework.get_pending_change(world["approval"])
        return change.requester["id"] != user
    return False


def test_every_route_with_every_role_answers_as_its_policy_declares(web, tokens, world):
    values = {
        "household_id": world["sipin"],
        "code": "PKH",
        "nik": SIPIN_HEAD,
        "name": "RecordWelfareAssessment",
        "approval_id": world["approval"],
    }
    query = {"kelurahan": "Simpang IV Sipin"}
    adapter = web.url_map.bind("localhost")
    checked = 0
    for endpoint, method in api_routes(web):
        policy = read_policy.policy_for(endpoint)
        rule = next(r for r in web.url_map.iter_rules(endpoint) if method in (r.methods or ()))
        path = adapter.build(endpoint, {k: values[k] for k in rule.arguments}, method=method)
        for user in (*ROLE_USERS, None):
            client = authorized_client(web, tokens[user]) if user else web.test_client()
            answer = client.open(path, method=method, query_string=query, json={})
            where = f"{method} {path} as {user}: {answer.status_code} {answer.get_data()[:200]}"
            if user is None:
                assert answer.status_code == (200 if policy.public else 401), where
            elif _forbidden(endpoint, user, world, web):
                assert answer.status_code == 403, where
            else:
                assert answer.status_code not in (401, 403, 405), where
                assert answer.status_code < 500, where
            checked += 1
    assert checked >= 7 * 25


def test_a_case_worker_reads_only_households_of_their_kelurahan(web, tokens, world):
    client = authorized_client(web, tokens["cw_sipin"])
    found = client.get("/api/v1/households", query_string={"limit": 100})
    assert found.status_code == 200
    assert [h["id"] for h in found.json["results"]] == [world["sipin"]]
    assert client.get("/api/v1/households", query_string={"nik": PELAYANGAN_HEAD}).json == {
        "results": []
    }
    for suffix in ("", "/history", "/eligibility"):
        elsewhere = client.get(f"/api/v1/households/{world['pelayangan']}{suffix}")
        assert elsewhere.status_code == 403, suffix
        assert elsewhere.json["codes"] == {"household_id": ["auth.kelurahan"]}
        assert PELAYANGAN_HEAD not in elsewhere.get_data(as_text=True)
        assert client.get(f"/api/v1/households/{world['sipin']}{suffix}").status_code == 200
    # a supervisor reads both
    everything = authorized_client(web, tokens["sup1"]).get("/api/v1/households").json
    assert {h["id"] for h in everything["results"]} == {world["sipin"], world["pelayangan"]}


def test_an_agency_reads_no_household_and_no_beneficiary(web, tokens, world):
    client = authorized_client(web, tokens["agency"])
    for path in (
        "/api/v1/households",
        f"/api/v1/households/{world['sipin']}",
        f"/api/v1/households/{world['sipin']}/history",
        f"/api/v1/households/{world['sipin']}/eligibility",
        "/api/v1/programs/PKH/beneficiaries",
        "/api/v1/programs",
        f"/api/v1/persons/{SIPIN_HEAD}/benefits",
    ):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert SIPIN_HEAD not in answer.get_data(as_text=True)


def test_a_program_manager_sees_their_opds_beneficiaries_with_masked_niks(web, tokens, world):
    client = authorized_client(web, tokens["pm_dinsos"])
    own = client.get("/api/v1/programs/PKH/beneficiaries")
    assert own.status_code == 200
    assert [r["nik"] for r in own.json["results"]] == ["1571**********07"]
    assert SIPIN_HEAD not in own.get_data(as_text=True)
    other = client.get("/api/v1/programs/ZAKAT/beneficiaries")
    assert other.status_code == 403
    assert other.json["codes"] == {"code": ["auth.opd"]}
    assert client.get("/api/v1/households").status_code == 403
    assert client.get(f"/api/v1/households/{world['sipin']}").status_code == 403
    supervisor = authorized_client(web, tokens["sup1"]).get("/api/v1/programs/PKH/beneficiaries")
    assert [r["nik"] for r in supervisor.json["results"]] == [SIPIN_HEAD]


def test_the_auditor_reads_everything_and_every_command_answers_403(web, tokens, world):
    client = authorized_client(web, tokens["auditor"])
    found = client.get("/api/v1/households").json["results"]
    assert {m["nik"] for h in found for m in h["members"]} == {SIPIN_HEAD, PELAYANGAN_HEAD}
    for path in (
        f"/api/v1/households/{world['pelayangan']}/history",
        "/api/v1/programs/ZAKAT/beneficiaries",
        f"/api/v1/approvals/{world['approval']}",
        "/api/v1/approvals",
    ):
        assert client.get(path).status_code == 200, path
    before = len(client.get("/api/v1/audit", query_string={"limit": 100}).json["results"])
    for name in COMMANDS:
        refused = client.post(
            f"/api/v1/commands/{name}",
            json={"household_id": world["sipin"], "reason": "audit"},
        )
        assert refused.status_code == 403, name
        assert refused.json["codes"] == {"actor": ["auth.read_only"]}
    after = len(client.get("/api/v1/audit", query_string={"limit": 100}).json["results"])
    assert after == before  # nothing stored


def test_a_maker_follows_only_their_own_requests(web, tokens, world):
    path = f"/api/v1/approvals/{world['approval']}"
    assert authorized_client(web, tokens["cw_sipin"]).get(path).status_code == 200
    other = authorized_client(web, tokens["cw_pelayangan"]).get(path)
    assert other.status_code == 403
    assert other.json["codes"] == {"approval_id": ["auth.own"]}
    assert authorized_client(web, tokens["cw_pelayangan"]).get(f"{path}/history").status_code == (
        403
    )


def test_the_openapi_document_states_each_routes_roles_and_its_403(web):
    document = web.test_client().get("/api/v1/openapi.json").json
    adapter = web.url_map.bind("localhost")
    restricted = 0
    for path, item in document["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            concrete = path.replace("{", "").replace("}", "")
            endpoint, _ = adapter.match(concrete, method.upper())
            policy = read_policy.policy_for(endpoint)
            if policy.public:
                continue
            assert operation["x-roles"] == list(policy.roles), path
            if set(policy.roles) != set(read_policy.ALL) or policy.areas:
                assert "403" in operation["responses"], f"{method} {path}"
                restricted += 1
    assert restricted > 20
