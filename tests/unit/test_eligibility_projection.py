"""The eligibility view: answers per household and program, kept up to date by the facts'
events, by rule changes (only the program changed, every family counted) and by time."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from adapters.db import Database
from adapters.settings import DatabaseUrl
from adapters.wire import from_notification
from app.seed import seed_app
from app.seed_data import kk_for, nik_for
from consumers.runner import tick
from domain.application import SYSTEM, make_meta
from domain.errors import DomainError
from projections import eligibility
from projections.base import apply_batch, ensure_schema, live_tables, reveal
from projections.catalog import PROJECTIONS
from tests.support.apps import memory_casework

META = make_meta(SYSTEM, "api")
TODAY = dt.date(2026, 11, 1)


def person(serial: int, born: dt.date, sex: str, name: str) -> dict:
    return {
        "nik": nik_for("157101", born, sex, serial),
        "name": name,
        "birth_date": born.isoformat(),
        "sex": sex,
    }


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    day = {"today": TODAY}
    monkeypatch.setattr(eligibility, "CLOCK", lambda: day["today"])
    return day


class View:
    """The eligibility view in a SQLite file, fed from the app's store."""

    def __init__(self, app, path, name="views.db") -> None:
        self.app = app
        self.db = Database(DatabaseUrl.parse(f"sqlite:///{path}/{name}", "CASEWORK_VIEWS"))
        ensure_schema(self.db, [eligibility.PROJECTION])
        self.position = 0

    def envelopes(self) -> list[dict]:
        found = [
            reveal(self.app.codec, from_notification(self.app, n, "1571", sealed=True))
            for n in self.app.recorder.select_notifications(self.position + 1, 100_000)
        ]
        if found:
            self.position = found[-1]["position"]
        return found

    def catch_up(self) -> View:
        envelopes = self.envelopes()
        if envelopes:
            apply_batch(self.db, eligibility.PROJECTION, envelopes)
        return self

    def answer(self, household_id: str) -> dict[str, dict]:
        found = eligibility.household_eligibility(self.db, household_id)
        return {a["program"]: a for a in found}

    def tick(self, day: dt.date) -> tuple[int, int]:
        names = live_tables(self.db, eligibility.PROJECTION)
        with self.db.transaction() as cur:
            return eligibility.tick(cur, names, day)


def define(app, code: str, rules: dict, effective_from: str = "2025-01-01") -> None:
    app.define_program(
        {
            "code": code,
            "name": f"Program {code}",
            "opd": "DINSOS",
            "funding": "APBD",
            "kind": "bansos",
            "rules": rules,
            "effective_from": effective_from,
        },
        META,
    )


def family(app, serial: int, *, desil: int | None = None, wife: bool = True) -> str:
    head = person(serial * 10 + 1, dt.date(1980, 1, 1), "M", "Budi")
    hid = app.register_household(
        {
            "kk_number": kk_for("157101", dt.date(2010, 1, 1), serial),
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura" if serial % 2 else "Simpang IV Sipin",
            "address": "Jl. Sultan Agung No. 1",
            "rt": "001",
            "rw": "002",
            "head": head,
        },
        META,
    ).stream_id
    if wife:
        app.add_member(
            {
                "household_id": hid,
                "person": person(serial * 10 + 2, dt.date(1984, 3, 2), "F", "Siti"),
                "relationship": "istri",
            },
            META,
        )
    if desil is not None:
        app.record_welfare_assessment(
            {"household_id": hid, "source": "DTSEN", "desil": desil, "period": "2025-Q1"}, META
        )
    return hid


def test_a_newcomer_becomes_eligible_the_day_the_residence_months_are_reached(app, tmp_path):
    define(app, "KJB", {"max_desil": 5, "min_residence_months": 12, "recipient": "head"})
    hid = family(app, 1, desil=2)
    head_nik = app.get_household(hid).head_nik
    view = View(app, tmp_path).catch_up()
    before = view.answer(hid)["KJB"]
    assert before["status"] == "review"  # no KTP arrival known yet
    assert {r["rule"] for r in before["reasons"]} >= {"max_desil", "min_residence_months"}

    app.issue_ktp(
        {
            "household_id": hid,
            "nik": head_nik,
            "issued_on": "2026-02-10",
            "arrival": {
                "type": "pindah_datang",
                "arrived_on": "2026-02-01",
                "origin_region_code": "1371",
            },
        },
        META,
    )
    view.catch_up()
    answer = view.answer(hid)["KJB"]
    assert answer["status"] == "ineligible"
    assert answer["eligible_from"] == "2027-02-01"
    residence = next(r for r in answer["reasons"] if r["rule"] == "min_residence_months")
    assert residence["detail"] == "the recipient's residence: 9 months, needs 12"
    assert residence["rule_version"] == 1
    ktp_position = view.position
    assert ktp_position in residence["positions"]

    # monthly, the count of months is brought up to date; the answer stays
    assert view.tick(dt.date(2027, 1, 31)) == (1, 0)
    assert view.answer(hid)["KJB"]["status"] == "ineligible"
    assert view.tick(dt.date(2027, 2, 1)) == (1, 1)
    assert view.answer(hid)["KJB"]["status"] == "eligible"
    assert eligibility.eligible_households(view.db, "KJB") == [
        {"household_id": hid, "kelurahan": "Telanaipura"}
    ]
    residence = next(
        r for r in view.answer(hid)["KJB"]["reasons"] if r["rule"] == "min_residence_months"
    )
    assert residence["detail"] == "the recipient's residence: 12 months reached on 2027-02-01"


def test_the_residence_of_one_born_here_is_answered_without_their_birth_date(app, tmp_path):
    define(app, "KJB", {"max_desil": 5, "min_residence_months": 12, "recipient": "head"})
    hid = family(app, 1, desil=2)
    head_nik = app.get_household(hid).head_nik
    app.issue_ktp(
        {
            "household_id": hid,
            "nik": head_nik,
            "issued_on": "2000-02-10",
            "arrival": {"type": "born_here"},
        },
        META,
    )
    answer = View(app, tmp_path).catch_up().answer(hid)["KJB"]
    assert answer["status"] == "eligible"
    residence = next(r for r in answer["reasons"] if r["rule"] == "min_residence_months")
    # born 1980-01-01: the day the months were reached would tell it
    assert residence["detail"] == (
        "the recipient's residence: 12 months reached, resident since birth"
    )
    assert "1981" not in json.dumps(answer) and "1980" not in json.dumps(answer)


def _statuses(view: View, program: str) -> dict[str, str]:
    names = live_tables(view.db, eligibility.PROJECTION)
    return {
        row[0]: row[1]
        for row in view.db.query(
            f"SELECT household_id, status FROM {names['results']} WHERE program=?", (program,)
        )
    }


def test_a_rule_change_re_evaluates_that_program_only_and_changes_exactly_the_families_it_affects(
    app, tmp_path, monkeypatch, clock
):
    define(app, "BPNT", {"max_desil": 2, "recipient": "head"})
    define(app, "PBI", {"max_desil": 5})
    households = {desil: family(app, desil, desil=desil) for desil in range(1, 7)}
    view = View(app, tmp_path).catch_up()
    eligible = [d for d, h in households.items() if view.answer(h)["BPNT"]["status"] == "eligible"]
    assert sorted(eligible) == [1, 2]
    pbi_before = eligibility.all_rows(view.db)["results"]
    pbi_before = [r for r in pbi_before if r[1] == "PBI"]

    evaluated: list[tuple[str, tuple[str, ...]]] = []
    original = eligibility._evaluate_household

    def spy(cur, names, household_id, programs, day, *args, **kwargs):
        evaluated.append((household_id, tuple(p.code for p in programs)))
        return original(cur, names, household_id, programs, day, *args, **kwargs)

    monkeypatch.setattr(eligibility, "_evaluate_household", spy)

    # a version taking effect later changes nothing today: no family is evaluated
    app.change_program_rules(
        {"code": "BPNT", "rules": {"max_desil": 4}, "effective_from": "2027-01-01"}, META
    )
    view.catch_up()
    assert evaluated == []
    assert sorted(_statuses(view, "BPNT").values()).count("eligible") == 2

    # the day it takes effect: the six families of BPNT are due, two of them change
    assert view.tick(dt.date(2027, 1, 1)) == (6, 2)
    assert {h for h, _ in evaluated} == set(households.values())
    assert all(codes == ("BPNT",) for _, codes in evaluated)
    answers = {d: view.answer(h)["BPNT"] for d, h in households.items()}
    assert sorted(d for d, a in answers.items() if a["status"] == "eligible") == [1, 2, 3, 4]
    assert answers[3]["reasons"][0]["rule_version"] == 2
    assert [r for r in eligibility.all_rows(view.db)["results"] if r[1] == "PBI"] == pbi_before

    # a change in force at once: every family of that program evaluated, one changes
    evaluated.clear()
    clock["today"] = dt.date(2027, 1, 2)
    app.change_program_rules(
        {"code": "BPNT", "rules": {"max_desil": 5}, "effective_from": "2027-01-02"}, META
    )
    changed_before = _statuses(view, "BPNT")
    view.catch_up()
    changed_after = _statuses(view, "BPNT")
    assert len(evaluated) == 6 and all(codes == ("BPNT",) for _, codes in evaluated)
    assert [h for h in changed_after if changed_after[h] != changed_before[h]] == [households[5]]


def test_a_restricted_wife_is_hidden_and_shown_again(app, tmp_path):
    define(app, "PKH", {"max_desil": 4, "recipient": "adult_woman"})
    hid = family(app, 1, desil=1)
    wife_nik = next(n for n, m in app.get_household(hid).members.items() if m["sex"] == "F")
    view = View(app, tmp_path).catch_up()
    assert view.answer(hid)["PKH"]["status"] == "eligible"

    app.restrict_processing({"household_id": hid, "nik": wife_nik, "grounds": "keberatan"}, META)
    view.catch_up()
    assert "PKH" not in view.answer(hid)  # nobody visible the program could pay
    assert eligibility.eligible_households(view.db, "PKH") == []

    app.lift_restriction({"household_id": hid, "nik": wife_nik}, META)
    view.catch_up()
    assert view.answer(hid)["PKH"]["status"] == "eligible"


def test_the_view_keeps_no_name_nik_or_kk_number(app, tmp_path):
    define(app, "PKH", {"max_desil": 4, "recipient": "adult_woman"})
    hid = family(app, 3, desil=1)
    household = app.get_household(hid)
    view = View(app, tmp_path).catch_up()
    text = json.dumps(eligibility.all_rows(view.db), default=str)
    for member in household.members.values():
        assert member["nik"] not in text
        assert member["name"] not in text
    assert household.kk_number not in text


def test_applied_in_random_batches_with_daily_ticks_equals_a_rebuild(app, tmp_path, clock):
    counts = seed_app(app, 120, seed_value=11)
    commands = sum(v for k, v in counts.items() if not k.startswith(("refused", "skipped")))
    assert commands > 1000
    envelopes = View(app, tmp_path, "all.db").envelopes()
    rng = random.Random(3)

    live = View(app, tmp_path, "live.db")
    clock["today"] = dt.date(2026, 3, 1)
    i = 0
    while i < len(envelopes):
        size = rng.randint(1, 400)
        apply_batch(live.db, eligibility.PROJECTION, envelopes[i : i + size])
        i += size
        if rng.random() < 0.3:  # a day passes
            clock["today"] += dt.timedelta(days=rng.randint(1, 40))
            live.tick(clock["today"])
    live.tick(clock["today"])

    rebuilt = View(app, tmp_path, "rebuilt.db")
    apply_batch(rebuilt.db, eligibility.PROJECTION, envelopes)
    assert eligibility.all_rows(live.db) == eligibility.all_rows(rebuilt.db)
    results = eligibility.all_rows(live.db)["results"]
    assert {r[4] for r in results} == {"eligible", "ineligible", "review"}


def test_the_runners_daily_tick_makes_a_newcomer_eligible_on_the_day(app, tmp_path, clock):
    define(app, "KJB", {"max_desil": 5, "min_residence_months": 6, "recipient": "head"})
    hid = family(app, 2, desil=1, wife=False)
    head_nik = app.get_household(hid).head_nik
    app.issue_ktp(
        {
            "household_id": hid,
            "nik": head_nik,
            "issued_on": "2026-09-01",
            "arrival": {
                "type": "pindah_datang",
                "arrived_on": "2026-08-15",
                "origin_region_code": "1371",
            },
        },
        META,
    )
    view = View(app, tmp_path).catch_up()
    assert view.answer(hid)["KJB"]["eligible_from"] == "2027-02-15"
    assert tick(view.db, PROJECTIONS.values(), dt.date(2027, 2, 14)) == 1  # the count, monthly
    assert view.answer(hid)["KJB"]["status"] == "ineligible"
    assert tick(view.db, PROJECTIONS.values(), dt.date(2027, 2, 15)) == 1
    assert view.answer(hid)["KJB"]["status"] == "eligible"
    assert tick(view.db, PROJECTIONS.values(), dt.date(2027, 2, 16)) == 0


def test_an_erased_wife_leaves_no_birth_date_and_answers_for_nothing(app, tmp_path):
    define(app, "PKH", {"max_desil": 4, "recipient": "adult_woman"})
    hid = family(app, 4, desil=1)
    wife_nik = next(n for n, m in app.get_household(hid).members.items() if m["sex"] == "F")
    view = View(app, tmp_path).catch_up()
    assert "1984-03-02" in json.dumps(eligibility.all_rows(view.db))
    assert view.answer(hid)["PKH"]["status"] == "eligible"
    subject = app.person_subject(wife_nik)

    app.request_erasure({"household_id": hid, "nik": wife_nik, "reason": "permintaan"}, META)
    view.catch_up()
    rows = eligibility.all_rows(view.db)
    assert "1984-03-02" not in json.dumps(rows)
    # erased, she is no one's recipient: her rows are hidden, as time travel leaves her out,
    # and PKH (a woman) has no answer through her any more
    hers = [row for row in rows["results"] if row[2] == subject]
    # the rows: (household, program, subject, ..., restricted)
    assert hers and all(row[-1] == 1 for row in hers)
    assert "PKH" not in view.answer(hid)


def _spy(monkeypatch) -> list[tuple[str, tuple[str, ...]]]:
    """Every household evaluation from now on: (household, programs)."""
    evaluated: list[tuple[str, tuple[str, ...]]] = []
    original = eligibility._evaluate_household

    def spy(cur, names, household_id, programs, day, *args, **kwargs):
        evaluated.append((household_id, tuple(p.code for p in programs)))
        return original(cur, names, household_id, programs, day, *args, **kwargs)

    monkeypatch.setattr(eligibility, "_evaluate_household", spy)
    return evaluated


def test_a_batch_of_many_events_of_one_family_evaluates_it_once_with_the_same_rows(
    app, tmp_path, monkeypatch
):
    define(app, "PKH", {"max_desil": 4, "recipient": "adult_woman"})
    define(app, "BPNT", {"max_desil": 2, "recipient": "head"})
    hid = family(app, 7, desil=3)
    for serial, born in ((73, dt.date(2012, 5, 1)), (74, dt.date(2015, 8, 9))):
        app.add_member(
            {
                "household_id": hid,
                "person": person(serial, born, "F", "Ani"),
                "relationship": "anak",
            },
            META,
        )
    app.record_welfare_assessment(
        {"household_id": hid, "source": "DTSEN", "desil": 2, "period": "2025-Q2"}, META
    )
    envelopes = View(app, tmp_path, "all.db").envelopes()
    of_family = [e for e in envelopes if e["stream_id"] == hid]
    assert len(of_family) >= 6
    evaluated = _spy(monkeypatch)

    one_by_one = View(app, tmp_path, "one_by_one.db")
    for envelope in envelopes:  # one event per batch: evaluated after each of its events
        apply_batch(one_by_one.db, eligibility.PROJECTION, [envelope])
    assert len([h for h, _ in evaluated if h == hid]) >= len(of_family)

    evaluated.clear()
    batched = View(app, tmp_path, "batched.db")
    apply_batch(batched.db, eligibility.PROJECTION, envelopes)
    # once, for every program (the programs defined in the same batch included)
    assert evaluated == [(hid, ("BPNT", "PKH"))]
    assert eligibility.all_rows(batched.db) == eligibility.all_rows(one_by_one.db)
    assert batched.answer(hid)["BPNT"]["status"] == "eligible"  # the later assessment, desil 2
    assert batched.answer(hid)["PKH"]["status"] == "eligible"


def test_a_batch_with_rule_changes_gives_the_rows_of_one_event_per_batch(
    app, tmp_path, monkeypatch, clock
):
    seed_app(app, 25, seed_value=19)
    hid = eligibility.all_rows(View(app, tmp_path, "ids.db").catch_up().db)["facts"][0][0]
    # at once for one program; later for another (its rows due that day); then one more event
    # of a family
    today = clock["today"].isoformat()
    app.change_program_rules(
        {"code": "PKH", "rules": {"max_desil": 5}, "effective_from": today}, META
    )
    app.change_program_rules(
        {"code": "KJB", "rules": {"min_residence_months": 24}, "effective_from": "2027-03-01"},
        META,
    )
    app.record_welfare_assessment(
        {"household_id": hid, "source": "P3KE", "desil": 1, "period": "2026-Q3"}, META
    )
    envelopes = View(app, tmp_path, "all.db").envelopes()
    evaluated = _spy(monkeypatch)

    one_by_one = View(app, tmp_path, "one_by_one.db")
    for envelope in envelopes:
        apply_batch(one_by_one.db, eligibility.PROJECTION, [envelope])
    per_event = len(evaluated)

    evaluated.clear()
    batched = View(app, tmp_path, "batched.db")
    apply_batch(batched.db, eligibility.PROJECTION, envelopes)
    families = [row[0] for row in eligibility.all_rows(batched.db)["facts"]]
    assert len(families) == 25
    # the later-dated change first evaluates what the batch marked so far (every family, once,
    # every program: PKH's change at once included); the family with an event after it, again
    times = {h: sum(1 for e, _ in evaluated if e == h) for h in families}
    assert times == {h: 2 if h == hid else 1 for h in families}
    assert len(evaluated) == 26 < per_event
    assert eligibility.all_rows(batched.db) == eligibility.all_rows(one_by_one.db)
    due = [r for r in eligibility.all_rows(batched.db)["results"] if r[1] == "KJB"]
    assert due and all(r[7] is not None and r[7] <= "2027-03-01" for r in due)


def test_rows_and_facts_are_written_with_sorted_keys_and_every_number_exact():
    """The view's JSON (orjson) is the same text for the same content, whatever the order it
    was built in, and a number orjson does not take (beyond 64 bits) is written exactly."""
    first = eligibility._sorted_json({"b": [2, 1], "a": {"y": "é", "x": None}})
    second = eligibility._sorted_json({"a": {"x": None, "y": "é"}, "b": [2, 1]})
    assert first == second == '{"a":{"x":null,"y":"é"},"b":[2,1]}'
    assert json.loads(eligibility._sorted_json({"b": 10**30, "a": 1})) == {"a": 1, "b": 10**30}


def test_a_benefit_ending_after_2100_is_refused_in_the_domain(app, tmp_path):
    """Granted through the use case itself (an edge that did not check): a benefit of another
    program ending 9999-12-31 stopped the view (the day after its end is no date)."""
    define(app, "KJB", {"max_desil": 5, "recipient": "head"})
    define(app, "PKH", {"max_desil": 5, "recipient": "head"})
    hid = family(app, 1, desil=2)
    nik = app.get_household(hid).head_nik
    grant = {"household_id": hid, "nik": nik, "program": "PKH", "period_start": "2026-01-01"}
    with pytest.raises(DomainError) as refused:
        app.grant_benefit({**grant, "period_end": "9999-12-31", "amount": 1000}, META)
    assert (refused.value.field, refused.value.code) == ("period_end", "date.too_far")
    app.grant_benefit({**grant, "period_end": "2100-12-31", "amount": 1000}, META)
    answer = View(app, tmp_path).catch_up().answer(hid)
    # the view answers both programs (KJB refused: not combinable with the PKH received)
    assert answer["PKH"]["status"] == "eligible" and answer["KJB"]["status"] == "ineligible"


def _born_here(app, hid: str, nik: str) -> None:
    app.issue_ktp(
        {
            "household_id": hid,
            "nik": nik,
            "issued_on": "2000-02-10",
            "arrival": {"type": "born_here"},
        },
        META,
    )


def _details(answer: dict) -> dict[str, str]:
    return {r["rule"]: r["detail"] for r in answer["reasons"]}


def test_each_reason_says_it_read_the_recipients_facts_not_every_members(app, tmp_path):
    """KJB pays the head: the wife's NIB and her recent arrival do not touch the head's answer,
    and its reasons say they read the head's (the recipient's) facts, never "no member holds an
    NIB" while a member does; the decile is the family's."""
    define(
        app,
        "KJB",
        {
            "max_desil": 5,
            "min_residence_months": 12,
            "excludes_nib_holders": True,
            "recipient": "head",
        },
    )
    hid = family(app, 1, desil=2)
    household = app.get_household(hid)
    head = household.head_nik
    wife = next(nik for nik in household.members if nik != head)
    _born_here(app, hid, head)
    app.issue_ktp(
        {
            "household_id": hid,
            "nik": wife,
            "issued_on": "2026-09-10",
            "arrival": {
                "type": "pindah_datang",
                "arrived_on": "2026-09-01",
                "origin_region_code": "1371",
            },
        },
        META,
    )
    app.register_nib(
        {
            "household_id": hid,
            "nik": wife,
            "nib": "9120001234567",
            "business_name": "Warung",
            "registered_on": "2026-10-01",
        },
        META,
    )
    view = View(app, tmp_path).catch_up()
    answer = view.answer(hid)["KJB"]
    assert answer["status"] == "eligible"
    assert _details(answer) == {
        "max_desil": "the family's desil 2, needs <= 5",
        "min_residence_months": (
            "the recipient's residence: 12 months reached, resident since birth"
        ),
        "excludes_nib_holders": "the recipient holds no NIB",
        "double_receipt": "the recipient does not receive it yet",
        "combinable_with": "the recipient receives no conflicting program",
        "recipient": "recipient is the head of family",
    }
    assert "no member holds an NIB" not in json.dumps(answer)

    app.register_nib(
        {
            "household_id": hid,
            "nik": head,
            "nib": "9120001234568",
            "business_name": "Bengkel",
            "registered_on": "2026-10-15",
        },
        META,
    )
    answer = view.catch_up().answer(hid)["KJB"]
    assert answer["status"] == "ineligible"
    assert _details(answer)["excludes_nib_holders"] == "the recipient holds an NIB"


def test_a_program_paying_any_member_of_a_family_with_nobody_active_says_so(app, tmp_path):
    """Not "no active member is an adult woman": the program pays any member."""
    define(app, "ZAKAT", {"max_desil": 5})
    hid = family(app, 1, desil=2, wife=False)
    app.record_death(
        {
            "household_id": hid,
            "nik": app.get_household(hid).head_nik,
            "date_of_death": "2026-05-01",
        },
        META,
    )
    answer = View(app, tmp_path).catch_up().answer(hid)["ZAKAT"]
    assert answer["status"] == "ineligible"
    assert [(r["rule"], r["detail"]) for r in answer["reasons"]] == [
        ("recipient", "no member is active")
    ]


def test_a_benefit_before_the_nik_counts_once_linked_whatever_order_the_streams_arrive_in(
    app, tmp_path
):
    """REHSOS granted to a person without papers who is then linked to the head of a KK: BPNT
    (not combinable with REHSOS) is refused him and REHSOS is a double receipt, as grants of
    them are, whether the person's stream reaches the view before the household's, after it,
    or event by event in store order; the same rows each way. The REHSOS ended after the
    link: eligible for both."""
    define(app, "REHSOS", {"serves_without_nik": True, "combinable_with": []})
    define(app, "BPNT", {"max_desil": 4, "combinable_with": []})
    hid = str(family(app, 1, desil=3, wife=False))
    head = app.get_household(hid).head_nik
    person_id = str(
        app.execute(
            "RegisterHomelessPerson",
            {"name": "Pak Ujang", "sex": "M", "found_at": "Pasar", "kecamatan": "Telanaipura"},
            META,
        ).stream_id
    )
    app.execute(
        "GrantProvisionalBenefit",
        {
            "person_id": person_id,
            "program": "REHSOS",
            "period_start": "2026-10-01",
            "period_end": "2027-03-31",
            "amount": 250000,
        },
        META,
    )
    app.execute("LinkIdentity", {"person_id": person_id, "household_id": hid, "nik": head}, META)
    envelopes = View(app, tmp_path, "all.db").envelopes()
    theirs = [e for e in envelopes if str(e["stream_id"]) == person_id]
    others = [e for e in envelopes if str(e["stream_id"]) != person_id]
    views = {
        "in store order": View(app, tmp_path, "ordered.db"),
        "the person first": View(app, tmp_path, "first.db"),
        "the person last": View(app, tmp_path, "last.db"),
    }
    for envelope in envelopes:
        apply_batch(views["in store order"].db, eligibility.PROJECTION, [envelope])
    for name, parts in (
        ("the person first", (theirs, others)),
        ("the person last", (others, theirs)),
    ):
        for part in parts:
            apply_batch(views[name].db, eligibility.PROJECTION, part)
    for view in views.values():
        view.position = envelopes[-1]["position"]

    (granted,) = (e["position"] for e in theirs if e["type"] == "ProvisionalBenefitGranted")
    rows = eligibility.all_rows(views["in store order"].db)
    for name, view in views.items():
        assert eligibility.all_rows(view.db) == rows, name
        answer = view.answer(hid)
        assert answer["BPNT"]["status"] == "ineligible", name
        (clash,) = (r for r in answer["BPNT"]["reasons"] if r["rule"] == "combinable_with")
        assert clash["passed"] is False and granted in clash["positions"]
        (double,) = (r for r in answer["REHSOS"]["reasons"] if r["rule"] == "double_receipt")
        assert double["passed"] is False and granted in double["positions"], name
    with pytest.raises(DomainError) as refused:
        app.grant_benefit(
            {
                "household_id": hid,
                "nik": head,
                "program": "BPNT",
                "period_start": TODAY.isoformat(),
                "period_end": "2026-12-31",
                "amount": 200000,
            },
            META,
        )
    assert "combinable_with" in str(refused.value.__dict__)

    (benefit_id,) = app.get_provisional_person(person_id).benefits
    app.execute(
        "TerminateProvisionalBenefit",
        {
            "person_id": person_id,
            "benefit_id": benefit_id,
            "effective_date": TODAY.isoformat(),
            "reason_code": "graduated",
        },
        META,
    )
    for name, view in views.items():
        answer = view.catch_up().answer(hid)
        assert {code: a["status"] for code, a in answer.items()} == {
            "BPNT": "eligible",
            "REHSOS": "eligible",
        }, name


def test_a_program_defined_after_a_benefit_of_it_reached_the_view_re_evaluates_its_partners(
    app, tmp_path
):
    """Program streams and households reach the view on different partitions, in any order:
    a head receiving PKH reached it before PKH's definition, so BPNT (combinable with PKH both
    ways) was judged against a PKH unknown, 'not combinable'. PKH's definition re-evaluated
    only PKH's rows, and BPNT stayed wrongly ineligible (the program page's what-if counted
    the family eligible, the eligible list did not)."""
    define(app, "BPNT", {"max_desil": 4, "combinable_with": []})
    define(app, "PKH", {"max_desil": 4, "combinable_with": ["BPNT"]})
    app.change_program_rules(
        {"code": "BPNT", "rules": {"combinable_with": ["PKH"]}, "effective_from": "2025-01-01"},
        META,
    )
    hid = str(family(app, 1, desil=3, wife=False))
    head = app.get_household(hid).head_nik
    app.grant_benefit(
        {
            "household_id": hid,
            "nik": head,
            "program": "PKH",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "amount": 750000,
        },
        META,
    )
    envelopes = View(app, tmp_path, "all.db").envelopes()
    pkh = {
        e["stream_id"]
        for e in envelopes
        if e["type"] == "ProgramDefined" and e["data"]["code"] == "PKH"
    }
    late = [e for e in envelopes if e["stream_id"] in pkh]
    view = View(app, tmp_path, "late.db")
    apply_batch(
        view.db, eligibility.PROJECTION, [e for e in envelopes if e["stream_id"] not in pkh]
    )
    apply_batch(view.db, eligibility.PROJECTION, late)
    ordered = View(app, tmp_path, "ordered.db").catch_up()
    assert ordered.answer(hid)["BPNT"]["status"] == "eligible"
    assert view.answer(hid)["BPNT"]["status"] == "eligible"
    assert eligibility.all_rows(view.db)["results"] == eligibility.all_rows(ordered.db)["results"]
