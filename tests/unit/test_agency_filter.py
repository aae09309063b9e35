"""What an agency receives of each event under its agreement (consumers.agency_filter): the
allowed event types and field paths, personal fields opened or as pseudonyms, the area, the
version in force at each position, and nothing after a revocation, outside the validity, or
about a restricted or erased person. The agreements are recorded through the use cases and
the agencies view is built from the store's own events, sealed as the relay publishes them."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.access_log import Entry, append_many, entries, verify_chain
from adapters.db import Database
from adapters.settings import DatabaseUrl
from adapters.wire import from_notification
from app.schemas import load
from app.seed_data import kk_for, nik_for
from app.up import DEMO_AGREEMENT, demo_agreement
from consumers.agency_delivery import delivery_states, record_delivery
from consumers.agency_filter import (
    AgencyFilter,
    agency_actor,
    record_batch_reads,
    record_reads,
    stored_terms,
)
from domain.application import SYSTEM, make_meta
from domain.errors import Conflict, DomainError
from domain.streams import is_private_topic
from projections import agencies
from projections.base import apply_batch, ensure_schema, reveal
from tests.support.apps import memory_casework

REGION = "157101"
TODAY = dt.date(2026, 6, 1)
SECRET = b"s" * 32
READ_KEY = "read-key"


def person(year: int, sex: str, serial: int, name: str) -> dict:
    born = dt.date(year, 3, 2)
    return {
        "nik": nik_for(REGION, born, sex, serial),
        "name": name,
        "birth_date": born.isoformat(),
        "sex": sex,
    }


HEAD = person(1980, "M", 1, "Budi Santoso")
WIFE = person(1984, "F", 2, "Siti Aminah")
OTHER_HEAD = person(1975, "M", 3, "Ahmad Yani")


def meta():
    return make_meta(SYSTEM, "api")


def terms(**changes) -> dict:
    return {
        "purpose": "Verifikasi PBI-JK",
        "legal_basis": "PKS No. 12/2026",
        "event_types": ["HouseholdRegistered", "MemberAdded"],
        "fields": {
            "HouseholdRegistered": ["kecamatan", "kelurahan", "head.nik", "head.name"],
            "MemberAdded": ["person.nik", "relationship"],
        },
        "personal": "opened",
        "kecamatan": [],
        "kelurahan": [],
        "valid_from": "2026-01-01",
        "valid_until": None,
        **changes,
    }


class World:
    """The use cases on the memory store, the agencies view over their events, and the
    sealed envelopes as the relay publishes them."""

    def __init__(self, tmp_path):
        self.app = memory_casework()
        url = DatabaseUrl.parse(f"sqlite:///{tmp_path}/views.db", "CASEWORK_VIEWS")
        self.views = Database(url)
        ensure_schema(self.views, [agencies.PROJECTION])
        self.position = 0
        self.envelopes: list[dict] = []
        self.filter = AgencyFilter(
            self.views, self.app.codec, SECRET, read_key=READ_KEY, stored=stored_terms(self.app)
        )

    def define(self, agency: str, **changes):
        return self.app.define_agency_agreement({"agency": agency, **terms(**changes)}, meta())

    def register(self, head=HEAD, kecamatan="Telanaipura", kelurahan="Telanaipura", serial=1):
        return self.app.register_household(
            {
                "kk_number": kk_for(REGION, dt.date(2010, 1, 1), serial),
                "kecamatan": kecamatan,
                "kelurahan": kelurahan,
                "address": "Jl. Sultan Agung No. 1",
                "rt": "001",
                "rw": "002",
                "head": head,
            },
            meta(),
        ).stream_id

    def add_wife(self, household_id):
        return self.app.add_member(
            {"household_id": household_id, "person": WIFE, "relationship": "istri"}, meta()
        )

    def catch_up(self) -> World:
        notifications = self.app.recorder.select_notifications(
            self.position, 10_000, inclusive_of_start=False
        )
        sealed = [
            from_notification(self.app, n, "1571", sealed=True)
            for n in notifications
            if not is_private_topic(n.topic)
        ]
        self.envelopes.extend(sealed)
        apply_batch(
            self.views, agencies.PROJECTION, [reveal(self.app.codec, env) for env in sealed]
        )
        if notifications:
            self.position = notifications[-1].id
        assert self.filter.caught_up_to() == self.envelopes[-1]["position"]
        return self

    def of(self, event_type: str, stream_id: str | None = None) -> list[dict]:
        return [
            env
            for env in self.envelopes
            if env["type"] == event_type and (stream_id is None or env["stream_id"] == stream_id)
        ]

    def deliver(self, agency, envelope, today=TODAY):
        return self.filter.deliver(agency, envelope, today=today)


@pytest.fixture
def world(tmp_path):
    made = World(tmp_path)
    yield made
    made.app.close()
    made.views.close()


def test_only_the_allowed_event_types_and_fields_reach_the_agency(world):
    world.define("BPJSKES")
    household = world.register()
    world.add_wife(household)
    world.app.record_welfare_assessment(
        {
            "household_id": household,
            "source": "DTSEN",
            "desil": 3,
            "period": "2025-Q4",
            "reference": "r1",
        },
        meta(),
    )
    world.catch_up()

    registered = world.deliver("BPJSKES", world.of("HouseholdRegistered")[0])
    assert registered.envelope["data"] == {
        "kecamatan": "Telanaipura",
        "kelurahan": "Telanaipura",
        "head": {"nik": HEAD["nik"], "name": HEAD["name"]},
    }
    assert registered.envelope["agreement"] == {"agency": "BPJSKES", "version": 1}
    original = world.of("HouseholdRegistered")[0]
    for key in ("event_id", "position", "stream_id", "type", "recorded_at", "actor"):
        assert registered.envelope[key] == original[key]
    added = world.deliver("BPJSKES", world.of("MemberAdded")[0])
    assert added.envelope["data"] == {"person": {"nik": WIFE["nik"]}, "relationship": "istri"}
    # an event type the agreement does not list: nothing
    assert world.deliver("BPJSKES", world.of("WelfareAssessed")[0]) is None
    # and an agency without an agreement receives nothing
    assert world.deliver("BAZNAS", original) is None
    # the read log learns whose data went out
    assert registered.read.household_id == household
    assert len(registered.read.subject_hashes) == 1


def test_pseudonyms_are_stable_per_agency_and_differ_across_agencies(world):
    world.define("BPJSKES", personal="pseudonym")
    world.define("BAZNAS", personal="pseudonym")
    household = world.register()
    world.catch_up()
    envelope = world.of("HouseholdRegistered")[0]

    bpjs = world.deliver("BPJSKES", envelope).envelope["data"]["head"]
    baznas = world.deliver("BAZNAS", envelope).envelope["data"]["head"]
    assert set(bpjs) == {"nik"}  # a name is personal data but no identifier: left out
    assert bpjs["nik"].startswith("ps1.") and HEAD["nik"] not in str(bpjs)
    assert bpjs["nik"] != baznas["nik"]
    again = AgencyFilter(world.views, world.app.codec, SECRET)
    assert again.deliver("BPJSKES", envelope, today=TODAY).envelope["data"]["head"] == bpjs
    other_secret = AgencyFilter(world.views, world.app.codec, b"t" * 32)
    assert other_secret.deliver("BPJSKES", envelope, today=TODAY).envelope["data"]["head"] != bpjs
    # the same person in a later event: the same pseudonym
    world.app.record_death(
        {"household_id": household, "nik": HEAD["nik"], "date_of_death": "2026-05-01"}, meta()
    )
    world.app.change_agency_agreement(
        {
            "agency": "BPJSKES",
            "event_types": ["HouseholdRegistered", "MemberAdded", "DeathRecorded"],
            "fields": {"DeathRecorded": ["nik", "date_of_death"]},
        },
        meta(),
    )
    world.app.record_death(
        {"household_id": world.register(OTHER_HEAD, serial=2), "nik": OTHER_HEAD["nik"]}
        | {"date_of_death": "2026-05-02"},
        meta(),
    )
    world.catch_up()
    death = world.deliver("BPJSKES", world.of("DeathRecorded")[-1]).envelope["data"]
    first = world.deliver("BPJSKES", world.of("HouseholdRegistered")[-1]).envelope
    assert death == {"nik": death["nik"]}  # the date of death is personal: left out
    assert first["agreement"]["version"] == 2
    assert first["data"] == {}  # version 2 lists no fields of HouseholdRegistered
    # the first death was stored before version 2 allowed the type: not delivered
    assert world.deliver("BPJSKES", world.of("DeathRecorded")[0]) is None


def test_the_area_limits_what_is_delivered_and_a_move_in_counts(world):
    world.define("KELTELANAI", kelurahan=["Telanaipura"])
    world.define("KECJAMSEL", kecamatan=["Jambi Selatan"])
    inside = world.register()
    outside = world.register(OTHER_HEAD, "Jambi Selatan", "Pasir Putih", serial=2)
    world.catch_up()
    registered_inside = world.of("HouseholdRegistered", inside)[0]
    registered_outside = world.of("HouseholdRegistered", outside)[0]
    assert world.deliver("KELTELANAI", registered_inside) is not None
    assert world.deliver("KELTELANAI", registered_outside) is None
    assert world.deliver("KECJAMSEL", registered_inside) is None
    assert world.deliver("KECJAMSEL", registered_outside) is not None
    world.app.execute(
        "RelocateHousehold",
        {
            "household_id": outside,
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Baru 2",
            "rt": "003",
            "rw": "001",
            "moved_on": "2026-05-01",
        },
        meta(),
    )
    world.catch_up()
    # as the view knows the household now: inside the kelurahan, outside the kecamatan
    assert world.deliver("KELTELANAI", registered_outside) is not None
    assert world.deliver("KECJAMSEL", registered_outside) is None


def test_each_event_is_judged_by_the_version_in_force_at_its_position(world):
    world.define("BPJSKES", event_types=["HouseholdRegistered"], fields={})
    early = world.register()
    world.add_wife(early)  # MemberAdded: not allowed by version 1
    world.app.change_agency_agreement(
        {"agency": "BPJSKES", "event_types": ["HouseholdRegistered", "MemberAdded"]}
        | {"fields": {"MemberAdded": ["relationship"]}},
        meta(),
    )
    late = world.register(OTHER_HEAD, serial=2)
    world.catch_up()

    assert world.deliver("BPJSKES", world.of("MemberAdded", early)[0]) is None
    before = world.deliver("BPJSKES", world.of("HouseholdRegistered", early)[0]).envelope
    after = world.deliver("BPJSKES", world.of("HouseholdRegistered", late)[0]).envelope
    assert before["agreement"]["version"] == 1 and after["agreement"]["version"] == 2
    assert [t.version for t in world.filter.versions("BPJSKES")] == [1, 2]
    # an event stored before the agreement existed is not delivered
    world.app.define_agency_agreement({"agency": "LATECOMER", **terms()}, meta())
    world.catch_up()
    assert world.deliver("LATECOMER", world.of("HouseholdRegistered", late)[0]) is None


def test_a_revoked_agreement_delivers_nothing_more(world):
    world.define("BPJSKES")
    world.register()
    world.catch_up()
    envelope = world.of("HouseholdRegistered")[0]
    assert world.deliver("BPJSKES", envelope) is not None
    world.app.revoke_agency_agreement({"agency": "BPJSKES", "reason": "PKS berakhir"}, meta())
    world.catch_up()
    assert world.filter.current("BPJSKES", TODAY) is None
    assert world.deliver("BPJSKES", envelope) is None
    assert world.filter.agencies() == ["BPJSKES"]
    with pytest.raises(Conflict):
        world.app.change_agency_agreement({"agency": "BPJSKES", "personal": "opened"}, meta())


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "delivered"),
    [
        ("2026-01-01", "2026-05-31", False),  # expired the day before
        ("2026-06-02", None, False),  # not yet valid
        ("2026-06-01", "2026-06-01", True),  # the first and last day
    ],
)
def test_only_within_its_validity(world, valid_from, valid_until, delivered):
    world.define("BPJSKES", valid_from=valid_from, valid_until=valid_until)
    world.register()
    world.catch_up()
    found = world.deliver("BPJSKES", world.of("HouseholdRegistered")[0])
    assert (found is not None) is delivered
    assert (world.filter.current("BPJSKES", TODAY) is not None) is delivered


def test_a_restricted_person_is_not_delivered_until_the_restriction_is_lifted(world):
    world.define("BPJSKES")
    household = world.register()
    world.add_wife(household)
    world.app.restrict_processing(
        {"household_id": household, "nik": WIFE["nik"], "grounds": "Membantah data."}, meta()
    )
    world.catch_up()
    assert world.deliver("BPJSKES", world.of("MemberAdded")[0]) is None
    # an event not naming her still goes out
    assert world.deliver("BPJSKES", world.of("HouseholdRegistered")[0]) is not None
    world.app.lift_restriction({"household_id": household, "nik": WIFE["nik"]}, meta())
    world.catch_up()
    assert world.deliver("BPJSKES", world.of("MemberAdded")[0]) is not None


def test_an_erased_person_is_never_delivered_again(world):
    world.define("BPJSKES")
    household = world.register()
    world.add_wife(household)
    world.catch_up()
    added = world.of("MemberAdded")[0]
    assert world.deliver("BPJSKES", added) is not None
    world.app.request_erasure(
        {"household_id": household, "nik": WIFE["nik"], "reason": "Permohonan subjek data"},
        meta(),
    )
    world.catch_up()
    assert world.deliver("BPJSKES", added) is None
    assert world.deliver("BPJSKES", world.of("HouseholdRegistered")[0]) is not None


def test_bad_terms_are_refused_naming_the_field_and_nothing_is_stored(world):
    cases = [
        ({"event_types": []}, "event_types"),
        ({"event_types": ["NikClaimed"]}, "event_types"),  # an index: never shared
        ({"event_types": ["PersonalDataErased"]}, "event_types"),
        ({"fields": {"HouseholdRegistered": ["shoe_size"]}}, "fields.HouseholdRegistered"),
        ({"fields": {"BenefitGranted": ["program"]}}, "fields.BenefitGranted"),
        ({"personal": "plain"}, "personal"),
        ({"kecamatan": ["Bandung"]}, "kecamatan"),
        ({"valid_until": "2025-12-31"}, "valid_until"),
    ]
    for changes, field in cases:
        with pytest.raises(DomainError) as refused:
            world.define("BPJSKES", **changes)
        assert refused.value.field == field, changes
    with pytest.raises(DomainError):
        world.app.get_agency_agreement("BPJSKES")
    world.define("BPJSKES")
    with pytest.raises(Conflict):
        world.define("BPJSKES")


def test_reads_and_delivery_states_are_recorded(world, tmp_path):
    world.define("BPJSKES")
    household = world.register()
    world.add_wife(household)
    world.catch_up()
    deliveries = [world.deliver("BPJSKES", env) for env in world.of("MemberAdded")]
    store = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/store.db", "CASEWORK_STORE"))
    try:
        written = record_reads(
            store, "BPJSKES", "kafka", "casework.agency.BPJSKES.v1", [d.read for d in deliveries]
        )
        assert written == 1
        (row,) = entries(store, "2000-01-01", "2100-01-01")
        assert (row["actor_id"], row["actor_role"], row["actor_opd"], row["channel"]) == (
            "agency:BPJSKES",
            "agency",
            "BPJSKES",
            "kafka",
        )
        assert row["household_id"] == household and row["subject_hashes"]
        assert WIFE["nik"] not in str(row)

        # A batch's deliveries to several agencies: a row each (none for an agency that
        # received nothing), in one transaction, the chain unbroken.
        reads = [d.read for d in deliveries]
        written = record_batch_reads(
            store,
            "kafka",
            [
                ("BPJSKES", "casework.agency.BPJSKES.v1", reads),
                ("DINKES", "casework.agency.DINKES.v1", []),
                ("BAZNAS", "casework.agency.BAZNAS.v1", reads),
            ],
        )
        assert written == 2
        rows = entries(store, "2000-01-01", "2100-01-01")
        assert [(r["actor_id"], r["endpoint"]) for r in rows] == [
            ("agency:BPJSKES", "casework.agency.BPJSKES.v1"),
            ("agency:BPJSKES", "casework.agency.BPJSKES.v1"),
            ("agency:BAZNAS", "casework.agency.BAZNAS.v1"),
        ]
        assert verify_chain(store) == (True, None)
        actor = agency_actor("BPJSKES")
        with pytest.raises(ValueError):  # one bad entry: nothing of the batch is written
            append_many(
                store,
                [Entry(actor, "kafka", "t", reads), Entry(actor, "pigeon", "t", reads)],
            )
        assert len(entries(store, "2000-01-01", "2100-01-01")) == 3
    finally:
        store.close()

    record_delivery(world.views, "BPJSKES", "topic", 10, delivered=3)
    record_delivery(world.views, "BPJSKES", "topic", 7, delivered=2, failed=1, error="timeout")
    record_delivery(world.views, "BPJSKES", "webhook", 4, dead_lettered=1, error="HTTP 500")
    states = {(s["agency"], s["channel"]): s for s in delivery_states(world.views)}
    topic = states[("BPJSKES", "topic")]
    assert (topic["position"], topic["delivered"], topic["failed"]) == (10, 5, 1)
    assert topic["last_error"] == "timeout"
    assert states[("BPJSKES", "webhook")]["dead_lettered"] == 1
    with pytest.raises(ValueError):
        record_delivery(world.views, "BPJSKES", "carrier-pigeon", 1)


def test_the_demo_agreement_is_valid_and_defined_once(world):
    assert load("DefineAgencyAgreement", DEMO_AGREEMENT)["agency"] == "BPJSKES"

    class _System:
        casework = world.app

    assert demo_agreement(_System()) is True
    assert demo_agreement(_System()) is False
    world.catch_up()
    assert world.filter.current("BPJSKES", TODAY).personal == "pseudonym"


def test_a_revocation_in_the_store_stops_deliveries_before_the_view_applies_it(world):
    """The agencies view applies each partition on its own, so it can trail the store: a
    revocation the store holds already stops every delivery."""
    world.define("BPJSKES")
    world.register()
    world.catch_up()
    envelope = world.of("HouseholdRegistered")[0]
    assert world.deliver("BPJSKES", envelope) is not None
    world.app.revoke_agency_agreement({"agency": "BPJSKES", "reason": "PKS berakhir"}, meta())
    world.filter.caught_up_to()  # the view has not applied the revocation
    assert [t.revoked_at for t in world.filter.versions("BPJSKES")] == [None]
    assert world.deliver("BPJSKES", envelope) is None


def test_a_narrowed_agreement_applies_to_every_delivery_after_it(world):
    """Fields, event types and the opened form an agreement stops allowing leave the system
    no more, whether the event came before the change or the view has not applied it yet;
    what a change adds applies from its position on only."""
    world.define("BPJSKES")
    household = world.register()
    world.add_wife(household)
    world.catch_up()
    registered = world.of("HouseholdRegistered")[0]
    first = world.deliver("BPJSKES", registered).envelope
    assert first["data"]["head"]["name"] == HEAD["name"]
    world.app.change_agency_agreement(
        {
            "agency": "BPJSKES",
            "event_types": ["HouseholdRegistered"],
            "fields": {"HouseholdRegistered": ["kecamatan", "head.nik", "kelurahan"]},
            "personal": "pseudonym",
        },
        meta(),
    )
    world.filter.caught_up_to()  # the store holds version 2, the view does not yet
    for _ in range(2):
        shown = world.deliver("BPJSKES", registered).envelope
        assert shown["agreement"]["version"] == 1  # judged by the version at its position
        assert "name" not in shown["data"]["head"]
        assert shown["data"]["head"]["nik"].startswith("ps1.")  # a pseudonym now
        assert world.deliver("BPJSKES", world.of("MemberAdded")[0]) is None
        world.catch_up()  # and the same once the view has applied it


def test_ready_stops_at_the_first_event_the_view_has_not_applied(world):
    """`ready` holds back an event whose household the view has not applied (its area and
    restrictions travel in its stream), and everything while the view trails a change of the
    agency's agreement that the store holds."""
    world.define("BPJSKES")
    first = world.register()
    world.catch_up()
    world.add_wife(first)
    second = world.register(OTHER_HEAD, serial=2)
    world.catch_up()
    envelopes = list(world.envelopes)
    assert world.filter.ready("BPJSKES", envelopes) == len(envelopes)
    # a household registered in another partition, which the view has not applied yet
    late = {**world.of("HouseholdRegistered", second)[0], "version": 2}
    assert world.filter.ready("BPJSKES", [*envelopes, late, envelopes[-1]]) == len(envelopes)
    # the store holds a change the view has not applied: nothing is ready until it has
    world.app.change_agency_agreement({"agency": "BPJSKES", "personal": "pseudonym"}, meta())
    world.filter.caught_up_to()
    assert world.filter.ready("BPJSKES", envelopes) == 0
    world.catch_up()
    assert world.filter.ready("BPJSKES", envelopes) == len(envelopes)


def test_deliver_all_answers_as_deliver_does_for_each_agency(world):
    """`deliver_all` (the agency topics' producer judges each event for every agency at once)
    gives each agency exactly what `deliver` gives it: opened and pseudonymised forms, areas,
    the version in force at each position and a narrowed one, a revocation, an agreement
    that starts later, and nothing naming a restricted or erased person."""
    world.define("OPENED")
    world.define("PSEUDO", personal="pseudonym")
    world.define("KELTELANAI", kelurahan=["Telanaipura"], personal="pseudonym")
    world.define("KECJAMSEL", kecamatan=["Jambi Selatan"])
    world.define("HHONLY", event_types=["HouseholdRegistered"], fields={})
    world.define("NARROWED")
    world.define("REVOKED")
    inside = world.register()
    world.add_wife(inside)
    outside = world.register(OTHER_HEAD, "Jambi Selatan", "Pasir Putih", serial=2)
    restricted_head = person(1970, "F", 4, "Rina Wati")
    restricted = world.register(restricted_head, serial=3)
    erased_head = person(1990, "M", 5, "Joko Susilo")
    erased = world.register(erased_head, "Jambi Selatan", "Pasir Putih", serial=4)
    world.app.restrict_processing(
        {"household_id": restricted, "nik": restricted_head["nik"], "grounds": "Membantah."},
        meta(),
    )
    world.app.request_erasure(
        {"household_id": erased, "nik": erased_head["nik"], "reason": "Permohonan subjek"}, meta()
    )
    world.app.revoke_agency_agreement({"agency": "REVOKED", "reason": "PKS berakhir"}, meta())
    world.catch_up()
    world.define("LATE")
    world.app.change_agency_agreement(
        {
            "agency": "NARROWED",
            "fields": {"HouseholdRegistered": ["kecamatan"], "MemberAdded": ["relationship"]},
            "personal": "pseudonym",
        },
        meta(),
    )
    codes = ["OPENED", "PSEUDO", "KELTELANAI", "KECJAMSEL", "HHONLY", "NARROWED", "REVOKED"]
    codes.append("LATE")
    rounds = []
    for catch_up in (False, True):  # the store holds the change before the view, then both
        if catch_up:
            world.catch_up()
        else:
            world.filter.caught_up_to()
        # and a filter that fetched the batch's keys, areas and restrictions beforehand
        prefetched = AgencyFilter(
            world.views, world.app.codec, SECRET, read_key=READ_KEY, stored=stored_terms(world.app)
        )
        prefetched.caught_up_to()
        prefetched.prefetch(world.envelopes)
        answers = {}
        for envelope in world.envelopes:
            one_by_one = {code: world.deliver(code, envelope) for code in codes}
            expected = {code: found for code, found in one_by_one.items() if found is not None}
            all_at_once = world.filter.deliver_all(codes, envelope, today=TODAY)
            assert all_at_once == expected, envelope["type"]
            assert prefetched.deliver_all(codes, envelope, today=TODAY) == expected
            answers[envelope["position"]] = all_at_once
        rounds.append(answers)

    for answers in rounds:
        takers = {code for found in answers.values() for code in found}
        assert takers == {"OPENED", "PSEUDO", "KELTELANAI", "KECJAMSEL", "HHONLY", "NARROWED"}

        def to(stream_id, event_type="HouseholdRegistered", answers=answers):
            return answers[world.of(event_type, stream_id)[0]["position"]]

        assert set(to(inside)) == {"OPENED", "PSEUDO", "KELTELANAI", "HHONLY", "NARROWED"}
        assert set(to(outside)) == {"OPENED", "PSEUDO", "KECJAMSEL", "HHONLY", "NARROWED"}
        assert to(restricted) == {} and to(erased) == {}
        assert set(to(inside, "MemberAdded")) == {"OPENED", "PSEUDO", "KELTELANAI", "NARROWED"}
        shown = {code: d.envelope["data"] for code, d in to(inside).items()}
        assert shown["OPENED"]["head"] == {"nik": HEAD["nik"], "name": HEAD["name"]}
        assert shown["PSEUDO"]["head"]["nik"].startswith("ps1.")
        assert shown["PSEUDO"]["head"]["nik"] != shown["KELTELANAI"]["head"]["nik"]
        assert shown["NARROWED"] == {"kecamatan": "Telanaipura"}
        assert shown["HHONLY"] == {}
