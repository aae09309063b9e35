"""Synthetic files in the sources' layouts (README, Importing), from the demo families of
app/seed_data.py: what the tests and the import benchmark feed `casework import`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from app.import_layouts import DTSEN_RELATIONSHIPS, SHDK
from domain.household import HEAD

# Casework relationship -> the sources' codes (the first code that translates to it)
SHDK_CODE = {value: code for code, value in reversed(list(SHDK.items()))}
DTSEN_CODE = {value: code for code, value in reversed(list(DTSEN_RELATIONSHIPS.items())) if value}
DTSEN_CODE.update({"istri": "2", "suami": "2", "mertua": "6", "famili_lain": "8"})

DTKS_HEADER = (
    "IDDTKS|PROVINSI|KABUPATEN_KOTA|KECAMATAN|DESA_KELURAHAN|ALAMAT|DUSUN|RT|RW|NOMOR_KK"
    "|NOMOR_NIK|NAMA|TANGGAL_LAHIR|TEMPAT_LAHIR|JENIS_KELAMIN|NAMA_IBU_KANDUNG"
    "|HUBUNGAN_KELUARGA|Pekerjaan|Keterangan_padan|Bansos_Bpnt|Bansos_Pkh|Pbi_Jkn"
).split("|")
DTSEN_FAMILY_HEADER = (
    "nomor_kartu_keluarga|nama_kepala_keluarga|kode_kabupaten_kota|kabupaten_kota|kecamatan"
    "|kelurahan_desa|alamat|rt|rw|desil_nasional|desil_provinsi|desil_kabupaten_kota"
).split("|")
DTSEN_MEMBER_HEADER = (
    "nomor_kartu_keluarga|nik|nama|tanggal_lahir|jenis_kelamin|hubungan_keluarga".split("|")
)
P3KE_FAMILY_HEADER = (
    "id_keluarga_P3KE|provinsi|kabupaten_kota|kecamatan|desa_kelurahan|kode_kemdagri"
    "|desil_kesejahteraan|alamat|kepala_keluarga|nik|padan_dukcapil|jenis_kelamin"
    "|tanggal_lahir|pekerjaan|pendidikan|no_kk|rt|rw|penerima_bpnt|penerima_bpum|penerima_bst"
    "|penerima_pkh|penerima_sembako|resiko_stunting"
).split("|")
P3KE_MEMBER_HEADER = (
    "id_keluarga_P3KE|kecamatan|desa_kelurahan|desil_kesejahteraan|id_individu|nama|nik"
    "|padan_dukcapil|jenis_kelamin|hubungan_dengan_kepala_keluarga|tanggal_lahir|status_kawin"
    "|pekerjaan|pendidikan"
).split("|")
VERVAL_HEADER = "nomor_kk|nik|desil|tanggal_kunjungan|hasil|petugas|catatan".split("|")


def people(family: dict[str, Any]) -> list[tuple[dict[str, str], str]]:
    """(person, relationship) of a demo family, the head first."""
    return [(family["register"]["head"], HEAD)] + [
        (m["person"], m["relationship"]) for m in family["members"]
    ]


def desil_of(index: int) -> int:
    return index % 10 + 1


def _dmy(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}-{m}-{y}"


def write_csv(
    path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]], encoding="utf-8"
) -> Path:
    """Pipe-delimited, every cell quoted, as the sources deliver."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="|", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    Path(path).write_bytes(out.getvalue().encode(encoding))
    return Path(path)


def dtks_rows(families: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for i, family in enumerate(families):
        reg = family["register"]
        for j, (person, relation) in enumerate(people(family)):
            rows.append(
                [
                    f"DTKS{i:06d}{j:02d}", "JAMBI", "KOTA JAMBI", reg["kecamatan"].upper(),
                    reg["kelurahan"].upper(), reg["address"], "", reg["rt"], reg["rw"],
                    reg["kk_number"], person["nik"], person["name"].upper(),
                    _dmy(person["birth_date"]), "JAMBI", "1" if person["sex"] == "M" else "2",
                    "", SHDK_CODE[relation], "Lainnya", "Padan",
                    "Ya" if i % 3 == 0 else "Tidak", "1" if i % 4 == 0 else "0", "Tidak",
                ]
            )  # fmt: skip
    return rows


def dtsen_rows(families: list[dict[str, Any]]) -> tuple[list[list[Any]], list[list[Any]]]:
    keluarga, anggota = [], []
    for i, family in enumerate(families):
        reg = family["register"]
        keluarga.append(
            [
                reg["kk_number"], reg["head"]["name"], "1571", "KOTA JAMBI", reg["kecamatan"],
                reg["kelurahan"], reg["address"], reg["rt"], reg["rw"], desil_of(i),
                desil_of(i + 1), desil_of(i + 2),
            ]
        )  # fmt: skip
        for person, relation in people(family):
            anggota.append(
                [
                    reg["kk_number"], person["nik"], person["name"], person["birth_date"],
                    "1" if person["sex"] == "M" else "2", DTSEN_CODE[relation],
                ]
            )  # fmt: skip
    return keluarga, anggota


def write_dtsen(directory: Path, families: list[dict[str, Any]], code: str = "1571") -> list[Path]:
    keluarga, anggota = dtsen_rows(families)
    return [
        write_csv(directory / f"keluarga_dtsen_v3_2026_{code}.csv", DTSEN_FAMILY_HEADER, keluarga),
        write_csv(
            directory / f"anggota_keluarga_dtsen_v3_2026_{code}.csv", DTSEN_MEMBER_HEADER, anggota
        ),
    ]


def write_p3ke(path: Path, families: list[dict[str, Any]]) -> Path:
    """An XLSX with a family sheet and an individual sheet, each under a title block (data
    from row 13, as Kemenko PMK's)."""
    workbook = Workbook()
    family_sheet = workbook.active
    family_sheet.title = "Keluarga"
    member_sheet = workbook.create_sheet("Individu")
    for sheet in (family_sheet, member_sheet):
        sheet.append(["DATA P3KE - KEMENKO PMK"])
        for _ in range(10):
            sheet.append([])
    family_sheet.append(P3KE_FAMILY_HEADER)
    member_sheet.append(P3KE_MEMBER_HEADER)
    for i, family in enumerate(families):
        reg, head = family["register"], family["register"]["head"]
        family_id = f"P3KE{i:07d}"
        family_sheet.append(
            [
                family_id, "JAMBI", "KOTA JAMBI", reg["kecamatan"], reg["kelurahan"], "",
                desil_of(i), reg["address"], head["name"], head["nik"], "Padan",
                "Laki-laki" if head["sex"] == "M" else "Perempuan", head["birth_date"], "", "",
                reg["kk_number"], reg["rt"], reg["rw"], "Ya" if i % 2 else "Tidak", "Tidak",
                "Tidak", "Ya" if i % 5 == 0 else "Tidak", "Tidak", "Tidak",
            ]
        )  # fmt: skip
        for j, (person, relation) in enumerate(people(family)):
            member_sheet.append(
                [
                    family_id, reg["kecamatan"], reg["kelurahan"], desil_of(i), f"{family_id}-{j}",
                    person["name"], person["nik"], "Padan",
                    "Laki-laki" if person["sex"] == "M" else "Perempuan",
                    SHDK_CODE[relation], person["birth_date"], "", "", "",
                ]
            )  # fmt: skip
    workbook.save(path)
    return Path(path)
