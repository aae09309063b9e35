"""The eligibility endpoints on SQLite and PostgreSQL: a family's answers with their reasons,
the eligible families of a program, and who may read them."""

from __future__ import annotations

import pytest

from adapters import wire
from domain.application import SYSTEM, make_meta
from projections import eligibility
from projections.base import apply_batch, reveal
from projections.catalog import PROJECTIONS
from tests.integration.conftest import authorized_client

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
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


def project(web) -> None:
    svc = web.extensions["casework"]
    notifications = svc.casework.recorder.select_notifications(start=1, limit=10_000)
    envelopes = [
        reveal(svc.casework.codec, wire.from_notification(svc.casework, n, "1571", sealed=True))
        for n in notifications
    ]
    for projection in PROJECTIONS.values():
        apply_batch(svc.views, projection, envelopes)


@pytest.fixture
def family(web) -> str:
    casework = web.extensions["casework"].casework
    for code, opd, rules in (
        ("PKH", "DINSOS", {"max_desil": 4, "recipient": "adult_woman"}),
        ("ZAKAT", "BAZNAS", {"max_desil": 2}),
    ):
        casework.define_program(
            {
                "code": code,
                "name": code,
                "opd": opd,
                "funding": "APBN",
                "kind": "bansos",
                "rules": rules,
                "effective_from": "2025-01-01",
            },
            META,
        )
    hid = casework.register_household(HOUSEHOLD, META).stream_id
    casework.record_welfare_assessment(
        {"household_id": hid, "source": "DTSEN", "desil": 3, "period": "2025-Q1"}, META
    )
    project(web)
    return hid


def test_a_family_sees_each_program_with_its_reasons(web, tokens, family):
    answer = authorized_client(web, tokens["sup1"]).get(f"/api/v1/households/{family}/eligibility")
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["household_id"] == family
    assert body["as_of"] == eligibility.CLOCK().isoformat()
    programs = {p["program"]: p for p in body["programs"]}
    assert programs["PKH"]["status"] == "eligible"
    assert programs["ZAKAT"]["status"] == "ineligible"
    desil = next(r for r in programs["ZAKAT"]["reasons"] if r["rule"] == "max_desil")
    assert desil["detail"] == "the family's desil 3, needs <= 2"
    assert desil["rule_version"] == 1
    assert len(desil["positions"]) == 2  # the rules and the assessment
    # each reason says whether its rule passed, and its detail as a message to translate
    assert desil["passed"] is False
    assert desil["text"] == {
        "msgid": "the family's desil %(desil)s, needs <= %(max)s",
        "params": {"desil": 3, "max": 2},
    }
    assert all(r["passed"] is True for r in programs["PKH"]["reasons"])
    assert HEAD["name"] not in answer.get_data(as_text=True)
    assert HEAD["nik"] not in answer.get_data(as_text=True)


def test_as_of_before_the_household_is_404_and_a_malformed_one_is_422(web, tokens, family):
    client = authorized_client(web, tokens["sup1"])
    url = f"/api/v1/households/{family}/eligibility"
    today = eligibility.CLOCK().isoformat()
    assert client.get(f"{url}?as_of={today}").status_code == 200
    malformed = client.get(f"{url}?as_of=yesterday")
    assert malformed.status_code == 422
    assert "as_of" in malformed.json["errors"]
    before = client.get(f"{url}?as_of=2020-01-01")
    assert before.status_code == 404
    assert before.json["codes"] == {"as_of": ["household.not_yet"]}


def test_the_eligible_families_of_a_program_by_kelurahan(web, tokens, family):
    client = authorized_client(web, tokens["sup1"])
    listed = client.get("/api/v1/programs/PKH/eligible?kelurahan=Simpang IV Sipin")
    assert listed.status_code == 200
    assert listed.json["results"] == [{"household_id": family, "kelurahan": "Simpang IV Sipin"}]
    assert client.get("/api/v1/programs/PKH/eligible?kelurahan=Tahtul Yaman").json["results"] == []
    assert client.get("/api/v1/programs/ZAKAT/eligible").json["results"] == []
    assert client.get("/api/v1/programs/NOPE/eligible").status_code == 404
    # a kelurahan Kota Jambi has not: named, not an empty list
    unknown = client.get("/api/v1/programs/PKH/eligible?kelurahan=Atlantis")
    assert unknown.status_code == 422 and unknown.json["codes"] == {
        "kelurahan": ["kelurahan.unknown"]
    }
    errors = client.get("/api/v1/programs/PKH/errors?kelurahan=Atlantis")
    assert errors.status_code == 422 and "kelurahan" in errors.json["codes"]
    assert client.get("/api/v1/programs/PKH/errors.csv?kelurahan=Atlantis").status_code == 422


def test_least_privilege(web, tokens, family):
    def get(name: str, url: str) -> int:
        return authorized_client(web, tokens[name]).get(url).status_code

    mine = f"/api/v1/households/{family}/eligibility"
    assert get("agency", mine) == 403
    assert get("cw_sipin", mine) == 200
    assert get("cw_pelayangan", mine) == 403
    assert get("cw_sipin", "/api/v1/programs/PKH/eligible?kelurahan=Simpang IV Sipin") == 200
    assert get("cw_sipin", "/api/v1/programs/PKH/eligible") == 403
    assert get("pm_dinsos", "/api/v1/programs/PKH/eligible") == 200
    assert get("pm_baznas", "/api/v1/programs/PKH/eligible") == 403
    # a program manager sees only their OPD's programs of a family
    shown = authorized_client(web, tokens["pm_baznas"]).get(mine).json["programs"]
    assert [p["program"] for p in shown] == ["ZAKAT"]
    assert web.test_client().get(mine).status_code == 401


def test_an_unknown_household_is_404(web, tokens, family):
    client = authorized_client(web, tokens["admin"])
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/api/v1/households/{missing}/eligibility").status_code == 404
    assert client.get("/api/v1/households/nope/eligibility").status_code == 404


def test_a_restricted_head_leaves_the_family_without_an_answer_for_the_programs(
    web, tokens, family
):
    casework = web.extensions["casework"].casework
    casework.restrict_processing(
        {"household_id": family, "nik": HEAD["nik"], "grounds": "keberatan"}, META
    )
    project(web)
    client = authorized_client(web, tokens["sup1"])
    body = client.get(f"/api/v1/households/{family}/eligibility").json
    assert body["programs"] == []
    assert client.get("/api/v1/programs/PKH/eligible").json["results"] == []
