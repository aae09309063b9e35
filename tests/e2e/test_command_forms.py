"""Every command form picks ids from lists and speaks the UI language; the DecideReview form
picks the household's open reviews, the one opened from the queue preselected; the review
queue is usable on a 10-inch tablet held upright (800 px) without scrolling sideways.

The review is opened as on a case worker's day: a benefit for the head of the known family
(KJB excludes NIB holders), then an NIB for the head; the policies and the projection runner
are played by `catch_up` (tests/e2e/test_case_worker_day.py)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from domain.application import SYSTEM, make_meta
from domain.city import today
from tests.e2e.conftest import KNOWN_HEAD, LiveServer, screenshot
from tests.e2e.test_case_worker_day import catch_up

pytestmark = pytest.mark.e2e

TABLET = {"width": 800, "height": 1280}
KEY = re.compile(r"\b(?:opt|field|hint)\.[a-z_]+(?:\.[A-Za-z_]+)*")


@pytest.fixture(scope="module")
def review(live_server: LiveServer) -> str:
    """The known family with one open review (an NIB for the head, who receives KJB)."""
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
    casework.execute(
        "RegisterNib",
        {
            "household_id": hid,
            "nik": KNOWN_HEAD["nik"],
            "nib": "9120000000078",
            "business_name": "Warung Siti",
            "registered_on": day.isoformat(),
        },
        meta,
    )
    catch_up(live_server)
    reviews = [
        r
        for b in casework.get_household(hid).benefits.values()
        for r in b["reviews"]
        if r["status"] == "open"
    ]
    assert len(reviews) == 1, reviews
    return reviews[0]["review_id"]


@pytest.fixture(scope="module")
def provisional(live_server: LiveServer) -> tuple[str, str]:
    """A person without papers with one running REHSOS benefit: (person_id, benefit_id)."""
    casework = live_server.services.casework
    meta = make_meta(SYSTEM, "seed")
    person_id = casework.execute(
        "RegisterHomelessPerson",
        {
            "name": "Pak Ujang",
            "estimated_birth_year": 1975,
            "sex": "M",
            "found_at": "Emperan Pasar Angso Duo",
            "kecamatan": "Telanaipura",
            "notes": None,
        },
        meta,
    ).stream_id
    day = today()
    casework.execute(
        "GrantProvisionalBenefit",
        {
            "person_id": person_id,
            "program": "REHSOS",
            "period_start": day.replace(month=1, day=1).isoformat(),
            "period_end": day.replace(month=12, day=31).isoformat(),
            "amount": 300000,
        },
        meta,
    )
    [benefit_id] = casework.get_provisional_person(person_id).benefits
    return str(person_id), benefit_id


def test_a_termination_before_a_nik_picks_the_chosen_persons_benefit(
    page: Page, live_server: LiveServer, provisional: tuple[str, str]
):
    person_id, benefit_id = provisional
    page.goto(live_server.url + "/perintah/TerminateProvisionalBenefit")
    benefits = page.locator("select#f-benefit_id")
    expect(benefits.locator("option")).to_have_count(1)  # only "— choose —" before a person
    page.locator("select#f-person_id").select_option(person_id)
    # the form reads the person's running benefits again (htmx), keeping the choice
    expect(page.locator("select#f-benefit_id option")).to_have_count(2)
    expect(page.locator("select#f-person_id")).to_have_value(person_id)
    page.locator("select#f-benefit_id").select_option(benefit_id)
    expect(page.locator("select#f-benefit_id option:checked")).to_contain_text("REHSOS")
    page.locator("#f-effective_date").fill(today().isoformat())
    page.locator("select#f-reason_code").select_option("issue_resolved")
    page.get_by_role("button", name="Simpan").click()
    expect(page).to_have_url(re.compile(r"/persetujuan"))
    pending = live_server.services.casework.pending_approvals()
    asked = [c.cmd for c in pending if c.command == "TerminateProvisionalBenefit"]
    assert [(c["person_id"], c["benefit_id"]) for c in asked] == [(person_id, benefit_id)]


def test_decide_review_picks_the_review_from_a_list(
    page: Page, live_server: LiveServer, review: str
):
    page.goto(live_server.url + "/tinjauan")
    page.locator("tr.review", has_text="KJB").get_by_role("button", name="Putuskan").click()
    expect(page).to_have_url(re.compile(r"/perintah/DecideReview\?"))

    picked = page.locator("select#f-review_id")
    expect(picked).to_have_value(review)  # the review the queue's link was for
    chosen = picked.locator("option:checked")
    for part in ("KJB", KNOWN_HEAD["name"], "NIB didaftarkan", "Batas waktu"):
        expect(chosen).to_contain_text(part)
    expect(page.locator("label[for='f-review_id']")).to_have_text("Tinjauan yang diputuskan")
    expect(page.locator("label[for='f-decision']")).to_have_text("Keputusan")
    decisions = page.locator("#f-decision option").all_inner_texts()
    assert decisions == [
        "— pilih —",
        "Bantuan tetap diberikan",
        "Tangguhkan bantuan mulai hari ini",
        "Hentikan bantuan (disetujui supervisor kedua)",
    ]
    assert not KEY.search(page.locator("#command-form").inner_text())
    screenshot(page, "forms-decide-review")
    page.set_viewport_size(TABLET)
    screenshot(page, "forms-decide-review-800")

    page.goto(page.url + "&lang=en")
    assert page.locator("#f-decision option").all_inner_texts()[1:] == [
        "Keep the benefit",
        "Suspend the benefit from today",
        "Terminate the benefit (a second supervisor approves)",
    ]
    expect(page.locator("#f-review_id option:checked")).to_contain_text("Deadline")


def test_the_household_page_opens_the_decision_with_its_review(
    page: Page, live_server: LiveServer, review: str
):
    page.goto(f"{live_server.url}/rumah-tangga/{live_server.known_household_id}")
    page.locator("tr.review-open").get_by_role("button", name="Putuskan").click()
    expect(page.locator("select#f-review_id")).to_have_value(review)


def test_the_review_queue_fits_a_tablet(page: Page, live_server: LiveServer, review: str):
    page.set_viewport_size(TABLET)
    page.goto(live_server.url + "/tinjauan")
    row = page.locator("tr.review", has_text="KJB")
    decide = row.get_by_role("button", name="Putuskan")
    expect(decide).to_be_visible()
    box = decide.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= TABLET["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(page, "forms-queue-800")
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(decide).to_be_visible()
    screenshot(page, "forms-queue")


def test_every_command_form_picks_ids_and_speaks_indonesian(
    page: Page, live_server: LiveServer, review: str, provisional: tuple[str, str]
):
    """Each form on the commands page, opened for the known household (and a person without
    papers who has a benefit) as its page opens them: no id typed by hand (the household's own
    id comes filled in), no timestamp typed (a date-and-time picker), no untranslated label
    or option; the benefit of a person without papers is one of theirs to pick."""
    page.goto(live_server.url + "/perintah")
    links = page.locator("main a[href*='/perintah/']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(links) > 20
    person_id, benefit_id = provisional
    query = urlencode({"household_id": live_server.known_household_id, "person_id": person_id})
    problems = []
    for href in dict.fromkeys(links):
        page.goto(f"{live_server.url}{href}?{query}")
        form = page.locator("#command-form")
        if form.count() == 0:
            continue
        for field in form.locator("input:not([type=hidden])").all():
            name, kind = field.get_attribute("name") or "", field.get_attribute("type")
            filled = name == "household_id" and field.input_value()
            if name.endswith("_id") and not filled:
                problems.append(f"{href}: {name} is typed")
            if name == "occurred_at" and kind != "datetime-local":
                problems.append(f"{href}: {name} is not a date-and-time picker")
        if "TerminateProvisionalBenefit" in href:
            offered = form.locator("select#f-benefit_id option").evaluate_all(
                "options => options.map(o => o.value).filter(v => v)"
            )
            if offered != [benefit_id]:
                problems.append(f"{href}: benefit_id offers {offered}, not the person's")
        shown = form.inner_text() + " ".join(form.locator("option").all_inner_texts())
        problems.extend(f"{href}: {key} untranslated" for key in KEY.findall(shown))
    assert not problems, problems


@pytest.mark.parametrize(
    ("command", "folded"),
    [
        ("AddCaseNote", "Lainnya: alasan, waktu kejadian"),
        # its reason is a field of its own, above: the fold no longer promises one (in the
        # order the fields come in)
        ("DecideReview", "Lainnya: waktu kejadian"),
    ],
)
def test_the_folded_fields_are_named_as_they_are(
    page: Page, live_server: LiveServer, command: str, folded: str
):
    page.goto(f"{live_server.url}/perintah/{command}")
    more = page.locator("details.shared-fields")
    expect(more.locator("summary")).to_have_text(folded)
    more.locator("summary").click()
    expect(more.get_by_label(re.compile(r"^Alasan"))).to_have_count(1 if "alasan" in folded else 0)
