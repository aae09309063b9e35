"""Use cases of a household: membership, identity, business, welfare, benefits, casework."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from domain.errors import DomainError, NotFound
from domain.household import Household, KkIndex, NikIndex
from domain.identity import kk_problems
from domain.use_case import Stored, UseCases, check_person


class HouseholdCases(UseCases):
    def register_household(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        problems = kk_problems(cmd["kk_number"])
        if problems:
            raise DomainError("kk_number", problems[0].code)
        head = cmd["head"]
        check_person(head, "head")
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
        check_person(cmd["person"], "person")
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
