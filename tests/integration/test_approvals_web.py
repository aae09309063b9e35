"""The maker-checker pages as their users meet them (`/persetujuan`, the household page,
`/tinjauan`): a case worker asks for two grants, a supervisor approves one and refuses the
other with a reason and a note; the case worker then reads both outcomes, who decided,
when, why. A refusal without its note comes back with the error at the note and the reason
kept. Review controls are offered only to the roles the command path lets decide them.

One app on SQLite for the module (as tests/integration/test_web_policy.py): the records are
made once; the last test decides the open review.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app
from app.auth import may_issue
from consumers.policies import execute, replay
from domain.application import SYSTEM, make_meta
from tests.conftest import TEST_MASTER_KEY
from tests.integration.conftest import USERS
from tests.integration.test_api import HEAD, HOUSEHOLD
from tests.integration.test_eligibility_api import project
from tests.support.events import TEST_SIGNING_KEY
from tests.support.signin import use_signed_in_clients

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "seed")
DAUGHTER = {"nik": "1571014506050003", "name": "Nur Aini", "birth_date": "2005-06-05", "sex": "F"}
KK = HOUSEHOLD["kk_number"]
KK_MASKED = "1571**********03"
REFUSAL_NOTE = "PKH sudah diterima keluarga lain di alamat yang sama"
APPROVAL_NOTE = "Sesuai hasil verval"
RULES_NOT_MET = "Tidak memenuhi ketentuan program"  # the reason's label, in Indonesian


def csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


def visible_text(page: str) -> str:
    """The main part of a page without its tags: what an assertion's message should show."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split("<main", 1)[-1]))[:1500]


def grant(household_id: str, nik: str, program: str) -> dict[str, str]:
    return {
        "household_id": household_id,
        "nik": nik,
        "program": program,
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "amount": "300000",
    }


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[Flask]:
    """A family in Simpang IV Sipin with a KJB benefit under review (the head registered an
    NIB); the Sipin case worker asked for BPNT for the head and PKH for the daughter; sup1
    approved the BPNT and refused the PKH. One more grant (BPNT for the daughter) waits."""
    where = tmp_path_factory.mktemp("approvals-web")
    settings = Settings.from_env(
        {
            "CASEWORK_STORE": f"sqlite:///{where}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{where}/views.db",
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
            "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
        }
    )
    app = use_signed_in_clients(create_app(bootstrap(settings)), USERS)
    casework = app.extensions["casework"].casework
    for code, rules in (
        ("BPNT", {"combinable_with": ["PKH", "KJB"]}),
        ("PKH", {"combinable_with": ["BPNT", "KJB"]}),
        ("KJB", {"excludes_nib_holders": True, "combinable_with": ["BPNT", "PKH"]}),
    ):
        casework.define_program(
            {
                "code": code,
                "name": f"Program {code}",
                "opd": "DINSOS",
                "funding": "APBN",
                "kind": "bansos",
                "rules": rules,
                "effective_from": "2025-01-01",
            },
            META,
            alongside=rules["combinable_with"],  # defined together, each listing the others
        )
    hid = str(casework.register_household(HOUSEHOLD, META).stream_id)
    casework.add_member({"household_id": hid, "person": DAUGHTER, "relationship": "anak"}, META)
    casework.grant_benefit({**grant(hid, HEAD["nik"], "KJB"), "amount": 300000}, META)
    casework.execute(
        "RegisterNib",
        {
            "household_id": hid,
            "nik": HEAD["nik"],
            "nib": "9120000000001",
            "business_name": "Warung Siti",
            "registered_on": "2026-03-02",
        },
        META,
    )
    for action in replay(casework):  # the policies open the KJB review
        assert execute(casework, action) == "done"

    maker = app.test_client(user="cw_sipin")
    asks = ((HEAD["nik"], "BPNT"), (DAUGHTER["nik"], "PKH"), (DAUGHTER["nik"], "BPNT"))
    for nik, program in asks:
        asked = maker.post(
            "/perintah/GrantBenefit",
            data=grant(hid, nik, program),
            headers={"X-CSRF-Token": csrf(maker)},
        )
        assert asked.status_code == 303, visible_text(asked.text)
    pending = {c.cmd["program"] + c.cmd["nik"][-2:]: c for c in casework.pending_approvals()}
    bpnt, pkh = pending["BPNT07"], pending["PKH03"]
    checker = app.test_client(user="sup1")
    approved = checker.post(
        f"/persetujuan/{bpnt.id}/setujui",
        data={"note": APPROVAL_NOTE},
        headers={"X-CSRF-Token": csrf(checker)},
    )
    assert approved.status_code == 303
    refused = checker.post(
        f"/persetujuan/{pkh.id}/tolak",
        data={"reason_code": "rules_not_met", "note": REFUSAL_NOTE},
        headers={"X-CSRF-Token": csrf(checker)},
    )
    assert refused.status_code == 303
    assert casework.get_pending_change(pkh.id).status == "rejected"
    project(app)
    app.config["WORLD"] = {
        "household": hid,
        "approved": str(bpnt.id),
        "refused": str(pkh.id),
        "waiting": str(pending["BPNT03"].id),
    }
    yield app
    app.extensions["casework"].close()


def card(page: str, approval_id: str) -> str:
    """The <article> of one request on a page."""
    found = re.search(rf'<article[^>]*id="request-{approval_id}".*?</article>', page, re.S)
    assert found, f"no card for {approval_id}"
    return found.group(0)


def test_the_requester_sees_each_outcome_who_decided_when_and_why(web):
    world = web.config["WORLD"]
    page = web.test_client(user="cw_sipin").get("/persetujuan").get_data(as_text=True)
    assert "Tidak ada yang menunggu persetujuan." not in page or world["refused"] in page

    refused = card(page, world["refused"])
    assert RULES_NOT_MET in refused and REFUSAL_NOTE in refused
    assert re.search(r"sup1 \(supervisor\), \d", refused)  # who decided (role's label), when
    assert "PKH" in refused

    approved = card(page, world["approved"])
    assert "sup1" in approved and APPROVAL_NOTE in approved and "BPNT" in approved

    waiting = card(page, world["waiting"])
    assert "sup1" not in waiting
    # each says its state, differently
    states = {
        key: re.search(r'class="badge badge-request-(\w+)"', card(page, world[key])).group(1)
        for key in ("approved", "refused", "waiting")
    }
    assert states == {"approved": "approved", "refused": "rejected", "waiting": "pending"}
    # most recent first
    assert (
        page.index(world["waiting"]) < page.index(world["refused"]) < page.index(world["approved"])
    )


def test_another_case_worker_sees_none_of_these_requests(web):
    world = web.config["WORLD"]
    page = web.test_client(user="cw_pelayangan").get("/persetujuan").get_data(as_text=True)
    for key in ("approved", "refused", "waiting"):
        assert world[key] not in page
    assert REFUSAL_NOTE not in page and APPROVAL_NOTE not in page


def test_the_supervisor_still_has_the_queue(web):
    world = web.config["WORLD"]
    page = web.test_client(user="sup1").get("/persetujuan").get_data(as_text=True)
    waiting = re.search(
        rf'<article class="approval"[^>]*approval-{world["waiting"]}.*?</article>', page, re.S
    )
    assert waiting and "Setujui" in waiting.group(0)


def test_a_supervisors_card_says_what_is_asked_not_the_requests_id(web):
    """The card's head read the request's raw id (a UUID) beside who asked: what is asked,
    for which family and member, by whom and when come first; the id is a muted reference."""
    world = web.config["WORLD"]
    page = web.test_client(user="sup1").get("/persetujuan?lang=id").get_data(as_text=True)
    found = re.search(
        rf'<article class="approval"[^>]*approval-{world["waiting"]}.*?</article>', page, re.S
    )
    assert found, visible_text(page)
    card = found.group(0)
    header = visible_text(card.split("</header>", 1)[0])
    assert "Berikan bantuan" in header and "cw_sipin" in header, header
    assert HEAD["name"] in header and KK_MASKED in header, header  # the family
    assert world["waiting"] not in header, header
    facts = visible_text(card.split("</header>", 1)[1])
    # the member by name under a label saying so, not "NIK" above a name
    assert "Anggota Nur Aini (1571**********03)" in facts, facts
    assert "BPNT" in facts, facts
    reference = re.search(r'<p class="reference muted">(.*?)</p>', card, re.S)
    assert reference and world["waiting"] in reference.group(1)
    assert "Nomor rujukan" in reference.group(1)


def test_the_household_page_shows_its_requests_and_their_outcomes(web):
    world = web.config["WORLD"]
    for user in ("cw_sipin", "sup1"):
        page = web.test_client(user=user).get(f"/rumah-tangga/{world['household']}").text
        found = re.search(r'<section aria-labelledby="requests-title".*?</section>', page, re.S)
        assert found, user
        requests = found.group(0)
        refused = card(requests, world["refused"])
        assert RULES_NOT_MET in refused and REFUSAL_NOTE in refused and "sup1" in refused
        assert APPROVAL_NOTE in card(requests, world["approved"])
        assert world["waiting"] in requests
    assert (
        web.test_client(user="cw_pelayangan").get(f"/rumah-tangga/{world['household']}").status_code
        == 403
    )


def test_a_refusal_of_a_request_decided_meanwhile_says_it_was_decided(web):
    # a second supervisor's card, sent without its note after the first had approved: the
    # form's error was shown at a card no longer on the page, so nothing was said (htmx: 422
    # with nothing to read)
    world = web.config["WORLD"]
    checker = web.test_client(user="sup2")
    for headers in ({}, {"HX-Request": "true", "HX-Target": "approvals"}):
        answer = checker.post(
            f"/persetujuan/{world['approved']}/tolak",
            data={"reason_code": "duplicate", "note": "  "},
            headers={"X-CSRF-Token": csrf(checker), **headers},
        )
        assert answer.status_code in (200, 303), headers
        assert "persetujuan" in (answer.headers.get("HX-Redirect") or answer.location)
        page = checker.get("/persetujuan?lang=id").get_data(as_text=True)
        assert "sudah diputus" in page, headers


def test_a_refusal_without_its_note_says_so_at_the_note_and_keeps_the_reason(web):
    world = web.config["WORLD"]
    checker = web.test_client(user="sup2")
    answer = checker.post(
        f"/persetujuan/{world['waiting']}/tolak",
        data={"reason_code": "duplicate", "note": "  "},
        headers={"X-CSRF-Token": csrf(checker)},
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "1571**********03" in page and DAUGHTER["nik"] not in page  # masked, as on the page
    form = re.search(rf'<form[^>]*/persetujuan/{world["waiting"]}/tolak".*?</form>', page, re.S)
    assert form, page[:3000]
    form = form.group(0)
    assert re.search(r'<option value="duplicate" selected>', form)  # the reason kept
    note = re.search(r'<input id="reject-note-[^"]+"[^>]*>', form).group(0)
    assert 'aria-invalid="true"' in note
    described = re.search(r'aria-describedby="([^"]+)"', note).group(1)
    error = re.search(rf'id="{described}"[^>]*>(.*?)</small>', form, re.S).group(1)
    assert "Catatan:" in error  # the error, at the note, names it
    assert "Wajib diisi." not in page  # not the bare banner
    # distinct labels for the reason and the note
    labels = dict(re.findall(r'<label for="reject-(reason|note)-[^"]+">(.*?)</label>', form))
    assert labels["reason"] == "Alasan penolakan (wajib)"
    # "Catatan (wajib)" once the catalog translates the new label (English until then)
    assert labels["note"] in ("Catatan (wajib)", "Note (required)")
    # the reason's own field says nothing: it was chosen
    select = re.search(r'<select id="reject-reason-[^"]+"[^>]*>', form).group(0)
    assert 'aria-invalid="true"' not in select
    assert (
        web.extensions["casework"].casework.get_pending_change(world["waiting"]).status == "pending"
    )


def test_approval_cards_name_the_role_and_the_family(web):
    world = web.config["WORLD"]
    page = web.test_client(user="sup1").get("/persetujuan").get_data(as_text=True)
    waiting = re.search(
        rf'<article class="approval"[^>]*approval-{world["waiting"]}.*?</article>', page, re.S
    ).group(0)
    assert "cw_sipin (pendamping)" in waiting and "(caseworker)" not in waiting
    assert HEAD["name"] in waiting and KK_MASKED in waiting
    assert KK not in waiting  # the KK number masked, as NIKs are in this list
    own = web.test_client(user="cw_sipin").get("/persetujuan").get_data(as_text=True)
    assert "(caseworker)" not in own and "cw_sipin (pendamping)" in own
    mine = card(own, world["waiting"])  # among their requests
    assert HEAD["name"] in mine and KK_MASKED in mine  # their own kelurahan's family


def test_approval_cards_name_the_member_and_the_benefit_not_their_ids(web):
    world = web.config["WORLD"]
    casework = web.extensions["casework"].casework
    (kjb,) = (
        b["benefit_id"]
        for b in casework.get_household(world["household"]).benefits.values()
        if b["program"] == "KJB"
    )
    maker = web.test_client(user="cw_sipin")
    ending = {
        "household_id": world["household"],
        "benefit_id": kjb,
        "effective_date": "2026-04-01",
        "reason_code": "nib_holder",
    }
    asked = maker.post(
        "/perintah/TerminateBenefit", data=ending, headers={"X-CSRF-Token": csrf(maker)}
    )
    assert asked.status_code == 303, visible_text(asked.text)
    (termination,) = (c for c in casework.pending_approvals() if c.command == "TerminateBenefit")
    project(web)
    checker = web.test_client(user="sup1")
    page = checker.get("/persetujuan").get_data(as_text=True)

    def pending(approval_id: str) -> str:
        found = re.search(
            rf'<article class="approval"[^>]*approval-{approval_id}.*?</article>', page, re.S
        )
        assert found, f"no card for {approval_id}"
        return found.group(0)

    # who receives: the daughter by name, her NIK masked as everywhere on this page
    waiting = pending(world["waiting"])
    assert f"{DAUGHTER['name']} (1571**********03)" in waiting
    assert DAUGHTER["nik"] not in waiting
    # which benefit ends: the program, its recipient and period, not a UUID
    ending_card = pending(str(termination.id))
    assert "<dd >KJB · Siti Aminah · 1 Januari 2026 – 31 Desember 2026</dd>" in (
        re.sub(r'class=""', "", ending_card)  # words in the page's type, ids in monospace
    )
    # which household: the card's header names its head and links to its page, once; its id
    # is never shown
    header = ending_card[: ending_card.index("</header>")]
    assert f"Rumah tangga: <strong>{HEAD['name']}</strong>" in header, visible_text(header)
    link = f'<a href="/rumah-tangga/{world["household"]}">Lihat rumah tangga</a>'
    assert link in header and ending_card.count('href="/rumah-tangga/') == 1
    assert checker.get(f"/rumah-tangga/{world['household']}").status_code == 200
    assert world["household"] not in re.sub(r"<[^>]+>", " ", ending_card)
    assert "ID rumah tangga" not in ending_card and "<dt>Rumah tangga</dt>" not in ending_card
    assert kjb not in ending_card
    rejected = checker.post(
        f"/persetujuan/{termination.id}/tolak",
        data={"reason_code": "other", "note": "Hanya untuk uji kartu."},
        headers={"X-CSRF-Token": csrf(checker)},
    )
    assert rejected.status_code == 303


def test_a_review_to_end_its_benefit_is_named_on_the_approval_card_not_by_its_id(web):
    """A supervisor's decision to end a benefit under review waits for a second supervisor,
    who must see which review it decides (the program, the recipient, the cause and the
    deadline), as the form's list said it: the card showed the review's UUID."""
    world = web.config["WORLD"]
    casework = web.extensions["casework"].casework
    (review_id,) = (
        r["review_id"]
        for b in casework.get_household(world["household"]).benefits.values()
        for r in b.get("reviews") or []
        if r["status"] == "open"
    )
    maker = web.test_client(user="sup1")
    asked = maker.post(
        "/perintah/DecideReview",
        data={
            "household_id": world["household"],
            "review_id": review_id,
            "decision": "terminate",
            "reason": "Usaha sudah besar",
        },
        headers={"X-CSRF-Token": csrf(maker)},
    )
    assert asked.status_code == 303, visible_text(asked.text)
    (decision,) = (c for c in casework.pending_approvals() if c.command == "DecideReview")
    checker = web.test_client(user="sup2")
    page = checker.get("/persetujuan").get_data(as_text=True)
    found = re.search(
        rf'<article class="approval"[^>]*approval-{decision.id}.*?</article>', page, re.S
    )
    assert found, visible_text(page)
    shown = visible_text(found.group(0))
    assert "KJB · Siti Aminah · NIB didaftarkan · Batas waktu" in shown, shown
    assert review_id not in found.group(0)
    rejected = checker.post(  # the review stays open for the test below
        f"/persetujuan/{decision.id}/tolak",
        data={"reason_code": "other", "note": "Hanya untuk uji kartu."},
        headers={"X-CSRF-Token": csrf(checker)},
    )
    assert rejected.status_code == 303


def test_review_controls_follow_what_the_role_may_do(web):
    """Walk each role through the review queue and the household page: a decide control is
    shown exactly when the command path lets the role decide a review, and following it as
    a supervisor decides it."""
    world = web.config["WORLD"]
    hid = world["household"]
    for user in ("cw_sipin", "sup1", "pm_dinsos", "auditor"):
        role = USERS[user][0]
        client = web.test_client(user=user)
        allowed = may_issue(role, "DecideReview")
        queue = client.get("/tinjauan").get_data(as_text=True)
        assert ("/perintah/DecideReview" in queue) is allowed, user
        house = client.get(f"/rumah-tangga/{hid}")
        if house.status_code == 200:
            assert ("/perintah/DecideReview" in house.text) is allowed, user
            assert ("Putuskan tinjauan" in house.text) is allowed, user
    assert may_issue("caseworker", "DecideReview") is False  # the case the tester hit

    checker = web.test_client(user="sup1")
    queue = checker.get("/tinjauan").get_data(as_text=True)
    link = re.search(r'href="(/perintah/DecideReview[^"]+)"', queue).group(1).replace("&amp;", "&")
    form = checker.get(link)
    assert form.status_code == 200
    review_id = re.search(r"review_id=([0-9a-f-]{36})", link).group(1)
    decided = checker.post(
        "/perintah/DecideReview",
        data={
            "household_id": hid,
            "review_id": review_id,
            "decision": "keep",
            "reason": "Usaha kecil, tetap layak",
        },
        headers={"X-CSRF-Token": csrf(checker)},
    )
    assert decided.status_code == 303, decided.get_data(as_text=True)[:2000]


def test_an_administrator_deciding_a_request_is_told_why_not_to_fix_fields(web):
    """Only supervisors decide: the administrator's ApproveChange is refused with that
    reason alone, not under "Some fields need fixing. See the message under each field."
    when no field has a message."""
    admin = web.test_client()  # web-admin
    refused = admin.post(
        "/perintah/ApproveChange",
        data={"approval_id": web.config["WORLD"]["waiting"]},
        headers={"X-CSRF-Token": csrf(admin)},
    )
    assert refused.status_code == 403
    text = visible_text(refused.text)
    assert "Hanya supervisor" in text, text
    assert "Lihat pesan di bawah setiap isian" not in text, text


def my_requests(page: str) -> str:
    found = re.search(r'<section aria-labelledby="mine-title".*?</section>', page, re.S)
    assert found, visible_text(page)
    return found.group(0)


def test_a_request_just_made_is_in_my_requests_at_once(web):
    """The requests' view follows the store a moment later: the request a case worker has
    just sent is in their list on the page the form leads to, read from the store, and once
    the view holds it, listed once (it was missing until the view caught up)."""
    world = web.config["WORLD"]
    casework = web.extensions["casework"].casework
    maker = web.test_client(user="cw_sipin")
    asked = maker.post(
        "/perintah/GrantBenefit",
        data=grant(world["household"], DAUGHTER["nik"], "KJB"),
        headers={"X-CSRF-Token": csrf(maker)},
    )
    assert asked.status_code == 303, visible_text(asked.text)
    [made] = [
        str(c.id)
        for c in casework.pending_approvals()
        if c.cmd["program"] == "KJB" and c.cmd["nik"] == DAUGHTER["nik"]
    ]
    mine = my_requests(maker.get(asked.headers["Location"]).text)  # the view not caught up
    new = card(mine, made)
    assert "Menunggu keputusan" in new and "KJB" in new
    assert mine.index(made) < mine.index(world["waiting"])  # the most recent first
    assert made not in web.test_client(user="cw_pelayangan").get("/persetujuan").text
    # and among the requests about the family, on its page
    family = maker.get(f"/rumah-tangga/{world['household']}").text
    assert "Menunggu keputusan" in card(family, made)

    project(web)
    mine = my_requests(maker.get("/persetujuan").text)
    assert mine.count(f'id="request-{made}"') == 1
    assert mine.index(made) < mine.index(world["waiting"])
