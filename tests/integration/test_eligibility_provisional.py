"""Benefits received before a NIK was known count in eligibility once LinkIdentity joins the
person to it, on SQLite and PostgreSQL: a man helped under REHSOS as a person without papers
is found to be the head of a KK; the live view refuses him a program not combinable with
REHSOS (and REHSOS itself, a double receipt), the reason naming the provisional grant, as a
grant is refused; the past answer as of then is the live one, in both modes; once the
provisional REHSOS ends he is eligible."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.application import SYSTEM, make_meta
from domain.city import WIB
from tests.integration.conftest import authorized_client
from tests.integration.test_eligibility_api import project

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
HEAD = {"nik": "1571010303800003", "name": "Ujang Saputra", "birth_date": "1980-03-03", "sex": "M"}
HOUSEHOLD = {
    "kk_number": "1571010101200009",
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 9",
    "rt": "007",
    "rw": "002",
    "head": HEAD,
}
PROGRAMS = (
    ("REHSOS", {"recipient": "any_member", "serves_without_nik": True, "combinable_with": []}),
    # not with REHSOS (neither lists the other)
    ("BPNT", {"max_desil": 4, "combinable_with": []}),
)


def program(code: str, rules: dict) -> dict:
    return {
        "code": code,
        "name": code,
        "opd": "DINSOS",
        "funding": "APBD",
        "kind": "bansos",
        "rules": rules,
        "effective_from": "2025-01-01",
    }


@pytest.fixture
def linked(web):
    """REHSOS granted to a person without papers, then LinkIdentity to the head of a KK:
    (the household, the person, the REHSOS benefit id)."""
    casework = web.extensions["casework"].casework
    for code, rules in PROGRAMS:
        casework.define_program(program(code, rules), META)
    person_id = str(
        casework.execute(
            "RegisterHomelessPerson",
            {"name": "Pak Ujang", "sex": "M", "found_at": "Pasar", "kecamatan": "Telanaipura"},
            META,
        ).stream_id
    )
    today = dt.datetime.now(WIB).date()
    casework.execute(
        "GrantProvisionalBenefit",
        {
            "person_id": person_id,
            "program": "REHSOS",
            "period_start": (today - dt.timedelta(days=60)).isoformat(),
            "period_end": (today + dt.timedelta(days=300)).isoformat(),
            "amount": 300000,
        },
        META,
    )
    (benefit_id,) = casework.get_provisional_person(person_id).benefits
    household = str(casework.register_household(HOUSEHOLD, META).stream_id)
    casework.record_welfare_assessment(
        {"household_id": household, "source": "DTSEN", "desil": 3, "period": "2025-Q4"}, META
    )
    casework.execute(
        "LinkIdentity",
        {"person_id": person_id, "household_id": household, "nik": HEAD["nik"]},
        META,
    )
    project(web)
    return household, person_id, benefit_id


def grant_position(web, person_id: str) -> int:
    """The store position of the provisional REHSOS grant."""
    casework = web.extensions["casework"].casework
    (position,) = (
        n.id
        for n in casework.recorder.select_notifications(1, 10_000)
        if str(n.originator_id) == person_id and n.topic.endswith("ProvisionalBenefitGranted")
    )
    return position


def refusal(client, household: str, code: str) -> dict:
    today = dt.datetime.now(WIB).date()
    refused = client.post(
        "/api/v1/commands/GrantBenefit",
        json={
            "household_id": household,
            "nik": HEAD["nik"],
            "program": code,
            "period_start": today.isoformat(),
            "period_end": (today + dt.timedelta(days=30)).isoformat(),
            "amount": 200000,
        },
    )
    assert refused.status_code == 422, refused.json
    return refused.json


def test_a_benefit_before_the_nik_counts_once_linked_now_and_as_of_then(web, tokens, linked):
    household, person_id, benefit_id = linked
    url = f"/api/v1/households/{household}/eligibility"
    supervisor = authorized_client(web, tokens["sup1"])
    answered_then = supervisor.get(url).json["programs"]
    then = dt.datetime.now(dt.UTC).isoformat()
    by_program = {p["program"]: p for p in answered_then}
    granted = grant_position(web, person_id)
    # BPNT: refused for the REHSOS he received before his NIK was known, the reason naming
    # that grant; a grant of BPNT is refused the same way
    assert by_program["BPNT"]["status"] == "ineligible", by_program["BPNT"]
    (clash,) = (r for r in by_program["BPNT"]["reasons"] if r["rule"] == "combinable_with")
    assert clash["passed"] is False
    assert granted in clash["positions"]
    assert "combinable_with" in str(refusal(supervisor, household, "BPNT"))
    # REHSOS itself: a double receipt, as a grant of it is
    assert by_program["REHSOS"]["status"] == "ineligible", by_program["REHSOS"]
    (double,) = (r for r in by_program["REHSOS"]["reasons"] if r["rule"] == "double_receipt")
    assert double["passed"] is False and granted in double["positions"]
    assert "double_receipt" in str(refusal(supervisor, household, "REHSOS"))
    # as of then, in both modes: what the live view answered, the events behind it included
    auditor = authorized_client(web, tokens["auditor"])
    for mode in ("known", "effective"):
        past = auditor.get(url, query_string={"as_of": then, "mode": mode})
        assert past.status_code == 200, past.json
        assert past.json["programs"] == answered_then, mode

    # the provisional REHSOS ends today (recorded after the link): eligible for both
    casework = web.extensions["casework"].casework
    casework.execute(
        "TerminateProvisionalBenefit",
        {
            "person_id": person_id,
            "benefit_id": benefit_id,
            "effective_date": dt.datetime.now(WIB).date().isoformat(),
            "reason_code": "graduated",
        },
        META,
    )
    project(web)
    now = supervisor.get(url).json["programs"]
    assert {p["program"]: p["status"] for p in now} == {"BPNT": "eligible", "REHSOS": "eligible"}
    # as known then, still the answer of then; as it was then, the ending counts from the
    # start of today (its effective date)
    known = auditor.get(url, query_string={"as_of": then, "mode": "known"})
    assert known.json["programs"] == answered_then
    effective = auditor.get(url, query_string={"as_of": then, "mode": "effective"})
    assert effective.json["programs"] == now


def test_before_the_link_the_benefit_counts_neither_live_nor_as_of_then(web, tokens, linked):
    """As of a moment before LinkIdentity the provisional REHSOS was nobody's on this KK:
    the past answer says eligible, as the live view said then."""
    household, person_id, _benefit_id = linked
    casework = web.extensions["casework"].casework
    stored = casework.recorder.select_events(casework.get_provisional_person(person_id).id)
    (link,) = (e for e in stored if e.topic.endswith("IdentityLinked"))
    before = casework.mapper.to_domain_event(link).timestamp - dt.timedelta(microseconds=1)
    auditor = authorized_client(web, tokens["auditor"])
    url = f"/api/v1/households/{household}/eligibility"
    past = auditor.get(url, query_string={"as_of": before.isoformat(), "mode": "known"})
    assert past.status_code == 200, past.json
    assert {p["program"]: p["status"] for p in past.json["programs"]} == {
        "BPNT": "eligible",
        "REHSOS": "eligible",
    }
