"""What personal data is, declared once: the fields of events that the store keeps encrypted
per person, the markers an erased value reads as, and what the use cases need of the codec
that does the encrypting (`adapters.codec`).

A field named here is personal wherever it occurs in a protected event (every event but
those of programs and staff accounts). Identifier fields (`nik`, `*_nik`, any 16-digit
string, and `KK_FIELDS`) are encrypted with their own subject's key; the rest with the key
of the nearest enclosing person, or of the stream (see `adapters.codec`).
"""

from __future__ import annotations

from typing import Any, Protocol

PREFIX = "pd1."  # what a stored token starts with
ERASED = "[erased]"
ERASED_ID = "erased:"
# Fields that are personal data wherever they occur in a protected event.
PERSONAL_FIELDS = frozenset(
    {
        "name",
        "birth_date",
        "address",
        "text",
        "notes",
        "grounds",
        "business_name",
        "reason",
        "note",
        "photo_reference",
        "latitude",
        "longitude",
        "found_at",
    }
)
DATE_FIELDS = frozenset({"birth_date"})
KK_FIELDS = frozenset({"kk_number", "new_kk_number", "previous_kk_number"})
# Events of these modules hold no data subject's personal data (programs, staff accounts).
UNPROTECTED_TOPICS = ("domain.program:", "domain.accounts:")


def is_erased(value: Any) -> bool:
    return (
        value is None or value == ERASED or (isinstance(value, str) and value.startswith(ERASED_ID))
    )


def protected_topic(topic: str) -> bool:
    return not topic.startswith(UNPROTECTED_TOPICS)


class PersonalDataCodec(Protocol):
    """What the use cases ask of the codec that encrypts personal fields."""

    def lookup(self, kind: str, value: str) -> str:
        """The keyed hash of an identifier (`kind` is `nik` or `kk`)."""

    def subject_of(self, lookup: str) -> str | None:
        """The live subject of a keyed hash, without creating one."""

    def erase(self, subject: str) -> None:
        """Destroy the subject's key (crypto-shredding) and forget what it opened."""

    def mapper(self, mapper: Any) -> Any:
        """The store's mapper wrapped so that personal fields are stored as tokens."""
