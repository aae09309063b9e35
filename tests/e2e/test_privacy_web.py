"""The privacy pages in a real browser, in both languages: the subject access report shows
words (event names, relationships, dates, rupiah), never codes, None or JSON."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from domain.application import SYSTEM, make_meta
from tests.e2e.conftest import KNOWN_HEAD, LiveServer, screenshot, sign_in

pytestmark = pytest.mark.e2e

RAW = re.compile(r"\bNone\b|\{\"|kepala_keluarga|HouseholdRegistered|NikClaimed|_key\b")


def test_the_subject_access_report_in_indonesian(page: Page, live_server: LiveServer):
    page.goto(f"{live_server.url}/privasi/akses-subjek?lang=id")
    page.get_by_label("NIK (16 angka)").fill(KNOWN_HEAD["nik"])
    page.get_by_role("button", name="Buat laporan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Akses subjek data")
    expect(page.locator("#sa-peristiwa")).to_contain_text("Rekam jejak pemrosesan")
    events = page.locator("section[aria-labelledby=sa-peristiwa] tbody")
    expect(events).to_contain_text("Rumah tangga didaftarkan")
    expect(events).to_contain_text("NIK dicatat di rumah tangga")
    facts = page.locator("section[aria-labelledby=sa-orang]")
    expect(facts).to_contain_text("Kepala keluarga")
    expect(facts).to_contain_text("12 Maret 1985")
    expect(facts).to_contain_text("Perempuan")
    body = page.locator("main").inner_text()
    assert not RAW.search(body), RAW.search(body)
    assert "Household registered" not in body and "active" not in body
    screenshot(page, "subject-access-id")


def test_the_subject_access_report_in_english(page: Page, live_server: LiveServer):
    page.goto(f"{live_server.url}/privasi/akses-subjek?lang=en&nik={KNOWN_HEAD['nik']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data subject access")
    events = page.locator("section[aria-labelledby=sa-peristiwa] tbody")
    expect(events).to_contain_text("Household registered")
    facts = page.locator("section[aria-labelledby=sa-orang]")
    expect(facts).to_contain_text("Head of family")
    expect(facts).to_contain_text("March 12, 1985")
    body = page.locator("main").inner_text()
    assert not RAW.search(body), RAW.search(body)
    assert "Rumah tangga didaftarkan" not in body
    screenshot(page, "subject-access-en")


@pytest.mark.parametrize(
    ("lang", "record", "breach"),
    [
        ("id", "Rekam pemrosesan data pribadi", "Laporan dugaan pelanggaran data"),
        ("en", "Record of personal data processing", "Suspected data breach report"),
    ],
)
def test_the_privacy_pages_follow_the_language(
    page: Page, live_server: LiveServer, lang: str, record: str, breach: str
):
    page.goto(f"{live_server.url}/privasi/rekam-pemrosesan?lang={lang}")
    expect(page.get_by_role("heading", level=1)).to_have_text(record)
    assert not RAW.search(page.locator("main").inner_text())
    screenshot(page, f"record-of-processing-{lang}")
    page.goto(f"{live_server.url}/privasi/pelanggaran")
    expect(page.get_by_role("heading", level=1)).to_have_text(breach)


def test_the_subject_access_report_fits_a_phone(browser, live_server: LiveServer):
    """A decile's source reference (a file and row) is long: its table scrolls sideways in
    its own region, as the report's other tables do, and the page stays as wide as a phone."""
    casework = live_server.services.casework
    casework.record_welfare_assessment(
        {
            "household_id": live_server.known_household_id,
            "source": "DTSEN",
            "desil": 3,
            "period": "2025-Q1",
            "reference": "keluarga_dtsen_v3_2025_1571.csv#row=16000",
        },
        make_meta(SYSTEM, "api"),
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        phone = context.new_page()
        sign_in(phone, live_server)
        phone.goto(f"{live_server.url}/privasi/akses-subjek?nik={KNOWN_HEAD['nik']}")
        expect(phone.locator("section[aria-labelledby=sa-desil]")).to_contain_text("#row=16000")
        overflow = phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the report is {overflow}px wider than the screen"
        screenshot(phone, "subject-access-phone")
    finally:
        context.close()
