"""Every reason the eligibility view stores says whether its rule passed and carries its
detail as a message id and parameters that the Indonesian catalog translates: families and
programs covering every rule and every outcome, through the real store and view."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from domain.eligibility_rules import desil_facts
from domain.program import Detail, evaluate
from projections import eligibility
from tests.support.apps import memory_casework
from tests.unit.test_eligibility_projection import META, TODAY, View, define, family

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "app" / "translations" / "id" / "LC_MESSAGES" / "messages.po"
# the modules that make the details (every msgid there, marked N_)
SOURCES = ("domain/program.py", "domain/eligibility_rules.py", "projections/eligibility.py")


def _indonesian() -> dict[str, str]:
    with CATALOG.open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id and isinstance(m.id, str)}


def _marked() -> set[str]:
    return {
        found[1]
        for source in SOURCES
        for found in extract_from_file("python", str(ROOT / source), keywords={"N_": None})
    }


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(eligibility, "CLOCK", lambda: TODAY)


def _arrive(app, hid: str, nik: str, arrived_on: str) -> None:
    app.issue_ktp(
        {
            "household_id": hid,
            "nik": nik,
            "issued_on": arrived_on,
            "arrival": {
                "type": "pindah_datang",
                "arrived_on": arrived_on,
                "origin_region_code": "1371",
            },
        },
        META,
    )


def _grant(app, hid: str, nik: str, program: str) -> None:
    app.grant_benefit(
        {
            "household_id": hid,
            "nik": nik,
            "program": program,
            "period_start": "2026-01-01",
            "period_end": "2027-12-31",
            "amount": 300000,
        },
        META,
    )


def _stored_reasons(app, tmp_path) -> list[tuple[str, str, dict]]:
    """(household, program, reason) of every reason the view stores, after these families."""
    # ALL restricts everything, for the head; ONCE once per KK; WOMAN pays an adult woman and
    # reads two sources with a tolerance; LATER is not in force yet; OTHER combines with none
    define(
        app,
        "ALL",
        {
            "max_desil": 4,
            "min_residence_months": 12,
            "excludes_nib_holders": True,
            "once_per_kk": True,
            "recipient": "head",
        },
    )
    define(app, "ONCE", {"once_per_kk": True})
    define(
        app,
        "WOMAN",
        {
            "max_desil": 5,
            "recipient": "adult_woman",
            "desil_source": {"order": ["DTSEN", "DTKS"], "tolerance": 1},
        },
    )
    define(app, "LATER", {}, effective_from="2027-06-01")
    define(app, "OTHER", {})
    # passes everything: decile 3, arrived long ago, no NIB, no benefit
    fits = family(app, 1, desil=3)
    _arrive(app, fits, app.get_household(fits).head_nik, "2020-01-01")
    # fails everything it can: decile 6, arrived this year, an NIB, the wife receives ALL and
    # ONCE, the head receives OTHER (combinable with nothing)
    fails = family(app, 2, desil=6)
    household = app.get_household(fails)
    head = household.head_nik
    wife = next(nik for nik in household.members if nik != head)
    _arrive(app, fails, head, "2026-08-01")
    app.register_nib(
        {
            "household_id": fails,
            "nik": head,
            "nib": "1234567890123",
            "business_name": "Warung",
            "registered_on": "2026-08-02",
        },
        META,
    )
    _grant(app, fails, head, "OTHER")
    _grant(app, fails, wife, "ONCE")
    # unknown: no decile, no KTP arrival; no woman to pay
    unknown = family(app, 3, wife=False)
    # the sources disagree beyond WOMAN's tolerance
    disagree = family(app, 4, desil=3)
    app.record_welfare_assessment(
        {"household_id": disagree, "source": "DTKS", "desil": 6, "period": "2025-Q4"}, META
    )
    view = View(app, tmp_path).catch_up()
    # every person's row (the household's answer shows its best person's)
    rows = eligibility.all_rows(view.db)["results"]
    assert {row[0] for row in rows} == {fits, fails, unknown, disagree}
    return [(row[0], row[1], reason) for row in rows for reason in json.loads(row[5])]


def test_every_stored_reason_says_whether_it_passed_and_reads_in_indonesian(app, tmp_path):
    reasons = _stored_reasons(app, tmp_path)
    catalog = _indonesian()
    outcomes = {(r["rule"], r["passed"]) for _, _, r in reasons}
    # every rule the view can judge, with every outcome it can have
    assert outcomes >= {
        ("max_desil", True),
        ("max_desil", False),
        ("max_desil", None),
        ("min_residence_months", True),
        ("min_residence_months", False),
        ("min_residence_months", None),
        ("excludes_nib_holders", True),
        ("excludes_nib_holders", False),
        ("double_receipt", True),
        ("once_per_kk", True),
        ("once_per_kk", False),
        ("combinable_with", True),
        ("combinable_with", False),
        ("recipient", True),
        ("recipient", False),
        ("in_force", False),
    }
    for _hid, code, reason in reasons:
        text = reason["text"]
        assert text["msgid"] in catalog, (code, reason)
        translated = catalog[text["msgid"]]
        assert translated, f"no Indonesian for {text['msgid']!r}"
        # the translation takes the same parameters and the English detail is what it says
        assert translated % text["params"]
        assert text["msgid"] % text["params"] == reason["detail"]


def test_a_failed_rule_names_what_failed_in_indonesian(app, tmp_path):
    reasons = _stored_reasons(app, tmp_path)
    catalog = _indonesian()

    def indonesian(rule: str, passed: bool | None, code: str = "ALL") -> set[str]:
        return {
            catalog[r["text"]["msgid"]] % r["text"]["params"]
            for _, program, r in reasons
            if program == code and r["rule"] == rule and r["passed"] is passed
        }

    assert "desil keluarga 6, syarat ≤ 4" in indonesian("max_desil", False)
    assert "lama tinggal penerima 3 bulan, syarat 12 bulan" in indonesian(
        "min_residence_months", False
    )
    assert "penerima memiliki NIB" in indonesian("excludes_nib_holders", False)
    assert "penerima menerima OTHER, yang tidak boleh digabung dengan program ini" in (
        indonesian("combinable_with", False)
    )
    assert "KK ini sudah menerimanya, 2026-01-01 sampai 2027-12-31" in indonesian(
        "once_per_kk", False, "ONCE"
    )
    assert "tidak ada anggota aktif yang perempuan dewasa" in indonesian(
        "recipient", False, "WOMAN"
    )
    assert "program berlaku mulai 2027-06-01" in indonesian("in_force", False, "LATER")
    assert "DTSEN 3 (2025-Q1), DTKS 6 (2025-Q4): berbeda 3, toleransi 1; syarat desil ≤ 5" in (
        indonesian("max_desil", None, "WOMAN")
    )


def test_every_detail_evaluate_can_give_is_marked_and_translated():
    """`evaluate` directly, with every fact known either way and unknown (the approval page
    shows its details too): every msgid it gives is marked N_ and translated; and every msgid
    marked where details are made is one of those given here or by the view."""
    catalog = _indonesian()
    every_rule = {
        "max_desil": 4,
        "min_residence_months": 12,
        "excludes_nib_holders": True,
        "once_per_kk": True,
        "combinable_with": ["B"],
    }
    conflict = desil_facts(
        type(
            "Household",
            (),
            {
                "assessments": [
                    {"source": "DTSEN", "period": "2026-Q1", "desil": 3},
                    {"source": "DTKS", "period": "2025-Q4", "desil": 6},
                ]
            },
        )(),
        dt.date(2026, 6, 1),
        {"desil_source": {"order": ["DTSEN", "DTKS"], "tolerance": 1}},
    )["desil_conflict"]
    clash = {"period_start": "2026-01-01", "period_end": "2026-12-31"}
    facts_sets = [
        {},  # every fact unknown
        {"desil": 3, "residence_months": 20, "holds_nib": False, "already_receives": False},
        {"desil": 6, "residence_months": 2, "holds_nib": True, "already_receives": True},
        {"already_receives": None, "kk_already_received": True, "other_active_programs": ["C"]},
        {"kk_already_received": False, "other_active_programs": ["B"]},
        {
            "already_receives": True,
            "kk_already_received": True,
            "pair_clashes": [
                {"rule": "double_receipt", "detail": clash},
                {"rule": "once_per_kk", "detail": clash},
            ],
        },
        {"desil_conflict": "DTSEN 3 (2026-Q1), DTKS 9 (2026-Q2): differ by 6, tolerance 2"},
        {"desil_conflict": conflict},  # as desil_facts gives it
    ]
    given: set[str] = set()
    for recipient in ("head", "adult_woman"):
        for fits in (True, False, None):
            for facts in facts_sets:
                for _rule, _passed, detail in evaluate(
                    {**every_rule, "recipient": recipient}, {**facts, "recipient_fits": fits}
                ):
                    assert isinstance(detail, Detail)
                    given.add(detail.msgid)
    given.add(conflict.msgid)
    given |= {
        "the program takes effect on %(date)s",
        "no active member is the head of family",
        "no active member is an adult woman",
        "no member is active",
        "the recipient's residence: %(needed)s months reached on %(date)s",
        "the recipient's residence: %(needed)s months reached, resident since birth",
    }  # the view's own (the test above stores each)
    for msgid in given:
        assert catalog.get(msgid), f"no Indonesian for {msgid!r}"
    assert _marked() <= given, "a detail marked N_ no test gives"
