"""A command form sent twice (a double click on Simpan, or the back button and Simpan again)
is saved once: the second sending gets the first one's outcome and is told so, while the
form changed and sent again, or sent again after errors were fixed, is saved."""

from __future__ import annotations

import re

import pytest

from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from domain.city import today
from tests.integration.test_api import HEAD, HOUSEHOLD
from tests.support.signin import csrf_of

pytestmark = pytest.mark.integration

PERSON = {
    "name": "Bapak berkaos merah",
    "estimated_birth_year": "1970",
    "sex": "M",
    "found_at": "Emperan Pasar Angso Duo",
    "kecamatan": "Telanaipura",
}


def form_of(client, path: str) -> dict[str, str]:
    """The hidden fields of the command form a browser would send back."""
    page = client.get(path).text
    key = re.search(r'name="form_key" value="([^"]+)"', page)
    assert key, "the form carries no key of its own"
    return {"csrf_token": csrf_of(page), "form_key": key.group(1)}


def persons_offered(client) -> list[str]:
    page = client.get("/perintah/AddPersonNote").text
    found = re.search(r'<select id="f-person_id".*?</select>', page, re.S)
    assert found, "no list of persons"
    return re.findall(r'<option value="([^"]+)"', found.group(0))


def test_a_person_registered_by_a_double_click_is_registered_once(web):
    client = web.test_client(user="cw_sipin")
    sent = {**form_of(client, "/perintah/RegisterHomelessPerson"), **PERSON}

    first = client.post("/perintah/RegisterHomelessPerson", data=sent)
    again = client.post("/perintah/RegisterHomelessPerson", data=sent)

    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    page = client.get(again.headers["Location"]).text
    assert "Formulir ini terkirim dua kali; disimpan satu kali saja." in page
    assert len(persons_offered(client)) == 1
    # the first sending's outcome: the same person's id, not a second one
    [person_id] = persons_offered(client)
    assert person_id in page

    # the form changed (another person) and sent again is a new command
    other = {**sent, "name": "Ibu berkerudung biru"}
    assert client.post("/perintah/RegisterHomelessPerson", data=other).status_code == 303
    assert len(persons_offered(client)) == 2


def test_a_request_sent_twice_waits_once_for_a_supervisor(web):
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "api")
    seed_catalog(casework, meta)
    household_id = casework.register_household(HOUSEHOLD, meta).stream_id
    client = web.test_client(user="cw_sipin")
    path = f"/perintah/GrantBenefit?household_id={household_id}"
    day = today()
    grant = {
        **form_of(client, path),
        "household_id": str(household_id),
        "nik": HEAD["nik"],
        "program": "PKH",
        "period_start": day.replace(month=1, day=1).isoformat(),
        "period_end": day.replace(month=12, day=31).isoformat(),
        "amount": "",  # forgotten: errors to fix first
    }

    refused = client.post("/perintah/GrantBenefit", data=grant)
    assert refused.status_code == 422
    assert casework.pending_approvals() == []
    # fixed and sent (the same form: its key), then sent again by a double click
    fixed = {**grant, "amount": "750000"}
    assert client.post("/perintah/GrantBenefit", data=fixed).status_code == 303
    again = client.post("/perintah/GrantBenefit", data=fixed)

    assert again.status_code == 303 and again.headers["Location"] == "/persetujuan"
    assert len(casework.pending_approvals()) == 1
    assert "disimpan satu kali saja" in client.get("/persetujuan").text
