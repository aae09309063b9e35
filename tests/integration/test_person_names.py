"""A person's name as on the KTP: letters (any script, with accents), spaces and . , ' - and
no digits, brackets or other signs. What is not a name is refused under its field on the
registration form, the member form and their live checks, and by the API (422
`name.characters` at `head.name` / `person.name`); nothing of it is stored."""

from __future__ import annotations

import re

import pytest

from domain.application import SYSTEM, make_meta
from projections.status import store_counts
from tests.integration.conftest import authorized_client
from tests.support.signin import csrf_of

pytestmark = pytest.mark.integration

HEAD = {"nik": "1571015203850007", "name": "Siti Aminah", "birth_date": "1985-03-12", "sex": "F"}
HOUSEHOLD = {
    "kk_number": "1571010101200003",
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 5",
    "rt": "007",
    "rw": "002",
    "head": HEAD,
}
MEMBER = {"nik": "1571011004820002", "name": "Budi", "birth_date": "1982-04-10", "sex": "M"}
MESSAGE = "Nama hanya berisi huruf, spasi, dan tanda . , &#39; - seperti di KTP"


def stored_events(web) -> int:
    return store_counts(web.extensions["casework"].store)[0]


def under_field(page: str, field: str) -> str:
    """The messages shown under a form's field (its `err-` element)."""
    found = re.search(rf'<small id="err-{field.replace(".", "-")}"[^>]*>(.*?)</small>', page, re.S)
    assert found, f"no messages element for {field}"
    return found.group(1)


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "BUDI 2", "SITI (ALM)"])
def test_the_registration_form_refuses_a_name_that_is_no_name_under_its_field(web, name):
    browser = web.test_client(user="cw_sipin")  # a case worker of Simpang IV Sipin
    form = {
        "csrf_token": csrf_of(browser.get("/daftar").text),
        **{key: value for key, value in HOUSEHOLD.items() if key != "head"},
        **{f"head.{key}": value for key, value in HEAD.items()},
        "head.name": name,
    }
    before = stored_events(web)

    answer = browser.post("/daftar", data=form)

    assert answer.status_code == 422
    assert MESSAGE in under_field(answer.text, "head.name")
    assert 'name="head.name"' in answer.text and 'aria-invalid="true"' in answer.text
    assert under_field(answer.text, "head.nik") == ""  # the other fields are fine
    assert stored_events(web) == before
    checked = browser.post("/periksa/RegisterHousehold", data={**form, "_field": "head.name"})
    assert MESSAGE in checked.text

    form["head.name"] = "Siti Nur'aini"
    assert browser.post("/daftar", data=form).status_code == 303
    assert stored_events(web) > before


def test_the_member_form_refuses_a_name_with_digits_under_its_field(web):
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    browser = web.test_client()
    page = browser.get(f"/rumah-tangga/{household_id}").text
    form = {
        "csrf_token": csrf_of(page),
        "expected_version": "1",
        **{f"person.{key}": value for key, value in MEMBER.items()},
        "person.name": "Budi 2",
        "relationship": "suami",
    }

    answer = browser.post(f"/rumah-tangga/{household_id}/anggota", data=form)

    assert answer.status_code == 422
    assert MESSAGE in under_field(answer.text, "person.name")
    assert casework.get_household(household_id).version == 1
    checked = browser.post(
        "/periksa/AddMember", data={**form, "household_id": household_id, "_field": "person.name"}
    )
    assert MESSAGE in checked.text
    form["person.name"] = "Maria-Theresia"
    assert browser.post(f"/rumah-tangga/{household_id}/anggota", data=form).status_code == 303
    members = casework.get_household(household_id).members
    assert members[MEMBER["nik"]]["name"] == "Maria-Theresia"


def test_the_api_answers_422_naming_the_field_and_the_code(web, admin_token):
    client = authorized_client(web, admin_token)
    before = stored_events(web)
    refused = client.post(
        "/api/v1/commands/RegisterHousehold",
        json={**HOUSEHOLD, "head": {**HEAD, "name": "<script>alert(1)</script>"}},
    )
    assert refused.status_code == 422
    assert refused.json["codes"] == {"head.name": ["name.characters"]}
    assert refused.json["errors"]["head.name"][0].startswith("Nama hanya berisi huruf")
    assert "script" not in refused.text  # the value entered is not echoed
    assert stored_events(web) == before

    stored = client.post(
        "/api/v1/commands/RegisterHousehold",
        json={**HOUSEHOLD, "head": {**HEAD, "name": "\u00c9lodie Ma\u2019ruf"}},
    )
    assert stored.status_code == 201, stored.text
    household_id = stored.json["stream_id"]
    refused = client.post(
        "/api/v1/commands/AddMember",
        json={
            "household_id": household_id,
            "person": {**MEMBER, "name": "SITI (ALM)"},
            "relationship": "suami",
        },
    )
    assert refused.status_code == 422
    assert refused.json["codes"] == {"person.name": ["name.characters"]}
    english = client.post(
        "/api/v1/commands/AddMember",
        json={"household_id": household_id, "person": {**MEMBER, "name": "Budi/Santoso"}},
        headers={"Accept-Language": "en"},
    )
    assert english.json["codes"]["person.name"] == ["name.characters"]
    assert english.json["errors"]["person.name"][0].startswith("A name holds only letters")
    added = client.post(
        "/api/v1/commands/AddMember",
        json={
            "household_id": household_id,
            "person": {**MEMBER, "name": "M. Fadli"},
            "relationship": "suami",
        },
    )
    assert added.status_code == 201, added.text


def test_the_openapi_document_gives_a_persons_name_its_pattern_not_a_homeless_persons(web):
    schemas = web.test_client().get("/api/v1/openapi.json").json["components"]["schemas"]
    person = schemas["Person"]["properties"]["name"]
    assert person["pattern"].startswith("^") and "\\p{L}" in person["pattern"]
    assert "no digits" in person["description"]
    assert "pattern" not in schemas["RegisterHomelessPerson"]["properties"]["name"]
