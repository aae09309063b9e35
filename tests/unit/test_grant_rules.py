"""Program rules at grant: the facts of a person on a day, and the grants they refuse (no I/O)."""

import datetime as dt

import pytest

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, Casework, make_meta
from domain.catalog import seed_catalog
from domain.city import today as city_today
from domain.eligibility_rules import ERROR_CODES, facts_for, months_between
from domain.errors import DomainError
from domain.household import scheduled_changes, status_on
from domain.program import evaluate

REGION = "157101"
START = "2026-01-01"


def person(name, birth, sex, serial):
    return {
        "nik": nik_for(REGION, dt.date.fromisoformat(birth), sex, serial),
        "name": name,
        "birth_date": birth,
        "sex": sex,
    }


HEAD = person("Budi Santoso", "1980-01-01", "M", 1)
WIFE = person("Siti Aminah", "1985-03-02", "F", 2)
DAUGHTER = person("Rina", "2012-06-07", "F", 3)
SON = person("Andi", "2000-02-03", "M", 4)
KK = kk_for(REGION, dt.date(2020, 1, 1), 1)


def meta(**kwargs):
    return make_meta(SYSTEM, "seed", **kwargs)


@pytest.fixture
def app():
    application = Casework(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    seed_catalog(application, meta())
    yield application
    application.close()


@pytest.fixture
def family(app):
    stored = app.register_household(
        {
            "kk_number": KK,
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Sultan Agung No. 12",
            "rt": "001",
            "rw": "002",
            "head": HEAD,
        },
        meta(),
    )
    hid = stored.stream_id
    for member, relationship in ((WIFE, "istri"), (DAUGHTER, "anak"), (SON, "anak")):
        app.add_member(
            {"household_id": hid, "person": member, "relationship": relationship}, meta()
        )
    return hid


def do(app, command, hid, **cmd):
    return app.execute(command, {"household_id": hid, **cmd}, meta())


def ktp(app, hid, who, arrived_on=None, issued_on="2025-10-01"):
    arrival = (
        {"type": "pindah_datang", "arrived_on": arrived_on, "origin_region_code": "167101"}
        if arrived_on
        else {"type": "born_here"}
    )
    do(app, "IssueKtp", hid, nik=who["nik"], issued_on=issued_on, arrival=arrival)


def assess(app, hid, source, desil, period):
    do(
        app,
        "RecordWelfareAssessment",
        hid,
        source=source,
        desil=desil,
        period=period,
        reference="x",
    )


def grant(app, hid, who, program, start=START, end="2026-12-31"):
    return do(
        app,
        "GrantBenefit",
        hid,
        nik=who["nik"],
        program=program,
        period_start=start,
        period_end=end,
        amount=100_000,
    )


def facts(app, hid, who, program, on=START):
    return facts_for(app.get_household(hid), who["nik"], program, on, app)


def refused_with(app, hid, who, program, code):
    with pytest.raises(DomainError) as error:
        grant(app, hid, who, program)
    assert (error.value.field, error.value.code) == ("program", code)
    assert code in ERROR_CODES


# --- facts -------------------------------------------------------------------------------


def test_desil_is_the_latest_dtsen_known_on_the_day(app, family):
    assess(app, family, "DTKS", 2, "2024-Q2")
    assess(app, family, "DTSEN", 4, "2025-Q1")
    assess(app, family, "DTSEN", 5, "2025-Q3")
    assess(app, family, "DTSEN", 9, "2026-Q2")  # not known yet on 1 January 2026

    found = facts(app, family, HEAD, "PKH")

    assert (found["desil"], found["desil_source"]) == (5, "DTSEN")


def test_without_dtsen_the_latest_other_source_counts(app, family):
    assess(app, family, "P3KE", 1, "2024-Q1")
    assess(app, family, "DTKS", 3, "2024-Q2")

    assert facts(app, family, HEAD, "PKH")["desil"] == 3
    assert facts(app, family, HEAD, "PKH", on="2024-03-01")["desil"] == 1


def test_no_assessment_leaves_desil_unknown(app, family):
    assert facts(app, family, HEAD, "PKH")["desil"] is None


def test_residence_runs_from_birth_or_arrival_and_is_unknown_without_a_ktp(app, family):
    ktp(app, family, HEAD)
    ktp(app, family, WIFE, arrived_on="2025-09-15")

    assert facts(app, family, HEAD, "KJB")["residence_months"] == months_between(
        dt.date(1980, 1, 1), dt.date(2026, 1, 1)
    )
    assert facts(app, family, WIFE, "KJB")["residence_months"] == 3
    assert facts(app, family, SON, "KJB")["residence_months"] == "unknown"


def test_months_count_whole_months_only():
    assert months_between(dt.date(2025, 1, 31), dt.date(2026, 1, 30)) == 11
    assert months_between(dt.date(2025, 1, 31), dt.date(2026, 1, 31)) == 12
    assert months_between(dt.date(2026, 2, 1), dt.date(2026, 1, 1)) == 0


def test_an_nib_counts_from_registration_until_revoked(app, family):
    nib = "1234567890123"
    do(
        app,
        "RegisterNib",
        family,
        nik=HEAD["nik"],
        nib=nib,
        business_name="Warung",
        registered_on="2025-06-01",
    )

    assert facts(app, family, HEAD, "KJB")["holds_nib"] is True
    assert facts(app, family, HEAD, "KJB", on="2025-05-31")["holds_nib"] is False
    assert facts(app, family, WIFE, "KJB")["holds_nib"] is False
    do(app, "RevokeNib", family, nik=HEAD["nik"], nib=nib, revoked_on="2025-12-01")
    assert facts(app, family, HEAD, "KJB")["holds_nib"] is False


def test_other_programs_are_the_persons_benefits_still_running(app, family):
    assess(app, family, "DTSEN", 2, "2025-Q1")
    grant(app, family, HEAD, "BPNT")
    grant(app, family, HEAD, "PBI-JK", end="2025-12-31", start="2025-01-01")  # ended
    grant(app, family, WIFE, "PKH")

    assert facts(app, family, HEAD, "KJB")["other_active_programs"] == ["BPNT"]
    assert facts(app, family, WIFE, "KJB")["other_active_programs"] == ["PKH"]


def test_once_per_kk_looks_at_the_other_members(app, family):
    ktp(app, family, HEAD)
    assess(app, family, "DTSEN", 3, "2025-Q1")
    grant(app, family, HEAD, "ZAKAT-BAZNAS")
    household = app.get_household(family)
    benefit_id = next(iter(household.benefits))
    do(
        app,
        "TerminateBenefit",
        family,
        benefit_id=benefit_id,
        effective_date="2026-02-01",
        reason_code="graduated",
    )

    assert facts(app, family, WIFE, "ZAKAT-BAZNAS")["kk_already_received"] is True  # had it
    assert facts(app, family, HEAD, "ZAKAT-BAZNAS")["kk_already_received"] is False
    assert facts(app, family, WIFE, "PKH")["kk_already_received"] is None  # not once per KK


def test_the_recipient_fits_the_program(app, family):
    assert facts(app, family, HEAD, "BPNT")["recipient_fits"] is True
    assert facts(app, family, WIFE, "BPNT")["recipient_fits"] is False
    assert facts(app, family, WIFE, "PKH")["recipient_fits"] is True
    assert facts(app, family, DAUGHTER, "PKH")["recipient_fits"] is False  # 13 years old
    assert facts(app, family, HEAD, "PKH")["recipient_fits"] is False
    assert facts(app, family, SON, "PBI-JK")["recipient_fits"] is True


# --- grants --------------------------------------------------------------------------------


def eligible_for_kjb(app, family):
    ktp(app, family, HEAD)
    assess(app, family, "DTSEN", 5, "2025-Q1")


def test_a_grant_that_fits_every_rule_is_stored(app, family):
    eligible_for_kjb(app, family)
    grant(app, family, HEAD, "KJB")
    grant(app, family, HEAD, "PBI-JK")

    programs = sorted(b["program"] for b in app.get_household(family).benefits.values())
    assert programs == ["KJB", "PBI-JK"]


def test_a_desil_too_high_refuses(app, family):
    assess(app, family, "DTSEN", 5, "2025-Q1")
    refused_with(app, family, WIFE, "PKH", "rules.desil_too_high")


def test_a_newcomer_of_under_twelve_months_is_refused_the_city_program(app, family):
    ktp(app, family, HEAD, arrived_on="2025-03-01")
    assess(app, family, "DTSEN", 5, "2025-Q1")
    refused_with(app, family, HEAD, "KJB", "rules.residence_too_short")


def test_an_nib_holder_is_refused_a_program_that_excludes_them(app, family):
    eligible_for_kjb(app, family)
    do(
        app,
        "RegisterNib",
        family,
        nik=HEAD["nik"],
        nib="1234567890123",
        business_name="Warung",
        registered_on="2025-06-01",
    )
    refused_with(app, family, HEAD, "KJB", "rules.nib_holder")


def test_a_second_member_of_the_kk_is_refused_once_per_kk_aid(app, family):
    assess(app, family, "DTSEN", 3, "2025-Q1")
    grant(app, family, HEAD, "ZAKAT-BAZNAS")
    # the wife is not the head either, but once per KK is checked first
    refused_with(app, family, WIFE, "ZAKAT-BAZNAS", "rules.once_per_kk")


def test_programs_that_do_not_combine_are_refused(app, family):
    eligible_for_kjb(app, family)
    assess(app, family, "DTSEN", 3, "2025-Q3")
    grant(app, family, HEAD, "BPNT")
    refused_with(app, family, HEAD, "KJB", "rules.not_combinable")


def test_the_wrong_recipient_is_refused(app, family):
    assess(app, family, "DTSEN", 2, "2025-Q1")
    refused_with(app, family, WIFE, "BPNT", "rules.recipient")


def test_an_unknown_desil_leaves_the_decision_to_the_approver(app, family):
    # no assessment (desil unknown): not refused, the approver decides
    grant(app, family, HEAD, "BPNT")
    assert len(app.get_household(family).benefits) == 1


def test_an_unknown_arrival_never_passes_a_minimum_residence(app, family):
    # no KTP record: the city program that needs 12 months is refused, saying why
    assess(app, family, "DTSEN", 3, "2025-Q1")
    refused_with(app, family, HEAD, "KJB", "rules.residence_unknown")
    assert app.get_household(family).benefits == {}
    results = {
        r: p for r, p, _ in evaluate(app.get_program("KJB").rules, facts(app, family, HEAD, "KJB"))
    }
    assert results["min_residence_months"] is None  # review, not a pass


def test_an_undefined_program_or_one_not_yet_in_force_is_refused(app, family):
    refused_with(app, family, HEAD, "NOPE", "program.not_found")
    with pytest.raises(DomainError) as error:
        grant(app, family, HEAD, "PBI-JK", start="2024-06-01", end="2024-12-31")
    assert error.value.code == "program.not_in_force"


def test_the_household_still_answers_for_its_members(app, family):
    with pytest.raises(DomainError) as error:
        do(
            app,
            "GrantBenefit",
            family,
            nik=nik_for(REGION, dt.date(1990, 1, 1), "M", 99),
            program="PKH",
            period_start=START,
            period_end="2026-12-31",
            amount=1,
        )
    assert (error.value.field, error.value.code) == ("nik", "member.not_found")


# --- changes recorded ahead ------------------------------------------------------------------


def test_a_benefit_terminated_from_next_week_blocks_a_double_receipt_until_then(app, family):
    """Recorded today, a termination from next week leaves the benefit received until the day
    before: the same program to the same person is refused from any earlier day and allowed
    from next week; a suspension from tomorrow stops nothing of it (a suspended benefit is
    still received)."""
    eligible_for_kjb(app, family)
    today = city_today()
    tomorrow, next_week = today + dt.timedelta(days=1), today + dt.timedelta(days=7)
    grant(app, family, HEAD, "PBI-JK", f"{today.year}-01-01", f"{today.year + 1}-12-31")
    (benefit_id,) = app.get_household(family).benefits
    change = {"benefit_id": benefit_id, "reason_code": "other"}
    app.execute(
        "SuspendBenefit",
        {"household_id": family, **change, "effective_date": tomorrow.isoformat()},
        meta(reason="menunggu verifikasi"),
    )
    app.execute(
        "TerminateBenefit",
        {"household_id": family, **change, "effective_date": next_week.isoformat()},
        meta(reason="pindah program"),
    )
    benefit = app.get_household(family).benefits[benefit_id]
    assert status_on(benefit, today) == "active"
    assert status_on(benefit, tomorrow) == "suspended"
    assert status_on(benefit, next_week) == "terminated"
    assert [s["status"] for s in scheduled_changes(benefit, today)] == ["suspended", "terminated"]
    assert scheduled_changes(benefit, next_week) == []
    for start in (today, tomorrow, next_week - dt.timedelta(days=1)):
        with pytest.raises(DomainError) as error:
            grant(app, family, HEAD, "PBI-JK", start.isoformat(), f"{today.year + 1}-12-31")
        assert error.value.code == "rules.double_receipt", start
    grant(app, family, HEAD, "PBI-JK", next_week.isoformat(), f"{today.year + 1}-12-31")
    assert len(app.get_household(family).benefits) == 2
