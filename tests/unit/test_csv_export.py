"""CSV downloads: a cell a spreadsheet would run as a formula is neutralised; the file parses
back into the rows given."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask

from app.csv_export import cell, csv_response, error_rows


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+62", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_would_be_formula_is_prefixed(text):
    assert cell(text) == "'" + text


@pytest.mark.parametrize(
    "value, shown", [("Simpang IV Sipin", "Simpang IV Sipin"), (None, ""), (3, "3")]
)
def test_other_values_are_kept(value, shown):
    assert cell(value) == shown


def test_the_download_parses_back_with_its_name_and_type():
    answer = {
        "inclusion": [
            {
                "household_id": "h1",
                "kelurahan": "Tahtul Yaman",
                "benefits": 1,
                "reasons": [{"rule": "max_desil", "detail": "desil 6, needs <= 4"}],
            }
        ],
        "exclusion": [{"household_id": "h2", "kelurahan": "=cmd"}],
        "review": [],
    }
    with Flask(__name__).test_request_context():
        response = csv_response(
            "kesalahan-PKH.csv",
            ("kind", "household_id", "kelurahan", "benefits", "reasons"),
            error_rows(answer),
        )
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="kesalahan-PKH.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [
        ["kind", "household_id", "kelurahan", "benefits", "reasons"],
        ["inclusion", "h1", "Tahtul Yaman", "1", "max_desil: desil 6, needs <= 4"],
        ["exclusion", "h2", "'=cmd", "0", ""],
    ]
