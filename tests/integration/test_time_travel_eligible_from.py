"""Time travel says when a newcomer becomes eligible, as the live view does, on SQLite and
PostgreSQL: a head of family who arrived (pindah_datang) three months ago, short only of a
city program's twelve months of residence; the live answer says the day the months are
reached (`eligible_from`), and so does the past answer as of then, in both modes (status,
reasons and that day alike), on the API and on the auditor's timeline page as on the
household page."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from domain.city import WIB
from domain.eligibility_rules import add_months
from tests.integration.conftest import authorized_client
from tests.integration.test_eligibility_api import project

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
REGION = "157101"
HEAD = {
    "nik": nik_for(REGION, dt.date(1988, 4, 9), "M", 3),
    "name": "Dedi Saputra",
    "birth_date": "1988-04-09",
    "sex": "M",
}
HOUSEHOLD = {
    "kk_number": kk_for(REGION, dt.date(2026, 1, 5), 3),
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 9",
    "rt": "003",
    "rw": "001",
    "head": HEAD,
}
# a city program for residents of a year or more
PROGRAM = {
    "code": "KJB",
    "name": "Kartu Jambi Bahagia",
    "opd": "DINSOS",
    "funding": "APBD",
    "kind": "bansos",
    "rules": {"max_desil": 5, "min_residence_months": 12, "recipient": "head"},
    "effective_from": "2025-01-01",
}


@pytest.fixture
def newcomer(web) -> tuple[str, dt.date]:
    """(the household, the day its head arrived): three months ago, the KTP issued since."""
    casework = web.extensions["casework"].casework
    casework.define_program(PROGRAM, META)
    household = str(casework.register_household(HOUSEHOLD, META).stream_id)
    today = dt.datetime.now(WIB).date()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    casework.record_welfare_assessment(
        {"household_id": household, "source": "DTSEN", "desil": 2, "period": quarter}, META
    )
    arrived = today - dt.timedelta(days=90)
    casework.issue_ktp(
        {
            "household_id": household,
            "nik": HEAD["nik"],
            "issued_on": (arrived + dt.timedelta(days=10)).isoformat(),
            "arrival": {
                "type": "pindah_datang",
                "arrived_on": arrived.isoformat(),
                "origin_region_code": "1371",
            },
        },
        META,
    )
    project(web)
    return household, arrived


def eligible_from_shown(page: str, program: str) -> str:
    """The 'Eligible from' note under the program's answer in a page's eligibility table."""
    table = re.search(r'<table class="striped eligibility">.*?</table>', page, re.S)
    assert table, page
    rows = dict(re.findall(r'<tr>\s*<th scope="row">([^<]+)</th>(.*?)</tr>', table.group(0), re.S))
    found = re.search(r"<small>(Layak mulai [^<]+)</small>", rows[program])
    assert found, rows[program]
    return found.group(1)


def test_as_of_then_a_newcomer_is_eligible_from_the_day_the_live_view_said(web, tokens, newcomer):
    household, arrived = newcomer
    url = f"/api/v1/households/{household}/eligibility"
    live = authorized_client(web, tokens["sup1"]).get(url)
    assert live.status_code == 200, live.json
    answered_then = live.json["programs"]
    then = dt.datetime.now(dt.UTC).isoformat()
    (kjb,) = (p for p in answered_then if p["program"] == "KJB")
    # short only of the residence months: refused, eligible the day the twelve are reached
    assert kjb["status"] == "ineligible"
    assert [r["rule"] for r in kjb["reasons"] if r["passed"] is False] == [
        "min_residence_months"
    ]
    assert kjb["eligible_from"] == add_months(arrived, 12).isoformat()

    client = authorized_client(web, tokens["auditor"])
    for mode in ("known", "effective"):
        past = client.get(url, query_string={"as_of": then, "mode": mode})
        assert past.status_code == 200, past.json
        assert past.json["programs"] == answered_then, mode

    # the auditor's timeline shows that day where the household page shows it
    shown_now = eligible_from_shown(
        web.test_client().get(f"/rumah-tangga/{household}").text, "KJB"
    )
    # the form takes minutes: the next but one, after every event of this test
    saat = (dt.datetime.now(WIB) + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    timeline = web.test_client(user="auditor")
    for mode in ("known", "effective"):
        page = timeline.get(
            f"/rumah-tangga/{household}/lini-masa", query_string={"saat": saat, "mode": mode}
        )
        assert page.status_code == 200
        assert eligible_from_shown(page.text, "KJB") == shown_now, mode
