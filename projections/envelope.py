"""The envelope every event travels in on `casework.events.v1` (contract v1)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.application import event_id

_EVENT_FRAME = ("originator_id", "originator_version", "timestamp", "originator_topic", "meta")
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


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def from_notification(app: Application, notification: Notification, tenant: str) -> dict[str, Any]:
    """The envelope of one stored event."""
    event = app.mapper.to_domain_event(notification)
    meta = getattr(event, "meta", None) or {}
    stream_type, _, event_type = get_topic(type(event)).split(":", 1)[1].rpartition(".")
    data = {k: _plain(v) for k, v in event.__dict__.items() if k not in _EVENT_FRAME}
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


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def headers(envelope: dict[str, Any]) -> list[tuple[str, bytes]]:
    return [("type", envelope["type"].encode()), ("position", str(envelope["position"]).encode())]


def decode(value: bytes | None) -> dict[str, Any]:
    """Parse and check a message value; raises BadMessage naming what is wrong."""
    if value is None:
        raise BadMessage("empty message value")
    try:
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
