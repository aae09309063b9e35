"""The programs Kota Jambi starts with, defined through the ordinary use case.

Combinations: PKH families also receive BPNT/Sembako; PBI-JK (the JKN premium) is held
alongside any aid; empowerment is meant for families on aid, so it combines with it.
Combinability is symmetric (domain.eligibility_rules.combinable): two programs combine only
when each lists the other, so every pair below is listed on both sides.
Rules follow docs/domain.md; amounts and quotas are not modelled here.
REHSOS (social rehabilitation of homeless and neglected persons, Dinas Sosial) is the program
that serves people without a NIK (`serves_without_nik`): a gelandangan is helped before their
papers are found (GrantProvisionalBenefit); it has no decile rule, as such a person has none.

Which source decides the decile (`desil_source`, domain.program.DEFAULT_DESIL_SOURCE): the
national programs (APBN) follow DTSEN, the single source since Inpres 4/2025, and the older
sources only where a family has no DTSEN decile; the ministry's data is not overridden or
second-guessed locally. The city's own programs (APBD: KJB, UMKM Naik Kelas) let a later
field verification (VERVAL) by the kelurahan override DTSEN, and send a family to a person
when its sources differ by more than two deciles (KJB, the city's cash aid) or three (UMKM
Naik Kelas, whose limit is looser). Zakat has no decile rule: BAZNAS decides on its own
assessment of fakir and miskin; its source rule is the national one, stated for clarity.
"""

from __future__ import annotations

from typing import Any

from domain.errors import Conflict

SEED_EFFECTIVE_FROM = "2025-01-01"

_NATIONAL_SOURCES = {
    "order": ["DTSEN", "VERVAL", "DTKS", "P3KE"],
    "verification_overrides": False,
    "tolerance": None,
}


def _city_sources(tolerance: int) -> dict[str, Any]:
    return {
        "order": ["DTSEN", "VERVAL", "DTKS", "P3KE"],
        "verification_overrides": True,
        "tolerance": tolerance,
    }


ERROR_CODES = ("program.exists",)

SEED_PROGRAMS: tuple[dict[str, Any], ...] = (
    {
        "code": "PKH",
        "name": "Program Keluarga Harapan",
        "opd": "DINSOS",
        "funding": "APBN",
        "kind": "bansos",
        "yearly_target": 9000,  # families in a year (illustrative)
        "rules": {
            "max_desil": 4,
            "recipient": "adult_woman",
            "combinable_with": ["BPNT", "PBI-JK", "UMKM-NAIK-KELAS"],
            "desil_source": _NATIONAL_SOURCES,
        },
    },
    {
        "code": "BPNT",
        "name": "Bantuan Pangan Non Tunai / Program Sembako",
        "opd": "DINSOS",
        "funding": "APBN",
        "kind": "bansos",
        "yearly_target": 12000,  # families in a year (illustrative)
        "rules": {
            "max_desil": 4,
            "recipient": "head",
            "combinable_with": ["PKH", "PBI-JK", "UMKM-NAIK-KELAS"],
            "desil_source": _NATIONAL_SOURCES,
        },
    },
    {
        "code": "PBI-JK",
        "name": "Penerima Bantuan Iuran Jaminan Kesehatan",
        "opd": "DINSOS",
        "funding": "APBN",
        "kind": "insurance",
        "yearly_target": 40000,  # families in a year (illustrative)
        "rules": {
            "max_desil": 5,
            "recipient": "any_member",
            "combinable_with": [
                *("PKH", "BPNT", "KJB", "ZAKAT-BAZNAS", "UMKM-NAIK-KELAS", "REHSOS"),
            ],
            "desil_source": _NATIONAL_SOURCES,
        },
    },
    {
        "code": "KJB",
        "name": "Kartu Jambi Bahagia",
        "opd": "DINSOS",
        "funding": "APBD",
        "kind": "bansos",
        "yearly_target": 3000,  # families in a year (illustrative)
        "rules": {
            "max_desil": 5,
            "min_residence_months": 12,
            "excludes_nib_holders": True,
            "once_per_kk": True,
            "recipient": "head",
            "combinable_with": ["PBI-JK", "UMKM-NAIK-KELAS"],
            "desil_source": _city_sources(2),
        },
    },
    {
        "code": "ZAKAT-BAZNAS",
        "name": "Zakat Baznas Kota Jambi (fakir dan miskin)",
        "opd": "BAZNAS",
        "funding": "BAZNAS",
        "kind": "bansos",
        "yearly_target": 3500,  # families in a year (illustrative)
        "rules": {
            "once_per_kk": True,
            "recipient": "head",
            "combinable_with": ["PBI-JK", "UMKM-NAIK-KELAS"],
            "desil_source": _NATIONAL_SOURCES,
        },
    },
    {
        "code": "REHSOS",
        "name": "Rehabilitasi Sosial Gelandangan, Pengemis dan Orang Terlantar",
        "opd": "DINSOS",
        "funding": "APBD",
        "kind": "bansos",
        "yearly_target": 300,  # persons in a year (illustrative)
        "rules": {
            "recipient": "any_member",
            "serves_without_nik": True,
            "combinable_with": ["PBI-JK"],
            # no decile rule (a person without papers has none); the source rule is stated
            "desil_source": _NATIONAL_SOURCES,
        },
    },
    {
        "code": "UMKM-NAIK-KELAS",
        "name": "UMKM Naik Kelas (pelatihan dan modal usaha)",
        "opd": "DISKOPUKM",
        "funding": "APBD",
        "kind": "empowerment",
        "yearly_target": 2500,  # families in a year (illustrative)
        "rules": {
            "max_desil": 6,
            "recipient": "any_member",
            "combinable_with": ["PKH", "BPNT", "PBI-JK", "KJB", "ZAKAT-BAZNAS"],
            "desil_source": _city_sources(3),
        },
    },
)


def seed_catalog(app: Any, meta: dict[str, Any]) -> list[str]:
    """Define the seed programs not yet defined; answers the codes it defined (idempotent)."""
    defined = []
    existing = {program.code for program in app.list_programs()}
    for program in SEED_PROGRAMS:
        if program["code"] in existing:
            continue
        try:
            app.define_program(
                {**program, "effective_from": SEED_EFFECTIVE_FROM},
                meta,
                alongside=[p["code"] for p in SEED_PROGRAMS],  # they list one another
            )
        except Conflict as error:
            if error.code != "program.exists":
                raise
            continue
        defined.append(program["code"])
    return defined
