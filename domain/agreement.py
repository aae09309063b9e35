"""Data-sharing agreements with agencies (BPJS Kesehatan, Baznas, the province's Dinas
Sosial, ...): which events an agency receives, which of their fields, in which area, from
when until when, and whether personal fields reach it opened or as pseudonyms.

One `AgencyAgreement` stream per agency code. Each definition or change is a complete set of
terms with a version number (1, 2, ...): an agency topic, the feed and the webhooks apply the
version in force at each event's position (`consumers.agency_filter`). A revoked agreement
stops every delivery. Agreements hold no data subject's data: their events travel in clear on
`casework.events.v1`, like programs.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, DomainError

AGENCY_CODE = re.compile(r"[A-Z0-9_-]{2,32}")
PERSONAL_MODES = ("pseudonym", "opened")
# The terms of an agreement, in the order the commands and events carry them.
TERM_FIELDS = (
    "purpose",
    "legal_basis",
    "event_types",
    "fields",
    "personal",
    "kecamatan",
    "kelurahan",
    "valid_from",
    "valid_until",
)

ERROR_CODES = (
    "agreement.exists",
    "agreement.not_found",
    "agreement.revoked",
    "agreement.agency_invalid",
    "agreement.event_types_empty",
    "agreement.event_type_unknown",
    "agreement.fields_invalid",
    "agreement.fields_event_type",
    "agreement.field_unknown",
    "agreement.personal_unknown",
    "agreement.valid_until_before_from",
    "agreement.purpose_required",
    "agreement.legal_basis_required",
    "agreement.request_pending",
)

_NAMESPACE = uuid.UUID("0f3c5a52-7d0e-4b7e-9a55-2c1d6e8b4a17")


def normalize_agency(code: Any) -> str:
    """An agency's code as kept: upper case, 2 to 32 letters, digits, - or _."""
    text = str(code or "").strip().upper()
    if not AGENCY_CODE.fullmatch(text):
        raise DomainError("agency", "agreement.agency_invalid")
    return text


def day(value: Any, field: str) -> str:
    """An ISO date as `YYYY-MM-DD` (what the events keep)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise DomainError(field, "date.format") from None


class AgencyAgreement(Aggregate):
    """One agency's agreement; its id derives from the agency code, so a code has one."""

    @staticmethod
    def create_id(agency: str) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, f"agreement:{agency}")

    @event("AgreementDefined")
    def __init__(
        self,
        agency: str,
        terms_version: int,
        purpose: str,
        legal_basis: str,
        event_types: list[str],
        fields: dict[str, list[str]],
        personal: str,
        kecamatan: list[str],
        kelurahan: list[str],
        valid_from: str,
        valid_until: str | None,
        meta: dict[str, Any],
    ) -> None:
        self.agency = agency
        self.revoked = False
        self.revocation_reason: str | None = None
        self.versions: list[dict[str, Any]] = []
        self._add_version(
            terms_version,
            purpose,
            legal_basis,
            event_types,
            fields,
            personal,
            kecamatan,
            kelurahan,
            valid_from,
            valid_until,
        )

    def _add_version(self, version: int, *terms: Any) -> None:
        self.versions.append({"version": version, **dict(zip(TERM_FIELDS, terms, strict=True))})

    @property
    def terms(self) -> dict[str, Any]:
        """The latest terms (with their `version`)."""
        return dict(self.versions[-1])

    def change(self, terms: dict[str, Any], meta: dict[str, Any]) -> None:
        """A new version of the terms (complete: `normalize` them first)."""
        if self.revoked:
            raise Conflict("agency", "agreement.revoked")
        self._changed(
            agency=self.agency,
            terms_version=len(self.versions) + 1,
            **{name: terms[name] for name in TERM_FIELDS},
            meta=meta,
        )

    @event("AgreementChanged")
    def _changed(
        self,
        agency: str,
        terms_version: int,
        purpose: str,
        legal_basis: str,
        event_types: list[str],
        fields: dict[str, list[str]],
        personal: str,
        kecamatan: list[str],
        kelurahan: list[str],
        valid_from: str,
        valid_until: str | None,
        meta: dict[str, Any],
    ) -> None:
        self._add_version(
            terms_version,
            purpose,
            legal_basis,
            event_types,
            fields,
            personal,
            kecamatan,
            kelurahan,
            valid_from,
            valid_until,
        )

    def revoke(self, reason: str, meta: dict[str, Any]) -> None:
        if self.revoked:
            raise Conflict("agency", "agreement.revoked")
        self._revoked(agency=self.agency, reason=reason, meta=meta)

    @event("AgreementRevoked")
    def _revoked(self, agency: str, reason: str, meta: dict[str, Any]) -> None:
        self.revoked = True
        self.revocation_reason = reason
