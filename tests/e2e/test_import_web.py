"""Importing from the web in headless Chromium, as a program manager does: a form sent without
its period is answered by the page, in Indonesian, at the period; sent whole, the import's
own page follows it to its end."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.seed_data import generate_households
from app.source_samples import DTKS_HEADER, dtks_rows, write_csv
from tests.e2e.conftest import LiveServer, screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_an_import_without_its_period_is_told_so_then_runs_to_its_end(
    anonymous_page: Page, live_server: LiveServer, tmp_path
):
    live_server.app.config["IMPORT_DIR"] = str(tmp_path / "imports")
    dtks = write_csv(tmp_path / "dtks.csv", DTKS_HEADER, dtks_rows(generate_households(3, 41)))
    page = anonymous_page
    manager = live_server.account("e2e-manager", "program_manager", opd="DINSOS")
    sign_in(page, live_server, manager)
    page.goto(f"{live_server.url}/impor")
    page.get_by_label("Sumber data").select_option("dtks")
    page.get_by_label("Berkas (CSV atau Excel .xlsx; DTSEN: berkas keluarga)").set_input_files(
        dtks
    )
    page.get_by_role("button", name="Impor").click()
    # the page's own words at the period (not the browser's bubble, in its own language)
    period = page.get_by_label("Periode data (TTTT-Qn)")
    expect(period).to_have_attribute("aria-invalid", "true")
    expect(period).to_be_focused()  # the field to fix, for who uses the keyboard
    expect(page.locator("#err-periode")).to_contain_text("Isi periode sebagai TTTT-Qn")
    # an empty field looks empty: no grey sample period that reads as one already filled in
    expect(period).not_to_have_attribute("placeholder", re.compile(r"\d{4}-Q"))
    expect(page.locator("#recent + p")).to_have_text("Belum ada impor.")  # nothing started
    screenshot(page, "import-errors")

    page.get_by_label("Berkas (CSV atau Excel .xlsx; DTSEN: berkas keluarga)").set_input_files(
        dtks
    )  # a browser never keeps a chosen file across pages
    period.fill("2026-Q3")
    page.get_by_role("button", name="Impor").click()
    expect(page).to_have_url(re.compile(r"/impor/[0-9a-f]{32}$"))
    expect(page.locator("h1")).to_have_text("Impor DTKS 2026-Q3")
    expect(page.locator("#import-progress .badge")).to_have_text("Selesai", timeout=30_000)
    expect(page.locator(".import-facts")).to_contain_text("Keluarga didaftarkan")
    screenshot(page, "import-done")
