"""The cross-OPD page on a phone: the month-by-month chart keeps readable axis labels (it
scrolls sideways in its own region instead of shrinking), and the page stays as wide as the
screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from adapters import wire
from domain.application import SYSTEM, make_meta
from projections import overview
from projections.base import apply_batch, reveal
from tests.e2e.conftest import KNOWN_HEAD, LiveServer, screenshot, sign_in


@pytest.fixture(scope="module")
def benefit(live_server: LiveServer) -> LiveServer:
    casework = live_server.services.casework
    casework.grant_benefit(
        {
            "household_id": live_server.known_household_id,
            "nik": KNOWN_HEAD["nik"],
            "program": "PKH",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "amount": 750_000,
        },
        make_meta(SYSTEM, "api"),
    )
    live_server.project()
    notifications = casework.recorder.select_notifications(start=1, limit=100_000)
    envelopes = [
        reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
        for n in notifications
    ]
    apply_batch(live_server.services.views, overview.PROJECTION, envelopes)
    return live_server


def test_the_monthly_chart_keeps_readable_labels_on_a_phone(browser: Browser, benefit):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        sign_in(page, benefit)
        page.goto(f"{benefit.url}/lintas-opd")
        heights = page.evaluate(
            "[...document.querySelectorAll('svg.chart text')]"
            ".map(t => t.getBoundingClientRect().height)"
        )
        assert heights, "the chart has no labels"
        assert min(heights) >= 11, f"axis labels {min(heights)}px high on a phone"
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"/lintas-opd is {overflow}px wider than the screen"
        screenshot(page, "overview-phone")
    finally:
        context.close()


def test_table_captions_stay_on_a_phones_screen(browser: Browser, benefit):
    # centred over a table wider than the screen, "Keluarga dengan bantuan yang berjalan
    # hari ini, per program" began off its left part and ran off its right edge
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        sign_in(page, benefit)
        page.goto(f"{benefit.url}/lintas-opd")
        spans = page.evaluate(
            """[...document.querySelectorAll('caption:not(.visually-hidden)')].map(c => {
                const range = document.createRange();
                range.selectNodeContents(c);
                const box = range.getBoundingClientRect();
                return [c.textContent.trim(), box.left, box.right];
            })"""
        )
        assert spans, "the page has no visible table caption"
        for caption, left, right in spans:
            assert 0 <= left and right <= 390, f"'{caption}' spans {left}-{right}px"
        screenshot(page, "overview-captions-phone")
    finally:
        context.close()
