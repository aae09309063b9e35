"""The review queue and DecideReview over HTTP, on SQLite and PostgreSQL: an NIB opens a
review (the policies), the queue shows it to whom it concerns, supervisors and the program's
OPD decide it, and a termination waits for a second supervisor."""

from __future__ import annotations

import re

import pytest

from adapters import wire
from consumers.policies import execute, replay
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from projections.base import apply_batch, reveal
from projections.catalog import PROJECTIONS
from tests.integration.conftest import bearer

pytestmark = pytest.mark.integration

HEAD = {"nik": "1571015203850007", "name": "Siti Aminah", "birth_date": "1985-03-12", "sex": "F"}
HOUSEHOLD = {
    "kk_number": "1571010101200003",
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 5",
    "rt": "007",
    "rw": "002",
    "head": HEAD,
}


def post(client, command, body, token):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def queue(client, token, query=""):
    return client.get(f"/api/v1/reviews{query}", headers=bearer(token))


def project(web) -> None:
    """Apply everything stored to every view, as the projection runner would."""
    svc = web.extensions["casework"]
    notifications = svc.casework.recorder.select_notifications(start=1, limit=10_000)
    envelopes = [
        reveal(svc.casework.codec, wire.from_notification(svc.casework, n, "1571", sealed=True))
        for n in notifications
    ]
    for projection in PROJECTIONS.values():
        apply_batch(svc.views, projection, envelopes)


def policies(web) -> None:
    casework = web.extensions["casework"].casework
    for action in replay(casework):
        assert execute(casework, action) == "done"


@pytest.fixture
def reviewed(web, tokens):
    """A KJB benefit of the head, under review since the head registered an NIB."""
    casework = web.extensions["casework"].casework
    seed_catalog(casework, make_meta(SYSTEM, "seed"))
    client = web.test_client()
    created = post(client, "RegisterHousehold", HOUSEHOLD, tokens["admin"])
    hid = created.json["stream_id"]
    grant = {
        "household_id": hid,
        "nik": HEAD["nik"],
        "program": "KJB",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "amount": 300000,
    }
    # KJB asks for 12 months in the city: the head was born here (her KTP says so)
    ktp = {
        "household_id": hid,
        "nik": HEAD["nik"],
        "issued_on": "2003-05-01",
        "arrival": {"type": "born_here", "arrived_on": None, "origin_region_code": None},
    }
    casework.execute("IssueKtp", ktp, make_meta(SYSTEM, "seed"))
    casework.execute("GrantBenefit", grant, make_meta(SYSTEM, "seed"))
    nib = {
        "household_id": hid,
        "nik": HEAD["nik"],
        "nib": "9120000000001",
        "business_name": "Warung Siti",
        "registered_on": "2026-03-02",
    }
    assert post(client, "RegisterNib", nib, tokens["cw_sipin"]).status_code == 201
    policies(web)
    project(web)
    found = queue(client, tokens["sup1"]).json["results"]
    assert len(found) == 1
    return client, hid, found[0]


def test_the_queue_lists_the_open_review_with_its_area_program_and_deadline(reviewed, tokens):
    client, hid, review = reviewed
    assert review["household_id"] == hid
    assert (review["program"], review["kelurahan"], review["cause"]) == (
        "KJB",
        "Simpang IV Sipin",
        "nib",
    )
    assert review["overdue"] is False
    assert "nik" not in review and "name" not in review  # no personal data in the queue
    for query, count in (
        ("?kelurahan=Simpang%20IV%20Sipin&program=KJB", 1),
        ("?kelurahan=Tahtul%20Yaman", 0),
        ("?program=PKH", 0),
        ("?overdue=true", 0),
        ("?overdue=false", 1),
    ):
        assert len(queue(client, tokens["sup1"], query).json["results"]) == count, query
    # a code no program has is 404 naming program, as the other lists by program answer
    unknown = queue(client, tokens["sup1"], "?program=NOPE")
    assert unknown.status_code == 404 and unknown.json["codes"] == {
        "program": ["program.not_found"]
    }


def test_the_queue_shows_each_role_only_its_own(reviewed, tokens):
    client, _, _ = reviewed
    seen = {
        name: len(queue(client, tokens[name]).json["results"])
        for name in ("auditor", "cw_sipin", "cw_pelayangan", "pm_dinsos", "pm_baznas")
    }
    assert seen == {
        "auditor": 1,
        "cw_sipin": 1,
        "cw_pelayangan": 0,
        "pm_dinsos": 1,
        "pm_baznas": 0,
    }
    assert queue(client, tokens["agency"]).status_code == 403
    # a case worker naming a kelurahan not theirs is refused, as on the other routes
    outside = queue(client, tokens["cw_pelayangan"], "?kelurahan=Simpang%20IV%20Sipin")
    assert outside.status_code == 403
    assert queue(client, tokens["cw_sipin"], "?kelurahan=Simpang%20IV%20Sipin").status_code == 200
    unknown = queue(client, tokens["sup1"], "?kelurahan=Atlantis")
    assert unknown.status_code == 422 and unknown.json["codes"] == {
        "kelurahan": ["kelurahan.unknown"]
    }
    # no kecamatan was chosen: the answer does not say the kelurahan is not in "the chosen" one
    assert "Kota Jambi" in unknown.json["errors"]["kelurahan"][0]


def test_a_bad_overdue_filter_names_the_field(reviewed, tokens):
    client, _, _ = reviewed
    answer = queue(client, tokens["sup1"], "?overdue=maybe")
    assert answer.status_code == 422
    assert answer.json["codes"] == {"overdue": ["overdue.invalid"]}


def test_only_supervisors_and_the_programs_opd_may_decide(reviewed, tokens):
    client, hid, review = reviewed
    decision = {
        "household_id": hid,
        "review_id": review["review_id"],
        "decision": "keep",
        "reason": "Usaha sudah tutup",
    }
    assert post(client, "DecideReview", decision, tokens["cw_sipin"]).status_code == 403
    assert post(client, "DecideReview", decision, tokens["pm_baznas"]).status_code == 403
    assert post(client, "DecideReview", decision, tokens["auditor"]).status_code == 403
    no_reason = post(client, "DecideReview", {**decision, "reason": None}, tokens["pm_dinsos"])
    assert no_reason.status_code == 422 and "reason" in no_reason.json["codes"]
    assert post(client, "DecideReview", decision, tokens["pm_dinsos"]).status_code == 201
    project(client.application)
    assert queue(client, tokens["sup1"]).json["results"] == []


def test_a_termination_waits_for_a_second_supervisor(reviewed, tokens):
    client, hid, review = reviewed
    decision = {
        "household_id": hid,
        "review_id": review["review_id"],
        "decision": "terminate",
        "reason": "Memiliki usaha dengan NIB; KJB tidak untuk pemegang NIB",
    }
    waiting = post(client, "DecideReview", decision, tokens["sup1"])
    assert waiting.status_code == 202
    approval = {"approval_id": waiting.json["approval_id"], "note": "ok"}
    assert post(client, "ApproveChange", approval, tokens["sup1"]).status_code == 403
    project(client.application)
    assert len(queue(client, tokens["sup1"]).json["results"]) == 1  # still open meanwhile

    assert post(client, "ApproveChange", approval, tokens["sup2"]).status_code == 201
    state = client.get(f"/api/v1/households/{hid}", headers=bearer(tokens["sup1"])).json
    assert [b["status"] for b in state["benefits"]] == ["terminated"]
    project(client.application)
    assert queue(client, tokens["sup1"]).json["results"] == []


def test_the_reviews_page_lists_the_review_in_bahasa_indonesia_with_a_way_to_decide(
    reviewed, tokens
):
    client, hid, review = reviewed
    page = client.application.test_client().get("/tinjauan?program=KJB")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Tinjauan terbuka" in text and "NIB didaftarkan" in text and "Simpang IV Sipin" in text
    assert f"review_id={review['review_id']}" in text  # the decide link, prefilled
    # the recipient named to the administrator, who reads the household: her NIK masked
    assert HEAD["name"] in text and "1571**********07" in text and HEAD["nik"] not in text
    manager = client.application.test_client(user="pm_dinsos").get("/tinjauan?program=KJB")
    assert "NIB didaftarkan" in manager.get_data(as_text=True)  # a program manager: no names
    assert HEAD["name"] not in manager.get_data(as_text=True)
    empty = client.application.test_client().get("/tinjauan?program=PKH")
    assert "Tidak ada tinjauan terbuka yang cocok." in empty.get_data(as_text=True)
    form = client.application.test_client().get(
        f"/perintah/DecideReview?household_id={hid}&review_id={review['review_id']}"
    )
    assert form.status_code == 200 and "Putuskan tinjauan" in form.get_data(as_text=True)


def test_a_death_takes_the_deceased_off_the_beneficiary_list_at_once(web, tokens):
    casework = web.extensions["casework"].casework
    seed_catalog(casework, make_meta(SYSTEM, "seed"))
    client = web.test_client()
    hid = post(client, "RegisterHousehold", HOUSEHOLD, tokens["admin"]).json["stream_id"]
    grant = {
        "household_id": hid,
        "nik": HEAD["nik"],
        "program": "PBI-JK",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "amount": 42000,
    }
    casework.execute("GrantBenefit", grant, make_meta(SYSTEM, "seed"))
    project(web)
    listed = client.get("/api/v1/programs/PBI-JK/beneficiaries", headers=bearer(tokens["sup1"]))
    assert len(listed.json["results"]) == 1

    death = {"household_id": hid, "nik": HEAD["nik"], "date_of_death": "2026-02-10"}
    assert post(client, "RecordDeath", death, tokens["cw_sipin"]).status_code == 201
    policies(web)
    project(web)

    listed = client.get("/api/v1/programs/PBI-JK/beneficiaries", headers=bearer(tokens["sup1"]))
    assert listed.json["results"] == []
    state = client.get(f"/api/v1/households/{hid}", headers=bearer(tokens["sup1"])).json
    assert [b["status"] for b in state["benefits"]] == ["terminated"]


def test_a_termination_of_a_closed_review_is_refused_before_anyone_approves(reviewed, tokens, web):
    client, hid, review = reviewed
    decision = {"household_id": hid, "review_id": review["review_id"], "reason": "Sudah dicek"}
    assert (
        post(client, "DecideReview", {**decision, "decision": "keep"}, tokens["sup1"]).status_code
        == 201
    )
    before = web.extensions["casework"].casework.pending_approvals()

    again = post(client, "DecideReview", {**decision, "decision": "terminate"}, tokens["sup1"])
    assert again.status_code == 422
    assert again.json["codes"] == {"review_id": ["review.not_open"]}
    assert web.extensions["casework"].casework.pending_approvals() == before  # nothing kept


def test_the_reviews_page_reads_the_kelurahan_as_the_api_does(reviewed, tokens):
    """'simpang iv sipin' typed in small letters showed 'no open review matches' while the
    API found the review, and a kelurahan the city has not showed the same empty queue: the
    page reads any case, a spelling or the code, and refuses a typo at its field."""
    client, hid, review = reviewed
    browser = client.application.test_client()
    for typed in ("Simpang IV Sipin", "simpang iv sipin", "1571011001"):
        page = browser.get("/tinjauan", query_string={"kelurahan": typed})
        assert page.status_code == 200, typed
        assert f"review_id={review['review_id']}" in page.get_data(as_text=True), typed
    typo = browser.get("/tinjauan", query_string={"kelurahan": "Simpang IV Sipinn"})
    assert typo.status_code == 422
    text = typo.get_data(as_text=True)
    assert 'id="f-kelurahan-error"' in text and "tidak ada di Kota Jambi" in text
    assert "Tidak ada tinjauan terbuka yang cocok." not in text


def test_the_reviews_program_filter_offers_every_program_as_all(reviewed, tokens):
    """Left empty the program filter shows every program's reviews: its empty choice says
    '— semua —' as the other pages' filters do, not '— pilih —' (choose), which read as
    required."""
    client, _, _ = reviewed
    text = client.application.test_client().get("/tinjauan").get_data(as_text=True)
    select = re.search(r'<select id="f-program".*?</select>', text, re.S).group(0)
    assert '<option value="">— semua —</option>' in select
