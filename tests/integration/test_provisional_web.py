"""Persons without papers on the web pages: a case worker's forms offer only the persons found
in the kecamatan of their kelurahan (the command path refuses the others, `auth.kecamatan`),
and a request about one waiting for approval names the person and the benefit, not their ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from domain.city import today
from tests.conftest import TEST_MASTER_KEY
from tests.integration.conftest import USERS
from tests.support.events import TEST_SIGNING_KEY
from tests.support.signin import csrf_of, use_signed_in_clients

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "seed")
SIPIN = {  # found in Telanaipura: the kecamatan of cw_sipin's Simpang IV Sipin
    "name": "Pak Ujang",
    "estimated_birth_year": 1975,
    "sex": "M",
    "found_at": "Emperan Pasar Angso Duo",
    "kecamatan": "Telanaipura",
    "notes": None,
}
ELSEWHERE = {**SIPIN, "name": "Mak Inah", "kecamatan": "Pelayangan", "found_at": "Tepi Batanghari"}


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[Flask]:
    where = tmp_path_factory.mktemp("provisional-web")
    settings = Settings.from_env(
        {
            "CASEWORK_STORE": f"sqlite:///{where}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{where}/views.db",
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
            "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
        }
    )
    app = use_signed_in_clients(create_app(bootstrap(settings)), USERS)
    casework = app.extensions["casework"].casework
    seed_catalog(casework, META)
    day = today()
    ids = {}
    for person in (SIPIN, ELSEWHERE):
        person_id = casework.execute("RegisterHomelessPerson", person, META).stream_id
        casework.execute(
            "GrantProvisionalBenefit",
            {
                "person_id": person_id,
                "program": "REHSOS",
                "period_start": day.replace(month=1, day=1).isoformat(),
                "period_end": day.replace(month=12, day=31).isoformat(),
                "amount": 300000,
            },
            META,
        )
        ids[person["name"]] = str(person_id)
    app.config["PERSONS"] = ids
    yield app
    app.extensions["casework"].close()


def offered(page: str, field: str) -> str:
    found = re.search(rf'<select id="f-{field}".*?</select>', page, re.S)
    assert found, f"no {field} list"
    return found.group(0)


def test_a_case_worker_is_offered_only_the_persons_of_their_kecamatan(web):
    ids = web.config["PERSONS"]
    for user, shown, hidden in (
        ("cw_sipin", "Pak Ujang", "Mak Inah"),
        ("cw_pelayangan", "Mak Inah", "Pak Ujang"),
    ):
        client = web.test_client(user=user)
        persons = offered(client.get("/perintah/AddPersonNote").text, "person_id")
        assert shown in persons and ids[shown] in persons, (user, persons)
        assert hidden not in persons and ids[hidden] not in persons, (user, persons)
        # nor the benefits of the other one, asked for by id
        form = client.get(f"/perintah/TerminateProvisionalBenefit?person_id={ids[hidden]}").text
        assert "REHSOS" not in offered(form, "benefit_id"), user
    everyone = offered(
        web.test_client(user="sup1").get("/perintah/AddPersonNote").text, "person_id"
    )
    assert "Pak Ujang" in everyone and "Mak Inah" in everyone


def test_a_request_to_end_a_benefit_before_a_nik_names_the_person_and_the_benefit(web):
    casework = web.extensions["casework"].casework
    person_id = web.config["PERSONS"]["Pak Ujang"]
    [benefit_id] = casework.get_provisional_person(person_id).benefits
    maker = web.test_client(user="cw_sipin")
    form = maker.get(f"/perintah/TerminateProvisionalBenefit?person_id={person_id}").text
    asked = maker.post(
        "/perintah/TerminateProvisionalBenefit",
        data={
            "person_id": person_id,
            "benefit_id": benefit_id,
            "effective_date": today().isoformat(),
            "reason_code": "moved_away",
            "csrf_token": csrf_of(form),
        },
    )
    assert asked.status_code == 303, asked.text[:3000]
    (request,) = casework.pending_approvals()
    page = web.test_client(user="sup1").get("/persetujuan").text
    found = re.search(
        rf'<article class="approval"[^>]*approval-{request.id}.*?</article>', page, re.S
    )
    assert found, page[:3000]
    card = found.group(0)
    assert "Pak Ujang · Telanaipura" in card, card
    assert "REHSOS · " in card, card
    assert person_id not in card and benefit_id not in card, card
