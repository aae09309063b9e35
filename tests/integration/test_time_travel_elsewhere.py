"""Time travel reads a person's benefits on their other KKs, on SQLite and PostgreSQL: a
daughter holding PKH on her mother's KK splits off to a KK of her own; as of a moment after
that, the past answers for her new KK are what the live view answered then (a program not
combinable with PKH refused, the reason naming the PKH grant on the old KK), in both modes;
as known then still after the PKH was ended, as it was then no longer (it ended that day)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from domain.city import WIB
from tests.integration.conftest import authorized_client
from tests.integration.test_eligibility_api import project

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
REGION = "157101"
MOTHER = {
    "nik": nik_for(REGION, dt.date(1975, 3, 12), "F", 1),
    "name": "Siti Aminah",
    "birth_date": "1975-03-12",
    "sex": "F",
}
DAUGHTER = {
    "nik": nik_for(REGION, dt.date(2000, 6, 7), "F", 2),
    "name": "Rina Aminah",
    "birth_date": "2000-06-07",
    "sex": "F",
}
OLD_KK = kk_for(REGION, dt.date(2010, 1, 1), 1)
NEW_KK = kk_for(REGION, dt.date(2026, 1, 5), 2)
HOUSEHOLD = {
    "kk_number": OLD_KK,
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 5",
    "rt": "007",
    "rw": "002",
    "head": MOTHER,
}
PROGRAMS = (
    ("PKH", "DINSOS", {"max_desil": 4, "recipient": "adult_woman"}),
    # not with PKH (neither lists the other)
    ("BPNT", "DINSOS", {"max_desil": 4, "combinable_with": []}),
)


def program(code: str, opd: str, rules: dict) -> dict:
    return {
        "code": code,
        "name": code,
        "opd": opd,
        "funding": "APBN",
        "kind": "bansos",
        "rules": rules,
        "effective_from": "2025-01-01",
    }


def assessed(household_id, desil: int) -> dict:
    return {"household_id": household_id, "source": "DTSEN", "desil": desil, "period": "2025-Q4"}


@pytest.fixture
def moved(web):
    """The daughter's PKH granted on her mother's KK, then her split to a KK of her own:
    (the old KK, the new KK, the PKH's benefit id)."""
    casework = web.extensions["casework"].casework
    for code, opd, rules in PROGRAMS:
        casework.define_program(program(code, opd, rules), META)
    old = casework.register_household(HOUSEHOLD, META).stream_id
    casework.add_member({"household_id": old, "person": DAUGHTER, "relationship": "anak"}, META)
    casework.record_welfare_assessment(assessed(old, 3), META)
    today = dt.datetime.now(WIB).date()
    casework.grant_benefit(
        {
            "household_id": str(old),
            "nik": DAUGHTER["nik"],
            "program": "PKH",
            "period_start": (today - dt.timedelta(days=60)).isoformat(),
            "period_end": (today + dt.timedelta(days=300)).isoformat(),
            "amount": 300000,
        },
        META,
    )
    (benefit_id,) = casework.get_household(old).benefits
    new = casework.split_family(
        {
            "household_id": str(old),
            "members": [DAUGHTER["nik"]],
            "new_head_nik": DAUGHTER["nik"],
            "new_kk_number": NEW_KK,
            "effective_date": (today - dt.timedelta(days=10)).isoformat(),
        },
        META,
    ).stream_id
    casework.record_welfare_assessment(assessed(new, 3), META)
    project(web)
    return str(old), str(new), benefit_id


def grant_position(web, household: str) -> int:
    """The store position of the PKH grant on the old KK."""
    casework = web.extensions["casework"].casework
    (position,) = (
        n.id
        for n in casework.recorder.select_notifications(1, 10_000)
        if str(n.originator_id) == household and n.topic.endswith("BenefitGranted")
    )
    return position


def test_as_of_then_a_benefit_on_another_kk_clashes_as_the_live_view_said_then(
    web, tokens, moved
):
    old, new, benefit_id = moved
    client = authorized_client(web, tokens["auditor"])
    url = f"/api/v1/households/{new}/eligibility"
    live = authorized_client(web, tokens["sup1"]).get(url)
    assert live.status_code == 200, live.json
    answered_then = live.json["programs"]
    moment = dt.datetime.now(dt.UTC)
    then = moment.isoformat()
    by_program = {p["program"]: p for p in answered_then}
    # the live view: BPNT refused on the new KK for the PKH she holds on the old one, the
    # reason naming that grant
    assert by_program["BPNT"]["status"] == "ineligible"
    (clash,) = (r for r in by_program["BPNT"]["reasons"] if r["rule"] == "combinable_with")
    assert clash["passed"] is False
    assert grant_position(web, old) in clash["positions"]
    # as of then, in both modes: what the live view answered then, the reasons and the
    # events behind them included (the grant on the old KK among them)
    for mode in ("known", "effective"):
        past = client.get(url, query_string={"as_of": then, "mode": mode})
        assert past.status_code == 200, past.json
        assert past.json["programs"] == answered_then, mode

    # later the PKH ends on the old KK, from today: BPNT is no longer refused for it
    casework = web.extensions["casework"].casework
    casework.terminate_benefit(
        {
            "household_id": old,
            "benefit_id": benefit_id,
            "effective_date": dt.datetime.now(WIB).date().isoformat(),
            "reason_code": "graduated",
        },
        META,
    )
    project(web)
    now = authorized_client(web, tokens["sup1"]).get(url).json["programs"]
    assert {p["program"]: p["status"] for p in now}["BPNT"] == "eligible"
    # as known then, still what the live view answered then (the old KK as known then); as
    # it was then, the ending counts from the start of today (its effective date)
    known = client.get(url, query_string={"as_of": then, "mode": "known"})
    assert known.status_code == 200, known.json
    assert known.json["programs"] == answered_then
    effective = client.get(url, query_string={"as_of": then, "mode": "effective"})
    assert effective.status_code == 200, effective.json
    assert effective.json["programs"] == now

    # the auditor's timeline as known then says why, as the household page said then
    page = web.test_client(user="auditor").get(
        f"/rumah-tangga/{new}/lini-masa",
        query_string={"saat": moment.astimezone(WIB).replace(tzinfo=None).isoformat()},
    )
    assert page.status_code == 200
    assert "penerima menerima PKH, yang tidak boleh digabung dengan program ini" in page.text


def test_the_same_program_on_another_kk_is_a_double_receipt_now_and_as_of_then(
    web, tokens, moved
):
    """Her PKH on the old KK: a PKH on the new KK would be refused as a double receipt (the
    grant's own rule), so the view does not call her eligible for it there (it did, and
    listed the new KK among those eligible and unserved); as of then, the same; once the old
    PKH ends, she is eligible on the new KK."""
    old, new, benefit_id = moved
    url = f"/api/v1/households/{new}/eligibility"
    supervisor = authorized_client(web, tokens["sup1"])
    answered_then = supervisor.get(url).json["programs"]
    then = dt.datetime.now(dt.UTC).isoformat()
    (pkh,) = (p for p in answered_then if p["program"] == "PKH")
    assert pkh["status"] == "ineligible", pkh
    (double,) = (r for r in pkh["reasons"] if r["rule"] == "double_receipt")
    assert double["passed"] is False
    assert grant_position(web, old) in double["positions"]
    # the grant says the same
    casework = web.extensions["casework"].casework
    today = dt.datetime.now(WIB).date()
    refused = supervisor.post(
        "/api/v1/commands/GrantBenefit",
        json={
            "household_id": new,
            "nik": DAUGHTER["nik"],
            "program": "PKH",
            "period_start": today.isoformat(),
            "period_end": (today + dt.timedelta(days=30)).isoformat(),
            "amount": 300000,
        },
    )
    assert refused.status_code == 422 and "double_receipt" in str(refused.json), refused.json
    auditor = authorized_client(web, tokens["auditor"])
    for mode in ("known", "effective"):
        past = auditor.get(url, query_string={"as_of": then, "mode": mode})
        assert past.json["programs"] == answered_then, mode

    casework.terminate_benefit(
        {
            "household_id": old,
            "benefit_id": benefit_id,
            "effective_date": today.isoformat(),
            "reason_code": "moved_away",
        },
        META,
    )
    project(web)
    now = {p["program"]: p for p in supervisor.get(url).json["programs"]}
    assert now["PKH"]["status"] == "eligible", now["PKH"]
