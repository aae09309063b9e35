"""The envelope every event travels in on `casework.events.v1` (contract v1)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    Notification,
    UUIDAsHex,
)
from eventsourcing.utils import get_topic, resolve_topic

from domain.application import event_id

EVENT_FRAME = ("originator_id", "originator_version", "timestamp", "originator_topic", "meta")
REQUIRED = (
    "event_id",
    "tenant",
    "position",
    "stream_id",
    "stream_type",
    "version",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "actor",
    "data",
)


class BadMessage(ValueError):
    """A message that is not a valid envelope."""


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """An event's value as JSON-ready data: UUIDs, datetimes and dates as text."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    return value


def from_notification(
    app: Application, notification: Notification, tenant: str, *, sealed: bool = False
) -> dict[str, Any]:
    """The envelope of one stored event. `sealed`: with its personal fields as stored,
    encrypted, as the relay publishes it, even when the application's mapper would reveal
    them (readers then open it with `projections.base.reveal`)."""
    if sealed:
        event = Mapper.to_domain_event(app.mapper, notification)  # the library's, no reveal
    else:
        event = app.mapper.to_domain_event(notification)
    meta = getattr(event, "meta", None) or {}
    stream_type, _, event_type = get_topic(type(event)).split(":", 1)[1].rpartition(".")
    data = {k: plain(v) for k, v in event.__dict__.items() if k not in EVENT_FRAME}
    return {
        "event_id": event_id(event.originator_id, event.originator_version),
        "tenant": tenant,
        "position": notification.id,
        "stream_id": str(event.originator_id),
        "stream_type": stream_type,
        "version": event.originator_version,
        "type": event_type,
        "schema_version": meta.get("schema_version", 1),
        "occurred_at": meta.get("occurred_at") or rfc3339(event.timestamp),
        "recorded_at": rfc3339(event.timestamp),
        "actor": meta.get("actor") or {"id": "system", "role": "admin", "opd": None},
        "reason": meta.get("reason"),
        "source": meta.get("source") or "api",
        "data": data,
    }


# The same text as orjson's, for what orjson does not take (an integer beyond 64 bits).
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode(envelope: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (orjson: about five times `json`'s speed on an agency's envelope of
    about 550 bytes, a tenth of the agency producer's time with `json`)."""
    try:
        return orjson.dumps(envelope)
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
        return _COMPACT.encode(envelope).encode()


def headers(envelope: dict[str, Any]) -> list[tuple[str, bytes]]:
    return [("type", envelope["type"].encode()), ("position", str(envelope["position"]).encode())]


def decode(value: bytes | None) -> dict[str, Any]:
    """Parse and check a message value; raises BadMessage naming what is wrong."""
    if value is None:
        raise BadMessage("empty message value")
    try:
        # `json`, not orjson: orjson reads an integer beyond 64 bits as a float, silently
        envelope = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadMessage(f"not JSON: {error.msg if hasattr(error, 'msg') else error}") from None
    if not isinstance(envelope, dict):
        raise BadMessage("envelope is not a JSON object")
    missing = [name for name in REQUIRED if name not in envelope]
    if missing:
        raise BadMessage(f"envelope lacks {', '.join(missing)}")
    if not isinstance(envelope["position"], int) or not isinstance(envelope["version"], int):
        raise BadMessage("position and version must be integers")
    if not isinstance(envelope["data"], dict):
        raise BadMessage("data must be an object")
    return envelope


# --- the fast path -------------------------------------------------------------------------
#
# `from_notification` turns the stored JSON into a domain event object (the mapper) and then
# back into plain JSON. For the stored events we know, `EnvelopeEncoder` builds the envelope
# straight from the stored JSON instead, byte for byte as `encode(from_notification(...))`,
# and leaves anything it does not recognise to the mapper path: a cipher or compressor, another
# mapper or transcoder, transcoded types other than UUIDs and datetimes or transcoded values
# below the top level, upcasting, an unknown topic, a missing `meta` or `timestamp`.
# It reads the stored JSON as eventsourcing's JSONTranscoder writes it (`{"_type_": ...,
# "_data_": ...}` for transcoded values): eventsourcing is pinned to the exact version this
# was written against (pyproject.toml; tests/unit/test_recorder.py checks the pin), and
# tests/unit/test_envelope.py checks both paths give the same bytes.

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_FRAME = frozenset(EVENT_FRAME)
_TYPED = b'"_type_"'  # how a transcoded value starts; only a key or a string can contain it
# The stored JSON's first key, as the transcoder writes it: when the event was recorded
_RECORDED = re.compile(rb'\{"timestamp":\{"_type_":"datetime_iso","_data_":"([^"\\]{1,40})"\}')
_ISO_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


_json = _ENCODER.encode


def _fast_event_id(stream_id: uuid.UUID, version: int) -> str:
    """`event_id`, a uuid5, without building UUID objects."""
    h = hashlib.sha1(stream_id.bytes + str(version).encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def _time_text(raw: str) -> str:
    """rfc3339() of what DatetimeAsISO decodes (ValueError when it cannot)."""
    moment = dt.datetime.fromisoformat(raw)
    if _ISO_UTC.fullmatch(raw):
        return raw[:26] + "Z"  # UTC with microseconds: rfc3339 only writes the zone as Z
    return rfc3339(moment)


def _typed_text(value: dict[str, Any]) -> str | None:
    """The envelope text of a transcoded UUID or datetime (as `plain` writes the decoded
    object), None for anything else. ValueError when the mapper could not decode it either."""
    raw = value.get("_data_")
    if len(value) != 2 or type(raw) is not str:
        return None
    kind = value.get("_type_")
    if kind == "uuid_hex":
        if _HEX32.fullmatch(raw):
            return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
        return str(uuid.UUID(raw))
    if kind == "datetime_iso":
        return _time_text(raw)
    return None


def _fast_capable(app: Application) -> bool:
    """Whether stored events are plain JSONTranscoder output the fast path can read."""
    mapper = app.mapper
    if type(mapper) is not Mapper or mapper.cipher is not None or mapper.compressor is not None:
        return False
    transcoder = mapper.transcoder
    if type(transcoder) is not JSONTranscoder:
        return False
    uuids, times = transcoder.names.get("uuid_hex"), transcoder.names.get("datetime_iso")
    return type(uuids) is UUIDAsHex and type(times) is DatetimeAsISO


@dataclass(frozen=True)
class _EventType:
    """What the envelope says about one stored event topic, some of it JSON-encoded already."""

    stream_type: str
    type: str
    class_version: Any
    stream_type_json: str
    type_json: str
    type_header: bytes


class EnvelopeEncoder:
    """Stored events as messages (key, value, headers): exactly what `from_notification`,
    `encode` and `headers` give, but built straight from the stored JSON when possible."""

    def __init__(self, app: Application, tenant: str) -> None:
        self.app = app
        self.tenant = tenant
        self.capable = _fast_capable(app)
        self._tenant_json = _ENCODER.encode(tenant)
        self._types: dict[str, _EventType | None] = {}
        self.fast_count = 0
        self.mapper_count = 0

    def message(self, notification: Notification) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        parts = self._parts(notification) if self.capable else None
        if parts is None:
            self.mapper_count += 1
            envelope = from_notification(self.app, notification, self.tenant)
            return envelope["stream_id"].encode(), encode(envelope), headers(envelope)
        self.fast_count += 1
        kind, event_id, stream_id, position, version, rest = parts
        # A JSON object is its members joined by commas: the frame is written here, the rest
        # (everything from schema_version on) by the JSON encoder, minus its opening brace.
        value = (
            f'{{"event_id":"{event_id}","tenant":{self._tenant_json},"position":{position},'
            f'"stream_id":"{stream_id}","stream_type":{kind.stream_type_json},'
            f'"version":{version},"type":{kind.type_json},'
        ) + _json(rest)[1:]
        header = [("type", kind.type_header), ("position", str(position).encode())]
        return stream_id.encode(), value.encode(), header

    def envelope(self, notification: Notification) -> dict[str, Any]:
        """The envelope as a dict: the fast path's when it applies, else `from_notification`'s."""
        parts = self._parts(notification) if self.capable else None
        if parts is None:
            self.mapper_count += 1
            return from_notification(self.app, notification, self.tenant)
        self.fast_count += 1
        kind, event_id, stream_id, position, version, rest = parts
        return {
            "event_id": event_id,
            "tenant": self.tenant,
            "position": position,
            "stream_id": stream_id,
            "stream_type": kind.stream_type,
            "version": version,
            "type": kind.type,
            **rest,
        }

    def tracked(self, notification: Notification) -> dict[str, Any] | None:
        """What a view's tracking needs of a stored event whose data it does not read: its
        stream, version, position, type and when it was recorded, from the stored frame
        alone (the state is not decoded: the time is its first key); None where only the
        whole envelope will do (`envelope`)."""
        if not self.capable or type(notification.originator_id) is not uuid.UUID:
            return None
        kind = self._event_type(notification.topic)
        stored = notification.state
        if kind is None or type(stored) is not bytes:
            return None
        found = _RECORDED.match(stored)
        if found is None:
            return None
        try:
            recorded = _time_text(found.group(1).decode("ascii"))
        except ValueError:
            return None
        return {
            "stream_id": str(notification.originator_id),
            "stream_type": kind.stream_type,
            "version": notification.originator_version,
            "type": kind.type,
            "position": notification.id,
            "recorded_at": recorded,
            "data": {},
        }

    def _event_type(self, topic: str) -> _EventType | None:
        try:
            return self._types[topic]
        except KeyError:
            pass
        kind = None
        try:
            cls = resolve_topic(topic)
        except Exception:  # noqa: BLE001 - an unknown topic: the mapper path reports it
            cls = None
        if isinstance(cls, type):
            stream_type, _, event_type = get_topic(cls).split(":", 1)[1].rpartition(".")
            kind = _EventType(
                stream_type,
                event_type,
                getattr(cls, "class_version", 1),
                _ENCODER.encode(stream_type),
                _ENCODER.encode(event_type),
                event_type.encode(),
            )
        self._types[topic] = kind
        return kind

    def _parts(
        self, notification: Notification
    ) -> tuple[_EventType, str, str, int, int, dict[str, Any]] | None:
        """The envelope's pieces from the stored JSON, or None where the mapper must do it."""
        stream_id, version, position = (
            notification.originator_id,
            notification.originator_version,
            notification.id,
        )
        if (
            type(stream_id) is not uuid.UUID
            or type(version) is not int
            or type(position) is not int
        ):
            return None
        kind = self._event_type(notification.topic)
        stored = notification.state
        if kind is None or type(stored) is not bytes:
            return None
        try:
            if b"\\" in stored:
                return None  # escapes could spell a "_type_" key the count below would miss
            state = orjson.loads(stored)  # one JSON document in UTF-8, or a ValueError
            if type(state) is not dict:
                return None
            # The mapper upcasts older versions; the current one it only drops from the data.
            if state.pop("class_version", 1) != kind.class_version:
                return None
            meta, timestamp = state.get("meta"), state.get("timestamp")
            if type(meta) is not dict or type(timestamp) is not dict or len(timestamp) != 2:
                return None
            recorded = timestamp.get("_data_")
            if timestamp.get("_type_") != "datetime_iso" or type(recorded) is not str:
                return None
            recorded = _time_text(recorded)
            data = {k: v for k, v in state.items() if k not in _FRAME}
            typed = stored.count(_TYPED) - 1
            if typed:
                for key, value in data.items():
                    if type(value) is dict and "_type_" in value:
                        plain = _typed_text(value)
                        if plain is None:
                            return None
                        data[key] = plain
                        typed -= 1
                if typed:
                    return None  # transcoded values below the top level (or in the frame)
        except ValueError:  # not JSON, or a bad UUID or datetime: the mapper path reports it
            return None
        rest = {
            "schema_version": meta.get("schema_version", 1),
            "occurred_at": meta.get("occurred_at") or recorded,
            "recorded_at": recorded,
            "actor": meta.get("actor") or {"id": "system", "role": "admin", "opd": None},
            "reason": meta.get("reason"),
            "source": meta.get("source") or "api",
            "data": data,
        }
        return kind, _fast_event_id(stream_id, version), str(stream_id), position, version, rest
