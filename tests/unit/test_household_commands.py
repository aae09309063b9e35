"""A story per command group of a household, on the in-memory store: what a caseworker
would notice afterwards, and the field and code a mistaken command is refused with."""

import datetime as dt
import json
import uuid

import pytest

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from domain.city import today
from domain.errors import Conflict, DomainError, NotFound
from domain.household import ERROR_CODES, Household, derived_id
from tests.support.apps import memory_casework

REGION = "157101"


def person(name, birth, sex, serial):
    born = dt.date.fromisoformat(birth)
    return {
        "nik": nik_for(REGION, born, sex, serial),
        "name": name,
        "birth_date": birth,
        "sex": sex,
    }


HEAD = person("Budi Santoso", "1980-01-01", "M", 1)
WIFE = person("Siti Aminah", "1985-03-02", "F", 2)
CHILD = person("Rina", "2015-06-07", "F", 3)
SON = person("Andi", "2000-02-03", "M", 4)
KK = kk_for(REGION, dt.date(2020, 1, 1), 1)
KK2 = kk_for(REGION, dt.date(2024, 5, 6), 2)


def meta(**kwargs):
    return make_meta(SYSTEM, "api", **kwargs)


@pytest.fixture
def app():
    application = memory_casework()
    # These stories are about the household; the program rules at grant are in
    # test_grant_rules.py (the programs granted here are not defined).
    application.check_program_rules = lambda household, cmd: None
    yield application
    application.close()


def register(app, head=HEAD, kk=KK, kelurahan="Telanaipura", members=()):
    stored = app.register_household(
        {
            "kk_number": kk,
            "kecamatan": "Telanaipura",
            "kelurahan": kelurahan,
            "address": "Jl. Sultan Agung No. 12",
            "rt": "001",
            "rw": "002",
            "head": head,
        },
        meta(),
    )
    for member, relationship in members:
        app.add_member(
            {"household_id": stored.stream_id, "person": member, "relationship": relationship},
            meta(),
        )
    return stored.stream_id


@pytest.fixture
def family(app):
    return register(app, members=[(WIFE, "istri"), (CHILD, "anak"), (SON, "anak")])


def refused(call, field, code, kind=DomainError):
    with pytest.raises(kind) as error:
        call()
    assert (error.value.field, error.value.code) == (field, code)
    assert error.value.code in ERROR_CODES or error.value.code.startswith(("nik.", "kk."))


def status(app, hid, nik):
    return app.get_household(hid).members[nik]["status"]


# ---- membership ------------------------------------------------------------------------


def test_a_member_who_moves_out_can_join_another_household_but_not_be_removed_twice(app, family):
    app.remove_member(
        {
            "household_id": family,
            "nik": SON["nik"],
            "kind": "moved_out",
            "effective_date": "2025-01-10",
        },
        meta(),
    )
    member = app.get_household(family).members[SON["nik"]]
    assert (member["status"], member["status_since"]) == ("moved_out", "2025-01-10")
    assert app.household_id_for_nik(SON["nik"]) is None
    refused(
        lambda: app.remove_member(
            {
                "household_id": family,
                "nik": SON["nik"],
                "kind": "other",
                "effective_date": "2025-01-11",
            },
            meta(),
        ),
        "nik",
        "member.already_removed",
    )
    other = register(app, head=SON, kk=KK2)
    assert str(app.household_id_for_nik(SON["nik"])) == other
    # and he cannot be added back to the first family while he heads the second
    refused(
        lambda: app.add_member(
            {"household_id": family, "person": SON, "relationship": "anak"}, meta()
        ),
        "person.nik",
        "nik.taken",
        Conflict,
    )


def test_a_former_member_can_come_back_to_the_same_household(app, family):
    app.remove_member(
        {
            "household_id": family,
            "nik": SON["nik"],
            "kind": "other",
            "effective_date": "2025-01-10",
        },
        meta(),
    )
    assert status(app, family, SON["nik"]) == "removed"
    app.add_member({"household_id": family, "person": SON, "relationship": "anak"}, meta())
    assert status(app, family, SON["nik"]) == "active"
    assert str(app.household_id_for_nik(SON["nik"])) == family


def test_the_head_is_removed_only_when_alone(app, family):
    refused(
        lambda: app.remove_member(
            {
                "household_id": family,
                "nik": HEAD["nik"],
                "kind": "moved_out",
                "effective_date": "2025-01-10",
            },
            meta(),
        ),
        "nik",
        "member.is_head",
    )
    alone = register(app, head=person("Sendiri", "1970-04-04", "M", 9), kk=KK2)
    nik = app.get_household(alone).head_nik
    app.remove_member(
        {"household_id": alone, "nik": nik, "kind": "moved_out", "effective_date": "2025-01-10"},
        meta(),
    )
    assert status(app, alone, nik) == "moved_out"


def test_a_new_head_gets_a_new_kk_and_the_old_head_a_new_relationship(app, family):
    stored = app.change_head(
        {"household_id": family, "nik": WIFE["nik"], "new_kk_number": KK2}, meta()
    )
    household = app.get_household(family)
    assert household.head_nik == WIFE["nik"]
    assert household.kk_number == KK2
    assert [k["kk_number"] for k in household.kk_history] == [KK, KK2]
    assert household.members[WIFE["nik"]]["relationship"] == "kepala_keluarga"
    assert household.members[HEAD["nik"]]["relationship"] == "suami"
    event = app.repository.event_store.get(uuid.UUID(family), gt=stored.version - 1)
    data = next(iter(event))
    assert type(data).__name__ == "HeadChanged"
    # the children are still hers: the event restates every relationship on the KK
    assert data.relationships == {
        WIFE["nik"]: "kepala_keluarga",
        HEAD["nik"]: "suami",
        CHILD["nik"]: "anak",
        SON["nik"]: "anak",
    }
    assert household.relationships_to_review == []
    # the old KK number stays the family's: nobody else may take it
    refused(
        lambda: register(app, head=person("Lain", "1990-01-01", "M", 7), kk=KK),
        "kk_number",
        "kk.taken",
        Conflict,
    )


def test_a_son_heading_the_family_makes_his_parents_orang_tua_and_his_sister_famili_lain(
    app, family
):
    app.change_head({"household_id": family, "nik": SON["nik"], "new_kk_number": KK2}, meta())
    members = app.get_household(family).members
    assert [members[p["nik"]]["relationship"] for p in (HEAD, WIFE, CHILD)] == [
        "orang_tua",
        "orang_tua",
        "famili_lain",
    ]


def test_a_head_must_be_an_active_adult_and_the_new_kk_free_and_valid(app, family):
    refused(
        lambda: app.change_head(
            {"household_id": family, "nik": CHILD["nik"], "new_kk_number": KK2}, meta()
        ),
        "nik",
        "member.not_adult",
    )
    refused(
        lambda: app.change_head(
            {"household_id": family, "nik": HEAD["nik"], "new_kk_number": KK2}, meta()
        ),
        "nik",
        "member.already_head",
    )
    refused(
        lambda: app.change_head(
            {"household_id": family, "nik": WIFE["nik"], "new_kk_number": "123"}, meta()
        ),
        "new_kk_number",
        "kk.format",
    )
    register(app, head=person("Tetangga", "1975-01-01", "M", 8), kk=KK2)
    refused(
        lambda: app.change_head(
            {"household_id": family, "nik": WIFE["nik"], "new_kk_number": KK2}, meta()
        ),
        "new_kk_number",
        "kk.taken",
        Conflict,
    )
    assert app.get_household(family).head_nik == HEAD["nik"]


def test_a_death_recorded_late_keeps_benefits_until_a_person_decides(app, family):
    granted = grant(app, family, HEAD["nik"], program="PKH")
    app.record_death(
        {"household_id": family, "nik": HEAD["nik"], "date_of_death": "2025-03-01"},
        meta(occurred_at="2025-03-01T08:00:00Z"),
    )
    household = app.get_household(family)
    assert household.members[HEAD["nik"]]["status"] == "deceased"
    assert household.members[HEAD["nik"]]["date_of_death"] == "2025-03-01"
    assert household.benefits[granted]["status"] == "active"  # PKH continues
    refused(lambda: grant(app, family, HEAD["nik"]), "nik", "person.deceased")
    refused(
        lambda: app.record_death(
            {"household_id": family, "nik": HEAD["nik"], "date_of_death": "2025-03-01"}, meta()
        ),
        "nik",
        "person.deceased",
    )
    # a dead person cannot be registered elsewhere
    refused(lambda: register(app, head=HEAD, kk=KK2), "head.nik", "person.deceased")
    # a widow can head the family now
    app.change_head({"household_id": family, "nik": WIFE["nik"], "new_kk_number": KK2}, meta())


def test_a_death_cannot_precede_birth_or_be_in_the_future(app, family):
    refused(
        lambda: app.record_death(
            {"household_id": family, "nik": CHILD["nik"], "date_of_death": "2014-01-01"}, meta()
        ),
        "date_of_death",
        "date.before_birth",
    )
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    refused(
        lambda: app.record_death(
            {"household_id": family, "nik": CHILD["nik"], "date_of_death": future}, meta()
        ),
        "date_of_death",
        "date.in_future",
    )


# ---- identity --------------------------------------------------------------------------


def test_a_newcomer_ktp_starts_the_residence_clock_at_arrival(app, family):
    app.issue_ktp(
        {
            "household_id": family,
            "nik": WIFE["nik"],
            "issued_on": "2024-08-01",
            "arrival": {
                "type": "pindah_datang",
                "arrived_on": "2024-07-15",
                "origin_region_code": "1505",
            },
        },
        meta(),
    )
    app.issue_ktp(
        {
            "household_id": family,
            "nik": HEAD["nik"],
            "issued_on": "1998-01-05",
            "arrival": {"type": "born_here"},
        },
        meta(),
    )
    members = app.get_household(family).members
    assert members[WIFE["nik"]]["residence_since"] == "2024-07-15"
    assert members[WIFE["nik"]]["arrival"]["origin_region_code"] == "1505"
    assert members[HEAD["nik"]]["residence_since"] == HEAD["birth_date"]


@pytest.mark.parametrize(
    ("arrival", "field", "code"),
    [
        (
            {"type": "pindah_datang", "origin_region_code": "1505"},
            "arrival.arrived_on",
            "arrival.arrived_on_required",
        ),
        (
            {"type": "pindah_datang", "arrived_on": "2024-07-15"},
            "arrival.origin_region_code",
            "value.required",
        ),
        (
            {"type": "pindah_datang", "arrived_on": "2024-07-15", "origin_region_code": "15051"},
            "arrival.origin_region_code",
            "region_code.format",
        ),
        (
            {"type": "pindah_datang", "arrived_on": "2024-09-01", "origin_region_code": "150501"},
            "arrival.arrived_on",
            "arrival.after_issue",
        ),
        # no province 99; no regency 00 of Jambi (15); no district 00 of Muaro Jambi (1505)
        *(
            (
                {"type": "pindah_datang", "arrived_on": "2024-07-15", "origin_region_code": code},
                "arrival.origin_region_code",
                "region_code.unknown",
            )
            for code in ("9999", "1500", "150500")
        ),
        ({"type": "teleported"}, "arrival.type", "arrival.type_unknown"),
    ],
)
def test_a_newcomer_ktp_needs_a_sound_arrival(app, family, arrival, field, code):
    refused(
        lambda: app.issue_ktp(
            {
                "household_id": family,
                "nik": WIFE["nik"],
                "issued_on": "2024-08-01",
                "arrival": arrival,
            },
            meta(),
        ),
        field,
        code,
    )


def test_a_homeless_person_is_linked_to_a_nik_keeping_both_histories(app, family):
    stored = app.register_homeless_person(
        {
            "name": "Pak Ujang",
            "estimated_birth_year": 1965,
            "sex": "M",
            "found_at": "Pasar Angso Duo",
            "kecamatan": "Pasar Jambi",
            "notes": "tidur di emperan toko",
        },
        meta(),
    )
    person_id = stored.stream_id
    linked = app.link_identity(
        {"person_id": person_id, "household_id": family, "nik": SON["nik"], "expected_version": 1},
        meta(),
    )
    assert (linked.stream_id, linked.version) == (person_id, 2)
    person_state = app.get_provisional_person(person_id).as_dict()
    assert (person_state["linked_nik"], person_state["linked_household_id"]) == (SON["nik"], family)
    assert person_state["name"] == "Pak Ujang"
    assert app.get_household(family).members[SON["nik"]]["provisional_person_ids"] == [person_id]
    refused(
        lambda: app.link_identity(
            {"person_id": person_id, "household_id": family, "nik": SON["nik"]}, meta()
        ),
        "person_id",
        "identity.already_linked",
    )
    refused(
        lambda: app.link_identity(
            {"person_id": family, "household_id": family, "nik": SON["nik"]}, meta()
        ),
        "person_id",
        "person.not_found",
        NotFound,
    )


def test_a_homeless_person_links_only_to_an_active_member(app, family):
    person_id = app.register_homeless_person(
        {
            "name": "X",
            "estimated_birth_year": None,
            "sex": "F",
            "found_at": "-",
            "kecamatan": "Telanaipura",
            "notes": None,
        },
        meta(),
    ).stream_id
    refused(
        lambda: app.link_identity(
            {"person_id": person_id, "household_id": family, "nik": KK}, meta()
        ),
        "nik",
        "member.not_found",
    )
    assert app.get_provisional_person(person_id).version == 1


# ---- business and welfare --------------------------------------------------------------


def test_an_nib_is_registered_once_and_revoked_once(app, family):
    nib = "1234567890123"
    cmd = {
        "household_id": family,
        "nik": WIFE["nik"],
        "nib": nib,
        "business_name": "Warung Siti",
        "registered_on": "2025-02-01",
    }
    app.register_nib(cmd, meta())
    assert app.get_household(family).holds_nib(WIFE["nik"])
    refused(lambda: app.register_nib(cmd, meta()), "nib", "nib.already_registered")
    refused(lambda: app.register_nib({**cmd, "nib": "12345"}, meta()), "nib", "nib.format")
    # no business is registered to someone before they were born (WIFE: 1985-03-02)
    refused(
        lambda: app.register_nib(
            {**cmd, "nib": "1234567890999", "registered_on": "1950-01-01"}, meta()
        ),
        "registered_on",
        "date.before_birth",
    )
    revoke = {"household_id": family, "nik": WIFE["nik"], "nib": nib, "revoked_on": "2025-06-01"}
    app.revoke_nib(revoke, meta())
    assert not app.get_household(family).holds_nib(WIFE["nik"])
    refused(lambda: app.revoke_nib(revoke, meta()), "nib", "nib.already_revoked")
    refused(
        lambda: app.revoke_nib({**revoke, "nib": "9999999999999"}, meta()), "nib", "nib.not_found"
    )
    assert app.get_household(family).as_dict()["nibs"][0]["revoked_on"] == "2025-06-01"


def test_assessments_of_each_source_are_kept_side_by_side(app, family):
    def assess(source, desil, period="2025-Q1"):
        app.record_welfare_assessment(
            {
                "household_id": family,
                "source": source,
                "desil": desil,
                "period": period,
                "reference": f"{source}-ref",
            },
            meta(),
        )

    assess("DTSEN", 3)
    assess("DTKS", 5)
    assess("DTSEN", 2)  # DTSEN corrects its own value for the quarter
    assess("DTSEN", 4, "2025-Q2")
    assessments = app.get_household(family).as_dict()["assessments"]
    assert assessments["DTKS"] == [{"period": "2025-Q1", "desil": 5, "reference": "DTKS-ref"}]
    assert [(a["period"], a["desil"]) for a in assessments["DTSEN"]] == [
        ("2025-Q1", 2),
        ("2025-Q2", 4),
    ]
    assert app.get_household(family).version == 8  # 4 registrations + 4 assessments, none lost
    refused(lambda: assess("BPS", 3), "source", "assessment.source_unknown")
    refused(lambda: assess("DTSEN", 11), "desil", "desil.out_of_range")
    refused(lambda: assess("DTSEN", 3, "2025-Q5"), "period", "period.format")
    # a year before any listing (year 0 broke every view's dates), or a quarter not begun yet
    for period in ("0000-Q1", "2004-Q4", "2999-Q1"):
        refused(lambda p=period: assess("DTSEN", 3, p), "period", "period.out_of_range")
    quarter = f"{today().year}-Q{(today().month - 1) // 3 + 1}"
    assess("DTSEN", 3, quarter)  # the current quarter is fine
    assert app.get_household(family).version == 9


def test_a_move_a_visit_and_an_objection_are_not_dated_before_anyone_in_the_family_was_born(
    app, family
):
    """The walkthrough's visit dated 1950, for a family whose oldest member was born in 1980;
    a day before the family's registration (a past period imported) is still recorded."""
    commands = {
        "RelocateHousehold": {
            "kecamatan": "Telanaipura",
            "kelurahan": "Simpang IV Sipin",
            "address": "Jl. Kapten Pattimura No. 5",
            "rt": "007",
            "rw": "002",
            "moved_on": "1950-06-01",
        },
        "RecordVerification": {
            "outcome": "valid",
            "visited_on": "1950-06-01",
            "verifier": "Tim 12",
            "notes": "",
        },
        "FileObjection": {
            "objector_nik": SON["nik"],
            "grounds": "Keluarga ini mampu",
            "filed_on": "1950-06-01",
            "photo_reference": "photo://abc",
            "latitude": -1.6,
            "longitude": 103.6,
        },
    }
    dated = {"RelocateHousehold": "moved_on", "RecordVerification": "visited_on"}
    before = app.get_household(family).version
    for name, cmd in commands.items():
        field = dated.get(name, "filed_on")
        refused(
            lambda n=name, c=cmd: app.execute(n, {"household_id": family, **c}, meta()),
            field,
            "date.before_family",
        )
        assert app.get_household(family).version == before  # nothing stored
    for name, cmd in commands.items():
        field = dated.get(name, "filed_on")
        app.execute(name, {"household_id": family, **cmd, field: "2019-03-01"}, meta())
    household = app.get_household(family)
    assert household.version == before + 3
    assert household.kelurahan == "Simpang IV Sipin"
    assert [v["visited_on"] for v in household.verifications] == ["2019-03-01"]
    assert [o["filed_on"] for o in household.objections.values()] == ["2019-03-01"]


def test_a_field_verification_is_recorded(app, family):
    app.record_verification(
        {
            "household_id": family,
            "outcome": "valid",
            "visited_on": "2025-05-01",
            "verifier": "Tim 12",
            "notes": "rumah semi permanen",
        },
        meta(),
    )
    assert app.get_household(family).as_dict()["verifications"] == [
        {
            "outcome": "valid",
            "visited_on": "2025-05-01",
            "verifier": "Tim 12",
            "notes": "rumah semi permanen",
        }
    ]
    refused(
        lambda: app.record_verification(
            {
                "household_id": family,
                "outcome": "maybe",
                "visited_on": "2025-05-01",
                "verifier": "T",
                "notes": "",
            },
            meta(),
        ),
        "outcome",
        "verification.outcome_unknown",
    )


# ---- benefits --------------------------------------------------------------------------


def grant(
    app, hid, nik, program="BPNT", start="2025-01-01", end="2025-12-31", amount=200_000, **extra
):
    stored = app.grant_benefit(
        {
            "household_id": hid,
            "nik": nik,
            "program": program,
            "period_start": start,
            "period_end": end,
            "amount": amount,
            **extra,
        },
        meta(),
    )
    return derived_id(stored.stream_id, "benefit", stored.version)


def change(app, hid, verb, benefit_id, day="2025-06-01", reason_code="data_invalid"):
    getattr(app, f"{verb}_benefit")(
        {
            "household_id": hid,
            "benefit_id": benefit_id,
            "effective_date": day,
            "reason_code": reason_code,
        },
        meta(reason="test"),
    )


def test_a_benefit_lives_through_suspension_and_termination_and_is_never_deleted(app, family):
    benefit_id = grant(app, family, WIFE["nik"])
    household = app.get_household(family)
    assert household.benefits[benefit_id]["status"] == "active"
    granted = list(app.repository.event_store.get(uuid.UUID(family)))[-1]
    assert granted.benefit_id == benefit_id
    change(app, family, "suspend", benefit_id)
    refused(lambda: change(app, family, "suspend", benefit_id), "benefit_id", "benefit.not_active")
    change(app, family, "resume", benefit_id, "2025-07-01")
    refused(
        lambda: change(app, family, "resume", benefit_id), "benefit_id", "benefit.not_suspended"
    )
    change(app, family, "terminate", benefit_id, "2025-08-01")
    for verb in ("suspend", "resume", "terminate"):
        refused(
            lambda v=verb: change(app, family, v, benefit_id), "benefit_id", "benefit.terminated"
        )
    benefit = app.get_household(family).as_dict()["benefits"][0]
    assert [h["status"] for h in benefit["history"]] == [
        "active",
        "suspended",
        "active",
        "terminated",
    ]
    assert benefit["history"][-1] == {
        "status": "terminated",
        "effective_date": "2025-08-01",
        "reason_code": "data_invalid",
        "reason": "test",
    }
    refused(
        lambda: change(app, family, "suspend", str(uuid.uuid4())), "benefit_id", "benefit.not_found"
    )


def test_a_change_of_a_benefit_says_why_and_when_within_its_period(app, family):
    """Removing someone from a program needs a reason from the list and a date inside the
    benefit's period, never before its last change; nothing is stored otherwise."""
    benefit_id = grant(app, family, WIFE["nik"])  # 2025-01-01 .. 2025-12-31
    version = app.get_household(family).version
    refused(
        lambda: change(app, family, "suspend", benefit_id, reason_code=None),
        "reason_code",
        "value.required",
    )
    refused(
        lambda: change(app, family, "suspend", benefit_id, reason_code="bosan"),
        "reason_code",
        "reason_code.unknown",
    )
    refused(
        lambda: change(app, family, "suspend", benefit_id, "2024-12-31"),
        "effective_date",
        "benefit.date_outside_period",
    )
    refused(
        lambda: change(app, family, "terminate", benefit_id, "2026-01-01"),
        "effective_date",
        "benefit.date_outside_period",
    )
    app.suspend_benefit(  # "other" needs the free-text reason
        {
            "household_id": family,
            "benefit_id": benefit_id,
            "effective_date": "2025-05-01",
            "reason_code": "other",
        },
        meta(reason="Menunggu surat keterangan RT"),
    )
    with pytest.raises(DomainError) as error:
        app.resume_benefit(
            {
                "household_id": family,
                "benefit_id": benefit_id,
                "effective_date": "2025-06-01",
                "reason_code": "other",
            },
            meta(),
        )
    assert (error.value.field, error.value.code) == ("reason", "value.required")
    refused(
        lambda: change(app, family, "resume", benefit_id, "2025-04-30"),
        "effective_date",
        "benefit.date_before_last_change",
    )
    assert app.get_household(family).version == version + 1  # only the suspension
    change(app, family, "resume", benefit_id, "2025-05-01", reason_code="issue_resolved")
    history = app.get_household(family).as_dict()["benefits"][0]["history"]
    assert [(h["status"], h["reason_code"]) for h in history[1:]] == [
        ("suspended", "other"),
        ("active", "issue_resolved"),
    ]


def test_a_change_recorded_ahead_is_replaced_by_one_from_an_earlier_day(app, family):
    """A termination recorded from a day to come is brought earlier by a termination from an
    earlier day (the decision changed): the later one never takes effect, the history holds
    the earlier one only, and the benefit runs until it. A change dated before one already in
    force is still refused, and nothing is stored."""
    from domain.household import scheduled_changes, status_on

    day = today()
    soon, later = day + dt.timedelta(days=25), day + dt.timedelta(days=85)
    period = {"start": f"{day.year - 1}-01-01", "end": f"{day.year + 1}-12-31"}
    benefit_id = grant(app, family, WIFE["nik"], **period)
    change(app, family, "terminate", benefit_id, later.isoformat())
    change(app, family, "terminate", benefit_id, soon.isoformat())
    benefit = app.get_household(family).benefits[benefit_id]
    assert [(h["status"], h["effective_date"]) for h in benefit["history"][1:]] == [
        ("terminated", soon.isoformat())
    ]
    assert status_on(benefit, soon - dt.timedelta(days=1)) == "active"
    assert status_on(benefit, soon) == "terminated"
    assert [s["effective_date"] for s in scheduled_changes(benefit, day)] == [soon.isoformat()]
    # a suspension from a day to come, then a suspension from earlier: one suspension, earlier
    other = grant(app, family, WIFE["nik"], program="PKH", **period)
    change(app, family, "suspend", other, later.isoformat())
    change(app, family, "resume", other, (later + dt.timedelta(days=5)).isoformat())
    change(app, family, "suspend", other, soon.isoformat())  # replaces both steps
    steps = app.get_household(family).benefits[other]["history"][1:]
    assert [(h["status"], h["effective_date"]) for h in steps] == [("suspended", soon.isoformat())]
    # in force today: what has taken effect is not replaced
    version = app.get_household(family).version
    third = grant(app, family, WIFE["nik"], program="ZKT", **period)
    change(app, family, "suspend", third, day.isoformat())
    refused(
        lambda: change(app, family, "terminate", third, (day - dt.timedelta(days=1)).isoformat()),
        "effective_date",
        "benefit.date_before_last_change",
    )
    assert app.get_household(family).version == version + 2  # the grant and the suspension


def test_a_grant_needs_a_living_active_member_a_sound_period_and_amount(app, family):
    refused(
        lambda: grant(app, family, WIFE["nik"], end="2024-12-31"),
        "period_end",
        "period.end_before_start",
    )
    refused(lambda: grant(app, family, WIFE["nik"], amount=-1), "amount", "amount.negative")
    refused(lambda: grant(app, family, KK), "nik", "member.not_found")
    app.remove_member(
        {
            "household_id": family,
            "nik": SON["nik"],
            "kind": "moved_out",
            "effective_date": "2025-01-10",
        },
        meta(),
    )
    refused(lambda: grant(app, family, SON["nik"]), "nik", "member.not_active")
    refused(
        lambda: grant(app, family, WIFE["nik"], expected_version=1),
        "expected_version",
        "version.stale",
        Conflict,
    )
    assert app.get_household(family).benefits == {}


def test_the_program_rules_hook_is_called_and_can_refuse(app, family, monkeypatch):
    def no(household, cmd):
        assert isinstance(household, Household)
        raise DomainError("program", "program.not_eligible")

    monkeypatch.setattr(app, "check_program_rules", no)
    with pytest.raises(DomainError):
        grant(app, family, WIFE["nik"])


def test_a_suspended_benefit_of_a_dead_person_is_not_resumed(app, family):
    benefit_id = grant(app, family, SON["nik"])
    change(app, family, "suspend", benefit_id)
    app.record_death(
        {"household_id": family, "nik": SON["nik"], "date_of_death": "2025-03-01"}, meta()
    )
    refused(lambda: change(app, family, "resume", benefit_id), "benefit_id", "person.deceased")
    change(app, family, "terminate", benefit_id)


def test_a_review_is_opened_once_per_benefit_and_cause_and_closes_on_termination(app, family):
    benefit_id = grant(app, family, WIFE["nik"])
    review = {
        "household_id": family,
        "benefit_id": benefit_id,
        "cause": "nib",
        "deadline": "2025-07-01",
    }
    app.open_benefit_review(review, make_meta(SYSTEM, "policy"))
    version = app.get_household(family).version
    refused(lambda: app.open_benefit_review(review, meta()), "benefit_id", "review.already_open")
    assert app.get_household(family).version == version
    app.open_benefit_review({**review, "cause": "death"}, meta())
    refused(
        lambda: app.open_benefit_review({**review, "cause": "rumour"}, meta()),
        "cause",
        "review.cause_unknown",
    )
    change(app, family, "terminate", benefit_id)
    reviews = app.get_household(family).benefits[benefit_id]["reviews"]
    assert [(r["cause"], r["status"]) for r in reviews] == [("nib", "closed"), ("death", "closed")]
    refused(lambda: app.open_benefit_review(review, meta()), "benefit_id", "benefit.terminated")


# ---- empowerment -----------------------------------------------------------------------


def test_an_empowerment_enrolment_ends_once_with_an_outcome(app, family):
    seed_catalog(app, meta())
    stored = app.enroll_empowerment(
        {
            "household_id": family,
            "nik": WIFE["nik"],
            "program": "UMKM-NAIK-KELAS",
            "enrolled_on": "2025-02-01",
        },
        meta(),
    )
    enrollment_id = derived_id(family, "enrollment", stored.version)
    refused(
        lambda: app.enroll_empowerment(
            {
                "household_id": family,
                "nik": WIFE["nik"],
                "program": "UMKM-NAIK-KELAS",
                "enrolled_on": "2025-02-02",
            },
            meta(),
        ),
        "program",
        "enrollment.already_open",
    )
    done = {
        "household_id": family,
        "enrollment_id": enrollment_id,
        "outcome": "graduated",
        "completed_on": "2025-06-30",
    }
    refused(
        lambda: app.complete_empowerment({**done, "outcome": "vanished"}, meta()),
        "outcome",
        "enrollment.outcome_unknown",
    )
    refused(
        lambda: app.complete_empowerment({**done, "completed_on": "2025-01-01"}, meta()),
        "completed_on",
        "date.before_start",
    )
    refused(
        lambda: app.enroll_empowerment(
            {
                "household_id": family,
                "nik": SON["nik"],
                "program": "UMKM-NAIK-KELAS",
                "enrolled_on": "1999-12-31",
            },
            meta(),
        ),
        "enrolled_on",
        "date.before_birth",
    )
    app.complete_empowerment(done, meta())
    assert app.get_household(family).enrollments[enrollment_id]["outcome"] == "graduated"
    refused(
        lambda: app.complete_empowerment(done, meta()),
        "enrollment_id",
        "enrollment.already_completed",
    )
    refused(
        lambda: app.complete_empowerment({**done, "enrollment_id": "x"}, meta()),
        "enrollment_id",
        "enrollment.not_found",
    )


def test_an_enrolment_is_in_a_defined_empowerment_program(app, family):
    seed_catalog(app, meta())
    cmd = {
        "household_id": family,
        "nik": WIFE["nik"],
        "program": "UMKM-NAIK-KELAS",
        "enrolled_on": "2025-02-01",
    }
    # a cash transfer has benefits, not enrolments; an unknown code is no program at all
    refused(
        lambda: app.enroll_empowerment({**cmd, "program": "PKH"}, meta()),
        "program",
        "enrollment.not_empowerment",
    )
    with pytest.raises(NotFound) as error:
        app.enroll_empowerment({**cmd, "program": "NOPE"}, meta())
    assert (error.value.field, error.value.code) == ("program", "program.not_found")
    assert app.get_household(family).enrollments == {}


# ---- casework --------------------------------------------------------------------------


def test_a_case_note_keeps_its_author(app, family):
    app.add_case_note(
        {"household_id": family, "text": "Kunjungan rumah"},
        meta(occurred_at="2025-04-01T02:00:00Z"),
    )
    assert app.get_household(family).notes == [
        {"text": "Kunjungan rumah", "author": "system", "written_at": "2025-04-01T02:00:00Z"}
    ]
    refused(
        lambda: app.add_case_note({"household_id": family, "text": "  "}, meta()),
        "text",
        "value.required",
    )


def objection(app, hid, objector=SON["nik"], filed_on="2025-04-01", **changes):
    stored = app.file_objection(
        {
            "household_id": hid,
            "objector_nik": objector,
            "grounds": "Keluarga ini mampu",
            "filed_on": filed_on,
            "photo_reference": "photo://abc",
            "latitude": -1.6,
            "longitude": 103.6,
            **changes,
        },
        meta(),
    )
    return derived_id(stored.stream_id, "objection", stored.version)


def test_an_objection_is_resolved_within_14_days_or_lapses(app, family):
    first = objection(app, family)
    state = app.get_household(family).objections[first]
    assert (state["deadline"], state["status"]) == ("2025-04-15", "open")
    resolve = {
        "household_id": family,
        "objection_id": first,
        "resolution": "rejected",
        "resolved_on": "2025-04-16",
    }
    refused(
        lambda: app.resolve_objection(resolve, meta()), "resolved_on", "objection.past_deadline"
    )
    app.resolve_objection({**resolve, "resolved_on": "2025-04-10"}, meta())
    assert app.get_household(family).objections[first]["resolution"] == "rejected"
    refused(lambda: app.resolve_objection(resolve, meta()), "objection_id", "objection.not_open")

    second = objection(app, family)
    lapse = {"household_id": family, "objection_id": second}
    refused(
        lambda: app.lapse_objection(
            lapse, make_meta(SYSTEM, "policy", occurred_at="2025-04-15T10:00:00Z")
        ),
        "objection_id",
        "objection.not_due",
    )
    app.lapse_objection(lapse, make_meta(SYSTEM, "policy", occurred_at="2025-04-16T10:00:00Z"))
    assert app.get_household(family).objections[second]["status"] == "lapsed"
    refused(lambda: app.lapse_objection(lapse, meta()), "objection_id", "objection.not_open")
    refused(
        lambda: app.lapse_objection({**lapse, "objection_id": "x"}, meta()),
        "objection_id",
        "objection.not_found",
    )


def test_an_objection_needs_coordinates_a_photo_and_a_neighbour(app, family):
    refused(lambda: objection(app, family, latitude=91.0), "latitude", "coordinates.out_of_range")
    # a phone without a fix (0, 0) or a lost minus sign: not where a family of the city lives
    for latitude, longitude in ((0.0, 0.0), (1.6101, 103.6131), (-6.2, 106.8)):
        refused(
            lambda lat=latitude, lon=longitude: objection(app, family, latitude=lat, longitude=lon),
            "latitude",
            "coordinates.outside_city",
        )
    refused(lambda: objection(app, family, photo_reference=""), "photo_reference", "value.required")
    refused(lambda: objection(app, family, objector="123"), "objector_nik", "nik.format")
    far = person("Jauh", "1990-05-05", "M", 11)
    register(app, head=far, kk=KK2, kelurahan="Buluran Kenali")
    refused(
        lambda: objection(app, family, objector=far["nik"]),
        "objector_nik",
        "objection.other_kelurahan",
    )


def test_an_objector_not_in_the_register_names_their_kelurahan_the_households(app, family):
    """The walkthrough: an objector the register does not know was stored wherever they
    lived. Now the kelurahan they give is required, one of Kota Jambi's, and the
    household's; nothing is stored until it is."""
    stranger = person("Tetangga", "1975-08-09", "M", 21)["nik"]
    before = app.get_household(family).version
    refused(
        lambda: objection(app, family, objector=stranger),
        "objector_kelurahan",
        "objection.kelurahan_required",
    )
    refused(
        lambda: objection(app, family, objector=stranger, objector_kelurahan="Kemayoran"),
        "objector_kelurahan",
        "kelurahan.unknown",
    )
    refused(
        lambda: objection(app, family, objector=stranger, objector_kelurahan="Buluran Kenali"),
        "objector_kelurahan",
        "objection.other_kelurahan",
    )
    assert app.get_household(family).version == before
    filed = objection(app, family, objector=stranger, objector_kelurahan="kel. telanaipura")
    assert app.get_household(family).objections[filed]["objector_nik"] == stranger
    # a member of the household needs none, but what is given is checked
    objection(app, family)
    refused(
        lambda: objection(app, family, objector_kelurahan="Buluran Kenali"),
        "objector_kelurahan",
        "objection.other_kelurahan",
    )


# ---- reading and snapshots -------------------------------------------------------------


def test_the_state_is_served_as_plain_json(app, family):
    grant(app, family, WIFE["nik"])
    objection(app, family)
    state = app.get_household(family).as_dict()
    assert json.loads(json.dumps(state)) == state
    assert {"id", "kk_number", "kecamatan", "kelurahan", "version", "members"} <= set(state)
    assert [m["status"] for m in state["members"]] == ["active"] * 4


def test_a_long_history_loads_from_a_snapshot_identical_to_a_replay(app, family):
    for i in range(60):
        benefit_id = grant(app, family, WIFE["nik"], program=f"P{i}")
        change(app, family, "suspend", benefit_id)
    app.add_case_note({"household_id": family, "text": "akhir"}, meta())
    household_id = uuid.UUID(family)
    assert list(app.snapshots.get(household_id)), "a snapshot was taken"
    from_snapshot = app.repository.get(household_id)
    replayed = None
    for domain_event in app.repository.event_store.get(household_id):
        replayed = domain_event.mutate(replayed)
    assert from_snapshot.version == replayed.version == 4 + 121
    assert from_snapshot.as_dict() == replayed.as_dict()
    assert vars(from_snapshot) == vars(replayed)


def test_an_unknown_household_is_not_found_for_every_command(app):
    refused(
        lambda: app.add_case_note({"household_id": str(uuid.uuid4()), "text": "x"}, meta()),
        "household_id",
        "household.not_found",
        NotFound,
    )


# ---- plausible families and KTP facts ---------------------------------------------------


def ktp_for(app, hid, who, issued_on, arrival=None):
    app.issue_ktp(
        {
            "household_id": hid,
            "nik": who["nik"],
            "issued_on": issued_on,
            "arrival": arrival or {"type": "born_here"},
        },
        meta(),
    )


def test_a_child_older_than_a_parent_is_refused_and_nothing_is_stored(app, family):
    version = app.get_household(family).version
    older_than_wife = person("Dewi", "1984-05-05", "F", 7)  # the head is 1980, the wife 1985
    for child in (older_than_wife, person("Agus", "1979-12-31", "M", 8)):
        refused(
            lambda c=child: app.add_member(
                {"household_id": family, "person": c, "relationship": "anak"}, meta()
            ),
            "person.birth_date",
            "member.older_than_parent",
        )
    assert app.get_household(family).version == version
    assert app.household_id_for_nik(older_than_wife["nik"]) is None  # no claim kept
    # the same person as the head's sibling (famili_lain) is plausible
    app.add_member(
        {"household_id": family, "person": older_than_wife, "relationship": "famili_lain"}, meta()
    )


def test_a_head_under_17_or_a_birth_before_1900_is_refused(app):
    young = person("Rudi", (dt.date.today() - dt.timedelta(days=16 * 365)).isoformat(), "M", 5)
    refused(lambda: register(app, head=young), "head.birth_date", "head.not_adult")
    ancient = {**HEAD, "birth_date": "1899-12-31"}
    with pytest.raises(DomainError) as error:
        register(app, head=ancient)
    assert error.value.field in {"head.birth_date", "head.nik"}  # the NIK disagrees too
    assert app.household_id_for_nik(young["nik"]) is None


def test_a_ktp_needs_age_17_or_a_marriage_on_the_issue_date(app, family):
    # SON (born 2000-02-03) turned 17 on 2017-02-03
    refused(lambda: ktp_for(app, family, SON, "2017-02-02"), "issued_on", "ktp.too_young")
    ktp_for(app, family, SON, "2017-02-03")
    # a wife married young may hold a KTP before 17
    ktp_for(app, family, WIFE, "2001-06-01")
    assert app.get_household(family).members[WIFE["nik"]]["ktp_issued_on"] == "2001-06-01"


def test_born_here_needs_a_kota_jambi_nik(app, family):
    elsewhere = {**person("Tono", "1990-04-04", "M", 9)}
    elsewhere["nik"] = nik_for("150501", dt.date(1990, 4, 4), "M", 9)  # Batang Hari
    app.add_member(
        {"household_id": family, "person": elsewhere, "relationship": "famili_lain"}, meta()
    )
    refused(
        lambda: ktp_for(app, family, elsewhere, "2015-01-01"),
        "arrival.type",
        "arrival.born_elsewhere",
    )
    ktp_for(
        app,
        family,
        elsewhere,
        "2015-01-01",
        {"type": "pindah_datang", "arrived_on": "2014-11-01", "origin_region_code": "1505"},
    )


def moved_out(app, hid, who, day="2024-05-01"):
    app.remove_member(
        {"household_id": hid, "nik": who["nik"], "kind": "moved_out", "effective_date": day},
        meta(),
    )


def test_a_ktp_and_its_arrival_follow_the_person_into_a_new_kk(app, family):
    """A newcomer's arrival date keeps counting when they found or join another family: the
    residence rule must not restart (or become unknown) because the KK changed."""
    arrival = {"type": "pindah_datang", "arrived_on": "2019-03-01", "origin_region_code": "1505"}
    ktp_for(app, family, SON, "2019-04-01", arrival)
    ktp_for(app, family, WIFE, "2003-04-01")
    moved_out(app, family, SON)
    new_family = register(app, head=SON, kk=KK2)  # the son founds his own family
    son = app.get_household(new_family).members[SON["nik"]]
    assert (son["ktp_issued_on"], son["arrival"], son["residence_since"]) == (
        "2019-04-01",
        arrival,
        "2019-03-01",
    )
    moved_out(app, family, WIFE)  # the mother moves in with him
    app.add_member(
        {"household_id": new_family, "person": WIFE, "relationship": "orang_tua"}, meta()
    )
    mother = app.get_household(new_family).members[WIFE["nik"]]
    assert mother["ktp_issued_on"] == "2003-04-01"
    assert mother["arrival"]["type"] == "born_here"
    assert mother["residence_since"] == WIFE["birth_date"]
    # and the facts come back with the events (a replay from the store)
    replayed = app.repository.get(uuid.UUID(new_family))
    assert replayed.members[WIFE["nik"]]["ktp_issued_on"] == "2003-04-01"
