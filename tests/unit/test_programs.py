"""Programs, their versioned rules, the seed catalog and the rules evaluator (no I/O)."""

import pytest

from domain.application import SYSTEM, make_meta
from domain.catalog import SEED_PROGRAMS, seed_catalog
from domain.errors import Conflict, DomainError, NotFound
from domain.program import evaluate, verdict
from tests.support.apps import memory_casework


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


def meta():
    return make_meta(SYSTEM, "api")


def definition(**changes):
    cmd = {
        "code": "KJB",
        "name": "Kartu Jambi Bahagia",
        "opd": "DINSOS",
        "funding": "APBD",
        "kind": "bansos",
        "rules": {"max_desil": 5, "min_residence_months": 12, "once_per_kk": True},
        "effective_from": "2025-01-01",
    }
    return {**cmd, **changes}


def test_a_defined_program_has_its_owner_and_first_rules(app):
    stored = app.define_program(definition(), meta())
    program = app.get_program("KJB")
    assert str(program.id) == stored.stream_id and stored.version == 1
    assert (program.name, program.opd, program.funding, program.kind) == (
        "Kartu Jambi Bahagia",
        "DINSOS",
        "APBD",
        "bansos",
    )
    assert program.rules == {
        "version": 1,
        "effective_from": "2025-01-01",
        "max_desil": 5,
        "min_residence_months": 12,
        "excludes_nib_holders": False,
        "once_per_kk": True,
        "combinable_with": [],
        "recipient": "any_member",
        "serves_without_nik": False,
        # left out: DTSEN decides, else the latest other source; not compared
        "desil_source": {
            "order": ["DTSEN", "VERVAL", "DTKS", "P3KE"],
            "verification_overrides": False,
            "tolerance": None,
        },
    }
    assert [p.code for p in app.list_programs()] == ["KJB"]


def test_a_program_code_is_defined_once(app):
    app.define_program(definition(), meta())
    with pytest.raises(Conflict) as taken:
        app.define_program(definition(name="Another"), meta())
    assert (taken.value.field, taken.value.code) == ("code", "program.exists")
    assert len(app.list_programs()) == 1


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"funding": "PRIVATE"}, "funding", "program.funding_unknown"),
        ({"kind": "loan"}, "kind", "program.kind_unknown"),
        ({"rules": {"max_desil": 11}}, "rules.max_desil", "rules.max_desil_invalid"),
        ({"rules": {"recipient": "child"}}, "rules.recipient", "rules.recipient_unknown"),
        (
            {"rules": {"min_residence_months": -1}},
            "rules.min_residence_months",
            "rules.min_residence_months_invalid",
        ),
    ],
)
def test_an_invalid_definition_is_refused_and_stores_nothing(app, changes, field, code):
    with pytest.raises(DomainError) as invalid:
        app.define_program(definition(**changes), meta())
    assert (invalid.value.field, invalid.value.code) == (field, code)
    assert app.list_programs() == []


def test_rules_are_versioned_and_the_version_in_force_is_found_by_date(app):
    app.define_program(definition(), meta())
    stored = app.change_program_rules(
        {"code": "KJB", "rules": {"max_desil": 4}, "effective_from": "2025-07-01"}, meta()
    )
    assert stored.version == 2
    program = app.get_program("KJB")
    assert program.rules_at("2024-12-31") is None
    assert program.rules_at("2025-06-30")["max_desil"] == 5
    july = program.rules_at("2025-07-01")
    assert (july["version"], july["max_desil"], july["min_residence_months"]) == (2, 4, 12)


def test_new_rules_cannot_take_effect_before_the_previous_version(app):
    app.define_program(definition(), meta())
    with pytest.raises(DomainError) as invalid:
        app.change_program_rules(
            {"code": "KJB", "rules": {"max_desil": 4}, "effective_from": "2024-12-01"}, meta()
        )
    assert invalid.value.code == "rules.effective_from_before_previous"
    assert app.get_program("KJB").version == 1


def test_changing_rules_with_a_stale_version_is_a_conflict(app):
    app.define_program(definition(), meta())
    with pytest.raises(Conflict) as stale:
        app.change_program_rules(
            {"code": "KJB", "rules": {}, "effective_from": "2025-02-01", "expected_version": 3},
            meta(),
        )
    assert stale.value.code == "version.stale"


def test_an_unknown_program_is_not_found(app):
    with pytest.raises(NotFound) as missing:
        app.get_program("NOPE")
    assert missing.value.code == "program.not_found"


def test_the_seed_catalog_is_defined_once(app):
    assert seed_catalog(app, meta()) == [p["code"] for p in SEED_PROGRAMS]
    assert seed_catalog(app, meta()) == []
    programs = {p.code: p for p in app.list_programs()}
    assert len(programs) == len(SEED_PROGRAMS) >= 6
    assert programs["PKH"].rules["recipient"] == "adult_woman"
    assert "BPNT" in programs["PKH"].rules["combinable_with"]
    assert programs["PBI-JK"].rules["max_desil"] == 5
    kjb = programs["KJB"].rules
    assert (programs["KJB"].funding, kjb["min_residence_months"], kjb["excludes_nib_holders"]) == (
        "APBD",
        12,
        True,
    )
    assert {p.funding for p in programs.values()} >= {"APBN", "APBD", "BAZNAS"}
    assert "empowerment" in {p.kind for p in programs.values()}


KJB_RULES = {
    "max_desil": 5,
    "min_residence_months": 12,
    "excludes_nib_holders": True,
    "once_per_kk": True,
    "combinable_with": ["PBI-JK"],
    "recipient": "head",
}
FITTING = {
    "desil": 3,
    "residence_months": 30,
    "holds_nib": False,
    "kk_already_received": False,
    "other_active_programs": ["PBI-JK"],
    "recipient_fits": True,
}


def test_a_household_that_fits_every_rule_is_eligible():
    results = evaluate(KJB_RULES, FITTING)
    assert [rule for rule, _, _ in results] == [
        "max_desil",
        "min_residence_months",
        "excludes_nib_holders",
        "once_per_kk",
        "combinable_with",
        "recipient",
    ]
    assert all(passed is True for _, passed, _ in results)
    assert verdict(results) == "eligible"


@pytest.mark.parametrize(
    ("fact", "value", "rule"),
    [
        ("desil", 6, "max_desil"),
        ("residence_months", 11, "min_residence_months"),
        ("holds_nib", True, "excludes_nib_holders"),
        ("kk_already_received", True, "once_per_kk"),
        ("other_active_programs", ["PKH", "PBI-JK"], "combinable_with"),
        ("recipient_fits", False, "recipient"),
    ],
)
def test_each_rule_failing_makes_the_household_ineligible(fact, value, rule):
    results = evaluate(KJB_RULES, {**FITTING, fact: value})
    failed = [(name, detail) for name, passed, detail in results if passed is False]
    assert [name for name, _ in failed] == [rule]
    assert verdict(results) == "ineligible"


def test_an_unknown_fact_asks_for_review():
    results = evaluate(KJB_RULES, {**FITTING, "desil": None})
    assert ("max_desil", None) in [(name, passed) for name, passed, _ in results]
    assert verdict(results) == "review"


def test_a_rule_a_program_does_not_set_is_not_checked():
    results = evaluate({"max_desil": None, "combinable_with": []}, {"other_active_programs": []})
    assert results == [("combinable_with", True, "the recipient receives no conflicting program")]
    assert verdict(results) == "eligible"
