"""Every event's data has a schema, and every event the seed produces fits its schema."""

import pytest

from adapters.codec import DATE_FIELDS, ERASED, PERSONAL_FIELDS
from adapters.wire import from_notification
from app.seed import seed_app
from consumers.event_schemas import data_errors, schemas
from tests.support.apps import memory_casework


@pytest.fixture(scope="module")
def envelopes():
    app = memory_casework()
    seed_app(app, 100, seed_value=3)  # realistic coverage: 100 families reach most kinds
    found = [
        from_notification(app, n, "1571") for n in app.recorder.select_notifications(1, 100_000)
    ]
    app.close()
    return found


def test_every_event_the_seed_produces_fits_its_schema(envelopes):
    kinds = {(e["stream_type"], e["type"]) for e in envelopes}
    assert kinds <= set(schemas()), kinds - set(schemas())
    assert len(kinds) >= 15  # the seed's varied histories reach most kinds of event
    assert [e["type"] for e in envelopes if data_errors(e)] == []


def test_a_malformed_event_is_named_field_by_field(envelopes):
    assessed = next(e for e in envelopes if e["type"] == "WelfareAssessed")
    broken = {**assessed, "data": {**assessed["data"], "desil": "tinggi"}}
    del broken["data"]["period"]
    assert set(data_errors(broken)) == {"desil", "period"}


def test_an_event_type_this_consumer_does_not_know_is_left_alone(envelopes):
    future = {**envelopes[0], "type": "SomethingNewer", "data": {"anything": 1}}
    assert data_errors(future) == {}


def test_erasure_markers_fit_every_field(envelopes):
    """An erased person's fields reveal as markers (ERASED, None for a date, `erased:<subject>`
    for an identifier); the data of every event still fits its schema."""
    subject = "0" * 32

    def erased(key, value):
        if key in DATE_FIELDS:
            return None
        if key in PERSONAL_FIELDS:
            return ERASED
        if key == "nik" or key.endswith("_nik"):
            return f"erased:{subject}"
        return value

    marked = [{**e, "data": {k: erased(k, v) for k, v in e["data"].items()}} for e in envelopes]
    assert any(m["data"] != e["data"] for m, e in zip(marked, envelopes, strict=True))
    assert [(m["type"], data_errors(m)) for m in marked if data_errors(m)] == []


def test_the_seed_records_each_family_in_the_order_things_happened(envelopes):
    """A family is registered before it is assessed or granted anything: in every household's
    stream the events' occurred_at never goes back, and none is in the future of the demo."""
    by_stream: dict[str, list[dict]] = {}
    for envelope in envelopes:
        if envelope["stream_type"] == "Household":
            by_stream.setdefault(envelope["stream_id"], []).append(envelope)
    assert len(by_stream) == 100
    for events in by_stream.values():
        events.sort(key=lambda e: e["version"])
        assert events[0]["type"] == "HouseholdRegistered"
        moments = [e["occurred_at"] for e in events]
        assert moments == sorted(moments)
        assert moments[-1] < "2026-11-02"
