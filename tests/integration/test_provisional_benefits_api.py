"""Help before a NIK, benefits, over HTTP on SQLite and PostgreSQL: a person without papers is
granted a program that serves people without a NIK (maker-checker); a program for NIK holders
only and double receipt are refused; after LinkIdentity the benefit is the NIK's: listed in
persons/<nik>/benefits, in the program's beneficiaries, on the household page under the
member, and a GrantBenefit of the same program over an overlapping period is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from projections import beneficiaries
from projections.beneficiaries import count_active
from tests.integration.conftest import bearer
from tests.integration.test_command_forms import options_of
from tests.integration.test_restriction import Views


@pytest.fixture(autouse=True)
def a_day_the_grants_run(monkeypatch):
    """The program's list and count show the benefits running on their day (today by
    default): here a day within the grants' periods, whatever day the suite runs on."""
    monkeypatch.setattr(beneficiaries, "today", lambda: dt.date(2026, 3, 15))


pytestmark = pytest.mark.integration

SON = {"nik": "1571010303000003", "name": "Rahmat Hidayat", "birth_date": "2000-03-03", "sex": "M"}
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
PERSON = {
    "name": "Pak Ujang",
    "sex": "M",
    "found_at": "Emperan Pasar Angso Duo",
    "kecamatan": "Telanaipura",
}
UNKNOWN = "0b7c9a52-3a9e-4f54-8a0e-2f1d6c1b9e10"


@pytest.fixture
def client(web):
    return web.test_client()


def post(client, command, body, token):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def approved(client, command, body, maker, checker):
    asked = post(client, command, body, maker)
    assert asked.status_code == 202, asked.json
    done = post(client, "ApproveChange", {"approval_id": asked.json["approval_id"]}, checker)
    assert done.status_code == 201, done.json
    return done.json


def grant(person_id, program="REHSOS", start="2026-01-01", end="2026-03-31"):
    return {
        "person_id": person_id,
        "program": program,
        "period_start": start,
        "period_end": end,
        "amount": 300000,
    }


@pytest.fixture
def person_id(client, web, tokens) -> str:
    seed_catalog(web.extensions["casework"].casework, make_meta(SYSTEM, "seed"))
    registered = post(client, "RegisterHomelessPerson", PERSON, tokens["cw_sipin"])
    assert registered.status_code == 201, registered.json
    return registered.json["person_id"]


def test_a_grant_before_a_nik_is_checked_then_approved(client, tokens, person_id):
    cw = tokens["cw_sipin"]
    # a program for NIK holders only: 422 naming the program, nothing kept for approval
    refused = post(client, "GrantProvisionalBenefit", grant(person_id, "PKH"), cw)
    assert refused.status_code == 422, refused.json
    assert refused.json["codes"] == {"program": ["rules.needs_nik"]}
    assert "PKH" in refused.json["errors"]["program"][0]
    # unknown person or program: 404
    unknown = post(client, "GrantProvisionalBenefit", grant(UNKNOWN), cw)
    assert unknown.status_code == 404 and "person_id" in unknown.json["codes"]
    unknown = post(client, "GrantProvisionalBenefit", grant(person_id, "NOPE"), cw)
    assert unknown.status_code == 404 and "program" in unknown.json["codes"]
    # a case worker of another kecamatan may not ask
    other = post(client, "GrantProvisionalBenefit", grant(person_id), tokens["cw_pelayangan"])
    assert other.status_code == 403
    # none of those refusals was kept for approval
    approvals = client.get("/api/v1/approvals", headers=bearer(tokens["sup1"])).json
    assert approvals["approvals"] == []

    done = approved(client, "GrantProvisionalBenefit", grant(person_id), cw, tokens["sup1"])
    assert done["stream_id"] == person_id and done["benefit_id"]

    # the same program over an overlapping period: double receipt, refused at once
    again = post(client, "GrantProvisionalBenefit", grant(person_id, start="2026-03-01"), cw)
    assert again.status_code == 422, again.json
    assert again.json["codes"] == {"program": ["rules.double_receipt"]}


def test_after_linking_the_benefit_is_the_niks(client, web, tokens, person_id):
    cw, sup = tokens["cw_sipin"], tokens["sup1"]
    benefit_id = approved(client, "GrantProvisionalBenefit", grant(person_id), cw, sup)[
        "benefit_id"
    ]
    household_id = post(client, "RegisterHousehold", HOUSEHOLD, cw).json["stream_id"]
    member = {"household_id": household_id, "person": SON, "relationship": "anak"}
    assert post(client, "AddMember", member, cw).status_code == 201
    link = {"person_id": person_id, "household_id": household_id, "nik": SON["nik"]}
    approved(client, "LinkIdentity", link, cw, sup)

    # persons/<nik>/benefits lists it, marked as granted before the NIK
    listed = client.get(f"/api/v1/persons/{SON['nik']}/benefits", headers=bearer(sup))
    assert listed.status_code == 200, listed.json
    [row] = listed.json["results"]
    assert (row["benefit_id"], row["program"], row["person_id"], row["before_nik"]) == (
        benefit_id,
        "REHSOS",
        person_id,
        True,
    )
    assert (
        client.get(
            f"/api/v1/persons/{SON['nik']}/benefits", headers=bearer(tokens["agency"])
        ).status_code
        == 403
    )
    assert (
        client.get("/api/v1/persons/1571010101900001/benefits", headers=bearer(sup)).status_code
        == 404
    )
    assert client.get("/api/v1/persons/12345/benefits", headers=bearer(sup)).status_code == 422

    # a GrantBenefit of the same program over an overlapping period is double receipt
    overlapping = {
        "household_id": household_id,
        "nik": SON["nik"],
        "program": "REHSOS",
        "period_start": "2026-02-01",
        "period_end": "2026-06-30",
        "amount": 300000,
    }
    refused = post(client, "GrantBenefit", overlapping, cw)
    assert refused.status_code == 422, refused.json
    assert refused.json["codes"] == {"program": ["rules.double_receipt"]}
    assert refused.json["reasons"][0]["detail"]["benefit_id"] == benefit_id

    # the program's beneficiaries show it under the NIK and the household
    views = Views(web)
    views.catch_up()
    shown = client.get("/api/v1/programs/REHSOS/beneficiaries", headers=bearer(sup)).json
    assert [(r["benefit_id"], r["household_id"], r["nik"]) for r in shown["results"]] == [
        (benefit_id, household_id, SON["nik"])
    ]

    # the household page shows it under the member, with the help before the NIK
    page = client.get(f"/rumah-tangga/{household_id}").text
    section = page.split("Bantuan sebelum NIK diketahui", 1)[1]
    assert "Rahmat Hidayat" in section and "REHSOS" in section


def test_before_linking_the_program_counts_it_but_lists_no_recipient(
    client, web, tokens, person_id
):
    approved(
        client, "GrantProvisionalBenefit", grant(person_id), tokens["cw_sipin"], tokens["sup1"]
    )
    views = Views(web)
    views.catch_up()
    assert count_active(web.extensions["casework"].views, "REHSOS") == 1
    shown = client.get("/api/v1/programs/REHSOS/beneficiaries", headers=bearer(tokens["sup1"]))
    assert shown.json["results"] == []


def test_a_benefit_before_the_nik_is_terminated_with_a_declared_reason(
    client, web, tokens, person_id
):
    cw, sup = tokens["cw_sipin"], tokens["sup1"]
    benefit_id = approved(client, "GrantProvisionalBenefit", grant(person_id), cw, sup)[
        "benefit_id"
    ]
    body = {
        "person_id": person_id,
        "benefit_id": benefit_id,
        "effective_date": "2026-02-01",
        "reason_code": "bosan",
    }
    bad = post(client, "TerminateProvisionalBenefit", body, cw)
    assert bad.status_code == 422 and "reason_code" in bad.json["codes"]
    missing = post(
        client,
        "TerminateProvisionalBenefit",
        {**body, "benefit_id": UNKNOWN, "reason_code": "deceased"},
        cw,
    )
    assert missing.status_code == 404 and "benefit_id" in missing.json["codes"]
    approved(
        client,
        "TerminateProvisionalBenefit",
        {**body, "reason_code": "issue_resolved"},
        cw,
        sup,
    )
    person = web.extensions["casework"].casework.get_provisional_person(person_id)
    assert person.benefits[benefit_id]["status"] == "terminated"


def test_the_grant_form_picks_the_person_and_a_program_that_serves_them(web, person_id):
    page = web.test_client().get("/perintah/GrantProvisionalBenefit").text
    people = options_of(page, "person_id")
    assert list(people) == [person_id] and people[person_id].startswith("Pak Ujang · Telanaipura")
    programs = options_of(page, "program")
    assert "REHSOS" in programs and "PKH" not in programs


def test_a_termination_is_asked_by_the_programs_opd_or_the_persons_caseworker(
    client, tokens, person_id
):
    """REHSOS is Dinas Sosial's: its program manager may ask, BAZNAS's may not; a case worker
    of the person's kecamatan may, one of another kecamatan may not; read-only roles never."""
    benefit_id = approved(
        client, "GrantProvisionalBenefit", grant(person_id), tokens["cw_sipin"], tokens["sup1"]
    )["benefit_id"]
    body = {
        "person_id": person_id,
        "benefit_id": benefit_id,
        "effective_date": "2026-02-01",
        "reason_code": "issue_resolved",
    }
    answers = {
        name: post(client, "TerminateProvisionalBenefit", body, tokens[name])
        for name in ("pm_dinsos", "pm_baznas", "cw_sipin", "cw_pelayangan", "auditor", "agency")
    }
    assert {name: a.status_code for name, a in answers.items()} == {
        "pm_dinsos": 202,
        "pm_baznas": 403,
        "cw_sipin": 202,
        "cw_pelayangan": 403,
        "auditor": 403,
        "agency": 403,
    }
    assert answers["pm_baznas"].json["codes"] == {"benefit_id": ["auth.opd"]}
    # an unknown benefit is the command's own 404, not a refusal of the manager
    missing = post(
        client,
        "TerminateProvisionalBenefit",
        {**body, "benefit_id": UNKNOWN},
        tokens["pm_dinsos"],
    )
    assert missing.status_code == 404 and "benefit_id" in missing.json["codes"]
    # the manager's request is carried out once a supervisor approves it
    done = post(
        client,
        "ApproveChange",
        {"approval_id": answers["pm_dinsos"].json["approval_id"]},
        tokens["sup1"],
    )
    assert done.status_code == 201, done.json


def test_linking_a_nik_that_already_receives_the_program_is_refused_naming_both(
    client, web, tokens, person_id
):
    cw, sup = tokens["cw_sipin"], tokens["sup1"]
    provisional = approved(client, "GrantProvisionalBenefit", grant(person_id), cw, sup)[
        "benefit_id"
    ]
    household_id = post(client, "RegisterHousehold", HOUSEHOLD, cw).json["stream_id"]
    member = {"household_id": household_id, "person": SON, "relationship": "anak"}
    assert post(client, "AddMember", member, cw).status_code == 201
    own = {
        "household_id": household_id,
        "nik": SON["nik"],
        "program": "REHSOS",
        "period_start": "2026-02-01",
        "period_end": "2026-06-30",
        "amount": 300000,
    }
    nik_benefit = approved(client, "GrantBenefit", own, cw, sup)["benefit_id"]

    link = {"person_id": person_id, "household_id": household_id, "nik": SON["nik"]}
    refused = post(client, "LinkIdentity", link, cw)
    assert refused.status_code == 422, refused.json
    assert refused.json["codes"] == {"nik": ["identity.double_receipt"]}
    [worded] = refused.json["errors"]["nik"]
    assert provisional in worded and nik_benefit in worded and "REHSOS" in worded
    assert SON["nik"] not in worded and "Pak Ujang" not in worded
    approvals = client.get("/api/v1/approvals", headers=bearer(sup)).json
    assert approvals["approvals"] == []

    # once the benefit before the NIK ends (double receipt), the link is asked and approved
    ended = {
        "person_id": person_id,
        "benefit_id": provisional,
        "effective_date": "2026-02-01",
        "reason_code": "double_receipt",
    }
    approved(client, "TerminateProvisionalBenefit", ended, cw, sup)
    approved(client, "LinkIdentity", link, cw, sup)
    person = web.extensions["casework"].casework.get_provisional_person(person_id)
    assert person.linked_nik == SON["nik"]


def test_the_termination_form_picks_a_running_benefit_of_the_chosen_person(
    web, client, tokens, person_id
):
    cw, sup = tokens["cw_sipin"], tokens["sup1"]
    running = approved(client, "GrantProvisionalBenefit", grant(person_id), cw, sup)["benefit_id"]
    ended = approved(
        client,
        "GrantProvisionalBenefit",
        grant(person_id, start="2026-04-01", end="2026-06-30"),
        cw,
        sup,
    )["benefit_id"]
    body = {
        "person_id": person_id,
        "benefit_id": ended,
        "effective_date": "2026-04-01",
        "reason_code": "issue_resolved",
    }
    approved(client, "TerminateProvisionalBenefit", body, cw, sup)
    household_id = post(client, "RegisterHousehold", HOUSEHOLD, cw).json["stream_id"]

    # no person chosen yet: nothing to pick; choosing one reloads the form (htmx)
    page = client.get("/perintah/TerminateProvisionalBenefit").text
    assert options_of(page, "benefit_id") == {}
    assert 'hx-select="#command-form"' in page.split('name="person_id"', 1)[1].split(">", 1)[0]
    # the person chosen (a household's id in the query changes nothing): their running one
    query = f"person_id={person_id}&household_id={household_id}"
    page = client.get(f"/perintah/TerminateProvisionalBenefit?{query}").text
    picked = options_of(page, "benefit_id")
    assert list(picked) == [running] and picked[running].startswith("REHSOS · ")
    assert f'<option value="{person_id}" selected' in page


def test_a_benefit_before_a_nik_is_suspended_and_resumed_at_once(client, web, tokens, person_id):
    benefit_id = approved(
        client, "GrantProvisionalBenefit", grant(person_id), tokens["cw_sipin"], tokens["sup1"]
    )["benefit_id"]
    body = {
        "person_id": person_id,
        "benefit_id": benefit_id,
        "effective_date": "2026-02-01",
        "reason_code": "conditions_not_met",
    }
    assert post(client, "SuspendProvisionalBenefit", body, tokens["pm_baznas"]).status_code == 403
    bad = post(
        client, "SuspendProvisionalBenefit", {**body, "reason_code": "bosan"}, tokens["pm_dinsos"]
    )
    assert bad.status_code == 422 and "reason_code" in bad.json["codes"]
    done = post(client, "SuspendProvisionalBenefit", body, tokens["pm_dinsos"])
    assert done.status_code == 201, done.json
    views = Views(web)
    views.catch_up()
    assert count_active(web.extensions["casework"].views, "REHSOS") == 0
    again = post(client, "SuspendProvisionalBenefit", body, tokens["cw_sipin"])
    assert again.status_code == 422 and again.json["codes"] == {
        "benefit_id": ["benefit.not_active"]
    }

    resumed = {**body, "effective_date": "2026-03-01", "reason_code": "issue_resolved"}
    assert post(client, "ResumeProvisionalBenefit", resumed, tokens["cw_sipin"]).status_code == 201
    views.catch_up()
    assert count_active(web.extensions["casework"].views, "REHSOS") == 1
