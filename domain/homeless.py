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

from domain.eligibility_rules import benefit_period, overlap_start
from domain.errors import DomainError, NotFound, RulesFailed
from domain.household import (
    BENEFIT_CHANGE_REASONS,
    LATEST_DAY,
    derived_id,
    in_force_after,
    new_benefit,
    status_before,
    today,
    with_change,
)

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


# What GrantProvisionalBenefit and TerminateProvisionalBenefit may answer beyond the codes of
# households and programs (a RulesFailed names the rule, as a refused GrantBenefit does).
ERROR_CODES = (
    "rules.needs_nik",  # the program does not serve people without a NIK
    "benefit.not_found",
    "benefit.terminated",
    "benefit.not_active",
    "benefit.not_suspended",
    "benefit.date_outside_period",
    "benefit.date_before_last_change",
    "reason_code.unknown",
    "period.end_before_start",
    "amount.negative",
    "identity.double_receipt",  # LinkIdentity: the NIK already receives the same program
)


class LinkClash(RulesFailed):
    """LinkIdentity refused (422, field `nik`): a benefit of the person overlaps a benefit
    of the same program the NIK already receives. One of them must end first (terminated with
    reason `double_receipt`); nothing is linked, so neither benefit is lost."""

    def __init__(self, reasons: list[dict]) -> None:
        super().__init__(reasons)
        self.field = "nik"


def needs_nik_reason(program: Any, rules: dict[str, Any]) -> dict[str, Any]:
    """The failing rule of a grant before a NIK by a program that serves only NIK holders."""
    return {
        "rule": "serves_without_nik",
        "rule_version": rules.get("version"),
        "code": "rules.needs_nik",
        "detail": {"program": program.code},
    }


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
        # benefits of programs that serve people without a NIK, by benefit_id (shaped like a
        # household's benefits, with `nik` None until LinkIdentity)
        self.benefits: dict[str, dict[str, Any]] = {}

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

    # ---- benefits before a NIK (programs with `serves_without_nik`) ----------------------

    def grant_benefit(
        self,
        program: Any,
        period_start: str,
        period_end: str,
        amount: int,
        meta: dict[str, Any],
    ) -> str:
        """A benefit of `program` (a Program) before the person's NIK is known; answers the
        new benefit_id. RulesFailed (422, field `program`) when the program, by its rules in
        force on `period_start`, does not serve people without a NIK, or when the person
        already receives it over an overlapping period (double receipt)."""
        if self.linked_nik is not None:
            raise DomainError("person_id", "identity.already_linked")
        start, end = dt.date.fromisoformat(period_start), dt.date.fromisoformat(period_end)
        if end < start:
            raise DomainError("period_end", "period.end_before_start")
        if end > LATEST_DAY:
            raise DomainError("period_end", "date.too_far")
        if amount < 0:
            raise DomainError("amount", "amount.negative")
        rules = program.rules_at(start)
        if rules is None:
            raise DomainError("program", "program.not_in_force")
        reasons = []
        if not rules.get("serves_without_nik"):
            reasons.append(needs_nik_reason(program, rules))
        for benefit in self.benefits.values():
            other = benefit_period(benefit)
            if benefit["program"] != program.code or other is None:
                continue
            if overlap_start((start, end), other) is not None:
                reasons.append(
                    {
                        "rule": "double_receipt",
                        "rule_version": rules.get("version"),
                        "code": "rules.double_receipt",
                        "detail": {
                            "benefit_id": benefit["benefit_id"],
                            "program": benefit["program"],
                            "period_start": other[0].isoformat(),
                            "period_end": other[1].isoformat(),
                        },
                    }
                )
        if reasons:
            raise RulesFailed(reasons)
        benefit_id = derived_id(self.id, "benefit", self.version + 1)
        self._benefit_granted(benefit_id, program.code, period_start, period_end, amount, meta)
        return benefit_id

    @event("ProvisionalBenefitGranted")
    def _benefit_granted(
        self,
        benefit_id: str,
        program: str,
        period_start: str,
        period_end: str,
        amount: int,
        meta: dict[str, Any],
    ) -> None:
        self.benefits[benefit_id] = new_benefit(
            benefit_id, None, program, period_start, period_end, amount
        )

    def benefit(self, benefit_id: str) -> dict[str, Any]:
        try:
            return self.benefits[str(benefit_id)]
        except KeyError:
            raise NotFound("benefit_id", "benefit.not_found") from None

    def _check_change(
        self, benefit_id: str, effective_date: str, reason_code: str | None, meta: dict[str, Any]
    ) -> dict[str, Any]:
        """The benefit a suspension, resumption or termination changes: not terminated, a
        reason code of BENEFIT_CHANGE_REASONS ("other" needs the reason), a date within its
        period and not before a change already in force; the changes still to come after its date
        it replaces (as a household's benefit, `domain.household.with_change`)."""
        benefit = self.benefit(benefit_id)
        if status_before(benefit, effective_date) == "terminated":
            raise DomainError("benefit_id", "benefit.terminated")
        if reason_code not in BENEFIT_CHANGE_REASONS:
            raise DomainError("reason_code", "reason_code.unknown")
        if reason_code == "other" and not (meta.get("reason") or "").strip():
            raise DomainError("reason", "value.required")
        day = dt.date.fromisoformat(effective_date)
        period_start = dt.date.fromisoformat(benefit["period_start"])
        if not period_start <= day <= dt.date.fromisoformat(benefit["period_end"]):
            raise DomainError("effective_date", "benefit.date_outside_period")
        if in_force_after(benefit, day):  # what has taken effect stays
            raise DomainError("effective_date", "benefit.date_before_last_change")
        return benefit

    def suspend_benefit(
        self, benefit_id: str, effective_date: str, reason_code: str | None, meta: dict[str, Any]
    ) -> None:
        """An active benefit pauses from `effective_date` (it still counts as received for
        double receipt, as a household's suspended benefit does)."""
        benefit = self._check_change(benefit_id, effective_date, reason_code, meta)
        if status_before(benefit, effective_date) != "active":
            raise DomainError("benefit_id", "benefit.not_active")
        self._benefit_suspended(benefit["benefit_id"], effective_date, reason_code, meta)

    @event("ProvisionalBenefitSuspended")
    def _benefit_suspended(
        self, benefit_id: str, effective_date: str, reason_code: str, meta: dict[str, Any]
    ) -> None:
        self._set_status(benefit_id, "suspended", effective_date, reason_code, meta)

    def resume_benefit(
        self, benefit_id: str, effective_date: str, reason_code: str | None, meta: dict[str, Any]
    ) -> None:
        """A suspended benefit runs again from `effective_date`."""
        benefit = self._check_change(benefit_id, effective_date, reason_code, meta)
        if status_before(benefit, effective_date) != "suspended":
            raise DomainError("benefit_id", "benefit.not_suspended")
        self._benefit_resumed(benefit["benefit_id"], effective_date, reason_code, meta)

    @event("ProvisionalBenefitResumed")
    def _benefit_resumed(
        self, benefit_id: str, effective_date: str, reason_code: str, meta: dict[str, Any]
    ) -> None:
        self._set_status(benefit_id, "active", effective_date, reason_code, meta)

    def terminate_benefit(
        self, benefit_id: str, effective_date: str, reason_code: str | None, meta: dict[str, Any]
    ) -> None:
        """The benefit ends from `effective_date` (within its period, not before a change
        already in force), with a reason code of BENEFIT_CHANGE_REASONS ("other" needs the
        reason)."""
        benefit = self._check_change(benefit_id, effective_date, reason_code, meta)
        self._benefit_terminated(benefit["benefit_id"], effective_date, reason_code, meta)

    @event("ProvisionalBenefitTerminated")
    def _benefit_terminated(
        self, benefit_id: str, effective_date: str, reason_code: str, meta: dict[str, Any]
    ) -> None:
        self._set_status(benefit_id, "terminated", effective_date, reason_code, meta)

    def _set_status(
        self,
        benefit_id: str,
        status: str,
        effective_date: str,
        reason_code: str,
        meta: dict[str, Any],
    ) -> None:
        benefit = self.benefits[benefit_id]
        benefit["status"] = status
        benefit["history"] = with_change(
            benefit["history"],
            {
                "status": status,
                "effective_date": effective_date,
                "reason_code": reason_code,
                "reason": meta.get("reason"),
            },
        )

    def clashes_with(self, nik_benefits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The reasons (`identity.double_receipt`) each of this person's benefits overlapping
        a benefit of the same program in `nik_benefits` (the NIK's, from any KK) gives."""
        reasons = []
        for mine in self.benefits.values():
            period = benefit_period(mine)
            if period is None:
                continue
            for other in nik_benefits:
                if other.get("person_id") == str(self.id) or other["program"] != mine["program"]:
                    continue
                theirs = benefit_period(other)
                if theirs is None or overlap_start(period, theirs) is None:
                    continue
                reasons.append(
                    {
                        "rule": "double_receipt",
                        "rule_version": None,
                        "code": "identity.double_receipt",
                        "detail": {
                            "program": mine["program"],
                            "provisional_benefit_id": mine["benefit_id"],
                            "benefit_id": other["benefit_id"],
                            "period_start": theirs[0].isoformat(),
                            "period_end": theirs[1].isoformat(),
                        },
                    }
                )
        return reasons

    def benefits_under(self, nik: str) -> list[dict[str, Any]]:
        """The benefits as the person's once linked to `nik` (for the double-receipt rules),
        each naming this provisional person."""
        return [{**b, "nik": nik, "person_id": str(self.id)} for b in self.benefits.values()]

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
            "benefits": [dict(b) for b in self.benefits.values()],
        }
