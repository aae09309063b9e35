"""CorrectMember (rectification, UU PDP art. 6): a member's name, birth date or sex corrected
as the KTP or KK shows it, on the in-memory store; the NIK never changes, so a birth date or
sex that disagrees with it is refused naming the field."""

import uuid

import pytest

from app.schemas import Invalid, load
from domain.errors import DomainError
from tests.support.apps import memory_casework
from tests.unit.test_household_commands import (
    CHILD,
    HEAD,
    SON,
    WIFE,
    meta,
    person,
    refused,
    register,
)

AUNT = person("Sarinah", "2019-05-04", "F", 5)


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


@pytest.fixture
def family(app):
    return register(app, members=[(WIFE, "istri"), (CHILD, "anak"), (SON, "anak")])


def correct(app, household_id, nik, **fields):
    return app.correct_member({"household_id": household_id, "nik": nik, **fields}, meta())


def replayed(app, household_id):
    """The household folded from its events alone (as time travel folds them)."""
    state = None
    for domain_event in app.repository.event_store.get(uuid.UUID(household_id)):
        state = domain_event.mutate(state)
    return state


def test_a_name_typed_wrong_is_corrected_and_the_rest_stays(app, family):
    stored = correct(app, family, WIFE["nik"], name="Siti Aminah Putri")
    member = app.get_household(family).members[WIFE["nik"]]
    assert (member["name"], member["birth_date"], member["sex"]) == (
        "Siti Aminah Putri",
        WIFE["birth_date"],
        "F",
    )
    assert stored.version == app.get_household(family).version
    assert replayed(app, family).members[WIFE["nik"]]["name"] == "Siti Aminah Putri"


def test_a_birth_date_is_corrected_only_in_agreement_with_the_nik(app, family):
    # an aunt's NIK holds 04-05-19: 2019 typed for 1919 is a correction the NIK agrees with
    app.add_member({"household_id": family, "person": AUNT, "relationship": "famili_lain"}, meta())
    correct(app, family, AUNT["nik"], birth_date="1919-05-04")
    assert app.get_household(family).members[AUNT["nik"]]["birth_date"] == "1919-05-04"
    # a child's 1915 for 2015 agrees with the NIK, but would make her older than her parents
    refused(
        lambda: correct(app, family, CHILD["nik"], birth_date="1915-06-07"),
        "birth_date",
        "member.older_than_parent",
    )
    # another day or a man's sex for a woman's NIK: the NIK is corrected at Dukcapil
    refused(
        lambda: correct(app, family, SON["nik"], birth_date="2000-02-04"),
        "birth_date",
        "correction.nik_disagrees",
    )
    refused(
        lambda: correct(app, family, WIFE["nik"], sex="M"),
        "sex",
        "correction.nik_disagrees",
    )
    assert app.get_household(family).members[SON["nik"]]["birth_date"] == SON["birth_date"]


def test_an_unknown_or_removed_member_is_not_corrected(app, family):
    refused(
        lambda: correct(app, family, "1571010101900009", name="Siapa"),
        "nik",
        "member.not_found",
    )
    app.remove_member(
        {
            "household_id": family,
            "nik": SON["nik"],
            "kind": "moved_out",
            "effective_date": "2025-01-10",
        },
        meta(),
    )
    refused(
        lambda: correct(app, family, SON["nik"], name="Andi Saputra"), "nik", "member.not_active"
    )


def test_a_correction_names_something_that_changes(app, family):
    refused(lambda: correct(app, family, HEAD["nik"]), "name", "correction.empty")
    refused(
        lambda: correct(app, family, HEAD["nik"], name=HEAD["name"], sex="M"),
        "name",
        "correction.unchanged",
    )
    refused(
        lambda: correct(app, family, HEAD["nik"], birth_date="1890-01-01"),
        "birth_date",
        "birth_date.too_old",
    )
    assert app.get_household(family).version == 4  # registered, three members: nothing more


def _codes(payload):
    with pytest.raises(Invalid) as invalid:
        load("CorrectMember", payload)
    return invalid.value.codes


def test_the_schema_holds_a_correction_to_the_name_rules_and_the_nik():
    base = {
        "household_id": "0b7c9a52-3a9e-4f54-8a0e-2f1d6c1b9e10",
        "nik": WIFE["nik"],
        "reason": "KTP asli",
    }
    assert load("CorrectMember", {**base, "name": "  Siti   Aminah "})["name"] == "Siti Aminah"
    assert _codes({**base, "name": "Siti 2"}) == {"name": ["name.characters"]}
    assert _codes(base) == {"name": ["correction.empty"]}
    assert _codes({**base, "sex": "M"}) == {"sex": ["correction.nik_disagrees"]}
    assert _codes({**base, "birth_date": "1985-03-03"}) == {
        "birth_date": ["correction.nik_disagrees"]
    }
    assert _codes({**base, "name": "Siti", "reason": "  "}) == {"reason": ["field.required"]}
    assert "reason" in _codes({k: v for k, v in base.items() if k != "reason"} | {"name": "Siti"})


def test_the_domain_refuses_what_the_schema_would(app, family):
    with pytest.raises(DomainError):
        correct(app, family, WIFE["nik"], sex="X")


def test_a_parent_is_not_corrected_to_be_born_after_a_child(app):
    grandfather = person("Darmawan", "1925-04-05", "M", 6)
    son = person("Joko", "1990-07-08", "M", 7)
    household_id = register(app, head=grandfather, members=[(son, "anak")])
    # the NIK holds 05-04-25: 2025 agrees with it, but the head would be born after his son
    refused(
        lambda: correct(app, household_id, grandfather["nik"], birth_date="2025-04-05"),
        "birth_date",
        "member.older_than_parent",
    )


# --- the relationship to the head (hubungan dalam keluarga) ---------------------------------


def test_a_relationship_typed_wrong_is_corrected_and_kept_in_the_event(app, family):
    """A grown son recorded as `anak` who is the head's nephew: famili_lain on the KK."""
    correct(app, family, SON["nik"], relationship="famili_lain")
    member = app.get_household(family).members[SON["nik"]]
    assert (member["relationship"], member["name"]) == ("famili_lain", SON["name"])
    assert replayed(app, family).members[SON["nik"]]["relationship"] == "famili_lain"
    [event] = [
        e
        for e in app.repository.event_store.get(uuid.UUID(family))
        if type(e).__name__ == "MemberCorrected"
    ]
    assert event.relationship == "famili_lain" and event.name is None


def test_a_relationship_correction_holds_the_rules_of_the_kk(app, family):
    # the head's own relationship is kepala_keluarga: another head is ChangeHead's
    refused(
        lambda: correct(app, family, HEAD["nik"], relationship="suami"),
        "relationship",
        "relationship.of_head",
    )
    refused(
        lambda: correct(app, family, WIFE["nik"], relationship="kepala_keluarga"),
        "relationship",
        "relationship.unknown",
    )
    refused(
        lambda: correct(app, family, WIFE["nik"], relationship="istri"),
        "relationship",
        "correction.unchanged",
    )
    # a child (anak) is born after the head and the head's spouses, as AddMember holds it
    app.add_member({"household_id": family, "person": AUNT, "relationship": "famili_lain"}, meta())
    correct(app, family, AUNT["nik"], birth_date="1919-05-04")
    refused(
        lambda: correct(app, family, AUNT["nik"], relationship="anak"),
        "relationship",
        "member.older_than_parent",
    )
    # a granddaughter typed as the head's daughter is set right
    correct(app, family, CHILD["nik"], relationship="cucu")
    assert app.get_household(family).members[CHILD["nik"]]["relationship"] == "cucu"


def test_the_schema_takes_a_relationship_to_correct():
    base = {
        "household_id": "0b7c9a52-3a9e-4f54-8a0e-2f1d6c1b9e10",
        "nik": WIFE["nik"],
        "reason": "KK asli",
    }
    assert load("CorrectMember", {**base, "relationship": "Istri"})["relationship"] == "istri"
    assert _codes({**base, "relationship": "kakak"}) == {"relationship": ["relationship.unknown"]}
    assert _codes({**base, "relationship": "kepala_keluarga"}) == {
        "relationship": ["relationship.unknown"]
    }


# --- a deceased member's recorded facts -----------------------------------------------------


def test_a_deceased_members_misspelt_name_and_birth_date_are_corrected_and_the_death_stays(
    app, family
):
    app.record_death(
        {"household_id": family, "nik": HEAD["nik"], "date_of_death": "2025-02-03"}, meta()
    )
    correct(app, family, HEAD["nik"], name="Budi Santosa")
    # the NIK's 01-01-80 reads 2080 too: a day to come is refused as for the living
    refused(
        lambda: correct(app, family, HEAD["nik"], birth_date="2080-01-01"),
        "birth_date",
        "date.in_future",
    )
    member = app.get_household(family).members[HEAD["nik"]]
    assert (member["name"], member["status"], member["date_of_death"]) == (
        "Budi Santosa",
        "deceased",
        "2025-02-03",
    )
    assert replayed(app, family).members[HEAD["nik"]]["status"] == "deceased"


def test_a_deceased_members_birth_date_is_not_corrected_to_after_the_death(app, family):
    aunt = person("Sarinah", "1919-05-04", "F", 5)
    app.add_member({"household_id": family, "person": aunt, "relationship": "famili_lain"}, meta())
    app.record_death(
        {"household_id": family, "nik": aunt["nik"], "date_of_death": "2015-08-09"}, meta()
    )
    # the NIK holds 04-05-19: 2019 agrees with it, yet she died in 2015
    refused(
        lambda: correct(app, family, aunt["nik"], birth_date="2019-05-04"),
        "birth_date",
        "birth_date.after_death",
    )
    assert app.get_household(family).members[aunt["nik"]]["birth_date"] == "1919-05-04"
