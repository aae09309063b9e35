"""Splitting a family from the browser: the members who move are picked from the household's
members, the request waits for a supervisor, and once approved each family's page links to
the other. The form passes axe-core's WCAG 2 A and AA checks."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from domain.application import Actor, make_meta
from tests.e2e.conftest import KNOWN_HEAD, KNOWN_HUSBAND, LiveServer, sign_in
from tests.e2e.test_accessibility import violations

NEW_KK = "1571010502260002"


def test_the_split_form_passes_wcag_aa(browser: Browser, live_server: LiveServer):
    context = browser.new_context(locale="id-ID", bypass_csp=True)
    tab = context.new_page()
    sign_in(tab, live_server)
    tab.goto(
        f"{live_server.url}/perintah/SplitFamily?household_id={live_server.known_household_id}"
    )
    assert violations(tab) == []
    context.close()


def test_a_family_split_from_the_browser_links_both_families(page: Page, live_server: LiveServer):
    household_id = live_server.known_household_id
    page.goto(f"{live_server.url}/perintah/SplitFamily?household_id={household_id}")
    expect(page.locator("h1")).to_have_text("Pecah KK")
    expect(page.locator("#f-members option")).to_contain_text(
        [KNOWN_HEAD["name"], KNOWN_HUSBAND["name"]]
    )
    page.select_option("#f-members", [KNOWN_HUSBAND["nik"]])
    page.select_option("#f-new_head_nik", KNOWN_HUSBAND["nik"])
    page.fill("#f-new_kk_number", NEW_KK)
    page.fill("#f-effective_date", "2026-02-01")
    page.get_by_role("button", name="Simpan").click()
    expect(page).to_have_url(f"{live_server.url}/persetujuan")

    casework = live_server.services.casework
    [pending] = casework.pending_approvals()
    supervisor = make_meta(Actor(id="sup2", role="supervisor"), "ui")
    new_id = casework.execute("ApproveChange", {"approval_id": str(pending.id)}, supervisor)
    live_server.project()

    page.goto(f"{live_server.url}/rumah-tangga/{new_id.stream_id}")
    expect(page.get_by_text("Pecahan dari KK")).to_be_visible()
    page.get_by_role("link", name="1571010101200003").click()
    expect(page).to_have_url(f"{live_server.url}/rumah-tangga/{household_id}")
    expect(page.get_by_text("Pecah ke KK")).to_be_visible()
    expect(page.get_by_role("link", name=NEW_KK)).to_be_visible()
