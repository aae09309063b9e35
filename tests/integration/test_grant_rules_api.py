"""Issue 8 over HTTP: a grant that fails its program's rules answers 422 at once with every
failing rule, in Bahasa Indonesia, and queues nothing; one whose rules fail by the time it is
approved is closed as refused and leaves the queue; a request naming nothing that exists is
404."""

from __future__ import annotations

import pytest

from app.schemas import COMMANDS, example
from tests.integration.conftest import bearer
from tests.integration.test_commands_api import HEAD, post, register, stored

pytestmark = pytest.mark.integration


@pytest.fixture
def client(web):
    return web.test_client()


def prepare(client, tokens) -> str:
    """PKH as the schema's example (desil <= 4, an adult woman) asking 6 months of residence,
    and a family whose head arrived on 15 September 2024."""
    program = example(COMMANDS["DefineProgram"].schema)
    program["rules"] = {**program["rules"], "min_residence_months": 6}
    assert post(client, "DefineProgram", program, tokens["admin"]).status_code == 201
    household_id = register(client, tokens["admin"])
    ktp = {
        "household_id": household_id,
        "nik": HEAD["nik"],
        "issued_on": "2024-09-20",
        "arrival": {
            "type": "pindah_datang",
            "arrived_on": "2024-09-15",
            "origin_region_code": "167101",
        },
    }
    assert post(client, "IssueKtp", ktp, tokens["admin"]).status_code == 201
    return household_id


def assess(client, tokens, household_id: str, desil: int, period: str) -> None:
    body = {
        "household_id": household_id,
        "source": "DTSEN",
        "desil": desil,
        "period": period,
        "reference": "BPS",
    }
    assert post(client, "RecordWelfareAssessment", body, tokens["admin"]).status_code == 201


def grant(household_id: str, start: str) -> dict:
    return {
        "household_id": household_id,
        "nik": HEAD["nik"],
        "program": "PKH",
        "period_start": start,
        "period_end": "2025-12-31",
        "amount": 750000,
    }


def test_a_grant_failing_rules_answers_every_rule_at_once_and_queues_nothing(client, web, tokens):
    household_id = prepare(client, tokens)
    assess(client, tokens, household_id, 6, "2024-Q3")
    before = stored(web)

    refused = post(client, "GrantBenefit", grant(household_id, "2025-01-01"), tokens["sup1"])

    assert refused.status_code == 422
    assert refused.json["codes"] == {
        "program": ["rules.desil_too_high", "rules.residence_too_short"]
    }
    desil, residence = refused.json["reasons"]
    assert (desil["rule"], desil["rule_version"]) == ("max_desil", 1)
    assert residence["detail"] == {"months": 3, "needed": 6, "eligible_on": "2025-03-15"}
    messages = refused.json["errors"]["program"]
    assert "desil" in messages[0] and "6" in messages[0] and "4" in messages[0]
    assert "3 bulan" in messages[1] and "15 Maret 2025" in messages[1]  # Bahasa Indonesia
    assert HEAD["nik"] not in refused.get_data(as_text=True)
    assert stored(web) == before
    queue = client.get("/api/v1/approvals", headers=bearer(tokens["sup2"])).json["approvals"]
    assert queue == []


def test_a_grant_whose_rules_fail_by_approval_is_refused_and_leaves_the_queue(client, tokens):
    household_id = prepare(client, tokens)
    assess(client, tokens, household_id, 3, "2024-Q4")
    asked = post(client, "GrantBenefit", grant(household_id, "2025-04-01"), tokens["sup1"])
    assert asked.status_code == 202
    approval_id = asked.json["approval_id"]
    assess(client, tokens, household_id, 7, "2025-Q1")  # the new DTSEN quarter

    decided = post(client, "ApproveChange", {"approval_id": approval_id}, tokens["sup2"])

    # decided as refused (stored): 200, not 422, which means nothing was stored
    assert decided.status_code == 200
    assert decided.json["status"] == "refused"
    assert decided.json["codes"] == {
        "approval_id": ["approval.refused"],
        "program": ["rules.desil_too_high"],
    }
    assert "7" in decided.json["errors"]["program"][0]
    queue = client.get("/api/v1/approvals", headers=bearer(tokens["sup2"])).json["approvals"]
    assert queue == []
    trail = client.get(
        f"/api/v1/approvals/{approval_id}/history", headers=bearer(tokens["sup1"])
    ).json["events"]
    assert [e["type"] for e in trail] == ["ChangeRequested", "ChangeRefused"]
    change = client.get(f"/api/v1/approvals/{approval_id}", headers=bearer(tokens["sup1"]))
    assert change.json["status"] == "refused"
    assert [r["rule"] for r in change.json["reasons"]] == ["max_desil"]
    state = client.get(f"/api/v1/households/{household_id}", headers=bearer(tokens["admin"]))
    assert state.json["benefits"] == []


def test_a_request_naming_no_household_is_404_and_queues_nothing(client, web, tokens):
    prepare(client, tokens)
    before = stored(web)
    missing = post(
        client,
        "GrantBenefit",
        grant("00000000-0000-4000-8000-000000000000", "2025-04-01"),
        tokens["sup1"],
    )
    assert missing.status_code == 404
    assert missing.json["codes"] == {"household_id": ["household.not_found"]}
    assert stored(web) == before


def test_the_grant_form_shows_every_failing_rule_in_words(client, web, tokens):
    household_id = prepare(client, tokens)
    assess(client, tokens, household_id, 6, "2024-Q3")
    with client.session_transaction() as session:
        session["csrf"] = "t"
    form = {**grant(household_id, "2025-01-01"), "amount": "750000", "csrf_token": "t"}

    page = client.post("/perintah/GrantBenefit", data=form)

    text = page.get_data(as_text=True)
    assert page.status_code == 422, text[:500]
    assert "3 bulan" in text and "15 Maret 2025" in text  # months counted, eligible from
    assert "desil" in text.lower()


def test_a_grant_to_someone_the_program_does_not_pay_names_its_recipient_rule(client, web, tokens):
    """KJB pays the head of family: granting it to a newcomer who is not the head says so,
    not PKH's rule; PKH granted to a man names its own (an adult woman)."""
    for code, recipient in (("KJB", "head"), ("PKH", "adult_woman")):
        program = example(COMMANDS["DefineProgram"].schema)
        program.update(code=code, name=code)
        program["rules"] = {"recipient": recipient}
        assert post(client, "DefineProgram", program, tokens["admin"]).status_code == 201
    household_id = register(client, tokens["admin"])
    harun = {"nik": "1571010505900003", "name": "Harun", "birth_date": "1990-05-05", "sex": "M"}
    added = {"household_id": household_id, "person": harun, "relationship": "famili_lain"}
    assert post(client, "AddMember", added, tokens["admin"]).status_code == 201
    ktp = {
        "household_id": household_id,
        "nik": harun["nik"],
        "issued_on": "2026-03-02",
        "arrival": {
            "type": "pindah_datang",
            "arrived_on": "2026-03-01",
            "origin_region_code": "167101",
        },
    }
    assert post(client, "IssueKtp", ktp, tokens["admin"]).status_code == 201

    def refused(code: str, language: str) -> str:
        body = {**grant(household_id, "2026-04-01"), "nik": harun["nik"], "program": code}
        body["period_end"] = "2026-12-31"
        answer = client.post(
            "/api/v1/commands/GrantBenefit",
            json=body,
            headers={**bearer(tokens["sup1"]), "Accept-Language": language},
        )
        assert answer.status_code == 422, answer.json
        assert answer.json["codes"] == {"program": ["rules.recipient"]}
        assert harun["nik"] not in answer.get_data(as_text=True)
        (message,) = answer.json["errors"]["program"]
        return message

    kjb = refused("KJB", "en")
    assert "head of family" in kjb and "PKH" not in kjb and "woman" not in kjb
    assert "PKH" not in refused("KJB", "id")  # not "misalnya PKH untuk ibu"
    pkh = refused("PKH", "en")
    assert "adult woman" in pkh and "head of family" not in pkh
