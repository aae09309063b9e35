"""Restriction of processing (UU PDP): the events and refusals, and the rule every view serving
a program or an agency honours (projections.base) - the person vanishes, and comes back when
the restriction is lifted, while the registry keeps them marked."""

import datetime as dt

import pytest

from adapters.db import Database
from adapters.settings import DatabaseUrl
from adapters.wire import from_notification
from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from domain.errors import DomainError
from domain.household import ERROR_CODES
from projections import beneficiaries, register
from projections.base import Projection, apply_batch, ensure_schema, no_personal_data, reveal
from projections.catalog import PROJECTIONS
from tests.support.apps import memory_casework


@pytest.fixture(autouse=True)
def a_day_the_grants_run(monkeypatch):
    """The program's list and count show the benefits running on their day (today by
    default): here a day within the grants' periods, whatever day the suite runs on."""
    monkeypatch.setattr(beneficiaries, "today", lambda: dt.date(2025, 6, 1))


REGION = "157101"
HEAD = {
    "nik": nik_for(REGION, dt.date(1980, 1, 1), "M", 1),
    "name": "Budi Santoso",
    "birth_date": "1980-01-01",
    "sex": "M",
}
WIFE = {
    "nik": nik_for(REGION, dt.date(1984, 3, 2), "F", 2),
    "name": "Siti Aminah",
    "birth_date": "1984-03-02",
    "sex": "F",
}


def meta():
    return make_meta(SYSTEM, "api")


@pytest.fixture
def app():
    application = memory_casework()
    # the program rules at grant are in test_grant_rules.py; PKH is not defined here
    application.check_program_rules = lambda household, cmd: None
    yield application
    application.close()


@pytest.fixture
def family(app):
    stored = app.register_household(
        {
            "kk_number": kk_for(REGION, dt.date(2010, 1, 1), 1),
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Sultan Agung No. 1",
            "rt": "001",
            "rw": "002",
            "head": HEAD,
        },
        meta(),
    )
    hid = stored.stream_id
    app.add_member({"household_id": hid, "person": WIFE, "relationship": "istri"}, meta())
    return hid


def grant(app, hid, nik, program="PKH"):
    return app.grant_benefit(
        {
            "household_id": hid,
            "nik": nik,
            "program": program,
            "period_start": "2025-01-01",
            "period_end": "2025-12-31",
            "amount": 750000,
        },
        meta(),
    )


def restrict(app, hid, nik):
    return app.restrict_processing(
        {"household_id": hid, "nik": nik, "grounds": "Subjek data membantah keakuratan data."},
        meta(),
    )


def lift(app, hid, nik):
    return app.lift_restriction({"household_id": hid, "nik": nik}, meta())


class Views:
    """Every registered projection over the app's events, applied as they come."""

    def __init__(self, app, tmp_path):
        self.app = app
        self.db = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/views.db", "CASEWORK_VIEWS"))
        ensure_schema(self.db, PROJECTIONS.values())
        self.position = 0

    def catch_up(self):
        notifications = self.app.recorder.select_notifications(
            self.position, 10_000, inclusive_of_start=False
        )
        envelopes = [
            reveal(self.app.codec, from_notification(self.app, n, "1571", sealed=True))
            for n in notifications
        ]
        for projection in PROJECTIONS.values():
            apply_batch(self.db, projection, envelopes)
        if notifications:
            self.position = notifications[-1].id
        return self

    def program(self, code="PKH"):
        return [
            (self.app.codec.open(r["nik_token"]), r["program"])
            for r in beneficiaries.beneficiaries(self.db, code)
        ]

    def member(self, hid, nik):
        members = register.get_household(self.db, hid)["members"]
        return next(m for m in members if self.app.codec.open(m["nik_token"]) == nik)


# --- the domain ----------------------------------------------------------------------------


def test_restricting_and_lifting_are_events_on_the_member(app, family):
    restricted = restrict(app, family, WIFE["nik"])
    household = app.get_household(family)
    assert household.is_restricted(WIFE["nik"]) and not household.is_restricted(HEAD["nik"])
    by_nik = {m["nik"]: m for m in household.as_dict()["members"]}
    assert by_nik[WIFE["nik"]]["restricted"] is True and by_nik[HEAD["nik"]]["restricted"] is False

    lifted = lift(app, family, WIFE["nik"])
    assert lifted.version == restricted.version + 1
    assert not app.get_household(family).is_restricted(WIFE["nik"])
    events = list(app.repository.event_store.get(app.get_household(family).id))
    assert [type(e).__name__ for e in events][-2:] == ["ProcessingRestricted", "RestrictionLifted"]
    [restricted_event] = [e for e in events if type(e).__name__ == "ProcessingRestricted"]
    assert restricted_event.nik == WIFE["nik"] and restricted_event.grounds.startswith("Subjek")


@pytest.mark.parametrize(
    ("steps", "field", "code"),
    [
        (("restrict", "restrict"), "nik", "restriction.already"),
        (("lift",), "nik", "restriction.not_restricted"),
        (("restrict", "lift", "lift"), "nik", "restriction.not_restricted"),
    ],
)
def test_restricting_twice_or_lifting_what_is_not_restricted_is_refused(
    app, family, steps, field, code
):
    *before, last = steps
    do = {"restrict": restrict, "lift": lift}
    for step in before:
        do[step](app, family, WIFE["nik"])
    version = app.get_household(family).version
    with pytest.raises(DomainError) as error:
        do[last](app, family, WIFE["nik"])
    assert (error.value.field, error.value.code) == (field, code)
    assert code in ERROR_CODES
    assert app.get_household(family).version == version


def test_a_stranger_or_empty_grounds_are_refused(app, family):
    stranger = nik_for(REGION, dt.date(1990, 1, 1), "M", 9)
    with pytest.raises(DomainError) as error:
        restrict(app, family, stranger)
    assert error.value.code == "member.not_found"
    with pytest.raises(DomainError) as error:
        app.restrict_processing(
            {"household_id": family, "nik": WIFE["nik"], "grounds": "  "}, meta()
        )
    assert (error.value.field, error.value.code) == ("grounds", "value.required")


# --- the views -----------------------------------------------------------------------------


def test_a_restriction_and_a_grant_in_the_same_batch_keep_her_hidden(app, family, tmp_path):
    """The views look for restricted persons once per batch (projections.base): a restriction
    earlier in the batch counts for the events after it, as one in an earlier batch does."""
    grant(app, family, HEAD["nik"])
    restrict(app, family, WIFE["nik"])
    grant(app, family, WIFE["nik"])
    grant(app, family, WIFE["nik"], program="BLT")
    views = Views(app, tmp_path).catch_up()  # all of it in one batch
    assert views.program() == [(HEAD["nik"], "PKH")]
    assert views.program("BLT") == []
    lift(app, family, WIFE["nik"])
    views.catch_up()
    assert sorted(views.program()) == sorted([(HEAD["nik"], "PKH"), (WIFE["nik"], "PKH")])


def test_a_restricted_person_vanishes_from_the_program_view_and_comes_back(app, family, tmp_path):
    grant(app, family, HEAD["nik"])
    grant(app, family, WIFE["nik"])
    views = Views(app, tmp_path).catch_up()
    assert sorted(views.program()) == sorted([(HEAD["nik"], "PKH"), (WIFE["nik"], "PKH")])

    restrict(app, family, WIFE["nik"])
    views.catch_up()
    assert views.program() == [(HEAD["nik"], "PKH")]
    # the registry keeps her, marked
    assert views.member(family, WIFE["nik"])["restricted"] is True
    assert views.member(family, HEAD["nik"])["restricted"] is False

    # a benefit granted meanwhile does not bring her back either
    grant(app, family, WIFE["nik"], program="BLT")
    views.catch_up()
    assert views.program("BLT") == []

    lift(app, family, WIFE["nik"])
    views.catch_up()
    assert sorted(views.program()) == sorted([(HEAD["nik"], "PKH"), (WIFE["nik"], "PKH")])
    assert views.program("BLT") == [(WIFE["nik"], "BLT")]
    assert views.member(family, WIFE["nik"])["restricted"] is False


def test_a_rebuild_from_the_whole_history_hides_the_same_person(app, family, tmp_path):
    grant(app, family, WIFE["nik"])
    restrict(app, family, WIFE["nik"])
    grant(app, family, HEAD["nik"])
    views = Views(app, tmp_path).catch_up()  # everything in one batch
    assert views.program() == [(HEAD["nik"], "PKH")]
    assert views.member(family, WIFE["nik"])["restricted"] is True


def test_every_registered_projection_says_whom_it_serves():
    assert {name: p.serves for name, p in PROJECTIONS.items()} == {
        "register": "registry",
        "beneficiaries": "program",
        "eligibility": "program",
        "reviews": "registry",  # no personal data: ids, program, area, cause, deadline
        # the sources against the register: Dinas Sosial's own work (keyed hashes, tokens)
        "reconciliation": "registry",
        "overview": "registry",  # counts per area and program: no person shown
        # what agencies may receive: agreements, areas and the restricted persons themselves
        "agencies": "agency",
        # who asked for which change, its state: ids and moments, no personal data
        "approvals": "registry",
    }
    for projection in PROJECTIONS.values():
        if projection.serves != "registry":
            assert projection.on_restriction is not None


@pytest.mark.parametrize("serves", ["program", "agency"])
def test_a_view_for_a_program_or_agency_without_the_hook_is_refused(serves):
    with pytest.raises(TypeError, match="on_restriction"):
        Projection(name="feed", tables={}, handlers={}, serves=serves, on_erasure=no_personal_data)


def test_whom_a_view_serves_must_be_said():
    with pytest.raises(TypeError):
        Projection(name="feed", tables={}, handlers={})  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="serves"):
        Projection(
            name="feed", tables={}, handlers={}, serves="everyone", on_erasure=no_personal_data
        )


def test_the_registry_needs_no_restriction_hook():
    feed = Projection(
        name="feed", tables={}, handlers={}, serves="registry", on_erasure=no_personal_data
    )
    assert feed.serves == "registry"
