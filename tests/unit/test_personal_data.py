"""Personal data in stored events: encrypted per person, readable only through the person's
key, and erasable by destroying that key (crypto-shredding, UU PDP).

A realistic household history (registration, members, a case note, an NIB, an objection by a
neighbour, a snapshot) is stored through `Casework` with an in-memory key ring; the key
store's own test uses an SQLite file in tmp_path.
"""

from __future__ import annotations

import gc
import json
import types
import uuid
from typing import Any

import pytest

from adapters.codec import (
    ERASED,
    ERASED_ID,
    PERSONAL_FIELDS,
    PREFIX,
    Codec,
    MemoryKeyRing,
    Wrapper,
    WrongMasterKey,
    is_erased,
    parse_master_key,
    subject_of_token,
)
from adapters.db import Database
from adapters.keystore import KeyStore
from adapters.settings import DatabaseUrl, Settings, SettingsError
from adapters.store_schema import migrate
from app.cli import main
from app.schemas import Invalid, load
from domain.application import SYSTEM, Casework, make_meta
from domain.errors import Erased
from domain.household import Household, NikIndex
from tests.support.apps import memory_casework

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
KK = "1571010101200001"
ADDRESS = "Jl. Kenanga No. 7, Telanaipura"
HEAD = {"nik": "1571010101800001", "name": "Budi Santoso", "birth_date": "1980-01-01", "sex": "M"}
WIFE = {"nik": "1571014202850002", "name": "Siti Aminah", "birth_date": "1985-02-02", "sex": "F"}
CHILD = {
    "nik": "1571010303100003",
    "name": "Rahmat Hidayat",
    "birth_date": "2010-03-03",
    "sex": "M",
}
NEIGHBOUR = "1571010404700004"  # objects to the household's benefits; not a member
NOTE = "Ibu Siti Aminah berjualan kue di Pasar Angso Duo."
BUSINESS = "Kue Basah Bu Siti"
GROUNDS = "Keluarga ini memiliki mobil dan toko emas di Jl. Gatot Subroto."
PHOTO = "objeksi/2025/foto-rumah-kenanga-7.jpg"
LATITUDE, LONGITUDE = -1.6101237, 103.6131499
PEOPLE = (HEAD, WIFE, CHILD)
CLEAR = (
    KK,
    ADDRESS,
    NOTE,
    BUSINESS,
    GROUNDS,
    PHOTO,
    NEIGHBOUR,
    str(LATITUDE),
    str(LONGITUDE),
    *(person[field] for person in PEOPLE for field in ("nik", "name", "birth_date")),
)


@pytest.fixture
def ring() -> MemoryKeyRing:
    return MemoryKeyRing(master_key=bytes(range(32)))


@pytest.fixture
def app(ring):
    application = Casework(env=POPO, codec=Codec(ring))
    yield application
    application.close()


@pytest.fixture
def household_id(app) -> uuid.UUID:
    meta = make_meta(SYSTEM, "ui")
    stored = app.register_household(
        {
            "kk_number": KK,
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": ADDRESS,
            "rt": "001",
            "rw": "002",
            "head": HEAD,
        },
        meta,
    )
    hid = stored.stream_id
    app.add_member({"household_id": hid, "person": WIFE, "relationship": "istri"}, meta)
    app.add_member({"household_id": hid, "person": CHILD, "relationship": "anak"}, meta)
    app.add_case_note({"household_id": hid, "text": NOTE}, meta)
    app.register_nib(
        {
            "household_id": hid,
            "nik": WIFE["nik"],
            "nib": "9120001234567",
            "business_name": BUSINESS,
            "registered_on": "2024-05-06",
        },
        meta,
    )
    app.file_objection(
        {
            "household_id": hid,
            "objector_nik": NEIGHBOUR,
            "objector_kelurahan": "Telanaipura",  # not in the register: where they live
            "grounds": GROUNDS,
            "filed_on": "2025-03-04",
            "photo_reference": PHOTO,
            "latitude": LATITUDE,
            "longitude": LONGITUDE,
        },
        meta,
    )
    household_id = uuid.UUID(hid)
    app.take_snapshot(household_id)
    return household_id


def raw_states(app: Casework, household_id: uuid.UUID) -> list[dict[str, Any]]:
    """The household's stored events and snapshot as the store holds them (decoded JSON)."""
    stored = [
        *app.recorder.select_events(household_id),
        *app.snapshots.recorder.select_events(household_id),
    ]
    return [json.loads(s.state) for s in stored]


def everything_stored(app: Casework) -> str:
    """Every stored event of every stream, and every snapshot, as text."""
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    snapshots = [
        s
        for stream in {n.originator_id for n in notifications}
        for s in app.snapshots.recorder.select_events(stream)
    ]
    return "\n".join(s.state.decode() for s in [*notifications, *snapshots])


def tokens_in(value: Any) -> list[str]:
    """Every token in a JSON value, keys included."""
    if isinstance(value, str):
        return [value] if value.startswith(PREFIX) else []
    if isinstance(value, dict):
        keys = [k for k in value if isinstance(k, str) and k.startswith(PREFIX)]
        return keys + [t for item in value.values() for t in tokens_in(item)]
    if isinstance(value, list):
        return [t for item in value for t in tokens_in(item)]
    return []


def unprotected_fields(value: Any, path: str = "") -> list[str]:
    """Where a personal field, an identifier or a key that is a NIK is not a token."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            at = f"{path}.{key}"
            if str(key).isdigit() and len(str(key)) == 16:
                found.append(at)
            personal = key in PERSONAL_FIELDS or key in ("nik", "kk_number") or key.endswith("_nik")
            if personal and item is not None and not isinstance(item, (dict, list)):
                if not (isinstance(item, str) and item.startswith(PREFIX)):
                    found.append(at)
            found += unprotected_fields(item, at)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += unprotected_fields(item, f"{path}[{i}]")
    return found


def replayed(app: Casework, household_id: uuid.UUID) -> Household:
    """The household from its events alone (no snapshot)."""
    household = None
    for domain_event in app.events.get(household_id):
        household = domain_event.mutate(household)
    assert isinstance(household, Household)
    return household


def from_snapshot(app: Casework, household_id: uuid.UUID) -> Household:
    [snapshot] = app.snapshots.get(household_id)
    household = snapshot.mutate(None)
    assert isinstance(household, Household)
    return household


def subject_of_nik(app: Casework, nik: str) -> str:
    subject = app.person_subject(nik)
    assert subject is not None
    return subject


# --- encryption ----------------------------------------------------------------------------


def test_the_codec_round_trips_every_event_and_the_snapshot(app, household_id):
    stream = str(household_id)
    states = [
        {k: v for k, v in vars(e).items() if k not in ("originator_id", "originator_version")}
        for e in [*app.events.get(household_id), *app.snapshots.get(household_id)]
    ]
    assert len(states) == 7  # 6 events and the snapshot
    for state in states:
        protected = app.codec.protect(state, stream)
        assert not unprotected_fields(protected), unprotected_fields(protected)
        assert app.codec.reveal(protected) == state
    types = [type(e).__name__ for e in app.events.get(household_id)]
    assert types == [
        "HouseholdRegistered",
        "MemberAdded",
        "MemberAdded",
        "CaseNoteAdded",
        "NibRegistered",
        "ObjectionFiled",
    ]


def test_the_household_loads_in_clear_from_its_events_and_from_its_snapshot(app, household_id):
    by_events, by_snapshot = replayed(app, household_id), from_snapshot(app, household_id)
    assert by_snapshot.as_dict() == by_events.as_dict()
    household = app.get_household(household_id).as_dict()
    assert household == by_events.as_dict()
    assert (household["kk_number"], household["address"]) == (KK, ADDRESS)
    assert household["head_nik"] == HEAD["nik"]
    members = {m["nik"]: m for m in household["members"]}
    for person in PEOPLE:
        member = members[person["nik"]]
        assert (member["name"], member["birth_date"]) == (person["name"], person["birth_date"])
    assert [n["text"] for n in household["notes"]] == [NOTE]
    [nib] = household["nibs"]
    assert (nib["nik"], nib["business_name"]) == (WIFE["nik"], BUSINESS)
    [objection] = household["objections"]
    assert (
        objection["objector_nik"],
        objection["grounds"],
        objection["photo_reference"],
        objection["latitude"],
        objection["longitude"],
    ) == (NEIGHBOUR, GROUNDS, PHOTO, LATITUDE, LONGITUDE)


def test_the_store_holds_no_personal_data_in_clear(app, household_id):
    states = raw_states(app, household_id)
    assert len(states) == 7
    for state in states:
        assert not unprotected_fields(state), unprotected_fields(state)
    text = everything_stored(app)  # the claims and the snapshot too
    for clear in CLEAR:
        assert clear not in text, f"{clear!r} is stored in clear"
    assert len(tokens_in([json.loads(line) for line in text.splitlines()])) >= 40


def test_the_tokens_of_one_person_share_that_persons_subject(app, household_id):
    subjects = {p["nik"]: subject_of_nik(app, p["nik"]) for p in PEOPLE}
    subjects[NEIGHBOUR] = subject_of_nik(app, NEIGHBOUR)
    kk_subject = app.codec.ring.subject_of(app.codec.lookup("kk", KK))
    assert kk_subject is not None
    assert len({*subjects.values(), kk_subject}) == len(subjects) + 1  # all different
    owner = {  # clear value -> the subject whose key must encrypt it
        KK: kk_subject,
        BUSINESS: subjects[WIFE["nik"]],  # her NIB: the NibRegistered event's nik
        GROUNDS: subjects[NEIGHBOUR],  # the objector's: the event's objector_nik
        PHOTO: subjects[NEIGHBOUR],
        LATITUDE: subjects[NEIGHBOUR],
        LONGITUDE: subjects[NEIGHBOUR],
        NEIGHBOUR: subjects[NEIGHBOUR],
    }
    for person in PEOPLE:
        for field in ("nik", "name", "birth_date"):
            owner[person[field]] = subjects[person["nik"]]
    seen: dict[str, set[str]] = {}
    for token in tokens_in(raw_states(app, household_id)):
        value = app.codec.open(token)
        if isinstance(value, (list, dict)):  # a whole structure: the snapshot's notes
            value = json.dumps(value)
        seen.setdefault(subject_of_token(token), set()).add(str(value))
        if value in owner:
            assert subject_of_token(token) == owner[value], (value, token)
    assert seen[subjects[WIFE["nik"]]] == {WIFE["nik"], WIFE["name"], WIFE["birth_date"], BUSINESS}
    assert seen[kk_subject] == {KK}
    assert seen[subjects[NEIGHBOUR]] == {NEIGHBOUR, GROUNDS, PHOTO, str(LATITUDE), str(LONGITUDE)}
    # The household's own subject (its stream's) holds what belongs to no one person.
    [stream_subject] = {subject_of_token(t) for t in tokens_in(raw_states(app, household_id))} - {
        *subjects.values(),
        kk_subject,
    }
    assert {ADDRESS, NOTE} <= seen[stream_subject]
    # the address, RT and RW (where the family lives) and the notes: the household's own
    assert all(NOTE in value for value in seen[stream_subject] - {ADDRESS, "001", "002"})


# --- erasure -------------------------------------------------------------------------------


def test_after_erasing_a_persons_key_the_household_loads_with_markers(app, ring, household_id):
    subject = subject_of_nik(app, WIFE["nik"])
    assert ring.erase(subject)
    assert not ring.erase(subject)  # gone already
    # What `UseCases.destroy_key` does next: the codec drops the values it opened. (A
    # MemoryKeyRing does not tell its codecs; the KeyStore does, see its test below.)
    app.codec.forget()
    marker = f"{ERASED_ID}{subject}"
    for household in (
        app.get_household(household_id),  # from the snapshot taken before the erasure
        replayed(app, household_id),
        from_snapshot(app, household_id),
    ):
        assert WIFE["nik"] not in household.members
        wife = household.members[marker]
        assert (wife["nik"], wife["name"], wife["birth_date"]) == (marker, ERASED, None)
        assert wife["relationship"] == "istri"
        assert all(is_erased(wife[f]) for f in ("nik", "name", "birth_date"))
        for person in (HEAD, CHILD):  # the others are intact
            member = household.members[person["nik"]]
            assert (member["name"], member["birth_date"]) == (person["name"], person["birth_date"])
        [nib] = household.nibs
        assert (nib["nik"], nib["business_name"], nib["nib"]) == (marker, ERASED, "9120001234567")
        [objection] = household.objections.values()
        assert (objection["objector_nik"], objection["grounds"]) == (NEIGHBOUR, GROUNDS)
        assert (household.kk_number, household.address, household.notes[0]["text"]) == (
            KK,
            ADDRESS,
            NOTE,
        )
    assert app.person_subject(WIFE["nik"]) is None
    assert app.person_subject(HEAD["nik"]) is not None


def _holds_text(root: Any, text: str) -> bool:
    """Whether `text` is reachable from `root` through the objects it refers to (not through
    modules, classes or functions' globals)."""
    seen, todo = set(), [root]
    while todo:
        found = todo.pop()
        if id(found) in seen or isinstance(found, (type, types.ModuleType, types.FunctionType)):
            continue
        seen.add(id(found))
        if isinstance(found, str):
            if text in found:
                return True
            continue
        todo.extend(gc.get_referents(found))
    return False


def test_after_an_erasure_the_codec_keeps_no_nik_it_hashed(app, household_id):
    # a search by her NIK: its keyed hash is remembered with the NIK it hashes
    app.codec.lookup("nik", WIFE["nik"])
    assert _holds_text(app.codec, WIFE["nik"])
    app.destroy_key(subject_of_nik(app, WIFE["nik"]))
    assert not _holds_text(app.codec, WIFE["nik"])


def test_erasure_markers_are_unique_per_person(app, ring, household_id):
    wife, child = subject_of_nik(app, WIFE["nik"]), subject_of_nik(app, CHILD["nik"])
    app.destroy_key(wife)
    app.destroy_key(child)
    assert ring.key(wife) is None and ring.key(child) is None
    members = app.get_household(household_id).members
    assert {f"{ERASED_ID}{wife}", f"{ERASED_ID}{child}", HEAD["nik"]} == set(members)


def test_an_erasure_through_a_store_opened_without_the_key_store_is_refused():
    # The relay's reader passes tokens on and holds no keys: it must not report a key destroyed.
    reader = Casework(env=POPO)
    try:
        with pytest.raises(RuntimeError, match="erasure needs the personal-data codec"):
            reader.destroy_key("a-subject")
    finally:
        reader.close()


# --- the master key ------------------------------------------------------------------------


def test_the_keyed_hash_of_a_nik_changes_with_the_master_key():
    one, other = bytes(range(32)), bytes(range(1, 33))
    nik = HEAD["nik"]
    first = Codec(MemoryKeyRing(one)).lookup("nik", nik)
    assert Codec(MemoryKeyRing(one)).lookup("nik", nik) == first  # stable under one key
    assert Codec(MemoryKeyRing(other)).lookup("nik", nik) != first
    assert Wrapper(one).lookup("nik", nik) == first
    assert Wrapper(one).lookup("kk", nik) != first  # identifier kinds never collide
    assert nik not in first and len(first) == 64
    apps = [Casework(env=POPO, codec=Codec(MemoryKeyRing(key))) for key in (one, other)]
    try:
        assert apps[0].nik_key(nik) == first
        assert apps[1].nik_key(nik) != first
        assert NikIndex.create_id(apps[0].nik_key(nik)) != NikIndex.create_id(apps[1].nik_key(nik))
        assert apps[0].kk_key(KK) != apps[1].kk_key(KK)
    finally:
        for application in apps:
            application.close()


def test_a_wrong_master_key_cannot_unwrap_a_key_in_the_key_store(tmp_path):
    url = DatabaseUrl.parse(f"sqlite:///{tmp_path}/store.db", "CASEWORK_STORE")
    right, wrong = bytes(range(32)), bytes(range(32))[::-1]
    migrate(Database(url))  # the key store's tables, as the composition root makes them
    writer = KeyStore(Database(url), right)
    token = Codec(writer).protect({"nik": WIFE["nik"], "name": WIFE["name"]}, "stream")["name"]
    subject = subject_of_token(token)
    assert writer.key(subject) is not None

    intruder = KeyStore(Database(url), wrong)
    with pytest.raises(WrongMasterKey):
        intruder.key(subject)
    with pytest.raises(WrongMasterKey):
        Codec(intruder).open(token)
    assert intruder.subject_of(Wrapper(wrong).lookup("nik", WIFE["nik"])) is None

    again = KeyStore(Database(url), right)  # a new process with the right key
    assert Codec(again).open(token) == WIFE["name"]
    rows = Database(url).query("SELECT subject, lookup, wrapped FROM casework_personal_keys")
    assert len(rows) == 1
    assert WIFE["nik"] not in json.dumps(rows)  # found by its keyed hash, never the NIK
    assert rows[0][1] == Wrapper(right).lookup("nik", WIFE["nik"])

    reader = Codec(again)
    assert reader.open(token) == WIFE["name"]
    assert again.erase(subject)
    assert reader.open(token) == ERASED  # the key store tells the codecs on it
    assert Codec(KeyStore(Database(url), right)).open(token) == ERASED
    # the key is gone; its keyed hash stays as the tombstone that refuses a new key for her
    assert Database(url).query("SELECT lookup, wrapped FROM casework_personal_keys") == [
        (Wrapper(right).lookup("nik", WIFE["nik"]), None)
    ]
    with pytest.raises(Erased):
        Codec(KeyStore(Database(url), right)).protect({"nik": WIFE["nik"]}, "another stream")
    assert Database(url).query_one("SELECT COUNT(*) FROM casework_personal_keys")[0] == 1


def test_keys_new_prints_a_master_key_without_reading_the_settings(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASEWORK_STORE", "postgresql://casework@db:5432/casework")
    monkeypatch.delenv("CASEWORK_MASTER_KEY", raising=False)
    keys = []
    for _ in range(2):
        assert main(["keys", "new"]) == 0
        out, err = capsys.readouterr()
        [line] = out.splitlines()
        assert len(parse_master_key(line)) == 32
        assert "offline" in err
        keys.append(line)
    assert keys[0] != keys[1]
    assert not (tmp_path / "var").exists()  # nothing generated on the side
    with pytest.raises(SettingsError, match="CASEWORK_MASTER_KEY"):
        Settings.from_env()  # where every other command stops


def test_a_token_copied_into_a_command_is_refused_and_never_opened(tmp_path):
    """A token copied from the topic into a field would be opened on reading as the data of
    the person it belongs to: the edge refuses it by name, the codec refuses to store it."""
    app = memory_casework()
    stolen = app.codec.protect({"name": "Siti Aminah"}, "00" * 16)["name"]
    assert stolen.startswith("pd1.")
    with pytest.raises(Invalid) as refused:
        load("AddCaseNote", {"household_id": str(uuid.uuid4()), "text": stolen})
    assert "text" in str(refused.value.codes)
    with pytest.raises(ValueError, match="token"):
        app.codec.protect({"reference": stolen}, "11" * 16)
    with pytest.raises(ValueError, match="token"):
        app.codec.protect({"person": {"nik": "1571014202850002", "name": stolen}}, "11" * 16)
