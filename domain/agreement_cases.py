"""Agency agreement use cases: define, change, revoke, read; and what an agreement may name.

What may be shared (`shareable_fields`): the events of households, of persons without papers
and of programs, each with the data fields its event class declares, and for a nested person
or record (`head`, `person`, `arrival`, `head_identity`) `parent.child` paths. Never the
privacy events themselves (a restriction, an erasure and its refusal), nor the streams kept to
the system (indexes, approvals, accounts, agreements).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from domain.accounts import canonical_kelurahan
from domain.agreement import (
    PERSONAL_MODES,
    TERM_FIELDS,
    AgencyAgreement,
    day,
    normalize_agency,
)
from domain.errors import Conflict, DomainError, NotFound
from domain.homeless import ProvisionalPerson
from domain.household import Household
from domain.program import Program
from domain.regions import find_kecamatan
from domain.streams import event_classes
from domain.use_case import Stored, UseCases

SHARED_STREAMS = (Household, ProvisionalPerson, Program)
# Events about the privacy of a person: never delivered to an agency.
PRIVACY_EVENTS = frozenset(
    {"ProcessingRestricted", "RestrictionLifted", "PersonalDataErased", "ErasureRefused"}
)
_FRAME = {"originator_id", "originator_version", "timestamp", "originator_topic", "meta"}
# Data fields holding a nested record, and the fields it has.
PERSON_FIELDS = ("nik", "name", "birth_date", "sex")
NESTED: dict[str, tuple[str, ...]] = {
    "head": PERSON_FIELDS,
    "person": PERSON_FIELDS,
    "arrival": ("type", "arrived_on", "origin_region_code"),
    "head_identity": ("ktp_issued_on", "arrival", "residence_since"),
}


@lru_cache(maxsize=1)
def shareable_fields() -> dict[str, frozenset[str]]:
    """Every event type an agreement may name, with the field paths it may allow."""
    out: dict[str, frozenset[str]] = {}
    for stream in SHARED_STREAMS:
        for name, event_class in event_classes(stream).items():
            if name in PRIVACY_EVENTS:
                continue
            names = {f.name for f in dataclasses.fields(event_class)} - _FRAME
            paths = set(names)
            for parent in names & set(NESTED):
                paths.update(f"{parent}.{child}" for child in NESTED[parent])
            out[name] = frozenset(paths)
    return out


def _text(value: Any, field: str, code: str, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if not text or len(text) > limit:
        raise DomainError(field, code)
    return text


def _names(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise DomainError(field, f"{field}.unknown")
    return list(value)


def canonical_area(kecamatan: Any, kelurahan: Any) -> tuple[list[str], list[str]]:
    """The kecamatan and kelurahan lists by their official names (any spelling or code)."""
    districts = []
    for name in _names(kecamatan, "kecamatan"):
        found = find_kecamatan(name)
        if found is None:
            raise DomainError("kecamatan", "kecamatan.unknown")
        districts.append(found.name)
    villages = [canonical_kelurahan(name) for name in _names(kelurahan, "kelurahan")]
    return sorted(set(districts)), sorted(set(villages))


def normalize_terms(terms: dict[str, Any]) -> dict[str, Any]:
    """Complete, checked terms (every field of TERM_FIELDS); raises DomainError naming the
    field at fault."""
    purpose = _text(terms.get("purpose"), "purpose", "agreement.purpose_required", 500)
    legal_basis = _text(
        terms.get("legal_basis"), "legal_basis", "agreement.legal_basis_required", 500
    )
    types = terms.get("event_types")
    if not isinstance(types, list | tuple) or not types:
        raise DomainError("event_types", "agreement.event_types_empty")
    known = shareable_fields()
    if any(not isinstance(t, str) or t not in known for t in types):
        raise DomainError("event_types", "agreement.event_type_unknown")
    event_types = sorted(set(types))
    given = terms.get("fields") or {}
    if not isinstance(given, dict):
        raise DomainError("fields", "agreement.fields_invalid")
    fields: dict[str, list[str]] = {}
    for event_type, paths in sorted(given.items()):
        if event_type not in event_types:
            raise DomainError(f"fields.{event_type}", "agreement.fields_event_type")
        if not isinstance(paths, list | tuple) or not all(isinstance(p, str) for p in paths):
            raise DomainError(f"fields.{event_type}", "agreement.fields_invalid")
        if any(path not in known[event_type] for path in paths):
            raise DomainError(f"fields.{event_type}", "agreement.field_unknown")
        fields[event_type] = sorted(set(paths))
    personal = terms.get("personal") or "pseudonym"
    if personal not in PERSONAL_MODES:
        raise DomainError("personal", "agreement.personal_unknown")
    kecamatan, kelurahan = canonical_area(terms.get("kecamatan"), terms.get("kelurahan"))
    valid_from = day(terms.get("valid_from"), "valid_from")
    until = terms.get("valid_until")
    valid_until = day(until, "valid_until") if until else None
    if valid_until is not None and valid_until < valid_from:
        raise DomainError("valid_until", "agreement.valid_until_before_from")
    return {
        "purpose": purpose,
        "legal_basis": legal_basis,
        "event_types": event_types,
        "fields": fields,
        "personal": personal,
        "kecamatan": kecamatan,
        "kelurahan": kelurahan,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }


def _today(meta: dict[str, Any]) -> str:
    return str(meta["occurred_at"])[:10]


class AgreementCases(UseCases):
    def define_agency_agreement(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        agreement = self._new_agreement(cmd, meta)
        try:
            return self._save(agreement, [])
        except Conflict:
            raise Conflict("agency", "agreement.exists") from None

    def check_define_agency_agreement(self, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        """Before a definition waits for approval: valid terms, and no agreement yet."""
        self._new_agreement(cmd, meta)

    def _new_agreement(self, cmd: dict[str, Any], meta: dict[str, Any]) -> AgencyAgreement:
        agency = normalize_agency(cmd.get("agency"))
        terms = normalize_terms({"valid_from": _today(meta), **_given(cmd)})
        if self._find_agreement(agency) is not None:
            raise Conflict("agency", "agreement.exists")
        return AgencyAgreement(agency=agency, terms_version=1, **terms, meta=meta)

    def change_agency_agreement(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        agreement, terms = self._changed_terms(cmd)
        agreement.change(terms, meta)
        return self._save(agreement, [])

    def check_change_agency_agreement(self, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        agreement, _ = self._changed_terms(cmd)
        if agreement.revoked:
            raise Conflict("agency", "agreement.revoked")

    def _changed_terms(self, cmd: dict[str, Any]) -> tuple[AgencyAgreement, dict[str, Any]]:
        """The agreement and its new terms: what the command leaves out keeps its value (the
        allowed fields of an event type no longer allowed are dropped)."""
        agreement = self.get_agency_agreement(cmd.get("agency"))
        self._check_expected_version(agreement, cmd.get("expected_version"))
        current = {name: agreement.terms[name] for name in TERM_FIELDS}
        given = _given(cmd)
        merged = {**current, **given}
        if "fields" not in given:
            kept = set(merged["event_types"] or [])
            merged["fields"] = {t: p for t, p in current["fields"].items() if t in kept}
        return agreement, normalize_terms(merged)

    def revoke_agency_agreement(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        agreement = self.get_agency_agreement(cmd.get("agency"))
        self._check_expected_version(agreement, cmd.get("expected_version"))
        reason = cmd.get("reason") or meta.get("reason") or ""  # the API keeps it in meta
        agreement.revoke(reason, meta)
        return self._save(agreement, [])

    def check_revoke_agency_agreement(self, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        agreement = self.get_agency_agreement(cmd.get("agency"))
        if agreement.revoked:
            raise Conflict("agency", "agreement.revoked")

    def get_agency_agreement(self, agency: Any) -> AgencyAgreement:
        try:
            found = self._find_agreement(normalize_agency(agency))
        except DomainError:
            found = None
        if found is None:
            raise NotFound("agency", "agreement.not_found")
        return found

    def _find_agreement(self, agency: str) -> AgencyAgreement | None:
        try:
            return self.repository.get(AgencyAgreement.create_id(agency))
        except AggregateNotFoundError:
            return None


def _given(cmd: dict[str, Any]) -> dict[str, Any]:
    """The terms a command gives (a field left out or null is not given; a null
    `valid_until` is: the agreement has no end)."""
    return {
        name: cmd[name]
        for name in TERM_FIELDS
        if name in cmd and (cmd[name] is not None or name == "valid_until")
    }
