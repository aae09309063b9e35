"""The read side with encrypted events (UU PDP): views built from what the relay publishes keep
no NIK or KK number in clear, find a household by the keyed hash of a NIK, and forget an erased
person in every table (every generation), while the benefits stay counted."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from adapters.bootstrap import open_casework, open_store_reader, reader_codec
from adapters.codec import ERASED
from adapters.db import Database
from adapters.settings import DatabaseUrl
from adapters.wire import from_notification
from app.seed_data import kk_for, nik_for
from consumers.event_schemas import data_errors
from consumers.runner import reveal_with_retries
from domain.application import SYSTEM, make_meta
from projections import beneficiaries, register
from projections.base import (
    ERASURE_EVENT,
    Projection,
    apply_batch,
    apply_envelopes,
    create_generation,
    ensure_schema,
    identity,
    reveal,
)
from projections.catalog import PROJECTIONS


@pytest.fixture(autouse=True)
def a_day_the_grants_run(monkeypatch):
    """The program's list and count show the benefits running on their day (today by
    default): here a day within the grants' periods, whatever day the suite runs on."""
    monkeypatch.setattr(beneficiaries, "today", lambda: dt.date(2025, 6, 1))


MASTER_KEY = bytes.fromhex("5e" * 32)
REGION = "157101"
KK = kk_for(REGION, dt.date(2010, 1, 1), 1)
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
OTHER_KK = kk_for(REGION, dt.date(2012, 2, 2), 3)
OTHER_HEAD = {
    "nik": nik_for(REGION, dt.date(1975, 5, 5), "M", 4),
    "name": "Ahmad Fauzi",
    "birth_date": "1975-05-05",
    "sex": "M",
}
SIXTEEN = re.compile(r"[0-9]{16}")


def meta():
    return make_meta(SYSTEM, "api")


class System:
    """The write side on an SQLite store, the relay's view of the store (tokens), and read
    models applied from what the relay would publish, revealed as the runner reveals it."""

    def __init__(self, tmp_path) -> None:
        url = DatabaseUrl.parse(f"sqlite:///{tmp_path}/casework.db", "CASEWORK_STORE")
        self.writer = open_casework(url, MASTER_KEY)
        self.writer.check_program_rules = lambda household, cmd: None  # PKH is not defined
        self.relay = open_store_reader(url)
        self.store = Database(url)
        self.codec = reader_codec(self.store, MASTER_KEY)
        self.views = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/views.db", "VIEWS"))
        ensure_schema(self.views, PROJECTIONS.values())
        self.position = 0

    def close(self) -> None:
        for db in (self.views, self.store):
            db.close()
        self.relay.close()
        self.writer.close()

    def published(self, after: int = 0) -> list[dict]:
        """The envelopes of the stored events after `after`, as the relay publishes them."""
        notifications = self.relay.recorder.select_notifications(
            after, 10_000, inclusive_of_start=False
        )
        return [from_notification(self.relay, n, "1571") for n in notifications]

    def catch_up(self) -> list[dict]:
        """Apply what is new to every view, as the runner does; the envelopes applied."""
        envelopes = [reveal_with_retries(self.codec, e) for e in self.published(self.position)]
        for projection in PROJECTIONS.values():
            apply_batch(self.views, projection, envelopes)
        if envelopes:
            self.position = envelopes[-1]["position"]
        return envelopes

    def register_family(self) -> str:
        stored = self.writer.register_household(
            {
                "kk_number": KK,
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
        self.writer.add_member(
            {"household_id": hid, "person": WIFE, "relationship": "istri"}, meta()
        )
        self.writer.grant_benefit(
            {
                "household_id": hid,
                "nik": WIFE["nik"],
                "program": "PKH",
                "period_start": "2025-01-01",
                "period_end": "2025-12-31",
                "amount": 750000,
            },
            meta(),
        )
        return hid

    def erase(self, hid: str, nik: str) -> None:
        self.writer.request_erasure(
            {"household_id": hid, "nik": nik, "reason": "Permohonan tertulis subjek data."},
            meta(),
        )

    def cells(self) -> list[str]:
        """Every value of every row of every table of the read-model database, as text."""
        tables = [
            row[0] for row in self.views.query("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return [
            str(value)
            for table in tables
            for row in self.views.query(f"SELECT * FROM {table}")
            for value in row
            if value is not None
        ]


@pytest.fixture
def system(tmp_path):
    built = System(tmp_path)
    yield built
    built.close()


def test_what_the_relay_publishes_is_encrypted(system):
    system.register_family()
    text = repr([e["data"] for e in system.published()])
    for secret in (HEAD["nik"], WIFE["nik"], KK, HEAD["name"], WIFE["name"]):
        assert secret not in text


def test_views_built_from_encrypted_events_hold_no_nik_and_find_by_the_keyed_hash(system):
    hid = system.register_family()
    other = system.writer.register_household(
        {
            "kk_number": OTHER_KK,
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Kenanga No. 3",
            "rt": "003",
            "rw": "001",
            "head": OTHER_HEAD,
        },
        meta(),
    ).stream_id
    system.catch_up()

    cells = system.cells()
    assert cells  # the views hold rows
    assert not [cell for cell in cells if SIXTEEN.fullmatch(cell)]
    for number in (HEAD["nik"], WIFE["nik"], OTHER_HEAD["nik"], KK, OTHER_KK):
        assert not [cell for cell in cells if number in cell]
    # names and addresses neither: tokens, and the keyed hashes of the name's words
    for text in (HEAD["name"], WIFE["name"], OTHER_HEAD["name"], "Jl. Kenanga No. 3"):
        assert not [cell for cell in cells if text in cell or text.lower() in cell]
    assert not [cell for cell in cells if cell in ("siti", "aminah", "amin", "kenanga")]

    views, writer = system.views, system.writer
    found = register.search(views, q="aminah SITI", name_key=writer.name_key)
    assert [h["id"] for h in found] == [hid]
    assert [writer.codec.open(m["name_token"]) for m in found[0]["members"]] == [
        HEAD["name"],
        WIFE["name"],
    ]
    assert writer.codec.open(register.get_household(views, other)["address_token"]) == (
        "Jl. Kenanga No. 3"
    )
    assert [h["id"] for h in register.search(views, nik_hash=writer.nik_key(WIFE["nik"]))] == [hid]
    assert [h["id"] for h in register.search(views, kk_hash=writer.kk_key(OTHER_KK))] == [other]
    assert register.search(views, nik_hash=WIFE["nik"]) == []  # the NIK itself finds nothing
    # those allowed see the NIKs by opening the tokens
    shown = register.get_household(views, hid)
    assert writer.codec.open(shown["kk_token"]) == KK
    assert [writer.codec.open(m["nik_token"]) for m in shown["members"]] == [
        HEAD["nik"],
        WIFE["nik"],
    ]
    [benefit] = beneficiaries.beneficiaries(views, "PKH")
    assert writer.codec.open(benefit["nik_token"]) == WIFE["nik"]


def test_after_an_erasure_the_name_is_gone_from_every_view_and_the_benefit_stays(system):
    hid = system.register_family()
    system.catch_up()
    by_name = register.search(system.views, q="siti", name_key=system.writer.name_key)
    assert [h["id"] for h in by_name] == [hid]

    system.erase(hid, WIFE["nik"])
    applied = system.catch_up()
    assert [e["type"] for e in applied] == [ERASURE_EVENT]
    assert data_errors(applied[0]) == {}

    cells = system.cells()
    assert not [cell for cell in cells if WIFE["name"] in cell or WIFE["birth_date"] in cell]
    assert not [cell for cell in cells if WIFE["nik"] in cell]
    members = register.get_household(system.views, hid)["members"]
    assert system.writer.codec.open(members[0]["name_token"]) == HEAD["name"]  # nobody else
    assert len(members) == 2  # the row stays
    wife = members[1]
    assert (wife["name_token"], wife["birth_date_token"], wife["erased"]) == (ERASED, None, True)
    assert wife["nik_token"] == f"erased:{wife['subject']}"
    assert register.search(system.views, nik_hash=system.writer.nik_key(WIFE["nik"])) == []
    assert register.search(system.views, q="siti", name_key=system.writer.name_key) == []
    by_name = register.search(system.views, q="budi", name_key=system.writer.name_key)
    assert [h["id"] for h in by_name] == [hid]
    # the benefit is still counted, nobody's any more
    assert beneficiaries.count_active(system.views, "PKH") == 1
    [benefit] = beneficiaries.beneficiaries(system.views, "PKH")
    assert benefit["erased"] is True and benefit["nik_token"] == wife["nik_token"]


def test_a_view_built_after_the_erasure_never_sees_the_name(system, tmp_path):
    hid = system.register_family()
    system.erase(hid, WIFE["nik"])
    envelopes = [reveal_with_retries(system.codec, e, live=False) for e in system.published()]
    assert [e for e in envelopes if data_errors(e)] == []
    fresh = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/fresh.db", "VIEWS"))
    ensure_schema(fresh, PROJECTIONS.values())
    for projection in PROJECTIONS.values():
        apply_batch(fresh, projection, envelopes)
    system.views, kept = fresh, system.views
    try:
        cells = system.cells()
        assert not [cell for cell in cells if WIFE["name"] in cell or WIFE["nik"] in cell]
        assert len(register.get_household(fresh, hid)["members"]) == 2
        assert beneficiaries.count_active(fresh, "PKH") == 1
    finally:
        system.views = kept
        fresh.close()


def test_the_erasure_reaches_every_generation_a_rebuild_keeps(system):
    """A rebuild swaps in generation 2 and keeps generation 1 for readers still on it: the
    erasure must reach both (and any other generation that exists)."""
    hid = system.register_family()
    system.catch_up()
    history = [reveal(system.codec, e) for e in system.published()]
    with system.views.transaction() as cur:
        for projection in PROJECTIONS.values():
            names = create_generation(cur, projection, 2)
            apply_envelopes(cur, projection, names, history)
            cur.execute("UPDATE projection_state SET generation=2 WHERE name=?", (projection.name,))
    # in both generations' name terms
    her_word = str(register.term_key(system.writer.name_key("aminah")))
    assert system.cells().count(her_word) == 2

    system.erase(hid, WIFE["nik"])
    system.catch_up()
    assert her_word not in system.cells()


def test_the_runner_forgets_cached_keys_after_an_erasure(system):
    hid = system.register_family()
    before = system.catch_up()
    added = next(e for e in system.published() if e["type"] == "MemberAdded")
    # the runner's key store has the wife's key cached from what it revealed
    assert reveal(system.codec, added)["data"]["person"]["name"] == WIFE["name"]
    assert before

    system.erase(hid, WIFE["nik"])  # by the write side, in another key store
    system.catch_up()  # reveals the PersonalDataErased: the runner forgets its keys
    again = reveal(system.codec, added)["data"]["person"]
    assert (again["name"], again["birth_date"]) == (ERASED, None)
    assert identity(again["nik"]).erased


def test_every_view_must_say_how_it_forgets_an_erased_person():
    with pytest.raises(TypeError, match="on_erasure"):
        Projection(name="feed", tables={}, handlers={}, serves="registry")
    for projection in PROJECTIONS.values():
        assert projection.on_erasure is not None


def test_an_identifier_not_revealed_is_refused():
    with pytest.raises(ValueError, match="reveal"):
        identity(HEAD["nik"])
