"""The reconciliation page in Chromium: a few families listed by DTSEN and DTKS, the bars per
kecamatan and kelurahan, the list leading to the case's data sources."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from adapters import wire
from domain.application import SYSTEM, make_meta
from projections import reconciliation
from projections.base import apply_batch, reveal
from tests.e2e.conftest import LiveServer, screenshot


def list_families(live: LiveServer) -> None:
    """DTSEN and DTKS list the seeded families; every third one DTKS lists without its last
    member, with a far decile and a PKH flag; then the reconciliation view is applied."""
    casework = live.services.casework
    meta = make_meta(SYSTEM, "import:test")
    if live.app.config.get("sources_listed"):
        return
    for i, household_id in enumerate(live.household_ids[:12]):
        household = casework.get_household(household_id)
        niks = [n for n, m in household.members.items() if m["status"] == "active"]
        odd = i % 3 == 0
        for source, desil, listed, flags in (
            ("DTSEN", 2 + i % 3, niks, []),
            (
                "DTKS",
                8 if odd else 2 + i % 3,
                niks[:-1] if odd and len(niks) > 1 else niks,
                ["PKH"] if odd else [],
            ),
        ):
            casework.execute(
                "RecordSourceListing",
                {
                    "household_id": household_id,
                    "source": source,
                    "period": "2026-Q1",
                    "reference": f"{source}.csv#row={i}",
                    "kk_number": household.kk_number,
                    "members": [
                        {
                            "nik": n,
                            "relationship": household.members[n]["relationship"],
                            "deceased": False,
                        }
                        for n in listed
                    ],
                    "desil": desil,
                    "benefits": flags,
                },
                meta,
            )
    notifications = casework.recorder.select_notifications(start=1, limit=100_000)
    envelopes = [
        reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
        for n in notifications
    ]
    apply_batch(live.services.views, reconciliation.PROJECTION, envelopes)
    live.app.config["sources_listed"] = True


def test_the_reconciliation_page_charts_and_links_the_families(page: Page, live_server):
    list_families(live_server)
    page.goto(f"{live_server.url}/rekonsiliasi")
    expect(page.get_by_role("heading", name="Rekonsiliasi sumber data")).to_be_visible()
    expect(page.locator("table svg rect").first).to_be_attached()
    screenshot(page, "rekonsiliasi")
    page.locator("#families-title + ul a").first.click()
    expect(page.get_by_role("heading", name="Sumber data")).to_be_visible()
    screenshot(page, "rekonsiliasi-rumah-tangga")


def test_the_timeline_says_which_source_listed_the_family_and_when(page: Page, live_server):
    # "Data dari sumber dicatat" twice, with nothing to tell DTSEN's listing from DTKS's
    list_families(live_server)
    page.goto(f"{live_server.url}/rumah-tangga/{live_server.household_ids[0]}#timeline-title")
    listed = page.locator("section[aria-labelledby=timeline-title] li", has_text="sumber dicatat")
    expect(listed).to_have_count(2)
    expect(listed.nth(0).locator(".what")).to_have_text("DTSEN 2026-Q1")
    expect(listed.nth(1).locator(".what")).to_have_text("DTKS 2026-Q1")
