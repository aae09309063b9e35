"""The Content-Security-Policy in a real browser: the pages work under it (the `page` fixture
fails a test on any refused resource), and what it forbids really does not run."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e


def test_an_injected_inline_script_and_style_are_refused(browser: Browser, live_server: LiveServer):
    context = browser.new_context(locale="id-ID")
    tab = context.new_page()
    refused: list[str] = []
    tab.on("console", lambda msg: refused.append(msg.text) if msg.type == "error" else None)
    answer = tab.goto(live_server.url + "/")
    assert (
        answer is not None and "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    )
    ran = tab.evaluate(
        """() => {
            window.injected = false;
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.head.appendChild(script);
            const style = document.createElement("style");
            style.textContent = "body { display: none }";
            document.head.appendChild(style);
            return window.injected;
        }"""
    )
    assert ran is False
    expect(tab.locator("h1")).to_be_visible()  # the injected style did not apply
    assert any("Content Security Policy" in text for text in refused), refused
    context.close()


def test_htmx_works_under_the_policy_without_inline_styles(page: Page, live_server: LiveServer):
    """htmx's own indicator style would be an inline <style>: it is switched off and the
    stylesheet provides it. The kelurahan list is swapped in by htmx."""
    page.goto(live_server.url + "/daftar")
    page.select_option("#f-kecamatan", "Pelayangan")
    expect(page.locator("#f-kelurahan option", has_text="Tahtul Yaman")).to_have_count(1)
    assert page.evaluate("() => htmx.config.includeIndicatorStyles") is False
    assert page.locator("head style").count() == 0
