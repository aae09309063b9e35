"""Commands that carry the day they happened on (a date of death, a move's `moved_on`, an NIB's
`registered_on`, a removal's `effective_date`, ...) count from that day when no occurred_at is
given, whichever way they come in (the API, the web form, an approved change): the household
"as it was" shows a death reported late from the day of death, and the timeline shows that day
beside the recording time. An explicit occurred_at still wins. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from babel.dates import format_date

from domain.application import SYSTEM, make_meta
from tests.integration.conftest import bearer
from tests.integration.test_eligibility_api import project
from tests.integration.test_time_travel_api import HOUSEHOLD, HUSBAND, JOINED, REGISTERED

pytestmark = pytest.mark.integration

WIB = dt.timezone(dt.timedelta(hours=7))
TODAY = dt.datetime.now(WIB).date()
# as in the report: recorded today, it all happened days before
MOVED_ON = TODAY - dt.timedelta(days=5)
NIB_ON = TODAY - dt.timedelta(days=8)
DIED_ON = TODAY - dt.timedelta(days=6)
# between the events' days and their recording
ASKED = dt.datetime.combine(TODAY - dt.timedelta(days=4), dt.time(12, 0))
NEW_ADDRESS = "Jl. Arif Rahman Hakim No. 12"


def happened(entry: str) -> str:
    """When a timeline entry happened (its recorded moment, with its seconds, aside)."""
    return re.search(r'<span class="when">(.*?)</span>', entry, re.S).group(1)


def start_of(day: dt.date) -> str:
    """00:00 WIB on that day, as the API's history answers it (RFC 3339 UTC)."""
    moment = dt.datetime.combine(day, dt.time(), WIB).astimezone(dt.UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def recorded_today(entry: str) -> bool:
    """Whether a timeline entry says it was recorded today in WIB: on the day the module was
    loaded or on the day now (a run that crosses midnight in Jakarta sees both)."""
    days = {TODAY, dt.datetime.now(WIB).date()}
    return any("dicatat " + format_date(day, "long", locale="id") in entry for day in days)


def post(client, command: str, body: dict, token: str):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


@pytest.fixture
def family(web):
    casework = web.extensions["casework"].casework
    hid = str(
        casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "ui", None, REGISTERED)).stream_id
    )
    casework.add_member(
        {"household_id": hid, "person": HUSBAND, "relationship": "suami"},
        make_meta(SYSTEM, "ui", None, JOINED),
    )
    return hid


def history(client, hid: str, token: str) -> dict[str, dict]:
    answer = client.get(f"/api/v1/households/{hid}/history", headers=bearer(token))
    assert answer.status_code == 200, answer.json
    return {e["type"]: e for e in answer.json["events"]}


def test_as_it_was_counts_the_dates_the_commands_carry(web, family, tokens):
    """A case worker records today a death, an NIB and a move that happened days ago, without
    occurred_at: as it was between those days and today, the member is deceased, the family
    at its new address and the NIB there; the timeline dates them on their days."""
    api = web.test_client()
    worker = tokens["cw_sipin"]
    head_nik = HOUSEHOLD["head"]["nik"]
    nib = {
        "household_id": family,
        "nik": head_nik,
        "nib": "9120001234567",
        "business_name": "Warung Sembako Barokah",
        "registered_on": NIB_ON.isoformat(),
    }
    death = {"household_id": family, "nik": HUSBAND["nik"], "date_of_death": DIED_ON.isoformat()}
    move = {
        "household_id": family,
        "kecamatan": "Telanaipura",
        "kelurahan": "Simpang IV Sipin",
        "address": NEW_ADDRESS,
        "rt": "3",
        "rw": "1",
        "moved_on": MOVED_ON.isoformat(),
    }
    for command, body in (
        ("RegisterNib", nib),
        ("RecordDeath", death),
        ("RelocateHousehold", move),
    ):
        answer = post(api, command, body, worker)
        assert answer.status_code == 201, answer.json

    events = history(api, family, tokens["auditor"])
    assert events["DeathRecorded"]["occurred_at"] == start_of(DIED_ON)
    assert events["NibRegistered"]["occurred_at"] == start_of(NIB_ON)
    assert events["HouseholdRelocated"]["occurred_at"] == start_of(MOVED_ON)

    project(web)
    page = web.test_client(user="auditor").get(
        f"/rumah-tangga/{family}/lini-masa",
        query_string={"saat": ASKED.strftime("%Y-%m-%dT%H:%M"), "mode": "effective"},
    )
    assert page.status_code == 200
    husband = re.search(r"<tr>(?:(?!</tr>).)*Ahmad Yani.*?</tr>", page.text, re.S).group(0)
    assert "Meninggal" in husband
    assert NEW_ADDRESS in page.text
    assert "NIB didaftarkan" in page.text
    # the timeline: the day of death (a date, no 00.00), and when it was recorded
    entry = re.search(r"<li[^>]*>(?:(?!</li>).)*Kematian dicatat.*?</li>", page.text, re.S).group(0)
    assert format_date(DIED_ON, "long", locale="id") in entry
    assert "00.00" not in happened(entry)
    assert recorded_today(entry), entry


def test_an_explicit_occurred_at_wins_and_an_approved_removal_counts_from_its_date(
    web, family, tokens
):
    api = web.test_client()
    explicit = dt.datetime.combine(NIB_ON, dt.time(8, 30), WIB)
    nib = {
        "household_id": family,
        "nik": HOUSEHOLD["head"]["nik"],
        "nib": "9120001234567",
        "business_name": "Warung Sembako Barokah",
        "registered_on": (NIB_ON - dt.timedelta(days=1)).isoformat(),
        "occurred_at": explicit.isoformat(),
    }
    assert post(api, "RegisterNib", nib, tokens["cw_sipin"]).status_code == 201
    # a removal waits for a second supervisor: it counts from its date, not the approval's
    removal = {
        "household_id": family,
        "nik": HUSBAND["nik"],
        "kind": "moved_out",
        "effective_date": MOVED_ON.isoformat(),
    }
    asked = post(api, "RemoveMember", removal, tokens["sup1"])
    assert asked.status_code == 202, asked.json
    # the request itself was made today, and the approvals say so
    change = api.get(
        f"/api/v1/approvals/{asked.json['approval_id']}", headers=bearer(tokens["sup2"])
    )
    assert change.status_code == 200, change.json
    assert change.json["requested_at"] > start_of(TODAY)
    approved = post(
        api, "ApproveChange", {"approval_id": asked.json["approval_id"]}, tokens["sup2"]
    )
    assert approved.status_code == 201, approved.json

    events = history(api, family, tokens["auditor"])
    assert events["NibRegistered"]["occurred_at"] == explicit.astimezone(dt.UTC).isoformat(
        timespec="microseconds"
    ).replace("+00:00", "Z")
    assert events["MemberRemoved"]["occurred_at"] == start_of(MOVED_ON)


def test_the_household_page_dates_a_late_death_and_its_form_says_so(web, family, tokens):
    """Through the web form, without the optional moment: the form says the date counts, the
    death counts from its day, and the household page's timeline shows that day and, beside
    it, when it was recorded."""
    client = web.test_client(user="sup1")
    form = client.get(f"/perintah/RecordDeath?household_id={family}").text
    hint = form.split('id="hint-occurred_at"')[1].split("</small>")[0]
    assert "Tanggal meninggal" in hint  # leave it empty: the date of death counts
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = client.post(
        "/perintah/RecordDeath",
        data={
            "csrf_token": token,
            "household_id": family,
            "nik": HUSBAND["nik"],
            "date_of_death": DIED_ON.isoformat(),
            "occurred_at": "",
        },
    )
    assert answer.status_code in (200, 303), answer.status_code
    assert history(web.test_client(), family, tokens["auditor"])["DeathRecorded"][
        "occurred_at"
    ] == start_of(DIED_ON)

    project(web)
    page = web.test_client(user="auditor").get(f"/rumah-tangga/{family}").text
    entry = re.search(r"<li[^>]*>(?:(?!</li>).)*Kematian dicatat.*?</li>", page, re.S).group(0)
    assert format_date(DIED_ON, "long", locale="id") in entry and "00.00" not in happened(entry)
    assert recorded_today(entry), entry
