"""Which source decides the decile (the program's `desil_source` rule), and the eligibility
view judging the pair rules (double receipt, once per KK, combinability) as a grant does."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.schemas import Invalid, load
from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from domain.catalog import SEED_PROGRAMS
from domain.eligibility_rules import facts_for
from domain.errors import DomainError, RulesFailed
from domain.program import evaluate, verdict
from projections import eligibility
from projections.base import live_tables
from tests.support.apps import memory_casework
from tests.unit.test_eligibility_projection import View

META = make_meta(SYSTEM, "api")
TODAY = dt.date(2026, 11, 1)


def person(serial: int, born: str, sex: str, name: str) -> dict:
    return {
        "nik": nik_for("157101", dt.date.fromisoformat(born), sex, serial),
        "name": name,
        "birth_date": born,
        "sex": sex,
    }


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(eligibility, "CLOCK", lambda: TODAY)


def define(app, code: str, **rules) -> None:
    app.define_program(
        {
            "code": code,
            "name": f"Program {code}",
            "opd": "DINSOS",
            "funding": "APBD",
            "kind": "bansos",
            "rules": rules,
            "effective_from": "2025-01-01",
        },
        META,
        alongside=rules.get("combinable_with", ()),  # the test's programs, defined together
    )


def family(app, serial: int, wife: bool = False) -> tuple[str, dict, dict | None]:
    head = person(serial * 10 + 1, "1980-01-01", "M", "Budi")
    hid = app.register_household(
        {
            "kk_number": kk_for("157101", dt.date(2010, 1, 1), serial),
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Sultan Agung No. 1",
            "rt": "001",
            "rw": "002",
            "head": head,
        },
        META,
    ).stream_id
    spouse = None
    if wife:
        spouse = person(serial * 10 + 2, "1984-03-02", "F", "Siti")
        app.add_member({"household_id": hid, "person": spouse, "relationship": "istri"}, META)
    return hid, head, spouse


def assess(app, hid: str, source: str, desil: int, period: str) -> None:
    app.execute(
        "RecordWelfareAssessment",
        {"household_id": hid, "source": source, "desil": desil, "period": period},
        META,
    )


def decile_rule(app, hid: str, head: dict, code: str, on: str = "2026-07-01"):
    """(passed, detail) of max_desil, and the facts, for the head on that day."""
    found = facts_for(app.get_household(hid), head["nik"], code, on, app)
    rules = app.get_program(code).rules_at(on)
    results = {rule: (passed, detail) for rule, passed, detail in evaluate(rules, found)}
    return results["max_desil"], found


# --- which source decides, and when they disagree ---------------------------------------------


def test_sources_that_agree_decide_without_review(app):
    define(app, "P", max_desil=4, desil_source={"tolerance": 0})
    hid, head, _ = family(app, 1)
    assess(app, hid, "DTSEN", 3, "2026-Q1")
    assess(app, hid, "DTKS", 3, "2026-Q2")

    (passed, detail), found = decile_rule(app, hid, head, "P")

    assert passed is True and (found["desil"], found["desil_source"]) == (3, "DTSEN")
    assert detail == "the family's desil 3, needs <= 4"


def test_sources_differing_exactly_by_the_tolerance_are_no_question(app):
    define(app, "P", max_desil=4, desil_source={"tolerance": 1})
    hid, head, _ = family(app, 1)
    assess(app, hid, "DTSEN", 3, "2026-Q1")
    assess(app, hid, "VERVAL", 4, "2026-Q2")

    (passed, _detail), found = decile_rule(app, hid, head, "P")

    assert passed is True and found["desil_conflict"] is None


def test_sources_differing_beyond_the_tolerance_leave_the_decile_to_a_person(app):
    define(app, "P", max_desil=4, desil_source={"tolerance": 1})
    hid, head, _ = family(app, 1)
    assess(app, hid, "DTSEN", 3, "2026-Q1")
    assess(app, hid, "VERVAL", 6, "2026-Q2")

    (passed, detail), _found = decile_rule(app, hid, head, "P")

    assert passed is None
    assert detail == (
        "DTSEN 3 (2026-Q1), VERVAL 6 (2026-Q2): differ by 3, tolerance 1; needs desil <= 4"
    )
    # before the verification's quarter began only DTSEN was known: no question then
    assert decile_rule(app, hid, head, "P", on="2026-03-31")[0][0] is True


def test_a_program_without_the_rule_keeps_dtsen_first_and_never_compares(app):
    define(app, "P", max_desil=4)
    hid, head, _ = family(app, 1)
    assess(app, hid, "DTSEN", 3, "2026-Q1")
    assess(app, hid, "VERVAL", 10, "2026-Q2")
    assess(app, hid, "DTKS", 9, "2026-Q2")

    (passed, _detail), found = decile_rule(app, hid, head, "P")

    assert passed is True and (found["desil"], found["desil_source"]) == (3, "DTSEN")


def test_a_later_field_verification_overrides_dtsen_only_when_the_program_says_so(app):
    define(app, "FOLLOWS", max_desil=4, desil_source={"verification_overrides": True})
    define(app, "KEEPS", max_desil=4, desil_source={"verification_overrides": False})
    hid, head, _ = family(app, 1)
    assess(app, hid, "DTSEN", 3, "2026-Q1")
    assess(app, hid, "VERVAL", 6, "2026-Q2")

    (follows, detail), found = decile_rule(app, hid, head, "FOLLOWS")
    assert follows is False and detail == "the family's desil 6, needs <= 4"
    assert (found["desil_source"], found["desil_period"]) == ("VERVAL", "2026-Q2")

    (keeps, _detail), found = decile_rule(app, hid, head, "KEEPS")
    assert keeps is True and found["desil_source"] == "DTSEN"


def test_an_earlier_field_verification_does_not_override_a_newer_dtsen(app):
    define(app, "P", max_desil=4, desil_source={"verification_overrides": True})
    hid, head, _ = family(app, 1)
    assess(app, hid, "VERVAL", 6, "2025-Q4")
    assess(app, hid, "DTSEN", 3, "2026-Q1")

    (passed, _detail), found = decile_rule(app, hid, head, "P")

    assert passed is True and found["desil_source"] == "DTSEN"


def test_the_first_listed_source_decides_and_one_left_out_is_not_read(app):
    define(app, "P", max_desil=4, desil_source={"order": ["DTKS", "P3KE"]})
    hid, head, _ = family(app, 1)
    assess(app, hid, "DTSEN", 2, "2026-Q2")
    assess(app, hid, "P3KE", 3, "2026-Q1")
    assert decile_rule(app, hid, head, "P")[1]["desil_source"] == "P3KE"

    assess(app, hid, "DTKS", 7, "2025-Q1")
    (passed, detail), found = decile_rule(app, hid, head, "P")
    assert passed is False and (found["desil"], found["desil_source"]) == (7, "DTKS")


@pytest.mark.parametrize(("desil", "passes"), [(4, True), (5, False)])
def test_a_decile_exactly_at_the_limit_passes(app, desil, passes):
    define(app, "P", max_desil=4, desil_source={"tolerance": 1})
    hid, head, _ = family(app, 1)
    assess(app, hid, "DTSEN", desil, "2026-Q1")

    assert decile_rule(app, hid, head, "P")[0][0] is passes


def test_a_grant_is_not_refused_for_disagreeing_sources_but_is_for_a_known_high_decile(app):
    define(app, "ASKS", max_desil=4, desil_source={"tolerance": 1}, combinable_with=["FOLLOWS"])
    define(
        app,
        "FOLLOWS",
        max_desil=4,
        desil_source={"verification_overrides": True},
        combinable_with=["ASKS"],
    )
    hid, head, _ = family(app, 1)
    assess(app, hid, "DTSEN", 3, "2026-Q1")
    assess(app, hid, "VERVAL", 6, "2026-Q2")
    grant = {
        "household_id": hid,
        "nik": head["nik"],
        "period_start": "2026-07-01",
        "period_end": "2026-12-31",
        "amount": 100_000,
    }

    app.execute("GrantBenefit", {**grant, "program": "ASKS"}, META)  # the approver decides
    with pytest.raises(RulesFailed) as refused:
        app.execute("GrantBenefit", {**grant, "program": "FOLLOWS"}, META)

    assert [b["program"] for b in app.get_household(hid).benefits.values()] == ["ASKS"]
    assert [r["rule"] for r in refused.value.reasons] == ["max_desil"]
    assert refused.value.reasons[0]["detail"] == {
        "desil": 6,
        "source": "VERVAL",
        "period": "2026-Q2",
        "max_desil": 4,
    }


# --- the rule is checked where it is written ---------------------------------------------------


@pytest.mark.parametrize(
    ("desil_source", "field", "code"),
    [
        ({"order": ["DTSEN", "BPS"]}, "order", "rules.desil_source_unknown"),
        ({"order": ["DTSEN", "DTSEN"]}, "order", "rules.desil_source_unknown"),
        ({"order": []}, "order", "rules.desil_source_unknown"),
        ({"order": 5}, "order", "rules.desil_source_unknown"),
        ({"order": "DTSEN"}, "order", "rules.desil_source_unknown"),
        ({"tolerance": -1}, "tolerance", "rules.desil_tolerance_invalid"),
        ({"tolerance": 10}, "tolerance", "rules.desil_tolerance_invalid"),
        ({"verification_overrides": "maybe"}, "verification_overrides", "rules.flag_invalid"),
        (
            {"order": ["DTSEN"], "verification_overrides": True},
            "verification_overrides",
            "rules.desil_source_verval_missing",
        ),
        ({"primary": "DTSEN"}, "primary", "field.unknown"),
    ],
)
def test_a_bad_source_rule_is_refused_naming_its_field(app, desil_source, field, code):
    for command, payload in (
        ("DefineProgram", {"name": "P", "opd": "DINSOS", "funding": "APBD", "kind": "bansos"}),
        ("ChangeProgramRules", {}),
    ):
        with pytest.raises(Invalid) as invalid:
            load(command, {**payload, "code": "P", "rules": {"desil_source": desil_source}})
        assert code in invalid.value.codes[f"rules.desil_source.{field}"]
    # the domain checks it as well (a program defined without the API)
    domain_code = "rules.field_unknown" if code == "field.unknown" else code
    with pytest.raises(DomainError) as refused:
        define(app, "P", desil_source=desil_source)
    assert (refused.value.field, refused.value.code) == (
        f"rules.desil_source.{field}",
        domain_code,
    )
    assert app.list_programs() == []


def test_a_change_keeps_what_it_leaves_out_of_the_source_rule(app):
    define(app, "P", max_desil=4, desil_source={"verification_overrides": True, "tolerance": 2})
    app.change_program_rules({"code": "P", "rules": {"max_desil": 5}}, META)
    assert app.get_program("P").rules["desil_source"] == {
        "order": ["DTSEN", "VERVAL", "DTKS", "P3KE"],
        "verification_overrides": True,
        "tolerance": 2,
    }
    # a form leaves every blank field out: an empty source rule changes nothing
    app.change_program_rules({"code": "P", "rules": {"desil_source": {}}}, META)
    assert app.get_program("P").rules["desil_source"]["tolerance"] == 2
    change = {"order": ["DTSEN"], "verification_overrides": False}
    app.change_program_rules({"code": "P", "rules": {"desil_source": change}}, META)
    assert app.get_program("P").rules["desil_source"] == {
        "order": ["DTSEN"],
        "verification_overrides": False,
        "tolerance": 2,
    }


def test_every_seed_program_states_its_source_rule():
    for program in SEED_PROGRAMS:
        rule = program["rules"]["desil_source"]
        assert rule["order"][0] == "DTSEN", program["code"]
        load("DefineProgram", {**program, "rules": program["rules"]})
    city = {
        p["code"] for p in SEED_PROGRAMS if p["rules"]["desil_source"]["verification_overrides"]
    }
    assert city == {"KJB", "UMKM-NAIK-KELAS"}


# --- the view answers as the grant check does ---------------------------------------------------


def test_the_view_shows_each_disagreeing_source_and_the_events_behind_them(app, tmp_path):
    define(app, "P", max_desil=4, desil_source={"tolerance": 1})
    hid, _head, _ = family(app, 1)
    assess(app, hid, "DTSEN", 3, "2026-Q1")
    assess(app, hid, "DTKS", 3, "2025-Q4")
    view = View(app, tmp_path).catch_up()
    answer = view.answer(hid)["P"]
    assert answer["status"] == "eligible"
    only_dtsen = next(r for r in answer["reasons"] if r["rule"] == "max_desil")["positions"]

    assess(app, hid, "VERVAL", 6, "2026-Q2")
    answer = view.catch_up().answer(hid)["P"]

    assert answer["status"] == "review"
    reason = next(r for r in answer["reasons"] if r["rule"] == "max_desil")
    assert reason["detail"] == (
        "DTSEN 3 (2026-Q1), VERVAL 6 (2026-Q2), DTKS 3 (2025-Q4): differ by 3, tolerance 1;"
        " needs desil <= 4"
    )
    # the rules, and the three assessments shown (the DTSEN one among them)
    assert len(reason["positions"]) == 4 and set(only_dtsen) < set(reason["positions"])


def _grant(app, hid, who, code, start, end):
    app.execute(
        "GrantBenefit",
        {
            "household_id": hid,
            "nik": who["nik"],
            "program": code,
            "period_start": start,
            "period_end": end,
            "amount": 100_000,
        },
        META,
    )
    household = app.get_household(hid)
    return next(
        b["benefit_id"]
        for b in household.benefits.values()
        if (b["nik"], b["program"], b["period_start"]) == (who["nik"], code, start)
    )


# (story, recipient, program) of the benefits running today
OWN_RECEIPTS = {
    ("receives A", "Budi", "A"),
    ("KK receives D", "Siti", "D"),
    ("receives C", "Budi", "C"),
}


def test_the_view_and_the_grant_check_agree_on_the_pair_rules(app, tmp_path):
    # A and B list each other; C lists A but A does not list C (not combinable: symmetric);
    # D is once per KK and combines with all. No other rule restricts them: only the pair
    # rules decide.
    define(app, "A", combinable_with=["B", "D"])
    define(app, "B", combinable_with=["A", "D"])
    define(app, "C", combinable_with=["A", "D"])
    define(app, "D", once_per_kk=True, combinable_with=["A", "B", "C"])
    current, past, future = (
        ("2026-01-01", "2026-12-31"),
        ("2025-01-01", "2025-12-31"),
        (
            "2027-01-01",
            "2027-12-31",
        ),
    )
    households = {}
    hid, head, _ = family(app, 1)  # receives A now
    _grant(app, hid, head, "A", *current)
    households["receives A"] = (hid, head, None)
    hid, head, _ = family(app, 2)  # received A last year
    _grant(app, hid, head, "A", *past)
    households["received A"] = (hid, head, None)
    hid, head, wife = family(app, 3, wife=True)  # the wife receives D now
    _grant(app, hid, wife, "D", *current)
    households["KK receives D"] = (hid, head, wife)
    hid, head, wife = family(app, 4, wife=True)  # the wife received D last year
    _grant(app, hid, wife, "D", *past)
    households["KK received D"] = (hid, head, wife)
    hid, head, _ = family(app, 5)  # B from next year only
    _grant(app, hid, head, "B", *future)
    households["B next year"] = (hid, head, None)
    hid, head, _ = family(app, 6)  # A, terminated before today
    benefit = _grant(app, hid, head, "A", *current)
    app.execute(
        "TerminateBenefit",
        {
            "household_id": hid,
            "benefit_id": benefit,
            "effective_date": "2026-10-01",
            "reason_code": "moved_away",
        },
        META,
    )
    households["A terminated"] = (hid, head, None)
    hid, head, _ = family(app, 7)  # C now
    _grant(app, hid, head, "C", *current)
    households["receives C"] = (hid, head, None)

    view = View(app, tmp_path).catch_up()
    rows = {
        (r[0], r[1], r[2]): r[4] for r in eligibility.all_rows(view.db)["results"]
    }  # (household, program, subject) -> status
    day = TODAY.isoformat()
    names = live_tables(view.db, eligibility.PROJECTION)
    # the view keeps no NIK: a member is known by sex here (a head, and maybe a wife)
    subjects = {
        (hid, member["sex"]): subject
        for hid, text in view.db.query(f"SELECT household_id, facts FROM {names['facts']}")
        for subject, member in json.loads(text)["members"].items()
    }
    seen = {}
    for story, (hid, head, wife) in households.items():
        for who in (head, wife) if wife else (head,):
            for code in "ABCD":
                try:
                    app.check_program_rules(
                        app.get_household(hid),
                        {
                            "nik": who["nik"],
                            "program": code,
                            "period_start": day,
                            "period_end": day,
                        },
                    )
                    refused = False
                except RulesFailed:
                    refused = True
                status = rows[(hid, code, subjects[(hid, who["sex"])])]
                if (story, who["name"], code) in OWN_RECEIPTS:
                    # a second grant is refused, but the view asks whether the person served
                    # still qualifies: their own receipt is not held against them
                    assert refused and status == "eligible", (story, code)
                else:
                    assert status == ("ineligible" if refused else "eligible"), (story, code)
                seen[(story, who["name"], code)] = status

    def ok(story, code, who="Budi"):
        return seen[(story, who, code)] == "eligible"

    # symmetric combinability (A does not list C), on the day's periods
    assert [ok("receives A", c) for c in "ABCD"] == [True, True, False, True]
    assert [ok("receives C", c) for c in "ABCD"] == [False, False, True, True]
    assert all(ok("received A", c) for c in "ABCD")
    assert all(ok("B next year", c) for c in "ABCD")
    assert all(ok("A terminated", c) for c in "ABCD")
    # once per KK: while a member receives it, not after
    assert not ok("KK receives D", "D") and ok("KK receives D", "D", "Siti")
    assert ok("KK received D", "D") and ok("KK received D", "D", "Siti")


def test_the_view_reads_combinability_both_ways_and_follows_a_change_of_the_other_program(
    app, tmp_path
):
    define(app, "A", combinable_with=["C"])
    define(app, "C")
    hid, head, _ = family(app, 1)
    _grant(app, hid, head, "C", "2026-01-01", "2026-12-31")
    view = View(app, tmp_path).catch_up()
    assert view.answer(hid)["A"]["status"] == "ineligible"  # C does not list A

    app.change_program_rules(
        {"code": "C", "rules": {"combinable_with": ["A"]}, "effective_from": "2026-10-01"}, META
    )
    assert view.catch_up().answer(hid)["A"]["status"] == "eligible"


def test_verdict_of_a_disagreement_alone_is_review():
    results = evaluate(
        {"max_desil": 4},
        {
            "desil": 3,
            "desil_conflict": "DTSEN 3 (2026-Q1), DTKS 9 (2026-Q2): differ by 6, tolerance 2",
        },
    )
    assert verdict(results) == "review"


def test_the_view_counts_a_benefit_on_the_persons_former_kk_as_the_grant_does(app, tmp_path):
    define(app, "A")
    define(app, "B", combinable_with=["A"])
    hid, _head, _ = family(app, 1)
    son = person(13, "2000-02-03", "M", "Andi")
    app.add_member({"household_id": hid, "person": son, "relationship": "anak"}, META)
    benefit = _grant(app, hid, son, "A", "2026-01-01", "2026-12-31")
    app.execute(
        "RemoveMember",
        {
            "household_id": hid,
            "nik": son["nik"],
            "kind": "moved_out",
            "effective_date": "2026-02-01",
        },
        META,
    )
    own = app.register_household(
        {
            "kk_number": kk_for("157101", dt.date(2026, 2, 1), 2),
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Sultan Agung No. 2",
            "rt": "001",
            "rw": "002",
            "head": son,
        },
        META,
    ).stream_id
    view = View(app, tmp_path).catch_up()

    def refused(code):
        try:
            app.check_program_rules(
                app.get_household(own),
                {
                    "nik": son["nik"],
                    "program": code,
                    "period_start": "2026-11-01",
                    "period_end": "2026-11-01",
                },
            )
        except RulesFailed:
            return True
        return False

    answer = view.answer(own)
    # B: A (on the former KK) does not list it. A again: a double receipt, on his own KK as
    # for a grant there (only a receipt on the KK answered for is left out: a family served
    # is asked whether it still qualifies)
    assert (answer["A"]["status"], answer["B"]["status"]) == ("ineligible", "ineligible")
    assert "double_receipt" in {r["rule"] for r in answer["A"]["reasons"] if not r["passed"]}
    assert refused("A") and refused("B")

    # the benefit ends on the former KK: the son's own KK follows
    app.execute(
        "TerminateBenefit",
        {
            "household_id": hid,
            "benefit_id": benefit,
            "effective_date": "2026-10-01",
            "reason_code": "moved_away",
        },
        META,
    )
    answer = view.catch_up().answer(own)
    assert (answer["A"]["status"], answer["B"]["status"]) == ("eligible", "eligible")
    assert not refused("A") and not refused("B")
