"""The web UI speaks one language per page: Bahasa Indonesia by default, English after the
EN switch. Words found in the wrong language (or a field named by its code) by a language
audit of the pages, checked in both languages."""

from __future__ import annotations

import html
import re

from flask import render_template

from adapters import chain
from domain.application import SYSTEM, make_meta
from tests.integration.test_command_forms import HEAD, HOUSEHOLD
from tests.support.signin import csrf_of


def visible(page: str) -> str:
    """The page's text as a reader sees it: no tags, scripts or attribute values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def client_in(web, lang: str):
    client = web.test_client()
    client.get(f"/?lang={lang}")  # the switch is kept for the session
    return client


def new_household(web) -> str:
    casework = web.extensions["casework"].casework
    return casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id


def test_the_move_form_names_its_date_in_the_page_language(web):
    """The hint under 'when it happened' on the move form said 'dihitung sejak Moved on'."""
    household_id = new_household(web)
    url = f"/perintah/RelocateHousehold?household_id={household_id}"

    page = visible(client_in(web, "id").get(url).text)
    assert "dihitung sejak Tanggal pindah" in page
    assert "Moved on" not in page

    page = visible(client_in(web, "en").get(url).text)
    assert "it counts from Moved on" in page


def test_a_bad_version_or_moment_on_a_form_is_told_without_field_codes(web):
    """A wrong 'expected version' on a command form said 'expected_version harus ...' (and
    in English 'Give occurred_at in RFC 3339'): the field's code, not its name."""
    household_id = new_household(web)
    for lang, wanted in (
        ("id", "Versi data yang diharapkan harus bilangan bulat 0 atau lebih"),
        ("en", "The expected version must be a whole number, 0 or more"),
    ):
        client = client_in(web, lang)
        form = client.get(f"/perintah/AddCaseNote?household_id={household_id}").text
        token = csrf_of(form)
        answer = client.post(
            "/perintah/AddCaseNote",
            data={
                "csrf_token": token,
                "household_id": household_id,
                "text": "Kunjungan rumah.",
                "expected_version": "12ab",
                "occurred_at": "kemarin",
            },
        )
        assert answer.status_code == 422
        page = visible(answer.text)
        assert wanted in page
        assert "expected_version" not in page and "occurred_at" not in page
    assert "Give the time it happened in RFC 3339" in page  # the English page
    household = web.extensions["casework"].casework.get_household(household_id)
    assert household.version == 1  # nothing stored


def test_the_status_page_says_peristiwa_as_the_other_pages_do(web):
    """The status page said 'event' in Indonesian (Jeda (event), 3 event tersimpan) where
    the audit pages and the household's history say 'peristiwa'."""
    new_household(web)
    page = visible(client_in(web, "id").get("/status").text)
    assert "Penyimpanan peristiwa" in page and "Jeda (peristiwa)" in page
    assert re.search(r"\d peristiwa untuk dikirim", page)
    assert not re.search(r"\bevent\b", page)

    page = visible(client_in(web, "en").get("/status").text)
    assert "Event store" in page and re.search(r"\d events to publish", page)


def test_the_status_page_does_not_call_the_published_count_every_event_stored(web):
    """The store's row counted 4,187 'events stored' while the chain page verified 4,209
    stored events: accounts' and tokens' events are stored, never published. The row says
    what it counts."""
    new_household(web)
    casework = web.extensions["casework"].casework
    casework.add_user("siti.cw", "caseworker", None, ["Legok"], make_meta(SYSTEM, "cli"))
    total = chain.verify(web.extensions["casework"].store).events
    page = visible(client_in(web, "id").get("/status").text)
    shown = int(re.search(r"([\d.]+) peristiwa untuk dikirim", page).group(1).replace(".", ""))
    assert shown < total  # the accounts' events of the test's users are not published
    assert "peristiwa tersimpan" not in page
    assert "akun dan token tidak dikirim" in page


def test_the_status_table_writes_positions_as_its_counts(web):
    """Positions showed as 3457 beside counts written 3.443: the table writes both as the
    page's language writes numbers."""
    rows = [{"label": "Relay", "position": 3457, "lag": 1200, "bar": None, "detail": ""}]
    for lang, position, lag in (("id", "3.457", "1.200"), ("en", "3,457", "1,200")):
        with web.test_request_context(f"/status?lang={lang}"):
            web.preprocess_request()
            html = render_template("_status_table.html", rows=rows, status="ok")
        cells = re.findall(r'<td class="num">([^<]*)</td>', html)
        assert cells == [position, lag], (lang, cells)


def test_the_import_form_writes_the_period_format_as_indonesian_does(web):
    """The import form said 'Periode data (YYYY-Qn)' where the command forms say TTTT-Qn
    (tahun), and its error did not say what n is."""
    client = client_in(web, "id")
    page = client.get("/impor").text
    assert "Periode data (TTTT-Qn)" in visible(page)
    token = csrf_of(page)
    answer = client.post("/impor", data={"csrf_token": token, "jenis": "dtks", "periode": "2026"})
    assert answer.status_code == 422
    assert "Isi periode sebagai TTTT-Qn (triwulan 1 sampai 4)" in visible(answer.text)
    assert "YYYY" not in visible(answer.text)

    assert "Period of the data (YYYY-Qn)" in visible(client_in(web, "en").get("/impor").text)


def test_the_subject_access_report_names_event_fields_in_the_page_language(web):
    """The report's processing trail listed 'Head identity: —' among the Indonesian labels of
    a registration; a review's data read 'Cause: nib', 'Trigger: ...'."""
    new_household(web)
    page = visible(client_in(web, "id").get(f"/privasi/akses-subjek?nik={HEAD['nik']}").text)
    assert "KTP dan kedatangan kepala keluarga: —" in page
    assert "Head identity" not in page

    page = visible(client_in(web, "en").get(f"/privasi/akses-subjek?nik={HEAD['nik']}").text)
    assert "The head's KTP and arrival: —" in page

    from app.subject_access.render import data_text

    review = {
        "cause": "nib",
        "trigger": "b1a41e4f-2353-5f20-8922-951c3f32cd9d",
        "deceased": False,
        "ktp_issued_on": "2011-07-13",
        "residence_since": None,
    }
    with web.test_request_context("/?lang=id"):
        web.preprocess_request()
        text = data_text(review)
    assert text.startswith("Sebab: NIB didaftarkan; Peristiwa pemicunya: b1a41e4f"), text
    assert "Meninggal: tidak" in text and "Tanggal terbit KTP: 13 Juli 2011" in text
    assert "Tinggal di sini sejak: —" in text


def test_every_field_of_a_households_events_has_a_label_of_its_own(web):
    """The report's trail falls back to the field's code made readable ('Previous kk
    number') for a field with no label: every field a household's events carry has one."""
    from app.messages import TEXT
    from consumers.event_schemas import schemas

    fields = {
        name
        for (stream, _kind), schema in schemas().items()
        if stream == "Household"
        for name in schema.fields
    }
    assert "previous_kk_number" in fields
    assert sorted(name for name in fields if f"field.{name}" not in TEXT) == []

    from app.subject_access.render import data_text

    with web.test_request_context("/?lang=id"):
        web.preprocess_request()
        text = data_text({"previous_kk_number": "1571010101200003", "replaces_desil": 4})
    assert text == "Nomor KK sebelumnya: 1571010101200003; Menggantikan desil: 4"
