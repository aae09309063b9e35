"""The relay's fast envelope path gives byte for byte what the mapper path gives.

Events are stored with their personal fields encrypted per person (`adapters.codec`).
The relay reads the store without decrypting (`open_store_reader`, i.e.
`Casework(env)`), so its envelopes carry the tokens as stored: the tests
store through an encrypting application (the writer) and build envelopes through such a
reader, the way the relay does.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    Cipher,
    Notification,
    Transcoding,
)
from eventsourcing.utils import Environment

from adapters import wire
from adapters.bootstrap import open_casework, open_store_reader
from adapters.codec import PREFIX, Codec, MemoryKeyRing, protected_topic
from adapters.settings import DatabaseUrl
from adapters.wire import EnvelopeEncoder
from app.seed import seed_app
from app.seed_data import generate_households
from consumers.relay import EnvelopeWorker, StoreReader
from domain.application import SYSTEM, Casework, event_id, make_meta
from tests.support.events import register_families

TENANT = "1571"
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def writer_and_reader(env: dict[str, str] = POPO) -> tuple[Casework, Casework]:
    """An application that stores with personal fields encrypted, and the relay's reader of
    what it stores (the reader's mapper decodes notifications; it keeps no state of them)."""
    return Casework(env=env, codec=Codec(MemoryKeyRing())), Casework(env=env)


def personal_values(families: list[dict], birth_dates: bool = True) -> set[str]:
    """Every NIK, KK number, name, address and (unless told) birth date of these families.

    (Birth dates are left out where other events hold dates of their own, which may be
    the same day: a KTP issued on somebody's birthday.)
    """
    values: set[str] = set()
    for family in families:
        register = family["register"]
        values |= {register["kk_number"], register["address"]}
        for person in [register["head"], *(m["person"] for m in family["members"])]:
            values |= {person["nik"], person["name"]}
            if birth_dates:
                values.add(person["birth_date"])
    return values


def strings_in(value: Any) -> set[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set(value).union(*(strings_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(strings_in(v) for v in value))
    return set()


PERSONAL_KEYS = ("nik", "kk_number", "name", "birth_date", "address")


def clear_fields(value: Any, path: str = "data") -> list[str]:
    """Where a personal field (or a key that is a NIK) holds anything but a token."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            at = f"{path}.{key}"
            personal = key in PERSONAL_KEYS or key.endswith("_nik")
            if personal and isinstance(item, str) and not item.startswith(PREFIX):
                found.append(at)
            if key.isdigit():
                found.append(at)
            found += clear_fields(item, at)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += clear_fields(item, f"{path}[{i}]")
    return found


def assert_no_clear_personal_data(notification: Notification, message: bytes, personal: set[str]):
    data = json.loads(message)["data"]
    if protected_topic(notification.topic):  # not programs or staff accounts
        assert not clear_fields(data), f"in clear in an envelope: {clear_fields(data)}"
    clear = strings_in(data) & personal
    assert not clear, f"in clear in an envelope: {sorted(clear)}"
    # Nor inside another string. (Short names are left out: base64 spells any 4 letters now
    # and then; a 10-character value by chance, about never.)
    inside = [v for v in personal if len(v) >= 10 and v.encode() in message]
    assert not inside, f"in clear in an envelope: {sorted(inside)}"


def all_notifications(app: Casework) -> list[Notification]:
    notifications: list[Notification] = []
    while batch := app.recorder.select_notifications(
        notifications[-1].id if notifications else 0, 500, inclusive_of_start=False
    ):
        notifications.extend(batch)
    return notifications


def mapper_message(app: Casework, notification: Notification) -> tuple:
    """What the relay sent before the fast path existed."""
    envelope = wire.from_notification(app, notification, TENANT)
    return envelope["stream_id"].encode(), wire.encode(envelope), wire.headers(envelope)


def assert_same(app: Casework, encoder: EnvelopeEncoder, notification: Notification) -> None:
    assert encoder.message(notification) == mapper_message(app, notification)
    assert encoder.envelope(notification) == wire.from_notification(app, notification, TENANT)


@pytest.fixture(scope="module")
def stored() -> tuple[Casework, Casework, list[Notification]]:
    """(writer, the relay's reader, every stored notification) of 120 families."""
    writer, reader = writer_and_reader()
    register_families(writer, 60, seed=7)
    register_families(writer, 60, seed=8)
    notifications = all_notifications(writer)
    assert len(notifications) >= 300
    return writer, reader, notifications


@pytest.fixture(scope="module")
def seeded(stored) -> tuple[Casework, list[Notification]]:
    _, reader, notifications = stored
    return reader, notifications


def test_every_seeded_event_is_identical_and_takes_the_fast_path(seeded):
    app, notifications = seeded
    encoder = EnvelopeEncoder(app, TENANT)
    for notification in notifications:
        assert_same(app, encoder, notification)
    assert encoder.capable
    assert encoder.mapper_count == 0
    types = Counter(json.loads(encoder.message(n)[1])["type"] for n in notifications)
    assert set(types) >= {"HouseholdRegistered", "MemberAdded", "KkClaimed", "NikClaimed"}


def test_what_tracking_needs_is_the_envelopes_own_without_decoding_the_state(seeded):
    """A rebuild tracks the events no view of its process reads from the frame alone
    (`tracked`): the same stream, version, position, types and recording time as the whole
    envelope's."""
    app, notifications = seeded
    encoder = EnvelopeEncoder(app, TENANT)
    fields = ("stream_id", "stream_type", "version", "type", "position", "recorded_at")
    for notification in notifications:
        tracked = encoder.tracked(notification)
        envelope = encoder.envelope(notification)
        assert tracked == {**{f: envelope[f] for f in fields}, "data": {}}
    unknown = restated(notifications[0], lambda state: state)
    unknown = replace(unknown, topic="nowhere:Nothing")
    assert encoder.tracked(unknown) is None  # the mapper path tells what is wrong with it


def test_a_number_beyond_64_bits_travels_exactly(seeded):
    """orjson writes the envelopes but takes no integer beyond 64 bits (and would read one as
    a float): such a number, which a command's `expected_version` may carry into a request
    kept for approval, is written by `json` and read back exactly."""
    app, notifications = seeded
    envelope = EnvelopeEncoder(app, TENANT).envelope(notifications[0])
    envelope["data"] = {**envelope["data"], "expected_version": 10**30}
    assert wire.decode(wire.encode(envelope)) == envelope


def test_envelopes_carry_tokens_and_no_personal_data_in_clear(stored):
    writer, reader, notifications = stored
    families = [*generate_households(60, 7), *generate_households(60, 8)]
    personal = personal_values(families)
    encoder = EnvelopeEncoder(reader, TENANT)
    registered = 0
    for notification in notifications:
        _, value, _ = encoder.message(notification)
        assert_no_clear_personal_data(notification, value, personal)
        envelope = encoder.envelope(notification)
        # The tokens are exactly what the writer stored: revealed, they are its own events.
        revealed = writer.codec.reveal(envelope["data"])
        assert revealed == wire.from_notification(writer, notification, TENANT)["data"]
        if envelope["type"] == "HouseholdRegistered":
            data = envelope["data"]
            for token in (data["kk_number"], data["address"], data["head"]["nik"]):
                assert token.startswith(PREFIX)
            assert revealed["kk_number"] in personal and revealed["head"]["nik"] in personal
            registered += 1
    assert registered == len(families)


def test_every_event_of_seeded_histories_is_identical():
    writer, app = writer_and_reader()
    seed_app(writer, 40, seed_value=5)
    notifications = all_notifications(writer)
    encoder = EnvelopeEncoder(app, TENANT)
    personal = personal_values(list(generate_households(40, 5)), birth_dates=False)
    for notification in notifications:
        assert encoder.message(notification) == mapper_message(app, notification)
        assert_no_clear_personal_data(notification, encoder.message(notification)[1], personal)
    types = {n.topic.rpartition(".")[2] for n in notifications}
    assert len(types) >= 10, types
    assert encoder.fast_count > len(notifications) // 2


def test_event_ids_match_uuid5():
    rng = random.Random(3)
    for version in [*range(1, 300), 10**6, 2**40]:
        stream_id = uuid.UUID(int=rng.getrandbits(128))
        assert wire._fast_event_id(stream_id, version) == event_id(stream_id, version)


@pytest.mark.parametrize(
    "iso",
    [
        "2026-11-27T23:59:53.257324+00:00",
        "2026-11-27T23:59:53+00:00",  # no microseconds
        "2026-11-27T23:59:53.000001+07:00",  # another offset
        "2026-11-27T23:59:53.257324-03:30",
        "2026-12-31T23:59:59.999999-01:00",  # another day in UTC
    ],
)
def test_times_are_written_as_rfc3339_does(iso):
    typed = {"_type_": "datetime_iso", "_data_": iso}
    assert wire._typed_text(typed) == wire.rfc3339(dt.datetime.fromisoformat(iso))


@pytest.mark.parametrize(
    "raw", ["6ebcf1ddaa424815b881c04e827785a4", "6EBCF1DDAA424815B881C04E827785A4"]
)
def test_uuids_are_written_as_str_does(raw):
    assert wire._typed_text({"_type_": "uuid_hex", "_data_": raw}) == str(uuid.UUID(raw))


def restated(notification: Notification, change) -> Notification:
    """The notification with its stored JSON changed by `change(state)`."""
    state = json.loads(notification.state)
    change(state)
    stored = json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode()
    return replace(notification, state=stored)


def first(notifications: list[Notification], event_type: str) -> Notification:
    return next(n for n in notifications if n.topic.endswith(f".{event_type}"))


def nested_uuid(state: dict[str, Any]) -> None:
    state["person"]["ref"] = {"_type_": "uuid_hex", "_data_": uuid.uuid4().hex}


def nested_time(state: dict[str, Any]) -> None:
    state["person"]["seen"] = {"_type_": "datetime_iso", "_data_": "2026-01-02T03:04:05+07:00"}


def escaped_text(state: dict[str, Any]) -> None:
    state["person"]["name"] = 'Siti "Ani" \\ Nur\tAini\u0001'


def non_ascii_text(state: dict[str, Any]) -> None:
    state["person"]["name"] = "Ñoño Señorita 李"


def meta_defaults(state: dict[str, Any]) -> None:
    state["meta"] = {"reason": "moved"}  # no actor, source, occurred_at or schema_version


def meta_falsy(state: dict[str, Any]) -> None:
    state["meta"].update(actor=None, source="", occurred_at=None, schema_version=2)


def no_meta(state: dict[str, Any]) -> None:
    del state["meta"]


def local_time(state: dict[str, Any]) -> None:
    state["timestamp"]["_data_"] = "2026-11-28T06:59:53.257324+07:00"


def typed_key_text(state: dict[str, Any]) -> None:
    state["relationship"] = "_type_"


def type_without_data(state: dict[str, Any]) -> None:
    state["extra"] = {"_type_": "uuid_hex", "other": 1}


def numbers(state: dict[str, Any]) -> None:
    state["extra"] = [1, 2.5, -0.0, 1e300, True, None, {"a": []}]


CHANGES = [
    nested_uuid,
    nested_time,
    escaped_text,
    non_ascii_text,
    meta_defaults,
    meta_falsy,
    no_meta,
    local_time,
    typed_key_text,
    type_without_data,
    numbers,
]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
def test_unusual_stored_json_gives_the_same_message(seeded, change):
    app, notifications = seeded
    encoder = EnvelopeEncoder(app, TENANT)
    assert_same(app, encoder, restated(first(notifications, "MemberAdded"), change))


def test_fast_path_leaves_what_it_does_not_know_to_the_mapper(seeded):
    app, notifications = seeded
    encoder = EnvelopeEncoder(app, TENANT)
    claim = first(notifications, "NikClaimed")
    unknown = [
        restated(first(notifications, "MemberAdded"), nested_uuid),
        restated(first(notifications, "MemberAdded"), escaped_text),
        restated(first(notifications, "MemberAdded"), no_meta),
        restated(claim, lambda s: s.update(class_version=3)),  # newer than the code
    ]
    for notification in unknown:
        assert encoder._parts(notification) is None
        assert_same(app, encoder, notification)
    assert encoder.mapper_count == 2 * len(unknown)  # message() and envelope() each


class DateAsISO(Transcoding):
    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class CaseworkWithDates(Casework):
    def register_transcodings(self, transcoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


def test_transcodings_the_fast_path_does_not_know_fall_back(seeded):
    _, notifications = seeded
    app = CaseworkWithDates(env=POPO)
    encoder = EnvelopeEncoder(app, TENANT)
    assert encoder.capable  # UUIDs and datetimes are still the standard ones
    top = restated(
        first(notifications, "MemberAdded"),
        lambda s: s.update(moved_on={"_type_": "date_iso", "_data_": "2025-02-03"}),
    )
    nested = restated(
        first(notifications, "MemberAdded"),
        lambda s: s["person"].update(birth_date={"_type_": "date_iso", "_data_": "1986-12-09"}),
    )
    for notification in (top, nested):
        assert_same(app, encoder, notification)
    assert encoder.mapper_count == 4
    assert json.loads(encoder.message(top)[1])["data"]["moved_on"] == "2025-02-03"


def test_unknown_transcoding_fails_as_the_mapper_does(seeded):
    app, notifications = seeded
    encoder = EnvelopeEncoder(app, TENANT)
    bad = restated(
        first(notifications, "MemberAdded"),
        lambda s: s.update(moved_on={"_type_": "no_such_type", "_data_": "x"}),
    )
    with pytest.raises(Exception) as by_mapper:
        mapper_message(app, bad)
    with pytest.raises(type(by_mapper.value)):
        encoder.message(bad)


def test_unknown_topic_fails_as_the_mapper_does(seeded):
    app, notifications = seeded
    encoder = EnvelopeEncoder(app, TENANT)
    bad = replace(notifications[0], topic="domain.household:Household.NoSuchEvent")
    with pytest.raises(Exception) as by_mapper:
        mapper_message(app, bad)
    with pytest.raises(type(by_mapper.value)):
        encoder.message(bad)


class ReversingCipher(Cipher):
    """Not a cipher at all: enough to show the fast path steps aside when there is one."""

    def __init__(self, environment: Environment) -> None:
        pass

    def encrypt(self, plaintext: bytes) -> bytes:
        return plaintext[::-1]

    def decrypt(self, ciphertext: bytes) -> bytes:
        return ciphertext[::-1]


STORE_OPTIONS = pytest.mark.parametrize(
    "env",
    [
        {"COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"},
        {"CIPHER_TOPIC": f"{__name__}:ReversingCipher"},
    ],
    ids=["compressor", "cipher"],
)


@STORE_OPTIONS
def test_a_cipher_or_compressor_means_the_mapper_path(env):
    app = Casework(env={**POPO, **env})  # the relay's reader, storing too
    register_families(app, 10, seed=9)
    notifications = all_notifications(app)
    encoder = EnvelopeEncoder(app, TENANT)
    assert not encoder.capable
    for notification in notifications:
        assert_same(app, encoder, notification)
    assert encoder.mapper_count == 2 * len(notifications)
    assert encoder.fast_count == 0


@STORE_OPTIONS
def test_the_relays_reader_reads_what_an_encrypting_writer_stored_with_a_cipher_or_compressor(
    env,
):
    writer, app = writer_and_reader({**POPO, **env})
    register_families(writer, 10, seed=9)
    notifications = all_notifications(writer)
    encoder = EnvelopeEncoder(app, TENANT)
    for notification in notifications:
        assert_same(app, encoder, notification)
        revealed = writer.codec.reveal(encoder.envelope(notification)["data"])
        assert revealed == wire.from_notification(writer, notification, TENANT)["data"]


class Sample(Aggregate):
    """An aggregate whose creation event is at schema version 2."""

    class Started(Aggregate.Created):
        class_version = 2
        note: str
        meta: dict

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["note"] = "(none)"

    @event(Started)
    def __init__(self, note: str, meta: dict) -> None:
        self.note = note


def test_current_schema_versions_are_fast_and_older_ones_are_upcast():
    writer, app = writer_and_reader()
    writer.save(Sample(note="hello", meta=make_meta(SYSTEM, "api")))
    [current] = all_notifications(writer)
    assert b'"class_version":2' in current.state
    assert b"hello" not in current.state  # a note is personal data: stored as a token
    encoder = EnvelopeEncoder(app, TENANT)
    assert_same(app, encoder, current)
    assert encoder.mapper_count == 0
    note = encoder.envelope(current)["data"]["note"]
    assert note.startswith(PREFIX) and writer.codec.reveal(note) == "hello"
    older = restated(current, lambda s: [s.pop("class_version"), s.pop("note")])
    assert_same(app, encoder, older)
    assert encoder.mapper_count == 2
    assert json.loads(encoder.message(older)[1])["data"] == {"note": "(none)"}


def test_the_envelope_worker_sends_what_the_reader_builds(tmp_path):
    """The relay's child process gives the same messages, in order, across seeks and restarts."""
    store = DatabaseUrl.parse(f"sqlite:///{tmp_path}/store.db", "CASEWORK_STORE")
    app = open_casework(store, bytes(32))
    register_families(app, 40, seed=4)
    relays_app = open_store_reader(store)
    reader = StoreReader(relays_app, TENANT, read_size=64)
    expected = []
    while chunk := reader.take(100):
        expected.extend(chunk)
    relays_app.close()
    assert [m[0] for m in expected] == [n.id for n in all_notifications(app)]
    personal = personal_values(list(generate_households(40, 4)))
    for notification, (_, _, value, _) in zip(all_notifications(app), expected, strict=True):
        assert_no_clear_personal_data(notification, value, personal)
    worker = EnvelopeWorker(store, TENANT, chunk_size=50, read_size=64)
    try:
        worker.seek(0)
        got = []
        while chunk := worker.take(30):
            got.extend(chunk)
        assert got == expected
        worker.seek(expected[99][0])
        assert worker.take(10) == expected[100:110]
        worker.close()  # a new process continues where the relay asks
        worker.seek(expected[9][0])
        assert worker.take(200) == expected[10:60]  # at most one chunk at a time
        register_families(app, 1, seed=5)  # stored after the worker read the end
        worker.seek(expected[-1][0])
        added = [n.id for n in all_notifications(app) if n.id > expected[-1][0]]
        assert [m[0] for m in worker.take(100)] == added
    finally:
        worker.close()
        app.close()
