"""A message says an option as the form shows it, never by its code: a case worker who
chose "Pindah datang" in a list is not told to choose `pindah_datang` (the API's clients
find the codes in the OpenAPI document, each refusal's code names the field)."""

from __future__ import annotations

import re

import pytest

from app.messages import ERRORS, LANGUAGES, TEXT
from tests.support.i18n import language

# the codes of the forms' lists whose label is another word (`opt.<field>.<code>`): a code
# such as pindah_datang, moved_out, not_found or adult_woman
CODES = {key.rsplit(".", 1)[1] for key in TEXT if key.startswith("opt.")}
OPTION_CODES = sorted(code for code in CODES if "_" in code)


def test_the_option_codes_are_found():
    assert {"pindah_datang", "born_here", "moved_out", "adult_woman"} <= set(OPTION_CODES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_message_names_an_option_by_its_code(lang):
    found = {}
    with language(lang):
        for code, lazy in ERRORS.items():
            said = str(lazy)
            raw = [c for c in OPTION_CODES if re.search(rf"\b{c}\b", said)]
            if lang == "id":  # the word and then its code: "pindah (moved_out)", "(M)"
                raw += [c for c in CODES if f"({c})" in said or f" {c} (" in f" {said}"]
            if raw:
                found[code] = (raw, said)
    assert found == {}
