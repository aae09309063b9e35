"""RecordSourceListing over HTTP: a bad source, decile or aid flag is 422 naming the field and
stores nothing; the same listing again is 409 listing.duplicate."""

from __future__ import annotations

import pytest

from tests.integration.conftest import add_users, bearer
from tests.integration.test_commands_api import HOUSEHOLD, register, stored

pytestmark = pytest.mark.integration


def listing(household_id: str, **changes) -> dict:
    return {
        "household_id": household_id,
        "source": "DTKS",
        "period": "2026-Q1",
        "reference": "dtks_2026_1571.csv#row=7",
        "kk_number": HOUSEHOLD["kk_number"],
        "members": [{"nik": HOUSEHOLD["head"]["nik"], "relationship": "kepala_keluarga"}],
        "desil": 3,
        "benefits": ["PKH", "BPNT"],
        **changes,
    }


def test_a_bad_listing_is_422_naming_the_field_and_a_repeat_is_409(web):
    token = add_users(web, ["admin"])["admin"]
    client = web.test_client()
    household_id = register(client, token)
    before = stored(web)
    for change, field, code in (
        ({"source": "BPS"}, "source", "assessment.source_unknown"),
        ({"desil": 11}, "desil", "desil.out_of_range"),
        ({"desil": "enam"}, "desil", "desil.out_of_range"),
        ({"benefits": ["PKH", "KIS"]}, "benefits", "listing.benefit_unknown"),
        ({"benefits": "PKH"}, "benefits", "listing.benefit_unknown"),
        (
            {"members": [{"nik": "1571015203850007", "relationship": "sepupu"}]},
            "members.0.relationship",
            "relationship.unknown",
        ),
    ):
        answer = client.post(
            "/api/v1/commands/RecordSourceListing",
            json=listing(household_id, **change),
            headers=bearer(token),
        )
        assert answer.status_code == 422, (change, answer.json)
        assert answer.json["codes"] == {field: [code]}, change
        assert answer.json["errors"][field][0]  # a message in words, not only a code
    assert stored(web) == before

    first = client.post(
        "/api/v1/commands/RecordSourceListing", json=listing(household_id), headers=bearer(token)
    )
    assert first.status_code == 201, first.json
    again = client.post(
        "/api/v1/commands/RecordSourceListing", json=listing(household_id), headers=bearer(token)
    )
    assert again.status_code == 409
    assert again.json["codes"] == {"reference": ["listing.duplicate"]}
    assert stored(web) == before + 1
