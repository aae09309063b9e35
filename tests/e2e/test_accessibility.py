"""Every page a case worker uses passes axe-core's WCAG 2 A and AA checks (contrast at least
4.5:1, a label on every input, names on every control), on a desktop and on a 10-inch tablet.

axe-core comes from the npm registry (package.json, a dev dependency: never served)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from domain.application import SYSTEM, make_meta
from domain.city import today
from projections.base import end_filling, filled_so_far, start_filling
from tests.e2e.conftest import KNOWN_HEAD, ROOT, LiveServer, screenshot, sign_in
from tests.e2e.test_case_worker_day import catch_up
from tests.e2e.test_program_web import project_programs

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TABLET = {"width": 800, "height": 1280}  # a 10-inch tablet held upright
PAGES = (
    "/",
    "/?q=Siti",
    "/daftar",
    "/perintah",
    "/perintah/AddCaseNote",
    "/perintah/GrantBenefit",
    "/persetujuan",
    "/tinjauan",
    "/program",
    "/program/PKH",
    "/status",
    "/privasi/rekam-pemrosesan",
    "/privasi/pelanggaran",
    "/privasi/akses-subjek",
    "/audit",
    "/audit?jenis=HouseholdRegistered",
    "/audit/rantai",
    "/audit/log-baca",
    "/agensi",
    "/perintah/DefineAgencyAgreement",
)


@pytest.fixture(scope="module", params=[None, TABLET], ids=["desktop", "tablet"])
def axe_page(request, browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    # One signed-in tab per screen size for the module: each test opens its own page in it.
    # axe is injected as a script of its own: the app's CSP rightly refuses that, so the
    # checking tab bypasses it (the pages themselves are unchanged)
    context = browser.new_context(
        viewport=request.param or {"width": 1280, "height": 900}, locale="id-ID", bypass_csp=True
    )
    tab = context.new_page()
    sign_in(tab, live_server)
    yield tab
    context.close()


def violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            });
            return result.violations.map(v =>
                v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
        }"""
    )
    return list(found)


def test_axe_core_is_installed():
    assert Path(AXE).is_file(), "run `make install` (npm ci installs axe-core)"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_passes_wcag_aa(axe_page: Page, live_server: LiveServer, path: str):
    axe_page.goto(live_server.url + path)
    assert violations(axe_page) == []


# A family with something in every section of its page: a newcomer's KTP, deciles the
# sources disagree on, a benefit, an NIB (so an open review), an objection, a restricted member.
FULL_HEAD = {"nik": "1571024407790001", "name": "Rahmawati", "birth_date": "1979-07-04", "sex": "F"}
FULL_SON = {
    "nik": "1571021208030004",
    "name": "Dedi Kurniawan",
    "birth_date": "2003-08-12",
    "sex": "M",
}


@pytest.fixture(scope="module")
def full_household(live_server: LiveServer) -> str:
    casework, meta = live_server.services.casework, make_meta(SYSTEM, "seed")
    hid = casework.register_household(
        {
            "kk_number": "1571020101150009",
            "kecamatan": "Telanaipura",
            "kelurahan": "Simpang IV Sipin",
            "address": "Jl. Sunan Gunung Jati No. 12",
            "rt": "004",
            "rw": "001",
            "head": FULL_HEAD,
        },
        meta,
    ).stream_id
    day = today()
    steps = [
        ("AddMember", {"person": FULL_SON, "relationship": "anak"}),
        (
            "IssueKtp",
            {
                "nik": FULL_HEAD["nik"],
                "issued_on": "2016-02-01",
                "arrival": {
                    "type": "pindah_datang",
                    "arrived_on": "2015-06-01",
                    "origin_region_code": "1505",
                },
            },
        ),
        (
            "RecordWelfareAssessment",
            {"source": "DTSEN", "desil": 2, "period": "2026-Q1", "reference": "a"},
        ),
        (
            "RecordWelfareAssessment",
            {"source": "P3KE", "desil": 5, "period": "2025-Q4", "reference": "b"},
        ),
        (
            "GrantBenefit",
            {
                "nik": FULL_HEAD["nik"],
                "program": "KJB",
                "period_start": day.replace(month=1, day=1).isoformat(),
                "period_end": day.replace(month=12, day=31).isoformat(),
                "amount": 300000,
            },
        ),
        (
            "RegisterNib",
            {
                "nik": FULL_HEAD["nik"],
                "nib": "9120000000555",
                "business_name": "Kedai Rahma",
                "registered_on": day.isoformat(),
            },
        ),
        (
            "FileObjection",
            {
                "objector_nik": KNOWN_HEAD["nik"],
                "grounds": "Keluarga ini sudah punya usaha sendiri",
                "filed_on": day.isoformat(),
                "photo_reference": "foto-001",
                "latitude": -1.6101,
                "longitude": 103.6131,
            },
        ),
        ("RestrictProcessing", {"nik": FULL_SON["nik"], "grounds": "Permintaan subjek data"}),
    ]
    for command, body in steps:
        casework.execute(command, {"household_id": hid, **body}, meta)
    catch_up(live_server)
    return hid


def test_the_household_page_passes_wcag_aa_and_fits_a_tablet(
    axe_page: Page, live_server: LiveServer
):
    axe_page.goto(f"{live_server.url}/rumah-tangga/{live_server.known_household_id}")
    assert violations(axe_page) == []
    width = axe_page.evaluate("document.documentElement.scrollWidth")
    assert width <= axe_page.viewport_size["width"], "the page scrolls sideways"
    screenshot(axe_page, f"household-{axe_page.viewport_size['width']}")


def test_the_household_page_with_every_section_passes_wcag_aa_and_fits_a_tablet(
    axe_page: Page, live_server: LiveServer, full_household: str
):
    axe_page.goto(f"{live_server.url}/rumah-tangga/{full_household}")
    for title in ("identity", "nib", "deciles", "eligibility", "benefits", "reviews", "timeline"):
        assert axe_page.locator(f"section[aria-labelledby='{title}-title']").count() == 1, title
    son = axe_page.locator("section[aria-labelledby='members-title'] tr", has_text="Dedi")
    assert "Dibatasi" in son.inner_text()
    assert axe_page.locator("td.conflict").count() == 2
    assert axe_page.locator("tr.review-open").count() == 1
    assert "Keluarga ini sudah punya usaha sendiri" in axe_page.locator("main").inner_text()
    # each eligibility mark has words for screen readers; the rules met open on demand
    eligibility = axe_page.locator("section[aria-labelledby='eligibility-title']")
    for mark in eligibility.locator("li.reason").all():
        assert mark.locator(".mark[aria-hidden='true']").count() == 1
        assert mark.locator(".visually-hidden").text_content().strip().rstrip(":") in (
            "Tidak terpenuhi",
            "Belum diketahui: perlu diperiksa petugas",
            "Terpenuhi",
        )
    for summary in eligibility.locator("details.reasons-met summary").all():
        summary.click()
    assert violations(axe_page) == []
    width = axe_page.evaluate("document.documentElement.scrollWidth")
    assert width <= axe_page.viewport_size["width"], "the page scrolls sideways"
    screenshot(axe_page, f"household-full-{axe_page.viewport_size['width']}")


def test_the_program_page_with_errors_and_a_what_if_result_passes_wcag_aa(
    axe_page: Page, live_server: LiveServer
):
    project_programs(live_server)
    axe_page.goto(f"{live_server.url}/program/PKH")
    axe_page.get_by_label("Desil tertinggi").fill("6")
    axe_page.get_by_role("button", name="Hitung rancangan").click()
    axe_page.locator("#what-if-result").wait_for()
    assert violations(axe_page) == []
    width = axe_page.evaluate("document.documentElement.scrollWidth")
    assert width <= axe_page.viewport_size["width"], "the page scrolls sideways"
    screenshot(axe_page, f"program-{axe_page.viewport_size['width']}")


def test_the_notice_of_a_view_being_filled_passes_wcag_aa_and_fits_a_tablet(
    axe_page: Page, live_server: LiveServer
):
    """As the household page reads while the eligibility view of a new version is rebuilt
    from the city's events (app/filling.py): 45 %, about 19 minutes left."""
    views = live_server.services.views
    now = time.time()
    start_filling(views, ["eligibility"], 2_700_000, now=now - 900)
    filled_so_far(views, ["eligibility"], 1_215_000, now=now)
    try:
        axe_page.goto(f"{live_server.url}/rumah-tangga/{live_server.known_household_id}")
        notice = axe_page.locator("main > .notice-filling[role='status']")
        assert notice.locator("p").all_inner_texts() == [
            "Data kelayakan sedang dihitung ulang dari semua kejadian"
            " (45%, sekitar 19 menit lagi).",
            "Sampai selesai, jawaban di halaman ini belum lengkap.",
        ]
        assert violations(axe_page) == []
        width = axe_page.evaluate("document.documentElement.scrollWidth")
        assert width <= axe_page.viewport_size["width"], "the page scrolls sideways"
        screenshot(axe_page, f"household-filling-{axe_page.viewport_size['width']}")
        axe_page.goto(f"{live_server.url}/status")
        row = axe_page.locator(".status-table tr", has_text="Tampilan: kelayakan")
        assert "Sedang dibangun ulang dari semua kejadian: 45%, sekitar 19 menit lagi" in (
            row.inner_text()
        )
        assert violations(axe_page) == []
        screenshot(axe_page, f"status-filling-{axe_page.viewport_size['width']}")
    finally:
        with views.transaction() as cur:
            end_filling(cur, "eligibility")
