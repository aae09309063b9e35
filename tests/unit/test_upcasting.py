"""Events and snapshots stored under an old schema still load after the schema changed, with
the new field defaulted and `schema_version` saying which shape the data now has."""

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, Snapshot, event
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from adapters import codec as personal_data
from adapters import wire
from app.seed_data import kk_for, nik_for
from domain import upcasting
from domain.application import SYSTEM, Casework, make_meta
from domain.household import Household, derived_id
from domain.program import Program
from tests.support.apps import memory_casework

# --- the mechanism, on an aggregate of this test ------------------------------------------


def _assessed_v1_v2(state: dict[str, Any]) -> None:
    state.setdefault("kk_number", None)
    upcasting.stamp_schema(state, 2)


class Survey(Aggregate):
    @event("Started")
    def __init__(self, meta: dict[str, Any]) -> None:
        self.records: list[dict[str, Any]] = []

    class Assessed(upcasting.SchemaVersioned, Aggregate.Event):
        class_version = 2
        upcast_v1_v2 = staticmethod(_assessed_v1_v2)

        desil: int
        kk_number: str | None
        meta: dict[str, Any]

    @event(Assessed)
    def assess(self, desil: int, kk_number: str | None, meta: dict[str, Any]) -> None:
        self.records.append({"desil": desil, "kk_number": kk_number})


@pytest.fixture
def store():
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


def insert_v1(app: Application, aggregate_id: uuid.UUID, version: int, topic: str, data: dict):
    """Store an event the way the code before the change did: no class_version, v1 fields."""
    state = {"timestamp": dt.datetime.now(dt.UTC), **data}
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=aggregate_id,
                originator_version=version,
                topic=topic,
                state=app.mapper.transcoder.encode(state),
            )
        ]
    )


def stored_states(app: Application, aggregate_id: uuid.UUID) -> list[dict]:
    return [json.loads(s.state) for s in app.recorder.select_events(aggregate_id)]


def test_an_event_stored_as_v1_loads_through_the_v2_class_with_the_new_field_none(store):
    survey = Survey(meta=make_meta(SYSTEM, "api"))
    store.save(survey)
    insert_v1(
        store,
        survey.id,
        2,
        get_topic(Survey.Assessed),
        {"desil": 3, "meta": make_meta(SYSTEM, "api")},
    )

    loaded = store.repository.get(survey.id)

    assert loaded.records == [{"desil": 3, "kk_number": None}]
    old = list(store.events.get(survey.id))[-1]
    assert (old.kk_number, old.meta["schema_version"]) == (None, 2)


def test_a_new_event_is_stored_as_v2_and_says_so_in_its_meta(store):
    survey = Survey(meta=make_meta(SYSTEM, "api"))
    meta = make_meta(SYSTEM, "api")
    survey.assess(4, "1571010101200001", meta)
    store.save(survey)

    state = stored_states(store, survey.id)[-1]
    assert state["class_version"] == 2
    assert state["meta"]["schema_version"] == 2
    assert meta["schema_version"] == 1  # the caller's meta is left alone


def test_every_versioned_class_has_its_whole_upcaster_chain():
    for aggregate in (Household, Program, Survey):
        for cls in upcasting.versioned_classes(aggregate):
            assert upcasting.missing_upcasters(cls) == [], cls


def test_a_missing_upcaster_is_named():
    class Broken(Aggregate.Event):
        class_version = 3

        @staticmethod
        def upcast_v1_v2(state):
            pass

    assert upcasting.missing_upcasters(Broken) == ["upcast_v2_v3"]


# --- the real change: WelfareAssessed v2 and Household v2 -----------------------------------

REGION = "157101"
HEAD = {
    "nik": nik_for(REGION, dt.date(1980, 1, 1), "M", 1),
    "name": "Budi Santoso",
    "birth_date": "1980-01-01",
    "sex": "M",
}
KK = kk_for(REGION, dt.date(2020, 1, 1), 1)
applied = pytest.mark.skipif(
    getattr(Household.WelfareAssessed, "class_version", 1) < 2,
    reason="WelfareAssessed v2 is not in domain/household.py yet",
)


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


@pytest.fixture
def household_id(app) -> uuid.UUID:
    stored = app.register_household(
        {
            "kk_number": KK,
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Sultan Agung No. 12",
            "rt": "001",
            "rw": "002",
            "head": HEAD,
        },
        make_meta(SYSTEM, "api"),
    )
    return uuid.UUID(stored.stream_id)


def assess(app, household_id, period="2025-Q1", desil=3):
    return app.record_welfare_assessment(
        {
            "household_id": str(household_id),
            "source": "DTSEN",
            "desil": desil,
            "period": period,
            "reference": "DTSEN-2025-Q1-00001",
        },
        make_meta(SYSTEM, "import:dtsen"),
    )


@applied
def test_a_welfare_assessment_stored_as_v1_loads_and_travels_as_schema_v2(app, household_id):
    v1 = {
        "source": "DTSEN",
        "desil": 3,
        "period": "2025-Q1",
        "reference": "DTSEN-2025-Q1-00001",
        "replaces_desil": None,
        "meta": make_meta(SYSTEM, "import:dtsen"),
    }
    insert_v1(app, household_id, 2, get_topic(Household.WelfareAssessed), v1)

    household = app.get_household(household_id)
    assert household.assessments[0]["kk_number"] is None
    assert household.latest_desil() == 3

    notification = app.recorder.select_notifications(1, 10)[-1]
    envelope = wire.from_notification(app, notification, "1571")
    assert envelope["type"] == "WelfareAssessed"
    assert envelope["schema_version"] == 2
    assert envelope["data"]["kk_number"] is None
    # The relay reads the store without decrypting; it upcasts the same way.
    relays = Casework(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    encoder = wire.EnvelopeEncoder(relays, "1571")
    assert encoder.capable
    assert encoder.envelope(notification) == envelope
    assert encoder.mapper_count == 1  # stored as v1: upcast by the mapper, not the fast path


@applied
def test_a_new_welfare_assessment_records_the_kk_it_was_made_for(app, household_id):
    assess(app, household_id)

    registered, *_, state = stored_states(app, household_id)
    assert state["class_version"] == 2
    assert state["meta"]["schema_version"] == 2
    # Stored as a token of the family's KK number (the same subject as at registration).
    token = state["kk_number"]
    assert token.startswith(personal_data.PREFIX) and KK not in json.dumps(state)
    assert personal_data.subject_of_token(token) == personal_data.subject_of_token(
        registered["kk_number"]
    )
    assert app.codec.open(token) == KK
    assert app.get_household(household_id).assessments[0]["kk_number"] == KK


@applied
def test_a_household_snapshot_taken_before_the_change_loads_with_the_field_none(app, household_id):
    assess(app, household_id)
    household = app.get_household(household_id)
    state = {
        k: v for k, v in vars(household).items() if k not in ("_id", "_version", "_pending_events")
    }
    state["assessments"] = [
        {k: v for k, v in record.items() if k != "kk_number"} for record in state["assessments"]
    ]
    old_snapshot = Snapshot(
        originator_id=household.id,
        originator_version=household.version,
        timestamp=Snapshot.create_timestamp(),
        topic=get_topic(Household),
        state=state,
    )
    app.snapshots.recorder.insert_events([app.mapper.to_stored_event(old_snapshot)])

    loaded = app.get_household(household_id)

    # from the snapshot (a replay would give the KK number), upcast by Household v1 -> v2
    assert loaded.assessments[0]["kk_number"] is None
    assert loaded.version == household.version


# --- BenefitReviewOpened v2 and Household v3 ------------------------------------------------


def test_a_review_stored_as_v1_gets_the_id_v2_derives_and_can_be_decided(app, household_id):
    app.check_program_rules = lambda household, cmd: None  # grant rules are not the subject
    grant = {
        "household_id": str(household_id),
        "nik": HEAD["nik"],
        "program": "KJB",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "amount": 1,
    }
    stored = app.grant_benefit(grant, make_meta(SYSTEM, "api"))
    benefit_id = derived_id(household_id, "benefit", stored.version)
    v1 = {
        "benefit_id": benefit_id,
        "cause": "nib",
        "deadline": "2026-03-16",
        "meta": make_meta(SYSTEM, "policy"),
    }
    insert_v1(app, household_id, stored.version + 1, get_topic(Household.BenefitReviewOpened), v1)

    review = app.get_household(household_id).benefits[benefit_id]["reviews"][0]
    assert review["review_id"] == derived_id(household_id, "review", stored.version + 1)
    assert (review["trigger"], review["status"]) == (None, "open")
    notification = app.recorder.select_notifications(1, 100)[-1]
    envelope = wire.from_notification(app, notification, "1571")
    assert envelope["schema_version"] == 2 and envelope["data"]["review_id"] == review["review_id"]

    decision = {"household_id": str(household_id), "review_id": review["review_id"]}
    app.decide_review({**decision, "decision": "keep"}, make_meta(SYSTEM, "api", reason="ok"))
    assert app.get_household(household_id).benefits[benefit_id]["reviews"][0]["decision"] == "keep"


def test_a_household_snapshot_v2_gains_the_review_fields():
    state = {"benefits": {"b1": {"reviews": [{"cause": "nib", "status": "open"}]}}}
    upcasting.household_v2_v3(state)
    assert state["benefits"]["b1"]["reviews"] == [
        {
            "cause": "nib",
            "status": "open",
            "review_id": None,
            "overdue": False,
            "decision": None,
            "trigger": None,
        }
    ]


# --- MemberCorrected v2 ---------------------------------------------------------------------


def test_a_member_correction_stored_as_v1_loads_with_the_relationship_untouched(app, household_id):
    v1 = {
        "nik": HEAD["nik"],
        "name": "Budi Santosa",
        "birth_date": None,
        "sex": None,
        "meta": make_meta(SYSTEM, "api"),
    }
    insert_v1(app, household_id, 2, get_topic(Household.MemberCorrected), v1)

    household = app.get_household(household_id)
    head = household.members[HEAD["nik"]]
    assert (head["name"], head["relationship"]) == ("Budi Santosa", "kepala_keluarga")
    notification = app.recorder.select_notifications(1, 10)[-1]
    envelope = wire.from_notification(app, notification, "1571")
    assert envelope["type"] == "MemberCorrected" and envelope["schema_version"] == 2
    assert envelope["data"]["relationship"] is None


def test_a_household_snapshot_v3_loads_with_no_relationship_to_review(app, household_id):
    household = app.get_household(household_id)
    state = {
        k: v
        for k, v in vars(household).items()
        if k not in ("_id", "_version", "_pending_events", "relationships_to_review")
    }
    old_snapshot = Snapshot(
        originator_id=household.id,
        originator_version=household.version,
        timestamp=Snapshot.create_timestamp(),
        topic=get_topic(Household),
        state=state,
    )
    app.snapshots.recorder.insert_events([app.mapper.to_stored_event(old_snapshot)])

    loaded = app.get_household(household_id)

    assert loaded.relationships_to_review == []
    assert loaded.members[HEAD["nik"]]["relationship"] == "kepala_keluarga"


def test_a_household_snapshot_v4_shows_its_married_members_married_since_a_day_not_known():
    state = {
        "head_nik": "h",
        "members": {
            "h": {"relationship": "kepala_keluarga", "status": "active"},
            "w": {"relationship": "istri", "status": "active"},
            "m": {"relationship": "menantu", "status": "active"},
            "c": {"relationship": "anak", "status": "active"},
        },
    }
    upcasting.household_v4_v5(state)
    assert state["married_since"] == {"w": None, "m": None, "h": None}
