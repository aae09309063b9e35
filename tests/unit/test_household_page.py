"""The household page's own rules: months of residence, and when the sources' deciles are
marked as disagreeing (more than one decile apart)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from app.web import _deciles, _months_since


def assessments(*records):
    return SimpleNamespace(
        assessments=[{"source": s, "desil": d, "period": p} for s, d, p in records]
    )


def test_months_of_residence_count_whole_months_only():
    day = dt.date(2026, 6, 15)
    assert _months_since("2025-06-15", day) == 12
    assert _months_since("2025-06-16", day) == 11
    assert _months_since(None, day) is None
    assert _months_since("not a date", day) is None


def test_each_source_shows_its_latest_period():
    found = _deciles(assessments(("DTSEN", 4, "2025-Q3"), ("DTSEN", 3, "2026-Q1")), [])
    dtsen = next(r for r in found["rows"] if r["source"] == "DTSEN")
    assert (dtsen["desil"], dtsen["period"]) == (3, "2026-Q1")
    assert [r["source"] for r in found["rows"]] == ["DTSEN", "DTKS", "P3KE", "VERVAL"]
    assert found["conflict"] is False


def test_one_decile_apart_is_no_conflict_two_apart_is():
    near = _deciles(assessments(("DTSEN", 3, "2026-Q1"), ("DTKS", 4, "2026-Q1")), [])
    assert near["conflict"] is False
    far = _deciles(
        assessments(("DTSEN", 3, "2026-Q1"), ("DTKS", 4, "2026-Q1"), ("P3KE", 5, "2025-Q4")), []
    )
    assert far["conflict"] is True and far["spread"] == 2
    marked = {r["source"] for r in far["rows"] if r["outlier"]}
    assert marked == {"DTSEN", "P3KE"}  # the two ends, not the one in between


def test_the_eligibility_views_review_reasons_about_deciles_are_shown():
    answers = [
        {
            "program": "PKH",
            "status": "review",
            "reasons": [
                {"rule": "max_desil", "detail": "no welfare decile known; needs desil <= 4"},
                {"rule": "recipient", "detail": "recipient is an adult woman"},
            ],
        },
        {
            "program": "BPNT",
            "status": "eligible",
            "reasons": [
                {"rule": "max_desil", "detail": "desil 3, needs <= 4"},
            ],
        },
    ]
    found = _deciles(assessments(), answers)
    assert found["reviews"] == [
        {"program": "PKH", "detail": "no welfare decile known; needs desil <= 4"}
    ]
