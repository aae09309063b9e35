"""Every page a case worker uses passes axe-core's WCAG 2 A and AA checks (contrast at least
4.5:1, a label on every input, names on every control), on a desktop and on a 10-inch tablet.

axe-core comes from the npm registry (package.json, a dev dependency: never served)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import ROOT, LiveServer, screenshot
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
)


@pytest.fixture(params=[None, TABLET], ids=["desktop", "tablet"])
def axe_page(request, browser: Browser) -> Iterator[Page]:
    # axe is injected as a script of its own: the app's CSP rightly refuses that, so the
    # checking tab bypasses it (the pages themselves are unchanged)
    context = browser.new_context(
        viewport=request.param or {"width": 1280, "height": 900}, locale="id-ID", bypass_csp=True
    )
    tab = context.new_page()
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


def test_the_household_page_passes_wcag_aa_and_fits_a_tablet(
    axe_page: Page, live_server: LiveServer
):
    axe_page.goto(f"{live_server.url}/rumah-tangga/{live_server.known_household_id}")
    assert violations(axe_page) == []
    width = axe_page.evaluate("document.documentElement.scrollWidth")
    assert width <= axe_page.viewport_size["width"], "the page scrolls sideways"
    screenshot(axe_page, f"household-{axe_page.viewport_size['width']}")


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
