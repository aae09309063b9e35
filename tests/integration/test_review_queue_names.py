"""The review queue (`/tinjauan`) says whose benefit each review is about: an upheld objection
opens a review on each of a family's benefits, and two PBI-JK reviews of one family, the
father's and the mother's, read the same but for their recipient. Who reads the household (a
supervisor, an auditor, the case worker of its kelurahan) sees the family (its head, the KK
number masked) and the recipient (name, NIK masked); a program manager, who reads no
household, the rows as before, without names; a case worker of another kelurahan not the
rows at all. An erased recipient shows as erased, as elsewhere.

One app on SQLite for the module (as tests/integration/test_approvals_web.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from adapters import access_log
from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app
from domain.application import SYSTEM, Actor, make_meta
from tests.conftest import TEST_MASTER_KEY
from tests.integration.conftest import USERS
from tests.integration.test_eligibility_api import project
from tests.support.events import TEST_SIGNING_KEY
from tests.support.signin import use_signed_in_clients

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "seed")
FATHER = {"nik": "1571010101800001", "name": "Budi Santoso", "birth_date": "1980-01-01", "sex": "M"}
MOTHER = {"nik": "1571014202850002", "name": "Siti Aminah", "birth_date": "1985-02-02", "sex": "F"}
FAMILY = {
    "kk_number": "1571010101200003",
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kenanga No. 7",
    "rt": "001",
    "rw": "002",
    "head": FATHER,
}
# a second family of the kelurahan, whose recipient is erased after her review opened
NEIGHBOUR = {
    "nik": "1571010303900004",
    "name": "Rahmat Hidayat",
    "birth_date": "1990-03-03",
    "sex": "M",
}
ERASED_WIFE = {
    "nik": "1571014404920005",
    "name": "Dewi Lestari",
    "birth_date": "1992-04-04",
    "sex": "F",
}
OTHER_FAMILY = {**FAMILY, "kk_number": "1571010101200009", "head": NEIGHBOUR}
MASKED = {  # as the page shows the numbers: first 4 and last 2 digits
    FATHER["nik"]: "1571**********01",
    MOTHER["nik"]: "1571**********02",
    FAMILY["kk_number"]: "1571**********03",
}
NO_MATCH = "Tidak ada tinjauan terbuka yang cocok."


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def queue_rows(page: str) -> list[str]:
    """The queue's rows as a reader sees them (their text)."""
    return [visible(row) for row in re.findall(r'<tr class="review[^"]*">.*?</tr>', page, re.S)]


def recipient(row: str) -> str:
    """The text of a row's Recipient cell."""
    found = re.search(r'<td data-label="Penerima">(.*?)</td>', row, re.S)
    return visible(found.group(1)) if found else ""


def pbi(household_id: str, nik: str) -> dict[str, str]:
    return {
        "household_id": household_id,
        "nik": nik,
        "program": "PBI-JK",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "amount": 42000,
    }


def open_review(casework, household_id: str, benefit_id: str) -> None:
    """What the policies do when an objection is upheld: a review of each of its benefits."""
    casework.open_benefit_review(
        {
            "household_id": household_id,
            "benefit_id": benefit_id,
            "cause": "objection",
            "deadline": "2026-12-21",
        },
        META,
    )


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[Flask]:
    """The Santoso family of Simpang IV Sipin: PBI-JK for the father and for the mother,
    each under review; the Hidayat family next door: PBI-JK for the wife, under review, then
    her data erased."""
    where = tmp_path_factory.mktemp("review-queue-names")
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
    casework.define_program(
        {
            "code": "PBI-JK",
            "name": "Penerima Bantuan Iuran Jaminan Kesehatan",
            "opd": "DINSOS",
            "funding": "APBN",
            "kind": "insurance",
            "rules": {"recipient": "any_member"},
            "effective_from": "2025-01-01",
        },
        META,
    )
    santoso = str(casework.register_household(FAMILY, META).stream_id)
    casework.add_member({"household_id": santoso, "person": MOTHER, "relationship": "istri"}, META)
    hidayat = str(casework.register_household(OTHER_FAMILY, META).stream_id)
    casework.add_member(
        {"household_id": hidayat, "person": ERASED_WIFE, "relationship": "istri"}, META
    )
    for household_id, nik in (
        (santoso, FATHER["nik"]),
        (santoso, MOTHER["nik"]),
        (hidayat, ERASED_WIFE["nik"]),
    ):
        casework.grant_benefit(pbi(household_id, nik), META)
    for household_id in (santoso, hidayat):
        for benefit_id in casework.get_household(household_id).benefits:
            open_review(casework, household_id, benefit_id)
    erasure = {"household_id": hidayat, "nik": ERASED_WIFE["nik"], "reason": "Permohonan subjek"}
    approval_id = casework.request_approval(
        "RequestErasure", erasure, make_meta(Actor(id="rina", role="caseworker"), "ui")
    ).stream_id
    casework.approve_change(
        {"approval_id": approval_id, "note": "ok"},
        make_meta(Actor(id="yusuf", role="supervisor"), "ui"),
    )
    project(app)
    app.config["WORLD"] = {"santoso": santoso, "hidayat": hidayat}
    yield app
    app.extensions["casework"].close()


def test_two_reviews_of_one_familys_benefits_name_each_recipient(web):
    """The father's and the mother's PBI-JK under review: each row names its recipient (name,
    NIK masked) and the family (its head, the KK number masked), for every household reader;
    no number in clear."""
    santoso = web.config["WORLD"]["santoso"]
    for user in ("sup1", "auditor", "cw_sipin"):
        page = web.test_client(user=user).get("/tinjauan")
        assert page.status_code == 200, user
        html = page.get_data(as_text=True)
        rows = [row for row in re.findall(r'<tr class="review[^"]*">.*?</tr>', html, re.S)]
        family = [row for row in rows if f"/rumah-tangga/{santoso}" in row]
        assert len(family) == 2, (user, [visible(row) for row in family])
        # the two rows can be told apart: each names its own recipient
        assert sorted(recipient(row) for row in family) == sorted(
            f"{person['name']} {MASKED[person['nik']]}" for person in (FATHER, MOTHER)
        ), user
        for row in map(visible, family):
            assert "PBI-JK" in row and "sanggahan diterima" in row, row
            assert f"{FATHER['name']} Nomor KK {MASKED[FAMILY['kk_number']]}" in row, row
        for number in (FATHER["nik"], MOTHER["nik"], FAMILY["kk_number"]):
            assert number not in html, user


def test_an_erased_recipient_shows_as_erased(web):
    hidayat = web.config["WORLD"]["hidayat"]
    html = web.test_client(user="sup1").get("/tinjauan").get_data(as_text=True)
    (row,) = (
        r
        for r in re.findall(r'<tr class="review[^"]*">.*?</tr>', html, re.S)
        if f"/rumah-tangga/{hidayat}" in r
    )
    assert recipient(row) == "[dihapus]", visible(row)
    assert NEIGHBOUR["name"] in visible(row)  # the family's head
    assert ERASED_WIFE["name"] not in html


def test_a_case_worker_of_another_kelurahan_sees_no_row_of_that_family(web):
    html = web.test_client(user="cw_pelayangan").get("/tinjauan").get_data(as_text=True)
    assert queue_rows(html) == [] and NO_MATCH in html
    for person in (FATHER, MOTHER, NEIGHBOUR):
        assert person["name"] not in html
    assert MASKED[FATHER["nik"]] not in html


def test_a_program_manager_sees_the_programs_reviews_without_names(web):
    """A program manager reads the queue of their OPD's programs but no household: the rows
    as before, with no name, NIK or KK number, masked or not."""
    html = web.test_client(user="pm_dinsos").get("/tinjauan").get_data(as_text=True)
    rows = queue_rows(html)
    assert len(rows) == 3 and all("PBI-JK" in row for row in rows), rows
    assert "Penerima" not in html
    for person in (FATHER, MOTHER, NEIGHBOUR, ERASED_WIFE):
        assert person["name"] not in html
    for number in (*MASKED, *MASKED.values()):
        assert number not in html


def test_the_families_the_queue_names_are_in_the_read_log(web):
    """Naming a family reads it: the supervisor's look at the queue is in the read log with
    the family's members, as a search's; the program manager's, which names no one, is not."""
    svc = web.extensions["casework"]
    santoso = web.config["WORLD"]["santoso"]
    for user in ("sup1", "pm_dinsos"):
        assert web.test_client(user=user).get("/tinjauan").status_code == 200
    reads = [
        row
        for row in access_log.reads_of(svc.store, [santoso])
        if row["endpoint"] == "GET /tinjauan"
    ]
    readers = {row["actor_id"] for row in reads}  # the module's earlier tests read too
    assert "sup1" in readers and "pm_dinsos" not in readers, readers
    members = {access_log.nik_hash(svc.settings.secret_key, p["nik"]) for p in (FATHER, MOTHER)}
    assert all(members <= access_log.subjects_of(row) for row in reads)


def test_the_kelurahan_filter_takes_any_case_and_refuses_a_name_the_city_has_not(web):
    """A supervisor typing the kelurahan in lowercase got "no open review matches" for a
    kelurahan with reviews, and a misspelled one the same empty answer: read as the program
    page reads it, and an unknown one said at the field (422)."""
    santoso = web.config["WORLD"]["santoso"]
    client = web.test_client(user="sup1")
    for typed in ("Simpang IV Sipin", "simpang iv sipin", "  SIMPANG IV SIPIN "):
        page = client.get("/tinjauan", query_string={"kelurahan": typed})
        assert page.status_code == 200, typed
        html = page.get_data(as_text=True)
        assert f"/rumah-tangga/{santoso}" in html, typed
        # the filter's list shows the kelurahan chosen as the city names it
        assert 'value="Simpang IV Sipin" selected' in html, typed
    unknown = client.get("/tinjauan", query_string={"kelurahan": "Simpang Empat Sipinn"})
    assert unknown.status_code == 422
    html = unknown.get_data(as_text=True)
    assert "Kelurahan ini tidak ada di Kota Jambi" in html
    assert (
        'aria-invalid="true"' in html
        and "selected" not in html.split('id="f-kelurahan"')[1].split("</select>")[0]
    )
    assert "Tidak ada tinjauan terbuka yang cocok" not in html
