"""The commands the edge accepts, validated once here for the API and the web forms alike.

One schema per command of the catalogue (domain/commands.py), with the catalogue's field
names. Every error is a stable code (see app/messages.py), never free text and never the
value entered; `load()` answers them flattened to dot paths such as `head.nik`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validates_schema,
)

from adapters.codec import PREFIX as TOKEN_PREFIX
from app.messages import ERRORS
from domain.agreement import AGENCY_CODE, PERSONAL_MODES
from domain.agreement_cases import canonical_area, shareable_fields
from domain.approval import REJECTION_REASONS
from domain.commands import COMMANDS as CATALOGUE
from domain.commands import Command as Declaration
from domain.errors import DomainError
from domain.homeless import SERVICES
from domain.household import (
    ARRIVAL_TYPES,
    ASSESSMENT_SOURCES,
    BENEFIT_CHANGE_REASONS,
    EMPOWERMENT_OUTCOMES,
    ERASURE_EXEMPTIONS,
    LATEST_DAY,
    LISTING_BENEFITS,
    LISTING_RELATIONSHIPS,
    OBJECTION_RESOLUTIONS,
    RELATIONSHIPS,
    REMOVAL_KINDS,
    REVIEW_DECISIONS,
    VERIFICATION_OUTCOMES,
    correction_problems,
    today,
)
from domain.identity import kk_problems, nik_problems
from domain.program import (
    DEFAULT_DESIL_SOURCE,
    DESIL_SOURCES,
    FIELD_VERIFICATION,
    FUNDINGS,
    KINDS,
    MAX_TOLERANCE,
    RECIPIENTS,
)
from domain.regions import find_kecamatan, find_kelurahan, kelurahan_matches
from domain.texts import N_

# Codes for marshmallow's own failures (wrong JSON type, missing, null, unknown field).
_FIELD_ERRORS = {
    "required": "field.required",
    "null": "field.required",
    "validator_failed": "field.invalid",
    "invalid": "field.invalid",
    "invalid_utf8": "field.invalid",
    "type": "field.object",
}

_DIGITS_1_TO_3 = re.compile(r"[0-9]{1,3}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE = re.compile(r"-?[0-9]{1,15}")
_DIGITS = re.compile(r"[0-9]+")
_PERIOD = re.compile(r"[0-9]{4}-Q[1-4]")
_NIB = re.compile(r"[0-9]{13}")
_REGION = re.compile(r"[0-9]{4}|[0-9]{6}")
_PROGRAM_CODE = re.compile(r"[A-Z0-9_-]{1,32}")
_SEPARATORS = str.maketrans("", "", " .-")
# A clock a few minutes fast on a caseworker's laptop is not an error.
_CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST_BIRTH = dt.date(1900, 1, 1)
# Nothing the system records happened before anyone it knows was born.
EARLIEST_MOMENT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def _errors(**overrides: str) -> dict[str, str]:
    return {**_FIELD_ERRORS, **overrides}


def _openapi(field: fields.Field, **schema: Any) -> None:
    field.metadata.setdefault("openapi", {}).update(
        {k: v for k, v in schema.items() if k not in field.metadata["openapi"]}
    )


class Text(fields.String):
    """Trimmed text with inner whitespace collapsed; not empty, at most `max_length` characters."""

    def __init__(self, *, code: str, max_length: int, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid="field.text"), **kwargs)
        self.code = code
        self.max_length = max_length
        _openapi(self, minLength=1, maxLength=max_length)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = " ".join(super()._deserialize(value, attr, data, **kwargs).split())
        if not text:
            raise ValidationError(f"{self.code}.empty")
        if len(text) > self.max_length:
            raise ValidationError(f"{self.code}.too_long")
        return text


# A person's name as on the KTP and KK: letters of any script with their accents (combining
# marks), spaces, apostrophes (', U+2019 and `), periods, commas and hyphens, and at least one
# letter. Digits, brackets, slashes, other signs and emoji are refused (`name.characters`):
# `BUDI 2`, `SITI (ALM)` or `<script>` are not a name.
_NAME_SIGNS = frozenset(" '\u2019`.,-")
_ASCII_NAME = re.compile(r"[ '`.,-]*[A-Za-z][A-Za-z '`.,-]*")
# The same for the OpenAPI document (ECMA-262 with Unicode property escapes), of the value as
# sent: the whitespace a name's words may be separated by (collapsed to one space on loading;
# not the controls no text may hold) is allowed too.
_NAME_SPACES = r"\t\n\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_NAME_OTHERS = rf"{_NAME_SPACES}'\u2019`.,\-"
NAME_PATTERN = rf"^[\p{{M}}{_NAME_OTHERS}]*\p{{L}}[\p{{L}}\p{{M}}{_NAME_OTHERS}]*$"


def is_name(text: str) -> bool:
    """Whether the text is a person's name as written on the KTP (above)."""
    if _ASCII_NAME.fullmatch(text):
        return True
    letter = False
    for character in text:
        kind = unicodedata.category(character)[0]
        if kind == "L":
            letter = True
        elif kind != "M" and character not in _NAME_SIGNS:
            return False
    return letter


class PersonName(Text):
    """A person's name as on the KTP and KK (`is_name`), at most 100 characters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(code="name", max_length=100, **kwargs)
        _openapi(self, pattern=NAME_PATTERN)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_name(text):
            raise ValidationError("name.characters")
        return text


class OptionalText(fields.String):
    """Free text that may be left out; blank means none. Line breaks are kept."""

    def __init__(self, *, code: str, max_length: int, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", None)
        super().__init__(error_messages=_errors(invalid="field.text"), allow_none=True, **kwargs)
        self.code = code
        self.max_length = max_length
        _openapi(self, maxLength=max_length)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if len(text) > self.max_length:
            raise ValidationError(f"{self.code}.too_long")
        return text or None


class IdentityNumber(fields.String):
    """A NIK or KK number: 16 digits, checked structurally; spaces, dots and dashes dropped."""

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid=f"{kind}.format"), **kwargs)
        self.kind = kind
        _openapi(self, pattern="^[0-9]{16}$")
        self.metadata.setdefault("example", _EXAMPLES[kind])

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        number = super()._deserialize(value, attr, data, **kwargs).translate(_SEPARATORS)
        problems = nik_problems(number) if self.kind == "nik" else kk_problems(number)
        if problems:
            raise ValidationError([problem.code for problem in problems])
        return number


_EXAMPLES = {"nik": "1571015203850007", "kk": "1571010101200003"}


def _iso_day(text: str, kind: str) -> dt.date:
    """A day written YYYY-MM-DD: `{kind}.format` when it is not written so, `{kind}.impossible`
    when it is but no such day exists (30 February, a month 13)."""
    if not _ISO_DATE.fullmatch(text):
        raise ValidationError(f"{kind}.format")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{kind}.impossible") from None


class BirthDate(fields.String):
    """YYYY-MM-DD, a real date, not in the future; kept as the ISO string."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid="birth_date.format"), **kwargs)
        _openapi(self, format="date")
        self.metadata.setdefault("example", "1985-03-12")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        date = _iso_day(super()._deserialize(value, attr, data, **kwargs).strip(), "birth_date")
        if date > dt.date.today():
            raise ValidationError("birth_date.future")
        if date < EARLIEST_BIRTH:
            raise ValidationError("birth_date.too_old")
        return date.isoformat()


class Day(fields.String):
    """A calendar day, YYYY-MM-DD, kept as the ISO string; `past`: not after today (WIB)."""

    def __init__(self, *, past: bool = False, example: str = "2025-04-21", **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid="date.format"), **kwargs)
        self.past = past
        _openapi(self, format="date")
        self.metadata.setdefault("example", example)
        if past:
            self.metadata.setdefault("description", "YYYY-MM-DD, not in the future")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        date = _iso_day(super()._deserialize(value, attr, data, **kwargs).strip(), "date")
        if date < EARLIEST_BIRTH:
            raise ValidationError("date.too_old")
        if date > LATEST_DAY:
            raise ValidationError("date.too_far")
        if self.past and date > today():
            raise ValidationError("date.in_future")
        return date.isoformat()


class Choice(fields.String):
    """One of fixed values; `normalize` maps what people type to the stored spelling."""

    def __init__(
        self, *, choices: tuple[str, ...], code: str, normalize=str.strip, **kwargs: Any
    ) -> None:
        super().__init__(error_messages=_errors(invalid=code), **kwargs)
        self.choices = tuple(choices)
        self.code = code
        self.normalize = normalize
        _openapi(self, enum=list(self.choices))
        self.metadata.setdefault("example", self.choices[0])

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        choice = self.normalize(super()._deserialize(value, attr, data, **kwargs))
        if choice not in self.choices:
            raise ValidationError(self.code)
        return choice


class Pattern(fields.String):
    """Text that must match a pattern once trimmed (and upper-cased with `upper`)."""

    def __init__(
        self, *, pattern: re.Pattern, code: str, example: str, upper: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(error_messages=_errors(invalid=code), **kwargs)
        self.pattern = pattern
        self.code = code
        self.upper = upper
        _openapi(self, pattern=f"^{pattern.pattern}$")
        self.metadata.setdefault("example", example)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        text = text.upper() if self.upper else text
        if not self.pattern.fullmatch(text):
            raise ValidationError(self.code)
        return text


def ProgramCode(**kwargs: Any) -> Pattern:  # noqa: N802 - a field factory reads like a field
    return Pattern(
        pattern=_PROGRAM_CODE, code="program.code_invalid", example="PKH", upper=True, **kwargs
    )


class WholeNumber(fields.Field):
    """A whole number (a JSON integer, or digits from a form) from `low` to `high`."""

    def __init__(
        self,
        *,
        code: str,
        low: int | None = None,
        high: int | Callable[[], int] | None = None,
        below_code: str | None = None,
        above_code: str | None = None,
        example: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(error_messages=_errors(invalid=code), **kwargs)
        self.code = code
        self.low = low
        self.high = high
        self.below_code = below_code or code
        self.above_code = above_code or code
        _openapi(
            self,
            type="integer",
            **({"minimum": low} if low is not None else {}),
            **({"maximum": high} if isinstance(high, int) else {}),
        )
        if example is not None:
            self.metadata.setdefault("example", example)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
            value = int(value.strip())
        elif isinstance(value, str) and self.high is not None and _DIGITS.fullmatch(value.strip()):
            raise ValidationError(self.above_code)  # more digits than any number admitted
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError(self.code)
        if self.low is not None and value < self.low:
            raise ValidationError(self.below_code)
        high = self.high() if callable(self.high) else self.high
        if high is not None and value > high:
            raise ValidationError(self.above_code)
        return value


class Coordinate(fields.Float):
    """A latitude or longitude in degrees (WGS 84)."""

    def __init__(self, *, limit: float, example: float, **kwargs: Any) -> None:
        super().__init__(
            error_messages=_errors(invalid="coordinates.format", special="coordinates.format"),
            **kwargs,
        )
        self.low, self.high = -limit, limit
        _openapi(self, type="number", minimum=-limit, maximum=limit)
        self.metadata.setdefault("example", example)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, str) and not value.strip():
            raise ValidationError("coordinates.format")
        number = super()._deserialize(value, attr, data, **kwargs)
        if not self.low <= number <= self.high:
            raise ValidationError("coordinates.out_of_range")
        return number


class Flag(fields.Boolean):
    """true or false (a form's "true"/"false" too)."""

    def __init__(self, *, code: str, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid=code), **kwargs)
        self.code = code
        _openapi(self, type="boolean")
        self.metadata.setdefault("example", False)


class CodeList(fields.Field):
    """A list of program codes, each normalized like a program's code."""

    def __init__(self, *, code: str, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid=code), **kwargs)
        self.code = code
        _openapi(
            self,
            type="array",
            items={"type": "string", "pattern": f"^{_PROGRAM_CODE.pattern}$"},
        )
        # each code must name a program already defined: an empty list is valid on any catalog
        self.metadata.setdefault("example", [])

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValidationError(self.code)
        codes = []
        for item in value:
            text = item.strip().upper() if isinstance(item, str) else ""
            if not _PROGRAM_CODE.fullmatch(text):
                raise ValidationError(self.code)
            codes.append(text)
        return sorted(set(codes))


class NikList(fields.Field):
    """A list of NIKs (SplitFamily's members), each checked like a NIK; each kept once, in order."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(), **kwargs)
        _openapi(self, type="array", minItems=1, items={"type": "string", "pattern": "^[0-9]{16}$"})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValidationError("field.invalid")
        if not value:
            raise ValidationError("field.required")
        niks = []
        for item in value:
            if not isinstance(item, str):
                raise ValidationError("nik.format")
            number = item.translate(_SEPARATORS)
            problems = nik_problems(number)
            if problems:
                raise ValidationError(problems[0].code)
            niks.append(number)
        return list(dict.fromkeys(niks))


class BenefitFlags(CodeList):
    """The aid a source marks as received: codes of a fixed list, each once (empty: none)."""

    def __init__(self, *, choices: tuple[str, ...], code: str, **kwargs: Any) -> None:
        super().__init__(code=code, **kwargs)
        self.choices = tuple(choices)
        _openapi(self, items={"type": "string", "enum": list(self.choices)})
        self.metadata["example"] = ["PKH", "PBI_JK"]

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValidationError(self.code)
        codes = []
        for item in value:
            flag = item.strip().upper().replace("-", "_") if isinstance(item, str) else ""
            if flag not in self.choices:
                raise ValidationError(self.code)
            codes.append(flag)
        return sorted(set(codes))


_YES = ("ya", "y", "yes", "true", "1", "meninggal")
_NO = ("", "tidak", "t", "no", "false", "0", "hidup")


class ListedMembers(fields.Field):
    """The members a source lists: `[{"nik", "relationship", "deceased"}]` (the API), or from a
    form one per line, `NIK, relationship[, ya]` (`ya`: the source marks them deceased). Each
    NIK checked like a NIK, each once; errors are named by position (`members.2.nik`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(), **kwargs)
        _openapi(
            self,
            type="array",
            items={
                "type": "object",
                "required": ["nik", "relationship"],
                "additionalProperties": False,
                "properties": {
                    "nik": {"type": "string", "pattern": "^[0-9]{16}$"},
                    "relationship": {"type": "string", "enum": list(LISTING_RELATIONSHIPS)},
                    "deceased": {"type": "boolean"},
                },
            },
        )
        self.metadata.setdefault(
            "example",
            [
                {"nik": "1571015203850007", "relationship": "kepala_keluarga", "deceased": False},
                {"nik": "1571011004820002", "relationship": "suami", "deceased": False},
            ],
        )

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> list[dict[str, Any]]:
        if isinstance(value, str):  # a form: one member per line
            value = [_member_line(line) for line in value.splitlines() if line.strip()]
        if not isinstance(value, list):
            raise ValidationError("field.invalid")
        members: list[dict[str, Any]] = []
        errors: dict[int, dict[str, list[str]]] = {}
        if not all(isinstance(item, dict) for item in value):
            raise ValidationError("field.object")
        for at, item in enumerate(value):
            problems = _member_problems(item)
            if not problems and item["nik"].translate(_SEPARATORS) in {m["nik"] for m in members}:
                problems = {"nik": ["listing.member_duplicate"]}
            if problems:
                errors[at] = problems
                continue
            members.append(
                {
                    "nik": item["nik"].translate(_SEPARATORS),
                    "relationship": _relationship(item["relationship"]),
                    "deceased": bool(item.get("deceased", False)),
                }
            )
        if errors:
            raise ValidationError(errors)
        return members


def _member_line(line: str) -> Any:
    """`NIK, relationship[, ya|tidak]` as a listed member (anything else stays as typed)."""
    parts = [p.strip() for p in line.replace(";", ",").split(",")]
    if len(parts) not in (2, 3):
        return line
    flag = parts[2].lower() if len(parts) == 3 else ""
    deceased: Any = True if flag in _YES else False if flag in _NO else flag
    return {"nik": parts[0], "relationship": parts[1], "deceased": deceased}


def _member_problems(item: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    unknown = set(item) - {"nik", "relationship", "deceased"}
    for key in sorted(unknown):
        problems[str(key)] = ["field.unknown"]
    nik = item.get("nik")
    if not isinstance(nik, str):
        problems["nik"] = ["field.required" if nik is None else "nik.format"]
    elif found := nik_problems(nik.translate(_SEPARATORS)):
        problems["nik"] = [found[0].code]
    relationship = item.get("relationship")
    if not isinstance(relationship, str) or _relationship(relationship) not in (
        LISTING_RELATIONSHIPS
    ):
        problems["relationship"] = ["relationship.unknown"]
    if not isinstance(item.get("deceased", False), bool):
        problems["deceased"] = ["listing.deceased_invalid"]
    return problems


class Id(fields.UUID):
    """A UUID as the API answered it (stream, benefit, enrolment, objection, approval)."""

    def __init__(self, *, code: str = "id.format", **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid_uuid=code, invalid=code), **kwargs)
        self.code = code
        self.metadata.setdefault("example", "0b7c9a52-3a9e-4f54-8a0e-2f1d6c1b9e10")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(self.code)
        return str(super()._deserialize(value.strip(), attr, data, **kwargs))


class RtRw(fields.Field):
    """An RT or RW number: 1-3 digits (a JSON number is accepted too), stored as 3 digits."""

    def __init__(self, *, code: str, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid=code), **kwargs)
        self.code = code
        _openapi(self, type="string", pattern="^[0-9]{1,3}$")
        self.metadata.setdefault("example", "007")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not _DIGITS_1_TO_3.fullmatch(value.strip()):
            raise ValidationError(self.code)
        if int(value) == 0:
            raise ValidationError(self.code)
        return value.strip().zfill(3)


class Kecamatan(fields.String):
    """A kecamatan of Kota Jambi by name, alternative spelling or code; stored by its name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid="kecamatan.unknown"), **kwargs)
        self.metadata.setdefault("example", "Telanaipura")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        found = find_kecamatan(super()._deserialize(value, attr, data, **kwargs))
        if found is None:
            raise ValidationError("kecamatan.unknown")
        return found.name


class OccurredAt(fields.AwareDateTime):
    """RFC 3339 with a time zone, not in the future; stored as UTC with `Z`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            format="iso",
            error_messages=_errors(
                invalid="occurred_at.format",
                invalid_awareness="occurred_at.format",
                format="occurred_at.format",
            ),
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment > dt.datetime.now(dt.UTC) + _CLOCK_SKEW:
            raise ValidationError("occurred_at.future")
        if moment < EARLIEST_MOMENT:
            raise ValidationError("occurred_at.too_old")
        return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Reason(fields.String):
    """Free text why; blank means none."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid="field.text"), **kwargs)
        _openapi(self, maxLength=500)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if len(text) > 500:
            raise ValidationError("reason.too_long")
        return text or None


# Characters no text may hold: C0 and C1 controls (line breaks and tabs apart: free text keeps
# them, one-line text turns them into spaces), the bidirectional marks, embeddings, overrides
# and isolates that make a name read differently from what is stored, the invisible
# zero-width space and byte order mark (a name holding one is not found by what is typed),
# and lone surrogates.
_FORBIDDEN_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e"
    "\u2066-\u2069\ufeff\ud800-\udfff]"
)


def without_forbidden_characters(value: str) -> str:
    """The text with the characters no text may hold (above) left out."""
    return _FORBIDDEN_CHARACTERS.sub("", value)


def text_problem(value: str) -> str | None:
    """The error code of a text holding a forbidden character (see above), else None."""
    return "text.character" if _FORBIDDEN_CHARACTERS.search(value) else None


def _text_problems(value: Any) -> list[str]:
    """The codes of a field's value: a text, or a list of texts (NIK and code lists)."""
    if isinstance(value, str):
        return [code] if (code := text_problem(value)) else []
    if isinstance(value, list):
        return sorted({code for item in value for code in _text_problems(item)})
    return []


class _Strict(Schema):
    """Unknown fields are errors: a misspelt optional field must not be dropped silently.

    No text may hold a control or bidirectional-override character (`text_problem`), and none
    may look like an encrypted personal field (`pd1.`...): stored as given, it would be opened
    on reading as the person's data it was copied from."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "field.unknown", "type": "field.object"}

    @pre_load
    def no_personal_data_tokens(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        refused: dict[Any, list[str]] = {}
        for key, value in data.items():  # one pass: every row of an import comes through here
            if isinstance(value, str):
                if isinstance(key, str) and _FORBIDDEN_CHARACTERS.search(value):
                    refused[key] = ["text.character"]
                if value.strip().startswith(TOKEN_PREFIX):
                    refused[key] = ["value.reserved"]
            elif isinstance(key, str) and (codes := _text_problems(value)):
                refused[key] = codes
        if refused:
            raise ValidationError(refused)
        return data


# --- shared parts ----------------------------------------------------------------------


class PersonSchema(_Strict):
    """A person as on the KTP: the NIK must agree with the birth date and sex given."""

    nik = IdentityNumber(kind="nik", required=True, metadata={"description": "16-digit NIK"})
    name = PersonName(
        required=True,
        metadata={
            "description": "as on the KTP: letters (any script, with accents), spaces and"
            " . , ' \u2019 ` -, at least one letter; no digits or other signs",
            "example": "Siti Aminah",
        },
    )
    birth_date = BirthDate(required=True)
    sex = Choice(
        choices=("M", "F"),
        code="sex.invalid",
        normalize=lambda s: s.strip().upper(),
        required=True,
        metadata={"example": "F"},
    )

    @validates_schema(skip_on_field_errors=False)
    def nik_matches_person(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not all(key in data for key in ("nik", "birth_date", "sex")):
            return
        problems = nik_problems(
            data["nik"], birth_date=dt.date.fromisoformat(data["birth_date"]), sex=data["sex"]
        )
        if problems:
            raise ValidationError([problem.code for problem in problems], field_name="nik")


def _nested(schema: type[Schema], **kwargs: Any) -> fields.Nested:
    return fields.Nested(schema, error_messages=_errors(), **kwargs)


def _household_id() -> Id:
    return Id(
        code="household_id.format",
        required=True,
        metadata={"description": "the household's id (RegisterHousehold's stream_id)"},
    )


def _nik(**metadata: Any) -> IdentityNumber:
    return IdentityNumber(
        kind="nik", required=True, metadata={"description": "a member's NIK", **metadata}
    )


class _Command(_Strict):
    """What every command may carry besides its own fields."""

    # a whole number: 1.5 or 1e30 is refused, not cut to 1 or taken as a version no stream has
    expected_version = WholeNumber(
        code="expected_version.invalid",
        low=0,
        high=2**31 - 1,
        load_default=None,
        allow_none=True,
        metadata={"description": "the stream's version the caller last saw; stale -> 409"},
    )
    reason = Reason(load_default=None, allow_none=True)
    occurred_at = OccurredAt(
        load_default=None,
        allow_none=True,
        metadata={
            "description": (
                "when it happened in the world (RFC 3339); default: the start (00:00 WIB) of"
                " the day the command says it happened on (date_of_death, moved_on,"
                " registered_on, effective_date, issued_on, ...; never later than now), else now"
            )
        },
    )

    @validates_schema(skip_on_field_errors=False)
    def version_not_negative(self, data: dict[str, Any], **kwargs: Any) -> None:
        version = data.get("expected_version")
        if version is not None and version < 0:
            raise ValidationError("expected_version.invalid", field_name="expected_version")


COMMON_FIELDS = ("expected_version", "reason", "occurred_at")


def _after(data: dict[str, Any], first: str, second: str, path: tuple[str, ...], code: str) -> None:
    """`second` (at `path`) must not be before `first`, when both are valid."""
    if first in data and second in data and data[second] < data[first]:
        error: Any = [code]
        for part in reversed(path):
            error = {part: error}
        raise ValidationError(error)


# --- membership --------------------------------------------------------------------------


def _kelurahan() -> fields.String:
    return fields.String(
        required=True,
        error_messages=_errors(invalid="kelurahan.unknown"),
        metadata={"example": "Simpang IV Sipin"},
    )


def _address() -> Text:
    return Text(
        code="address",
        max_length=200,
        required=True,
        metadata={"example": "Jl. Kapten Pattimura No. 5"},
    )


class _Place(_Command):
    """Where a family lives in the city (kecamatan, kelurahan, address, RT and RW): the
    kelurahan must be one of the kecamatan's, and is kept by its canonical name."""

    @validates_schema(skip_on_field_errors=False)
    def kelurahan_in_kecamatan(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "kecamatan" in data and "kelurahan" in data:
            if find_kelurahan(data["kecamatan"], data["kelurahan"]) is None:
                raise ValidationError("kelurahan.unknown", field_name="kelurahan")

    @post_load
    def canonical_kelurahan(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["kelurahan"] = find_kelurahan(data["kecamatan"], data["kelurahan"]).name
        return data


class RegisterHouseholdSchema(_Place):
    kk_number = IdentityNumber(
        kind="kk", required=True, metadata={"description": "16-digit KK number"}
    )
    kecamatan = Kecamatan(required=True)
    kelurahan = _kelurahan()
    address = _address()
    rt = RtRw(code="rt.format", required=True)
    rw = RtRw(code="rw.format", required=True, metadata={"example": "002"})
    head = _nested(PersonSchema, required=True, metadata={"description": "the head of the family"})


class RelocateHouseholdSchema(_Place):
    household_id = _household_id()
    kecamatan = Kecamatan(required=True)
    kelurahan = _kelurahan()
    address = _address()
    rt = RtRw(code="rt.format", required=True)
    rw = RtRw(code="rw.format", required=True, metadata={"example": "002"})
    moved_on = Day(past=True, required=True, metadata={"title": N_("Moved on")})


def _relationship(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").split())


class AddMemberSchema(_Command):
    household_id = _household_id()
    person = _nested(
        PersonSchema,
        required=True,
        metadata={
            "example": {
                "nik": "1571011004820002",
                "name": "Budi Santoso",
                "birth_date": "1982-04-10",
                "sex": "M",
            }
        },
    )
    relationship = Choice(
        choices=RELATIONSHIPS,
        code="relationship.unknown",
        normalize=_relationship,
        required=True,
        metadata={"example": "suami"},
    )


class RemoveMemberSchema(_Command):
    household_id = _household_id()
    nik = _nik()
    kind = Choice(
        choices=tuple(REMOVAL_KINDS),
        code="removal.kind_unknown",
        required=True,
        metadata={"description": "moved_out, deceased or other"},
    )
    effective_date = Day(required=True, metadata={"description": "from when (YYYY-MM-DD)"})


class CorrectMemberSchema(_Command):
    """Rectification (UU PDP art. 6): a member's name, birth date or sex as their KTP or KK
    shows them, or their relationship to the head as the KK shows it; at least one, each with
    PersonSchema's (and AddMember's) rules. The NIK is not changed here: a
    birth date or sex that disagrees with it is refused (`correction.nik_disagrees`; the NIK is
    corrected through Dukcapil). Kept for another supervisor's approval."""

    household_id = _household_id()
    nik = _nik(description="the member whose data is corrected")
    name = PersonName(
        load_default=None,
        metadata={
            "description": "the name as on the KTP (PersonSchema's rules); left out: unchanged",
            "example": "Siti Aminah",
        },
    )
    birth_date = BirthDate(
        load_default=None,
        metadata={"description": "as on the KTP, agreeing with the NIK; left out: unchanged"},
    )
    sex = Choice(
        choices=("M", "F"),
        code="sex.invalid",
        normalize=lambda s: s.strip().upper(),
        load_default=None,
        metadata={
            "description": "M or F, agreeing with the NIK; left out: unchanged",
            "example": "F",
        },
    )
    relationship = Choice(
        choices=RELATIONSHIPS,
        code="relationship.unknown",
        normalize=_relationship,
        load_default=None,
        metadata={
            "description": "the relationship to the head as on the KK (never kepala_keluarga:"
            " ChangeHead); left out: unchanged",
            "example": "orang_tua",
        },
    )
    reason = Reason(
        required=True,
        metadata={
            "description": "the document that shows the right value",
            "example": "KTP asli dan KK, diperiksa 3 Des 2026.",
        },
    )

    @validates_schema(skip_on_field_errors=False)
    def reason_given(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "reason" in data and not data["reason"]:  # blank: which document is not said
            raise ValidationError("field.required", field_name="reason")

    @validates_schema(skip_on_field_errors=True)
    def something_to_correct(self, data: dict[str, Any], **kwargs: Any) -> None:
        if all(data.get(key) is None for key in ("name", "birth_date", "sex", "relationship")):
            raise ValidationError("correction.empty", field_name="name")
        problems = correction_problems(data["nik"], data.get("birth_date"), data.get("sex"))
        if problems:
            raise ValidationError({key: [code] for key, code in problems})


class StatedRelationshipSchema(_Strict):
    """One member's relationship to the new head, as the new KK shows it (ChangeHead)."""

    nik = _nik(description="another active member (not the new head)", example="1571016005750003")
    relationship = Choice(
        choices=RELATIONSHIPS,
        code="relationship.unknown",
        normalize=_relationship,
        required=True,
        metadata={"description": "the relationship to the new head", "example": "orang_tua"},
    )


class StatedRelationships(fields.List):
    """ChangeHead's relationships to the new head, one entry per member stated; an entry's
    errors are named by its place in the list (`relationships.0.relationship`), not its NIK."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(_nested(StatedRelationshipSchema), error_messages=_errors(), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, list) and not all(isinstance(item, dict) for item in value):
            raise ValidationError("field.object")  # entries are {"nik", "relationship"}
        return super()._deserialize(value, attr, data, **kwargs)


class ChangeHeadSchema(_Command):
    """A new head of family with the new KK number. `relationships` states other active
    members' relationships to the new head as the new KK shows them; a member left out gets
    the one the old relationship implies where the KK leaves no doubt (a widow heading the
    family keeps the children as anak), else keeps theirs, marked for review
    (`relationship_to_review`) until a CorrectMember sets it."""

    household_id = _household_id()
    nik = _nik(description="the new head: an active adult member")
    new_kk_number = IdentityNumber(
        kind="kk",
        required=True,
        metadata={"description": "the family's new KK number", "example": "1571010202210004"},
    )
    relationships = StatedRelationships(
        load_default=None,
        metadata={
            "description": "other active members' relationships to the new head, each member"
            " once; left out: derived where the KK leaves no doubt, else marked for review",
            "example": [{"nik": "1571016005750003", "relationship": "orang_tua"}],
        },
    )


class SplitFamilySchema(_Command):
    """Pecah KK: active members (never the head of the KK) leave with a new head among them
    for a new household on a new KK number, at the same address unless a new place is given
    whole (kecamatan, kelurahan, address, RT and RW). Kept for a supervisor's approval; once
    approved, the answer's stream_id is the new household, linked to the old one both ways
    (`split_from`, `splits`). Their relationships on the new KK follow from those on the old
    one (a child's spouse becomes the spouse, a grandchild a child; others famili_lain). The
    movers' benefits stay on the old household and are reviewed (cause moved_out)."""

    household_id = _household_id()
    members = NikList(
        required=True,
        metadata={
            "description": "the NIKs of the active members who move, the new head among them",
            "example": ["1571011004820002", "1571014506100003"],
        },
    )
    new_head_nik = _nik(
        description="the head of the new family: one of the members who move, 17 or older",
        example="1571011004820002",
    )
    new_kk_number = IdentityNumber(
        kind="kk",
        required=True,
        metadata={"description": "the new family's KK number", "example": "1571010202210004"},
    )
    effective_date = Day(
        past=True, required=True, metadata={"description": "the day of the split (YYYY-MM-DD)"}
    )
    kecamatan = Kecamatan(load_default=None, allow_none=True)
    kelurahan = fields.String(
        load_default=None,
        allow_none=True,
        error_messages=_errors(invalid="kelurahan.unknown"),
        metadata={"example": "Simpang IV Sipin"},
    )
    address = Text(
        code="address",
        max_length=200,
        load_default=None,
        allow_none=True,
        metadata={"example": "Jl. Kapten Pattimura No. 7"},
    )
    rt = RtRw(code="rt.format", load_default=None, allow_none=True)
    rw = RtRw(code="rw.format", load_default=None, allow_none=True, metadata={"example": "002"})

    _PLACE = ("kecamatan", "kelurahan", "address", "rt", "rw")

    @validates_schema(skip_on_field_errors=False)
    def new_place_whole(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [key for key in self._PLACE if data.get(key) is not None]
        if not given:
            return
        missing = {key: ["field.required"] for key in self._PLACE if key not in given}
        if missing:
            raise ValidationError(missing)
        if find_kelurahan(data["kecamatan"], data["kelurahan"]) is None:
            raise ValidationError("kelurahan.unknown", field_name="kelurahan")

    @validates_schema(skip_on_field_errors=True)
    def head_among_movers(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["members"] and data["new_head_nik"] not in data["members"]:
            raise ValidationError("split.head_not_moving", field_name="new_head_nik")

    @post_load
    def canonical(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("kelurahan") is not None:
            data["kelurahan"] = find_kelurahan(data["kecamatan"], data["kelurahan"]).name
        return data


class RecordDeathSchema(_Command):
    household_id = _household_id()
    nik = _nik()
    date_of_death = Day(past=True, required=True)


# --- identity ----------------------------------------------------------------------------


class ArrivalSchema(_Strict):
    """How the person came to live here: born here, or moved in (pindah datang, SKPWNI)."""

    type = Choice(choices=ARRIVAL_TYPES, code="arrival.type_unknown", required=True)
    arrived_on = Day(
        past=True,
        load_default=None,
        allow_none=True,
        example="2024-06-01",
        metadata={"description": "required for pindah_datang; not after issued_on"},
    )
    origin_region_code = Pattern(
        pattern=_REGION,
        code="region_code.format",
        example="3171",
        load_default=None,
        allow_none=True,
        metadata={"description": "required for pindah_datang: Kemendagri code, 4 or 6 digits"},
    )

    @validates_schema(skip_on_field_errors=True)
    def moved_in_needs_date_and_origin(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("type") != "pindah_datang":
            return
        problems: dict[str, list[str]] = {}
        if data.get("arrived_on") is None:
            problems["arrived_on"] = ["arrival.arrived_on_required"]
        if data.get("origin_region_code") is None:
            problems["origin_region_code"] = ["arrival.origin_required"]
        if problems:
            raise ValidationError(problems)

    @post_load
    def born_here_has_no_arrival(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data["type"] == "born_here":
            data.update(arrived_on=None, origin_region_code=None)
        return data


class IssueKtpSchema(_Command):
    household_id = _household_id()
    nik = _nik()
    issued_on = Day(past=True, required=True, example="2025-01-15")
    arrival = _nested(
        ArrivalSchema,
        required=True,
        metadata={
            "example": {
                "type": "pindah_datang",
                "arrived_on": "2024-06-01",
                "origin_region_code": "3171",
            }
        },
    )

    @validates_schema(skip_on_field_errors=True)
    def arrived_before_issue(self, data: dict[str, Any], **kwargs: Any) -> None:
        arrived_on = data["arrival"].get("arrived_on")
        if arrived_on is not None and arrived_on > data["issued_on"]:
            raise ValidationError({"arrival": {"arrived_on": ["arrival.after_issue"]}})


class RegisterHomelessPersonSchema(_Command):
    name = Text(
        code="name",
        max_length=100,
        required=True,
        metadata={
            "description": "the name the person gives, or a description",
            "example": "Pak Udin",
        },
    )
    estimated_birth_year = WholeNumber(
        code="birth_year.out_of_range",
        low=1900,
        high=lambda: today().year,
        load_default=None,
        allow_none=True,
        example=1970,
    )
    sex = Choice(
        choices=("M", "F"),
        code="sex.invalid",
        normalize=lambda s: s.strip().upper(),
        required=True,
    )
    found_at = Text(
        code="found_at",
        max_length=200,
        required=True,
        metadata={"description": "where the person was found", "example": "Pasar Angso Duo"},
    )
    kecamatan = Kecamatan(required=True, metadata={"example": "Pasar Jambi"})
    notes = OptionalText(code="notes", max_length=2000)


def _person_id() -> Id:
    return Id(
        required=True,
        metadata={"description": "the provisional person's id (RegisterHomelessPerson)"},
    )


def _note_text(example: str) -> Text:
    return Text(code="note_text", max_length=4000, required=True, metadata={"example": example})


class LinkIdentitySchema(_Command):
    person_id = _person_id()
    household_id = _household_id()
    nik = _nik(description="the person's NIK, an active member of the household")


class AddPersonNoteSchema(_Command):
    person_id = _person_id()
    text = _note_text("Tidur di emperan pasar; bersedia dibawa ke rumah singgah.")


class RecordServiceSchema(_Command):
    person_id = _person_id()
    service = Choice(choices=SERVICES, code="service.unknown", required=True)
    delivered_on = Day(past=True, required=True)
    notes = OptionalText(code="notes", max_length=2000)


# --- business ----------------------------------------------------------------------------


def _nib() -> Pattern:
    return Pattern(
        pattern=_NIB,
        code="nib.format",
        example="9120001234567",
        required=True,
        metadata={"description": "13-digit NIB (OSS)"},
    )


class RegisterNibSchema(_Command):
    household_id = _household_id()
    nik = _nik()
    nib = _nib()
    business_name = Text(
        code="business_name",
        max_length=200,
        required=True,
        metadata={"example": "Warung Siti"},
    )
    registered_on = Day(past=True, required=True)


class RevokeNibSchema(_Command):
    household_id = _household_id()
    nik = _nik()
    nib = _nib()
    revoked_on = Day(past=True, required=True)


# --- welfare -----------------------------------------------------------------------------


class RecordWelfareAssessmentSchema(_Command):
    household_id = _household_id()
    source = Choice(
        choices=ASSESSMENT_SOURCES,
        code="assessment.source_unknown",
        normalize=lambda s: s.strip().upper(),
        required=True,
    )
    desil = WholeNumber(code="desil.out_of_range", low=1, high=10, required=True, example=3)
    period = Pattern(
        pattern=_PERIOD,
        code="period.format",
        example="2025-Q1",
        upper=True,
        required=True,
        metadata={"description": "YYYY-Qn"},
    )
    reference = OptionalText(
        code="reference",
        max_length=200,
        metadata={
            "description": "the source's reference (batch, letter)",
            "example": "BPS-2025-02",
        },
    )


class RecordSourceListingSchema(_Command):
    """What one source lists about a family, as imported: a fact about the source (it records
    no death, adds no member, grants nothing). The same (source, period, reference) for the
    household again is 409 `listing.duplicate`, so an import run twice adds nothing."""

    household_id = _household_id()
    source = Choice(
        choices=ASSESSMENT_SOURCES,
        code="assessment.source_unknown",
        normalize=lambda s: s.strip().upper(),
        required=True,
    )
    period = Pattern(
        pattern=_PERIOD,
        code="period.format",
        example="2026-Q1",
        upper=True,
        required=True,
        metadata={"description": "YYYY-Qn"},
    )
    reference = Text(
        code="reference",
        max_length=200,
        required=True,
        metadata={
            "description": "the file and row, or the source's own id",
            "example": "keluarga_dtsen_v3_2026_1571.csv#row=12",
        },
    )
    kk_number = IdentityNumber(
        kind="kk",
        required=True,
        metadata={"description": "the KK number as the source lists it"},
    )
    members = ListedMembers(
        required=True,
        metadata={
            "title": N_("Members as the source lists them"),
            "description": "the members the source lists: NIK, relationship (the Casework"
            " code, kepala_keluarga for the head) and whether the source marks them deceased",
        },
    )
    desil = WholeNumber(
        code="desil.out_of_range",
        low=1,
        high=10,
        load_default=None,
        allow_none=True,
        example=2,
        metadata={"description": "the source's decile, 1..10 (null: none given)"},
    )
    benefits = BenefitFlags(
        choices=LISTING_BENEFITS,
        code="listing.benefit_unknown",
        load_default=list,
        metadata={"description": "the aid the source marks as received (empty: none)"},
    )


class RecordVerificationSchema(_Command):
    household_id = _household_id()
    outcome = Choice(
        choices=VERIFICATION_OUTCOMES, code="verification.outcome_unknown", required=True
    )
    visited_on = Day(past=True, required=True)
    verifier = Text(
        code="verifier",
        max_length=100,
        required=True,
        metadata={"description": "who visited", "example": "Tim Verval 12"},
    )
    notes = OptionalText(code="notes", max_length=2000)


# --- programs ----------------------------------------------------------------------------


class SourceList(CodeList):
    """Welfare-decile sources in the order given (the first decides), each once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(code="rules.desil_source_unknown", **kwargs)
        _openapi(self, items={"type": "string", "enum": list(DESIL_SOURCES)}, minItems=1)
        self.metadata["example"] = list(DEFAULT_DESIL_SOURCE["order"])

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            raise ValidationError(self.code)
        sources = [item.strip().upper() if isinstance(item, str) else "" for item in value]
        if any(s not in DESIL_SOURCES for s in sources) or len(set(sources)) != len(sources):
            raise ValidationError(self.code)
        return sources


class DesilSourceSchema(_Strict):
    """Which source decides the welfare decile; a field left out takes its default (DTSEN
    first, no override, not compared)."""

    order = SourceList(
        metadata={
            "description": "the sources read: the first decides when it has a decile known "
            "that day, else the latest of the others (the same quarter: the one listed first)"
        }
    )
    verification_overrides = Flag(
        code="rules.flag_invalid",
        metadata={"description": "a field verification (VERVAL) of a later quarter overrides"},
    )
    tolerance = WholeNumber(
        code="rules.desil_tolerance_invalid",
        low=0,
        high=MAX_TOLERANCE,
        allow_none=True,
        example=1,
        metadata={
            "description": "the most the sources' latest deciles may differ by; beyond it the "
            "decile rule is left to a person (review); null: not compared"
        },
    )

    @validates_schema(skip_on_field_errors=True)
    def verification_is_read(self, data: dict[str, Any], **kwargs: Any) -> None:
        order = data.get("order", DEFAULT_DESIL_SOURCE["order"])
        if data.get("verification_overrides") and FIELD_VERIFICATION not in order:
            raise ValidationError(
                ["rules.desil_source_verval_missing"], field_name="verification_overrides"
            )


class RulesSchema(_Strict):
    """A program's eligibility rules; a field left out means no restriction (DefineProgram)
    or keeps its current value (ChangeProgramRules)."""

    max_desil = WholeNumber(
        code="rules.max_desil_invalid",
        low=1,
        high=10,
        allow_none=True,
        example=4,
        metadata={"description": "highest welfare decile admitted; null: any"},
    )
    min_residence_months = WholeNumber(
        code="rules.min_residence_months_invalid", low=0, high=1200, example=0
    )
    excludes_nib_holders = Flag(code="rules.flag_invalid")
    once_per_kk = Flag(code="rules.flag_invalid")
    combinable_with = CodeList(
        code="rules.combinable_with_invalid",
        metadata={
            "description": "codes of other programs already defined that it combines with"
            " (both ways: each must list the other)"
        },
    )
    recipient = Choice(
        choices=RECIPIENTS,
        code="rules.recipient_unknown",
        metadata={"example": "adult_woman"},
    )
    serves_without_nik = Flag(
        code="rules.flag_invalid",
        metadata={
            "description": "also helps people without a NIK yet (GrantProvisionalBenefit);"
            " default false"
        },
    )
    desil_source = _nested(
        DesilSourceSchema,
        metadata={"description": "which source decides the decile, and how far they may differ"},
    )


def _yearly_target(description: str) -> WholeNumber:
    return WholeNumber(
        code="program.yearly_target_invalid",
        low=1,
        high=10**7,
        load_default=None,
        allow_none=True,
        example=5000,
        metadata={"description": description},
    )


class DefineProgramSchema(_Command):
    code = ProgramCode(required=True)
    name = Text(
        code="program_name",
        max_length=200,
        required=True,
        metadata={"example": "Program Keluarga Harapan"},
    )
    opd = Pattern(
        pattern=re.compile(r"[A-Z0-9_. -]{1,50}"),
        code="opd.invalid",
        example="DINSOS",
        upper=True,
        required=True,
        metadata={"description": "the OPD (agency) that runs it"},
    )
    funding = Choice(
        choices=FUNDINGS,
        code="program.funding_unknown",
        normalize=lambda s: s.strip().upper(),
        required=True,
    )
    kind = Choice(choices=KINDS, code="program.kind_unknown", required=True)
    rules = _nested(RulesSchema)
    effective_from = Day(
        load_default=None,
        allow_none=True,
        example="2025-01-01",
        metadata={"description": "when the rules take effect; default: the day it happened"},
    )
    yearly_target = _yearly_target(
        description="how many families the program means to reach in a year (optional)"
    )


class ChangeProgramRulesSchema(_Command):
    code = ProgramCode(required=True)
    rules = _nested(RulesSchema, required=True)
    effective_from = Day(load_default=None, allow_none=True, example="2025-07-01")
    yearly_target = _yearly_target(description="a new target; left out: the target stays")


# --- benefits ----------------------------------------------------------------------------


class GrantBenefitSchema(_Command):
    household_id = _household_id()
    nik = _nik(description="the recipient, a member")
    program = ProgramCode(required=True)
    period_start = Day(required=True, example="2025-01-01")
    period_end = Day(required=True, example="2025-03-31")
    amount = WholeNumber(
        code="amount.invalid",
        low=0,
        high=10**12,
        below_code="amount.negative",
        above_code="amount.too_large",
        required=True,
        example=750000,
        metadata={"description": "whole rupiah"},
    )

    @validates_schema(skip_on_field_errors=False)
    def ends_after_start(self, data: dict[str, Any], **kwargs: Any) -> None:
        _after(data, "period_start", "period_end", ("period_end",), "period.end_before_start")


CHANGE_DAY = (
    "within the benefit's period, not before a change already in force; the changes recorded"
    " to take effect after it, still to come, it replaces"
)


def _benefit_change_schema(name: str) -> type[Schema]:
    return type(
        name,
        (_Command,),
        {
            "household_id": _household_id(),
            "benefit_id": Id(required=True, metadata={"description": "GrantBenefit's benefit_id"}),
            "effective_date": Day(
                required=True,
                metadata={"description": CHANGE_DAY},
            ),
            "reason_code": Choice(
                choices=BENEFIT_CHANGE_REASONS,
                code="reason_code.unknown",
                required=True,
                metadata={
                    "description": "why, a code; `other` needs the free-text `reason`",
                    "example": "no_longer_eligible",
                },
            ),
            "__doc__": f"{name.removesuffix('Schema')}: one benefit, from the date given.",
        },
    )


class GrantProvisionalBenefitSchema(_Command):
    """A benefit to a person without a NIK yet, of a program that serves them."""

    person_id = _person_id()
    program = ProgramCode(
        required=True,
        metadata={
            "description": "a program whose rules say serves_without_nik",
            "example": "REHSOS",
        },
    )
    period_start = Day(required=True, example="2025-01-01")
    period_end = Day(required=True, example="2025-03-31")
    amount = WholeNumber(
        code="amount.invalid",
        low=0,
        high=10**12,
        below_code="amount.negative",
        above_code="amount.too_large",
        required=True,
        example=300000,
        metadata={"description": "whole rupiah"},
    )

    @validates_schema(skip_on_field_errors=False)
    def ends_after_start(self, data: dict[str, Any], **kwargs: Any) -> None:
        _after(data, "period_start", "period_end", ("period_end",), "period.end_before_start")


class TerminateProvisionalBenefitSchema(_Command):
    """TerminateProvisionalBenefit: a benefit granted before the NIK, from the date given."""

    person_id = _person_id()
    benefit_id = Id(required=True, metadata={"description": "GrantProvisionalBenefit's benefit_id"})
    effective_date = Day(
        required=True,
        metadata={"description": CHANGE_DAY},
    )
    reason_code = Choice(
        choices=BENEFIT_CHANGE_REASONS,
        code="reason_code.unknown",
        required=True,
        metadata={
            "description": "why, a code; `other` needs the free-text `reason`",
            "example": "no_longer_eligible",
        },
    )


class SuspendProvisionalBenefitSchema(TerminateProvisionalBenefitSchema):
    """SuspendProvisionalBenefit: an active benefit granted before the NIK pauses."""


class ResumeProvisionalBenefitSchema(TerminateProvisionalBenefitSchema):
    """ResumeProvisionalBenefit: a suspended benefit granted before the NIK runs again."""


SuspendBenefitSchema = _benefit_change_schema("SuspendBenefitSchema")
ResumeBenefitSchema = _benefit_change_schema("ResumeBenefitSchema")
TerminateBenefitSchema = _benefit_change_schema("TerminateBenefitSchema")


class EnrollEmpowermentSchema(_Command):
    household_id = _household_id()
    nik = _nik()
    program = ProgramCode(required=True, metadata={"example": "UMKM-NAIK-KELAS"})
    enrolled_on = Day(past=True, required=True)


class CompleteEmpowermentSchema(_Command):
    household_id = _household_id()
    enrollment_id = Id(required=True, metadata={"description": "EnrollEmpowerment's enrollment_id"})
    outcome = Choice(choices=EMPOWERMENT_OUTCOMES, code="enrollment.outcome_unknown", required=True)
    completed_on = Day(past=True, required=True)


# --- casework ----------------------------------------------------------------------------


class AddCaseNoteSchema(_Command):
    household_id = _household_id()
    text = _note_text("Kunjungan rumah: anak kedua belum sekolah.")


def _known_kelurahan(value: str) -> None:
    """A kelurahan of Kota Jambi by name, spelling or code (which kecamatan is not asked)."""
    if not kelurahan_matches(value):
        raise ValidationError("kelurahan.unknown")


class FileObjectionSchema(_Command):
    household_id = _household_id()
    objector_nik = IdentityNumber(
        kind="nik",
        required=True,
        metadata={"description": "the objector, living in the same kelurahan"},
    )
    objector_kelurahan = fields.String(
        load_default=None,
        allow_none=True,
        validate=_known_kelurahan,
        error_messages=_errors(invalid="kelurahan.unknown"),
        metadata={
            "description": "where the objector lives, a kelurahan of Kota Jambi by name or"
            " code: the household's; required when the objector is not in the register",
            "example": "Simpang IV Sipin",
        },
    )
    grounds = Text(
        code="grounds",
        max_length=2000,
        required=True,
        metadata={"example": "Rumah tangga ini memiliki mobil dan toko."},
    )
    filed_on = Day(past=True, required=True)
    photo_reference = Text(
        code="photo_reference",
        max_length=500,
        required=True,
        metadata={"description": "where the photo is kept", "example": "foto/sanggah-0012.jpg"},
    )
    latitude = Coordinate(limit=90, example=-1.6101, required=True)
    longitude = Coordinate(limit=180, example=103.6131, required=True)


class ResolveObjectionSchema(_Command):
    household_id = _household_id()
    objection_id = Id(required=True, metadata={"description": "FileObjection's objection_id"})
    resolution = Choice(
        choices=OBJECTION_RESOLUTIONS, code="objection.resolution_unknown", required=True
    )
    resolved_on = Day(past=True, required=True)


class DecideReviewSchema(_Command):
    """DecideReview: a supervisor (or the program's OPD manager) decides a review the
    policies opened. `keep` closes it; `suspend` suspends the benefit from today; `terminate`
    waits for a second supervisor (202), then terminates it from the day approved."""

    household_id = _household_id()
    review_id = Id(required=True, metadata={"description": "the review's id (GET /api/v1/reviews)"})
    decision = Choice(choices=REVIEW_DECISIONS, code="review.decision_unknown", required=True)
    reason = Reason(
        required=True,
        metadata={
            "description": "why: what was checked, and with whom",
            "example": "Usaha sudah tutup sejak Juni; dicek di OSS dan kunjungan lapangan.",
        },
    )


# --- privacy (UU PDP) --------------------------------------------------------------------


class RestrictProcessingSchema(_Command):
    """RestrictProcessing: only the registry keeps the person's data until it is lifted."""

    household_id = _household_id()
    nik = _nik()
    grounds = Text(
        code="restriction_grounds",
        max_length=2000,
        required=True,
        metadata={
            "description": "why (e.g. the data subject contests the data's accuracy)",
            "example": "Subjek data membantah keakuratan data; permohonan tertulis.",
        },
    )


class LiftRestrictionSchema(_Command):
    """LiftRestriction: programs and agencies may use the person's data again."""

    household_id = _household_id()
    nik = _nik()


class RequestErasureSchema(_Command):
    """RequestErasure: destroy the person's key (crypto-shredding), once a supervisor approves."""

    household_id = _household_id()
    nik = _nik()
    reason = Reason(
        required=True,
        metadata={
            "description": "the data subject's request and its reference (letter, date)",
            "example": "Permohonan penghapusan tertulis subjek data, 2 Nov 2026.",
        },
    )


class ApproveChangeSchema(_Command):
    approval_id = Id(required=True, metadata={"description": "the approval_id answered with 202"})
    note = OptionalText(code="note", max_length=500)


class RejectChangeSchema(_Command):
    approval_id = Id(required=True, metadata={"description": "the approval_id answered with 202"})
    reason_code = Choice(
        choices=REJECTION_REASONS,
        code="rejection.reason_unknown",
        required=True,
        metadata={"description": "why it is rejected, a code", "example": "insufficient_evidence"},
    )
    note = Text(
        code="note",
        max_length=500,
        required=True,
        metadata={"description": "why it is rejected", "example": "Periode tidak sesuai SK."},
    )
    exemption = Choice(
        choices=ERASURE_EXEMPTIONS,
        code="exemption.unknown",
        load_default=None,
        allow_none=True,
        metadata={
            "description": "refusing a RequestErasure in the public interest: the UU PDP"
            " article 15(1) ground, recorded on the household"
        },
    )


# --- agencies ---------------------------------------------------------------------------


def _listed(value: Any, code: str) -> list[str]:
    """A list of texts, or (a form) one text separated by commas, semicolons or lines."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[,;\n]", value)]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(code)
    return [item.strip() for item in value if item.strip()]


class EventTypeList(fields.Field):
    """Event type names an agreement may name (`domain.agreement_cases.shareable_fields`),
    each once; at least one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid="agreement.event_type_unknown"), **kwargs)
        _openapi(
            self,
            type="array",
            minItems=1,
            items={"type": "string", "enum": sorted(shareable_fields())},
        )
        self.metadata.setdefault("example", ["HouseholdRegistered", "MemberAdded"])

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        names = _listed(value, "agreement.event_type_unknown")
        if not names:
            raise ValidationError("agreement.event_types_empty")
        if any(name not in shareable_fields() for name in names):
            raise ValidationError("agreement.event_type_unknown")
        return sorted(set(names))


class FieldPaths(fields.Field):
    """{event type: [data field paths]}: what of each event type's data the agency receives
    (`parent.child` inside a nested person, e.g. `head.nik`). A form types one event type a
    line: `HouseholdRegistered: kecamatan, kelurahan, head.nik`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid="agreement.fields_invalid"), **kwargs)
        _openapi(
            self,
            type="object",
            additionalProperties={"type": "array", "items": {"type": "string"}},
        )
        self.metadata.setdefault(
            "example", {"HouseholdRegistered": ["kecamatan", "kelurahan", "head.nik"]}
        )

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, list[str]]:
        if isinstance(value, str):
            parsed: dict[str, Any] = {}
            for line in value.splitlines():
                if not line.strip():
                    continue
                event_type, colon, paths = line.partition(":")
                if not colon:
                    raise ValidationError("agreement.fields_invalid")
                parsed[event_type.strip()] = paths
            value = parsed
        if not isinstance(value, dict):
            raise ValidationError("agreement.fields_invalid")
        known = shareable_fields()
        out: dict[str, list[str]] = {}
        errors: dict[str, list[str]] = {}
        for event_type, paths in value.items():
            if event_type not in known:  # not a name to put in a path: the field itself
                raise ValidationError("agreement.event_type_unknown")
            try:
                listed = _listed(paths, "agreement.fields_invalid")
            except ValidationError:
                errors[event_type] = ["agreement.fields_invalid"]
                continue
            if any(path not in known[event_type] for path in listed):
                errors[event_type] = ["agreement.field_unknown"]
                continue
            out[event_type] = sorted(set(listed))
        if errors:
            raise ValidationError(errors)
        return out


class AreaNames(fields.Field):
    """Kecamatan or kelurahan of Kota Jambi by name or code, kept by their official names;
    empty: the whole city."""

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid=f"{kind}.unknown"), **kwargs)
        self.kind = kind
        _openapi(self, type="array", items={"type": "string"})
        self.metadata.setdefault("example", [] if kind == "kecamatan" else ["Simpang IV Sipin"])

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        names = _listed(value, f"{self.kind}.unknown")
        try:
            if self.kind == "kecamatan":
                return canonical_area(names, [])[0]
            return canonical_area([], names)[1]
        except DomainError as error:
            raise ValidationError(error.code) from None


def _agency() -> Pattern:
    return Pattern(
        pattern=AGENCY_CODE,
        code="agreement.agency_invalid",
        example="BPJSKES",
        upper=True,
        required=True,
        metadata={"description": "the agency's code, as on its accounts (--agency)"},
    )


def _agreement_fields(define: bool) -> dict[str, fields.Field]:
    """The terms of DefineAgencyAgreement (`define`) or ChangeAgencyAgreement (each field
    optional there: left out, it keeps its value)."""
    needed = {"required": True} if define else {}
    return {
        "agency": _agency(),
        "purpose": Text(
            code="purpose",
            max_length=500,
            **needed,
            metadata={"example": "Verifikasi kepesertaan PBI-JK"},
        ),
        "legal_basis": Text(
            code="legal_basis",
            max_length=500,
            **needed,
            metadata={"example": "PKS Dinsos Kota Jambi - BPJS Kesehatan No. 12/2026"},
        ),
        "event_types": EventTypeList(**needed),
        "fields": FieldPaths(
            **({"load_default": dict} if define else {}),
            metadata={"description": "left out: only the envelope of each event, no data"},
        ),
        "personal": Choice(
            choices=PERSONAL_MODES,
            code="agreement.personal_unknown",
            **({"load_default": "pseudonym"} if define else {}),
            metadata={
                "description": "pseudonym (default): identifiers as stable pseudonyms per"
                " agency, other personal fields left out; opened: in clear"
            },
        ),
        "kecamatan": AreaNames(kind="kecamatan", **({"load_default": list} if define else {})),
        "kelurahan": AreaNames(kind="kelurahan", **({"load_default": list} if define else {})),
        "valid_from": Day(
            **({"load_default": None, "allow_none": True} if define else {}),
            example="2026-01-01",
            metadata={"description": "the first day it applies; default: the day it happened"},
        ),
        "valid_until": Day(
            **({"load_default": None} if define else {}),
            allow_none=True,
            example="2026-12-31",
            metadata={"description": "the last day it applies; null: no end"},
        ),
    }


def _agreement_schema(name: str, define: bool) -> type[Schema]:
    def valid_period(self: Any, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("valid_from") and data.get("valid_until"):
            _after(
                data,
                "valid_from",
                "valid_until",
                ("valid_until",),
                "agreement.valid_until_before_from",
            )
        chosen = data.get("event_types")
        if chosen is not None and isinstance(data.get("fields"), dict):
            extra = sorted(set(data["fields"]) - set(chosen))
            if extra:
                raise ValidationError({"fields": {extra[0]: ["agreement.fields_event_type"]}})

    body: dict[str, Any] = {
        **_agreement_fields(define),
        "valid_period": validates_schema(skip_on_field_errors=True)(valid_period),
        "__doc__": (
            "DefineAgencyAgreement: a data-sharing agreement with an agency (maker-checker)."
            if define
            else "ChangeAgencyAgreement: new terms; what is left out keeps its value."
        ),
    }
    if not define:
        body["drop_missing"] = post_load(_without_defaults)
    return type(name, (_Command,), body)


def _without_defaults(self: Any, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A change keeps what it leaves out: no default stands for a field not given."""
    return {k: v for k, v in data.items() if v is not None or k in ("valid_until", *COMMON_FIELDS)}


DefineAgencyAgreementSchema = _agreement_schema("DefineAgencyAgreementSchema", define=True)
ChangeAgencyAgreementSchema = _agreement_schema("ChangeAgencyAgreementSchema", define=False)


class RevokeAgencyAgreementSchema(_Command):
    """RevokeAgencyAgreement: the agency receives nothing more (maker-checker)."""

    agency = _agency()
    reason = Reason(
        required=True,
        metadata={
            "description": "why the agreement ends",
            "example": "PKS berakhir; tidak diperpanjang.",
        },
    )


# --- the catalogue ----------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A command of the API: its declaration (domain/commands.py), its schema, and how the
    use case's field names map onto the schema's dot paths."""

    declaration: Declaration
    schema: type[Schema]
    domain_fields: Mapping[str, str]

    @property
    def name(self) -> str:
        return self.declaration.name

    @property
    def needs_approval(self) -> bool:
        return self.declaration.needs_approval


def _schema_of(name: str) -> type[Schema]:
    """`<Name>Schema` of this module: each declared command has its schema here."""
    found = globals().get(f"{name}Schema")
    if not (isinstance(found, type) and issubclass(found, _Command)):
        raise LookupError(f"app/schemas.py: the declared command {name} has no {name}Schema")
    return found


# Domain errors about a field the schema names differently.
_DOMAIN_FIELDS: dict[str, dict[str, str]] = {"AddMember": {"nik": "person.nik"}}

COMMANDS: dict[str, Command] = {
    name: Command(declaration, _schema_of(name), _DOMAIN_FIELDS.get(name, {}))
    for name, declaration in CATALOGUE.items()
}


class Invalid(Exception):
    """The input breaks the schema; `codes` is {dot.path: [code, ...]}."""

    def __init__(self, codes: dict[str, list[str]]) -> None:
        super().__init__(", ".join(sorted(codes)))
        self.codes = codes


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors as {dot.path: [code, ...]}; other texts become field.invalid."""
    out: dict[str, list[str]] = {}

    def add(path: str, code: str) -> None:
        code = code if code in ERRORS else "field.invalid"
        bucket = out.setdefault(path or "body", [])
        if code not in bucket:
            bucket.append(code)

    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            for sub_path, codes in flatten(value, path).items():
                for code in codes:
                    add(sub_path, code)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (Mapping, list, tuple)):
                for sub_path, codes in flatten(item, prefix).items():
                    for code in codes:
                        add(sub_path, code)
            else:
                add(prefix, str(item))
    else:
        add(prefix, str(messages))
    return out


def load(command: str, payload: Any) -> dict[str, Any]:
    """The validated, normalized command; raises Invalid with every problem found."""
    try:
        return COMMANDS[command].schema().load(payload)
    except ValidationError as error:
        raise Invalid(flatten(error.messages)) from None


# --- reading the schemas (forms, OpenAPI, tests) ----------------------------------------


def walk(schema: type[Schema] | Schema, prefix: str = "") -> Iterator[tuple[str, fields.Field]]:
    """Every leaf field of a schema by its dot path, nested schemas flattened, in order."""
    instance = schema() if isinstance(schema, type) else schema
    for name, field in instance.fields.items():
        path = f"{prefix}{name}"
        if isinstance(field, fields.Nested):
            yield from walk(field.nested, f"{path}.")
        else:
            yield path, field


def example(schema: type[Schema] | Schema) -> dict[str, Any]:
    """A valid instance of the schema from its fields' examples (the common fields left out)."""
    instance = schema() if isinstance(schema, type) else schema
    out: dict[str, Any] = {}
    for name, field in instance.fields.items():
        if name in COMMON_FIELDS and not field.required:
            continue
        if "example" in field.metadata:
            out[name] = field.metadata["example"]
        elif isinstance(field, fields.Nested):
            out[name] = example(field.nested)
        elif isinstance(field, Id):
            out[name] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{name}"))
    return out
