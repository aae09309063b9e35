"""Every command's schema, checked from the schema itself: each required field missing, each
field of the wrong type, each choice or range exceeded names that field; an example loads.

`invalid_cases()` is shared with tests/integration/test_commands_api.py, which sends the
same inputs over HTTP.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields

import domain.accounts
import domain.approval
import domain.eligibility_rules
import domain.household
import domain.program
from app.messages import ERRORS, TEXT
from app.schemas import (
    COMMANDS,
    COMMON_FIELDS,
    BirthDate,
    Choice,
    CodeList,
    Coordinate,
    Day,
    Id,
    IdentityNumber,
    Invalid,
    Kecamatan,
    OccurredAt,
    OptionalText,
    Pattern,
    Reason,
    RtRw,
    Text,
    WholeNumber,
    example,
    load,
)
from domain.commands import COMMANDS as CATALOGUE
from domain.household import today
from tests.support.i18n import language

NAMES = sorted(COMMANDS)
_MISSING = object()


# --- walking a schema -----------------------------------------------------------------------


def paths(schema: Schema, prefix: str = "", required: bool = True) -> Iterator[tuple]:
    """(dot path, field, required here) for every field, nested ones and their containers."""
    for name, field in schema.fields.items():
        path = f"{prefix}{name}"
        needed = required and field.required
        yield path, field, needed
        if isinstance(field, fields.Nested):
            yield from paths(field.schema, f"{path}.", needed)


def get_path(payload: dict, path: str) -> Any:
    target: Any = payload
    for part in path.split("."):
        if not isinstance(target, dict) or part not in target:
            return _MISSING
        target = target[part]
    return target


def with_path(payload: dict, path: str, value: Any) -> dict:
    """A copy of the payload with the value at `path` replaced (or removed: _MISSING)."""
    changed = copy.deepcopy(payload)
    *parents, leaf = path.split(".")
    target = changed
    for part in parents:
        target = target.setdefault(part, {})
    if value is _MISSING:
        target.pop(leaf, None)
    else:
        target[leaf] = value
    return changed


# --- inputs a field must refuse -------------------------------------------------------------


def wrong_types(field: fields.Field) -> list[Any]:
    """Values of a JSON type the field never accepts."""
    if isinstance(field, fields.Nested):
        return ["text", 7, ["a", "list"]]
    return [{"an": "object"}, [1, 2]]


def out_of_range(field: fields.Field) -> list[Any]:
    """Values of the right JSON type outside what the field admits."""
    later = (today() + dt.timedelta(days=2)).isoformat()
    if isinstance(field, Choice):
        return ["not-a-choice"]
    if isinstance(field, WholeNumber):
        high = field.high() if callable(field.high) else field.high
        return [v for v in ((field.low - 1) if field.low is not None else None, high + 1) if v]
    if isinstance(field, Coordinate):
        return [field.high + 1, field.low - 1]
    if isinstance(field, BirthDate):
        return ["1985-02-30", "12-03-1985", later]
    if isinstance(field, Day):
        return ["2025-02-30", "21-04-2025"] + ([later] if field.past else [])
    if isinstance(field, Pattern):
        return ["!!", "9" * 60]
    if isinstance(field, IdentityNumber):
        return ["123", "9971015203850007"]
    if isinstance(field, Id):
        return ["not-a-uuid"]
    if isinstance(field, Text):
        return ["   ", "x" * (field.max_length + 1)]
    if isinstance(field, OptionalText):
        return ["x" * (field.max_length + 1)]
    if isinstance(field, CodeList):
        return [["PKH", "not a code!"], "PKH"]
    if isinstance(field, RtRw):
        return ["1234", "0"]
    if isinstance(field, Kecamatan):
        return ["Bandung"]
    if isinstance(field, Reason):
        return ["x" * 501]
    if isinstance(field, OccurredAt):
        return ["yesterday", "2025-04-21T09:00:00"]
    if isinstance(field, fields.Integer):  # expected_version
        return [-1]
    if isinstance(field, fields.String):  # a kelurahan: checked against its kecamatan
        return ["Nowhere"]
    return []


def invalid_cases(name: str) -> Iterator[tuple[str, dict, str]]:
    """(what is wrong, payload, the field that must be named) for one command."""
    valid = example(COMMANDS[name].schema)
    for path, field, required in paths(COMMANDS[name].schema()):
        if required:
            yield "missing", with_path(valid, path, _MISSING), path
            yield "null", with_path(valid, path, None), path
        for value in wrong_types(field):
            yield f"wrong type {value!r}", with_path(valid, path, value), path
        for value in out_of_range(field):
            yield f"out of range {value!r}", with_path(valid, path, value), path
    yield "unknown field", {**valid, "surprise": 1}, "surprise"


def codes_of(name: str, payload: Any) -> dict[str, list[str]]:
    with pytest.raises(Invalid) as caught:
        load(name, payload)
    return caught.value.codes


# --- the tests ------------------------------------------------------------------------------


def test_every_catalogue_command_has_a_schema_with_exactly_its_fields():
    assert set(COMMANDS) == set(CATALOGUE)
    for spec in CATALOGUE.values():
        command = COMMANDS[spec.name]
        common = set(COMMON_FIELDS) - set(spec.fields)  # RequestErasure's reason is its own
        assert set(command.schema().fields) - common == set(spec.fields), spec.name
        assert set(COMMON_FIELDS) <= set(command.schema().fields)
        assert command.declaration is spec
        assert command.needs_approval == spec.needs_approval


@pytest.mark.parametrize("name", NAMES)
def test_the_example_of_each_command_loads(name):
    data = load(name, example(COMMANDS[name].schema))
    assert data["expected_version"] is None
    assert (data["reason"] is None) == ("reason" not in CATALOGUE[name].fields)


@pytest.mark.parametrize("name", NAMES)
def test_each_invalid_input_names_its_field(name):
    failures = []
    for what, payload, path in invalid_cases(name):
        try:
            load(name, payload)
        except Invalid as invalid:
            if path not in invalid.codes:
                failures.append(f"{what} at {path}: {invalid.codes}")
        else:
            failures.append(f"{what} at {path}: accepted")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", NAMES)
def test_every_code_a_schema_answers_has_a_message(name):
    """Raw codes, before `load` turns an unknown one into field.invalid."""
    schema = COMMANDS[name].schema()
    seen: set[str] = set()

    def collect(messages: Any) -> None:
        if isinstance(messages, dict):
            for value in messages.values():
                collect(value)
        elif isinstance(messages, list):
            for value in messages:
                collect(value)
        else:
            seen.add(str(messages))

    for _, payload, _ in invalid_cases(name):
        with pytest.raises(ValidationError) as caught:
            schema.load(payload)
        collect(caught.value.messages)
    assert seen - set(ERRORS) == set()


def test_every_domain_error_code_has_both_languages():
    codes = {
        *domain.household.ERROR_CODES,
        *domain.program.ERROR_CODES,
        *domain.approval.ERROR_CODES,
        *domain.accounts.ERROR_CODES,
        *domain.eligibility_rules.ERROR_CODES,
    }
    assert codes - set(ERRORS) == set()
    for catalog in (ERRORS, TEXT):
        for key, entry in catalog.items():
            with language("id"):
                indonesian = str(entry)
            with language("en"):
                english = str(entry)
            assert indonesian.strip() and english.strip(), key
            # Translated, unless the word is the same in both (NIK, RT, Status, Program...)
            assert indonesian != english or len(english) <= 12, key


# --- rules across fields, and what forms type ----------------------------------------------


def test_pindah_datang_needs_the_arrival_date_and_origin():
    ktp = example(COMMANDS["IssueKtp"].schema)
    codes = codes_of("IssueKtp", {**ktp, "arrival": {"type": "pindah_datang"}})
    assert codes == {
        "arrival.arrived_on": ["arrival.arrived_on_required"],
        "arrival.origin_region_code": ["arrival.origin_required"],
    }


def test_arrival_after_the_ktp_was_issued_is_refused():
    ktp = example(COMMANDS["IssueKtp"].schema)
    late = {**ktp["arrival"], "arrived_on": "2025-01-16"}
    codes = codes_of("IssueKtp", {**ktp, "issued_on": "2025-01-15", "arrival": late})
    assert codes == {"arrival.arrived_on": ["arrival.after_issue"]}


def test_born_here_keeps_no_arrival_date():
    ktp = example(COMMANDS["IssueKtp"].schema)
    data = load("IssueKtp", {**ktp, "arrival": {"type": "born_here", "arrived_on": "2024-06-01"}})
    assert data["arrival"] == {"type": "born_here", "arrived_on": None, "origin_region_code": None}


def test_a_benefit_cannot_end_before_it_starts():
    grant = example(COMMANDS["GrantBenefit"].schema)
    codes = codes_of("GrantBenefit", {**grant, "period_end": "2024-12-31"})
    assert codes == {"period_end": ["period.end_before_start"]}


def test_a_negative_amount_says_so():
    grant = example(COMMANDS["GrantBenefit"].schema)
    assert codes_of("GrantBenefit", {**grant, "amount": -5}) == {"amount": ["amount.negative"]}
    assert codes_of("GrantBenefit", {**grant, "amount": 1.5}) == {"amount": ["amount.invalid"]}
    # digits alone, too many of them: said so, not "digits only, no dots"
    too_many = {"amount": ["amount.too_large"]}
    assert codes_of("GrantBenefit", {**grant, "amount": "99999999999999999999"}) == too_many


def test_form_text_is_read_as_numbers_and_codes_are_normalized():
    assessment = example(COMMANDS["RecordWelfareAssessment"].schema)
    data = load("RecordWelfareAssessment", {**assessment, "desil": "3", "period": "2025-q2"})
    assert (data["desil"], data["period"]) == (3, "2025-Q2")
    program = example(COMMANDS["DefineProgram"].schema)
    data = load(
        "DefineProgram",
        {**program, "code": " pkh ", "rules": {"combinable_with": ["bpnt", "BPNT"]}},
    )
    assert data["code"] == "PKH" and data["rules"] == {"combinable_with": ["BPNT"]}


def test_rules_left_out_stay_left_out_so_a_change_keeps_them():
    data = load("ChangeProgramRules", {"code": "PKH", "rules": {"max_desil": None}})
    assert data["rules"] == {"max_desil": None}


def test_a_rejection_needs_a_note_and_an_approval_does_not():
    approval_id = example(COMMANDS["ApproveChange"].schema)["approval_id"]
    assert load("ApproveChange", {"approval_id": approval_id})["note"] is None
    codes = codes_of(
        "RejectChange", {"approval_id": approval_id, "note": "  ", "reason_code": "duplicate"}
    )
    assert codes == {"note": ["note.empty"]}
    codes = codes_of("RejectChange", {"approval_id": approval_id, "note": "Bukti kurang"})
    assert list(codes) == ["reason_code"]
    codes = codes_of(
        "RejectChange", {"approval_id": approval_id, "note": "Bukti kurang", "reason_code": "no"}
    )
    assert codes == {"reason_code": ["rejection.reason_unknown"]}


def test_a_change_of_a_benefit_needs_a_reason_from_the_list():
    suspend = example(COMMANDS["SuspendBenefit"].schema)
    for name in ("SuspendBenefit", "ResumeBenefit", "TerminateBenefit"):
        without = {k: v for k, v in suspend.items() if k != "reason_code"}
        assert list(codes_of(name, without)) == ["reason_code"]
        assert codes_of(name, {**suspend, "reason_code": "bosan"}) == {
            "reason_code": ["reason_code.unknown"]
        }


def test_uuids_are_kept_as_plain_strings():
    data = load("SuspendBenefit", example(COMMANDS["SuspendBenefit"].schema))
    assert all(type(data[k]) is str for k in ("household_id", "benefit_id", "effective_date"))


def test_a_future_visit_is_refused_but_a_future_effective_date_is_not():
    later = (today() + dt.timedelta(days=2)).isoformat()
    visit = example(COMMANDS["RecordVerification"].schema)
    assert codes_of("RecordVerification", {**visit, "visited_on": later}) == {
        "visited_on": ["date.in_future"]
    }
    suspend = example(COMMANDS["SuspendBenefit"].schema)
    assert load("SuspendBenefit", {**suspend, "effective_date": later})["effective_date"] == later


def test_digits_of_other_scripts_are_refused_where_digits_are_asked():
    household = example(COMMANDS["RegisterHousehold"].schema)
    wide = household["head"]["nik"][:-1] + chr(ord(household["head"]["nik"][-1]) + 0xFEE0)
    codes = codes_of("RegisterHousehold", {**household, "head": {**household["head"], "nik": wide}})
    assert list(codes) == ["head.nik"]
    assert list(codes_of("RegisterHousehold", {**household, "kk_number": "١" * 16})) == [
        "kk_number"
    ]
    assert list(codes_of("RegisterHousehold", {**household, "rw": "٠٠١"})) == ["rw"]
    assessment = example(COMMANDS["RecordWelfareAssessment"].schema)
    assert list(codes_of("RecordWelfareAssessment", {**assessment, "period": "２０２５-Q1"})) == [
        "period"
    ]


def test_an_expected_version_is_a_whole_number():
    household = example(COMMANDS["RegisterHousehold"].schema)
    for wrong in (1.5, 1e30, -1, "1.5", True):
        assert codes_of("RegisterHousehold", {**household, "expected_version": wrong}) == {
            "expected_version": ["expected_version.invalid"]
        }, wrong
    assert (
        load("RegisterHousehold", {**household, "expected_version": "3"})["expected_version"] == 3
    )
    assert load("RegisterHousehold", {**household, "expected_version": 0})["expected_version"] == 0


def test_a_day_after_2100_is_refused():
    # 9999-12-31 as a benefit's end broke the eligibility view (a day after it is no date)
    grant = example(COMMANDS["GrantBenefit"].schema)
    assert codes_of("GrantBenefit", {**grant, "period_end": "9999-12-31"}) == {
        "period_end": ["date.too_far"]
    }
    assert load("GrantBenefit", {**grant, "period_end": "2100-12-31"})["period_end"] == "2100-12-31"
