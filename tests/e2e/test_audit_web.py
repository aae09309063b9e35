"""The auditor's pages in a real browser: the audit log with its filters (labels, not event
type codes), the chains' status with the anchor to copy, the read log; both languages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import KNOWN_HEAD, LiveServer, screenshot

pytestmark = pytest.mark.e2e

CODES = re.compile(r"\bNone\b|HouseholdRegistered|\{\"")


def test_the_audit_log_filters_by_event_type(page: Page, live_server: LiveServer):
    page.goto(f"{live_server.url}/?lang=id")
    page.get_by_role("link", name="Audit", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log audit")
    page.get_by_label("Jenis peristiwa").select_option(label="Rumah tangga didaftarkan")
    page.get_by_role("button", name="Tampilkan").click()
    rows = page.locator("section[aria-labelledby=hasil] tbody tr")
    expect(rows.first).to_contain_text("Rumah tangga didaftarkan")
    assert rows.count() >= 1
    assert all("Rumah tangga didaftarkan" in text for text in rows.all_inner_texts())
    body = page.locator("main").inner_text()
    assert not CODES.search(body)
    assert KNOWN_HEAD["nik"] not in body and KNOWN_HEAD["name"] not in body
    screenshot(page, "audit-log-id")
    # the household's timeline is one click away
    rows.first.get_by_role("link", name="lini masa").click()
    expect(page).to_have_url(re.compile(r"/rumah-tangga/[0-9a-f-]+/lini-masa"))


def test_the_chain_status_and_the_read_log(page: Page, live_server: LiveServer):
    page.goto(f"{live_server.url}/?q={KNOWN_HEAD['nik']}")  # a read, for the read log
    page.goto(f"{live_server.url}/audit/rantai?lang=id")
    expect(page.get_by_role("heading", level=1)).to_have_text("Status rantai")
    expect(page.locator("#events-verdict")).to_contain_text("Utuh")
    expect(page.locator("#read-log-verdict")).to_contain_text("Utuh")
    anchor = page.get_by_label("Jangkar (posisi:tautan)").input_value()
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", anchor)
    screenshot(page, "audit-chain-id")
    page.get_by_label("Periksa jangkar yang disimpan sebelumnya").fill(anchor)
    page.get_by_role("button", name="Periksa").click()
    expect(page.locator("#events-verdict")).to_contain_text("Utuh")

    page.get_by_role("link", name="Log baca").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log baca")
    expect(page.locator("section[aria-labelledby=hasil] tbody tr").first).to_be_visible()
    assert KNOWN_HEAD["nik"] not in page.locator("main").inner_text()
    screenshot(page, "audit-read-log-id")
    page.goto(f"{live_server.url}/audit/log-baca?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Read log")
    screenshot(page, "audit-read-log-en")
