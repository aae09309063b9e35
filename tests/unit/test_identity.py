"""NIK and KK structure, as Dukcapil prints them."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app.seed_data import kk_for, nik_for
from domain.identity import kk_problems, nik_problems

births = st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2025, 12, 31))
serials = st.integers(min_value=1, max_value=9999)
sexes = st.sampled_from(["M", "F"])


def codes(problems):
    return [p.code for p in problems]


@given(births, sexes, serials)
def test_a_well_formed_nik_matches_its_holder(birth, sex, serial):
    nik = nik_for("157101", birth, sex, serial)
    assert nik_problems(nik, birth_date=birth, sex=sex) == []


@given(births, serials)
def test_the_nik_of_a_woman_does_not_fit_a_man(birth, serial):
    nik = nik_for("157104", birth, "F", serial)
    assert codes(nik_problems(nik, birth_date=birth, sex="M")) == ["nik.sex_mismatch"]


@given(births, births, sexes, serials)
def test_a_nik_with_another_birth_date_is_refused(birth, other, sex, serial):
    nik = nik_for("157102", birth, sex, serial)
    if (birth.day, birth.month, birth.year % 100) != (other.day, other.month, other.year % 100):
        assert "nik.birth_date_mismatch" in codes(nik_problems(nik, birth_date=other, sex=sex))


@given(st.text(max_size=20).filter(lambda s: not (len(s) == 16 and s.isdigit())))
def test_anything_but_sixteen_digits_is_not_a_nik(text):
    assert codes(nik_problems(text)) == ["nik.format"]
    assert codes(kk_problems(text)) == ["kk.format"]


def test_each_part_of_a_nik_is_checked():
    assert codes(nik_problems("9971010101800001")) == ["nik.province"]
    assert codes(nik_problems("1500010101800001")) == ["nik.region"]
    assert codes(nik_problems("1571013213800001")) == ["nik.birth_date"]
    assert codes(nik_problems("1571017201800001")) == ["nik.birth_date"]  # day 32 for a woman
    assert codes(nik_problems("1571010101800000")) == ["nik.serial"]


@given(st.dates(min_value=dt.date(1975, 1, 1), max_value=dt.date(2026, 1, 1)), serials)
def test_a_well_formed_kk_number_passes(registered, serial):
    assert kk_problems(kk_for("157107", registered, serial)) == []


def test_each_part_of_a_kk_number_is_checked():
    assert codes(kk_problems("0071010101200001")) == ["kk.province"]
    assert codes(kk_problems("1571013102200001")) == ["kk.date"]  # 31 February
    assert codes(kk_problems("1571014101200001")) == ["kk.date"]  # no +40 on a KK
    assert codes(kk_problems("1571010101200000")) == ["kk.serial"]


def test_digits_of_other_scripts_are_not_digits_of_a_nik_or_kk_number():
    # `str.isdigit` and `int` take them: one person's NIK would be a second, different NIK
    fullwidth = "157101010180000８"
    arabic_indic = "١٥٧١٠١٠١٠١٨٠٠٠٠١"[:16]
    for text in (fullwidth, arabic_indic):
        assert codes(nik_problems(text)) == ["nik.format"]
        assert codes(kk_problems(text)) == ["kk.format"]
