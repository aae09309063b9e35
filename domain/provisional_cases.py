"""Benefits before a NIK: the use cases of GrantProvisionalBenefit and
TerminateProvisionalBenefit (help for a provisional person, domain.homeless).

A grant waits for a second person's approval (maker-checker, as GrantBenefit): its rules are
checked when it is requested (`check_provisional_grant`: 404 for an unknown person or program,
422 with every failing rule) and again when it is approved (a RulesFailed then refuses it).
Once LinkIdentity joins the person to a NIK, these benefits are that NIK's receipts
(`NikIndex.receipts`, keyed by the person's id), so the double-receipt rule of GrantBenefit
sees them.

LinkIdentity is refused (LinkClash, 422 on `nik`) while a benefit of the person overlaps a
benefit of the same program the NIK already receives: a caseworker first terminates one of
the two (reason `double_receipt`), so the person keeps the other and no help is lost by the
link itself (`check_link`, when it is requested and again when it is approved).
"""

from __future__ import annotations

import copy
from typing import Any

from domain.errors import NotFound
from domain.homeless import LinkClash, ProvisionalPerson
from domain.household_cases import HouseholdCases
from domain.use_case import Stored


def _program(cases: Any, code: str) -> Any:
    try:
        return cases.get_program(code)
    except NotFound:
        raise NotFound("program", "program.not_found") from None


def _grant(cases: Any, cmd: dict[str, Any], meta: dict[str, Any]) -> ProvisionalPerson:
    """The person with the benefit granted, not saved."""
    person = cases.get_provisional_person(cmd["person_id"])
    cases._check_expected_version(person, cmd.get("expected_version"))
    program = _program(cases, cmd["program"])
    person.grant_benefit(program, cmd["period_start"], cmd["period_end"], cmd["amount"], meta)
    return person


def grant_provisional_benefit(cases: Any, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
    """The new benefit_id is derived_id(person_id, "benefit", answered version)."""
    return cases._store(_grant(cases, cmd, meta))


def check_provisional_grant(cases: Any, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
    """Before the grant is kept for approval: the same checks, nothing stored."""
    _grant(cases, copy.deepcopy(cmd), meta)


def check_provisional_termination(cases: Any, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
    """Before the termination is kept for approval: the person and the benefit exist and the
    termination is possible today (the person is loaded, changed and not saved)."""
    person = cases.get_provisional_person(cmd["person_id"])
    person.terminate_benefit(cmd["benefit_id"], cmd["effective_date"], cmd.get("reason_code"), meta)



def check_link(cases: Any, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
    """LinkClash when the person's benefits overlap the NIK's of the same program."""
    person = cases.get_provisional_person(cmd["person_id"])
    reasons = person.clashes_with(cases.benefits_of_nik(cmd["nik"]))
    if reasons:
        raise LinkClash(reasons)


def link_identity(cases: Any, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
    """HouseholdCases.link_identity, refused on a double receipt (`check_link`)."""
    check_link(cases, cmd, meta)
    return HouseholdCases.link_identity(cases, cmd, meta)
