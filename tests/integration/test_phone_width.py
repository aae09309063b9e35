"""The agencies, approvals, status and review queue pages on a phone (375 px): nothing widens
the page so that it scrolls sideways (an agreement's terms, an approval's long outcome, a
recipient's long name). The pages come from the Flask test client; Chromium draws them with
the app's own CSS."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

from adapters import wire
from projections.approvals import PROJECTION as APPROVALS
from projections.base import apply_batch, reveal
from tests.integration.test_agency_agreements_api import AGREEMENT, approved, post, project
from tests.integration.test_api import HOUSEHOLD
from tests.integration.test_eligibility_api import project as project_all
from tests.integration.test_review_queue_names import META, open_review, pbi

SON = {"nik": "1571010505100001", "name": "Andi", "birth_date": "2010-05-05", "sex": "M"}
LONG_NAMED = {
    "nik": "1571014505100002",
    "name": "Nurul Hidayatullah Rahmawati Kusumaningrum Syarifuddin",
    "birth_date": "2010-05-05",
    "sex": "F",
}
PBI_JK = {
    "code": "PBI-JK",
    "name": "Penerima Bantuan Iuran Jaminan Kesehatan",
    "opd": "DINSOS",
    "funding": "APBN",
    "kind": "insurance",
    "rules": {"recipient": "any_member"},
    "effective_from": "2025-01-01",
}

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def widths(client, paths: list[str]) -> dict[str, int]:
    """Each page's scroll width in a 375 px wide tab."""

    def answer(route):
        url = urlsplit(route.request.url)
        got = client.get(url.path + (f"?{url.query}" if url.query else ""))
        route.fulfill(status=got.status_code, headers=dict(got.headers), body=got.data)

    def draw() -> dict[str, int]:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            tab = browser.new_page(viewport={"width": 375, "height": 800})
            tab.route("http://casework.test/**", answer)
            found = {}
            for path in paths:
                tab.goto(f"http://casework.test{path}")
                found[path] = tab.evaluate("document.documentElement.scrollWidth")
            browser.close()
        return found

    # in a thread of its own: a worker that ran the e2e tests holds their browser's event
    # loop in this thread, and the sync API refuses to start inside a running loop
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(draw).result()


def test_agreements_and_refused_requests_fit_a_phone(web, tokens):
    client = web.test_client()
    wide = {**AGREEMENT, "event_types": ["HouseholdRegistered", "MemberAdded", "BenefitGranted"]}
    approved(client, "DefineAgencyAgreement", wide, tokens)
    # asked twice: the second fails when approved ("Ditolak saat persetujuan: ..."); one
    # request per agency waits at a time, so the request asked twice is a member's removal
    household_id = post(client, "RegisterHousehold", HOUSEHOLD, tokens["admin"]).get_json()[
        "stream_id"
    ]
    son = {"household_id": household_id, "person": SON, "relationship": "anak"}
    assert post(client, "AddMember", son, tokens["admin"]).status_code == 201
    removal = {
        "household_id": household_id,
        "nik": SON["nik"],
        "kind": "moved_out",
        "effective_date": "2026-01-05",
    }
    twice = [post(client, "RemoveMember", removal, tokens["sup1"]) for _ in range(2)]
    for asked in twice:
        approval_id = asked.get_json()["approval_id"]
        post(client, "ApproveChange", {"approval_id": approval_id}, tokens["sup2"])
    project(web)
    svc = web.extensions["casework"]
    notifications = svc.casework.recorder.select_notifications(start=1, limit=10_000)
    envelopes = [
        reveal(svc.casework.codec, wire.from_notification(svc.casework, n, "1571", sealed=True))
        for n in notifications
    ]
    apply_batch(svc.views, APPROVALS, envelopes)  # the requests' outcomes
    found = widths(web.test_client(user="sup1"), ["/agensi", "/persetujuan"])
    assert found == {"/agensi": 375, "/persetujuan": 375}


def test_the_status_page_fits_a_phone_in_both_languages(web):
    found = widths(web.test_client(), ["/status?lang=id", "/status?lang=en"])
    assert found == {"/status?lang=id": 375, "/status?lang=en": 375}


def test_the_review_queue_naming_each_recipient_fits_a_phone(web):
    """A family's two reviews, each naming its recipient (a long name, the NIK masked) and the
    family: each review a card on a phone, nothing wider than the screen."""
    casework = web.extensions["casework"].casework
    casework.define_program(PBI_JK, META)
    household_id = str(casework.register_household(HOUSEHOLD, META).stream_id)
    daughter = {"household_id": household_id, "person": LONG_NAMED, "relationship": "anak"}
    casework.add_member(daughter, META)
    for nik in (HOUSEHOLD["head"]["nik"], LONG_NAMED["nik"]):
        casework.grant_benefit(pbi(household_id, nik), META)
    for benefit_id in casework.get_household(household_id).benefits:
        open_review(casework, household_id, benefit_id)
    project_all(web)
    client = web.test_client(user="sup1")
    assert LONG_NAMED["name"] in client.get("/tinjauan").get_data(as_text=True)
    assert widths(client, ["/tinjauan"]) == {"/tinjauan": 375}
