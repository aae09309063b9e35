"""SplitFamily (pecah KK) on the in-memory store: the new family and the old one as a
caseworker would see them afterwards, the KTP facts that follow the movers, the reviews the
policies open, and the field and code a mistaken split is refused with."""

import datetime as dt

import pytest

from adapters.codec import Codec, MemoryKeyRing
from app.seed_data import kk_for, nik_for
from consumers.policies import execute, replay
from domain.application import SYSTEM, Casework, make_meta
from domain.catalog import seed_catalog
from domain.city import today
from domain.errors import Conflict, DomainError, NotFound
from domain.household import ERROR_CODES

REGION = "157101"


def person(name, birth, sex, serial):
    born = dt.date.fromisoformat(birth)
    return {
        "nik": nik_for(REGION, born, sex, serial),
        "name": name,
        "birth_date": birth,
        "sex": sex,
    }


HEAD = person("Budi Santoso", "1960-01-01", "M", 1)
WIFE = person("Siti Aminah", "1962-03-02", "F", 2)
SON = person("Andi", "1990-02-03", "M", 3)
DAUGHTER_IN_LAW = person("Rina", "1992-06-07", "F", 4)
GRANDCHILD = person("Dewi", "2016-08-09", "F", 5)
YOUNG = person("Tono", "2012-04-05", "M", 6)
KK = kk_for(REGION, dt.date(2010, 1, 1), 1)
NEW_KK = kk_for(REGION, dt.date(2026, 1, 5), 2)
OTHER_KK = kk_for(REGION, dt.date(2021, 1, 5), 3)


class NoGrantRules(Casework):
    def check_program_rules(self, household, cmd):  # the grant rules are not the subject here
        return None


def meta(**kwargs):
    return make_meta(SYSTEM, "api", **kwargs)


@pytest.fixture
def app():
    application = NoGrantRules(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, codec=Codec(MemoryKeyRing())
    )
    seed_catalog(application, meta())
    yield application
    application.close()


@pytest.fixture
def hid(app):
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
        meta(),
    )
    hid = stored.stream_id
    for member, relationship in (
        (WIFE, "istri"),
        (SON, "anak"),
        (DAUGHTER_IN_LAW, "menantu"),
        (GRANDCHILD, "cucu"),
        (YOUNG, "anak"),
    ):
        app.add_member(
            {"household_id": hid, "person": member, "relationship": relationship}, meta()
        )
    # the son moved in from Jakarta in 2015; his KTP says so
    app.issue_ktp(
        {
            "household_id": hid,
            "nik": SON["nik"],
            "issued_on": "2015-07-01",
            "arrival": {
                "type": "pindah_datang",
                "arrived_on": "2015-06-01",
                "origin_region_code": "3171",
            },
        },
        meta(),
    )
    return hid


def split(app, hid, members=(SON, DAUGHTER_IN_LAW, GRANDCHILD), head=SON, kk=NEW_KK, **place):
    return app.execute(
        "SplitFamily",
        {
            "household_id": hid,
            "members": [m["nik"] for m in members],
            "new_head_nik": head["nik"],
            "new_kk_number": kk,
            "effective_date": "2026-02-01",
            **place,
        },
        meta(),
    )


def refused(call, field, code, kind=DomainError):
    with pytest.raises(kind) as error:
        call()
    assert (error.value.field, error.value.code) == (field, code)
    assert error.value.code in ERROR_CODES or error.value.code.startswith(("nik.", "kk."))


def test_the_movers_form_a_new_family_on_the_new_kk_linked_both_ways(app, hid):
    stored = split(app, hid)
    new = app.get_household(stored.stream_id)
    old = app.get_household(hid)

    assert new.kk_number == NEW_KK and new.head_nik == SON["nik"]
    assert {nik: m["relationship"] for nik, m in new.members.items()} == {
        SON["nik"]: "kepala_keluarga",
        DAUGHTER_IN_LAW["nik"]: "istri",
        GRANDCHILD["nik"]: "anak",
    }
    assert all(m["status"] == "active" for m in new.members.values())
    # the new family lives where the old one does, unless a new place is given
    assert (new.kelurahan, new.address) == ("Telanaipura", "Jl. Sultan Agung No. 12")
    assert new.as_dict()["split_from"] == {
        "household_id": hid,
        "kk_number": KK,
        "effective_date": "2026-02-01",
    }
    # the old family keeps its head, wife and younger son; the movers moved out, to the new KK
    assert old.kk_number == KK and old.head_nik == HEAD["nik"]
    assert sorted(old.active_niks()) == sorted([HEAD["nik"], WIFE["nik"], YOUNG["nik"]])
    assert old.members[SON["nik"]]["status"] == "moved_out"
    (went,) = old.as_dict()["splits"]
    assert went["household_id"] == stored.stream_id and went["kk_number"] == NEW_KK
    assert sorted(went["members"]) == sorted(m["nik"] for m in (SON, DAUGHTER_IN_LAW, GRANDCHILD))
    # each mover's NIK is now the new household's
    for mover in (SON, DAUGHTER_IN_LAW, GRANDCHILD):
        assert str(app.household_id_for_nik(mover["nik"])) == stored.stream_id
    assert str(app.household_id_for_nik(WIFE["nik"])) == hid


def test_the_movers_keep_their_ktp_and_arrival(app, hid):
    new = app.get_household(split(app, hid).stream_id)
    son = new.members[SON["nik"]]
    assert son["ktp_issued_on"] == "2015-07-01"
    assert son["arrival"] == {
        "type": "pindah_datang",
        "arrived_on": "2015-06-01",
        "origin_region_code": "3171",
    }
    assert son["residence_since"] == "2015-06-01"
    assert new.members[GRANDCHILD["nik"]]["arrival"] is None  # none recorded: none invented


def test_a_new_place_is_the_new_familys(app, hid):
    place = {
        "kecamatan": "Telanaipura",
        "kelurahan": "Simpang IV Sipin",
        "address": "Jl. Kapten Pattimura No. 7",
        "rt": "003",
        "rw": "004",
    }
    new = app.get_household(split(app, hid, **place).stream_id)
    assert (new.kelurahan, new.address, new.rt, new.rw) == (
        "Simpang IV Sipin",
        "Jl. Kapten Pattimura No. 7",
        "003",
        "004",
    )
    assert app.get_household(hid).kelurahan == "Telanaipura"


def test_a_mover_may_come_back_to_the_old_kk(app, hid):
    new_id = split(app, hid).stream_id
    app.remove_member(
        {
            "household_id": new_id,
            "nik": GRANDCHILD["nik"],
            "kind": "moved_out",
            "effective_date": "2026-03-01",
        },
        meta(),
    )
    app.add_member({"household_id": hid, "person": GRANDCHILD, "relationship": "cucu"}, meta())
    assert app.get_household(hid).members[GRANDCHILD["nik"]]["status"] == "active"


def test_refusals_name_the_field_and_store_nothing(app, hid):
    version = app.get_household(hid).version
    refused(lambda: split(app, hid, members=(HEAD, WIFE), head=WIFE), "members", "split.head_stays")
    refused(lambda: split(app, hid, head=WIFE), "new_head_nik", "split.head_not_moving")
    refused(lambda: split(app, hid, members=(YOUNG,), head=YOUNG), "new_head_nik", "head.not_adult")
    refused(lambda: split(app, hid, members=()), "members", "value.required")
    stranger = person("Orang Lain", "1991-01-01", "M", 9)
    refused(lambda: split(app, hid, members=(SON, stranger)), "members", "member.not_found")
    refused(lambda: split(app, hid, kk=KK), "new_kk_number", "kk.taken", Conflict)
    refused(lambda: split(app, hid, kk="1234"), "new_kk_number", "kk.format")
    # a KK number another family holds
    app.register_household(
        {
            "kk_number": OTHER_KK,
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Lain No. 1",
            "rt": "001",
            "rw": "001",
            "head": person("Kepala Lain", "1970-01-01", "M", 8),
        },
        meta(),
    )
    refused(lambda: split(app, hid, kk=OTHER_KK), "new_kk_number", "kk.taken", Conflict)
    refused(
        lambda: split(app, "0b9f5a0e-0000-4000-8000-000000000000"),
        "household_id",
        "household.not_found",
        NotFound,
    )
    assert app.get_household(hid).version == version
    assert str(app.household_id_for_nik(SON["nik"])) == hid
    # once moved, a member is no longer there to move
    split(app, hid)
    refused(
        lambda: split(app, hid, members=(SON,), kk=kk_for(REGION, dt.date(2026, 1, 6), 4)),
        "members",
        "member.not_active",
    )


def grant(app, hid, who, program):
    app.execute(
        "GrantBenefit",
        {
            "household_id": hid,
            "nik": who["nik"],
            "program": program,
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "amount": 300000,
        },
        meta(),
    )


def test_the_split_opens_reviews_of_the_movers_benefits_only(app, hid):
    grant(app, hid, HEAD, "KJB")
    grant(app, hid, SON, "PBI-JK")
    grant(app, hid, DAUGHTER_IN_LAW, "PKH")  # household-level (PKH is paid to an adult woman)
    split(app, hid)
    outcomes = [execute(app, action) for action in replay(app, day=today())]
    assert set(outcomes) <= {"done"}

    old = app.get_household(hid)
    reviews = sorted(
        (b["program"], b["nik"], r["cause"], r["status"])
        for b in old.benefits.values()
        for r in b["reviews"]
    )
    assert reviews == [
        ("PBI-JK", SON["nik"], "moved_out", "open"),
        ("PKH", DAUGHTER_IN_LAW["nik"], "moved_out", "open"),
    ]
    # replaying the policies opens nothing twice
    assert {execute(app, a) for a in replay(app, day=today())} <= {"done"}
    assert sum(len(b["reviews"]) for b in app.get_household(hid).benefits.values()) == 2


def test_a_restricted_mover_stays_restricted_in_the_new_family(app, hid):
    app.execute(
        "RestrictProcessing",
        {"household_id": hid, "nik": GRANDCHILD["nik"], "grounds": "Permintaan wali"},
        meta(),
    )
    new = app.get_household(split(app, hid).stream_id)
    assert new.is_restricted(GRANDCHILD["nik"]) and not new.is_restricted(SON["nik"])
