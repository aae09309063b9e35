"""Time travel on the domain's own store (in memory): moments and modes parsed strictly, an
erased person stays erased in the past, the effective fold leaves out what cannot apply, and
the diff names the fields that differ."""

from __future__ import annotations

import datetime as dt

import pytest

from app import time_travel
from app.time_travel import BadMoment, parse_mode, parse_moment, state_changes
from domain.application import Actor, make_meta
from tests.support.apps import memory_casework

MAKER = Actor(id="rina", role="caseworker")
CHECKER = Actor(id="yusuf", role="supervisor")
HEAD = {"nik": "1571010101800001", "name": "Budi Santoso", "birth_date": "1980-01-01", "sex": "M"}
WIFE = {"nik": "1571014202850002", "name": "Siti Aminah", "birth_date": "1985-02-02", "sex": "F"}
HOUSEHOLD = {
    "kk_number": "1571010101200001",
    "kecamatan": "Telanaipura",
    "kelurahan": "Telanaipura",
    "address": "Jl. Kenanga No. 7",
    "rt": "001",
    "rw": "002",
    "head": HEAD,
}


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


def meta(actor: Actor = MAKER, occurred_at: str | None = None) -> dict:
    return make_meta(actor, "ui", occurred_at=occurred_at)


def test_moments_are_rfc3339_with_an_offset_or_a_date():
    assert parse_moment("2025-07-01T12:00:00+07:00") == dt.datetime(2025, 7, 1, 5, tzinfo=dt.UTC)
    assert parse_moment("2025-07-01T05:00:00Z") == dt.datetime(2025, 7, 1, 5, tzinfo=dt.UTC)
    # a date is the end of that day in Jambi
    end_of_day = parse_moment("2025-07-01")
    assert end_of_day.astimezone(time_travel.WIB).date() == dt.date(2025, 7, 1)
    assert end_of_day > parse_moment("2025-07-01T23:59:00+07:00")
    # the web's datetime-local is WIB; the API wants the offset
    web = parse_moment("2025-07-01T12:00", naive_is_wib=True)
    assert web == dt.datetime(2025, 7, 1, 5, tzinfo=dt.UTC)
    for bad in ("2025-07-01T12:00", "garbage", "", "1702-01-01", "2025-13-01", "x" * 50):
        with pytest.raises(BadMoment) as raised:
            parse_moment(bad, "from")
        assert (raised.value.field, raised.value.code) == ("from", "from.invalid")


def test_the_mode_is_known_by_default_and_nothing_else_but_effective():
    assert parse_mode(None) == parse_mode("") == "known"
    assert parse_mode("effective") == "effective"
    with pytest.raises(BadMoment) as raised:
        parse_mode("sometimes")
    assert raised.value.code == "mode.invalid"


def test_an_erased_person_stays_erased_in_the_past(app):
    hid = str(app.register_household(HOUSEHOLD, meta()).stream_id)
    app.add_member({"household_id": hid, "person": WIFE, "relationship": "istri"}, meta())
    before = dt.datetime.now(dt.UTC)
    shown, _ = time_travel.household_as_of(app, hid, before, "known")
    assert WIFE["name"] in {m["name"] for m in shown["members"]}

    request = {"household_id": hid, "nik": WIFE["nik"], "reason": "Permohonan subjek data"}
    approval = app.request_approval("RequestErasure", request, meta()).stream_id
    app.approve_change({"approval_id": approval, "note": "ok"}, meta(CHECKER))

    for mode in time_travel.MODES:
        shown, _ = time_travel.household_as_of(app, hid, before, mode)
        wife = next(m for m in shown["members"] if m["relationship"] == "istri")
        assert (wife["erased"], wife["nik"], wife["name"], wife["birth_date"]) == (
            True,
            None,
            None,
            None,
        )
        assert WIFE["nik"] not in str(shown) and WIFE["name"] not in str(shown)


def test_as_it_was_leaves_out_an_event_that_cannot_apply_and_says_so(app):
    hid = str(
        app.register_household(HOUSEHOLD, meta(occurred_at="2025-01-06T09:00:00+07:00")).stream_id
    )
    # recorded in this order, but the join is dated after the death (a data-entry mistake)
    app.add_member(
        {"household_id": hid, "person": WIFE, "relationship": "istri"},
        meta(occurred_at="2025-03-01T09:00:00+07:00"),
    )
    app.record_death(
        {"household_id": hid, "nik": WIFE["nik"], "date_of_death": "2025-02-01"},
        meta(occurred_at="2025-02-01T09:00:00+07:00"),
    )
    february = parse_moment("2025-02-15")
    shown, skipped = time_travel.household_as_of(app, hid, february, "effective")
    assert [m["nik"] for m in shown["members"]] == [HEAD["nik"]]
    assert skipped == [{"version": 3, "type": "DeathRecorded"}]
    # by April both had happened: she joined and is recorded dead
    shown, skipped = time_travel.household_as_of(app, hid, parse_moment("2025-04-01"), "effective")
    assert skipped == []
    assert {m["nik"]: m["status"] for m in shown["members"]}[WIFE["nik"]] == "deceased"
    # before the registration happened there was no household
    assert time_travel.household_as_of(app, hid, parse_moment("2025-01-01"), "effective") is None


def test_the_changes_name_each_field_that_differs():
    before = {
        "kelurahan": "Telanaipura",
        "members": [{"nik": "1", "status": "active", "name": "A"}],
        "benefits": [{"benefit_id": "b1", "status": "active", "program": "PKH"}],
    }
    after = {
        "kelurahan": "Simpang IV Sipin",
        "members": [{"nik": "1", "status": "deceased", "name": "A"}, {"nik": "2", "name": "B"}],
        "benefits": [{"benefit_id": "b1", "status": "suspended", "program": "PKH"}],
    }
    assert state_changes(before, after) == [
        {"field": "kelurahan", "from": "Telanaipura", "to": "Simpang IV Sipin"},
        {"field": "members.1.status", "from": "active", "to": "deceased"},
        {"field": "members.2", "from": None, "to": "added"},
        {"field": "benefits.b1.status", "from": "active", "to": "suspended"},
    ]
    assert state_changes(after, after) == []
