"""The events behind a past answer, on SQLite and PostgreSQL: time travel's eligibility names
the store positions of the events behind each reason as the live view does (as of now they are
the view's own), and as of an earlier moment only the events and rule versions of then; a past
state cites the chain's link at the last event it was folded from."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters import chain
from domain.application import SYSTEM, make_meta
from domain.city import WIB
from tests.integration.conftest import authorized_client
from tests.integration.test_eligibility_api import HEAD, HOUSEHOLD, project

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
HUSBAND = {"nik": "1571011204800003", "name": "Ahmad Yani", "birth_date": "1980-04-12", "sex": "M"}
PROGRAMS = (
    # the decile, an adult woman, six months in the city
    ("PKH", "DINSOS", {"max_desil": 4, "recipient": "adult_woman", "min_residence_months": 6}),
    # any member without an NIB; not with PKH
    ("UMKM", "DISKOPUKM", {"max_desil": 5, "excludes_nib_holders": True}),
    ("ZAKAT", "BAZNAS", {"max_desil": 2, "combinable_with": []}),
)


def program(code: str, opd: str, rules: dict) -> dict:
    return {
        "code": code,
        "name": code,
        "opd": opd,
        "funding": "APBN",
        "kind": "bansos",
        "rules": rules,
        "effective_from": "2025-01-01",
    }


@pytest.fixture
def family(web):
    casework = web.extensions["casework"].casework
    for code, opd, rules in PROGRAMS:
        casework.define_program(program(code, opd, rules), META)
    hid = casework.register_household(HOUSEHOLD, META).stream_id
    household = str(hid)
    casework.add_member({"household_id": hid, "person": HUSBAND, "relationship": "suami"}, META)
    arrival = {"type": "pindah_datang", "arrived_on": "2024-09-15", "origin_region_code": "167101"}
    casework.issue_ktp(
        {"household_id": hid, "nik": HEAD["nik"], "issued_on": "2024-09-20", "arrival": arrival},
        META,
    )
    casework.execute(
        "RegisterNib",
        {
            "household_id": household,
            "nik": HUSBAND["nik"],
            "nib": "9120000000001",
            "business_name": "Bengkel Yani",
            "registered_on": "2025-03-02",
        },
        META,
    )
    casework.record_welfare_assessment(
        {"household_id": hid, "source": "DTSEN", "desil": 3, "period": "2025-Q1"}, META
    )
    casework.grant_benefit(
        {
            "household_id": household,
            "nik": HEAD["nik"],
            "program": "PKH",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "amount": 300000,
        },
        META,
    )
    before = dt.datetime.now(dt.UTC)
    head_then = chain.anchor(web.extensions["casework"].store)  # the grant's, the store's last
    # later: a new decile and a new rule version
    casework.record_welfare_assessment(
        {"household_id": hid, "source": "DTSEN", "desil": 5, "period": "2025-Q3"}, META
    )
    casework.change_program_rules({"code": "ZAKAT", "rules": {"max_desil": 6}}, META)
    project(web)
    return household, before, head_then


def positions(answer: dict) -> dict[tuple[str, str], list[int]]:
    return {
        (p["program"], r["rule"]): r["positions"] for p in answer["programs"] for r in p["reasons"]
    }


def test_as_of_now_each_reason_names_the_views_events_and_earlier_only_those_of_then(
    web, tokens, family
):
    household, before, _head_then = family
    client = authorized_client(web, tokens["sup1"])
    url = f"/api/v1/households/{household}/eligibility"
    live = client.get(url)
    assert live.status_code == 200, live.json
    now = dt.datetime.now(dt.UTC).isoformat()
    then_now = client.get(url, query_string={"as_of": now})
    assert then_now.status_code == 200, then_now.json
    # the same answers, and each reason behind the same events as the live view's
    assert {p["program"]: p["status"] for p in then_now.json["programs"]} == {
        p["program"]: p["status"] for p in live.json["programs"]
    }
    found, expected = positions(then_now.json), positions(live.json)
    assert found == expected
    assert all(found.values())  # every reason names at least its rule version's event

    earlier = client.get(url, query_string={"as_of": before.isoformat()})
    assert earlier.status_code == 200, earlier.json
    past = positions(earlier.json)
    # the decile then was the 2025-Q1 assessment's: not the later one's event
    assert past[("PKH", "max_desil")] != expected[("PKH", "max_desil")]
    assert max(past[("PKH", "max_desil")]) < max(expected[("PKH", "max_desil")])
    # ZAKAT's rules then were version 1: its reasons name version 1's event, not version 2's
    zakat_then = next(p for p in earlier.json["programs"] if p["program"] == "ZAKAT")
    assert {r["rule_version"] for r in zakat_then["reasons"]} == {1}
    assert past[("ZAKAT", "max_desil")] != expected[("ZAKAT", "max_desil")]
    # the events behind the NIB and residence rules did not change since
    assert past[("UMKM", "excludes_nib_holders")] == expected[("UMKM", "excludes_nib_holders")]
    assert past[("PKH", "min_residence_months")] == expected[("PKH", "min_residence_months")]


def test_a_past_state_cites_the_chain_link_of_the_last_event_it_was_folded_from(
    web, tokens, family
):
    """An auditor's report of a past state cites where it rests: the household's last event
    by then and the chain's link there, which a later check of the chain can be held to."""
    household, before, head_then = family
    client = authorized_client(web, tokens["sup1"])
    url = f"/api/v1/households/{household}"
    then = client.get(url, query_string={"as_of": before.isoformat()})
    assert then.status_code == 200, then.json
    # the household's last event by then: its grant (a claim of another stream came after)
    casework = web.extensions["casework"].casework
    grant = max(
        n.id
        for n in casework.recorder.select_notifications(1, 10_000, stop=head_then.position)
        if str(n.originator_id) == household
    )
    assert then.json["evidence"]["position"] == grant
    now = client.get(url, query_string={"as_of": dt.datetime.now(dt.UTC).isoformat()}).json
    assert now["evidence"]["position"] > head_then.position  # the later assessment
    store = web.extensions["casework"].store
    cited = chain.Anchor(grant, then.json["evidence"]["link"], 0, "")
    assert chain.verify(store, [cited]).ok  # the link cited is the chain's there
    forged = chain.Anchor(grant, head_then.link, 0, "")  # another position's link
    assert not chain.verify(store, [forged]).ok

    page = web.test_client(user="auditor").get(
        f"/rumah-tangga/{household}/lini-masa",
        query_string={"saat": before.astimezone(WIB).replace(tzinfo=None).isoformat()},
    )
    assert page.status_code == 200
    assert f'<code class="chain-link">{grant}:{then.json["evidence"]["link"]}</code>' in page.text
    assert f"sampai posisi {grant} di penyimpanan" in page.text


def test_after_an_erasure_the_past_answers_and_their_evidence_still_answer(web, tokens, family):
    """A member erased since: the past answers leave them out, name the events behind the
    others' reasons (the erased person's tokens fold as the view folds them) and keep
    citing the chain; nothing of the erased person is in them."""
    household, before, _head_then = family
    casework = web.extensions["casework"].casework
    casework.request_erasure(
        {"household_id": household, "nik": HUSBAND["nik"], "reason": "Permohonan tertulis"},
        META,
    )
    project(web)
    client = authorized_client(web, tokens["sup1"])
    url = f"/api/v1/households/{household}"
    for moment in (before.isoformat(), dt.datetime.now(dt.UTC).isoformat()):
        answer = client.get(f"{url}/eligibility", query_string={"as_of": moment})
        assert answer.status_code == 200, answer.json
        assert all(r["positions"] for p in answer.json["programs"] for r in p["reasons"])
        then = client.get(url, query_string={"as_of": moment})
        assert then.status_code == 200 and then.json["evidence"]["link"]
        for body in (answer, then):
            text = body.get_data(as_text=True)
            assert HUSBAND["nik"] not in text and HUSBAND["name"] not in text


LONE = {"nik": "1571011204800077", "name": "Bambang Lubis", "birth_date": "1980-04-12", "sex": "M"}


def test_an_erased_member_answers_for_no_program_live_as_in_time_travel(web, tokens, family):
    """Erased, a person is no one's recipient: the live answers leave them out as time
    travel's do (as of now, the same statuses), and a family whose only member was erased is
    eligible for nothing through him, nor listed among a program's eligible families; a
    program nobody of it could receive (PKH: a woman) still says so."""
    household, _before, _head_then = family
    casework = web.extensions["casework"].casework
    lone = str(
        casework.register_household(
            {**HOUSEHOLD, "kk_number": "1571010101200077", "head": LONE}, META
        ).stream_id
    )
    casework.record_welfare_assessment(
        {"household_id": lone, "source": "DTSEN", "desil": 1, "period": "2025-Q3"}, META
    )
    project(web)
    client = authorized_client(web, tokens["sup1"])

    def statuses(household_id: str, **query) -> dict[str, str]:
        answer = client.get(f"/api/v1/households/{household_id}/eligibility", query_string=query)
        assert answer.status_code == 200, answer.json
        return {p["program"]: p["status"] for p in answer.json["programs"]}

    assert statuses(lone)["ZAKAT"] == "eligible"  # desil 1, any member: him
    for household_id, nik in ((household, HUSBAND["nik"]), (lone, LONE["nik"])):
        casework.request_erasure(
            {"household_id": household_id, "nik": nik, "reason": "Permohonan tertulis"}, META
        )
    project(web)
    now = dt.datetime.now(dt.UTC).isoformat()
    for household_id in (household, lone):
        assert statuses(household_id) == statuses(household_id, as_of=now), household_id
    assert statuses(lone) == {"PKH": "ineligible"}  # nobody to receive it, and no one else
    eligible = client.get("/api/v1/programs/ZAKAT/eligible").json
    assert lone not in {row["household_id"] for row in eligible["results"]}
