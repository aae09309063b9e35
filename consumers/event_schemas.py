"""Marshmallow schemas of every event's data, derived from the domain's event classes.

Consumers check a message's `data` against the schema of its event type before using it,
so a malformed message is parked in the DLQ instead of corrupting a view. The schemas are
built from the event dataclasses, so a field added to an event is in its schema at once
(NikIndex and KkIndex claims carry the keyed hash `nik_key` / `kk_key`, never the number).

The data checked is the revealed data (`projections.base.reveal`): clear values, or the
erasure markers of an erased person, which fit every field (a field erased is as if absent:
`ERASED` for text, None for a date, `erased:<subject>` for an identifier).
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from adapters.codec import ERASED
from domain.streams import STREAM_TYPES, event_classes

# Fields every stored event has; the envelope carries them outside `data`.
FRAME = {"originator_id", "originator_version", "timestamp", "originator_topic", "meta"}

_SIMPLE = {
    "str": fields.String,
    "int": lambda **kw: fields.Integer(strict=True, **kw),
    "float": fields.Float,
    "bool": fields.Boolean,
    "UUID": fields.UUID,
    "uuid.UUID": fields.UUID,
}


def field_for(annotation: str) -> fields.Field:
    """A marshmallow field for a dataclass field's (string) annotation."""
    parts = [p.strip() for p in annotation.split("|")]
    optional = "None" in parts
    base = next((p for p in parts if p != "None"), "Any")
    # Null is let through: optional command fields arrive as None whatever the annotation says.
    options: dict[str, Any] = {"required": not optional, "allow_none": True}
    if base in _SIMPLE:
        return _SIMPLE[base](**options)
    if base.startswith("dict"):
        return fields.Dict(**options)
    if base.startswith(("list", "tuple")):
        return fields.List(fields.Raw(allow_none=True), **options)
    return fields.Raw(**options)


@cache
def schemas() -> dict[tuple[str, str], Schema]:
    """The data schema of every event, by (stream type, event type)."""
    built: dict[tuple[str, str], Schema] = {}
    for stream in STREAM_TYPES:
        for name, event_class in event_classes(stream).items():
            declared = {
                f.name: field_for(str(f.type))
                for f in dataclasses.fields(event_class)
                if f.name not in FRAME
            }
            schema_class = Schema.from_dict(declared, name=f"{stream.__name__}{name}Data")
            built[(stream.__name__, name)] = schema_class(unknown=EXCLUDE)
    return built


def data_errors(envelope: dict[str, Any]) -> dict[str, Any]:
    """What is wrong with an envelope's data ({} when it is valid or its type is unknown here:
    a newer producer's events are left to the consumers that know them)."""
    schema = schemas().get((envelope["stream_type"], envelope["type"]))
    if schema is None:
        return {}
    try:
        schema.load(_unmarked(envelope["data"]))
    except ValidationError as error:
        return error.normalized_messages()
    return {}


def _unmarked(data: Any) -> Any:
    """The data with erased values as None (a number or a flag erased reveals as ERASED)."""
    if not isinstance(data, dict):
        return data
    return {key: None if value == ERASED else value for key, value in data.items()}
