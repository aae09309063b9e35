"""An erased person stays erased, whatever is asked afterwards (UU PDP, crypto-shredding).

Over the API, on SQLite and PostgreSQL, with the real key store: after a member's erasure
her NIK never gets a live key again. Adding her NIK again is refused without saying where
it was registered, a change that was waiting when she was erased is refused when approved
(closed, nothing of it stored), also in a second web process that read her just before,
and the keys a refused command made never reach the key store with a later save.
"""

from __future__ import annotations

import pytest

from adapters.bootstrap import bootstrap
from adapters.codec import Wrapper
from adapters.db import Database
from app import create_app
from domain.application import SYSTEM, make_meta
from tests.integration.conftest import add_users, bearer
from tests.integration.test_erasure import CHILD, HOUSEHOLD, PKH, WIFE, post

pytestmark = pytest.mark.integration

HOUSEHOLD_B = {
    **HOUSEHOLD,
    "kk_number": "1571010204190002",
    "address": "Jl. Sumantri Brojonegoro No. 3",
    "head": {
        "nik": "1571010505750004",
        "name": "Hendra Gunawan",
        "birth_date": "1975-05-05",
        "sex": "M",
    },
}
# ordinary people added after the refused command (each save of them wrote every pending key)
OTHERS = [
    {
        "nik": f"157101{day:02d}0190{n:04d}",
        "name": f"Anak {chr(54 + n)}",  # Anak A .. Anak D: a name holds no digits
        "birth_date": f"1990-01-{day:02d}",
        "sex": "M",
    }
    for n, day in ((11, 2), (12, 3), (13, 4), (14, 5))
]
NEWCOMER = {
    "nik": "1571010606800021",
    "name": "Yusuf Maulana",
    "birth_date": "1980-06-06",
    "sex": "M",
}
GRANT = {
    "program": "PKH",
    "period_start": "2026-01-01",
    "period_end": "2026-12-31",
    "amount": 750_000,
}


def key_rows(store: Database, nik: str, master_key: bytes) -> list[tuple]:
    """The key store's rows for this NIK's keyed hash: (live, erased_at)."""
    lookup = Wrapper(master_key).lookup("nik", nik)
    rows = store.query(
        "SELECT wrapped IS NOT NULL, erased_at FROM casework_personal_keys WHERE lookup=?",
        (lookup,),
    )
    return [(bool(live), erased_at) for live, erased_at in rows]


def live_keys(store: Database, nik: str, master_key: bytes) -> int:
    return sum(1 for live, _ in key_rows(store, nik, master_key) if live)


def subject_access(client, token: str, nik: str):
    return client.get(f"/api/v1/persons/{nik}/subject-access", headers=bearer(token))


@pytest.fixture
def setup(web):
    casework = web.extensions["casework"].casework
    casework.define_program(PKH, make_meta(SYSTEM, "cli"))
    tokens = add_users(web, ["admin", "sup1", "sup2", "cw_sipin", "auditor"])
    client = web.test_client()
    response = post(client, "RegisterHousehold", HOUSEHOLD, tokens["admin"])
    assert response.status_code == 201, response.json
    household_a = response.json["stream_id"]
    body = {"household_id": household_a, "person": WIFE, "relationship": "istri"}
    assert post(client, "AddMember", body, tokens["admin"]).status_code == 201
    response = post(client, "RegisterHousehold", HOUSEHOLD_B, tokens["admin"])
    assert response.status_code == 201, response.json
    return client, tokens, household_a, response.json["stream_id"]


def erase(client, tokens, household_id: str, nik: str) -> None:
    request = {"household_id": household_id, "nik": nik, "reason": "Surat permohonan"}
    response = post(client, "RequestErasure", request, tokens["cw_sipin"])
    assert response.status_code == 202, response.json
    approval = {"approval_id": response.json["approval_id"], "note": "ok"}
    response = post(client, "ApproveChange", approval, tokens["sup1"])
    assert response.status_code == 201, response.json


def test_an_erased_nik_added_again_gets_no_key_and_stays_unknown(web, setup):
    client, tokens, household_a, household_b = setup
    settings = web.extensions["casework"].settings
    store = web.extensions["casework"].store
    erase(client, tokens, household_a, WIFE["nik"])
    assert subject_access(client, tokens["auditor"], WIFE["nik"]).status_code == 404

    body = {"household_id": household_b, "person": WIFE, "relationship": "famili_lain"}
    response = post(client, "AddMember", body, tokens["admin"])
    assert response.status_code == 409, response.json
    for person in OTHERS:  # ordinary commands, each saved by this web process
        body = {"household_id": household_b, "person": person, "relationship": "anak"}
        response = post(client, "AddMember", body, tokens["admin"])
        assert response.status_code == 201, response.json

    response = subject_access(client, tokens["auditor"], WIFE["nik"])
    assert response.status_code == 404, response.json
    assert live_keys(store, WIFE["nik"], settings.master_key) == 0
    # her erased key is all the key store keeps of her NIK: no second row, alive or not
    assert [
        erased_at is not None for _, erased_at in key_rows(store, WIFE["nik"], settings.master_key)
    ] in ([], [True])


@pytest.mark.parametrize("erased_before_tombstones", [False, True])
def test_an_erased_nik_is_refused_without_naming_a_household(web, setup, erased_before_tombstones):
    client, tokens, household_a, household_b = setup
    settings = web.extensions["casework"].settings
    store = web.extensions["casework"].store
    erase(client, tokens, household_a, WIFE["nik"])
    if erased_before_tombstones:  # as erasures cleared the row's keyed hash before
        with store.transaction() as cur:
            cur.execute(
                "UPDATE casework_personal_keys SET lookup=NULL WHERE lookup=?",
                (Wrapper(settings.master_key).lookup("nik", WIFE["nik"]),),
            )
    body = {"household_id": household_b, "person": WIFE, "relationship": "famili_lain"}
    response = post(client, "AddMember", body, tokens["admin"])
    assert response.status_code == 409, response.json
    assert response.json["codes"] == {"person.nik": ["nik.unavailable"]}
    register = {**HOUSEHOLD, "kk_number": "1571010204190003", "head": WIFE}
    response = post(client, "RegisterHousehold", register, tokens["admin"])
    assert response.status_code == 409, response.json
    assert response.json["codes"] == {"head.nik": ["nik.unavailable"]}
    english = client.post(
        "/api/v1/commands/AddMember",
        json=body,
        headers={**bearer(tokens["admin"]), "Accept-Language": "en"},
    ).json["errors"]["person.nik"][0]
    assert "household" not in english.lower() and "search" not in english.lower()
    assert WIFE["nik"] not in english
    # nothing was stored: the household B is as it was, her NIK still finds nothing
    members = client.get(f"/api/v1/households/{household_b}", headers=bearer(tokens["admin"]))
    assert len(members.json["members"]) == 1
    for person in OTHERS[:2]:  # ordinary saves afterwards write no key for her either
        body = {"household_id": household_b, "person": person, "relationship": "anak"}
        assert post(client, "AddMember", body, tokens["admin"]).status_code == 201
    assert live_keys(store, WIFE["nik"], settings.master_key) == 0
    assert subject_access(client, tokens["auditor"], WIFE["nik"]).status_code == 404


def test_the_keys_of_a_refused_command_never_reach_the_key_store(web, setup):
    client, tokens, household_a, household_b = setup
    settings = web.extensions["casework"].settings
    store = web.extensions["casework"].store
    # a new head on a KK number already registered: refused (kk.taken) after its save
    # encrypted the newcomer's NIK with a key made for him
    taken = {**HOUSEHOLD, "head": NEWCOMER}
    response = post(client, "RegisterHousehold", taken, tokens["admin"])
    assert response.status_code == 409, response.json
    assert response.json["codes"] == {"kk_number": ["kk.taken"]}
    for person in OTHERS[:2]:
        body = {"household_id": household_b, "person": person, "relationship": "anak"}
        assert post(client, "AddMember", body, tokens["admin"]).status_code == 201
    assert key_rows(store, NEWCOMER["nik"], settings.master_key) == []
    # the newcomer registered for real later gets his key then
    body = {"household_id": household_b, "person": NEWCOMER, "relationship": "famili_lain"}
    assert post(client, "AddMember", body, tokens["admin"]).status_code == 201
    assert live_keys(store, NEWCOMER["nik"], settings.master_key) == 1
    # the key kept waiting (and handed out again by the codec's cache) is the one stored
    shown = client.get(f"/api/v1/households/{household_b}", headers=bearer(tokens["admin"]))
    assert NEWCOMER["name"] in [m["name"] for m in shown.json["members"]]


@pytest.mark.parametrize("approver_read_her_before", [False, True])
def test_a_change_pending_when_she_was_erased_is_refused_when_approved(
    web, setup, approver_read_her_before
):
    client, tokens, household_a, _ = setup
    settings = web.extensions["casework"].settings
    store = web.extensions["casework"].store
    grant = {"household_id": household_a, "nik": WIFE["nik"], **GRANT}
    response = post(client, "GrantBenefit", grant, tokens["cw_sipin"])
    assert response.status_code == 202, response.json
    grant_id = response.json["approval_id"]
    # a second web process (its own key store and caches) decides the grant
    other = create_app(bootstrap(settings))
    try:
        other_client = other.test_client()
        if approver_read_her_before:  # its caches hold her, in clear, when she is erased
            approvals = other_client.get("/api/v1/approvals", headers=bearer(tokens["sup2"]))
            assert approvals.status_code == 200
            household = other_client.get(
                f"/api/v1/households/{household_a}", headers=bearer(tokens["sup2"])
            )
            assert household.status_code == 200
        erase(client, tokens, household_a, WIFE["nik"])
        response = post(other_client, "ApproveChange", {"approval_id": grant_id}, tokens["sup2"])
        assert response.status_code == 409, response.json
        assert response.json["codes"] == {"nik": ["approval.person_erased"]}
        again = post(other_client, "ApproveChange", {"approval_id": grant_id}, tokens["sup2"])
        assert again.status_code == 409 and again.json["codes"] == {
            "approval_id": ["approval.decided"]
        }
    finally:
        other.extensions["casework"].close()

    change = web.extensions["casework"].casework.get_pending_change(grant_id)
    assert change.status == "refused"
    assert [r["code"] for r in change.reasons] == ["approval.person_erased"]
    assert change.reasons[0]["detail"] == {"field": "nik"}
    approvals = client.get("/api/v1/approvals", headers=bearer(tokens["sup1"])).json
    assert grant_id not in [a["approval_id"] for a in approvals["approvals"]]
    household = client.get(f"/api/v1/households/{household_a}", headers=bearer(tokens["admin"]))
    assert household.json["benefits"] == []  # nothing of the grant was stored
    assert live_keys(store, WIFE["nik"], settings.master_key) == 0
    assert subject_access(client, tokens["auditor"], WIFE["nik"]).status_code == 404


def test_her_benefits_are_answered_as_for_a_nik_never_registered(web, setup):
    """`GET /persons/<nik>/benefits` ("one NIK, all aid") for an erased NIK answers what it
    answers for a NIK never registered: 404 `nik.unknown`, the same body; not an empty list,
    which told that she had been registered."""
    client, tokens, household_a, _ = setup
    grant = {
        "household_id": household_a,
        "program": "PKH",
        "nik": WIFE["nik"],
        "amount": 750000,
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
    }
    response = post(client, "GrantBenefit", grant, tokens["admin"])
    assert response.status_code == 202, response.json  # maker-checker: another approves
    approval = {"approval_id": response.json["approval_id"], "note": "ok"}
    assert post(client, "ApproveChange", approval, tokens["sup1"]).status_code == 201
    auditor = bearer(tokens["auditor"])
    before = client.get(f"/api/v1/persons/{WIFE['nik']}/benefits", headers=auditor)
    assert before.status_code == 200 and [b["program"] for b in before.json["results"]] == ["PKH"]
    erase(client, tokens, household_a, WIFE["nik"])
    erased = client.get(f"/api/v1/persons/{WIFE['nik']}/benefits", headers=auditor)
    never = client.get("/api/v1/persons/1571014708860099/benefits", headers=auditor)
    assert never.status_code == 404 and never.json["codes"] == {"nik": ["nik.unknown"]}
    assert (erased.status_code, erased.json) == (never.status_code, never.json)


def test_the_erasure_request_reason_is_erased_with_her(web, setup):
    """The reason of her erasure request (her letter and its reference, often her name and
    NIK) and the approver's note are erased with her: the approval, its history and the
    requester's list no longer show them, while who asked, who decided and when stay. The
    reason of another request (a removal, not approved) is kept."""
    client, tokens, household_a, household_b = setup
    letter = f"Surat permohonan Kartika Sulistyawati NIK {WIFE['nik']} tgl 8 Des"
    request = {"household_id": household_a, "nik": WIFE["nik"], "reason": letter}
    response = post(client, "RequestErasure", request, tokens["cw_sipin"])
    assert response.status_code == 202, response.json
    approval_id = response.json["approval_id"]
    child = {"household_id": household_b, "person": CHILD, "relationship": "anak"}
    assert post(client, "AddMember", child, tokens["admin"]).status_code == 201
    removal = {
        "household_id": household_b,
        "nik": CHILD["nik"],
        "kind": "moved_out",
        "effective_date": "2025-01-02",
        "reason": "Pindah ke Kota Medan",
    }
    other = post(client, "RemoveMember", removal, tokens["cw_sipin"])
    assert other.status_code == 202, other.json
    supervisor = bearer(tokens["sup1"])
    before = client.get(f"/api/v1/approvals/{approval_id}", headers=supervisor)
    assert letter in before.get_data(as_text=True)  # readable while it waits
    decision = {"approval_id": approval_id, "note": "Disetujui atas surat Kartika"}
    assert post(client, "ApproveChange", decision, tokens["sup1"]).status_code == 201

    for path in (f"/api/v1/approvals/{approval_id}", f"/api/v1/approvals/{approval_id}/history"):
        answer = client.get(path, headers=supervisor)
        assert answer.status_code == 200, answer.json
        text = answer.get_data(as_text=True)
        assert "Kartika" not in text and WIFE["nik"] not in text, path
        assert "cw_sipin" in text and "sup1" in text, path  # who asked and who decided stay
    mine = client.get("/api/v1/approvals/mine", headers=bearer(tokens["cw_sipin"]))
    assert mine.status_code == 200 and "Kartika" not in mine.get_data(as_text=True)
    kept = client.get(f"/api/v1/approvals/{other.json['approval_id']}", headers=supervisor)
    assert "Pindah ke Kota Medan" in kept.get_data(as_text=True)
