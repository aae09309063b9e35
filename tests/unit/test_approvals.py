"""Maker-checker: a change waits until a different supervisor approves it (no I/O)."""

import pytest

from domain.application import Actor, make_meta
from domain.approval import Forbidden, PendingIndex
from domain.errors import Conflict, DomainError, NotFound, Refused
from tests.support.apps import memory_casework

MAKER = Actor(id="rina", role="caseworker")
CHECKER = Actor(id="yusuf", role="supervisor")
OTHER_SUPERVISOR = Actor(id="dewi", role="supervisor")
HEAD = {"nik": "1571010101800001", "name": "Budi Santoso", "birth_date": "1980-01-01", "sex": "M"}


@pytest.fixture
def app():
    application = memory_casework()
    application.define_program(
        {
            "code": "KJB",
            "name": "Kartu Jambi Bahagia",
            "opd": "DINSOS",
            "funding": "APBD",
            "kind": "bansos",
            "rules": {"max_desil": 5},
            "effective_from": "2025-01-01",
        },
        make_meta(Actor(id="pm", role="program_manager", opd="DINSOS"), "api"),
    )
    yield application
    application.close()


def change_rules(max_desil=4):
    return {"code": "KJB", "rules": {"max_desil": max_desil}, "effective_from": "2025-07-01"}


def request(app, command="ChangeProgramRules", cmd=None, actor=MAKER):
    stored = app.request_approval(command, cmd or change_rules(), make_meta(actor, "ui"))
    return stored.stream_id


def decision(approval_id, note="checked against the decree", reason_code="rules_not_met"):
    return {"approval_id": approval_id, "note": note, "reason_code": reason_code}


def test_a_change_waits_until_a_supervisor_approves_it(app):
    approval_id = request(app)
    assert app.get_program("KJB").version == 1
    assert [str(p.id) for p in app.pending_approvals()] == [approval_id]

    stored = app.approve_change(decision(approval_id), make_meta(CHECKER, "ui"))

    program = app.get_program("KJB")
    assert (stored.stream_id, stored.version) == (str(program.id), 2)
    assert program.rules_at("2025-07-01")["max_desil"] == 4
    assert app.pending_approvals() == []
    pending = app.get_pending_change(approval_id)
    assert (pending.status, pending.decided_by["id"], pending.note) == (
        "approved",
        "yusuf",
        "checked against the decree",
    )


def test_the_approved_change_is_recorded_as_the_makers_with_the_approver(app):
    approval_id = request(app)
    app.approve_change(decision(approval_id), make_meta(CHECKER, "ui"))
    program_id = app.get_program("KJB").id
    changed = app.events.get(program_id, gt=1)
    event = list(changed)[0]
    assert event.meta["actor"]["id"] == "rina"
    assert event.meta["approved_by"]["id"] == "yusuf"


def test_the_approval_is_stored_in_the_same_transaction_as_the_change(app):
    approval_id = request(app)
    stored = app.approve_change(decision(approval_id), make_meta(CHECKER, "ui"))
    # One save: the change and its approval are consecutive in the store.
    notifications = app.recorder.select_notifications(stored.position, 2)
    assert [n.topic.rsplit(":", 1)[-1] for n in notifications] == [
        "Program.ProgramRulesChanged",
        "PendingChange.ChangeApproved",
    ]


def test_a_registration_runs_through_maker_checker(app):
    cmd = {
        "kk_number": "1571010101200001",
        "kecamatan": "Telanaipura",
        "kelurahan": "Telanaipura",
        "address": "Jl. Sultan Agung No. 12",
        "rt": "001",
        "rw": "002",
        "head": HEAD,
    }
    approval_id = request(app, "RegisterHousehold", cmd)
    assert app.household_id_for_nik(HEAD["nik"]) is None
    stored = app.approve_change(decision(approval_id), make_meta(CHECKER, "ui"))
    assert str(app.household_id_for_nik(HEAD["nik"])) == stored.stream_id


def test_a_change_failing_at_approval_is_closed_as_refused_with_its_reason(app):
    # It stayed pending for ever before: approving it again could only fail again.
    approval_id = request(app, cmd={**change_rules(), "effective_from": "2024-01-01"})
    with pytest.raises(Refused) as refused:
        app.approve_change(decision(approval_id), make_meta(CHECKER, "ui"))
    reason = {"field": "effective_from", "code": "rules.effective_from_before_previous"}
    assert [{k: r[k] for k in reason} for r in refused.value.reasons] == [reason]
    change = app.get_pending_change(approval_id)
    assert change.status == "refused" and change.reasons == refused.value.reasons
    assert app.pending_approvals() == []
    assert app.get_program("KJB").version == 1


def test_a_supervisor_cannot_approve_their_own_request(app):
    approval_id = request(app, actor=CHECKER)
    with pytest.raises(Forbidden) as forbidden:
        app.approve_change(decision(approval_id), make_meta(CHECKER, "ui"))
    assert forbidden.value.code == "approval.self"
    assert app.get_program("KJB").version == 1
    app.approve_change(decision(approval_id), make_meta(OTHER_SUPERVISOR, "ui"))
    assert app.get_program("KJB").version == 2


def test_only_a_supervisor_may_decide(app):
    approval_id = request(app)
    caseworker = Actor(id="andi", role="caseworker")
    with pytest.raises(Forbidden) as forbidden:
        app.approve_change(decision(approval_id), make_meta(caseworker, "ui"))
    assert forbidden.value.code == "approval.supervisor_only"
    with pytest.raises(Forbidden):
        app.reject_change(decision(approval_id), make_meta(caseworker, "ui"))
    assert app.get_pending_change(approval_id).status == "pending"


def test_a_rejection_is_recorded_with_its_note_and_changes_nothing(app):
    approval_id = request(app)
    with pytest.raises(DomainError) as no_note:
        app.reject_change(decision(approval_id, note=" "), make_meta(CHECKER, "ui"))
    assert no_note.value.code == "approval.note_required"
    app.reject_change(
        decision(approval_id, note="desil 4 needs the mayor's decree"), make_meta(CHECKER, "ui")
    )
    pending = app.get_pending_change(approval_id)
    assert (pending.status, pending.note) == ("rejected", "desil 4 needs the mayor's decree")
    assert app.get_program("KJB").version == 1
    assert app.pending_approvals() == []


@pytest.mark.parametrize("first", ["approve_change", "reject_change"])
def test_a_change_is_decided_once(app, first):
    approval_id = request(app)
    getattr(app, first)(decision(approval_id), make_meta(CHECKER, "ui"))
    for second in ("approve_change", "reject_change"):
        with pytest.raises(Conflict) as decided:
            getattr(app, second)(decision(approval_id), make_meta(OTHER_SUPERVISOR, "ui"))
        assert decided.value.code == "approval.decided"
    assert app.get_program("KJB").version == (2 if first == "approve_change" else 1)


def test_decisions_go_through_the_command_catalogue(app):
    approval_id = request(app)
    app.execute("ApproveChange", decision(approval_id), make_meta(CHECKER, "ui"))
    assert app.get_program("KJB").version == 2


def test_an_unknown_approval_is_not_found(app):
    with pytest.raises(NotFound) as missing:
        app.approve_change(
            decision("6bce1aee-35de-46f2-aa42-18baca5b2ac2"), make_meta(CHECKER, "ui")
        )
    assert missing.value.code == "approval.not_found"


def test_decisions_themselves_cannot_wait_for_approval(app):
    with pytest.raises(DomainError) as invalid:
        app.request_approval("ApproveChange", {"approval_id": "x"}, make_meta(MAKER, "ui"))
    assert invalid.value.code == "approval.command_unknown"


def test_of_two_requests_for_one_agency_asked_at_the_same_moment_the_second_is_refused(
    app, monkeypatch
):
    """The second read the queue before the first was saved: saving with it conflicts, so
    it reads the queue again, finds the first waiting, and is refused; one request waits."""
    revoke = {"agency": "BPJSKES", "reason": "PKS berakhir"}
    first = request(app, "RevokeAgencyAgreement", revoke, CHECKER)
    queue = app._pending_index
    reads = []

    def read_before_the_first_was_saved():
        reads.append(1)
        return None if len(reads) == 1 else queue()

    monkeypatch.setattr(app, "_pending_index", read_before_the_first_was_saved)
    with pytest.raises(DomainError) as refused:
        request(app, "RevokeAgencyAgreement", {**revoke, "agency": "bpjskes"}, OTHER_SUPERVISOR)
    assert (refused.value.field, refused.value.code) == ("agency", "agreement.request_pending")
    assert [str(p.id) for p in app.pending_approvals()] == [first]
    # another agency's request waits beside it
    request(app, "RevokeAgencyAgreement", {**revoke, "agency": "BAZNAS"}, OTHER_SUPERVISOR)
    assert len(app.pending_approvals()) == 2


def test_the_queue_is_read_from_a_snapshot_however_many_changes_were_ever_decided(app):
    """Every request and every decision writes an event on the queue (the pending index), so
    a year of the city's changes is thousands: loading them all made each request, decision
    and queue read slower (15,000 events: seconds). The queue is read from its latest
    snapshot and the few events after it, and answers the same."""
    asked = [request(app) for _ in range(130)]
    for approval_id in asked[::2]:
        app.reject_change(decision(approval_id, note="not now"), make_meta(CHECKER, "ui"))
    index = app.repository.get(PendingIndex.ID)
    assert index.version == 1 + 130 + 65  # opened, each request, each decision
    [latest] = app.snapshots.get(PendingIndex.ID, desc=True, limit=1)
    assert index.version - latest.originator_version < 100
    assert [str(p.id) for p in app.pending_approvals()] == asked[1::2]
    assert [str(i) for i in app.pending_approval_ids()] == asked[1::2]
