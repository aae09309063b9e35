"""The household timeline in Chromium: an auditor picks a moment and a mode on the household
page and sees the family as it was (a death reported late shows from the day it happened),
then the changes between two moments, swapped in place by HTMX."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from tests.e2e.conftest import LiveServer, screenshot

pytestmark = pytest.mark.e2e

WIFE = {
    "nik": nik_for("157101", dt.date(1979, 5, 2), "F", 9301),
    "name": "Rohani Lubis",
    "birth_date": "1979-05-02",
    "sex": "F",
}
HUSBAND = {
    "nik": nik_for("157101", dt.date(1975, 8, 17), "M", 9302),
    "name": "Darman Lubis",
    "birth_date": "1975-08-17",
    "sex": "M",
}


@pytest.fixture(scope="module")
def late_death(live_server: LiveServer) -> str:
    """A family registered in January 2025 whose husband died on 1 June 2025, reported now."""
    casework = live_server.services.casework
    household = {
        "kk_number": kk_for("157101", dt.date(2024, 12, 2), 9301),
        "kecamatan": "Telanaipura",
        "kelurahan": "Simpang IV Sipin",
        "address": "Jl. Sumantri Brojonegoro No. 12",
        "rt": "004",
        "rw": "001",
        "head": WIFE,
    }
    meta = lambda at: make_meta(SYSTEM, "ui", None, at)  # noqa: E731
    hid = casework.register_household(household, meta("2025-01-06T09:00:00+07:00")).stream_id
    casework.add_member(
        {"household_id": hid, "person": HUSBAND, "relationship": "suami"},
        meta("2025-01-06T09:05:00+07:00"),
    )
    casework.record_death(
        {"household_id": hid, "nik": HUSBAND["nik"], "date_of_death": "2025-06-01"},
        meta("2025-06-01T08:00:00+07:00"),
    )
    live_server.project()
    return str(hid)


def test_an_auditor_sees_the_family_as_it_was_and_what_changed(
    page: Page, live_server: LiveServer, late_death: str
):
    page.goto(f"{live_server.url}/rumah-tangga/{late_death}")
    travel = page.locator("#time-travel")
    expect(travel).to_contain_text("Seperti diketahui saat itu")
    expect(travel).to_contain_text("termasuk fakta yang dicatat kemudian")

    page.fill("#tt-saat", "2025-07-01T12:00")
    page.check("input[name=mode][value=effective]")
    page.click("#time-travel button[type=submit]")
    husband = page.locator("#time-travel tbody tr", has_text=HUSBAND["name"])
    expect(husband).to_contain_text("Meninggal")
    expect(page.locator("#tt-then-title")).to_contain_text("Seperti keadaannya")

    page.fill("#tt-dari", "2025-05-01T00:00")
    page.fill("#tt-sampai", "2025-07-01T12:00")
    page.click("#time-travel button[type=submit]")
    diff = page.locator("#time-travel section[aria-labelledby=tt-diff-title]")
    expect(diff).to_contain_text(f"{HUSBAND['name']} · Status")  # a label, not members.<NIK>
    expect(diff).not_to_contain_text(HUSBAND["nik"])
    expect(diff.locator("tbody tr")).to_contain_text("Meninggal")
    page.locator("#time-travel").scroll_into_view_if_needed()
    screenshot(page, "household-time-travel")

    # a reversed range: the error at the 'From' field, in the form's words
    page.fill("#tt-dari", "2025-07-01T12:00")
    page.fill("#tt-sampai", "2025-05-01T00:00")
    page.click("#time-travel button[type=submit]")
    expect(page.locator("#tt-dari-err")).to_contain_text("Sampai (WIB)")
    expect(page.locator("#tt-dari-err")).not_to_contain_text("from lebih lambat")

    # as known in July 2025, nothing of this family had been recorded
    page.check("input[name=mode][value=known]")
    page.fill("#tt-dari", "")
    page.fill("#tt-sampai", "")
    page.click("#time-travel button[type=submit]")
    expect(page.locator("#time-travel")).to_contain_text("belum tercatat")
