"""The program page in Chromium: errors per kelurahan with their CSV, and the what-if form
answering, through htmx, who would gain or lose eligibility under a draft of the rules."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from adapters import wire
from domain.application import SYSTEM, make_meta
from projections import beneficiaries, eligibility, program_views
from projections.base import apply_batch, reveal
from tests.e2e.conftest import KNOWN_HEAD, LiveServer, screenshot


def project_programs(live: LiveServer) -> None:
    """Give the seeded families deciles, a PKH benefit to the known family that it no longer
    qualifies for, and apply the eligibility and beneficiaries views."""
    casework = live.services.casework
    meta = make_meta(SYSTEM, "api")
    if not live.app.config.get("programs_projected"):
        for i, hid in enumerate(live.household_ids):
            casework.record_welfare_assessment(
                {"household_id": hid, "source": "DTSEN", "desil": i % 7 + 1, "period": "2025-Q1"},
                meta,
            )
        known = live.known_household_id
        casework.record_welfare_assessment(
            {"household_id": known, "source": "DTSEN", "desil": 3, "period": "2025-Q1"}, meta
        )
        casework.grant_benefit(
            {
                "household_id": known,
                "nik": KNOWN_HEAD["nik"],
                "program": "PKH",
                "period_start": "2026-01-01",
                "period_end": "2030-12-31",
                "amount": 750_000,
            },
            meta,
        )
        casework.record_welfare_assessment(
            {"household_id": known, "source": "DTSEN", "desil": 8, "period": "2025-Q2"}, meta
        )
        live.app.config["programs_projected"] = True
    live.project()
    notifications = casework.recorder.select_notifications(start=1, limit=100_000)
    envelopes = [
        reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
        for n in notifications
    ]
    for projection in (eligibility.PROJECTION, beneficiaries.PROJECTION):
        apply_batch(live.services.views, projection, envelopes)


@pytest.fixture(scope="module")
def programs(live_server: LiveServer) -> LiveServer:
    project_programs(live_server)
    return live_server


def test_the_program_page_lists_the_errors_and_links_the_csv(page: Page, programs: LiveServer):
    page.goto(programs.url + "/program")
    page.get_by_role("link", name="PKH").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Program Keluarga Harapan")
    table = page.get_by_role("table", name="Kesalahan per kelurahan")
    expect(table).to_be_visible()
    expect(table.get_by_role("rowheader", name="Simpang IV Sipin")).to_be_visible()
    inclusion = page.locator("details").first
    expect(inclusion).to_contain_text(programs.known_household_id[:8])
    expect(inclusion).to_contain_text(
        "Desil tertinggi: desil keluarga 8, syarat ≤ 4"
    )  # in Indonesian
    with page.expect_download() as download:
        page.get_by_role("link", name="Unduh CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    # headed and worded in the page's language (the API's file keeps its machine names)
    assert text.startswith(
        "Jenis kesalahan,ID rumah tangga,Kelurahan,Bantuan program yang berjalan,Alasan"
    )
    assert f"Kesalahan inklusi,{programs.known_household_id},Simpang IV Sipin,1," in text


def test_the_what_if_form_shows_who_gains_and_loses(page: Page, programs: LiveServer):
    expected = program_views.what_if(
        programs.services.views,
        "PKH",
        {
            "max_desil": 6,
            "min_residence_months": 0,
            "excludes_nib_holders": False,
            "once_per_kk": False,
            "combinable_with": ["BPNT", "PBI-JK", "UMKM-NAIK-KELAS"],
            "recipient": "adult_woman",
        },
    )
    assert expected["totals"]["gaining"] > 0
    page.goto(programs.url + "/program/PKH")
    page.get_by_label("Desil tertinggi").fill("6")
    page.get_by_role("button", name="Hitung rancangan").click()
    result = page.locator("#what-if-result")
    expect(result).to_contain_text(
        f"Keluarga yang memenuhi syarat sekarang: {expected['totals']['eligible_now']}"
    )
    expect(result).to_contain_text(f"menurut rancangan: {expected['totals']['eligible_draft']}")
    gaining = result.locator("h4", has_text="Keluarga yang menjadi memenuhi syarat")
    expect(gaining).to_be_visible()
    for family in expected["gaining"]:
        expect(result).to_contain_text(family["household_id"][:8])
    assert page.url.endswith("/program/PKH")  # swapped in place by htmx
    screenshot(page, "program-what-if")
    # the program's rules are unchanged
    assert programs.services.casework.get_program("PKH").rules["max_desil"] == 4


def test_a_bad_draft_names_the_field(page: Page, programs: LiveServer):
    page.goto(programs.url + "/program/PKH")
    page.get_by_label("Desil tertinggi").fill("11")
    page.get_by_role("button", name="Hitung rancangan").click()
    field = page.get_by_label("Desil tertinggi")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-wi-max-desil")).not_to_be_empty()
    expect(page.locator("#what-if-result")).to_have_count(0)


@pytest.mark.parametrize("path", ["/program/PKH", "/tinjauan"])
def test_the_kelurahan_filter_is_picked_from_the_citys_list(
    page: Page, programs: LiveServer, path: str
):
    # a text box before, with "pilih dari daftar" said of a list that was not there
    page.goto(programs.url + path)
    kelurahan = page.locator("#f-kelurahan")
    expect(kelurahan.locator("optgroup[label=Telanaipura] option")).to_contain_text(
        ["Simpang IV Sipin"]
    )
    kelurahan.select_option("Simpang IV Sipin")
    page.get_by_role("button", name="Saring").click()
    expect(page).to_have_url(re.compile(r"kelurahan=Simpang\+IV\+Sipin"))
    expect(page.locator("#f-kelurahan")).to_have_value("Simpang IV Sipin")  # kept
    page.locator("#f-kelurahan").select_option("")  # and back to the whole city
    page.get_by_role("button", name="Saring").click()
    expect(page.locator("#f-kelurahan")).to_have_value("")
