"""The gettext catalogs hold every string the code and templates ask for: what
`pybabel extract -F babel.cfg -k _l -k N_` finds is in both catalogs, translated in `id`, and
nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import gettext

from app.messages import ERRORS, LANGUAGES, TRANSLATIONS, rupiah
from tests.support.i18n import language

ROOT = Path(__file__).resolve().parents[2]


def extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "N_": None}
    return {
        msgid
        for _file, _line, msgid, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords
        )
    }


def catalog(code: str):
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=code)


FOUND = extracted()


def test_the_extraction_finds_the_code_and_the_templates():
    assert len(FOUND) > 600
    assert "Household registered" in FOUND  # app/subject_access/render.py (_l)
    assert "Data subject access" in FOUND  # templates/privacy/subject_access.html (_)
    assert all(isinstance(msgid, str) for msgid in FOUND)  # no plural forms in use


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_string_found_is_in_the_catalog_and_nothing_else(code):
    held = {m.id for m in catalog(code) if m.id}
    assert FOUND - held == set(), "run pybabel extract + update (app/messages.py)"
    assert held - FOUND == set(), "obsolete entries: pybabel update --ignore-obsolete"
    assert not catalog(code).obsolete


def test_every_string_is_translated_in_bahasa_indonesia():
    untranslated = [m.id for m in catalog("id") if m.id and not m.string]
    assert untranslated == []
    assert not [m.id for m in catalog("id") if m.id and m.fuzzy]


def test_distinct_error_messages_stay_distinct_in_bahasa_indonesia():
    """Each error code's message says what that error is: two different English messages
    given one Indonesian text (a merge once gave "only a supervisor decides" the text of
    "no such approval request") would tell the user the wrong thing and what to do."""
    by_english = {entry.id: entry.string for entry in catalog("id") if entry.id}
    with language("en"):
        english = {str(text) for text in ERRORS.values()}
    shared: dict[str, list[str]] = {}
    for text in sorted(english):
        shared.setdefault(by_english[text], []).append(text)
    assert [texts for texts in shared.values() if len(texts) > 1] == []


def test_the_app_reads_the_compiled_catalogs():
    with language("id"):
        assert gettext("Household registered") == "Rumah tangga didaftarkan"
        assert rupiah(750_000) == "Rp750.000"
    with language("en"):
        assert gettext("Household registered") == "Household registered"
        assert rupiah(750_000) == "IDR750,000"


# the codes of the choices a form offers with their words (domain.household): a message may
# name a code for the API's callers, beside its words, never instead of them
CODES = ("born_here", "pindah_datang", "moved_out", "not_found", "dropped_out")


def test_a_message_in_bahasa_indonesia_names_a_choice_in_words_not_by_its_code_alone():
    bare = [
        m.string
        for m in catalog("id")
        if m.id
        for code in CODES
        if code in m.string and f"({code})" not in m.string
    ]
    assert bare == []
