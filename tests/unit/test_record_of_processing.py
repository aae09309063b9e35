"""The record of processing is generated from the catalog, the commands and the roles."""

from dataclasses import replace

import pytest

from app.privacy import LEGAL_BASES, data_categories, legal_basis, record_of_processing
from domain.accounts import ROLES
from domain.application import SYSTEM, make_meta
from domain.catalog import SEED_PROGRAMS
from domain.commands import COMMANDS
from domain.program import FUNDINGS
from tests.support.apps import memory_casework
from tests.support.i18n import language


@pytest.fixture(autouse=True)
def indonesian():
    """The record's texts come from the gettext catalogs: read them as a page in `id` would."""
    with language("id"):
        yield


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


def define(app, code, funding="APBD", kind="empowerment"):
    app.define_program(
        {
            "code": code,
            "name": f"Program {code}",
            "opd": "DISNAKER",
            "funding": funding,
            "kind": kind,
            "rules": {},
            "effective_from": "2025-01-01",
        },
        make_meta(SYSTEM, "api"),
    )


def test_a_program_defined_later_appears_without_code_changes(app):
    define(app, "PADAT-KARYA")
    record = record_of_processing(app.list_programs())
    codes = [a["program"] for a in record["activities"]]
    assert codes == ["PADAT-KARYA"]
    define(app, "BEASISWA-MISKIN", funding="OTHER", kind="bansos")
    activities = {a["program"]: a for a in record_of_processing(app.list_programs())["activities"]}
    assert set(activities) == {"PADAT-KARYA", "BEASISWA-MISKIN"}
    assert activities["BEASISWA-MISKIN"]["legal_basis"][0].startswith("Dasar hukum belum")
    assert "Program BEASISWA-MISKIN" in activities["BEASISWA-MISKIN"]["purpose"]


def test_apbn_bansos_rests_on_the_social_welfare_law():
    basis = legal_basis("APBN", "bansos")
    assert any("UU 11/2009" in b for b in basis) and any("Perpres 63/2017" in b for b in basis)
    for funding in FUNDINGS:
        assert legal_basis(funding, "bansos")
    assert ("OTHER", None) in LEGAL_BASES


def test_every_seed_funding_and_kind_has_a_basis():
    for program in SEED_PROGRAMS:
        assert "belum" not in legal_basis(program["funding"], program["kind"])[0]


def test_data_categories_come_from_the_command_fields():
    categories = {c["category"]: c for c in data_categories()}
    for expected in ("identity", "names", "birth", "address", "family", "welfare", "benefits"):
        assert expected in categories
    assert {"business", "death", "verification"} <= set(categories)
    assert "RegisterHousehold" in categories["identity"]["collected_by"]
    assert all(c["retention"] for c in categories.values())
    # A new command field of a known kind is picked up without touching the record.
    extra = data_categories([replace(COMMANDS["AddCaseNote"], fields=("household_id", "nik"))])
    assert [c["category"] for c in extra] == ["identity"]


def test_every_role_is_a_recipient_and_agreements_are_an_empty_list(app):
    record = record_of_processing(app.list_programs())
    assert [r["role"] for r in record["recipients"]["roles"]] == list(ROLES)
    assert record["recipients"]["agency_agreements"] == []


def test_the_record_speaks_english_when_asked(app):
    define(app, "BEASISWA-MISKIN", funding="OTHER", kind="bansos")
    with language("en"):
        record = record_of_processing(app.list_programs())
    (activity,) = record["activities"]
    assert activity["legal_basis"][0].startswith("Legal basis not yet set")
    assert record["controller"].startswith("Jambi City Government")
    assert all("tahun" not in c["retention"] for c in record["data_categories"])
