"""ChangeHead with the members' relationships to the new head stated in the same step (the
new KK in hand), over the API and through the form, on SQLite and PostgreSQL: what is stated
is what the register, the API and the household page show, with nothing left marked "Periksa";
a wrong statement is refused naming the entry, with nothing stored."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.seed_data import kk_for, nik_for
from projections.status import store_counts
from tests.integration.conftest import bearer
from tests.integration.test_reviews import project

pytestmark = pytest.mark.integration

REGION = "157101"


def person(name, birth, sex, serial):
    return {
        "nik": nik_for(REGION, dt.date.fromisoformat(birth), sex, serial),
        "name": name,
        "birth_date": birth,
        "sex": sex,
    }


BUDI = person("Budi Santoso", "1970-01-02", "M", 1)
SITI = person("Siti Aminah", "1972-03-04", "F", 2)
AGUS = person("Agus Santoso", "1996-05-06", "M", 3)
RINA = person("Rina Marlina", "1998-07-08", "F", 4)
DEWI = person("Dewi Lestari", "2021-09-10", "F", 5)
STRANGER = person("Hendra", "1990-04-05", "M", 6)
NEW_KK = kk_for(REGION, dt.date(2025, 5, 20), 9)


def post(client, command, body, token):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


@pytest.fixture
def family(web, tokens):
    """Budi's family, Budi dead: his wife Siti, their son Agus, Agus's wife Rina (Budi's
    menantu) and their daughter Dewi (Budi's cucu)."""
    client = web.test_client()
    body = {
        "kk_number": kk_for(REGION, dt.date(2015, 1, 1), 1),
        "kecamatan": "Telanaipura",
        "kelurahan": "Simpang IV Sipin",
        "address": "Jl. Kapten Pattimura No. 5",
        "rt": "007",
        "rw": "002",
        "head": BUDI,
    }
    created = post(client, "RegisterHousehold", body, tokens["cw_sipin"])
    assert created.status_code == 201, created.json
    hid = created.json["stream_id"]
    for member, relationship in (
        (SITI, "istri"),
        (AGUS, "anak"),
        (RINA, "menantu"),
        (DEWI, "cucu"),
    ):
        body = {"household_id": hid, "person": member, "relationship": relationship}
        assert post(client, "AddMember", body, tokens["cw_sipin"]).status_code == 201
    died = {"household_id": hid, "nik": BUDI["nik"], "date_of_death": "2025-05-01"}
    assert post(client, "RecordDeath", died, tokens["cw_sipin"]).status_code == 201
    return client, hid


def members(web, hid, token):
    project(web)
    answer = web.test_client().get(f"/api/v1/households/{hid}", headers=bearer(token))
    assert answer.status_code == 200, answer.json
    return {m["nik"]: m for m in answer.json["members"]}


def stored(web) -> int:
    return store_counts(web.extensions["casework"].store)[0]


def test_the_relationships_stated_over_the_api_are_the_ones_shown_and_none_is_to_check(
    web, family, tokens
):
    client, hid = family
    body = {
        "household_id": hid,
        "nik": AGUS["nik"],
        "new_kk_number": NEW_KK,
        "relationships": [
            {"nik": RINA["nik"], "relationship": "istri"},
            {"nik": DEWI["nik"], "relationship": "Anak"},  # typed as people write it
        ],
    }
    changed = post(client, "ChangeHead", body, tokens["cw_sipin"])
    assert changed.status_code == 201, changed.json
    shown = members(web, hid, tokens["cw_sipin"])
    assert {nik: m["relationship"] for nik, m in shown.items()} == {
        BUDI["nik"]: "orang_tua",
        SITI["nik"]: "orang_tua",  # derived, as without a statement
        AGUS["nik"]: "kepala_keluarga",
        RINA["nik"]: "istri",
        DEWI["nik"]: "anak",
    }
    assert not [nik for nik, m in shown.items() if m["relationship_to_review"]]


def test_without_relationships_the_api_derives_and_marks_the_doubtful_as_before(
    web, family, tokens
):
    client, hid = family
    body = {"household_id": hid, "nik": AGUS["nik"], "new_kk_number": NEW_KK}
    assert post(client, "ChangeHead", body, tokens["cw_sipin"]).status_code == 201
    shown = members(web, hid, tokens["cw_sipin"])
    assert shown[RINA["nik"]]["relationship"] == "menantu"
    assert {nik for nik, m in shown.items() if m["relationship_to_review"]} == {
        RINA["nik"],
        DEWI["nik"],
    }


@pytest.mark.parametrize(
    ("stated", "field", "code"),
    [
        ([(RINA, "istri"), (STRANGER, "anak")], "relationships.1.nik", "member.not_found"),
        ([(RINA, "keponakan")], "relationships.0.relationship", "relationship.unknown"),
        ([(AGUS, "anak")], "relationships.0.nik", "relationship.of_new_head"),
        ([(DEWI, "anak"), (DEWI, "cucu")], "relationships.1.nik", "relationship.stated_twice"),
        ([(SITI, "anak")], "relationships.0.relationship", "member.older_than_parent"),
    ],
)
def test_a_wrong_statement_is_422_naming_the_entry_and_stores_nothing(
    web, family, tokens, stated, field, code
):
    client, hid = family
    before = stored(web)
    body = {
        "household_id": hid,
        "nik": AGUS["nik"],
        "new_kk_number": NEW_KK,
        "relationships": [{"nik": m["nik"], "relationship": r} for m, r in stated],
    }
    refused = post(client, "ChangeHead", body, tokens["cw_sipin"])
    assert refused.status_code == 422, refused.json
    assert code in refused.json["codes"][field] and refused.json["errors"][field], refused.json
    assert not any(m["nik"] in refused.text for m, _ in stated)  # no NIK echoed back
    assert stored(web) == before
    shown = members(web, hid, tokens["cw_sipin"])
    assert shown[BUDI["nik"]]["relationship"] == "kepala_keluarga"


def test_the_openapi_document_describes_the_relationships(web):
    document = web.test_client().get("/api/v1/openapi.json").json
    text = str(document)
    assert "relationships to the new head" in text
    schemas = document["components"]["schemas"]
    command = next(s for name, s in schemas.items() if name.startswith("ChangeHead"))
    field = command["properties"]["relationships"]
    assert field["type"] == "array"
    assert "relationships" not in command.get("required", [])


# ---- the form ------------------------------------------------------------------------------


def form_rows(page: str) -> dict[str, str]:
    """The form's member rows by the name they show."""
    return {
        re.search(r'<th scope="row">([^<]+)<', row).group(1): row
        for row in re.findall(r"<tr[^>]*>\s*<th scope=\"row\">.*?</tr>", page, re.S)
    }


def selected(row: str) -> str:
    found = re.search(r'<option value="([^"]*)" selected>', row)
    return found.group(1) if found else ""


def test_the_form_lists_each_member_with_the_derived_relationship_and_asks_for_the_doubtful(
    web, family
):
    _, hid = family
    client = web.test_client(user="cw_sipin")
    page = client.get(f"/perintah/ChangeHead?household_id={hid}&nik={AGUS['nik']}").text
    assert "Hubungan dengan kepala keluarga baru" in page
    rows = form_rows(page)
    # the deceased head is not listed, nor the new head
    assert set(rows) == {"Siti Aminah", "Rina Marlina", "Dewi Lestari"}
    assert selected(rows["Siti Aminah"]) == "orang_tua"  # his mother: no doubt
    for doubtful in ("Rina Marlina", "Dewi Lestari"):  # his wife? his daughter? the card says
        assert selected(rows[doubtful]) == "" and ">Periksa<" in rows[doubtful]
    assert ">Periksa<" not in rows["Siti Aminah"]
    # another head chosen: the rows follow (Siti heading it keeps Agus as her son)
    page = client.get(
        f"/perintah/ChangeHead?household_id={hid}&nik={SITI['nik']}"
        f"&relationships_for={AGUS['nik']}&relationships.0.nik={SITI['nik']}"
        "&relationships.0.relationship=anak"
    ).text
    rows = form_rows(page)
    assert "Siti Aminah" not in rows and selected(rows["Agus Santoso"]) == "anak"
    assert selected(rows["Rina Marlina"]) == "menantu"
    assert not [name for name, row in rows.items() if ">Periksa<" in row]


def sent_form(client, hid, choices, head=AGUS):
    """The form as the browser sends it: every row's NIK and the choice in its select."""
    page = client.get(f"/perintah/ChangeHead?household_id={hid}&nik={head['nik']}").text
    data = {
        name: value
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }
    data.update({"household_id": hid, "nik": head["nik"], "new_kk_number": NEW_KK})
    for name, row in form_rows(page).items():
        index = re.search(r'name="relationships\.(\d+)\.relationship"', row).group(1)
        data[f"relationships.{index}.relationship"] = choices.get(name, selected(row))
    return data


def test_the_relationships_chosen_in_the_form_are_the_household_s_with_none_to_check(web, family):
    _, hid = family
    client = web.test_client(user="cw_sipin")
    data = sent_form(client, hid, {"Rina Marlina": "istri", "Dewi Lestari": "anak"})
    sent = client.post("/perintah/ChangeHead", data=data)
    assert sent.status_code == 303, sent.text
    project(web)
    page = client.get(f"/rumah-tangga/{hid}").text
    table = re.search(r'<table class="striped members">.*?</table>', page, re.S).group(0)
    shown = {
        name: row
        for row in re.findall(r"<tr>.*?</tr>", table, re.S)
        for name in ("Siti Aminah", "Rina Marlina", "Dewi Lestari")
        if name in row
    }
    assert "Orang tua" in shown["Siti Aminah"]
    assert "Istri" in shown["Rina Marlina"] and "Anak" in shown["Dewi Lestari"]
    assert "relationship-check" not in page and "Periksa" not in "".join(shown.values())


def test_a_doubtful_member_left_unchosen_is_named_in_the_form_and_nothing_is_stored(web, family):
    _, hid = family
    client = web.test_client(user="cw_sipin")
    before = stored(web)
    data = sent_form(client, hid, {"Rina Marlina": "istri"})  # Dewi's left to choose
    refused = client.post("/perintah/ChangeHead", data=data)
    assert refused.status_code == 422
    rows = form_rows(refused.text)
    assert "Wajib diisi." in rows["Dewi Lestari"] and 'aria-invalid="true"' in rows["Dewi Lestari"]
    assert "Wajib diisi." not in rows["Rina Marlina"]
    assert selected(rows["Rina Marlina"]) == "istri"  # what was chosen is kept
    assert stored(web) == before
    # his mother chosen as his child: the domain's refusal is said in her row
    chosen = {"Siti Aminah": "anak", "Rina Marlina": "istri", "Dewi Lestari": "anak"}
    refused = client.post("/perintah/ChangeHead", data=sent_form(client, hid, chosen))
    assert refused.status_code == 422
    rows = form_rows(refused.text)
    assert "Anak tidak mungkin lahir sebelum" in rows["Siti Aminah"]
    assert "Anak tidak mungkin" not in rows["Dewi Lestari"]
    assert stored(web) == before


def test_rows_chosen_for_another_head_are_refused_not_stated_for_the_one_sent(web, family):
    """The head changed in the form without its rows following (no script): the rows were
    chosen for Agus, the head sent is Siti; applied to her they would make her own son's
    wife her istri."""
    _, hid = family
    client = web.test_client(user="cw_sipin")
    before = stored(web)
    data = sent_form(client, hid, {"Rina Marlina": "istri", "Dewi Lestari": "anak"})
    refused = client.post("/perintah/ChangeHead", data={**data, "nik": SITI["nik"]})
    assert refused.status_code == 422
    assert "Hubungan dipilih untuk kepala keluarga baru yang lain" in refused.text
    assert stored(web) == before
    # the form now lists the rows for Siti, her son among them
    assert "Agus Santoso" in form_rows(refused.text)
