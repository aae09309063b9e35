"""Changing the head from the browser with the new KK in hand: once the new head is chosen,
the form lists every other member with a select of their relationship to the new head, the
one the former card leaves no doubt about chosen, the doubtful marked "Periksa" and left to
choose; what is saved is what the household page shows, nothing left to check. The form
passes axe-core's WCAG 2 A and AA checks."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import Browser, Page, expect

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from tests.e2e.conftest import LiveServer, screenshot, sign_in
from tests.e2e.test_accessibility import violations

REGION = "157101"


def person(name, birth, sex, serial):
    born = dt.date.fromisoformat(birth)
    return {
        "nik": nik_for(REGION, born, sex, serial),
        "name": name,
        "birth_date": birth,
        "sex": sex,
    }


NAMES = (
    ("Budi Hartono", "1968-01-02", "M", "istri"),  # the head: his wife's relationship
    ("Siti Rahayu", "1970-03-04", "F", "istri"),
    ("Agus Hartono", "1994-05-06", "M", "anak"),
    ("Rina Wulandari", "1996-07-08", "F", "menantu"),
    ("Dewi Hartono", "2020-09-10", "F", "cucu"),
)


def family_whose_head_died(live_server: LiveServer, serial: int) -> tuple[str, dict]:
    """Budi died; his wife Siti, their son Agus, Agus's wife Rina (Budi's menantu) and their
    daughter Dewi (Budi's cucu) remain. The household's id and the members by first name."""
    people = {
        name.split()[0]: person(name, birth, sex, serial + i)
        for i, (name, birth, sex, _) in enumerate(NAMES)
    }
    casework = live_server.services.casework
    meta = make_meta(SYSTEM, "api")
    household = {
        "kk_number": kk_for(REGION, dt.date(2016, 1, 1), serial),
        "kecamatan": "Telanaipura",
        "kelurahan": "Simpang IV Sipin",
        "address": "Jl. Kapten Pattimura No. 9",
        "rt": "007",
        "rw": "002",
        "head": people["Budi"],
    }
    household_id = str(casework.execute("RegisterHousehold", household, meta).stream_id)
    for (*_, relationship), member in list(zip(NAMES, people.values(), strict=True))[1:]:
        body = {"household_id": household_id, "person": member, "relationship": relationship}
        casework.execute("AddMember", body, meta)
    died = {
        "household_id": household_id,
        "nik": people["Budi"]["nik"],
        "date_of_death": "2025-05-01",
    }
    casework.execute("RecordDeath", died, meta)
    live_server.project()
    return household_id, people


def test_the_change_of_head_states_each_relationship_in_the_same_form(
    page: Page, live_server: LiveServer
):
    household_id, people = family_whose_head_died(live_server, 71)
    page.goto(f"{live_server.url}/perintah/ChangeHead?household_id={household_id}")
    expect(page.locator("h1")).to_have_text("Ganti kepala keluarga")
    expect(page.get_by_text("Pilih kepala keluarga baru lebih dulu")).to_be_visible()
    page.select_option("#f-nik", people["Agus"]["nik"])  # the members' rows follow the choice
    mother = page.get_by_label("Hubungan Siti Rahayu dengan kepala keluarga baru")
    expect(mother).to_have_value("orang_tua")
    wife = page.get_by_label("Hubungan Rina Wulandari dengan kepala keluarga baru")
    expect(wife).to_have_value("")
    expect(page.locator("tr.in-doubt")).to_have_count(2)
    expect(page.locator("tr.in-doubt .badge-review").first).to_have_text("Periksa")
    page.fill("#f-new_kk_number", kk_for(REGION, dt.date(2025, 5, 20), 71))
    screenshot(page, "change-head-form")

    page.get_by_role("button", name="Simpan").click()  # Dewi not chosen yet: refused
    expect(
        page.get_by_label("Hubungan Dewi Hartono dengan kepala keluarga baru")
    ).to_have_attribute("aria-invalid", "true")
    screenshot(page, "change-head-form-refused")
    wife.select_option("istri")
    page.get_by_label("Hubungan Dewi Hartono dengan kepala keluarga baru").select_option("anak")
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator(".flash, [role=status]").first).to_be_visible()
    live_server.project()

    page.goto(f"{live_server.url}/rumah-tangga/{household_id}")
    members = page.locator("table.members")
    expect(members.locator("tr", has_text="Rina Wulandari")).to_contain_text("Istri")
    expect(members.locator("tr", has_text="Dewi Hartono")).to_contain_text("Anak")
    expect(members.locator("tr", has_text="Siti Rahayu")).to_contain_text("Orang tua")
    expect(members.locator("tr", has_text="Agus Hartono")).to_contain_text("Kepala keluarga")
    expect(page.locator(".relationship-check")).to_have_count(0)
    screenshot(page, "change-head-household")


def test_the_change_of_head_form_with_its_members_passes_wcag_aa(
    browser: Browser, live_server: LiveServer
):
    household_id, people = family_whose_head_died(live_server, 81)
    context = browser.new_context(locale="id-ID", bypass_csp=True)
    tab = context.new_page()
    sign_in(tab, live_server)
    tab.goto(
        f"{live_server.url}/perintah/ChangeHead?household_id={household_id}&nik={people['Agus']['nik']}"
    )
    expect(tab.locator("tr.in-doubt")).not_to_have_count(0)
    assert violations(tab) == []
    context.close()


def test_on_a_phone_the_members_rows_fit_the_screen(browser: Browser, live_server: LiveServer):
    household_id, people = family_whose_head_died(live_server, 91)
    context = browser.new_context(locale="id-ID", viewport={"width": 375, "height": 800})
    tab = context.new_page()
    sign_in(tab, live_server)
    tab.goto(
        f"{live_server.url}/perintah/ChangeHead?household_id={household_id}"
        f"&nik={people['Agus']['nik']}"
    )
    expect(tab.locator("tr.in-doubt")).to_have_count(2)
    screenshot(tab, "change-head-form-phone")
    assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
