"""CorrectMember end to end (rectification, UU PDP art. 6): requested by one supervisor and
approved by another over the API, the household shows the corrected name, the search by name
finds it and no longer the old one, the store holds neither in clear, the timeline labels it,
the eligibility view reads a corrected birth date, the form offers the members and says a bad
name under the field, and an erasure erases the corrected name too."""

from __future__ import annotations

import re

import pytest

from domain.application import SYSTEM, make_meta
from projections.catalog import PROJECTIONS
from tests.integration.conftest import authorized_client, bearer
from tests.integration.test_eligibility_api import project
from tests.integration.test_erasure import CHILD, HEAD, HOUSEHOLD, WIFE

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
CORRECTED = "Kartini Sulistyowati"


def family(web, programs=()) -> str:
    casework = web.extensions["casework"].casework
    for code, rules in programs:
        casework.define_program(
            {
                "code": code,
                "name": code,
                "opd": "DINSOS",
                "funding": "APBN",
                "kind": "bansos",
                "rules": rules,
                "effective_from": "2025-01-01",
            },
            META,
        )
    household_id = casework.register_household(HOUSEHOLD, META).stream_id
    for person, relationship in ((WIFE, "istri"), (CHILD, "famili_lain")):
        casework.add_member(
            {"household_id": household_id, "person": person, "relationship": relationship}, META
        )
    casework.record_welfare_assessment(
        {"household_id": household_id, "source": "DTSEN", "desil": 3, "period": "2025-Q1"}, META
    )
    project(web)
    return household_id


def post(client, command: str, body: dict, token: str):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def found(client, query: str) -> list[str]:
    response = client.get(f"/api/v1/households?q={query}")
    assert response.status_code == 200, response.json
    return [household["id"] for household in response.json["results"]]


def names(client, household_id: str) -> set[str]:
    response = client.get(f"/api/v1/households/{household_id}")
    assert response.status_code == 200, response.json
    return {m["name"] for m in response.json["members"]}


def correct_and_approve(web, tokens, household_id: str, **fields) -> None:
    client = web.test_client()
    body = {"household_id": household_id, "nik": WIFE["nik"], "reason": "KTP asli dan KK"}
    asked = post(client, "CorrectMember", {**body, **fields}, tokens["sup1"])
    assert asked.status_code == 202, asked.json
    approval_id = asked.json["approval_id"]
    own = post(client, "ApproveChange", {"approval_id": approval_id}, tokens["sup1"])
    assert own.status_code == 403 and own.json["codes"] == {"actor": ["approval.self"]}
    approved = post(client, "ApproveChange", {"approval_id": approval_id}, tokens["sup2"])
    assert approved.status_code == 201, approved.json
    project(web)


def wife_moved_out(web, household_id: str) -> None:
    """The wife, the family's adult woman, moves out: a program paying an adult woman no
    longer finds one (the eligibility view says so)."""
    from projections import eligibility

    web.extensions["casework"].casework.remove_member(
        {
            "household_id": household_id,
            "nik": WIFE["nik"],
            "kind": "moved_out",
            "effective_date": "2025-06-01",
        },
        META,
    )
    project(web)
    views = web.extensions["casework"].views
    [before] = eligibility.household_eligibility(views, household_id)
    assert before["status"] != "eligible"


def form_options(page: str, name: str) -> dict[str, str]:
    """The choices of the form's select `name`: value -> label."""
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S)
    assert select is not None, name
    return dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', select.group(0)))


def field_in_error(page: str) -> str:
    """The one field of the form marked in error, with its message."""
    [field] = re.findall(
        r'<div class="field has-error">.*?(?=<div class="field|</form>)', page, re.S
    )
    return field


def test_a_corrected_name_is_shown_and_found_after_a_second_supervisor_approves(web, tokens):
    household_id = family(web)
    casework = web.extensions["casework"].casework
    client = authorized_client(web, tokens["sup1"])
    assert found(client, "kartika") == [household_id]

    # refused at once, naming the field: a birth date the NIK does not hold, an empty change
    refused = post(
        web.test_client(),
        "CorrectMember",
        {
            "household_id": household_id,
            "nik": WIFE["nik"],
            "birth_date": "1986-08-08",
            "reason": "KTP asli",
        },
        tokens["sup1"],
    )
    assert refused.status_code == 422
    assert refused.json["codes"] == {"birth_date": ["correction.nik_disagrees"]}
    assert "Dukcapil" in " ".join(refused.json["errors"]["birth_date"])
    nothing = post(
        web.test_client(),
        "CorrectMember",
        {"household_id": household_id, "nik": WIFE["nik"], "reason": "KTP asli"},
        tokens["sup1"],
    )
    assert nothing.status_code == 422 and nothing.json["codes"] == {"name": ["correction.empty"]}

    correct_and_approve(web, tokens, household_id, name=CORRECTED)

    assert CORRECTED in names(client, household_id)
    assert WIFE["name"] not in names(client, household_id)
    assert found(client, "kartini") == [household_id]
    assert found(client, "sulistyowati") == [household_id]
    assert found(client, "kartika") == []  # the old name is no longer found
    assert found(client, "sulistyawati") == []

    # the store holds neither name in clear: the event's name is a token of her key
    stored = b"".join(
        bytes(n.state) for n in casework.recorder.select_notifications(start=1, limit=10_000)
    )
    for name in (CORRECTED, WIFE["name"]):
        for form in (name, name.lower(), name.upper()):
            assert form.encode() not in stored, name
    [event] = [
        e
        for e in casework.recorder.select_events(casework.get_household(household_id).id)
        if e.topic.endswith("MemberCorrected")
    ]
    assert b'"name": "pd1.' in event.state or b'"name":"pd1.' in event.state

    # the household page's timeline says what happened (Bahasa Indonesia by default)
    page = web.test_client().get(f"/rumah-tangga/{household_id}")
    assert page.status_code == 200
    assert "Data anggota diperbaiki" in page.text and CORRECTED in page.text


def test_a_corrected_birth_date_changes_an_age_rule_of_the_eligibility_view(web, tokens):
    """A relative (famili_lain) recorded born in 2012 whose KTP says 1912 (the NIK holds
    12-03-12): she is an adult woman, so the family may receive a program paying one."""
    from projections import eligibility

    household_id = family(web, programs=[("PKH", {"max_desil": 4, "recipient": "adult_woman"})])
    views = web.extensions["casework"].views
    casework = web.extensions["casework"].casework
    wife_moved_out(web, household_id)  # she was the adult woman
    casework.correct_member(
        {
            "household_id": household_id,
            "nik": CHILD["nik"],
            "birth_date": "1912-03-12",
            "reason": "KTP asli",
        },
        META,
    )
    project(web)
    [after] = eligibility.household_eligibility(views, household_id)
    assert after["status"] == "eligible", after


def test_the_form_offers_the_members_and_says_a_bad_name_under_the_field(web):
    household_id = family(web)
    casework = web.extensions["casework"].casework
    client = web.test_client()
    page = client.get(f"/perintah/CorrectMember?household_id={household_id}").text
    options = form_options(page, "nik")
    assert set(options) == {HEAD["nik"], WIFE["nik"], CHILD["nik"]}
    assert "Perbaiki data anggota" in page
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "household_id": household_id,
        "nik": WIFE["nik"],
        "name": "Kartini 2",
        "reason": "KTP asli",
    }
    answer = client.post("/perintah/CorrectMember", data=form)
    assert answer.status_code == 422
    field = field_in_error(answer.text)
    assert 'name="name"' in field
    assert "Nama hanya berisi huruf" in field
    assert casework.pending_approvals() == []
    form["name"] = CORRECTED
    answer = client.post("/perintah/CorrectMember", data=form)
    assert answer.status_code in (200, 303), answer.status_code
    [pending] = casework.pending_approvals()
    assert pending.command == "CorrectMember"
    # the supervisors' queue shows the request by its title
    queue = web.test_client(user="sup2").get("/persetujuan")
    assert queue.status_code == 200 and "Perbaiki data anggota" in queue.text


def test_an_erasure_erases_the_corrected_name_too(web, tokens):
    household_id = family(web)
    correct_and_approve(web, tokens, household_id, name=CORRECTED)
    client = authorized_client(web, tokens["sup1"])
    assert found(client, "kartini") == [household_id]
    asked = post(
        web.test_client(),
        "RequestErasure",
        {"household_id": household_id, "nik": WIFE["nik"], "reason": "Surat permohonan"},
        tokens["cw_sipin"],
    )
    assert asked.status_code == 202, asked.json
    approved = post(
        web.test_client(),
        "ApproveChange",
        {"approval_id": asked.json["approval_id"]},
        tokens["sup2"],
    )
    assert approved.status_code == 201, approved.json
    project(web)
    assert found(client, "kartini") == []
    assert CORRECTED not in names(client, household_id)
    page = web.test_client().get(f"/rumah-tangga/{household_id}")
    assert page.status_code == 200 and CORRECTED not in page.text


def test_a_rebuild_of_the_register_and_eligibility_equals_the_live_views(
    casework, settings, views_db
):
    """A rebuild stages the name terms and voids those a correction replaced
    (`projections.register`): it leaves the same rows, terms and facts as the runner."""
    from adapters.bootstrap import bootstrap
    from consumers.runner import apply_all, rebuild
    from projections import eligibility, register
    from projections.base import ensure_schema
    from projections.catalog import configured
    from tests.integration.test_rebuild_deferred import checksums, stored_envelopes

    household_id = casework.register_household(HOUSEHOLD, META).stream_id
    for person, relationship in ((WIFE, "istri"), (CHILD, "famili_lain")):
        casework.add_member(
            {"household_id": household_id, "person": person, "relationship": relationship}, META
        )
    for name in (CORRECTED, "Kartini Sulistyo"):
        casework.correct_member(
            {"household_id": household_id, "nik": WIFE["nik"], "name": name, "reason": "KTP"},
            META,
        )
    casework.correct_member(
        {
            "household_id": household_id,
            "nik": CHILD["nik"],
            "birth_date": "1912-03-12",
            "reason": "KTP",
        },
        META,
    )
    views = [configured(settings)[name] for name in ("register", "eligibility")]
    ensure_schema(views_db, PROJECTIONS.values())
    with views_db.transaction() as cur:
        apply_all(cur, views, stored_envelopes(casework))
    live = checksums(views_db, views)
    terms = len(register.all_rows(views_db)["name_terms"])
    rebuild(bootstrap(settings), ["register", "eligibility"], workers=1)
    assert checksums(views_db, views) == live
    assert len(register.all_rows(views_db)["name_terms"]) == terms
    for query, households in (("kartini sulistyo", 1), ("sulistyowati", 0), ("kartika", 0)):
        found_now = register.search(views_db, q=query, name_key=casework.name_key)
        assert len(found_now) == households, query
    # the relative's corrected birth date is the view's fact, as the fold of her events has it
    folded = eligibility.household_facts(stored_envelopes(casework))
    assert sorted(m["birth_date"] for m in folded["members"].values()) == [
        "1912-03-12",
        HEAD["birth_date"],
        WIFE["birth_date"],
    ]


def test_a_corrected_relationship_is_shown_and_read_by_the_eligibility_rules(web, tokens):
    """The relative (famili_lain, born 2012) is on the KK as the head's wife (istri): once a
    second supervisor approves the correction, the API and the register show her as istri, and
    a program paying an adult woman counts her as one (a spouse is adult, UU Adminduk)."""
    from projections import eligibility

    household_id = family(web, programs=[("PKH", {"max_desil": 4, "recipient": "adult_woman"})])
    views = web.extensions["casework"].views
    wife_moved_out(web, household_id)
    client = web.test_client()
    body = {"household_id": household_id, "nik": CHILD["nik"], "reason": "KK asli"}
    head = post(
        client,
        "CorrectMember",
        {**body, "nik": HEAD["nik"], "relationship": "suami"},
        tokens["sup1"],
    )
    assert head.status_code == 422 and head.json["codes"] == {
        "relationship": ["relationship.of_head"]
    }
    assert "Change the head" in " ".join(head.json["errors"]["relationship"]) or (
        "Ganti kepala" in " ".join(head.json["errors"]["relationship"])
    )
    asked = post(client, "CorrectMember", {**body, "relationship": "istri"}, tokens["sup1"])
    assert asked.status_code == 202, asked.json
    approved = post(
        client, "ApproveChange", {"approval_id": asked.json["approval_id"]}, tokens["sup2"]
    )
    assert approved.status_code == 201, approved.json
    project(web)

    reader = authorized_client(web, tokens["sup1"])
    shown = reader.get(f"/api/v1/households/{household_id}").json
    assert {m["nik"]: m["relationship"] for m in shown["members"]}[CHILD["nik"]] == "istri"
    [row] = reader.get("/api/v1/households?q=aulia").json["results"]
    assert {m["nik"]: m["relationship"] for m in row["members"]}[CHILD["nik"]] == "istri"
    [after] = eligibility.household_eligibility(views, household_id)
    assert after["status"] == "eligible", after
    page = web.test_client().get(f"/rumah-tangga/{household_id}")
    assert "Data anggota diperbaiki" in page.text


def test_the_form_offers_the_relationships_in_bahasa_indonesia_and_refuses_the_heads(web):
    household_id = family(web)
    casework = web.extensions["casework"].casework
    client = web.test_client()
    page = client.get(f"/perintah/CorrectMember?household_id={household_id}").text
    options = form_options(page, "relationship")
    assert "Hubungan dengan kepala keluarga yang benar" in page
    assert options["istri"] == "Istri" and "kepala_keluarga" not in options
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "household_id": household_id,
        "nik": HEAD["nik"],
        "relationship": "suami",
        "reason": "KK asli",
    }
    answer = client.post("/perintah/CorrectMember", data=form)
    assert answer.status_code == 422
    field = field_in_error(answer.text)
    assert 'name="relationship"' in field and "Ganti kepala keluarga" in field
    assert casework.pending_approvals() == []


def test_a_deceased_members_name_is_corrected_through_the_form_and_the_death_stays(web, tokens):
    household_id = family(web)
    casework = web.extensions["casework"].casework
    casework.record_death(
        {"household_id": household_id, "nik": HEAD["nik"], "date_of_death": "2025-02-03"}, META
    )
    client = web.test_client()
    page = client.get(f"/perintah/CorrectMember?household_id={household_id}").text
    options = form_options(page, "nik")
    assert "meninggal" in options[HEAD["nik"]]
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "household_id": household_id,
        "nik": HEAD["nik"],
        "name": "Bambang Sutrisna",
        "reason": "Akta kematian dan KK",
    }
    answer = client.post("/perintah/CorrectMember", data=form)
    assert answer.status_code in (200, 303), answer.status_code
    [pending] = casework.pending_approvals()
    approved = post(
        web.test_client(), "ApproveChange", {"approval_id": str(pending.id)}, tokens["sup2"]
    )
    assert approved.status_code == 201, approved.json
    project(web)
    shown = authorized_client(web, tokens["sup1"]).get(f"/api/v1/households/{household_id}")
    [head] = [m for m in shown.json["members"] if m["nik"] == HEAD["nik"]]
    assert (head["name"], head["status"]) == ("Bambang Sutrisna", "deceased")
