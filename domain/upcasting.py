"""Schema versions of stored events, and the upcasters that bring old ones up to date.

Events are stored forever, so an event type's data can only change by adding a new schema
version. The `eventsourcing` mapper does the work: an event class with `class_version = N`
stores `"class_version": N` in its state, and on loading it calls the class's static methods
`upcast_v1_v2`, `upcast_v2_v3`, ... on the stored state of anything older (an event stored
without `class_version` is version 1). Snapshots work the same way through the aggregate
class's own `class_version`, so an aggregate whose *state* changes shape needs an upcaster
too, or its old snapshots would load with the old shape.

Every event's `meta.schema_version` says which version its data follows (the envelope on
`casework.events.v1` reports it). `SchemaVersioned` stamps it from `class_version` when an
event is created, and each upcaster stamps the version it produces, so a loaded event always
reports the shape its data now has. Consumers that read `data` decide by that field.

How to change an event type's data (the rules, not a framework):
- Add fields only; never rename or remove one (the contract says so). A new field's value for
  old events must be derivable from the old state alone (usually None: "not recorded then").
- Declare the event class explicitly (`class WelfareAssessed(SchemaVersioned,
  Aggregate.Event)`), raise `class_version`, add `upcast_vN_vM = staticmethod(...)` pointing
  to a pure function here, and decorate the method with `@event(WelfareAssessed)`.
- If the aggregate's state changes shape, raise the aggregate's `class_version` and give it
  an upcaster for its snapshot state as well.
- `missing_upcasters(cls)` lists what a versioned class lacks; a unit test runs it on every
  event and aggregate class.

The changes so far:
- BenefitReviewOpened v2: `review_id` (derived from the event's version, so old events get
  the same id) and `trigger` (the event id that opened it; None before v2). Household v3
  keeps them, with `overdue` and `decision`, on each review (old snapshots: review_id None).
- WelfareAssessed v2: `kk_number`, the KK number the family held when it was assessed
  (DTSEN ranks families, and a family left behind by a new head gets a new KK number).
  Events stored before v2 did not record it: None. Household v2 keeps it on each assessment.
- Household v4 keeps `relationships_to_review`: the active members whose relationship a
  ChangeHead did not restate (still relative to the former head). A v3 snapshot did not keep
  them: none (a replay from the events flags them again).
- Household v5 keeps `married_since`: from which day the KK showed each member married (a
  spouse or menantu, or a head with a spouse), for IssueKtp's age rule on the issue date. A v4
  snapshot did not keep it: whoever it shows married is married since a day not known (None).
- MemberCorrected v2: `relationship`, the member's relationship to the head corrected
  (CorrectMember). A v1 event corrected only name, birth date or sex: None.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from eventsourcing.domain import DomainEvent

# event type (or aggregate class name, for snapshots) -> its current schema version;
# anything not listed is version 1
SCHEMA_VERSIONS: dict[str, int] = {
    "WelfareAssessed": 2,
    "Household": 5,
    "BenefitReviewOpened": 2,
    "MemberCorrected": 2,
}


class SchemaVersioned:
    """Mix into an event class: its `meta.schema_version` is its `class_version`."""

    class_version = 1

    def __post_init__(self) -> None:
        meta = getattr(self, "meta", None)
        if isinstance(meta, dict) and meta.get("schema_version") != self.class_version:
            # events are frozen dataclasses; a new dict leaves the caller's meta alone
            object.__setattr__(self, "meta", {**meta, "schema_version": self.class_version})


def stamp_schema(state: dict[str, Any], version: int) -> None:
    """Say in a stored event's meta which schema version its data now follows."""
    meta = state.get("meta")
    if isinstance(meta, dict):
        state["meta"] = {**meta, "schema_version": version}


# --- the upcasters (pure functions of the stored state, changed in place) -------------------


def welfare_assessed_v1_v2(state: dict[str, Any]) -> None:
    """WelfareAssessed v1 -> v2: the assessed KK number was not recorded."""
    state.setdefault("kk_number", None)
    stamp_schema(state, 2)


def member_corrected_v1_v2(state: dict[str, Any]) -> None:
    """MemberCorrected v1 -> v2: a v1 correction never changed the relationship."""
    state.setdefault("relationship", None)
    stamp_schema(state, 2)


def household_v1_v2(state: dict[str, Any]) -> None:
    """A Household snapshot v1 -> v2: each assessment gains `kk_number` (None: unknown)."""
    for record in state.get("assessments") or []:
        record.setdefault("kk_number", None)


def benefit_review_opened_v1_v2(state: dict[str, Any]) -> None:
    """BenefitReviewOpened v1 -> v2: `review_id` is the id derived from the event's own
    version (as v2 derives it); `trigger` was not recorded."""
    household_id = uuid.UUID(str(state["originator_id"]))
    version = state["originator_version"]
    state.setdefault("review_id", str(uuid.uuid5(household_id, f"review:{version}")))
    state.setdefault("trigger", None)
    stamp_schema(state, 2)


def household_v2_v3(state: dict[str, Any]) -> None:
    """A Household snapshot v2 -> v3: each benefit review gains `review_id` (unknown: None),
    `overdue`, `decision` and `trigger`."""
    for benefit in (state.get("benefits") or {}).values():
        for review in benefit.get("reviews") or []:
            review.setdefault("review_id", None)
            review.setdefault("overdue", False)
            review.setdefault("decision", None)
            review.setdefault("trigger", None)


def household_v3_v4(state: dict[str, Any]) -> None:
    """A Household snapshot v3 -> v4: no relationship was kept for review."""
    state.setdefault("relationships_to_review", [])


def household_v4_v5(state: dict[str, Any]) -> None:
    """A Household snapshot v4 -> v5: the members it shows married (a spouse or menantu, or
    the head with an active spouse) are married since a day not known (None)."""
    if "married_since" in state:
        return
    members = state.get("members") or {}
    married: dict[str, None] = {
        nik: None
        for nik, member in members.items()
        if member.get("relationship") in ("istri", "suami", "menantu")
    }
    head = state.get("head_nik")
    if head in members and any(
        m.get("relationship") in ("istri", "suami") and m.get("status") == "active"
        for m in members.values()
    ):
        married[head] = None
    state["married_since"] = married


# --- checking the chains -------------------------------------------------------------------


def missing_upcasters(cls: type) -> list[str]:
    """The `upcast_vN_vM` methods a class with `class_version` > 1 lacks (empty when whole)."""
    version = getattr(cls, "class_version", 1)
    return [
        f"upcast_v{n}_v{n + 1}"
        for n in range(1, version)
        if not callable(getattr(cls, f"upcast_v{n}_v{n + 1}", None))
    ]


def versioned_classes(aggregate_cls: type) -> Iterator[type]:
    """The aggregate class and every event class declared on it."""
    yield aggregate_cls
    for value in vars(aggregate_cls).values():
        if isinstance(value, type) and issubclass(value, DomainEvent):
            yield value
