"""The household aggregate and its use cases, on the in-memory store (no I/O)."""

import pytest

from domain.application import SYSTEM, make_meta
from domain.errors import Conflict, DomainError, NotFound
from tests.support.apps import memory_casework

HEAD = {"nik": "1571010101800001", "name": "Budi Santoso", "birth_date": "1980-01-01", "sex": "M"}
WIFE = {"nik": "1571014203850002", "name": "Siti Aminah", "birth_date": "1985-03-02", "sex": "F"}


def registration(**changes):
    cmd = {
        "kk_number": "1571010101200001",
        "kecamatan": "Telanaipura",
        "kelurahan": "Telanaipura",
        "address": "Jl. Sultan Agung No. 12",
        "rt": "001",
        "rw": "002",
        "head": HEAD,
    }
    return {**cmd, **changes}


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


def test_a_registered_family_has_its_head_and_added_members(app):
    stored = app.register_household(registration(), make_meta(SYSTEM, "api"))
    app.add_member(
        {"household_id": stored.stream_id, "person": WIFE, "relationship": "istri"},
        make_meta(SYSTEM, "api"),
    )
    household = app.get_household(stored.stream_id)
    assert household.version == 2
    assert {m["nik"]: m["relationship"] for m in household.members.values()} == {
        HEAD["nik"]: "kepala_keluarga",
        WIFE["nik"]: "istri",
    }
    assert str(app.household_id_for_nik(WIFE["nik"])) == stored.stream_id


def test_a_nik_is_registered_once_across_the_registry(app):
    app.register_household(registration(), make_meta(SYSTEM, "api"))
    with pytest.raises(Conflict) as taken:
        app.register_household(registration(kk_number="1571010101200002"), make_meta(SYSTEM, "api"))
    assert (taken.value.field, taken.value.code) == ("head.nik", "nik.taken")


def test_a_kk_number_is_registered_once(app):
    app.register_household(registration(), make_meta(SYSTEM, "api"))
    other_head = {**WIFE}
    with pytest.raises(Conflict) as taken:
        app.register_household(registration(head=other_head), make_meta(SYSTEM, "api"))
    assert taken.value.code == "kk.taken"


def test_a_stale_expected_version_is_a_conflict_and_stores_nothing(app):
    stored = app.register_household(registration(), make_meta(SYSTEM, "api"))
    with pytest.raises(Conflict) as stale:
        app.add_member(
            {
                "household_id": stored.stream_id,
                "person": WIFE,
                "relationship": "istri",
                "expected_version": 5,
            },
            make_meta(SYSTEM, "api"),
        )
    assert stale.value.code == "version.stale"
    assert app.get_household(stored.stream_id).version == 1
    assert app.household_id_for_nik(WIFE["nik"]) is None


def test_a_nik_that_contradicts_the_birth_date_is_refused(app):
    wrong = {**HEAD, "birth_date": "1981-01-01"}
    with pytest.raises(DomainError) as invalid:
        app.register_household(registration(head=wrong), make_meta(SYSTEM, "api"))
    assert (invalid.value.field, invalid.value.code) == ("head.nik", "nik.birth_date_mismatch")


def test_an_unknown_household_is_not_found(app):
    with pytest.raises(NotFound):
        app.get_household("6bce1aee-35de-46f2-aa42-18baca5b2ac2")
