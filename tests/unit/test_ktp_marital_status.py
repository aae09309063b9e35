"""IssueKtp's age rule (a KTP at 17, or younger when married: "kawin atau pernah kawin", UU
Adminduk art. 63) reads the marital status as it was on the issue date, not today's: a
marriage the KK records from a later day does not make an earlier KTP lawful, and a widow
whose husband has died (no spouse left on the KK) was married when her KTP was issued."""

import pytest

from tests.support.apps import memory_casework
from tests.unit.test_household_commands import (
    HEAD,
    KK2,
    ktp_for,
    meta,
    person,
    refused,
    register,
)

# born 2009-04-05: 16 until 2025-04-05
YOUNG_WIFE = person("Nur Aini", "2009-04-05", "F", 21)


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


def married_on(app, household_id, day):
    """The young wife joins the KK as the head's wife on `day` (the day it happened)."""
    app.add_member(
        {"household_id": household_id, "person": YOUNG_WIFE, "relationship": "istri"},
        meta(occurred_at=f"{day}T03:00:00Z"),
    )


def test_a_ktp_issued_before_the_marriage_the_kk_records_is_too_young(app):
    household_id = register(app)
    married_on(app, household_id, "2025-01-10")
    refused(
        lambda: ktp_for(app, household_id, YOUNG_WIFE, "2024-12-01"), "issued_on", "ktp.too_young"
    )
    assert app.get_household(household_id).members[YOUNG_WIFE["nik"]]["ktp_issued_on"] is None
    ktp_for(app, household_id, YOUNG_WIFE, "2025-01-20")  # married by then, still 15
    assert (
        app.get_household(household_id).members[YOUNG_WIFE["nik"]]["ktp_issued_on"] == "2025-01-20"
    )


def test_a_widow_heading_the_family_was_married_when_her_ktp_was_issued(app):
    household_id = register(app)
    married_on(app, household_id, "2024-06-01")
    app.record_death(
        {"household_id": household_id, "nik": HEAD["nik"], "date_of_death": "2024-11-02"},
        meta(),
    )
    app.change_head(
        {"household_id": household_id, "nik": YOUNG_WIFE["nik"], "new_kk_number": KK2}, meta()
    )
    # no spouse left on the KK today; on 2024-09-01 she was a wife of 15
    ktp_for(app, household_id, YOUNG_WIFE, "2024-09-01")
    assert (
        app.get_household(household_id).members[YOUNG_WIFE["nik"]]["ktp_issued_on"] == "2024-09-01"
    )


def test_a_marriage_recorded_without_its_day_counts_as_before_the_issue(app):
    """Registered today from a KK that already shows her married: when she married is not
    known, so an earlier KTP is not refused for it (as before)."""
    household_id = register(app)
    app.add_member(
        {"household_id": household_id, "person": YOUNG_WIFE, "relationship": "istri"}, meta()
    )
    ktp_for(app, household_id, YOUNG_WIFE, "2024-09-01")
