"""Every kind of stream the store holds, and the event types each records."""

from __future__ import annotations

import dataclasses

from eventsourcing.utils import get_topic

from domain.accounts import TokenIndex, User
from domain.agreement import AgencyAgreement
from domain.approval import PendingChange, PendingIndex
from domain.homeless import ProvisionalPerson
from domain.household import Household, KkIndex, NikIndex
from domain.program import Program, ProgramCatalog

STREAM_TYPES = (
    Household,
    NikIndex,
    KkIndex,
    ProvisionalPerson,
    Program,
    ProgramCatalog,
    PendingChange,
    PendingIndex,
    User,
    TokenIndex,
    AgencyAgreement,
)

# Streams kept to the system: staff accounts and API tokens (and whatever else the User and
# TokenIndex aggregates record, e.g. sign-in secrets). The relay never publishes their events
# on `casework.events.v1` (it passes over their positions), no view reads them, and the
# store's event count for /healthz leaves them out (`adapters.relay_store.store_counts`).
PRIVATE_STREAM_TYPES = (User, TokenIndex)


PRIVATE_TOPIC_PREFIXES = tuple(f"{get_topic(stream)}." for stream in PRIVATE_STREAM_TYPES)


def is_private_topic(topic: str) -> bool:
    """Whether a stored event's topic (`module:Class.Event`) is of a private stream."""
    return topic.startswith(PRIVATE_TOPIC_PREFIXES)


def event_classes(stream: type) -> dict[str, type]:
    """The event classes of a stream type by event type (the envelope's `type`)."""
    found = {}
    for name in dir(stream):
        value = getattr(stream, name)
        if isinstance(value, type) and dataclasses.is_dataclass(value):
            if issubclass(value, stream.Event) and name not in ("Event", "Created"):
                found[value.__name__] = value
    return found


def event_types() -> dict[str, set[str]]:
    """Each stream type's event types, by the stream type's name."""
    return {stream.__name__: set(event_classes(stream)) for stream in STREAM_TYPES}
