"""Kota Jambi's kecamatan and kelurahan, with Kemendagri and BPS codes.

The list in force is Kepmendagri 100.1.1-6117/2022: 11 kecamatan, 68 kelurahan.
Kemendagri and BPS number kecamatan differently (Telanaipura is 15.71.01 at
Kemendagri, 1571050 at BPS); both are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

TENANT_CODE = "1571"
# Kota Jambi on the map (WGS 84; the city lies within about -1.52 to -1.70 latitude and
# 103.52 to 103.70 longitude), with some 10 km around it: coordinates outside are a typing or
# GPS error (0, 0 from a phone without a fix; a lost minus sign), not where the family lives.
CITY_LATITUDE = (-1.80, -1.40)
CITY_LONGITUDE = (103.40, 103.85)


@dataclass(frozen=True)
class Kelurahan:
    code: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kecamatan:
    code: str
    bps_code: str
    name: str
    kelurahan: tuple[Kelurahan, ...]


# Spellings that differ between sources (DTKS, P3KE, DTSEN, Dukcapil).
_ALIASES = {
    "Thehok": ("The Hok",),
    "Payo Selincah": ("Payo Silincah",),
    "Sijenjang": ("Sijinjang",),
    "Sulanjana": ("Sulan Jana",),
}

# (Kemendagri code, BPS code, name, ((kelurahan suffix, name), ...))
_TABLE = (
    (
        "15.71.01",
        "1571050",
        "Telanaipura",
        (
            ("1001", "Simpang IV Sipin"),
            ("1002", "Buluran Kenali"),
            ("1003", "Teluk Kenali"),
            ("1004", "Telanaipura"),
            ("1010", "Penyengat Rendah"),
            ("1011", "Pematang Sulur"),
            ("1012", "Aur Kenali"),
        ),
    ),
    (
        "15.71.02",
        "1571020",
        "Jambi Selatan",
        (
            ("1002", "Pasir Putih"),
            ("1003", "Tambak Sari"),
            ("1004", "Thehok"),
            ("1005", "Wijaya Pura"),
            ("1006", "Pakuan Baru"),
        ),
    ),
    (
        "15.71.03",
        "1571080",
        "Jambi Timur",
        (
            ("1001", "Sijenjang"),
            ("1002", "Kasang Jaya"),
            ("1003", "Talang Banjar"),
            ("1004", "Budiman"),
            ("1005", "Sulanjana"),
            ("1006", "Kasang"),
            ("1007", "Tanjung Sari"),
            ("1008", "Rajawali"),
            ("1010", "Tanjung Pinang"),
        ),
    ),
    (
        "15.71.04",
        "1571040",
        "Pasar Jambi",
        (
            ("1001", "Beringin"),
            ("1002", "Orang Kayo Hitam"),
            ("1003", "Pasar Jambi"),
            ("1004", "Sungai Asam"),
        ),
    ),
    (
        "15.71.05",
        "1571070",
        "Pelayangan",
        (
            ("1001", "Arab Melayu"),
            ("1002", "Mudung Laut"),
            ("1003", "Jelmu"),
            ("1004", "Tengah"),
            ("1005", "Tahtul Yaman"),
            ("1006", "Tanjung Johor"),
        ),
    ),
    (
        "15.71.06",
        "1571060",
        "Danau Teluk",
        (
            ("1001", "Pasir Panjang"),
            ("1002", "Tanjung Raden"),
            ("1003", "Olak Kemang"),
            ("1004", "Tanjung Pasir"),
            ("1005", "Ulu Gedong"),
        ),
    ),
    (
        "15.71.07",
        "1571010",
        "Kota Baru",
        (
            ("1001", "Suka Karya"),
            ("1002", "Simpang III Sipin"),
            ("1004", "Paal Lima"),
            ("1005", "Kenali Asam Bawah"),
            ("1006", "Kenali Asam Atas"),
            ("1011", "Talang Gulo"),
            ("1012", "Kenali Asam"),
        ),
    ),
    (
        "15.71.08",
        "1571030",
        "Jelutung",
        (
            ("1001", "Talang Jauh"),
            ("1002", "Cempaka Putih"),
            ("1003", "Kebun Handil"),
            ("1004", "Lebak Bandung"),
            ("1005", "Payo Lebar"),
            ("1006", "Jelutung"),
            ("1007", "Handil Jaya"),
        ),
    ),
    (
        "15.71.09",
        "1571011",
        "Alam Barajo",
        (
            ("1001", "Kenali Besar"),
            ("1002", "Rawa Sari"),
            ("1003", "Mayang Mangurai"),
            ("1004", "Bagan Pete"),
            ("1005", "Beliung"),
            ("1006", "Simpang Rimbo"),
            ("1007", "Pinang Merah"),
        ),
    ),
    (
        "15.71.10",
        "1571051",
        "Danau Sipin",
        (
            ("1001", "Sungai Putri"),
            ("1002", "Murni"),
            ("1003", "Legok"),
            ("1004", "Selamat"),
            ("1005", "Solok Sipin"),
        ),
    ),
    (
        "15.71.11",
        "1571021",
        "Paal Merah",
        (
            ("1001", "Talang Bakung"),
            ("1002", "Payo Selincah"),
            ("1003", "Eka Jaya"),
            ("1004", "Lingkar Selatan"),
            ("1005", "Paal Merah"),
            ("1006", "Bakung Jaya"),
        ),
    ),
)


def _build() -> tuple[Kecamatan, ...]:
    return tuple(
        Kecamatan(
            code=code,
            bps_code=bps_code,
            name=name,
            kelurahan=tuple(
                Kelurahan(f"{code}.{suffix}", kel_name, _ALIASES.get(kel_name, ()))
                for suffix, kel_name in kelurahan
            ),
        )
        for code, bps_code, name, kelurahan in _TABLE
    )


KECAMATAN: tuple[Kecamatan, ...] = _build()

_PREFIXES = ("kecamatan", "kelurahan", "kec.", "kel.", "kec ", "kel ")


@lru_cache(maxsize=4096)
def _key(text: str) -> str:
    """Lower case without spaces, dots, dashes or a leading 'Kec.'/'Kelurahan' word (the
    same few names are looked up over and over: every row of an import, every page)."""
    text = " ".join(str(text).lower().split())
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return "".join(ch for ch in text if ch.isalnum())


def _kecamatan_keys(kecamatan: Kecamatan) -> set[str]:
    return {_key(kecamatan.name), _key(kecamatan.code), kecamatan.bps_code}


def _kelurahan_keys(kecamatan: Kecamatan, kelurahan: Kelurahan) -> set[str]:
    suffix = kelurahan.code.rsplit(".", 1)[1]
    names = (kelurahan.name, *kelurahan.aliases)
    return {_key(name) for name in names} | {_key(kelurahan.code), suffix}


_KECAMATAN_BY_KEY = {key: kec for kec in KECAMATAN for key in _kecamatan_keys(kec)}
_KELURAHAN_BY_KEY = {
    (kec.code, key): kel
    for kec in KECAMATAN
    for kel in kec.kelurahan
    for key in _kelurahan_keys(kec, kel)
}


def find_kecamatan(name_or_code: str) -> Kecamatan | None:
    """The kecamatan by name, Kemendagri code (with or without dots) or BPS code."""
    return _KECAMATAN_BY_KEY.get(_key(name_or_code))


def find_kelurahan(kecamatan_name_or_code: str, kelurahan_name_or_code: str) -> Kelurahan | None:
    """The kelurahan of that kecamatan by name, alternative spelling, full code or suffix."""
    kecamatan = find_kecamatan(kecamatan_name_or_code)
    if kecamatan is None:
        return None
    return _KELURAHAN_BY_KEY.get((kecamatan.code, _key(kelurahan_name_or_code)))


def kelurahan_matches(kelurahan_name_or_code: str) -> list[tuple[str, str]]:
    """(kecamatan, kelurahan) names of every kelurahan of the city so named or coded (two
    kecamatan may have a kelurahan of the same name)."""
    found = []
    for kecamatan in KECAMATAN:
        match = find_kelurahan(kecamatan.name, kelurahan_name_or_code)
        if match is not None:
            found.append((kecamatan.name, match.name))
    return found


def district_code_digits(kecamatan: Kecamatan | str) -> str:
    """The 6-digit region prefix of NIK and KK numbers, e.g. '157101' for Telanaipura."""
    if isinstance(kecamatan, str):
        found = find_kecamatan(kecamatan)
        if found is None:
            raise KeyError(f"unknown kecamatan of Kota Jambi: {kecamatan!r}")
        kecamatan = found
    return kecamatan.code.replace(".", "")
