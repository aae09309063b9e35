"""Every command as a form in headless Chromium: the grouped list, inline errors, the queue of
changes waiting for approval."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from domain.application import Actor, make_meta
from domain.commands import COMMANDS
from tests.e2e.conftest import ADMIN, KNOWN_HEAD, LiveServer, screenshot, sign_in
from tests.e2e.test_case_worker_day import catch_up

pytestmark = pytest.mark.e2e


def test_the_commands_page_groups_every_command(page: Page, live_server: LiveServer):
    page.goto(live_server.url + "/perintah")
    expect(page.locator("h1")).to_have_text("Perintah")
    groups = page.locator(".command-group h2")
    expect(groups).to_have_text(
        [
            "Keanggotaan",
            "Identitas",
            "Usaha",
            "Kesejahteraan",
            "Program",
            "Bantuan",
            "Pemberdayaan",
            "Kasus",
            "Persetujuan",
            "Privasi",
            "Agensi",
        ]
    )
    expect(page.locator(".command-group li")).to_have_count(len(COMMANDS))
    # every command that always waits for approval, RequestErasure among them
    expect(page.locator(".badge-approval")).to_have_count(
        sum(command.needs_approval for command in COMMANDS.values())
    )
    expect(page.get_by_role("link", name="Hapus data pribadi")).to_have_count(1)
    screenshot(page, "commands")

    page.get_by_role("link", name="Catat desil kesejahteraan").click()
    expect(page).to_have_url(re.compile(r"/perintah/RecordWelfareAssessment$"))
    expect(page.locator("h1")).to_have_text("Catat desil kesejahteraan")


def test_a_command_form_shows_each_error_under_its_field_then_stores(
    page: Page, live_server: LiveServer
):
    household_id = live_server.known_household_id
    page.goto(f"{live_server.url}/rumah-tangga/{household_id}")
    page.get_by_role("link", name="Catat desil kesejahteraan").click()
    # the household fixed: named, its id carried hidden, no internal name shown
    expect(page.locator(".for-household")).to_contain_text(
        f"Untuk rumah tangga {KNOWN_HEAD['name']}"
    )
    expect(page.locator("input[type=hidden][name=household_id]")).to_have_value(household_id)
    expect(page.locator("#f-household_id")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("RecordWelfareAssessment")

    before = live_server.stored_events()
    page.select_option("#f-source", "DTSEN")
    page.fill("#f-desil", "11")
    page.fill("#f-period", "2025-Q5")
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator("#err-desil")).to_contain_text("1 (paling miskin) sampai 10")
    expect(page.locator("#err-period")).to_contain_text("TTTT-Qn")
    expect(page.locator("#f-source")).to_have_value("DTSEN")  # what was typed stays
    assert live_server.stored_events() == before
    screenshot(page, "command-errors")

    page.fill("#f-desil", "3")
    page.fill("#f-period", "2025-Q1")
    page.get_by_role("button", name="Simpan").click()
    said = page.locator(".flash-success")
    expect(said).to_contain_text(
        f"Tersimpan: Catat desil kesejahteraan, untuk rumah tangga {KNOWN_HEAD['name']}"
    )
    expect(said).not_to_contain_text("Versi")
    assert live_server.stored_events() == before + 1
    said.get_by_role("link", name="Lihat di riwayat kejadian").click()
    expect(page).to_have_url(re.compile(rf"/rumah-tangga/{household_id}#kejadian-\d+$"))


def test_a_grant_from_the_form_waits_in_the_approvals_queue(page: Page, live_server: LiveServer):
    page.goto(
        f"{live_server.url}/perintah/GrantBenefit?household_id={live_server.known_household_id}"
    )
    expect(page.locator(".notice")).to_contain_text("supervisor")
    # the member and the program are picked from lists, not typed
    expect(page.locator("#f-nik option")).to_contain_text([KNOWN_HEAD["name"]])
    page.select_option("#f-nik", value=KNOWN_HEAD["nik"])
    page.select_option("#f-program", value="PKH")
    page.fill("#f-period_start", "2025-01-01")
    page.fill("#f-period_end", "2025-03-31")
    page.fill("#f-amount", "750000")
    page.get_by_role("button", name="Simpan").click()

    expect(page).to_have_url(re.compile(r"/persetujuan$"))
    expect(page.locator(".flash-success")).to_contain_text("menunggu persetujuan")
    card = page.locator("article.approval").last
    expect(card.locator("h2")).to_have_text("Berikan bantuan")
    expect(card).to_contain_text("PKH")
    expect(card).to_contain_text(f"{ADMIN} (administrator)")  # the maker, by role label
    # The maker is never the checker: no decision buttons on their own request, a note instead.
    expect(card).to_contain_text("Anda yang meminta perubahan ini")
    expect(card.get_by_role("button", name="Setujui")).to_have_count(0)
    # ... once: not again under "Permintaan saya", and the saved message's link lands on it
    expect(page.locator("article", has_text="750.000")).to_have_count(1)
    page.locator(".flash-success").get_by_role("link", name="Lihat permintaan").click()
    expect(page.locator(":target")).to_contain_text("750.000")

    # A supervisor signs in on the same browser, sees what will change and approves it.
    page.get_by_role("button", name="Keluar").click()
    expect(page.locator("h1")).to_have_text("Masuk")
    sign_in(page, live_server, live_server.account("e2e-supervisor", "supervisor"))
    page.goto(f"{live_server.url}/persetujuan")
    card = page.locator("article.approval").filter(has_text=f"{ADMIN} (administrator)").last
    expect(card).to_contain_text("750.000")
    screenshot(page, "approvals")
    pending = len(live_server.services.casework.pending_approvals())
    card.get_by_role("button", name="Setujui").click()
    # the card leaves the queue: the message says which request it was and where it shows
    done = page.locator(".flash-success")
    expect(done).to_contain_text("Disetujui")
    expect(done).to_contain_text(f"Berikan bantuan, rumah tangga {KNOWN_HEAD['name']}")
    assert len(live_server.services.casework.pending_approvals()) == pending - 1
    screenshot(page, "approvals-approved")
    done.get_by_role("link", name="Lihat di riwayat kejadian").click()
    expect(page.locator("h1")).to_contain_text(KNOWN_HEAD["name"])
    expect(page.locator(":target")).to_contain_text("Bantuan diberikan")


def test_a_rejection_is_said_in_indonesian_and_shows_on_the_household(
    page: Page, live_server: LiveServer
):
    household_id = live_server.known_household_id
    page.goto(f"{live_server.url}/perintah/GrantBenefit?household_id={household_id}")
    page.select_option("#f-nik", value=KNOWN_HEAD["nik"])
    page.select_option("#f-program", value="BPNT")
    page.fill("#f-period_start", "2025-04-01")
    page.fill("#f-period_end", "2025-06-30")
    page.fill("#f-amount", "100000")
    page.get_by_role("button", name="Simpan").click()
    expect(page).to_have_url(re.compile(r"/persetujuan$"))
    page.get_by_role("button", name="Keluar").click()
    sign_in(page, live_server, live_server.account("e2e-supervisor", "supervisor"))
    page.goto(f"{live_server.url}/persetujuan")
    card = page.locator("article.approval").filter(has_text="BPNT").last
    # sent without its reason and note: the page's own words at both fields (not the
    # browser's, in the browser's language), nothing decided
    card.get_by_role("button", name="Tolak").click()
    card = page.locator("article.approval").filter(has_text="BPNT").last
    reason = card.get_by_label("Alasan penolakan (wajib)")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_be_focused()  # the first field to fix, for who uses the keyboard
    expect(card.locator("[id^=err-reject-note-]")).to_contain_text("Catatan")
    screenshot(page, "approvals-reject-errors")
    pending = len(live_server.services.casework.pending_approvals())
    reason.select_option("duplicate")
    card.get_by_label("Catatan (wajib)").fill("Sudah diminta sebelumnya")
    card.get_by_role("button", name="Tolak").click()
    done = page.locator(".flash-success")
    expect(done).to_contain_text("Ditolak")
    expect(done).to_contain_text(f"Berikan bantuan, rumah tangga {KNOWN_HEAD['name']}")
    assert len(live_server.services.casework.pending_approvals()) == pending - 1
    done.get_by_role("link", name="Lihat rumah tangga").click()
    expect(page).to_have_url(re.compile(rf"/rumah-tangga/{household_id}#requests-title$"))
    catch_up(live_server)  # the approvals view follows the store
    page.reload()
    requests = page.locator("section[aria-labelledby=requests-title]")
    expect(requests.locator("article", has_text="BPNT")).to_contain_text("Ditolak")


def test_an_erasure_request_asks_for_the_subjects_request_and_waits_for_approval(
    page: Page, live_server: LiveServer
):
    household_id = live_server.known_household_id
    page.goto(f"{live_server.url}/perintah/RequestErasure?household_id={household_id}")
    expect(page.locator(".notice")).to_contain_text("supervisor")
    # The data subject's request is the command's own input, not hidden under "Lainnya".
    expect(page.locator("#f-reason")).to_be_visible()
    before = live_server.stored_events()
    page.select_option("#f-nik", value=KNOWN_HEAD["nik"])
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator("#err-reason")).to_contain_text("Wajib diisi")
    assert live_server.stored_events() == before
    screenshot(page, "erasure-errors")

    page.fill("#f-reason", "Surat permohonan penghapusan, 2 November 2026")
    page.get_by_role("button", name="Simpan").click()
    expect(page).to_have_url(re.compile(r"/persetujuan$"))
    card = page.locator("article.approval").last
    expect(card.locator("h2")).to_have_text("Hapus data pribadi")
    # Nothing is erased until another supervisor approves.
    page.goto(f"{live_server.url}/rumah-tangga/{household_id}")
    expect(page.locator("table.members")).to_contain_text(KNOWN_HEAD["name"])


def test_a_grant_refused_for_a_running_benefit_names_its_period_not_its_id(
    page: Page, live_server: LiveServer
):
    household_id = live_server.known_household_id
    for attempt in range(2):  # the second asks again for the same program and period
        page.goto(f"{live_server.url}/perintah/GrantBenefit?household_id={household_id}")
        page.select_option("#f-nik", value=KNOWN_HEAD["nik"])
        page.select_option("#f-program", value="PBI-JK")
        page.fill("#f-period_start", "2025-07-01")
        page.fill("#f-period_end", "2025-12-31")
        page.fill("#f-amount", "42000")
        page.get_by_role("button", name="Simpan").click()
        if attempt == 0:  # a supervisor's approval carries it out
            expect(page).to_have_url(re.compile(r"/persetujuan$"))
            (pending,) = [
                change
                for change in live_server.services.casework.pending_approvals()
                if change.cmd.get("program") == "PBI-JK"
            ]
            live_server.services.casework.execute(
                "ApproveChange",
                {"approval_id": str(pending.id)},
                make_meta(Actor(id="e2e-supervisor", role="supervisor"), "ui"),
            )
    said = page.locator("#err-program")
    expect(said).to_contain_text("Orang ini sudah menerima program ini")
    expect(said).to_contain_text("(1 Juli 2025 sampai 31 Desember 2025)")
    expect(said).not_to_contain_text(re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-"))  # no bare id
    screenshot(page, "grant-double-receipt")
