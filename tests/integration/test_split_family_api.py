"""SplitFamily (pecah KK) over HTTP, on SQLite and PostgreSQL: a caseworker asks, a
supervisor approves, the movers are a new family on the new KK linked to the old one both
ways, the policies open reviews of the movers' benefits, the register finds both families by
the old KK number, the eligibility view follows the movers; mistaken splits are refused
naming the field, with nothing stored."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from werkzeug.datastructures import MultiDict

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from projections.eligibility import eligible_households
from projections.status import store_counts
from tests.integration.conftest import bearer
from tests.integration.test_reviews import policies, project

pytestmark = pytest.mark.integration

REGION = "157101"


def person(name, birth, sex, serial):
    return {
        "nik": nik_for(REGION, dt.date.fromisoformat(birth), sex, serial),
        "name": name,
        "birth_date": birth,
        "sex": sex,
    }


HEAD = person("Siti Aminah", "1975-03-12", "F", 1)
SON = person("Andi", "1998-02-03", "M", 2)
SONS_WIFE = person("Rina", "2000-06-07", "F", 3)
GRANDCHILD = person("Dewi", "2022-08-09", "F", 4)
OLD_KK = kk_for(REGION, dt.date(2010, 1, 1), 1)
NEW_KK = kk_for(REGION, dt.date(2026, 1, 5), 2)
LATER_KK = kk_for(REGION, dt.date(2026, 1, 6), 3)
HOUSEHOLD = {
    "kk_number": OLD_KK,
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 5",
    "rt": "007",
    "rw": "002",
    "head": HEAD,
}


def post(client, command, body, token):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def get(client, path, token):
    response = client.get(f"/api/v1/{path}", headers=bearer(token))
    assert response.status_code == 200, response.json
    return response.json


def stored(web) -> int:
    return store_counts(web.extensions["casework"].store)[0]


@pytest.fixture
def family(web, tokens):
    """Siti's family: her son, his wife and their child; the son born here (KTP), with a
    PBI-JK benefit, the wife with PKH for the family."""
    casework = web.extensions["casework"].casework
    seed_catalog(casework, make_meta(SYSTEM, "seed"))
    client = web.test_client()
    created = post(client, "RegisterHousehold", HOUSEHOLD, tokens["cw_sipin"])
    assert created.status_code == 201, created.json
    hid = created.json["stream_id"]
    for member, relationship in ((SON, "anak"), (SONS_WIFE, "menantu"), (GRANDCHILD, "cucu")):
        body = {"household_id": hid, "person": member, "relationship": relationship}
        assert post(client, "AddMember", body, tokens["cw_sipin"]).status_code == 201
    seed = make_meta(SYSTEM, "seed")
    casework.execute(
        "IssueKtp",
        {
            "household_id": hid,
            "nik": SON["nik"],
            "issued_on": "2016-03-01",
            "arrival": {"type": "born_here", "arrived_on": None, "origin_region_code": None},
        },
        seed,
    )
    casework.execute(
        "RecordWelfareAssessment",
        {
            "household_id": hid,
            "source": "DTSEN",
            "desil": 3,
            "period": "2025-Q4",
            "reference": None,
        },
        seed,
    )
    for who, program in ((SON, "PBI-JK"), (HEAD, "BPNT")):
        grant = {
            "household_id": hid,
            "nik": who["nik"],
            "program": program,
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "amount": 100000,
        }
        casework.execute("GrantBenefit", grant, seed)
    return client, hid


def split_body(hid, **changes):
    return {
        "household_id": hid,
        "members": [SON["nik"], SONS_WIFE["nik"], GRANDCHILD["nik"]],
        "new_head_nik": SON["nik"],
        "new_kk_number": NEW_KK,
        "effective_date": "2026-02-01",
        **changes,
    }


def split(client, tokens, body):
    asked = post(client, "SplitFamily", body, tokens["cw_sipin"])
    assert asked.status_code == 202, asked.json  # a second person approves a split
    decision = {"approval_id": asked.json["approval_id"], "note": "Sesuai KK baru."}
    approved = post(client, "ApproveChange", decision, tokens["sup1"])
    assert approved.status_code == 201, approved.json
    return approved.json["stream_id"]


def test_the_movers_are_a_new_family_linked_to_the_old_one_both_ways(web, family, tokens):
    client, hid = family
    new_id = split(client, tokens, split_body(hid))
    admin = tokens["admin"]

    new = get(client, f"households/{new_id}", admin)
    assert new["kk_number"] == NEW_KK and new["head_nik"] == SON["nik"]
    assert new["split_from"] == {
        "household_id": hid,
        "kk_number": OLD_KK,
        "effective_date": "2026-02-01",
    }
    roles = {m["nik"]: (m["relationship"], m["status"]) for m in new["members"]}
    assert roles == {
        SON["nik"]: ("kepala_keluarga", "active"),
        SONS_WIFE["nik"]: ("istri", "active"),
        GRANDCHILD["nik"]: ("anak", "active"),
    }
    son = next(m for m in new["members"] if m["nik"] == SON["nik"])
    assert son["ktp_issued_on"] == "2016-03-01" and son["arrival"]["type"] == "born_here"
    # the new family lives where the old one does (no new address given)
    assert (new["kelurahan"], new["address"]) == ("Simpang IV Sipin", "Jl. Kapten Pattimura No. 5")

    old = get(client, f"households/{hid}", admin)
    assert old["kk_number"] == OLD_KK
    statuses = {m["nik"]: m["status"] for m in old["members"]}
    assert statuses == {
        HEAD["nik"]: "active",
        SON["nik"]: "moved_out",
        SONS_WIFE["nik"]: "moved_out",
        GRANDCHILD["nik"]: "moved_out",
    }
    [went] = old["splits"]
    assert (went["household_id"], went["kk_number"]) == (new_id, NEW_KK)

    # the register shows both, each pointing at the other
    project(web)
    [row] = get(client, f"households?kk={NEW_KK}", admin)["results"]
    assert row["id"] == new_id
    assert (row["split_from"]["household_id"], row["split_from"]["kk_number"]) == (hid, OLD_KK)
    assert [m["status"] for m in row["members"]] == ["active"] * 3
    by_old = {r["id"]: r for r in get(client, f"households?kk={OLD_KK}", admin)["results"]}
    assert set(by_old) == {hid, new_id}  # the old KK number finds the family that split off too
    [link] = by_old[hid]["splits"]
    assert (link["household_id"], link["kk_number"], link["members"]) == (new_id, NEW_KK, 3)
    # a NIK finds the family the person now belongs to
    found = get(client, f"households?nik={SON['nik']}", admin)["results"]
    assert new_id in {r["id"] for r in found}


def test_the_split_opens_reviews_of_the_movers_benefits(web, family, tokens):
    client, hid = family
    split(client, tokens, split_body(hid))
    policies(web)
    project(web)
    queue = get(client, "reviews", tokens["sup1"])["results"]
    assert [(r["household_id"], r["program"], r["cause"]) for r in queue] == [
        (hid, "PBI-JK", "moved_out")
    ]  # the son's benefit; the head's BPNT stays as it was
    old = get(client, f"households/{hid}", tokens["admin"])
    reviewed = {b["program"]: [r["cause"] for r in b["reviews"]] for b in old["benefits"]}
    assert reviewed == {"PBI-JK": ["moved_out"], "BPNT": []}
    # the program's list of beneficiaries follows the son to his new family; the benefit stays
    # recorded (and reviewed) on the household that granted it
    [son] = get(client, "programs/PBI-JK/beneficiaries", tokens["admin"])["results"]
    new_id = get(client, f"households/{hid}", tokens["admin"])["splits"][0]["household_id"]
    assert (son["nik"], son["household_id"], son["lives_in"]) == (SON["nik"], hid, new_id)
    [head] = get(client, "programs/BPNT/beneficiaries", tokens["admin"])["results"]
    assert (head["household_id"], head["lives_in"]) == (hid, hid)


def test_an_old_kk_number_still_finds_the_family_after_its_number_changed(web, family, tokens):
    client, hid = family
    changed = post(
        client,
        "ChangeHead",
        {"household_id": hid, "nik": SON["nik"], "new_kk_number": LATER_KK},
        tokens["cw_sipin"],
    )
    assert changed.status_code == 201, changed.json
    project(web)
    for number in (OLD_KK, LATER_KK):
        [row] = get(client, f"households?kk={number}", tokens["admin"])["results"]
        assert row["id"] == hid and row["kk_number"] == LATER_KK
    # the web search finds it by the old number too
    page = web.test_client().get(f"/?q={OLD_KK}")
    assert page.status_code == 200 and LATER_KK in page.text


def test_eligibility_follows_the_movers_to_the_new_household(web, family, tokens):
    client, hid = family
    new_id = split(client, tokens, split_body(hid))
    assessment = {
        "household_id": new_id,
        "source": "DTSEN",
        "desil": 2,
        "period": "2026-Q1",
        "reference": "DTSEN-2026",
    }
    assert (
        post(client, "RecordWelfareAssessment", assessment, tokens["cw_sipin"]).status_code == 201
    )
    project(web)
    answers = get(client, f"households/{new_id}/eligibility", tokens["sup1"])["programs"]
    kjb = next(a for a in answers if a["program"] == "KJB")
    # KJB asks for 12 months in the city: the son's KTP (born here) came with him
    assert kjb["status"] == "eligible", kjb
    views = web.extensions["casework"].views
    assert new_id in {r["household_id"] for r in eligible_households(views, "KJB")}
    # the old family's head is still answered there
    assert get(client, f"households/{hid}/eligibility", tokens["sup1"])["programs"]


def test_mistaken_splits_are_refused_naming_the_field_and_nothing_is_stored(web, family, tokens):
    client, hid = family
    before = stored(web)
    other = dict(HOUSEHOLD, kk_number=LATER_KK, head=person("Kepala Lain", "1970-01-01", "M", 9))
    assert post(client, "RegisterHousehold", other, tokens["admin"]).status_code == 201
    before = stored(web)
    cases = [
        (split_body(hid, members=[HEAD["nik"], SON["nik"]]), 422, "members", "split.head_stays"),
        (split_body(hid, new_head_nik=HEAD["nik"]), 422, "new_head_nik", "split.head_not_moving"),
        (split_body(hid, new_kk_number=OLD_KK), 409, "new_kk_number", "kk.taken"),
        (split_body(hid, new_kk_number=LATER_KK), 409, "new_kk_number", "kk.taken"),
        (split_body(hid, members=[]), 422, "members", "field.required"),
        (
            split_body(hid, members=[SON["nik"], nik_for(REGION, dt.date(1990, 1, 1), "M", 7)]),
            422,
            "members",
            "member.not_found",
        ),
        (split_body(hid, kecamatan="Telanaipura"), 422, "address", "field.required"),
        (
            split_body(hid, members=[GRANDCHILD["nik"]], new_head_nik=GRANDCHILD["nik"]),
            422,
            "new_head_nik",
            "head.not_adult",
        ),
    ]
    for body, status, field, code in cases:
        response = post(client, "SplitFamily", body, tokens["cw_sipin"])
        assert response.status_code == status, (field, code, response.json)
        assert code in response.json["codes"][field], response.json
        text = str(response.json)
        assert SON["nik"] not in text and "Andi" not in text  # no personal data in errors
    # a caseworker of another kelurahan may not split it, nor move it into theirs
    assert post(client, "SplitFamily", split_body(hid), tokens["cw_pelayangan"]).status_code == 403
    elsewhere = split_body(
        hid,
        kecamatan="Pelayangan",
        kelurahan="Tahtul Yaman",
        address="Jl. Seberang No. 1",
        rt="001",
        rw="001",
    )
    assert post(client, "SplitFamily", elsewhere, tokens["cw_sipin"]).status_code == 403
    unknown = split_body("0b9f5a0e-0000-4000-8000-000000000000")
    assert post(client, "SplitFamily", unknown, tokens["sup1"]).status_code == 404
    assert stored(web) == before


def test_the_web_form_picks_the_movers_from_the_members_and_the_pages_show_the_link(
    web, family, tokens
):
    client, hid = family
    browser = web.test_client()
    page = browser.get(f"/perintah/SplitFamily?household_id={hid}").text
    movers = re.search(r'<select[^>]*name="members"[^>]*multiple.*?</select>', page, re.S)
    assert movers, "the members who move are picked from a list"
    offered = dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', movers.group(0)))
    assert offered[SON["nik"]] == "Andi (Anak)" and set(offered) == {
        HEAD["nik"],
        SON["nik"],
        SONS_WIFE["nik"],
        GRANDCHILD["nik"],
    }
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = [
        ("csrf_token", token),
        ("household_id", hid),
        ("members", SON["nik"]),
        ("members", SONS_WIFE["nik"]),
        ("members", GRANDCHILD["nik"]),
        ("new_head_nik", SON["nik"]),
        ("new_kk_number", NEW_KK),
        ("effective_date", "2026-02-01"),
    ]
    # a form that picks the head of the old KK says so under the field, in Indonesian
    head_too = form[:3] + [("members", HEAD["nik"])] + form[3:]
    refused = browser.post("/perintah/SplitFamily", data=MultiDict(head_too))
    assert refused.status_code == 422
    assert "Kepala keluarga tetap di KK ini" in refused.text
    assert get(client, "approvals", tokens["sup1"])["approvals"] == []

    answer = browser.post("/perintah/SplitFamily", data=MultiDict(form))
    assert answer.status_code == 303, answer.text  # kept for a supervisor's approval
    [pending] = get(client, "approvals", tokens["sup1"])["approvals"]
    assert pending["command"] == "SplitFamily"
    decision = {"approval_id": pending["approval_id"], "note": "Sesuai KK baru."}
    new_id = post(client, "ApproveChange", decision, tokens["sup1"]).json["stream_id"]
    project(web)
    new_page = browser.get(f"/rumah-tangga/{new_id}").text
    assert "Pecahan dari KK" in new_page and OLD_KK in new_page
    old_page = browser.get(f"/rumah-tangga/{hid}").text
    assert "Pecah ke KK" in old_page and NEW_KK in old_page
    assert "Pindah" in old_page  # the movers are listed there as moved out


def test_the_move_form_offers_the_citys_kelurahan_to_choose_from(web, family):
    """The move form's kelurahan is chosen from the city's list (its error says "choose from
    the list"); a kelurahan of another kecamatan is still refused, naming the field."""
    _, hid = family
    browser = web.test_client()
    page = browser.get(f"/perintah/RelocateHousehold?household_id={hid}").text
    listed = re.search(r'<select[^>]*name="kelurahan".*?</select>', page, re.S)
    assert listed, "the kelurahan is picked from a list"
    offered = dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', listed.group(0)))
    assert len(offered) == 68 and offered["Legok"] == "Legok (Danau Sipin)"


def test_the_ktp_form_says_when_the_arrival_is_required_and_gives_no_digit_hint_for_a_list(
    web, family
):
    """The KTP form's arrival date and region are required for pindah datang: the form says
    so, not "optional"; the person is chosen from the members, so no "16 digits" hint."""
    _, hid = family
    page = web.test_client().get(f"/perintah/IssueKtp?household_id={hid}&lang=id").text
    label = re.search(r'<label for="f-arrival-arrived_on">(.*?)</label>', page, re.S).group(1)
    assert "wajib untuk pindah datang" in label and "boleh kosong" not in label
    nik = re.search(r'<div class="field[^"]*">\s*<label for="f-nik">.*?</div>', page, re.S)
    assert nik and "<select" in nik.group(0) and "16 angka" not in nik.group(0)
