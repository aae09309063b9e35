"""The web UI in headless Chromium: search, registration, the household page, status."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from projections.catalog import PROJECTIONS
from tests.e2e.conftest import KNOWN_HEAD, KNOWN_HOUSEHOLD, LiveServer, screenshot, sign_in

pytestmark = pytest.mark.e2e

HOUSEHOLD_URL = re.compile(r"/rumah-tangga/[0-9a-f-]{36}")


def fill_registration(page: Page, *, nik: str, kk: str, name: str) -> None:
    page.fill("#f-kk_number", kk)
    page.select_option("#f-kecamatan", "Pelayangan")
    # htmx replaces the kelurahan list with Pelayangan's own.
    expect(page.locator("#f-kelurahan option", has_text="Tahtul Yaman")).to_have_count(1)
    expect(page.locator("#f-kelurahan optgroup")).to_have_count(0)
    page.select_option("#f-kelurahan", "Tahtul Yaman")
    page.fill("#f-address", "Lr. Pelita No. 12")
    page.fill("#f-rt", "4")
    page.fill("#f-rw", "1")
    page.fill("#f-head-nik", nik)
    page.fill("#f-head-name", name)
    page.fill("#f-head-birth_date", "1990-08-17")
    page.select_option("#f-head-sex", "F")


def test_search_by_name_shows_the_household(page: Page, live_server: LiveServer):
    page.goto(live_server.url + "/")
    expect(page.locator("h1")).to_have_text("Cari rumah tangga")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(20)  # the newest, one page of 20
    expect(page.locator(".pager a[rel=next]")).to_be_visible()
    screenshot(page, "search-newest")

    page.locator("#q").press_sequentially("siti amin", delay=30)
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text(KNOWN_HEAD["name"])
    expect(row).to_contain_text(KNOWN_HOUSEHOLD["kk_number"])
    expect(row).to_contain_text("Telanaipura / Simpang IV Sipin")
    expect(row.locator("td.num")).to_have_text("2")
    expect(page).to_have_url(re.compile(r"\?q=siti(\+|%20)amin"))
    screenshot(page, "search-results")

    row.get_by_role("link", name=KNOWN_HEAD["name"]).click()
    expect(page).to_have_url(re.compile(live_server.known_household_id))
    expect(page.locator("h1")).to_contain_text(KNOWN_HEAD["name"])
    members = page.locator("table.members tbody tr")
    expect(members).to_have_count(2)
    expect(members.nth(0)).to_contain_text("Kepala keluarga")
    expect(members.nth(0)).to_contain_text("12 Maret 1985")
    expect(members.nth(1)).to_contain_text("Suami")
    expect(page.get_by_role("heading", name="Tambah anggota")).to_be_visible()
    screenshot(page, "household")


def test_search_by_nik_and_kk_number(page: Page, live_server: LiveServer):
    page.goto(live_server.url + "/")
    for value in (KNOWN_HEAD["nik"], KNOWN_HOUSEHOLD["kk_number"]):
        page.fill("#q", value)
        expect(page.locator("#results tbody tr")).to_have_count(1)
        expect(page.locator("#results tbody tr")).to_contain_text(KNOWN_HEAD["name"])
    page.fill("#q", "15710152")
    expect(page.locator("#results .notice")).to_contain_text("16 angka")


def test_search_works_without_javascript(browser, live_server: LiveServer):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server)
        page.goto(live_server.url + "/")
        page.fill("#q", "Siti Aminah")
        page.press("#q", "Enter")
        expect(page).to_have_url(re.compile(r"\?q=Siti"))
        expect(page.locator("#results tbody tr")).to_have_count(1)
    finally:
        context.close()


def test_a_bad_nik_shows_the_indonesian_error_next_to_the_nik_field(
    page: Page, live_server: LiveServer
):
    before = live_server.stored_events()
    page.goto(live_server.url + "/daftar")
    fill_registration(page, nik="1571055708", kk="1571050101240031", name="Rahmawati")
    page.get_by_role("button", name="Daftarkan").click()

    nik_field = page.locator(".field", has=page.locator("#f-head-nik"))
    expect(nik_field.locator(".field-error")).to_have_text(
        re.compile("NIK harus terdiri dari 16 angka")
    )
    expect(page.locator("#f-head-nik")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".form-errors")).to_be_visible()
    # Only the NIK is wrong, and what was typed is kept.
    expect(page.locator(".field-error:not(:empty)")).to_have_count(1)
    expect(page.locator("#f-head-name")).to_have_value("Rahmawati")
    expect(page.locator("#f-kelurahan")).to_have_value("Tahtul Yaman")
    expect(page).to_have_url(re.compile("/daftar$"))
    assert live_server.stored_events() == before
    screenshot(page, "register-errors")


def test_a_name_with_digits_or_signs_is_refused_under_the_name_field(
    page: Page, live_server: LiveServer
):
    """A case worker's typo or a pasted script is no name as on the KTP: the message is under
    the name field as it is left and after Daftarkan, and nothing is stored."""
    before = live_server.stored_events()
    page.goto(live_server.url + "/daftar")
    fill_registration(
        page, nik="1571055708900012", kk="1571050101240031", name="<script>alert(1)</script>"
    )
    page.press("#f-head-name", "Tab")
    expect(page.locator("#err-head-name")).to_contain_text("Nama hanya berisi huruf")
    page.get_by_role("button", name="Daftarkan").click()

    name_field = page.locator(".field", has=page.locator("#f-head-name"))
    expect(name_field.locator(".field-error")).to_have_text(
        re.compile("Nama hanya berisi huruf, spasi, dan tanda")
    )
    expect(page.locator("#f-head-name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field-error:not(:empty)")).to_have_count(1)
    expect(page).to_have_url(re.compile("/daftar$"))
    assert live_server.stored_events() == before


def test_fields_are_checked_as_they_are_left(page: Page, live_server: LiveServer):
    page.goto(live_server.url + "/daftar")
    page.fill("#f-head-nik", "1571055708900012")
    page.fill("#f-head-birth_date", "1991-08-17")
    page.select_option("#f-head-sex", "F")
    expect(page.locator("#err-head-sex")).to_be_empty()
    page.fill("#f-head-nik", "1571055708900013")
    page.press("#f-head-nik", "Tab")
    expect(page.locator("#err-head-nik")).to_contain_text("Tanggal lahir di NIK tidak sama")
    page.fill("#f-rt", "00")
    page.press("#f-rt", "Tab")
    expect(page.locator("#err-rt")).to_contain_text("RT diisi 1 sampai 3 angka")


def test_an_empty_form_names_every_missing_field(page: Page, live_server: LiveServer):
    page.goto(live_server.url + "/daftar")
    page.get_by_role("button", name="Daftarkan").click()
    expect(page.locator(".field-error:not(:empty)")).to_have_count(10)
    expect(page.locator("#err-kk_number")).to_have_text(re.compile("Wajib diisi"))
    screenshot(page, "register-empty")


def test_a_valid_registration_redirects_to_the_household_page(page: Page, live_server: LiveServer):
    page.goto(live_server.url + "/daftar")
    fill_registration(page, nik="1571055708900012", kk="1571050101240031", name="Rahmawati Yusuf")
    page.get_by_role("button", name="Daftarkan").click()

    expect(page).to_have_url(HOUSEHOLD_URL)
    expect(page.locator(".flash")).to_contain_text("berhasil didaftarkan")
    # The projection runner has not run: the page says so and polls.
    expect(page.locator("#pending")).to_contain_text("Sedang diproses")
    screenshot(page, "household-pending")

    live_server.project()
    expect(page.locator("table.members tbody tr")).to_have_count(1, timeout=15_000)
    expect(page.locator("#pending")).to_have_count(0)
    expect(page.locator("h1")).to_contain_text("Rahmawati Yusuf")
    expect(page.locator(".facts")).to_contain_text("Tahtul Yaman")
    expect(page.locator(".facts")).to_contain_text("004 / 001")


def test_adding_a_member_from_the_household_page(page: Page, live_server: LiveServer):
    household_id = live_server.household_ids[0]
    page.goto(f"{live_server.url}/rumah-tangga/{household_id}")
    before = page.locator("table.members tbody tr").count()
    page.fill("#f-person-nik", "1571014501190001")
    page.fill("#f-person-name", "Nur Aisyah")
    page.fill("#f-person-birth_date", "2019-01-05")
    page.select_option("#f-person-sex", "F")
    page.select_option("#f-relationship", "cucu")
    page.get_by_role("button", name="Tambahkan anggota").click()

    expect(page.locator(".flash")).to_contain_text("Anggota ditambahkan")
    live_server.project()
    expect(page.locator("table.members tbody tr")).to_have_count(before + 1, timeout=15_000)
    expect(page.locator("table.members")).to_contain_text("Nur Aisyah")


def test_status_page_shows_each_component_with_its_lag(page: Page, live_server: LiveServer):
    page.goto(live_server.url + "/status")
    table = page.locator("#status-table table")
    expect(table).to_contain_text("Penyimpanan peristiwa")
    expect(table).to_contain_text("Relay ke Kafka")
    expect(table).to_contain_text("Tampilan: register rumah tangga")
    expect(table).to_contain_text("DLQ")
    expect(table.locator("meter")).to_have_count(2 + len(PROJECTIONS))  # relay, views, DLQ
    screenshot(page, "status")


def test_the_language_switch_is_remembered(page: Page, live_server: LiveServer):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("h1")).to_have_text("Find a household")
    page.get_by_role("link", name="Register a household").first.click()
    expect(page.locator("h1")).to_have_text("Register a household")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#err-kk_number")).to_have_text(re.compile("Required"))
    page.get_by_role("link", name="ID", exact=True).click()
    expect(page.locator("h1")).to_have_text("Daftarkan rumah tangga")


def test_an_unknown_household_is_an_indonesian_404_page(browser, live_server: LiveServer):
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, live_server)
        response = page.goto(f"{live_server.url}/rumah-tangga/{uuid.uuid4()}")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("Halaman tidak ditemukan")
        assert "Traceback" not in page.content()
    finally:
        context.close()


def test_pages_fit_a_phone_screen(browser, live_server: LiveServer):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        sign_in(page, live_server)
        for path, name in (
            (f"/rumah-tangga/{live_server.known_household_id}", "household-phone"),
            ("/daftar", "register-phone"),
            ("/perintah", "commands-phone"),
            ("/perintah/DefineProgram", "define-program-phone"),
            ("/persetujuan", "approvals-phone"),
        ):
            page.goto(live_server.url + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} is {overflow}px wider than the screen"
            if path == "/perintah/DefineProgram":
                # the folded fields' summary wraps on a phone: its lines were 1rem apart, the
                # second line touching the first
                spacing = page.evaluate(
                    "(() => { const s = getComputedStyle("
                    "document.querySelector('.shared-fields summary'));"
                    " return parseFloat(s.lineHeight) / parseFloat(s.fontSize); })()"
                )
                assert spacing >= 1.3, f"the summary's lines are {spacing:.2f} font sizes apart"
            screenshot(page, name)
    finally:
        context.close()


def test_a_refused_member_form_puts_the_focus_on_the_field_to_fix(
    page: Page, live_server: LiveServer
):
    """After the add-member form comes back with errors, the keyboard's focus is on the first
    field to fix (it fell to <body>), and the page ran under its CSP (the `page` fixture fails
    on any refused script or style)."""
    household_id = live_server.household_ids[0]
    page.goto(f"{live_server.url}/rumah-tangga/{household_id}")
    page.fill("#f-person-nik", "1571014501190001")
    page.fill("#f-person-name", "Nur Aisyah")
    page.fill("#f-person-birth_date", "2999-01-05")  # in the future
    page.select_option("#f-person-sex", "F")
    page.select_option("#f-relationship", "cucu")
    page.get_by_role("button", name="Tambahkan anggota").click()
    expect(page.locator("#f-person-birth_date")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-person-birth_date")).to_be_focused()
