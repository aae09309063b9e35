"""RequestErasure (maker-checker) destroys the person's key; article 15 refusals are events."""

import json

import pytest

from adapters.codec import ERASED, ERASED_ID
from domain.application import Actor, make_meta
from domain.errors import Conflict, DomainError, Erased
from tests.support.apps import memory_casework

MAKER = Actor(id="rina", role="caseworker")
CHECKER = Actor(id="yusuf", role="supervisor")
HEAD = {"nik": "1571010101800001", "name": "Budi Santoso", "birth_date": "1980-01-01", "sex": "M"}
WIFE = {"nik": "1571014202850002", "name": "Siti Aminah", "birth_date": "1985-02-02", "sex": "F"}
CHILD = {
    "nik": "1571010303100003",
    "name": "Rahmat Hidayat",
    "birth_date": "2010-03-03",
    "sex": "M",
}


@pytest.fixture
def app():
    application = memory_casework()
    application.define_program(
        {
            "code": "PKH",
            "name": "Program Keluarga Harapan",
            "opd": "DINSOS",
            "funding": "APBN",
            "kind": "bansos",
            "rules": {"max_desil": 10},
            "effective_from": "2020-01-01",
        },
        make_meta(Actor(id="pm", role="program_manager", opd="DINSOS"), "api"),
    )
    yield application
    application.close()


@pytest.fixture
def household_id(app):
    meta = make_meta(MAKER, "ui")
    stored = app.register_household(
        {
            "kk_number": "1571010101200001",
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Kenanga No. 7",
            "rt": "001",
            "rw": "002",
            "head": HEAD,
        },
        meta,
    )
    hid = stored.stream_id
    app.add_member({"household_id": hid, "person": WIFE, "relationship": "istri"}, meta)
    app.add_member({"household_id": hid, "person": CHILD, "relationship": "anak"}, meta)
    app.add_case_note({"household_id": hid, "text": "Ibu Siti Aminah bekerja di pasar."}, meta)
    app.grant_benefit(
        {
            "household_id": hid,
            "nik": WIFE["nik"],
            "program": "PKH",
            "period_start": "2025-01-01",
            "period_end": "2025-12-31",
            "amount": 750000,
        },
        meta,
    )
    return hid


def request_erasure(app, hid, nik=WIFE["nik"]):
    cmd = {"household_id": hid, "nik": nik, "reason": "Permohonan subjek data tertulis"}
    return app.request_approval("RequestErasure", cmd, make_meta(MAKER, "ui")).stream_id


def stored_text(app) -> str:
    """Every byte the store holds, as text."""
    return "\n".join(
        n.state.decode() for n in app.recorder.select_notifications(start=1, limit=10_000)
    )


def test_an_erasure_waits_for_a_supervisor_then_the_person_is_erased_everywhere(app, household_id):
    approval_id = request_erasure(app, household_id)
    assert app.get_household(household_id).members[WIFE["nik"]]["name"] == WIFE["name"]

    app.approve_change({"approval_id": approval_id, "note": "ok"}, make_meta(CHECKER, "ui"))

    household = app.get_household(household_id)  # loads, history and all
    erased = [m for nik, m in household.members.items() if nik.startswith(ERASED_ID)]
    assert len(erased) == 1
    assert (erased[0]["name"], erased[0]["birth_date"], erased[0]["erased"]) == (ERASED, None, True)
    assert erased[0]["relationship"] == "istri"
    assert household.members[HEAD["nik"]]["name"] == HEAD["name"]  # the others are intact
    assert household.members[CHILD["nik"]]["name"] == CHILD["name"]
    [benefit] = household.benefits.values()  # the benefit stays, counted, for the marker
    assert (benefit["nik"], benefit["amount"]) == (erased[0]["nik"], 750000)
    assert WIFE["nik"] not in household.members
    with pytest.raises(DomainError, match="member.not_found"):
        household.member(WIFE["nik"])
    # The approval, the request and the erasure event itself no longer reveal her either.
    text = json.dumps(app.get_pending_change(approval_id).cmd)
    assert WIFE["nik"] not in text
    assert app.person_subject(WIFE["nik"]) is None


def test_the_store_never_held_her_nik_or_name_in_clear(app, household_id):
    text = stored_text(app)
    for secret in (WIFE["nik"], WIFE["name"], HEAD["nik"], "Jl. Kenanga", "1985-02-02", "pasar"):
        assert secret not in text
    assert "pd1." in text


def test_a_snapshot_taken_before_erasure_loads_with_markers(app, household_id):
    app.take_snapshot(app.get_household(household_id).id)
    approval_id = request_erasure(app, household_id)
    app.approve_change({"approval_id": approval_id, "note": "ok"}, make_meta(CHECKER, "ui"))
    household = app.repository.get(app.get_household(household_id).id)
    assert sorted(m["name"] for m in household.members.values()) == sorted(
        [HEAD["name"], CHILD["name"], ERASED]
    )


def test_an_article_15_refusal_is_recorded_on_the_household(app, household_id):
    approval_id = request_erasure(app, household_id)
    app.reject_change(
        {
            "approval_id": approval_id,
            "note": "Penerima PKH aktif",
            "reason_code": "legal_exemption",
            "exemption": "state_administration",
        },
        make_meta(CHECKER, "ui"),
    )
    household = app.get_household(household_id)
    assert household.members[WIFE["nik"]]["name"] == WIFE["name"]  # not erased
    [refusal] = household.erasure_refusals
    assert (refusal["nik"], refusal["exemption"], refusal["approval_id"]) == (
        WIFE["nik"],
        "state_administration",
        approval_id,
    )
    assert app.get_pending_change(approval_id).status == "rejected"


def test_an_unknown_ground_or_a_ground_on_another_change_is_refused(app, household_id):
    approval_id = request_erasure(app, household_id)
    with pytest.raises(DomainError) as error:
        app.reject_change(
            {
                "approval_id": approval_id,
                "note": "x",
                "reason_code": "legal_exemption",
                "exemption": "because",
            },
            make_meta(CHECKER, "ui"),
        )
    assert (error.value.field, error.value.code) == ("exemption", "exemption.unknown")
    assert app.get_pending_change(approval_id).status == "pending"  # nothing stored
    other = app.request_approval(
        "RemoveMember",
        {
            "household_id": household_id,
            "nik": CHILD["nik"],
            "kind": "moved_out",
            "effective_date": "2025-01-01",
        },
        make_meta(MAKER, "ui"),
    ).stream_id
    with pytest.raises(DomainError) as error:
        app.reject_change(
            {
                "approval_id": other,
                "note": "x",
                "reason_code": "legal_exemption",
                "exemption": "law_enforcement",
            },
            make_meta(CHECKER, "ui"),
        )
    assert (error.value.field, error.value.code) == ("exemption", "exemption.not_erasure")


def test_erasing_twice_or_an_unknown_person_is_refused(app, household_id):
    approval_id = request_erasure(app, household_id)
    app.approve_change({"approval_id": approval_id, "note": "ok"}, make_meta(CHECKER, "ui"))
    before = stored_text(app)
    # her NIK gets no key again, not even to keep a request about her: refused, nothing stored
    with pytest.raises(Erased) as refused:
        request_erasure(app, household_id)
    assert (refused.value.field, refused.value.code) == ("nik", "nik.unavailable")
    assert stored_text(app) == before
    with pytest.raises(DomainError, match="member.not_found"):  # her NIK finds no one now
        app.check_request(
            "RequestErasure",
            {"household_id": household_id, "nik": WIFE["nik"]},
            make_meta(MAKER, "ui"),
        )


def test_a_change_waiting_when_she_was_erased_is_closed_as_refused_when_approved(app, household_id):
    grant = {
        "household_id": household_id,
        "nik": WIFE["nik"],
        "program": "PKH",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "amount": 750000,
    }
    waiting = app.request_approval("GrantBenefit", grant, make_meta(MAKER, "ui")).stream_id
    erasure = request_erasure(app, household_id)
    app.approve_change({"approval_id": erasure, "note": "ok"}, make_meta(CHECKER, "ui"))
    benefits = len(app.get_household(household_id).benefits)
    with pytest.raises(Conflict) as refused:
        app.approve_change({"approval_id": waiting, "note": "ok"}, make_meta(CHECKER, "ui"))
    assert (refused.value.field, refused.value.code) == ("nik", "approval.person_erased")
    change = app.get_pending_change(waiting)
    assert change.status == "refused"
    assert change.reasons[0]["code"] == "approval.person_erased"
    assert change.reasons[0]["detail"] == {"field": "nik"}
    assert waiting not in [str(c.id) for c in app.pending_approvals()]
    assert len(app.get_household(household_id).benefits) == benefits  # nothing of it stored
