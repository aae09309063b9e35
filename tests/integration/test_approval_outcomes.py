"""What approving answers when the change can no longer be carried out, over HTTP on SQLite and
PostgreSQL: closed as refused with its reasons (200, status refused, ChangeRefused stored), or,
made on a version the household has left, 409 approval.outdated and still open to a rejection."""

from __future__ import annotations

import re

import pytest

from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from tests.integration.conftest import bearer
from tests.integration.test_api import HOUSEHOLD  # the household the API tests use

pytestmark = pytest.mark.integration

HEAD_NIK = HOUSEHOLD["head"]["nik"]
HUSBAND = {
    "nik": "1571011004820002",
    "name": "Budi Santoso",
    "birth_date": "1982-04-10",
    "sex": "M",
}


@pytest.fixture
def client(web):
    return web.test_client()


def post(client, command: str, body: dict, token: str):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def family(client, tokens) -> str:
    registered = post(client, "RegisterHousehold", HOUSEHOLD, tokens["admin"])
    household_id = registered.json["stream_id"]
    added = post(
        client,
        "AddMember",
        {"household_id": household_id, "person": HUSBAND, "relationship": "suami"},
        tokens["admin"],
    )
    assert added.status_code == 201, added.json
    return household_id


def removal(household_id: str, **more) -> dict:
    return {
        "household_id": household_id,
        "nik": HUSBAND["nik"],
        "kind": "moved_out",
        "effective_date": "2025-04-21",
        **more,
    }


def ask(client, body: dict, token: str) -> str:
    asked = post(client, "RemoveMember", body, token)
    assert asked.status_code == 202, asked.json
    return asked.json["approval_id"]


def approval(client, approval_id: str, token: str) -> dict:
    return client.get(f"/api/v1/approvals/{approval_id}", headers=bearer(token)).json


def queue(client, token: str) -> list[str]:
    answer = client.get("/api/v1/approvals", headers=bearer(token)).json["approvals"]
    return [a["approval_id"] for a in answer]


def test_approving_a_change_that_can_no_longer_apply_closes_it_as_refused(client, web, tokens):
    household_id = family(client, tokens)
    first = ask(client, removal(household_id), tokens["sup1"])
    second = ask(client, removal(household_id), tokens["sup1"])
    assert post(client, "ApproveChange", {"approval_id": first}, tokens["sup2"]).status_code == 201

    decided = post(client, "ApproveChange", {"approval_id": second}, tokens["sup2"])

    # the approval was decided (refused) and stored, the household left as it was
    assert decided.status_code == 200, decided.json
    assert decided.json["status"] == "refused" and decided.json["approval_id"] == second
    assert decided.json["codes"] == {
        "approval_id": ["approval.refused"],
        "nik": ["member.already_removed"],
    }
    assert decided.json["stream_id"] == second and decided.json["version"] == 2
    assert HUSBAND["nik"] not in decided.get_data(as_text=True)
    change = approval(client, second, tokens["sup1"])
    assert change["status"] == "refused"
    assert [(r["field"], r["code"]) for r in change["reasons"]] == [
        ("nik", "member.already_removed")
    ]
    trail = client.get(f"/api/v1/approvals/{second}/history", headers=bearer(tokens["sup1"])).json[
        "events"
    ]
    assert [e["type"] for e in trail] == ["ChangeRequested", "ChangeRefused"]
    assert second not in queue(client, tokens["sup2"])
    casework = web.extensions["casework"].casework
    events = [
        type(e).__name__ for e in casework.events.get(casework.get_household(household_id).id)
    ]
    assert events.count("MemberRemoved") == 1
    again = post(client, "ApproveChange", {"approval_id": second}, tokens["sup2"])
    assert again.status_code == 409
    assert again.json["codes"] == {"approval_id": ["approval.decided"]}


def test_a_supervisor_approving_on_the_web_a_change_closed_as_refused_is_told_why(
    client, web, tokens
):
    """The page said only that the change was closed as refused and that its reasons were
    kept with it; its card leaves the queue, so the reason is said at once."""
    household_id = family(client, tokens)
    first = ask(client, removal(household_id), tokens["sup1"])
    second = ask(client, removal(household_id), tokens["sup1"])
    assert post(client, "ApproveChange", {"approval_id": first}, tokens["sup2"]).status_code == 201
    checker = web.test_client(user="sup2")
    checker.get("/persetujuan")
    with checker.session_transaction() as session:
        token = session["csrf"]

    decided = checker.post(
        f"/persetujuan/{second}/setujui", data={"note": ""}, headers={"X-CSRF-Token": token}
    )

    assert decided.status_code == 303
    page = checker.get(decided.headers["Location"]).get_data(as_text=True)
    assert "ditutup sebagai ditolak sistem" in page
    assert "Anggota ini sudah dikeluarkan sebelumnya." in page
    assert approval(client, second, tokens["sup1"])["status"] == "refused"


def test_a_change_pinned_to_a_version_the_household_left_is_outdated_and_can_be_rejected(
    client, tokens
):
    household_id = family(client, tokens)
    pinned = ask(client, removal(household_id, expected_version=2), tokens["sup1"])
    note = {"household_id": household_id, "text": "Kunjungan rumah."}
    assert post(client, "AddCaseNote", note, tokens["admin"]).status_code == 201

    approved = post(client, "ApproveChange", {"approval_id": pinned}, tokens["sup2"])

    assert approved.status_code == 409
    assert approved.json["codes"] == {"approval_id": ["approval.outdated"]}
    assert approval(client, pinned, tokens["sup1"])["status"] == "pending"
    rejected = post(
        client,
        "RejectChange",
        {"approval_id": pinned, "reason_code": "other", "note": "Dibuat pada data lama."},
        tokens["sup2"],
    )
    assert rejected.status_code == 201, rejected.json
    assert approval(client, pinned, tokens["sup1"])["status"] == "rejected"
    assert pinned not in queue(client, tokens["sup2"])


def test_a_change_that_could_not_be_carried_out_now_is_refused_at_once_not_queued(
    client, web, tokens
):
    household_id = family(client, tokens)
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "api")
    seed_catalog(casework, meta)
    grant = {
        "household_id": household_id,
        "nik": HUSBAND["nik"],
        "program": "REHSOS",
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
        "amount": 100000,
    }
    casework.grant_benefit(grant, meta)
    (benefit_id,) = casework.get_household(household_id).benefits

    head = post(client, "RemoveMember", {**removal(household_id), "nik": HEAD_NIK}, tokens["sup1"])
    early = removal(household_id, effective_date="1980-01-01")  # before the husband's birth
    before = post(client, "RemoveMember", early, tokens["sup1"])
    ending = {
        "household_id": household_id,
        "benefit_id": benefit_id,
        "effective_date": "2026-03-01",  # after the benefit's period
        "reason_code": "graduated",
    }
    outside = post(client, "TerminateBenefit", ending, tokens["sup1"])

    # each answers what a supervisor would only have found when approving; nothing is queued
    assert (head.status_code, head.json["codes"]) == (422, {"nik": ["member.is_head"]})
    assert (before.status_code, before.json["codes"]) == (
        422,
        {"effective_date": ["date.before_birth"]},
    )
    assert (outside.status_code, outside.json["codes"]) == (
        422,
        {"effective_date": ["benefit.date_outside_period"]},
    )
    assert queue(client, tokens["sup2"]) == []
    within = post(
        client, "TerminateBenefit", {**ending, "effective_date": "2025-06-01"}, tokens["sup1"]
    )
    assert within.status_code == 202, within.json


def test_a_card_names_a_household_the_register_view_does_not_hold_yet_by_its_kelurahan(
    web, client, tokens
):
    """Asked for before the register view has the household (it follows the store a moment
    later): the card says where the household is, not its id, and links nowhere yet."""
    household_id = family(client, tokens)  # in the store, not yet in the register view
    approval_id = ask(client, removal(household_id), tokens["cw_sipin"])
    page = web.test_client(user="sup1").get("/persetujuan")
    assert page.status_code == 200
    found = re.search(
        rf'<article class="approval"[^>]*approval-{approval_id}.*?</article>', page.text, re.S
    )
    assert found, page.text
    card = found.group(0)
    assert '<dt>Rumah tangga</dt><dd class="">Sebuah rumah tangga di Simpang IV Sipin</dd>' in card
    assert household_id not in card  # neither as text nor as a link the reader could not follow
    assert HOUSEHOLD["kk_number"] not in card and HOUSEHOLD["head"]["name"] not in card
