"""Restriction of processing over HTTP, on SQLite and PostgreSQL: a person granted a benefit is
in the program's beneficiaries; restricted, they are gone (the registry keeps them, marked);
lifted, they are back."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.wire import from_notification
from app.schemas import COMMANDS, example
from projections import beneficiaries as beneficiaries_view
from projections.base import apply_batch, reveal
from projections.catalog import PROJECTIONS
from tests.integration.conftest import bearer
from tests.integration.test_commands_api import GRANT, HEAD, HOUSEHOLD


@pytest.fixture(autouse=True)
def a_day_the_grants_run(monkeypatch):
    """The program's list and count show the benefits running on their day (today by
    default): here a day within the grants' periods, whatever day the suite runs on."""
    monkeypatch.setattr(beneficiaries_view, "today", lambda: dt.date(2025, 2, 15))


pytestmark = pytest.mark.integration

GROUNDS = "Subjek data membantah keakuratan data; permohonan tertulis."


@pytest.fixture
def client(web):
    return web.test_client()


def post(client, command: str, body: dict, token: str):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


class Views:
    """Applies what the store has recorded since the last call to every registered view."""

    def __init__(self, web) -> None:
        self.services = web.extensions["casework"]
        self.position = 0

    def catch_up(self) -> None:
        casework = self.services.casework
        notifications = casework.recorder.select_notifications(
            self.position, 10_000, inclusive_of_start=False
        )
        envelopes = [
            reveal(casework.codec, from_notification(casework, n, "1571", sealed=True))
            for n in notifications
        ]
        for projection in PROJECTIONS.values():
            apply_batch(self.services.views, projection, envelopes)
        if notifications:
            self.position = notifications[-1].id


def beneficiaries(client, token: str, program: str = "PKH") -> list[str]:
    response = client.get(f"/api/v1/programs/{program}/beneficiaries", headers=bearer(token))
    assert response.status_code == 200, response.json
    assert response.json["program"] == program
    return [row["nik"] for row in response.json["results"]]


def registered(client, token: str, household_id: str) -> dict:
    response = client.get(f"/api/v1/households?nik={HEAD['nik']}", headers=bearer(token))
    assert response.status_code == 200, response.json
    [found] = [h for h in response.json["results"] if h["id"] == household_id]
    return {m["nik"]: m for m in found["members"]}


@pytest.fixture
def granted(client, web, tokens) -> str:
    """A household whose head has an approved PKH benefit (maker-checker), views caught up."""
    program = example(COMMANDS["DefineProgram"].schema)
    assert program["code"] == GRANT["program"]
    assert post(client, "DefineProgram", program, tokens["admin"]).status_code == 201
    response = post(client, "RegisterHousehold", HOUSEHOLD, tokens["cw_sipin"])
    assert response.status_code == 201, response.json
    household_id = response.json["stream_id"]
    asked = post(client, "GrantBenefit", {**GRANT, "household_id": household_id}, tokens["sup1"])
    assert asked.status_code == 202, asked.json
    decision = {"approval_id": asked.json["approval_id"], "note": "Sesuai SK."}
    assert post(client, "ApproveChange", decision, tokens["sup2"]).status_code == 201
    return household_id


def test_a_restricted_person_leaves_the_program_view_and_comes_back(client, web, tokens, granted):
    views = Views(web)
    views.catch_up()
    person = {"household_id": granted, "nik": HEAD["nik"]}
    assert beneficiaries(client, tokens["auditor"]) == [HEAD["nik"]]
    masked = HEAD["nik"][:4] + "*" * 10 + HEAD["nik"][-2:]  # a program manager's view
    assert beneficiaries(client, tokens["pm_dinsos"]) == [masked]

    restricted = post(client, "RestrictProcessing", {**person, "grounds": GROUNDS}, tokens["sup1"])
    assert restricted.status_code == 201, restricted.json
    again = post(client, "RestrictProcessing", {**person, "grounds": GROUNDS}, tokens["admin"])
    assert again.status_code == 422 and again.json["codes"] == {"nik": ["restriction.already"]}
    views.catch_up()
    assert beneficiaries(client, tokens["auditor"]) == []
    # the registry keeps the person, marked (the register view and the household's state)
    assert registered(client, tokens["admin"], granted)[HEAD["nik"]]["restricted"] is True
    state = client.get(f"/api/v1/households/{granted}", headers=bearer(tokens["admin"])).json
    assert [m["restricted"] for m in state["members"]] == [True]

    lifted = post(client, "LiftRestriction", person, tokens["admin"])
    assert lifted.status_code == 201, lifted.json
    assert lifted.json["version"] == restricted.json["version"] + 1
    views.catch_up()
    assert beneficiaries(client, tokens["auditor"]) == [HEAD["nik"]]
    assert registered(client, tokens["admin"], granted)[HEAD["nik"]]["restricted"] is False
    twice = post(client, "LiftRestriction", person, tokens["admin"])
    assert twice.status_code == 422
    assert twice.json["codes"] == {"nik": ["restriction.not_restricted"]}

    events = client.get(
        f"/api/v1/households/{granted}/history", headers=bearer(tokens["admin"])
    ).json["events"]
    assert [e["type"] for e in events][-2:] == ["ProcessingRestricted", "RestrictionLifted"]
    assert events[-2]["data"] == {"nik": HEAD["nik"], "grounds": GROUNDS}


def test_only_supervisors_and_admins_may_restrict_and_readers_need_a_token(client, tokens, granted):
    person = {"household_id": granted, "nik": HEAD["nik"], "grounds": GROUNDS}
    for name in ("auditor", "agency", "pm_dinsos"):
        assert post(client, "RestrictProcessing", person, tokens[name]).status_code == 403, name
    assert client.get("/api/v1/programs/PKH/beneficiaries").status_code == 401


def test_a_caseworker_may_not_restrict(client, tokens, granted):
    person = {"household_id": granted, "nik": HEAD["nik"], "grounds": GROUNDS}
    assert post(client, "RestrictProcessing", person, tokens["cw_sipin"]).status_code == 403
