import dataclasses

import pytest

from domain.regions import (
    KECAMATAN,
    TENANT_CODE,
    district_code_digits,
    find_kecamatan,
    find_kelurahan,
)

ALL_KELURAHAN = [kel for kec in KECAMATAN for kel in kec.kelurahan]


def test_kota_jambi_has_11_kecamatan_and_68_kelurahan():
    assert len(KECAMATAN) == 11
    assert len(ALL_KELURAHAN) == 68


def test_codes_are_unique():
    assert len({kec.code for kec in KECAMATAN}) == 11
    assert len({kec.bps_code for kec in KECAMATAN}) == 11
    assert len({kel.code for kel in ALL_KELURAHAN}) == 68


def test_kelurahan_names_are_unique_within_each_kecamatan():
    for kec in KECAMATAN:
        assert len({kel.name for kel in kec.kelurahan}) == len(kec.kelurahan)


def test_codes_follow_the_kemendagri_and_bps_shapes():
    for kec in KECAMATAN:
        assert kec.code.startswith("15.71.") and len(kec.code) == 8
        assert kec.bps_code.startswith("1571") and len(kec.bps_code) == 7
        for kel in kec.kelurahan:
            prefix, suffix = kel.code.rsplit(".", 1)
            assert prefix == kec.code
            assert len(suffix) == 4 and suffix.isdigit()


def test_reference_entries():
    telanaipura = find_kecamatan("Telanaipura")
    assert (telanaipura.code, telanaipura.bps_code) == ("15.71.01", "1571050")
    assert find_kelurahan("Telanaipura", "Simpang IV Sipin").code == "15.71.01.1001"
    assert find_kelurahan("Paal Merah", "Bakung Jaya").code == "15.71.11.1006"
    assert find_kecamatan("Alam Barajo").bps_code == "1571011"


def test_the_six_kelurahan_added_in_2022_are_present():
    added = {
        ("Telanaipura", "Aur Kenali"),
        ("Kota Baru", "Talang Gulo"),
        ("Kota Baru", "Kenali Asam"),
        ("Alam Barajo", "Simpang Rimbo"),
        ("Alam Barajo", "Pinang Merah"),
        ("Paal Merah", "Bakung Jaya"),
    }
    for kecamatan, kelurahan in added:
        assert find_kelurahan(kecamatan, kelurahan) is not None


@pytest.mark.parametrize(
    "query",
    [
        "Jambi Selatan",
        "jambi selatan",
        "  JAMBI   SELATAN ",
        "JambiSelatan",
        "Kec. Jambi Selatan",
        "15.71.02",
        "157102",
        "1571020",
    ],
)
def test_find_kecamatan_by_name_code_or_bps_code(query):
    assert find_kecamatan(query).name == "Jambi Selatan"


@pytest.mark.parametrize("query", ["Muaro Jambi", "15.71.12", "157199", "", "Jambi"])
def test_find_kecamatan_unknown_is_none(query):
    assert find_kecamatan(query) is None


@pytest.mark.parametrize(
    ("kecamatan", "spelling", "name"),
    [
        ("Jambi Selatan", "The Hok", "Thehok"),
        ("Jambi Selatan", "THEHOK", "Thehok"),
        ("Paal Merah", "Payo Silincah", "Payo Selincah"),
        ("Jambi Timur", "Sijinjang", "Sijenjang"),
        ("Jambi Timur", "sulan jana", "Sulanjana"),
        ("15.71.03", "Sulan Jana", "Sulanjana"),
    ],
)
def test_find_kelurahan_accepts_alternative_spellings(kecamatan, spelling, name):
    assert find_kelurahan(kecamatan, spelling).name == name


def test_find_kelurahan_by_code_with_or_without_dots():
    assert find_kelurahan("157102", "15.71.02.1004").name == "Thehok"
    assert find_kelurahan("Jambi Selatan", "1571021004").name == "Thehok"


def test_find_kelurahan_only_within_its_kecamatan():
    assert find_kelurahan("Telanaipura", "Thehok") is None
    assert find_kelurahan("Telanaipura", "15.71.02.1004") is None
    assert find_kelurahan("Nowhere", "Thehok") is None


def test_same_name_as_kecamatan_resolves_to_the_kelurahan():
    assert find_kelurahan("Pasar Jambi", "Pasar Jambi").code == "15.71.04.1003"


def test_district_code_digits():
    assert district_code_digits(find_kecamatan("Telanaipura")) == "157101"
    assert district_code_digits("Paal Merah") == "157111"
    for kec in KECAMATAN:
        digits = district_code_digits(kec)
        assert len(digits) == 6 and digits.startswith(TENANT_CODE)
    with pytest.raises(KeyError):
        district_code_digits("Muaro Jambi")


def test_tenant_code_is_kota_jambi():
    assert TENANT_CODE == "1571"


def test_regions_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        KECAMATAN[0].name = "Elsewhere"
