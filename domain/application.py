"""Use cases: each command loads what it needs, calls the aggregate, and saves once."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.errors import Conflict, DomainError, NotFound
from domain.household import Household, KkIndex, NikIndex
from domain.identity import kk_problems, nik_problems

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Actor:
    id: str
    role: str
    opd: str | None = None


SYSTEM = Actor(id="system", role="admin", opd=None)


@dataclass(frozen=True)
class Stored:
    """What a stored command answers: the stream, its new version, and the events' positions."""

    stream_id: str
    version: int
    position: int
    event_ids: list[str]


def make_meta(
    actor: Actor,
    source: str,
    reason: str | None = None,
    occurred_at: str | None = None,
) -> dict[str, Any]:
    return {
        "actor": {"id": actor.id, "role": actor.role, "opd": actor.opd},
        "reason": reason,
        "source": source,
        "occurred_at": occurred_at
        or dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "schema_version": SCHEMA_VERSION,
    }


def _check_person(person: dict[str, Any], field: str) -> None:
    birth_date = dt.date.fromisoformat(person["birth_date"])
    problems = nik_problems(person["nik"], birth_date=birth_date, sex=person["sex"])
    if problems:
        raise DomainError(f"{field}.nik", problems[0].code)


class Casework(Application):
    """The registry of households and everything recorded about them."""

    name = "Casework"
    snapshotting_intervals = {Household: 100}

    def register_household(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        problems = kk_problems(cmd["kk_number"])
        if problems:
            raise DomainError("kk_number", problems[0].code)
        head = cmd["head"]
        _check_person(head, "head")
        household = Household(
            kk_number=cmd["kk_number"],
            kecamatan=cmd["kecamatan"],
            kelurahan=cmd["kelurahan"],
            address=cmd["address"],
            rt=cmd["rt"],
            rw=cmd["rw"],
            head=head,
            meta=meta,
        )
        claims = [
            KkIndex(kk_number=cmd["kk_number"], household_id=household.id, meta=meta),
            NikIndex(nik=head["nik"], household_id=household.id, meta=meta),
        ]
        return self._save(household, claims, unique_field="head.nik")

    def add_member(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self.get_household(cmd["household_id"])
        self._check_expected_version(household, cmd.get("expected_version"))
        _check_person(cmd["person"], "person")
        household.add_member(cmd["person"], cmd["relationship"], meta)
        claim = NikIndex(nik=cmd["person"]["nik"], household_id=household.id, meta=meta)
        return self._save(household, [claim], unique_field="person.nik")

    def get_household(self, household_id: uuid.UUID | str) -> Household:
        try:
            return self.repository.get(uuid.UUID(str(household_id)))
        except (AggregateNotFoundError, ValueError):
            raise NotFound("household_id", "household.not_found") from None

    def household_id_for_nik(self, nik: str) -> uuid.UUID | None:
        try:
            return self.repository.get(NikIndex.create_id(nik)).household_id
        except AggregateNotFoundError:
            return None

    @staticmethod
    def _check_expected_version(household: Household, expected: int | None) -> None:
        if expected is not None and expected != household.version:
            raise Conflict("expected_version", "version.stale")

    def _save(self, aggregate: Household, claims: list, unique_field: str) -> Stored:
        try:
            recordings = self.save(aggregate, *claims)
        except IntegrityError:
            raise self._explain_conflict(aggregate, claims, unique_field) from None
        own = [r for r in recordings if r.domain_event.originator_id == aggregate.id]
        return Stored(
            stream_id=str(aggregate.id),
            version=aggregate.version,
            position=max(r.notification.id for r in own),
            event_ids=[
                event_id(r.domain_event.originator_id, r.domain_event.originator_version)
                for r in own
            ],
        )

    def _explain_conflict(self, aggregate: Household, claims: list, unique_field: str) -> Conflict:
        for claim in claims:
            try:
                self.repository.get(claim.id)
            except AggregateNotFoundError:
                continue
            if isinstance(claim, KkIndex):
                return Conflict("kk_number", "kk.taken")
            return Conflict(unique_field, "nik.taken")
        return Conflict("expected_version", "version.stale")


def event_id(stream_id: uuid.UUID, version: int) -> str:
    """A stable UUID for an event: its stream and version identify it forever."""
    return str(uuid.uuid5(stream_id, str(version)))
