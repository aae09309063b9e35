"""Help before a NIK: a person without papers gets case notes and services as a provisional
person; once LinkIdentity joins them to a NIK, the household page shows that help under the
member."""

from __future__ import annotations

from domain.application import SYSTEM, make_meta
from tests.integration.conftest import add_users, bearer

SON = {"nik": "1571010303000003", "name": "Rahmat Hidayat", "birth_date": "2000-03-03", "sex": "M"}
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
PERSON = {
    "name": "Pak Ujang",
    "sex": "M",
    "found_at": "Emperan Pasar Angso Duo",
    "kecamatan": "Telanaipura",
}


def post(client, command, body, token):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def test_a_person_without_papers_gets_notes_and_services_shown_under_them_once_linked(web):
    tokens = add_users(web, ["cw_sipin", "cw_pelayangan"])
    client = web.test_client()
    person = post(client, "RegisterHomelessPerson", PERSON, tokens["cw_sipin"])
    assert person.status_code == 201, person.json
    person_id = person.json["person_id"]

    note = {"person_id": person_id, "text": "Bersedia dibawa ke rumah singgah."}
    service = {"person_id": person_id, "service": "shelter", "delivered_on": "2025-05-02"}
    # a case worker of another kecamatan may not; nothing is stored
    refused = post(client, "AddPersonNote", note, tokens["cw_pelayangan"])
    assert refused.status_code == 403 and refused.json["codes"] == {"person_id": ["auth.kecamatan"]}
    bad = post(client, "RecordService", {**service, "service": "spa"}, tokens["cw_sipin"])
    assert bad.status_code == 422 and "service" in bad.json["errors"]
    assert post(client, "AddPersonNote", note, tokens["cw_sipin"]).status_code == 201
    assert post(client, "RecordService", service, tokens["cw_sipin"]).status_code == 201

    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "api")
    household_id = casework.register_household(HOUSEHOLD, meta).stream_id
    casework.add_member(
        {"household_id": household_id, "person": SON, "relationship": "anak"}, meta
    )
    casework.link_identity(
        {"person_id": person_id, "household_id": household_id, "nik": SON["nik"]}, meta
    )
    page = client.get(f"/rumah-tangga/{household_id}").text
    section = page.split("Bantuan sebelum NIK diketahui", 1)[1]
    assert "Rahmat Hidayat" in section
    assert "Tempat singgah (panti, rumah singgah)" in section
    assert "Bersedia dibawa ke rumah singgah." in section
