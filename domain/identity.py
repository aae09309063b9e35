"""Structural checks of Indonesian identity numbers (NIK and KK number).

A NIK is province (2), regency/city (2), district (2), birth date DDMMYY with 40
added to the day for women, and a 4-digit serial. A KK number is the issuing
region (6), the registration date DDMMYY and a 4-digit serial.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Province codes of Kemendagri (BPS numbering), including the 2022 Papua provinces.
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 63 64 65 "
    "71 72 73 74 75 76 81 82 91 92 93 94 95 96".split()
)


@dataclass(frozen=True)
class Problem:
    """One reason a value is invalid: a stable code the edge translates, and its detail."""

    code: str
    detail: str = ""


def _two_digit_year_date(day: int, month: int, yy: int, not_after: dt.date) -> dt.date | None:
    """The latest real date with these parts that is not after `not_after`."""
    for century in (2000, 1900):
        try:
            candidate = dt.date(century + yy, month, day)
        except ValueError:
            return None
        if candidate <= not_after:
            return candidate
    return None


def _digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes fullwidth and Arabic-Indic digits, which
    `int` reads as numbers, so a NIK spelled with one would be another NIK than the same
    digits in ASCII (a second claim on one person)."""
    return text.isascii() and text.isdigit()


def nik_problems(
    nik: str,
    *,
    birth_date: dt.date | None = None,
    sex: str | None = None,
) -> list[Problem]:
    """Everything structurally wrong with a NIK; empty when it is well formed.

    With `birth_date` and `sex` given, the date part must match them.
    """
    if not isinstance(nik, str) or len(nik) != 16 or not _digits(nik):
        return [Problem("nik.format")]
    problems = []
    if nik[:2] not in PROVINCE_CODES:
        problems.append(Problem("nik.province", nik[:2]))
    if nik[2:4] == "00" or nik[4:6] == "00":
        problems.append(Problem("nik.region"))
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    encoded_female = day > 40
    real_day = day - 40 if encoded_female else day
    if not 1 <= month <= 12 or not 1 <= real_day <= 31:
        problems.append(Problem("nik.birth_date"))
    elif birth_date is not None:
        if (real_day, month, yy) != (birth_date.day, birth_date.month, birth_date.year % 100):
            problems.append(Problem("nik.birth_date_mismatch"))
    if sex is not None and sex in ("M", "F") and encoded_female != (sex == "F"):
        problems.append(Problem("nik.sex_mismatch"))
    if nik[12:] == "0000":
        problems.append(Problem("nik.serial"))
    return problems


def kk_problems(kk_number: str, *, today: dt.date | None = None) -> list[Problem]:
    """Everything structurally wrong with a KK number; empty when it is well formed."""
    if not isinstance(kk_number, str) or len(kk_number) != 16 or not _digits(kk_number):
        return [Problem("kk.format")]
    problems = []
    if kk_number[:2] not in PROVINCE_CODES:
        problems.append(Problem("kk.province", kk_number[:2]))
    if kk_number[2:4] == "00" or kk_number[4:6] == "00":
        problems.append(Problem("kk.region"))
    day, month, yy = int(kk_number[6:8]), int(kk_number[8:10]), int(kk_number[10:12])
    if _two_digit_year_date(day, month, yy, today or dt.date.today()) is None:
        problems.append(Problem("kk.date"))
    if kk_number[12:] == "0000":
        problems.append(Problem("kk.serial"))
    return problems


def is_valid_nik(nik: str) -> bool:
    return not nik_problems(nik)


def is_valid_kk(kk_number: str) -> bool:
    return not kk_problems(kk_number)
