"""The commands the edge accepts, validated once here for the API and the web forms alike.

Every error is a stable code (see app/messages.py), never free text and never the value
entered; `load()` answers them flattened to dot paths such as `head.nik`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validates_schema

from app.messages import ERRORS
from domain.household import RELATIONSHIPS
from domain.identity import kk_problems, nik_problems
from domain.regions import find_kecamatan, find_kelurahan

# Codes for marshmallow's own failures (wrong JSON type, missing, null, unknown field).
_FIELD_ERRORS = {
    "required": "field.required",
    "null": "field.required",
    "validator_failed": "field.invalid",
    "invalid": "field.invalid",
    "invalid_utf8": "field.invalid",
    "type": "field.object",
}

_DIGITS_1_TO_3 = re.compile(r"\d{1,3}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEPARATORS = str.maketrans("", "", " .-")
# A clock a few minutes fast on a caseworker's laptop is not an error.
_CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST_BIRTH = dt.date(1900, 1, 1)


def _errors(**overrides: str) -> dict[str, str]:
    return {**_FIELD_ERRORS, **overrides}


class Text(fields.String):
    """Trimmed text with inner whitespace collapsed; not empty, at most `max_length` characters."""

    def __init__(self, *, code: str, max_length: int, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(), **kwargs)
        self.code = code
        self.max_length = max_length
        self.metadata.setdefault("openapi", {"minLength": 1, "maxLength": max_length})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = " ".join(super()._deserialize(value, attr, data, **kwargs).split())
        if not text:
            raise ValidationError(f"{self.code}.empty")
        if len(text) > self.max_length:
            raise ValidationError(f"{self.code}.too_long")
        return text


class IdentityNumber(fields.String):
    """A NIK or KK number: 16 digits, checked structurally; spaces, dots and dashes dropped."""

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid=f"{kind}.format"), **kwargs)
        self.kind = kind
        self.metadata.setdefault("openapi", {"pattern": "^[0-9]{16}$", "example": _EXAMPLES[kind]})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        number = super()._deserialize(value, attr, data, **kwargs).translate(_SEPARATORS)
        problems = nik_problems(number) if self.kind == "nik" else kk_problems(number)
        if problems:
            raise ValidationError([problem.code for problem in problems])
        return number


_EXAMPLES = {"nik": "1571015203850007", "kk": "1571010101200003"}


class BirthDate(fields.String):
    """YYYY-MM-DD, a real date, not in the future; kept as the ISO string."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid="birth_date.format"), **kwargs)
        self.metadata.setdefault("openapi", {"format": "date", "example": "1985-03-12"})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not _ISO_DATE.fullmatch(text):
            raise ValidationError("birth_date.format")
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationError("birth_date.format") from None
        if date > dt.date.today():
            raise ValidationError("birth_date.future")
        if date < EARLIEST_BIRTH:
            raise ValidationError("birth_date.too_old")
        return date.isoformat()


class Choice(fields.String):
    """One of fixed values; `normalize` maps what people type to the stored spelling."""

    def __init__(
        self, *, choices: tuple[str, ...], code: str, normalize=str.strip, **kwargs: Any
    ) -> None:
        super().__init__(error_messages=_errors(invalid=code), **kwargs)
        self.choices = choices
        self.code = code
        self.normalize = normalize
        self.metadata.setdefault("openapi", {"enum": list(choices)})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        choice = self.normalize(super()._deserialize(value, attr, data, **kwargs))
        if choice not in self.choices:
            raise ValidationError(self.code)
        return choice


class RtRw(fields.Field):
    """An RT or RW number: 1-3 digits (a JSON number is accepted too), stored as 3 digits."""

    def __init__(self, *, code: str, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(invalid=code), **kwargs)
        self.code = code
        self.metadata.setdefault(
            "openapi", {"type": "string", "pattern": "^[0-9]{1,3}$", "example": "007"}
        )

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
        self.metadata.setdefault("openapi", {"example": "Telanaipura"})

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
        return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Reason(fields.String):
    """Free text why; blank means none."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_errors(), **kwargs)
        self.metadata.setdefault("openapi", {"maxLength": 500})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if len(text) > 500:
            raise ValidationError("reason.too_long")
        return text or None


class _Strict(Schema):
    """Unknown fields are errors: a misspelt optional field must not be dropped silently."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "field.unknown", "type": "field.object"}


class PersonSchema(_Strict):
    """A person as on the KTP: the NIK must agree with the birth date and sex given."""

    nik = IdentityNumber(kind="nik", required=True, metadata={"description": "16-digit NIK"})
    name = Text(
        code="name", max_length=100, required=True, metadata={"description": "as on the KTP"}
    )
    birth_date = BirthDate(required=True)
    sex = Choice(
        choices=("M", "F"), code="sex.invalid", normalize=lambda s: s.strip().upper(), required=True
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


def _person(**kwargs: Any) -> fields.Nested:
    return fields.Nested(PersonSchema, required=True, error_messages=_errors(), **kwargs)


class _Command(_Strict):
    """What every command may carry besides its own fields."""

    expected_version = fields.Integer(
        load_default=None,
        allow_none=True,
        error_messages=_errors(
            invalid="expected_version.invalid", too_large="expected_version.invalid"
        ),
        metadata={"description": "the stream's version the caller last saw; stale -> 409"},
    )
    reason = Reason(load_default=None, allow_none=True)
    occurred_at = OccurredAt(
        load_default=None,
        allow_none=True,
        metadata={"description": "when it happened in the world (RFC 3339); default: now"},
    )

    @validates_schema(skip_on_field_errors=False)
    def version_not_negative(self, data: dict[str, Any], **kwargs: Any) -> None:
        version = data.get("expected_version")
        if version is not None and version < 0:
            raise ValidationError("expected_version.invalid", field_name="expected_version")


class RegisterHouseholdSchema(_Command):
    kk_number = IdentityNumber(
        kind="kk", required=True, metadata={"description": "16-digit KK number"}
    )
    kecamatan = Kecamatan(required=True)
    kelurahan = fields.String(
        required=True,
        error_messages=_errors(invalid="kelurahan.unknown"),
        metadata={"example": "Telanaipura"},
    )
    address = Text(code="address", max_length=200, required=True)
    rt = RtRw(code="rt.format", required=True)
    rw = RtRw(code="rw.format", required=True)
    head = _person(metadata={"description": "the head of the family"})

    @validates_schema(skip_on_field_errors=False)
    def kelurahan_in_kecamatan(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "kecamatan" in data and "kelurahan" in data:
            if find_kelurahan(data["kecamatan"], data["kelurahan"]) is None:
                raise ValidationError("kelurahan.unknown", field_name="kelurahan")

    @post_load
    def canonical_kelurahan(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["kelurahan"] = find_kelurahan(data["kecamatan"], data["kelurahan"]).name
        return data


def _relationship(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").split())


class AddMemberSchema(_Command):
    household_id = fields.UUID(
        required=True,
        error_messages=_errors(invalid_uuid="household_id.format", invalid="household_id.format"),
    )
    person = _person()
    relationship = Choice(
        choices=RELATIONSHIPS, code="relationship.unknown", normalize=_relationship, required=True
    )

    @post_load
    def plain_id(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["household_id"] = str(data["household_id"])
        return data


@dataclass(frozen=True)
class Command:
    """A command of the API: its schema, the use case that carries it out, and how the
    use case's field names map onto the schema's dot paths."""

    name: str
    schema: type[Schema]
    method: str
    domain_fields: Mapping[str, str]


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("RegisterHousehold", RegisterHouseholdSchema, "register_household", {}),
        Command("AddMember", AddMemberSchema, "add_member", {"nik": "person.nik"}),
    )
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
