"""The policies against the real broker, on SQLite and PostgreSQL: an NIB registered by a
Kartu Jambi Bahagia beneficiary opens a review, and an objection past its deadline lapses."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from adapters.bootstrap import bootstrap
from app.seed_data import kk_for, nik_for
from consumers.policies import POLICY, run, store_envelopes
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from domain.city import WIB
from tests.conftest import wait_until
from tests.support.events import publish_store

pytestmark = pytest.mark.integration

REGION = "157101"
HEAD = {
    "nik": nik_for(REGION, dt.date(1975, 4, 5), "M", 17),
    "name": "Hasan Basri",
    "birth_date": "1975-04-05",
    "sex": "M",
}


def do(app, command, **cmd):
    return app.execute(command, cmd, make_meta(SYSTEM, "api"))


def policy_events(app, event_type):
    return [
        env
        for env in store_envelopes(app, "1571")
        if env["type"] == event_type and env["source"] == "policy"
    ]


def test_an_nib_of_a_kjb_beneficiary_opens_a_review_and_late_objections_lapse(
    casework, relay_reader, broker, settings
):
    seed_catalog(casework, make_meta(SYSTEM, "seed"))
    hid = do(
        casework,
        "RegisterHousehold",
        kk_number=kk_for(REGION, dt.date(2010, 2, 3), 5),
        kecamatan="Telanaipura",
        kelurahan="Telanaipura",
        address="Lr. Mawar No. 3",
        rt="004",
        rw="001",
        head=HEAD,
    ).stream_id
    do(
        casework,
        "IssueKtp",
        household_id=hid,
        nik=HEAD["nik"],
        issued_on="2012-05-01",
        arrival={"type": "born_here"},
    )
    do(
        casework,
        "RecordWelfareAssessment",
        household_id=hid,
        source="DTSEN",
        desil=5,
        period="2025-Q1",
        reference="r",
    )
    granted = do(
        casework,
        "GrantBenefit",
        household_id=hid,
        nik=HEAD["nik"],
        program="KJB",
        period_start="2026-01-01",
        period_end="2026-12-31",
        amount=1_200_000,
    )
    do(
        casework,
        "FileObjection",
        household_id=hid,
        objector_nik=HEAD["nik"],
        grounds="Sudah mampu",
        filed_on="2026-01-05",
        photo_reference="foto.jpg",
        latitude=-1.6,
        longitude=103.6,
    )
    do(
        casework,
        "RegisterNib",
        household_id=hid,
        nik=HEAD["nik"],
        nib="9120000000001",
        business_name="Warung Hasan",
        registered_on="2026-03-02",
    )
    publish_store(relay_reader, broker.bootstrap)

    stop = threading.Event()
    thread = threading.Thread(
        target=run, args=(bootstrap(settings), stop), name="policies", daemon=True
    )
    thread.start()
    try:
        opened = wait_until(
            lambda: policy_events(casework, "BenefitReviewOpened"), 20, "the NIB review"
        )
        lapsed = wait_until(lambda: policy_events(casework, "ObjectionLapsed"), 20, "the lapse")
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()

    benefits = casework.get_household(hid).benefits
    assert len(opened) == 1
    review = opened[0]
    assert review["stream_id"] == hid
    assert benefits[review["data"]["benefit_id"]]["program"] == "KJB"
    # 14 days from the day (WIB) the NIB was recorded, not from its registration date
    nib = next(e for e in store_envelopes(casework, "1571") if e["type"] == "NibRegistered")
    recorded = dt.datetime.fromisoformat(nib["recorded_at"].replace("Z", "+00:00"))
    deadline = (recorded.astimezone(WIB).date() + dt.timedelta(days=14)).isoformat()
    assert (review["data"]["cause"], review["data"]["deadline"]) == ("nib", deadline)
    assert review["actor"]["id"] == POLICY.id and review["actor"]["role"] == "admin"
    assert review["version"] > granted.version + 2  # after the objection and the NIB
    assert lapsed[0]["data"]["deadline"] == "2026-01-19"
