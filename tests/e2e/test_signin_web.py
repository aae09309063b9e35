"""Sign-in in the browser: an anonymous visitor sees only the login page (in Bahasa
Indonesia), a wrong password is refused, signing in leads back to the page asked for, and
signing out leads to the login page again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import KNOWN_HEAD, LiveServer, screenshot, sign_in
from tests.e2e.test_accessibility import violations

pytestmark = pytest.mark.e2e

PAGES = (
    "/",
    "/?q=Siti",
    "/daftar",
    "/perintah",
    "/persetujuan",
    "/status",
    "/privasi/akses-subjek",
)


def test_an_anonymous_browser_gets_only_the_login_page(
    anonymous_page: Page, live_server: LiveServer
):
    page = anonymous_page
    for path in (*PAGES, f"/rumah-tangga/{live_server.known_household_id}"):
        page.goto(live_server.url + path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.locator("h1")).to_have_text("Masuk")
        assert KNOWN_HEAD["name"] not in page.content()
        expect(page.locator(".nav-links a[href='/persetujuan']")).to_have_count(0)
    screenshot(page, "login")


def test_signing_in_and_out(anonymous_page: Page, live_server: LiveServer):
    page = anonymous_page
    name = live_server.account("e2e-caseworker", "caseworker", kelurahan=["Simpang IV Sipin"])
    page.goto(f"{live_server.url}/status")
    page.get_by_label("Nama pengguna").fill(name)
    page.get_by_label("Kata sandi").fill("salah-sekali-123")
    page.get_by_role("button", name="Masuk").click()
    expect(page.locator("[role=alert]")).to_have_text("Nama pengguna atau kata sandi salah.")
    expect(page.get_by_label("Kata sandi")).to_have_attribute("aria-invalid", "true")

    sign_in(page, live_server, name)
    page.goto(f"{live_server.url}/status")
    expect(page.locator(".signed-in")).to_contain_text(name)
    expect(page.locator(".signed-in")).to_contain_text("pendamping")  # the role, in Indonesian
    page.get_by_role("button", name="Keluar").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Masuk")


def test_the_login_page_comes_back_to_the_page_asked_for(
    anonymous_page: Page, live_server: LiveServer
):
    page = anonymous_page
    page.goto(f"{live_server.url}/persetujuan")
    page.get_by_label("Nama pengguna").fill("e2e-admin")
    page.get_by_label("Kata sandi").fill("e2e-password-0123")
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(re.compile(r"/persetujuan$"))


def test_the_login_page_passes_wcag_aa(browser, live_server: LiveServer):
    context = browser.new_context(locale="id-ID", bypass_csp=True)
    tab = context.new_page()
    tab.goto(f"{live_server.url}/login")
    assert violations(tab) == []
    context.close()
