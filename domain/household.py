"""The household aggregate: a family on one KK and its members.

Every event carries `meta`: who caused it (actor id, role, OPD), why, through
what (source), when it happened in the world (occurred_at) and the version of
its data schema. When it was stored is the event's own timestamp.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, DomainError

RELATIONSHIPS = (
    "istri",
    "suami",
    "anak",
    "menantu",
    "cucu",
    "orang_tua",
    "mertua",
    "famili_lain",
    "lainnya",
)
HEAD = "kepala_keluarga"

_INDEX_NAMESPACE = uuid.UUID("0f3d5c1e-7d55-4c51-9b8e-6a3f1f0b2c71")


def person_record(person: dict[str, Any], relationship: str) -> dict[str, Any]:
    return {
        "nik": person["nik"],
        "name": person["name"],
        "birth_date": person["birth_date"],
        "sex": person["sex"],
        "relationship": relationship,
        "status": "active",
    }


class Household(Aggregate):
    """A family on one KK (Kartu Keluarga), with its members keyed by NIK."""

    @event("HouseholdRegistered")
    def __init__(
        self,
        kk_number: str,
        kecamatan: str,
        kelurahan: str,
        address: str,
        rt: str,
        rw: str,
        head: dict[str, Any],
        meta: dict[str, Any],
    ) -> None:
        self.kk_number = kk_number
        self.kecamatan = kecamatan
        self.kelurahan = kelurahan
        self.address = address
        self.rt = rt
        self.rw = rw
        self.members: dict[str, dict[str, Any]] = {head["nik"]: person_record(head, HEAD)}

    def add_member(self, person: dict[str, Any], relationship: str, meta: dict[str, Any]) -> None:
        if relationship not in RELATIONSHIPS:
            raise DomainError("relationship", "relationship.unknown")
        if person["nik"] in self.members:
            raise Conflict("nik", "nik.already_member")
        self._member_added(person, relationship, meta)

    @event("MemberAdded")
    def _member_added(
        self, person: dict[str, Any], relationship: str, meta: dict[str, Any]
    ) -> None:
        self.members[person["nik"]] = person_record(person, relationship)


class NikIndex(Aggregate):
    """Claims a NIK for one household, so no NIK is registered twice."""

    @staticmethod
    def create_id(nik: str) -> uuid.UUID:
        return uuid.uuid5(_INDEX_NAMESPACE, f"nik:{nik}")

    @event("NikClaimed")
    def __init__(self, nik: str, household_id: uuid.UUID, meta: dict[str, Any]) -> None:
        self.household_id = household_id


class KkIndex(Aggregate):
    """Claims a KK number for one household."""

    @staticmethod
    def create_id(kk_number: str) -> uuid.UUID:
        return uuid.uuid5(_INDEX_NAMESPACE, f"kk:{kk_number}")

    @event("KkClaimed")
    def __init__(self, kk_number: str, household_id: uuid.UUID, meta: dict[str, Any]) -> None:
        self.household_id = household_id
