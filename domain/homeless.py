"""A provisional person: someone without papers (often homeless, a gelandangan), registered
under a random id so casework can start before a NIK is known (Permendagri 108/2019).

When the person's NIK is found, LinkIdentity records IdentityLinked here and
ProvisionalIdentityLinked in the household, so both histories can be joined; nothing of
the provisional history is moved or lost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError
from domain.household import today

SEXES = ("M", "F")
# What a person without papers can be helped with before a NIK is known.
SERVICES = (
    "shelter",  # a night or more in a shelter (panti, rumah singgah)
    "meal",
    "health_check",
    "clothing",
    "transport_home",  # the journey back to their family or home region
    "document_help",  # help to obtain a KTP or KK at Dukcapil
    "counselling",
    "other",
)


class ProvisionalPerson(Aggregate):
    """A person known only by what a caseworker saw and was told (id: uuid4)."""

    @event("HomelessPersonRegistered")
    def __init__(
        self,
        name: str,
        estimated_birth_year: int | None,
        sex: str,
        found_at: str,
        kecamatan: str,
        notes: str | None,
        meta: dict[str, Any],
    ) -> None:
        self.name = name
        self.estimated_birth_year = estimated_birth_year
        self.sex = sex
        self.found_at = found_at
        self.kecamatan = kecamatan
        self.notes = notes
        self.linked_nik: str | None = None
        self.linked_household_id: str | None = None
        self.notes_log: list[dict[str, Any]] = []  # case notes, before and after the NIK
        self.services: list[dict[str, Any]] = []

    @classmethod
    def register(cls, cmd: dict[str, Any], meta: dict[str, Any]) -> ProvisionalPerson:
        name = cmd.get("name")
        if not name or not str(name).strip():
            raise DomainError("name", "value.required")
        if cmd.get("sex") not in SEXES:
            raise DomainError("sex", "sex.invalid")
        year = cmd.get("estimated_birth_year")
        if year is not None and not 1900 <= int(year) <= today().year:
            raise DomainError("estimated_birth_year", "birth_year.out_of_range")
        return cls(
            name=name,
            estimated_birth_year=year,
            sex=cmd["sex"],
            found_at=cmd.get("found_at"),
            kecamatan=cmd.get("kecamatan"),
            notes=cmd.get("notes"),
            meta=meta,
        )

    def link_identity(self, nik: str, household_id: str, meta: dict[str, Any]) -> None:
        if self.linked_nik is not None:
            raise DomainError("person_id", "identity.already_linked")
        self._identity_linked(nik, household_id, meta)

    @event("IdentityLinked")
    def _identity_linked(self, nik: str, household_id: str, meta: dict[str, Any]) -> None:
        self.linked_nik = nik
        self.linked_household_id = household_id

    def add_note(self, text: str, meta: dict[str, Any]) -> None:
        if not text or not text.strip():
            raise DomainError("text", "value.required")
        self._note_added(text, meta)

    @event("PersonNoteAdded")
    def _note_added(self, text: str, meta: dict[str, Any]) -> None:
        self.notes_log.append({"text": text, "occurred_at": meta.get("occurred_at")})

    def record_service(
        self, service: str, delivered_on: str, notes: str | None, meta: dict[str, Any]
    ) -> None:
        if service not in SERVICES:
            raise DomainError("service", "service.unknown")
        if dt.date.fromisoformat(delivered_on) > today():
            raise DomainError("delivered_on", "date.in_future")
        self._service_recorded(service, delivered_on, notes, meta)

    @event("ServiceRecorded")
    def _service_recorded(
        self, service: str, delivered_on: str, notes: str | None, meta: dict[str, Any]
    ) -> None:
        self.services.append({"service": service, "delivered_on": delivered_on, "notes": notes})

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "version": self.version,
            "name": self.name,
            "estimated_birth_year": self.estimated_birth_year,
            "sex": self.sex,
            "found_at": self.found_at,
            "kecamatan": self.kecamatan,
            "notes": self.notes,
            "linked_nik": self.linked_nik,
            "linked_household_id": self.linked_household_id,
            "case_notes": [dict(n) for n in self.notes_log],
            "services": [dict(s) for s in self.services],
        }
