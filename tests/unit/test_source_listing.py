"""RecordSourceListing: what one source (DTSEN, DTKS, P3KE, VERVAL) lists about a family is
recorded as a fact about that source, once per (source, period, reference), with the NIKs it
lists encrypted per person like every other NIK."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from adapters.codec import Codec, MemoryKeyRing
from app.schemas import Invalid, load
from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, Casework, make_meta
from domain.errors import Conflict, DomainError

REGION = "157101"
HEAD = {
    "nik": nik_for(REGION, dt.date(1980, 1, 1), "M", 1),
    "name": "Budi Santoso",
    "birth_date": "1980-01-01",
    "sex": "M",
}
WIFE_NIK = nik_for(REGION, dt.date(1985, 3, 2), "F", 2)
OUTSIDER_NIK = nik_for(REGION, dt.date(2001, 4, 5), "M", 9)  # only the source lists them
KK = kk_for(REGION, dt.date(2020, 1, 1), 1)


@pytest.fixture
def app():
    application = Casework(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        codec=Codec(MemoryKeyRing(master_key=bytes(range(32)))),
    )
    yield application
    application.close()


@pytest.fixture
def household_id(app) -> str:
    return app.register_household(
        {
            "kk_number": KK,
            "kecamatan": "Telanaipura",
            "kelurahan": "Simpang IV Sipin",
            "address": "Jl. Kenanga No. 7",
            "rt": "001",
            "rw": "002",
            "head": HEAD,
        },
        make_meta(SYSTEM, "api"),
    ).stream_id


def listing(household_id: str, **changes) -> dict:
    return {
        "household_id": household_id,
        "source": "DTKS",
        "period": "2026-Q1",
        "reference": "dtks_2026_1571.csv#row=12",
        "kk_number": KK,
        "members": [
            {"nik": HEAD["nik"], "relationship": "kepala_keluarga", "deceased": False},
            {"nik": OUTSIDER_NIK, "relationship": "anak", "deceased": True},
        ],
        "desil": 6,
        "benefits": ["PKH"],
        **changes,
    }


def test_a_listing_is_recorded_once_and_changes_nothing_else(app, household_id):
    meta = make_meta(SYSTEM, "import:dtks")
    before = app.get_household(household_id)
    stored = app.execute(
        "RecordSourceListing", load("RecordSourceListing", listing(household_id)), meta
    )
    assert stored.version == before.version + 1
    after = app.get_household(household_id)
    # a fact about the source: no member added, nobody deceased, no benefit, no decile
    assert after.members.keys() == before.members.keys()
    assert after.members[HEAD["nik"]]["status"] == "active"
    assert after.benefits == {} and after.assessments == []

    # the same source, period and reference again: refused as a duplicate, nothing stored
    with pytest.raises(Conflict) as refused:
        app.execute("RecordSourceListing", listing(household_id), meta)
    assert (refused.value.field, refused.value.code) == ("reference", "listing.duplicate")
    assert app.get_household(household_id).version == stored.version
    # the same listing under another reference (the file renamed): a duplicate too
    renamed = listing(household_id, reference="salinan.csv#row=12")
    with pytest.raises(Conflict) as refused:
        app.execute("RecordSourceListing", renamed, meta)
    assert refused.value.code == "listing.duplicate"
    # ... unless it says something else
    other = app.execute("RecordSourceListing", {**renamed, "desil": 5}, meta)
    assert other.version == stored.version + 1
    stored = other
    # another period of the same source is a new listing
    again = app.execute("RecordSourceListing", listing(household_id, period="2026-Q2"), meta)
    assert again.version == stored.version + 1


def test_the_stored_event_holds_no_nik_or_kk_number_in_clear(app, household_id):
    app.execute("RecordSourceListing", listing(household_id), make_meta(SYSTEM, "import:dtks"))
    (stored,) = [
        e
        for e in app.recorder.select_events(uuid.UUID(household_id))
        if e.topic.endswith("SourceListingRecorded")
    ]
    raw = stored.state.decode()
    for number in (HEAD["nik"], OUTSIDER_NIK, KK):
        assert number not in raw
    state = json.loads(raw)
    assert [m["nik"][:4] for m in state["members"]] == ["pd1.", "pd1."]
    assert state["kk_number"].startswith("pd1.")
    assert state["desil"] == 6 and state["benefits"] == ["PKH"] and state["source"] == "DTKS"
    # read back through the codec, the listing is whole again
    recorded = app.mapper.to_domain_event(stored)
    assert [m["nik"] for m in recorded.members] == [HEAD["nik"], OUTSIDER_NIK]
    assert recorded.members[1]["deceased"] is True and recorded.kk_number == KK


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"source": "BPS"}, "source", "assessment.source_unknown"),
        ({"desil": 11}, "desil", "desil.out_of_range"),
        ({"benefits": ["PKH", "KIS"]}, "benefits", "listing.benefit_unknown"),
        ({"period": "2026-05"}, "period", "period.format"),
    ],
)
def test_the_aggregate_refuses_what_the_edge_would(app, household_id, change, field, code):
    """The rules hold in the domain too (an importer calls the use case without the schema)."""
    with pytest.raises(DomainError) as refused:
        app.execute(
            "RecordSourceListing", listing(household_id, **change), make_meta(SYSTEM, "api")
        )
    assert (refused.value.field, refused.value.code) == (field, code)


def test_the_edge_names_each_bad_member_by_position():
    payload = listing(str(uuid.uuid4()))
    payload["members"] = [
        {"nik": HEAD["nik"], "relationship": "kepala_keluarga"},
        {"nik": "123", "relationship": "ponakan"},
        {"nik": HEAD["nik"], "relationship": "anak"},
    ]
    with pytest.raises(Invalid) as refused:
        load("RecordSourceListing", payload)
    assert refused.value.codes == {
        "members.1.nik": ["nik.format"],
        "members.1.relationship": ["relationship.unknown"],
        "members.2.nik": ["listing.member_duplicate"],
    }


def test_a_form_lists_one_member_per_line():
    payload = listing(str(uuid.uuid4()), benefits=["pbi-jk", "PKH"])
    payload["members"] = f"{HEAD['nik']}, Kepala Keluarga\n{WIFE_NIK}; istri; ya\n"
    loaded = load("RecordSourceListing", payload)
    assert loaded["members"] == [
        {"nik": HEAD["nik"], "relationship": "kepala_keluarga", "deceased": False},
        {"nik": WIFE_NIK, "relationship": "istri", "deceased": True},
    ]
    assert loaded["benefits"] == ["PBI_JK", "PKH"]
    assert load("RecordSourceListing", {**payload, "desil": None})["desil"] is None
