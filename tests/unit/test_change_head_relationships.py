"""ChangeHead and the relationships on the KK (hubungan dalam keluarga), which are relative to
the head: the new head's own relationship says what the others become where the KK leaves no
doubt (a widow heading the family keeps the children as anak, her husband's mother becomes
her mertua; a son heading it makes his mother orang_tua and his siblings famili_lain); where
it does, the old relationship stays and is flagged for review until a CorrectMember sets (or
confirms) it."""

import datetime as dt

import pytest

from app.seed_data import kk_for
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


# ---- relationships stated with the change of head ------------------------------------------


def change_head_stating(app, household_id, new_head, stated, head=HEAD):
    """The head dies; `new_head` heads the family, the change stating these relationships
    ({member: relationship}, in this order) as the new KK shows them."""
    app.record_death(
        {"household_id": household_id, "nik": head["nik"], "date_of_death": "2025-02-03"},
        meta(),
    )
    app.change_head(
        {
            "household_id": household_id,
            "nik": new_head["nik"],
            "new_kk_number": KK2,
            "relationships": [{"nik": m["nik"], "relationship": r} for m, r in stated],
        },
        meta(),
    )
    return app.get_household(household_id)


def test_a_son_heading_the_family_states_what_the_kk_cannot_tell_and_nothing_is_left_to_check(
    app,
):
    household = change_head_stating(
        app,
        three_generations(app),
        SON,
        [(DAUGHTER_IN_LAW, "istri"), (GRANDCHILD, "anak"), (GRANDMOTHER, "famili_lain")],
    )
    assert relationships(household) == {
        HEAD["nik"]: "orang_tua",  # derived, as before
        WIFE["nik"]: "orang_tua",
        CHILD["nik"]: "famili_lain",
        SON["nik"]: "kepala_keluarga",
        GRANDMOTHER["nik"]: "famili_lain",  # stated as derived
        DAUGHTER_IN_LAW["nik"]: "istri",  # stated: no longer in doubt
        GRANDCHILD["nik"]: "anak",
    }
    assert household.relationships_to_review == []
    # stated as his wife, she is married on the KK from then on (IssueKtp's age rule)
    assert household.married_on(DAUGHTER_IN_LAW["nik"], dt.date(2030, 1, 1))


def test_a_stated_relationship_wins_over_the_derived_one_and_the_unstated_doubt_stays(app):
    household = change_head_stating(
        app, three_generations(app), SON, [(CHILD, "lainnya"), (DAUGHTER_IN_LAW, "istri")]
    )
    assert household.members[CHILD["nik"]]["relationship"] == "lainnya"
    assert household.members[DAUGHTER_IN_LAW["nik"]]["relationship"] == "istri"
    # the grandchild was stated by no one: kept and flagged, as without any statement
    assert household.members[GRANDCHILD["nik"]]["relationship"] == "cucu"
    assert household.relationships_to_review == [GRANDCHILD["nik"]]


def test_a_relationship_in_doubt_since_an_earlier_change_is_settled_by_stating_it(app):
    household_id = three_generations(app)
    household = head_dies_and(app, household_id, SON)
    assert DAUGHTER_IN_LAW["nik"] in household.relationships_to_review
    # the son dies too; his mother heads the family and states her daughter-in-law's
    app.record_death(
        {"household_id": household_id, "nik": SON["nik"], "date_of_death": "2025-03-04"},
        meta(),
    )
    app.change_head(
        {
            "household_id": household_id,
            "nik": WIFE["nik"],
            "new_kk_number": kk_for("157101", dt.date(2025, 3, 5), 3),
            "relationships": [{"nik": DAUGHTER_IN_LAW["nik"], "relationship": "menantu"}],
        },
        meta(),
    )
    household = app.get_household(household_id)
    assert household.members[DAUGHTER_IN_LAW["nik"]]["relationship"] == "menantu"
    assert DAUGHTER_IN_LAW["nik"] not in household.relationships_to_review
    assert GRANDCHILD["nik"] in household.relationships_to_review  # still unstated


@pytest.mark.parametrize(
    ("stated", "field", "code"),
    [
        # not on this KK at all
        ([(COUSIN, "famili_lain")], "relationships.0.nik", "member.not_found"),
        # the new head's own relationship is kepala_keluarga
        (
            [(DAUGHTER_IN_LAW, "istri"), (SON, "anak")],
            "relationships.1.nik",
            "relationship.of_new_head",
        ),
        # the deceased head is no member to state
        ([(HEAD, "orang_tua")], "relationships.0.nik", "person.deceased"),
        (
            [(GRANDCHILD, "anak"), (GRANDCHILD, "cucu")],
            "relationships.1.nik",
            "relationship.stated_twice",
        ),
        ([(GRANDCHILD, "keponakan")], "relationships.0.relationship", "relationship.unknown"),
        # his grandmother, older than he is, cannot be his child
        (
            [(GRANDCHILD, "anak"), (GRANDMOTHER, "anak")],
            "relationships.1.relationship",
            "member.older_than_parent",
        ),
    ],
)
def test_a_wrong_statement_names_the_entry_and_stores_nothing(app, stated, field, code):
    household_id = three_generations(app)
    app.record_death(
        {"household_id": household_id, "nik": HEAD["nik"], "date_of_death": "2025-02-03"},
        meta(),
    )
    before = app.get_household(household_id)
    refused(
        lambda: app.change_head(
            {
                "household_id": household_id,
                "nik": SON["nik"],
                "new_kk_number": KK2,
                "relationships": [{"nik": m["nik"], "relationship": r} for m, r in stated],
            },
            meta(),
        ),
        field,
        code,
    )
    after = app.get_household(household_id)
    assert (after.version, after.head_nik, after.kk_number) == (
        before.version,
        HEAD["nik"],
        before.kk_number,
    )
    assert relationships(after) == relationships(before)
