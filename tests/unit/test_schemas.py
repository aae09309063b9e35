"""The command schemas: each bad input names its field; messages never echo personal data."""

from __future__ import annotations

import copy
import datetime as dt
import sys
import unicodedata
import uuid

import pytest
from marshmallow import ValidationError

from app.messages import ERRORS, LANGUAGES, TEXT, message, translate
from app.schemas import NAME_PATTERN, Invalid, PersonSchema, load, text_problem
from tests.support.i18n import language

NIK = "1571015203850007"  # Telanaipura, woman born 12 March 1985
KK = "1571010101200003"
NAME = "Siti Aminah"


def household(**changes) -> dict:
    payload = {
        "kk_number": KK,
        "kecamatan": "Telanaipura",
        "kelurahan": "Simpang IV Sipin",
        "address": "Jl. Kapten Pattimura No. 5",
        "rt": "7",
        "rw": "2",
        "head": {"nik": NIK, "name": NAME, "birth_date": "1985-03-12", "sex": "F"},
    }
    for path, value in changes.items():
        target = payload
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return payload


DELETE = object()


def member(**changes) -> dict:
    payload = {
        "household_id": str(uuid.uuid4()),
        "relationship": "suami",
        "person": {
            "nik": "1571011004820002",
            "name": "Budi",
            "birth_date": "1982-04-10",
            "sex": "M",
        },
    }
    payload.update(changes)
    return payload


def codes_of(command: str, payload) -> dict[str, list[str]]:
    with pytest.raises(Invalid) as caught:
        load(command, payload)
    return caught.value.codes


def test_valid_registration_is_normalized():
    data = load(
        "RegisterHousehold",
        household(kecamatan="kec. telanaipura", rt=7, rw="02", address="  Jl.  Pattimura   5 "),
    )
    assert data["kecamatan"] == "Telanaipura"
    assert data["kelurahan"] == "Simpang IV Sipin"
    assert (data["rt"], data["rw"]) == ("007", "002")
    assert data["address"] == "Jl. Pattimura 5"
    assert data["head"] == {"nik": NIK, "name": NAME, "birth_date": "1985-03-12", "sex": "F"}
    assert data["expected_version"] is None and data["reason"] is None


def test_alias_spelling_of_a_kelurahan_is_stored_by_its_canonical_name():
    data = load("RegisterHousehold", household(kecamatan="Jambi Selatan", kelurahan="The Hok"))
    assert data["kelurahan"] == "Thehok"


def test_spaces_in_identity_numbers_are_dropped():
    data = load("RegisterHousehold", household(kk_number="1571 0101 0120 0003"))
    assert data["kk_number"] == KK


def test_occurred_at_is_stored_in_utc():
    data = load("RegisterHousehold", household(occurred_at="2025-04-21T09:00:00+07:00"))
    assert data["occurred_at"] == "2025-04-21T02:00:00.000000Z"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"head__nik": "12345"}, "head.nik", "nik.format"),
        ({"head__nik": "9971015203850007"}, "head.nik", "nik.province"),
        ({"head__nik": "1571005203850007"}, "head.nik", "nik.region"),
        ({"head__nik": "1571019903850007"}, "head.nik", "nik.birth_date"),
        ({"head__nik": "1571015203850000"}, "head.nik", "nik.serial"),
        ({"head__birth_date": "1985-03-13"}, "head.nik", "nik.birth_date_mismatch"),
        ({"head__sex": "M"}, "head.nik", "nik.sex_mismatch"),
        ({"head__nik": 1571015203850007}, "head.nik", "nik.format"),
        ({"kk_number": "15710101012000"}, "kk_number", "kk.format"),
        ({"kk_number": "9971010101200003"}, "kk_number", "kk.province"),
        ({"kk_number": "1500010101200003"}, "kk_number", "kk.region"),
        ({"kk_number": "1571013213200003"}, "kk_number", "kk.date"),
        ({"kk_number": "1571010101200000"}, "kk_number", "kk.serial"),
        ({"kecamatan": "Bandung"}, "kecamatan", "kecamatan.unknown"),
        ({"kelurahan": "Thehok"}, "kelurahan", "kelurahan.unknown"),
        ({"rt": "1234"}, "rt", "rt.format"),
        ({"rt": "0"}, "rt", "rt.format"),
        ({"rw": "A1"}, "rw", "rw.format"),
        ({"address": "   "}, "address", "address.empty"),
        ({"address": "x" * 201}, "address", "address.too_long"),
        ({"head__name": " "}, "head.name", "name.empty"),
        ({"head__name": "x" * 101}, "head.name", "name.too_long"),
        ({"head__birth_date": "12-03-1985"}, "head.birth_date", "birth_date.format"),
        ({"head__birth_date": "1985-02-30"}, "head.birth_date", "birth_date.impossible"),
        ({"head__sex": "X"}, "head.sex", "sex.invalid"),
        ({"head__nik": DELETE}, "head.nik", "field.required"),
        ({"head": "Siti"}, "head", "field.object"),
        ({"kk_number": DELETE}, "kk_number", "field.required"),
        ({"kk_numbr": KK}, "kk_numbr", "field.unknown"),
        ({"expected_version": -1}, "expected_version", "expected_version.invalid"),
        ({"expected_version": "satu"}, "expected_version", "expected_version.invalid"),
        ({"occurred_at": "2025-04-21 09:00"}, "occurred_at", "occurred_at.format"),
        ({"reason": "x" * 501}, "reason", "reason.too_long"),
    ],
)
def test_each_invalid_registration_names_the_field(changes, field, code):
    codes = codes_of("RegisterHousehold", household(**changes))
    assert code in codes.get(field, []), codes


def test_birth_date_in_the_future_is_refused():
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    codes = codes_of("RegisterHousehold", household(head__birth_date=tomorrow))
    assert codes["head.birth_date"] == ["birth_date.future"]


def test_occurred_at_in_the_future_is_refused():
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    codes = codes_of("RegisterHousehold", household(occurred_at=later))
    assert codes == {"occurred_at": ["occurred_at.future"]}


def test_every_problem_of_an_empty_body_is_reported_at_once():
    codes = codes_of("RegisterHousehold", {})
    assert set(codes) == {"kk_number", "kecamatan", "kelurahan", "address", "rt", "rw", "head"}


def test_a_body_that_is_not_an_object_is_named_body():
    assert codes_of("RegisterHousehold", ["not", "an", "object"]) == {"body": ["field.object"]}


def test_valid_member_passes():
    data = load("AddMember", member(relationship="Orang Tua", expected_version=3))
    assert data["relationship"] == "orang_tua"
    assert data["expected_version"] == 3


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        (member(household_id="rumah-1"), "household_id", "household_id.format"),
        (member(relationship="kepala_keluarga"), "relationship", "relationship.unknown"),
        (member(relationship="boss"), "relationship", "relationship.unknown"),
        (
            member(
                person={
                    "nik": "1571011004820002",
                    "name": "Budi",
                    "birth_date": "1982-04-10",
                    "sex": "F",
                }
            ),
            "person.nik",
            "nik.sex_mismatch",
        ),
        (member(person={"name": "Budi"}), "person.birth_date", "field.required"),
    ],
)
def test_each_invalid_member_names_the_field(payload, field, code):
    codes = codes_of("AddMember", payload)
    assert code in codes.get(field, []), codes


def test_messages_never_contain_the_nik_kk_or_name_entered():
    bad = household(head__nik="1571015203859999", head__sex="M", kk_number="1571013213200003")
    bad["head"]["birth_date"] = "1985-03-13"
    codes = codes_of("RegisterHousehold", bad)
    assert codes["head.nik"] and codes["kk_number"]
    for code in LANGUAGES:
        with language(code):
            translated = translate(codes)
        for messages in translated.values():
            for text in messages:
                assert "1571015203859999" not in text
                assert "1571013213200003" not in text
                assert NAME not in text


IDENTITY_CODES = [
    "nik.format",
    "nik.province",
    "nik.region",
    "nik.birth_date",
    "nik.birth_date_mismatch",
    "nik.sex_mismatch",
    "nik.serial",
    "kk.format",
    "kk.province",
    "kk.region",
    "kk.date",
    "kk.serial",
]
DOMAIN_CODES = [
    "nik.taken",
    "kk.taken",
    "nik.already_member",
    "version.stale",
    "household.not_found",
    "relationship.unknown",
]


@pytest.mark.parametrize("code", IDENTITY_CODES + DOMAIN_CODES)
def test_every_domain_code_has_its_own_message_in_both_languages(code):
    assert code in ERRORS
    with language("id"):
        indonesian, generic = message(code), message("field.invalid")
    with language("en"):
        english = message(code)
    assert indonesian and english and indonesian != english
    assert indonesian != generic


def test_english_is_used_only_when_asked():
    with language("id"):
        indonesian = message("nik.format")
    with language("fr"):
        assert message("nik.format") == indonesian
    with language("en"):
        assert "16" in message("nik.format") and "digits" in message("nik.format")
    assert "angka" in indonesian


def test_no_message_or_interface_text_has_a_digit_run_like_a_nik():
    for code in LANGUAGES:
        with language(code):
            for catalog in (ERRORS, TEXT):
                for entry in catalog.values():
                    text = str(entry)
                    assert not any(text[i : i + 6].isdigit() for i in range(len(text))), text


def test_schema_input_is_not_mutated():
    payload = household()
    before = copy.deepcopy(payload)
    load("RegisterHousehold", payload)
    assert payload == before


# --- characters no text may hold --------------------------------------------------------

REFUSED_CHARACTERS = {
    "NUL": "\x00",
    "ANSI escape": "\x1b[31m",
    "bell": "\x07",
    "DEL": "\x7f",
    "C1 next line": "\x85",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "right-to-left isolate": "\u2067",
    "pop directional isolate": "\u2069",
    "right-to-left mark": "\u200f",
    "left-to-right mark": "\u200e",
    "Arabic letter mark": "\u061c",
    "zero-width space": "\u200b",
    "byte order mark": "\ufeff",
    "lone surrogate": "\ud800",
}


@pytest.mark.parametrize("character", REFUSED_CHARACTERS.values(), ids=REFUSED_CHARACTERS.keys())
def test_a_control_or_text_direction_character_is_refused_in_names_and_free_text(character):
    assert codes_of("RegisterHousehold", household(head__name=f"Siti{character}Aminah")) == {
        "head.name": ["text.character"]
    }
    assert codes_of("RegisterHousehold", household(reason=f"pindah{character}")) == {
        "reason": ["text.character"]
    }
    service = {
        "person_id": str(uuid.uuid4()),
        "service": "meal",
        "delivered_on": "2025-01-02",
        "notes": f"Diberi{character} makan",
    }
    assert codes_of("RecordService", service) == {"notes": ["text.character"]}


def test_free_text_keeps_its_line_breaks_and_tabs_a_name_turns_them_into_spaces():
    data = load("RegisterHousehold", household(reason="baris satu\r\n\tbaris dua"))
    assert data["reason"] == "baris satu\r\n\tbaris dua"
    data = load("RegisterHousehold", household(head__name="Siti\tAminah"))
    assert data["head"]["name"] == "Siti Aminah"


def test_an_occurred_at_before_1900_is_refused():
    assert codes_of("RegisterHousehold", household(occurred_at="1899-12-31T23:59:59Z")) == {
        "occurred_at": ["occurred_at.too_old"]
    }
    data = load("RegisterHousehold", household(occurred_at="1900-01-01T07:00:00+07:00"))
    assert data["occurred_at"] == "1900-01-01T00:00:00.000000Z"


# --- a person's name, as on the KTP -----------------------------------------------------

NAMES_ON_A_KTP = [
    "Siti Nur'aini",
    "M. Fadli",
    "Ni Luh Putu Ayu",
    "Maria-Theresia",
    "\u00c9lodie",  # É as one character
    "E\u0301lodie",  # E and a combining acute accent
    "Sri Rahayu, S.Pd.",
    "Ma\u2019ruf Amin",  # the typographic apostrophe a phone keyboard types
    "Ba`asyir",
    "ABDUL GANI",
    "\u674e\u5c0f\u9f99",  # letters of another script
]
NOT_NAMES = [
    "BUDI 2",
    "SITI (ALM)",
    "<script>alert(1)</script>",
    "Budi/Santoso",
    "Budi_Santoso",
    "Budi \U0001f600",  # an emoji
    "Budi\u00b2",  # a superscript two: a digit, not a letter
    "Henry \u2167",  # the Roman numeral eight
    "Rp 10.000",
    "...",
    "- ' -",
]


@pytest.mark.parametrize("name", NAMES_ON_A_KTP)
def test_a_name_as_on_the_ktp_is_taken_as_written(name):
    assert load("RegisterHousehold", household(head__name=name))["head"]["name"] == name
    person = {**member()["person"], "name": name}
    assert load("AddMember", member(person=person))["person"]["name"] == name


@pytest.mark.parametrize("name", NOT_NAMES)
def test_a_name_with_digits_brackets_or_other_signs_is_refused_naming_the_field(name):
    assert codes_of("RegisterHousehold", household(head__name=name)) == {
        "head.name": ["name.characters"]
    }
    person = {**member()["person"], "name": name}
    assert codes_of("AddMember", member(person=person)) == {"person.name": ["name.characters"]}


def test_the_name_rule_keeps_the_empty_and_too_long_codes():
    assert codes_of("RegisterHousehold", household(head__name="  ")) == {
        "head.name": ["name.empty"]
    }
    assert codes_of("RegisterHousehold", household(head__name="Budi " * 25)) == {
        "head.name": ["name.too_long"]
    }


def test_a_homeless_persons_name_may_be_a_description():
    """The name a person without a KTP gives, or a description of them: not the KTP's rule."""
    data = load(
        "RegisterHomelessPerson",
        {
            "name": "Pak Udin (pemulung, kira-kira 50 th)",
            "sex": "M",
            "found_at": "Pasar Angso Duo",
            "kecamatan": "Telanaipura",
        },
    )
    assert data["name"] == "Pak Udin (pemulung, kira-kira 50 th)"


def test_the_name_message_says_what_a_name_may_hold_in_both_languages():
    with language("id"):
        assert message("name.characters") == (
            "Nama hanya berisi huruf, spasi, dan tanda . , ' - seperti di KTP; hapus angka dan"
            " tanda lain."
        )
    with language("en"):
        assert message("name.characters").startswith("A name holds only letters")


def test_the_openapi_pattern_of_a_name_accepts_exactly_what_the_schema_accepts():
    """The pattern the OpenAPI document gives a person's name, as the JSON Schema engine of
    the API's fuzz tests reads it (Unicode properties), judges each character the way the
    schema does, within a name and as a name of one character (which needs a letter): every
    character of the Basic Multilingual Plane and one in 31 beyond (emoji, historic scripts),
    but those this Python's Unicode does not know yet."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    pattern = jsonschema_rs.validator_for({"type": "string", "pattern": NAME_PATTERN})
    field = PersonSchema().fields["name"]

    def taken(name: str) -> bool:  # as PersonSchema takes it: no control, then the field
        if text_problem(name):
            return False
        try:
            field.deserialize(name)
        except ValidationError:
            return False
        return True

    points = [*range(0x10000), *range(0x10000, sys.maxunicode + 1, 31)]
    disagree = [
        f"U+{point:04X}"
        for point in points
        if unicodedata.category(chr(point)) not in ("Cn", "Cs")
        for name in (chr(point), f"Ab{chr(point)}c")
        if taken(name) != pattern.is_valid(name)
    ]
    assert not disagree, disagree[:20]
    for name in [*NAMES_ON_A_KTP, "  Siti\tNur\u00a0Aini "]:
        assert pattern.is_valid(name) and taken(name), name
    for name in NOT_NAMES:
        assert not pattern.is_valid(name) and not taken(name), name
