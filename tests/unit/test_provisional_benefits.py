"""Issue 8, help before a NIK: benefits. A program says whether it serves people without a NIK
(`serves_without_nik`); only such a program is granted to a provisional person; the same
program over overlapping periods is double receipt; and once LinkIdentity joins the person to
a NIK, the benefits are that NIK's receipts (no I/O)."""

import datetime as dt

import pytest

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, Actor, Casework, make_meta
from domain.catalog import SEED_PROGRAMS, seed_catalog
from domain.commands import COMMANDS
from domain.errors import DomainError, NotFound, Refused, RulesFailed
from domain.program import DEFAULT_RULES, normalize_rules

REGION = "157101"
MAKER = Actor(id="rina", role="supervisor")
CHECKER = Actor(id="yusuf", role="supervisor")
HEAD = {
    "nik": nik_for(REGION, dt.date(1980, 1, 1), "M", 1),
    "name": "Budi Santoso",
    "birth_date": "1980-01-01",
    "sex": "M",
}
UJANG = {
    "nik": nik_for(REGION, dt.date(1975, 6, 1), "M", 2),
    "name": "Ujang",
    "birth_date": "1975-06-01",
    "sex": "M",
}


def meta(actor=SYSTEM):
    return make_meta(actor, "seed")


@pytest.fixture
def app():
    application = Casework(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    seed_catalog(application, meta())
    yield application
    application.close()


def register_person(app, name="Pak Ujang"):
    return app.execute(
        "RegisterHomelessPerson",
        {
            "name": name,
            "estimated_birth_year": 1975,
            "sex": "M",
            "found_at": "Pasar Angso Duo",
            "kecamatan": "Telanaipura",
            "notes": None,
        },
        meta(),
    ).stream_id


def grant_cmd(person_id, program="REHSOS", start="2026-01-01", end="2026-03-31"):
    return {
        "person_id": person_id,
        "program": program,
        "period_start": start,
        "period_end": end,
        "amount": 300_000,
    }


def request(app, command, cmd):
    """As the command path does: check, then keep for approval."""
    app.check_request(command, cmd, meta(MAKER))
    COMMANDS[command].precheck(app, cmd, meta(MAKER))
    return app.request_approval(command, cmd, meta(MAKER)).stream_id


def approve(app, approval_id):
    return app.approve_change({"approval_id": approval_id, "note": "ok"}, meta(CHECKER))


def household_with_ujang(app):
    hid = app.register_household(
        {
            "kk_number": kk_for(REGION, dt.date(2020, 1, 1), 1),
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Sultan Agung No. 12",
            "rt": "001",
            "rw": "002",
            "head": HEAD,
        },
        meta(),
    ).stream_id
    app.add_member({"household_id": hid, "person": UJANG, "relationship": "famili_lain"}, meta())
    return hid


def link(app, person_id, hid):
    app.execute(
        "LinkIdentity", {"person_id": person_id, "household_id": hid, "nik": UJANG["nik"]}, meta()
    )


# --- the program attribute ----------------------------------------------------------------


def test_a_program_serves_only_people_with_a_nik_unless_its_rules_say_otherwise(app):
    assert DEFAULT_RULES["serves_without_nik"] is False
    assert normalize_rules({})["serves_without_nik"] is False
    assert normalize_rules({"serves_without_nik": True})["serves_without_nik"] is True
    with pytest.raises(DomainError) as caught:
        normalize_rules({"serves_without_nik": "ya"})
    assert (caught.value.field, caught.value.code) == (
        "rules.serves_without_nik",
        "rules.flag_invalid",
    )
    serving = {p["code"] for p in SEED_PROGRAMS if p["rules"].get("serves_without_nik")}
    assert serving == {"REHSOS"}
    assert app.get_program("REHSOS").rules["serves_without_nik"] is True
    assert app.get_program("PKH").rules["serves_without_nik"] is False


def test_changing_other_rules_keeps_serving_people_without_a_nik(app):
    app.change_program_rules({"code": "REHSOS", "rules": {"max_desil": 3}}, meta())
    assert app.get_program("REHSOS").rules["serves_without_nik"] is True
    app.change_program_rules({"code": "REHSOS", "rules": {"serves_without_nik": False}}, meta())
    assert app.get_program("REHSOS").rules["serves_without_nik"] is False


# --- the grant ----------------------------------------------------------------------------


def test_a_provisional_person_is_granted_a_program_that_serves_people_without_a_nik(app):
    person_id = register_person(app)
    stored = app.execute("GrantProvisionalBenefit", grant_cmd(person_id), meta())
    person = app.get_provisional_person(person_id)
    [benefit] = person.benefits.values()
    assert (benefit["program"], benefit["amount"], benefit["status"]) == (
        "REHSOS",
        300_000,
        "active",
    )
    assert stored.stream_id == person_id


def test_a_program_for_nik_holders_only_is_refused_naming_the_program(app):
    person_id = register_person(app)
    with pytest.raises(RulesFailed) as failed:
        app.execute("GrantProvisionalBenefit", grant_cmd(person_id, "PKH"), meta())
    assert failed.value.field == "program"
    assert [r["code"] for r in failed.value.reasons] == ["rules.needs_nik"]
    assert failed.value.reasons[0]["detail"] == {"program": "PKH"}
    assert app.get_provisional_person(person_id).benefits == {}


def test_unknown_person_or_program_is_not_found(app):
    person_id = register_person(app)
    with pytest.raises(NotFound) as caught:
        app.execute("GrantProvisionalBenefit", grant_cmd(person_id, "NOPE"), meta())
    assert caught.value.field == "program"
    with pytest.raises(NotFound) as caught:
        app.execute(
            "GrantProvisionalBenefit", grant_cmd("0b7c9a52-3a9e-4f54-8a0e-2f1d6c1b9e10"), meta()
        )
    assert caught.value.field == "person_id"


def test_the_same_program_over_overlapping_periods_is_double_receipt(app):
    person_id = register_person(app)
    app.execute("GrantProvisionalBenefit", grant_cmd(person_id), meta())
    with pytest.raises(RulesFailed) as failed:
        app.execute(
            "GrantProvisionalBenefit",
            grant_cmd(person_id, start="2026-03-01", end="2026-06-30"),
            meta(),
        )
    assert [r["code"] for r in failed.value.reasons] == ["rules.double_receipt"]
    # the next period, after the first ends, is fine
    app.execute(
        "GrantProvisionalBenefit",
        grant_cmd(person_id, start="2026-04-01", end="2026-06-30"),
        meta(),
    )
    assert len(app.get_provisional_person(person_id).benefits) == 2


def test_a_terminated_benefit_counts_until_the_day_before_it_ends(app):
    person_id = register_person(app)
    app.execute("GrantProvisionalBenefit", grant_cmd(person_id), meta())
    [benefit_id] = app.get_provisional_person(person_id).benefits
    terminate = {
        "person_id": person_id,
        "benefit_id": benefit_id,
        "effective_date": "2026-02-01",
        "reason_code": "issue_resolved",
    }
    app.execute("TerminateProvisionalBenefit", terminate, meta())
    assert app.get_provisional_person(person_id).benefits[benefit_id]["status"] == "terminated"
    with pytest.raises(DomainError) as caught:
        app.execute("TerminateProvisionalBenefit", terminate, meta())
    assert caught.value.code == "benefit.terminated"
    app.execute(
        "GrantProvisionalBenefit",
        grant_cmd(person_id, start="2026-02-01", end="2026-04-30"),
        meta(),
    )


def test_a_termination_needs_a_declared_reason_and_a_date_in_the_period(app):
    person_id = register_person(app)
    app.execute("GrantProvisionalBenefit", grant_cmd(person_id), meta())
    [benefit_id] = app.get_provisional_person(person_id).benefits
    base = {"person_id": person_id, "benefit_id": benefit_id, "effective_date": "2026-02-01"}
    with pytest.raises(DomainError) as caught:
        app.execute("TerminateProvisionalBenefit", {**base, "reason_code": "bored"}, meta())
    assert (caught.value.field, caught.value.code) == ("reason_code", "reason_code.unknown")
    with pytest.raises(DomainError) as caught:
        app.execute(
            "TerminateProvisionalBenefit",
            {**base, "effective_date": "2027-01-01", "reason_code": "deceased"},
            meta(),
        )
    assert caught.value.code == "benefit.date_outside_period"
    with pytest.raises(NotFound):
        app.execute(
            "TerminateProvisionalBenefit",
            {
                **base,
                "benefit_id": "0b7c9a52-3a9e-4f54-8a0e-2f1d6c1b9e10",
                "reason_code": "deceased",
            },
            meta(),
        )


# --- maker-checker ------------------------------------------------------------------------


def test_the_grant_is_checked_at_request_and_refused_at_approval_when_it_now_fails(app):
    person_id = register_person(app)
    with pytest.raises(RulesFailed):
        request(app, "GrantProvisionalBenefit", grant_cmd(person_id, "PKH"))
    assert app.pending_approvals() == []
    approval_id = request(app, "GrantProvisionalBenefit", grant_cmd(person_id))
    # before it is approved, the program stops serving people without a NIK (from a day
    # before the benefit's first)
    app.change_program_rules(
        {
            "code": "REHSOS",
            "rules": {"serves_without_nik": False},
            "effective_from": "2025-06-01",
        },
        meta(),
    )
    with pytest.raises(Refused):
        approve(app, approval_id)
    assert app.get_pending_change(approval_id).status == "refused"
    assert app.get_provisional_person(person_id).benefits == {}


def test_an_approved_grant_is_carried_out(app):
    person_id = register_person(app)
    approval_id = request(app, "GrantProvisionalBenefit", grant_cmd(person_id))
    assert app.get_provisional_person(person_id).benefits == {}
    approve(app, approval_id)
    assert len(app.get_provisional_person(person_id).benefits) == 1


# --- after LinkIdentity -------------------------------------------------------------------


def test_after_linking_the_benefits_are_the_niks_receipts(app):
    person_id = register_person(app)
    app.execute("GrantProvisionalBenefit", grant_cmd(person_id), meta())
    hid = household_with_ujang(app)
    link(app, person_id, hid)
    [benefit] = app.benefits_of_nik(UJANG["nik"])
    assert (benefit["program"], benefit["person_id"], benefit["household_id"]) == (
        "REHSOS",
        person_id,
        None,
    )
    # a GrantBenefit of the same program over an overlapping period is double receipt
    grant = {
        "household_id": hid,
        "nik": UJANG["nik"],
        "program": "REHSOS",
        "period_start": "2026-02-01",
        "period_end": "2026-05-31",
        "amount": 300_000,
    }
    with pytest.raises(RulesFailed) as failed:
        app.execute("GrantBenefit", grant, meta())
    assert [r["code"] for r in failed.value.reasons] == ["rules.double_receipt"]
    assert failed.value.reasons[0]["detail"]["benefit_id"] == benefit["benefit_id"]
    # after it ends, the same program goes on under the NIK
    app.execute("GrantBenefit", {**grant, "period_start": "2026-04-01"}, meta())
    assert [b["program"] for b in app.benefits_of_nik(UJANG["nik"])] == ["REHSOS", "REHSOS"]


def test_once_linked_a_person_is_granted_under_their_nik_not_provisionally(app):
    person_id = register_person(app)
    link(app, person_id, household_with_ujang(app))
    with pytest.raises(DomainError) as caught:
        app.execute("GrantProvisionalBenefit", grant_cmd(person_id), meta())
    assert (caught.value.field, caught.value.code) == ("person_id", "identity.already_linked")


def test_the_forms_list_every_provisional_person(app):
    first, second = register_person(app, "Pak Ujang"), register_person(app, "Bu Inah")
    assert [str(p.id) for p in app.provisional_persons()] == [first, second]


# --- LinkIdentity and the NIK's own benefits ----------------------------------------------


def test_linking_a_nik_that_already_receives_the_program_is_refused_until_one_ends(app):
    person_id = register_person(app)
    app.execute("GrantProvisionalBenefit", grant_cmd(person_id), meta())
    [provisional_id] = app.get_provisional_person(person_id).benefits
    hid = household_with_ujang(app)
    app.execute(
        "GrantBenefit",
        {
            "household_id": hid,
            "nik": UJANG["nik"],
            "program": "REHSOS",
            "period_start": "2026-03-01",
            "period_end": "2026-05-31",
            "amount": 300_000,
        },
        meta(),
    )
    [household_benefit] = app.get_household(hid).benefits
    cmd = {"person_id": person_id, "household_id": hid, "nik": UJANG["nik"]}
    # refused when requested (nothing kept for approval) and when carried out
    with pytest.raises(RulesFailed) as failed:
        request(app, "LinkIdentity", cmd)
    assert app.pending_approvals() == []
    with pytest.raises(RulesFailed) as failed:
        link(app, person_id, hid)
    assert failed.value.field == "nik"
    [reason] = failed.value.reasons
    assert reason["code"] == "identity.double_receipt"
    assert reason["detail"] == {
        "program": "REHSOS",
        "provisional_benefit_id": provisional_id,
        "benefit_id": household_benefit,
        "period_start": "2026-03-01",
        "period_end": "2026-05-31",
    }
    person = app.get_provisional_person(person_id)
    assert person.linked_nik is None and person.benefits[provisional_id]["status"] == "active"
    assert app.get_household(hid).members[UJANG["nik"]]["provisional_person_ids"] == []

    # the provisional benefit ends before the NIK's starts: the link goes through
    app.execute(
        "TerminateProvisionalBenefit",
        {
            "person_id": person_id,
            "benefit_id": provisional_id,
            "effective_date": "2026-03-01",
            "reason_code": "double_receipt",
        },
        meta(),
    )
    approve(app, request(app, "LinkIdentity", cmd))
    assert app.get_provisional_person(person_id).linked_nik == UJANG["nik"]
    assert sorted(b["benefit_id"] for b in app.benefits_of_nik(UJANG["nik"])) == sorted(
        [provisional_id, household_benefit]
    )


def test_another_program_or_period_of_the_nik_does_not_stop_the_link(app):
    person_id = register_person(app)
    app.execute("GrantProvisionalBenefit", grant_cmd(person_id), meta())
    hid = household_with_ujang(app)
    app.execute(
        "GrantBenefit",
        {
            "household_id": hid,
            "nik": UJANG["nik"],
            "program": "REHSOS",
            "period_start": "2026-04-01",
            "period_end": "2026-06-30",
            "amount": 300_000,
        },
        meta(),
    )
    link(app, person_id, hid)
    assert app.get_provisional_person(person_id).linked_nik == UJANG["nik"]


# --- suspension and resumption ------------------------------------------------------------


def test_a_benefit_before_a_nik_is_suspended_and_resumed_with_declared_reasons(app):
    person_id = register_person(app)
    app.execute("GrantProvisionalBenefit", grant_cmd(person_id), meta())
    [benefit_id] = app.get_provisional_person(person_id).benefits
    base = {"person_id": person_id, "benefit_id": benefit_id}
    with pytest.raises(DomainError) as caught:
        app.execute(
            "ResumeProvisionalBenefit",
            {**base, "effective_date": "2026-02-01", "reason_code": "issue_resolved"},
            meta(),
        )
    assert (caught.value.field, caught.value.code) == ("benefit_id", "benefit.not_suspended")
    with pytest.raises(DomainError) as caught:
        app.execute(
            "SuspendProvisionalBenefit",
            {**base, "effective_date": "2026-02-01", "reason_code": "bored"},
            meta(),
        )
    assert (caught.value.field, caught.value.code) == ("reason_code", "reason_code.unknown")

    suspend = {**base, "effective_date": "2026-02-01", "reason_code": "conditions_not_met"}
    app.execute("SuspendProvisionalBenefit", suspend, meta())
    assert app.get_provisional_person(person_id).benefits[benefit_id]["status"] == "suspended"
    with pytest.raises(DomainError) as caught:
        app.execute("SuspendProvisionalBenefit", suspend, meta())
    assert caught.value.code == "benefit.not_active"
    # not before the suspension, and a suspended benefit is still double receipt
    with pytest.raises(DomainError) as caught:
        app.execute(
            "ResumeProvisionalBenefit",
            {**base, "effective_date": "2026-01-15", "reason_code": "issue_resolved"},
            meta(),
        )
    assert caught.value.code == "benefit.date_before_last_change"
    with pytest.raises(RulesFailed):
        app.execute("GrantProvisionalBenefit", grant_cmd(person_id, start="2026-03-01"), meta())

    app.execute(
        "ResumeProvisionalBenefit",
        {**base, "effective_date": "2026-03-01", "reason_code": "issue_resolved"},
        meta(),
    )
    benefit = app.get_provisional_person(person_id).benefits[benefit_id]
    assert benefit["status"] == "active"
    assert [(h["status"], h.get("reason_code")) for h in benefit["history"]] == [
        ("active", None),
        ("suspended", "conditions_not_met"),
        ("active", "issue_resolved"),
    ]
    # a terminated benefit is neither suspended nor resumed
    app.execute(
        "TerminateProvisionalBenefit",
        {**base, "effective_date": "2026-03-15", "reason_code": "recipient_request"},
        meta(),
    )
    with pytest.raises(DomainError) as caught:
        app.execute(
            "SuspendProvisionalBenefit",
            {**base, "effective_date": "2026-03-20", "reason_code": "other"},
            meta(),
        )
    assert caught.value.code == "benefit.terminated"


def test_a_suspension_before_a_nik_recorded_ahead_is_brought_earlier(app):
    """As a household's benefit: a suspension from a day to come is replaced by one from an
    earlier day; the status before it is the one in force on that day."""
    from domain.city import today

    day = today()
    person_id = register_person(app)
    end = (day + dt.timedelta(days=60)).isoformat()
    app.execute(
        "GrantProvisionalBenefit", grant_cmd(person_id, start=day.isoformat(), end=end), meta()
    )
    [benefit_id] = app.get_provisional_person(person_id).benefits
    base = {"person_id": person_id, "benefit_id": benefit_id, "reason_code": "conditions_not_met"}
    for ahead in (30, 10):
        on = (day + dt.timedelta(days=ahead)).isoformat()
        app.execute("SuspendProvisionalBenefit", {**base, "effective_date": on}, meta())
    history = app.get_provisional_person(person_id).benefits[benefit_id]["history"]
    assert [(h["status"], h["effective_date"]) for h in history[1:]] == [
        ("suspended", (day + dt.timedelta(days=10)).isoformat())
    ]
