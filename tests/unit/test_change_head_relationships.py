"""ChangeHead and the relationships on the KK (hubungan dalam keluarga), which are relative to
the head: the new head's own relationship says what the others become where the KK leaves no
doubt (a widow heading the family keeps the children as anak, her husband's mother becomes
her mertua; a son heading it makes his mother orang_tua and his siblings famili_lain); where
it does, the old relationship stays and is flagged for review until a CorrectMember sets (or
confirms) it."""

import datetime as dt

import pytest

from tests.unit.test_correct_member import correct
from tests.unit.test_household_commands import (
    CHILD,
    HEAD,
    KK2,
    SON,
    WIFE,
    meta,
    person,
    refused,
    register,
)

GRANDMOTHER = person("Ratna", "1955-08-09", "F", 8)
DAUGHTER_IN_LAW = person("Dewi", "2001-10-11", "F", 9)
GRANDCHILD = person("Bayu", "2023-01-02", "M", 10)
COUSIN = person("Hendra", "1990-04-05", "M", 11)


@pytest.fixture
def app():
    from tests.support.apps import memory_casework

    application = memory_casework()
    yield application
    application.close()


def three_generations(app):
    return register(
        app,
        members=[
            (WIFE, "istri"),
            (CHILD, "anak"),
            (SON, "anak"),
            (GRANDMOTHER, "orang_tua"),
            (DAUGHTER_IN_LAW, "menantu"),
            (GRANDCHILD, "cucu"),
        ],
    )


def head_dies_and(app, household_id, new_head, head=HEAD):
    """The head dies and `new_head` heads the family on a new KK number."""
    app.record_death(
        {"household_id": household_id, "nik": head["nik"], "date_of_death": "2025-02-03"},
        meta(),
    )
    app.change_head(
        {"household_id": household_id, "nik": new_head["nik"], "new_kk_number": KK2}, meta()
    )
    return app.get_household(household_id)


def relationships(household):
    return {nik: m["relationship"] for nik, m in household.members.items()}


def test_a_widow_heading_the_family_keeps_her_children_and_gains_a_mother_in_law(app):
    household = head_dies_and(app, three_generations(app), WIFE)
    assert relationships(household) == {
        HEAD["nik"]: "suami",
        WIFE["nik"]: "kepala_keluarga",
        CHILD["nik"]: "anak",
        SON["nik"]: "anak",
        GRANDMOTHER["nik"]: "mertua",
        DAUGHTER_IN_LAW["nik"]: "menantu",
        GRANDCHILD["nik"]: "cucu",
    }
    assert household.relationships_to_review == []


def test_a_son_heading_the_family_leaves_what_the_kk_cannot_tell_for_review(app):
    household_id = three_generations(app)
    household = head_dies_and(app, household_id, SON)
    assert relationships(household) == {
        HEAD["nik"]: "orang_tua",
        WIFE["nik"]: "orang_tua",
        CHILD["nik"]: "famili_lain",  # his sister
        SON["nik"]: "kepala_keluarga",
        GRANDMOTHER["nik"]: "famili_lain",  # his grandmother
        # his wife or a sibling's? his child or a nephew? kept, flagged
        DAUGHTER_IN_LAW["nik"]: "menantu",
        GRANDCHILD["nik"]: "cucu",
    }
    assert sorted(household.relationships_to_review) == sorted(
        [DAUGHTER_IN_LAW["nik"], GRANDCHILD["nik"]]
    )
    correct(app, household_id, DAUGHTER_IN_LAW["nik"], relationship="istri")
    correct(app, household_id, GRANDCHILD["nik"], relationship="anak")
    household = app.get_household(household_id)
    assert household.relationships_to_review == []
    assert household.members[GRANDCHILD["nik"]]["relationship"] == "anak"


def test_a_flagged_relationship_that_still_holds_is_confirmed_by_a_correction(app):
    young_head = person("Rudi", "1995-03-04", "M", 12)
    father = person("Slamet", "1960-05-06", "M", 13)
    household_id = register(
        app, head=young_head, members=[(father, "orang_tua"), (COUSIN, "famili_lain")]
    )
    household = head_dies_and(app, household_id, father, head=young_head)
    assert household.members[young_head["nik"]]["relationship"] == "anak"
    assert household.relationships_to_review == [COUSIN["nik"]]
    # the cousin is the new head's nephew: still famili_lain, which the correction confirms
    correct(app, household_id, COUSIN["nik"], relationship="famili_lain")
    assert app.get_household(household_id).relationships_to_review == []
    # once confirmed, the same value again is nothing to correct
    refused(
        lambda: correct(app, household_id, COUSIN["nik"], relationship="famili_lain"),
        "relationship",
        "correction.unchanged",
    )


def test_a_father_heading_his_sons_family_again_gains_a_wife_a_daughter_in_law_and_grandchildren(
    app,
):
    young_head = person("Rudi", "1995-03-04", "M", 12)
    father = person("Slamet", "1960-05-06", "M", 13)
    mother = person("Sumiati", "1962-07-08", "F", 14)
    wife = person("Lina", "1997-09-10", "F", 15)
    baby = person("Putri", "2022-11-12", "F", 16)
    household_id = register(
        app,
        head=young_head,
        members=[(father, "orang_tua"), (mother, "orang_tua"), (wife, "istri"), (baby, "anak")],
    )
    household = head_dies_and(app, household_id, father, head=young_head)
    assert relationships(household) == {
        young_head["nik"]: "anak",
        father["nik"]: "kepala_keluarga",
        mother["nik"]: "istri",
        wife["nik"]: "menantu",
        baby["nik"]: "cucu",
    }
    assert household.relationships_to_review == []
    # the KK now shows them married (since a day it does not know): kawin for IssueKtp
    assert household.married_on(father["nik"], dt.date(1990, 1, 1))
    assert household.married_on(mother["nik"], dt.date(1990, 1, 1))
