"""A case worker's day in headless Chromium: find a family, open it, record a newcomer's KTP,
record an NIB for a member whose benefit excludes NIB holders, see the review appear on the
household page and in the queue, and decide it; every page visited is saved as a screenshot.

Until sign-in arrives the web acts as the built-in administrator (app/auth.py): the case
worker's steps and the supervisor's decision are taken by the same session, as the other
browser tests do. The projection runner and the policies are played by `catch_up`, which
applies every stored event to every view and runs the policies over the store, as those
processes do."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from babel.dates import format_date
from playwright.sync_api import Page, expect

from adapters import wire
from consumers.policies import execute, replay
from domain.application import SYSTEM, make_meta
from domain.city import today
from projections.base import apply_batch, reveal
from projections.catalog import PROJECTIONS
from tests.e2e.conftest import KNOWN_HEAD, KNOWN_HUSBAND, LiveServer, screenshot

pytestmark = pytest.mark.e2e

TABLET = {"width": 800, "height": 1280}
NIB = "9120000000077"


def catch_up(live: LiveServer) -> None:
    """What the policies and the projection runner do: the policies' actions over the store,
    then every stored event applied to every view (already applied ones are skipped)."""
    casework = live.services.casework
    for action in replay(casework):
        execute(casework, action)
    notifications = casework.recorder.select_notifications(start=1, limit=100_000)
    envelopes = [
        reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
        for n in notifications
    ]
    for projection in PROJECTIONS.values():
        apply_batch(live.services.views, projection, envelopes)


@pytest.fixture(scope="module")
def family(live_server: LiveServer) -> str:
    """The known family before the day: the head born here with a KJB benefit (which excludes
    NIB holders), and two sources that disagree about the family's decile."""
    casework = live_server.services.casework
    meta = make_meta(SYSTEM, "seed")
    hid = live_server.known_household_id
    day = today()
    casework.execute(
        "IssueKtp",
        {
            "household_id": hid,
            "nik": KNOWN_HEAD["nik"],
            "issued_on": "2003-05-01",
            "arrival": {"type": "born_here", "arrived_on": None, "origin_region_code": None},
        },
        meta,
    )
    for source, desil, period in (("DTSEN", 3, "2026-Q1"), ("DTKS", 6, "2025-Q4")):
        casework.execute(
            "RecordWelfareAssessment",
            {
                "household_id": hid,
                "source": source,
                "desil": desil,
                "period": period,
                "reference": f"{source}-e2e",
            },
            meta,
        )
    casework.execute(
        "GrantBenefit",
        {
            "household_id": hid,
            "nik": KNOWN_HEAD["nik"],
            "program": "KJB",
            "period_start": day.replace(month=1, day=1).isoformat(),
            "period_end": (day + dt.timedelta(days=365)).isoformat(),
            "amount": 300000,
        },
        meta,
    )
    catch_up(live_server)
    return hid


def section(page: Page, title_id: str):
    return page.locator(f"section[aria-labelledby='{title_id}']")


def saved(page: Page, name: str) -> None:
    """A screenshot on the desktop, and the same page on a tablet held upright."""
    screenshot(page, f"day-{name}")
    desktop = page.viewport_size
    page.set_viewport_size(TABLET)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET["width"], f"{name}: the page scrolls sideways on a tablet"
    screenshot(page, f"day-{name}-800")
    page.set_viewport_size(desktop)


def test_a_case_workers_day(page: Page, live_server: LiveServer, family: str):
    url = live_server.url
    # 1. find the family by the head's name
    page.goto(url + "/")
    with page.expect_response(lambda response: "q=Siti" in response.url):
        page.fill("#q", "Siti Aminah")  # the list follows the typing
    result = page.get_by_role("link", name=re.compile("Siti Aminah"))
    expect(result.first).to_be_visible()
    saved(page, "1-search")
    result.first.click()
    expect(page).to_have_url(re.compile(rf"/rumah-tangga/{family}"))

    # 2. the household page: everything a case worker needs
    expect(page.locator("h1")).to_contain_text("Siti Aminah")
    members = section(page, "members-title")
    expect(members).to_contain_text(KNOWN_HUSBAND["name"])
    identity = section(page, "identity-title")
    expect(identity.locator("tr", has_text=KNOWN_HEAD["name"])).to_contain_text("Lahir di sini")
    expect(identity.locator("tr", has_text=KNOWN_HUSBAND["name"])).to_contain_text("Belum ada KTP")
    deciles = section(page, "deciles-title")
    expect(deciles).to_contain_text("Sumber-sumber tidak sepakat")
    expect(deciles.locator("td.conflict")).to_have_count(2)  # DTSEN 3 against DTKS 6
    benefits = section(page, "benefits-title")
    kjb = benefits.locator("tbody tr", has_text="KJB")
    expect(kjb).to_contain_text("Aktif")
    expect(kjb).to_contain_text("Diberikan")
    expect(section(page, "nib-title")).to_contain_text("Belum ada NIB")
    eligibility = section(page, "eligibility-title").locator("tbody tr")
    kjb_answer = eligibility.filter(has=page.get_by_role("rowheader", name="KJB", exact=True))
    # KJB lets the sources differ by 2 deciles at most: DTSEN 3 against DTKS 6 goes to a person
    expect(kjb_answer.locator(".badge")).to_have_text("Perlu ditinjau")
    expect(kjb_answer).to_contain_text("Desil tertinggi")
    expect(kjb_answer).to_contain_text("DTSEN 3 (2026-Q1), DTKS 6 (2025-Q4)")
    # what decides comes first: the decile left to a person, marked ? and said in words
    kjb_first = kjb_answer.locator("li.reason").first
    expect(kjb_first).to_contain_text("Belum diketahui: perlu diperiksa petugas")
    expect(kjb_first).to_contain_text("berbeda 3, toleransi 2; syarat desil ≤ 5")
    # born here: the months reached, without the day (it would tell her birth date)
    expect(kjb_answer).to_contain_text(
        "lama tinggal penerima mencapai 12 bulan: tinggal sejak lahir"
    )
    expect(kjb_answer).not_to_contain_text("1986")
    # BPNT does not combine with the KJB she receives: that failed rule first, in Indonesian;
    # the rules met are folded away until asked for
    bpnt = eligibility.filter(has=page.get_by_role("rowheader", name="BPNT", exact=True))
    expect(bpnt.locator(".badge")).to_have_text("Tidak layak")
    bpnt_first = bpnt.locator("li.reason").first
    expect(bpnt_first).to_have_class(re.compile(r"\breason-failed\b"))
    expect(bpnt_first).to_contain_text("Tidak terpenuhi")
    expect(bpnt_first).to_contain_text("Boleh digabung dengan")
    expect(bpnt_first).to_contain_text(
        "penerima menerima KJB, yang tidak boleh digabung dengan program ini"
    )
    met = bpnt.locator("details.reasons-met")
    expect(met.locator("summary")).to_have_text("3 aturan terpenuhi")
    desil_met = met.locator("li", has_text="desil keluarga 3, syarat ≤ 4")
    expect(desil_met).to_be_hidden()
    met.locator("summary").click()
    expect(desil_met).to_be_visible()
    expect(met).to_contain_text("Tidak menerima ganda")  # double_receipt, translated
    expect(section(page, "eligibility-title")).not_to_contain_text("double_receipt")
    timeline = section(page, "timeline-title")
    expect(timeline).to_contain_text("Rumah tangga didaftarkan")
    expect(timeline).to_contain_text("Bantuan diberikan")
    saved(page, "2-household")

    # 3. a newcomer's KTP: the husband moved in from elsewhere
    page.get_by_role("link", name="Catat penerbitan KTP").click()
    expect(page.locator("input[type=hidden][name=household_id]")).to_have_value(family)
    page.select_option("#f-nik", value=KNOWN_HUSBAND["nik"])
    day = today()
    page.fill("#f-issued_on", (day - dt.timedelta(days=30)).isoformat())
    # the browser writes the field in its own language's order: the day in words under it
    issued_words = format_date(day - dt.timedelta(days=30), "long", locale="id")
    expect(page.locator("#words-issued_on")).to_have_text(f"Tanggal terpilih: {issued_words}")
    page.select_option("#f-arrival-type", value="pindah_datang")
    page.fill("#f-arrival-arrived_on", (day - dt.timedelta(days=200)).isoformat())
    page.fill("#f-arrival-origin_region_code", "3171")
    saved(page, "3-ktp-form")
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator(".flash-success")).to_contain_text("Tersimpan")
    saved(page, "4-ktp-saved")
    catch_up(live_server)

    # 4. an NIB for the head, who receives KJB (NIB holders excluded)
    page.get_by_role("status").get_by_role("link", name="Lihat di riwayat kejadian").click()
    husband = section(page, "identity-title").locator("tr", has_text=KNOWN_HUSBAND["name"])
    expect(husband).to_contain_text("Pindah datang")
    expect(husband).to_contain_text("3171")
    page.get_by_role("link", name="Catat NIB").click()
    page.select_option("#f-nik", value=KNOWN_HEAD["nik"])
    page.fill("#f-nib", NIB)
    page.fill("#f-business_name", "Warung Siti")
    page.fill("#f-registered_on", day.isoformat())
    saved(page, "5-nib-form")
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator(".flash-success")).to_contain_text("Tersimpan")
    saved(page, "5-nib-saved")
    catch_up(live_server)

    # 5. the review appears on the household page ...
    page.get_by_role("status").get_by_role("link", name="Lihat di riwayat kejadian").click()
    expect(section(page, "nib-title").locator("tr", has_text=NIB)).to_contain_text("Terdaftar")
    reviews = section(page, "reviews-title")
    open_review = reviews.locator("tr.review-open")
    expect(open_review).to_have_count(1)
    expect(open_review).to_contain_text("KJB")
    expect(open_review).to_contain_text("NIB didaftarkan")
    expect(open_review.get_by_role("button", name="Putuskan")).to_be_visible()
    expect(section(page, "timeline-title")).to_contain_text("Peninjauan bantuan dibuka")
    saved(page, "6-household-review")

    # ... and in the queue
    page.goto(url + "/tinjauan")
    row = page.locator("tr.review", has_text="KJB")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Simpang IV Sipin")
    saved(page, "7-queue")

    # 6. the supervisor decides it: suspend, with a reason
    row.get_by_role("button", name="Putuskan").click()
    expect(page).to_have_url(re.compile(r"/perintah/DecideReview\?"))
    page.select_option("#f-decision", value="suspend")
    page.fill("#f-reason", "Usaha warung sudah berjalan; ditinjau lagi tahun depan")
    saved(page, "8-decide")
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator(".flash-success")).to_contain_text("Tersimpan")
    saved(page, "8-decided")
    catch_up(live_server)

    # 7. the decision shows on the household page
    page.get_by_role("status").get_by_role("link", name="Lihat di riwayat kejadian").click()
    kjb = section(page, "benefits-title").locator("tbody tr", has_text="KJB")
    expect(kjb.locator(".badge")).to_have_text("Ditangguhkan")
    expect(kjb.locator(".benefit-history li")).to_have_count(2)
    expect(kjb.locator(".benefit-history li").last).to_contain_text(
        "Memiliki Nomor Induk Berusaha (NIB)"
    )
    reviews = section(page, "reviews-title")
    expect(reviews.locator("tr.review-open")).to_have_count(0)
    expect(reviews.locator("tr.review-closed")).to_contain_text("Bantuan ditangguhkan")
    expect(section(page, "timeline-title")).to_contain_text("Tinjauan bantuan diputuskan")
    saved(page, "9-household-decided")

    page.goto(url + "/tinjauan")
    expect(page.locator("tr.review", has_text="KJB")).to_have_count(0)
    saved(page, "10-queue-empty")
