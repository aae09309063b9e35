"""The privacy pages in a real browser, in both languages: the subject access report shows
words (event names, relationships, dates, rupiah), never codes, None or JSON."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import KNOWN_HEAD, LiveServer, screenshot

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
