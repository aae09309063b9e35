"""A program manager's program commands refused when they are asked for, by the API and the
command forms alike, naming the field, with nothing stored and nothing queued: a
`combinable_with` naming a code no program has, or the program itself; a change of rules
pinned to a version the program has left (not queued to fail when a supervisor approves)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import bearer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def program(code: str, combinable_with: list[str]) -> dict:
    return {
        "code": code,
        "name": f"Program {code}",
        "opd": "DINSOS",
        "funding": "APBD",
        "kind": "bansos",
        "rules": {"combinable_with": combinable_with},
        "effective_from": "2026-01-01",
    }


def post(client, command: str, body: dict, token: str):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def stored(web) -> int:
    return web.extensions["casework"].casework.recorder.max_notification_id() or 0


def pending(web) -> list[str]:
    return [c.command for c in web.extensions["casework"].casework.pending_approvals()]


def listed(client, token: str) -> dict[str, list[str]]:
    answer = client.get("/api/v1/programs", headers=bearer(token)).get_json()
    return {p["code"]: p["rules"]["combinable_with"] for p in answer["programs"]}


def form_client(web):
    browser = web.test_client(user="pm_dinsos")
    with browser.session_transaction() as session:
        session["csrf"] = "t"
    return browser


def test_combinable_with_names_only_other_defined_programs(web, tokens):
    client = web.test_client()
    pm = tokens["pm_dinsos"]
    assert post(client, "DefineProgram", program("BPNT", []), pm).status_code == 201
    before = stored(web)
    for codes, code in (
        (["BPNT", "NOPE"], "rules.combinable_with_unknown"),  # a typo
        (["PKH"], "rules.combinable_with_self"),
    ):
        answer = post(client, "DefineProgram", program("PKH", codes), pm)
        assert answer.status_code == 422, answer.get_json()
        assert answer.get_json()["codes"] == {"rules.combinable_with": [code]}
        assert answer.get_json()["errors"]["rules.combinable_with"]  # in words
    for codes, code in (
        (["NOPE"], "rules.combinable_with_unknown"),
        (["BPNT"], "rules.combinable_with_self"),
    ):
        change = {"code": "BPNT", "rules": {"combinable_with": codes}}
        asked = post(client, "ChangeProgramRules", change, pm)
        assert asked.status_code == 422, asked.get_json()  # not queued for a supervisor
        assert asked.get_json()["codes"] == {"rules.combinable_with": [code]}
    assert stored(web) == before and pending(web) == []
    assert listed(client, pm) == {"BPNT": []}

    # the form says so at the field, in Indonesian, and stores nothing either
    browser = form_client(web)
    form = {"csrf_token": "t", "code": "PKH", "name": "Program Keluarga Harapan", "opd": "DINSOS"}
    form |= {"funding": "APBN", "kind": "bansos", "rules.combinable_with": "BPNT, NOPE"}
    page = browser.post("/perintah/DefineProgram", data=form)
    assert page.status_code == 422
    assert "bukan program yang sudah ditetapkan" in page.get_data(as_text=True)
    change = {"csrf_token": "t", "code": "BPNT", "rules.combinable_with": "NOPE"}
    page = browser.post("/perintah/ChangeProgramRules", data=change)
    assert page.status_code == 422
    assert "bukan program yang sudah ditetapkan" in page.get_data(as_text=True)
    assert stored(web) == before and pending(web) == []

    # a program defined: it may be named (the combination holds once each lists the other)
    assert post(client, "DefineProgram", program("PKH", ["BPNT"]), pm).status_code == 201
    both = {"code": "BPNT", "rules": {"combinable_with": ["PKH"]}}
    assert post(client, "ChangeProgramRules", both, pm).status_code == 202


def test_a_change_of_rules_pinned_to_a_version_the_program_left_is_not_queued(web, tokens):
    client = web.test_client()
    pm = tokens["pm_dinsos"]
    assert post(client, "DefineProgram", program("BPNT", []), pm).status_code == 201
    before = stored(web)
    change = {"code": "BPNT", "rules": {"max_desil": 4}, "expected_version": 3}
    answer = post(client, "ChangeProgramRules", change, pm)
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["codes"] == {"expected_version": ["program.version_stale"]}
    assert "program" in answer.get_json()["errors"]["expected_version"][0].lower()
    assert stored(web) == before and pending(web) == []  # no supervisor sees it

    browser = form_client(web)
    form = {"csrf_token": "t", "code": "BPNT", "rules.max_desil": "4", "expected_version": "3"}
    page = browser.post("/perintah/ChangeProgramRules", data=form)
    assert page.status_code == 409
    assert "Program ini sudah berubah" in page.get_data(as_text=True)
    assert stored(web) == before and pending(web) == []

    # the program's own version is waiting for approval, and approved it is carried out
    asked = post(client, "ChangeProgramRules", {**change, "expected_version": 1}, pm)
    assert asked.status_code == 202, asked.get_json()
    done = post(client, "ApproveChange", asked.get_json(), tokens["sup1"])
    assert done.status_code == 201, done.get_json()
