"""The UU PDP subject access report on SQLite and PostgreSQL: everything held about one NIK and
its processing trail (events, reads, what left the system), as JSON, PDF and a web page."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import time
from html import unescape

import pytest

from app import access_log, subject_access
from app.schemas import COMMANDS, example
from domain.application import Actor
from tests.integration.conftest import add_users, bearer
from tests.integration.test_api import HEAD, HOUSEHOLD, HUSBAND

pytestmark = pytest.mark.integration

UNKNOWN_NIK = "1571012107100009"  # well formed, never registered


def post(client, command: str, body: dict, token: str) -> dict:
    response = client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))
    assert response.status_code in (201, 202), (command, response.json)
    return response.json


def relay_published_up_to(web, position: int) -> None:
    """What the relay records once Kafka acknowledged everything up to `position` (the
    store's migrations made the table)."""
    store = web.extensions["casework"].store
    with store.transaction() as cursor:
        cursor.execute(
            "INSERT INTO casework_relay_state (name, position, published, updated_at)"
            " VALUES ('main', ?, ?, '2025-04-21T00:00:00Z')",
            (position, position),
        )


@pytest.fixture
def setup(web):
    """A family (mother = head, husband), a DTSEN assessment, the mother's KTP, a PKH grant
    (asked by sup1, approved by sup2) then suspended; read by an auditor, and handed to an
    agency (recorded in the read log as its feed will record it)."""
    tokens = add_users(web, ["admin", "sup1", "sup2", "cw_sipin", "auditor", "agency"])
    client = web.test_client()
    admin = tokens["admin"]
    registered = post(client, "RegisterHousehold", HOUSEHOLD, admin)
    household_id = registered["stream_id"]
    ref = {"household_id": household_id}
    post(client, "AddMember", {**ref, "person": HUSBAND, "relationship": "suami"}, admin)
    post(
        client,
        "RecordWelfareAssessment",
        {**ref, "source": "DTSEN", "desil": 2, "period": "2025-Q1", "reference": "BPS-2025-02"},
        admin,
    )
    for nik in (HEAD["nik"], HUSBAND["nik"]):
        ktp = {**ref, "nik": nik, "issued_on": "2020-01-15", "arrival": {"type": "born_here"}}
        post(client, "IssueKtp", ktp, admin)
    post(client, "DefineProgram", example(COMMANDS["DefineProgram"].schema), admin)
    grant = {
        **ref,
        "nik": HEAD["nik"],
        "program": "PKH",
        "period_start": "2025-01-01",
        "period_end": "2025-03-31",
        "amount": 750000,
    }
    approval_id = post(client, "GrantBenefit", grant, tokens["sup1"])["approval_id"]
    granted = post(client, "ApproveChange", {"approval_id": approval_id}, tokens["sup2"])
    benefit_id = granted["benefit_id"]
    suspend = {
        **ref,
        "benefit_id": benefit_id,
        "effective_date": "2025-02-01",
        "reason_code": "data_invalid",
    }
    post(client, "SuspendBenefit", {**suspend, "reason": "verifikasi ulang"}, admin)

    read = client.get(
        f"/api/v1/households/{household_id}",
        headers={**bearer(tokens["auditor"]), "X-Access-Reason": "audit tahunan"},
    )
    assert read.status_code == 200
    # An agency reads no household through the API (app/read_policy.py): its data comes
    # through its feed, which logs what it hands over as every read is logged.
    refused = client.get(f"/api/v1/households/{household_id}", headers=bearer(tokens["agency"]))
    assert refused.status_code == 403
    agency = Actor(id="agency", role="agency")
    with web.test_request_context(f"/api/v1/households/{household_id}"):
        access_log.record_households(agency, "api", [{"id": household_id}], "penyaluran BPNT")
    return {
        "tokens": tokens,
        "household_id": household_id,
        "first_position": registered["position"],
        "benefit_id": benefit_id,
    }


def report(web, token: str, nik: str = HEAD["nik"], suffix: str = "", lang: str = ""):
    headers = {**bearer(token), **({"Accept-Language": lang} if lang else {})}
    return web.test_client().get(f"/api/v1/persons/{nik}/subject-access{suffix}", headers=headers)


def test_the_report_holds_the_person_their_events_benefits_reads_and_disclosures(
    web,
    setup,
    caplog,
):
    relay_published_up_to(web, setup["first_position"])
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    response = report(web, setup["tokens"]["auditor"])
    print(f"\nsubject access JSON in {time.perf_counter() - started:.3f} s")
    assert response.status_code == 200, response.json
    body = response.json

    assert body["controller"] == "Pemerintah Kota Jambi — Dinas Sosial"
    assert body["generated_at"] and any("Pasal 32" in b for b in body["legal_basis"])
    person = body["person"]
    assert (person["name"], person["birth_date"], person["sex"]) == (
        HEAD["name"],
        HEAD["birth_date"],
        "F",
    )
    assert (person["relationship"], person["status"]) == ("kepala_keluarga", "active")
    assert person["household_id"] == setup["household_id"]
    assert (person["kk_number"], person["kelurahan"]) == (
        HOUSEHOLD["kk_number"],
        HOUSEHOLD["kelurahan"],
    )

    # The person's events, and not the husband's.
    types = [e["type"] for e in body["events"]]
    for expected in (
        "NikClaimed",
        "HouseholdRegistered",
        "KtpIssued",
        "BenefitGranted",
        "BenefitSuspended",
    ):
        assert expected in types, types
    assert "MemberAdded" not in types
    assert types.count("KtpIssued") == 1
    assert all(HUSBAND["nik"] not in json.dumps(e["data"]) for e in body["events"])
    suspended = next(e for e in body["events"] if e["type"] == "BenefitSuspended")
    assert suspended["reason"] == "verifikasi ulang" and suspended["actor"]["id"] == "admin"
    assert {"occurred_at", "recorded_at", "source", "data"} <= set(suspended)
    positions = [e["position"] for e in body["events"]]
    assert positions == sorted(positions)

    # Benefits with their status history; the family's welfare assessment.
    (benefit,) = body["benefits"]
    assert (benefit["benefit_id"], benefit["program"]) == (setup["benefit_id"], "PKH")
    assert [h["status"] for h in benefit["history"]] == ["active", "suspended"]
    assert benefit["program_name"] == "Program Keluarga Harapan"
    assert [(a["source"], a["desil"]) for a in body["welfare_assessments"]] == [("DTSEN", 2)]

    # Who read it, with the reason; this very report is logged too.
    reads = [(r["actor_id"], r["actor_role"], r["reason"]) for r in body["reads"]]
    assert ("agency", "agency", "penyaluran BPNT") in reads
    assert ("auditor", "auditor", "audit tahunan") in reads
    assert ("auditor", "auditor", subject_access.REASON) in reads
    secret = web.extensions["casework"].settings.secret_key
    store = web.extensions["casework"].store
    last = store.query(f"SELECT nik_hash, reason FROM {access_log.TABLE} ORDER BY id DESC")[0]
    assert last == (access_log.nik_hash(secret, HEAD["nik"]), subject_access.REASON)

    # What left the system: the events the relay published, and the agency's read.
    out = body["disclosures"]
    assert out["relay_position"] == setup["first_position"]
    assert [(p["type"], p["topic"]) for p in out["published_events"]] == [
        ("HouseholdRegistered", "casework.events.v1")
    ]
    assert [(r["actor_id"], r["reason"]) for r in out["agency_reads"]] == [
        ("agency", "penyaluran BPNT")
    ]

    # The NIK is never written to the application's log.
    assert all(HEAD["nik"] not in record.getMessage() for record in caplog.records)


def test_the_pdf_is_a_readable_pdf_naming_the_person(web, setup, tmp_path):
    started = time.perf_counter()
    response = report(web, setup["tokens"]["admin"], suffix=".pdf")
    print(f"\nsubject access PDF in {time.perf_counter() - started:.3f} s")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert HEAD["nik"] not in response.headers["Content-Disposition"]
    text = pdf_text(response.data, tmp_path)
    assert HEAD["name"] in text
    assert "Laporan Akses Subjek Data Pribadi" in text
    # Events, statuses and money in words of the report's language, never codes or JSON.
    assert "Bantuan ditangguhkan" in text and "BenefitSuspended" not in text
    assert "Rp750.000" in text and "ditangguhkan" in text
    assert_no_raw_values(text)

    english = report(web, setup["tokens"]["admin"], suffix=".pdf", lang="en")
    text = pdf_text(english.data, tmp_path)
    assert "Personal data subject access report" in text and "Benefit suspended" in text
    assert "750,000" in text and "Laporan" not in text
    assert_no_raw_values(text, "en")


def test_a_person_read_many_times_has_a_row_a_day_per_reader_in_the_pdf_and_page(
    web, setup, tmp_path
):
    """A family read 60 times by one auditor for one reason that day: the PDF and the page
    show one row saying 60 times (with the first and last moment), not 60 rows; the JSON
    lists each read. An administrator's three reads that day are a row of their own."""
    tokens, household_id = setup["tokens"], setup["household_id"]
    client = web.test_client()
    for _ in range(60):
        read = client.get(
            f"/api/v1/households/{household_id}",
            headers={**bearer(tokens["auditor"]), "X-Access-Reason": "pemeriksaan berkala"},
        )
        assert read.status_code == 200
    for _ in range(3):
        read = client.get(
            f"/api/v1/households/{household_id}",
            headers={**bearer(tokens["admin"]), "X-Access-Reason": "kunjungan rumah"},
        )
        assert read.status_code == 200

    body = report(web, tokens["admin"]).json
    periodic = [r for r in body["reads"] if r["reason"] == "pemeriksaan berkala"]
    assert len(periodic) == 60 and {r["actor_id"] for r in periodic} == {"auditor"}

    text = pdf_text(report(web, tokens["admin"], suffix=".pdf").data, tmp_path)
    rows = [line for line in text.splitlines() if "pemeriksaan berkala" in line]
    assert len(rows) == 1, rows
    assert re.search(r"\b60\b", rows[0]) and "auditor" in rows[0], rows[0]
    visits = [line for line in text.splitlines() if "kunjungan rumah" in line]
    assert len(visits) == 1 and re.search(r"\b3\b", visits[0]), visits
    assert "laporan JSON mencantumkan setiap pembacaan" in " ".join(text.split())

    page = client.get(
        f"/privasi/akses-subjek?nik={HEAD['nik']}", headers={"Accept-Language": "id"}
    ).get_data(as_text=True)
    cells = re.findall(r"<tr>(?:(?!</tr>).)*pemeriksaan berkala(?:(?!</tr>).)*</tr>", page)
    assert len(cells) == 1, cells
    assert '<td class="num">60</td>' in cells[0]


def pdf_text(data: bytes, tmp_path) -> str:
    """The PDF's text by poppler's pdftotext (`make test` installs poppler-utils)."""
    assert shutil.which("pdftotext"), "pdftotext missing: install poppler-utils (make browser)"
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


RAW = re.compile(r"\bNone\b|\{\"|\"\w+\": |kepala_keluarga|_key\b|BenefitGranted|NikClaimed")
ENGLISH_CODES = re.compile(r"\b(active|suspended|Nik key)\b")


def assert_no_raw_values(text: str, lang: str = "id") -> None:
    """No None, JSON, internal codes; in the Indonesian report no English status either."""
    assert not RAW.search(text), RAW.search(text)
    if lang == "id":
        assert not ENGLISH_CODES.search(text), ENGLISH_CODES.search(text)


def test_only_admins_supervisors_and_auditors_may_ask(web, setup):
    tokens = setup["tokens"]
    for name in ("cw_sipin", "agency"):
        assert report(web, tokens[name]).status_code == 403
        assert report(web, tokens[name], suffix=".pdf").status_code == 403
    assert report(web, tokens["sup1"]).status_code == 200
    assert web.test_client().get(f"/api/v1/persons/{HEAD['nik']}/subject-access").status_code == (
        401
    )


def test_an_unknown_nik_is_404_and_a_malformed_one_422(web, setup):
    token = setup["tokens"]["admin"]
    unknown = report(web, token, UNKNOWN_NIK)
    assert unknown.status_code == 404
    assert unknown.json["codes"] == {"nik": ["nik.unknown"]}
    assert "tidak tercatat" in unknown.json["errors"]["nik"][0]
    for bad in ("12345", "157101520385000X", "1571019903850007"):
        response = report(web, token, bad)
        assert response.status_code == 422, bad
        assert set(response.json["codes"]) == {"nik"}
    assert report(web, token, "12345", ".pdf").status_code == 422


def test_the_web_page_shows_the_report_and_links_the_pdf(web, setup):
    client = web.test_client()
    page = client.get(f"/privasi/akses-subjek?nik={HEAD['nik']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert HEAD["name"] in html and "Bantuan ditangguhkan" in html and "penyaluran BPNT" in html
    assert "<h1>Akses subjek data</h1>" in html and "Kepala keluarga" in html
    assert_no_raw_values(visible(html))
    assert f"/privasi/akses-subjek.pdf?nik={HEAD['nik']}" in html
    pdf = client.get(f"/privasi/akses-subjek.pdf?nik={HEAD['nik']}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/privasi/akses-subjek?nik={UNKNOWN_NIK}").status_code == 404
    assert client.get("/privasi/akses-subjek?nik=123").status_code == 422
    assert client.get("/privasi/akses-subjek").status_code == 200


def visible(html: str) -> str:
    """The page's text as a person reads it (no tags, no attribute values)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_the_web_page_speaks_english_when_asked(web, setup):  # noqa: F811
    client = web.test_client()
    page = client.get(f"/privasi/akses-subjek?nik={HEAD['nik']}&lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Data subject access</h1>" in html and '<html lang="en"' in html
    assert "Benefit suspended" in html and "Head of family" in html and "Female" in html
    assert "Bantuan ditangguhkan" not in html
    assert_no_raw_values(visible(html), "en")
    # The choice is kept for the next page and its PDF link.
    again = client.get(f"/privasi/akses-subjek?nik={HEAD['nik']}").get_data(as_text=True)
    assert "<h1>Data subject access</h1>" in again
    unknown = client.get(f"/privasi/akses-subjek?nik={UNKNOWN_NIK}").get_data(as_text=True)
    assert "This NIK is not recorded" in unknown


def test_the_api_answers_the_unknown_nik_in_english_when_asked(web, setup):  # noqa: F811
    unknown = report(web, setup["tokens"]["admin"], UNKNOWN_NIK, lang="en")
    assert unknown.status_code == 404
    assert unknown.json["codes"] == {"nik": ["nik.unknown"]}
    assert unknown.json["errors"]["nik"] == [
        "This NIK is not recorded in the system: no personal data is held about it."
    ]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_privacy_pages_speak_the_asked_language(web, setup, lang):  # noqa: F811
    client = web.test_client()
    record = client.get(f"/privasi/rekam-pemrosesan?lang={lang}").get_data(as_text=True)
    breach = client.get(
        "/privasi/pelanggaran?dari=2020-01-01T00:00&sampai=2030-01-01T00:00&akun=agency"
    ).get_data(as_text=True)
    if lang == "id":
        assert "<h1>Rekam pemrosesan data pribadi</h1>" in record
        assert "Bantuan sosial" in record and "UU 11/2009 tentang" in record
        assert "<h1>Laporan dugaan pelanggaran data</h1>" in breach
    else:
        assert "<h1>Record of personal data processing</h1>" in record
        assert "Social assistance" in record and "Law 11/2009 on Social Welfare" in record
        assert "<h1>Suspected data breach report</h1>" in breach and "Households read" in breach
    for html in (record, breach):
        assert_no_raw_values(visible(html), lang)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("dari=2026-01-02T00:00&sampai=2026-01-01T00:00&akun=agency", "sampai"),  # reversed
        ("dari=kemarin&sampai=2026-01-01T00:00&akun=agency", "dari"),
        ("dari=2026-01-01T00:00&sampai=2026-01-02T00:00", "akun"),
        # a bad date with no account named: both named (it said only «Nama akun»)
        ("dari=kemarin&sampai=2026-01-01T00:00", "dari akun"),
    ],
)
def test_the_breach_page_names_the_field_at_fault_and_answers_422(web, setup, query, field):  # noqa: F811
    # a window that ends before it starts was shown as «» with no field marked, and every
    # refused form answered 200
    answer = web.test_client().get(f"/privasi/pelanggaran?{query}")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    for each in field.split():
        assert re.search(rf'<input id="{each}"[^>]*aria-invalid="true"', page), page
    marked = re.findall(r'<input id="(\w+)"[^>]*aria-invalid="true"', page)
    assert sorted(marked) == sorted(field.split())
    assert "«»" not in page


@pytest.mark.parametrize(
    ("query", "field", "said"),
    [
        ("dari=2026-01-02T00:00&sampai=2026-01-01T00:00&akun=agency", "sampai", "lebih lambat"),
        ("dari=kemarin&sampai=2026-01-01T00:00&akun=agency", "dari", "1 Januari 1900"),
        ("dari=2026-01-01T00:00&sampai=2026-01-02T00:00", "akun", "nama akun"),
    ],
)
def test_the_breach_page_says_under_each_field_what_to_do(web, setup, query, field, said):  # noqa: F811
    """Every refusal said the same sentence ('it is required, and to must come after from'),
    true of none of them alone: each field now says its own problem, the others nothing."""
    page = web.test_client().get(f"/privasi/pelanggaran?{query}").get_data(as_text=True)
    errors = dict(re.findall(r'<small id="err-(\w+)" class="field-error">(.*?)</small>', page))
    assert list(errors) == [field]
    assert said in unescape(errors[field])
    assert "wajib diisi, dan waktu" not in page


def test_the_breach_pages_summary_names_the_fields_in_the_forms_order(web, setup):  # noqa: F811
    query = "dari=2026-01-02T00:00&sampai=2026-01-01T00:00"  # reversed, and no account
    page = web.test_client().get(f"/privasi/pelanggaran?{query}").get_data(as_text=True)
    assert "«Sampai (WIB)», «Nama akun»" in unescape(page)
