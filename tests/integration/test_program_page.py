"""The program page through the web blueprint: the errors, their CSV, the what-if form's
answers (a result, 422 naming the field), 404 for an unknown program."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.integration.conftest import add_users, authorized_client
from tests.integration.test_program_errors_api import (
    META,
    families,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.integration


@pytest.fixture
def browser(web):
    client = web.test_client()
    with client.session_transaction() as session:
        session["csrf"] = "t"
    return client


def test_the_page_shows_the_errors_and_an_unknown_program_is_404(browser, families):  # noqa: F811
    page = browser.get("/program/PKH")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Kesalahan inklusi: 1." in html
    assert "Kesalahan eksklusi: 2." in html
    assert families["included"][:8] in html
    assert "desil keluarga 6, syarat ≤ 4" in html  # the rule's detail, in Indonesian
    assert 'href="/program"' in html  # the navigation leads to the programs
    # the bars' colours are told before the table of kelurahan (they were told after it)
    key = re.search(r'<p class="chart-key">(.*?)</p>', html, re.S)
    assert key and html.index(key.group(0)) < html.index("<caption>Kesalahan per kelurahan")
    words = re.sub(r"<[^>]+>|\s+", " ", key.group(1))
    assert "Inklusi" in words and "Eksklusi" in words and "Perlu ditinjau" in words, words
    assert browser.get("/program/NOPE").status_code == 404


def test_the_csv_link_downloads_the_families(browser, families):  # noqa: F811
    answer = browser.get("/program/PKH/kesalahan.csv?kelurahan=Tahtul Yaman")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["Jenis kesalahan"], r["ID rumah tangga"]) for r in rows] == [
        ("Kesalahan eksklusi", families["excluded_tahtul"])
    ]


def _form(**rules: str) -> dict[str, str]:
    base = {
        "csrf_token": "t",
        "rules.max_desil": "4",
        "rules.min_residence_months": "0",
        "rules.combinable_with": "",
        "rules.recipient": "adult_woman",
    }
    return {**base, **rules}


HTMX = {"HX-Request": "true", "HX-Target": "what-if"}


def test_the_what_if_form_answers_with_the_result_swapped_in(browser, families):  # noqa: F811
    answer = browser.post(
        "/program/PKH/what-if", data=_form(**{"rules.max_desil": "5"}), headers=HTMX
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "<html" not in html  # only the section
    assert "sekarang: 3; menurut rancangan: 5." in html
    assert families["desil5_sipin"][:8] in html and families["desil5_tahtul"][:8] in html


def test_a_bad_draft_is_422_naming_the_field_and_a_post_without_its_token_is_refused(
    web,
    browser,
    families,  # noqa: F811
):
    answer = browser.post(
        "/program/PKH/what-if", data=_form(**{"rules.max_desil": "11"}), headers=HTMX
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'id="wi-max-desil"' in html and 'aria-invalid="true"' in html
    assert "Hasil rancangan" not in html
    # a program to combine with that does not exist: said at its field, no result
    unknown = browser.post(
        "/program/PKH/what-if", data=_form(**{"rules.combinable_with": "NOPE"}), headers=HTMX
    )
    assert unknown.status_code == 422
    assert "bukan program yang sudah ditetapkan" in unknown.get_data(as_text=True)
    assert "Hasil rancangan" not in unknown.get_data(as_text=True)
    refused = web.test_client().post("/program/PKH/what-if", data=_form())
    assert refused.status_code == 400


def test_the_what_if_form_shows_every_rule_and_checks_the_decile_source_parts(
    browser,
    families,  # noqa: F811
):
    html = browser.get("/program/PKH").get_data(as_text=True)
    # flags are switches; the decile source rule is shown by its three parts, in Indonesian
    assert 'name="rules.serves_without_nik" type="checkbox"' in html
    assert 'name="rules.desil_source.verification_overrides" type="checkbox"' in html
    assert 'value="DTSEN, VERVAL, DTKS, P3KE"' in html
    assert "Desil source" not in html
    sources = {
        "rules.desil_source.order": "DTSEN, DTKS",
        "rules.desil_source.tolerance": "2",
    }
    answer = browser.post("/program/PKH/what-if", data=_form(**sources), headers=HTMX)
    assert answer.status_code == 200
    unknown = {**sources, "rules.desil_source.order": "DTSEN, BPS"}
    answer = browser.post("/program/PKH/what-if", data=_form(**unknown), headers=HTMX)
    assert answer.status_code == 422
    assert 'id="wi-desil-source-order"' in answer.get_data(as_text=True)
    too_far = {**sources, "rules.desil_source.tolerance": "12"}
    answer = browser.post("/program/PKH/what-if", data=_form(**too_far), headers=HTMX)
    assert answer.status_code == 422
    assert 'id="wi-desil-source-tolerance"' in answer.get_data(as_text=True)


def test_a_later_version_of_the_rules_is_shown_as_such_not_as_the_rules_in_force(
    web,
    browser,
    families,  # noqa: F811
):
    # approved today, in force only from 2099: the page and the what-if's form keep showing
    # version 1 as the rules in force, and name version 2 with its date
    casework = web.extensions["casework"].casework
    casework.change_program_rules(
        {"code": "PKH", "rules": {"max_desil": 2}, "effective_from": "2099-01-01"}, META
    )
    html = browser.get("/program/PKH").get_data(as_text=True)
    assert "Aturan versi 1, berlaku sejak 1 Januari 2025" in html
    assert "versi 2 berlaku mulai 1 Januari 2099" in html
    assert 'name="rules.max_desil" type="text" value="4"' in html


def test_the_csv_says_the_reasons_in_the_pages_language(browser, families):  # noqa: F811
    # as the page says them: the rule's name and its detail in Indonesian, not the rule's
    # code and the English detail (the API's CSV keeps those)
    answer = browser.get("/program/PKH/kesalahan.csv?lang=id")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    [included] = [r for r in rows if r["ID rumah tangga"] == families["included"]]
    assert "Desil tertinggi: desil keluarga 6, syarat ≤ 4" in included["Alasan"]
    assert "max_desil" not in included["Alasan"]


def _download(browser, path: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(browser.get(path).get_data(as_text=True).lstrip("\ufeff"))))


def test_the_csv_is_headed_in_the_pages_language_and_the_apis_keeps_its_names(
    web,
    browser,
    families,  # noqa: F811
):
    """The page's download says its columns and each error's kind as the page does, in
    Bahasa Indonesia unless the person chose English; the API's file keeps its names."""
    browser.get("/program/PKH?lang=id")
    rows = _download(browser, "/program/PKH/kesalahan.csv")
    assert rows[0] == [
        "Jenis kesalahan",
        "ID rumah tangga",
        "Kelurahan",
        "Bantuan program yang berjalan",
        "Alasan",
    ]
    kinds = {r[1]: r[0] for r in rows[1:]}
    assert kinds[families["included"]] == "Kesalahan inklusi"
    assert kinds[families["excluded_tahtul"]] == "Kesalahan eksklusi"

    browser.get("/program/PKH?lang=en")
    rows = _download(browser, "/program/PKH/kesalahan.csv")
    assert rows[0] == [
        "Kind of error",
        "Household ID",
        "Kelurahan",
        "Running benefits of the program",
        "Reasons",
    ]
    [included] = [r for r in rows if r[1] == families["included"]]
    assert included[0] == "Inclusion error" and "Highest decile" in included[4]

    api = authorized_client(web, add_users(web, ["sup1"])["sup1"])
    for language in ("id", "en"):
        answer = api.get("/api/v1/programs/PKH/errors.csv", headers={"Accept-Language": language})
        rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
        assert rows[0] == ["kind", "household_id", "kelurahan", "benefits", "reasons"]
        assert {r[0] for r in rows[1:]} == {"inclusion", "exclusion"}


def test_the_kelurahan_filter_reads_any_case_and_refuses_a_name_the_city_has_not(
    browser,
    families,  # noqa: F811
):
    # typed in lower case it finds the kelurahan; a typo is 422 at the filter, not "0 errors"
    html = browser.get("/program/PKH?kelurahan=tahtul yaman").get_data(as_text=True)
    assert "Kesalahan eksklusi: 1." in html and 'value="Tahtul Yaman"' in html
    typo = browser.get("/program/PKH?kelurahan=Tahtul Yamann")
    assert typo.status_code == 422
    html = typo.get_data(as_text=True)
    assert 'id="f-kelurahan-error"' in html and "Kesalahan eksklusi: 0." not in html
    refused = browser.get("/program/PKH/kesalahan.csv?kelurahan=Tahtul Yamann")
    assert refused.status_code == 422
    said = refused.get_data(as_text=True)  # the field named and what to do
    assert "Kelurahan: Kelurahan ini tidak ada di Kota Jambi" in said
    assert "Permintaan tidak dapat dibaca" not in said
    answer = browser.get("/program/PKH/kesalahan.csv?kelurahan=tahtul yaman")
    assert families["excluded_tahtul"] in answer.get_data(as_text=True)
