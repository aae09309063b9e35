"""What personal data is, declared once: the fields of events that the store keeps encrypted
per person, the markers an erased value reads as, and what the use cases need of the codec
that does the encrypting (`adapters.codec`).

A field named here is personal wherever it occurs in a protected event (every event but
those of programs and staff accounts). Identifier fields (`nik`, `*_nik`, any 16-digit
string, and `KK_FIELDS`) are encrypted with their own subject's key; the rest with the key
of the nearest enclosing person, or of the stream (see `adapters.codec`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

PREFIX = "pd1."  # what a stored token starts with
ERASED = "[erased]"
ERASED_ID = "erased:"


class Stored(Enum):
    """How a field is kept in the store, in Kafka and in every backup."""

    IDENTIFIER = "identifier"  # a NIK or KK number: its subject's own key, found by keyed hash
    ENCRYPTED = "encrypted"  # the key of the person it belongs to (or of the stream)
    CLEAR = "clear"  # in clear: not personal, or needed in clear (said why in `because`)


@dataclass(frozen=True)
class Field:
    """One field name of commands and events: the category of personal data it belongs to
    (None: not personal data) and how it is stored."""

    category: str | None
    stored: Stored = Stored.CLEAR
    date: bool = False  # an encrypted date reads as None once erased
    kk: bool = False  # an identifier of a family (KK number), not of a person
    because: str = ""  # why personal data is kept in clear


def _id(category: str = "identity", kk: bool = False) -> Field:
    return Field(category, Stored.IDENTIFIER, kk=kk)


def _secret(category: str, date: bool = False) -> Field:
    return Field(category, Stored.ENCRYPTED, date=date)


def _clear(category: str | None = None, because: str = "") -> Field:
    return Field(category, Stored.CLEAR, because=because)


_AREA = "the city's statistics and the area of a case worker are by kecamatan and kelurahan"

# Every field name of every command and event, classified once. The codec encrypts by it
# (`adapters.codec`), the record of processing lists its categories, the subject access
# report and the API disclose by it; tests/unit/test_declarations.py fails on a field of a
# command or an event that is missing here.
FIELDS: dict[str, Field] = {
    # identity
    "nik": _id(),
    "objector_nik": _id(),
    "previous_head_nik": _id(),
    "new_head_nik": _id(),
    "kk_number": _id(kk=True),
    "new_kk_number": _id(kk=True),
    "previous_kk_number": _id(kk=True),
    "name": _secret("names"),
    "birth_date": _secret("birth", date=True),
    "estimated_birth_year": _clear("birth", "a year identifies no one; eligibility by age"),
    "sex": _clear("birth", "eligibility rules by sex (adult woman recipient)"),
    # where a person lives
    "address": _secret("address"),
    "rt": _secret("address"),
    "rw": _secret("address"),
    "found_at": _secret("address"),
    "kecamatan": _clear("address", _AREA),
    "kelurahan": _clear("address", _AREA),
    "objector_kelurahan": _clear("address", "the household's own kelurahan (FileObjection)"),
    "moved_on": _clear("address", "residence months are counted from it"),
    "arrival": _clear("address", "residence rules read the arrival type and date"),
    "arrived_on": _clear("address", "residence rules count months from it"),
    "origin_region_code": _clear("address", "a region code of 4 or 6 digits"),
    "type": _clear("address", "born here or moved in"),
    # family
    "head": _clear("family", "a nested person: its fields are classified by their own names"),
    "person": _clear("family", "a nested person: its fields are classified by their own names"),
    "relationship": _clear("family", "eligibility rules read the relationship"),
    "relationships": _clear("family", "eligibility rules read the relationship"),
    "status": _clear("family", "whether a member is active, moved out or deceased"),
    "status_since": _clear("family", "the date of the member's last status change"),
    "ktp_issued_on": _clear("identity", "the date a KTP was issued"),
    "head_identity": _clear(
        "identity", "the head's KTP facts from a previous KK: classified by their own names"
    ),
    "residence_since": _clear("address", "residence months are counted from it"),
    "members": _clear("family", "NIKs or nested persons: classified by their own names"),
    "split_from": _clear("family", "the KK a family split from: classified by its own names"),
    "new_household_id": _clear(None),
    "provisional_person_ids": _clear(None),
    "date_of_death": _secret("death", date=True),
    "cause": _clear(None),
    # welfare and verification
    "desil": _clear("welfare", "eligibility rules compare the decile"),
    "replaces_desil": _clear("welfare", "eligibility rules compare the decile"),
    "source": _clear("welfare", "which register the decile came from"),
    "period": _clear("welfare", "eligibility rules read the period"),
    "reference": _clear(None),
    "deceased": _clear("death", "whether a source lists a member as deceased, compared"),
    "benefits": _clear("benefits", "the aid a source marks as received: program codes"),
    "outcome": _clear("verification", "policies react to the outcome"),
    "visited_on": _clear("verification", "deadlines run from it"),
    "verifier": _secret("verification"),
    # business
    "nib": _clear("business", "a public business registration number (OSS)"),
    "business_name": _secret("business"),
    "registered_on": _clear("business", "reviews run from it"),
    "revoked_on": _clear("business", "reviews run from it"),
    "issued_on": _clear("identity", "the date a KTP was issued"),
    # benefits and empowerment
    "program": _clear("benefits", "programs are counted and checked by their code"),
    "amount": _clear("benefits", "budgets are summed"),
    "period_start": _clear("benefits", "overlaps are checked"),
    "period_end": _clear("benefits", "overlaps are checked"),
    "effective_date": _clear("benefits", "the dates of a benefit's changes"),
    "reason_code": _clear("benefits", "why a benefit changed or a change was rejected, a code"),
    "enrolled_on": _clear("benefits", "the dates of an enrolment"),
    "completed_on": _clear("benefits", "the dates of an enrolment"),
    "deadline": _clear(None),
    "service": _clear("benefits", "services are counted by kind"),
    "delivered_on": _clear("benefits", "services are counted by date"),
    "decision": _clear("benefits", "keep, suspend or terminate: a code"),
    "trigger": _clear(None),  # the id of the event that opened a review
    # casework, objections, privacy: free text is encrypted
    "text": _secret("verification"),
    "notes": _secret("verification"),
    "note": _secret("verification"),
    "reason": _secret("verification"),
    "grounds": _secret("verification"),
    "photo_reference": _secret("location"),
    "latitude": _secret("location"),
    "longitude": _secret("location"),
    "filed_on": _clear("verification", "the objection's deadline runs from it"),
    "resolved_on": _clear("verification", "the objection's deadline runs from it"),
    "resolution": _clear("verification", "upheld or rejected"),
    "exemption": _clear("verification", "an article 15 ground, a code"),
    "subject": _clear(None),  # the pseudonymous id of a person's key, no relation to the NIK
    "nik_key": _clear(None),  # keyed hashes: they reveal nothing without the master key
    "kk_key": _clear(None),
    # ids, versions and the rest: no personal data
    "household_id": _clear(None),
    "person_id": _clear(None),
    "benefit_id": _clear(None),
    "enrollment_id": _clear(None),
    "objection_id": _clear(None),
    "review_id": _clear(None),
    "approval_id": _clear(None),
    "expected_version": _clear(None),
    "occurred_at": _clear(None),
    "version": _clear(None),
    # programs, staff accounts and approvals (their events hold no data subject's data;
    # a pending change's `cmd` is a command, protected field by field)
    "code": _clear(None),
    "opd": _clear(None),
    "funding": _clear(None),
    "kind": _clear(None),
    "rules": _clear(None),
    "effective_from": _clear(None),
    "yearly_target": _clear(None),
    "max_desil": _clear(None),
    "min_residence_months": _clear(None),
    "excludes_nib_holders": _clear(None),
    "once_per_kk": _clear(None),
    "combinable_with": _clear(None),
    "recipient": _clear(None),
    "serves_without_nik": _clear(None),
    "desil_source": _clear(None),
    "order": _clear(None),
    "verification_overrides": _clear(None),
    "tolerance": _clear(None),
    "command": _clear(None),
    "cmd": _clear(None),
    "approver": _clear(None),
    # a refused change's failing rules: rule names, versions, numbers, dates, program codes
    # and benefit ids (domain.errors.RulesFailed), never a NIK, KK number or name
    "reasons": _clear(None),
    # agency agreements (domain.agreement): terms, no data subject's data
    "agency": _clear(None),
    "terms_version": _clear(None),
    "purpose": _clear(None),
    "legal_basis": _clear(None),
    "event_types": _clear(None),
    "fields": _clear(None),
    "personal": _clear(None),
    "valid_from": _clear(None),
    "valid_until": _clear(None),
    "role": _clear(None),
    "user_name": _clear(None),
    "token_hash": _clear(None),
    "expires_at": _clear(None),
}

# What the codec encrypts (identifier fields are found by name: `nik`, `*_nik`, KK fields).
PERSONAL_FIELDS = frozenset(n for n, f in FIELDS.items() if f.stored is Stored.ENCRYPTED)
DATE_FIELDS = frozenset(n for n, f in FIELDS.items() if f.date)
KK_FIELDS = frozenset(n for n, f in FIELDS.items() if f.kk)
# Events of these modules hold no data subject's personal data (programs, staff accounts,
# agency agreements).
UNPROTECTED_TOPICS = ("domain.program:", "domain.accounts:", "domain.agreement:")


def is_erased(value: Any) -> bool:
    return (
        value is None or value == ERASED or (isinstance(value, str) and value.startswith(ERASED_ID))
    )


def protected_topic(topic: str) -> bool:
    return not topic.startswith(UNPROTECTED_TOPICS)


class PersonalDataCodec(Protocol):
    """What the use cases ask of the codec that encrypts personal fields."""

    def lookup(self, kind: str, value: str) -> str:
        """The keyed hash of an identifier (`kind` is `nik` or `kk`) or of a name's word
        (`name`)."""

    def subject_of(self, lookup: str) -> str | None:
        """The live subject of a keyed hash, without creating one."""

    def erased(self, lookup: str) -> bool:
        """Whether the subject of a keyed hash was erased (no key is made for it again)."""

    def erase(self, subject: str) -> None:
        """Destroy the subject's key (crypto-shredding) and forget what it opened."""

    def mapper(self, mapper: Any) -> Any:
        """The store's mapper wrapped so that personal fields are stored as tokens."""
