"""UU PDP support: the record of processing (generated, never written by hand) and the
breach report drawn from the access log (app/access_log.py).

The record is built from what the system already knows: the program catalog (purposes and,
by funding and kind, the legal basis), the command fields of domain/commands.py (the data
categories), the account roles (the recipients) and a retention default per category.
A program defined tomorrow appears in the record without a code change.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Blueprint, jsonify, render_template, request

from app import access_log
from app.auth import Unauthenticated, require_role
from app.command_path import caller, error_response, errors_body
from app.context import services
from app.web import current_actor
from domain.accounts import ROLES
from domain.approval import Forbidden
from domain.commands import PERSON, SPECS
from domain.program import FUNDINGS, KINDS

bp = Blueprint("privacy", __name__, url_prefix="/privasi")
api_bp = Blueprint("privacy_api", __name__, url_prefix="/api/v1/privacy")

CONTROLLER = "Pemerintah Kota Jambi (Dinas Sosial) — sistem Casework"
BREACH_ROLES = ("auditor", "supervisor", "admin")
NOTIFY_WITHIN_HOURS = 72  # UU PDP: 3 x 24 hours

# Legal basis by (funding, kind); None as kind: any kind of that funding.
# NOTE: a first draft by engineering — it needs review by the Bagian Hukum before it is relied on.
LEGAL_BASES: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("APBN", "bansos"): (
        "UU 11/2009 tentang Kesejahteraan Sosial",
        "Perpres 63/2017 tentang Penyaluran Bantuan Sosial secara Nontunai",
    ),
    ("APBN", "insurance"): (
        "UU 40/2004 tentang Sistem Jaminan Sosial Nasional",
        "PP 101/2012 tentang Penerima Bantuan Iuran Jaminan Kesehatan",
    ),
    ("APBN", "empowerment"): ("UU 13/2011 tentang Penanganan Fakir Miskin",),
    ("APBD", None): (
        "UU 23/2014 tentang Pemerintahan Daerah (urusan sosial)",
        "UU 13/2011 tentang Penanganan Fakir Miskin",
        "Peraturan Wali Kota Jambi tentang program terkait (nomor perlu dilengkapi)",
    ),
    ("BAZNAS", None): ("UU 23/2011 tentang Pengelolaan Zakat",),
    ("OTHER", None): ("Dasar hukum belum ditetapkan: perlu kajian Bagian Hukum",),
}
LEGAL_REVIEW_NOTE = (
    "Dasar hukum dipetakan otomatis dari sumber dana dan jenis program; "
    "perlu ditinjau oleh Bagian Hukum sebelum dijadikan acuan resmi."
)
# Every UU PDP processing here also rests on this general basis.
GENERAL_BASIS = "UU 27/2022 tentang Pelindungan Data Pribadi, Pasal 20 ayat (2) huruf e"

KIND_PURPOSES = {
    "bansos": "Penyaluran bantuan sosial kepada rumah tangga miskin dan rentan",
    "insurance": "Pembayaran iuran jaminan kesehatan bagi penerima bantuan iuran",
    "empowerment": "Pemberdayaan ekonomi (pelatihan dan modal usaha) keluarga miskin",
}

# Data categories: a command field -> the category it belongs to (fields not listed are
# references or bookkeeping, e.g. household_id, dates of an administrative act).
CATEGORIES: dict[str, dict[str, Any]] = {
    "identity": {
        "label": "Identitas kependudukan (NIK, nomor KK)",
        "specific": False,
        "retention": "Selama rumah tangga terdaftar + 5 tahun; penghapusan dengan crypto-shredding",
    },
    "names": {
        "label": "Nama",
        "specific": False,
        "retention": "Selama rumah tangga terdaftar + 5 tahun",
    },
    "birth": {
        "label": "Tanggal lahir dan jenis kelamin",
        "specific": False,
        "retention": "Selama rumah tangga terdaftar + 5 tahun",
    },
    "address": {
        "label": "Alamat dan wilayah (kecamatan, kelurahan, RT/RW, lokasi ditemukan)",
        "specific": False,
        "retention": "Selama rumah tangga terdaftar + 5 tahun",
    },
    "family": {
        "label": "Hubungan keluarga dan kepala keluarga",
        "specific": False,
        "retention": "Selama rumah tangga terdaftar + 5 tahun",
    },
    "welfare": {
        "label": "Peringkat kesejahteraan (desil) dan sumbernya",
        "specific": True,
        "retention": "10 tahun sejak penilaian (audit bantuan sosial)",
    },
    "benefits": {
        "label": "Bantuan dan pemberdayaan yang diterima",
        "specific": True,
        "retention": "10 tahun sejak bantuan berakhir (pemeriksaan keuangan negara)",
    },
    "business": {
        "label": "Nomor Induk Berusaha (NIB) dan nama usaha",
        "specific": False,
        "retention": "Selama rumah tangga terdaftar + 5 tahun",
    },
    "death": {
        "label": "Kematian dan tanggal kematian",
        "specific": False,
        "retention": "Selama rumah tangga terdaftar + 5 tahun",
    },
    "verification": {
        "label": "Hasil verifikasi lapangan, catatan kasus dan keberatan",
        "specific": False,
        "retention": "5 tahun sejak catatan dibuat",
    },
    "location": {
        "label": "Koordinat dan foto (keberatan, tunawisma)",
        "specific": False,
        "retention": "2 tahun sejak catatan dibuat",
    },
}
FIELD_CATEGORIES = {
    "nik": "identity",
    "kk_number": "identity",
    "new_kk_number": "identity",
    "objector_nik": "identity",
    "name": "names",
    "birth_date": "birth",
    "estimated_birth_year": "birth",
    "sex": "birth",
    "address": "address",
    "rt": "address",
    "rw": "address",
    "kecamatan": "address",
    "kelurahan": "address",
    "found_at": "address",
    "arrival": "address",
    "head": "family",
    "relationship": "family",
    "desil": "welfare",
    "source": "welfare",
    "program": "benefits",
    "amount": "benefits",
    "period_start": "benefits",
    "period_end": "benefits",
    "enrolled_on": "benefits",
    "nib": "business",
    "business_name": "business",
    "date_of_death": "death",
    "outcome": "verification",
    "verifier": "verification",
    "notes": "verification",
    "text": "verification",
    "grounds": "verification",
    "photo_reference": "location",
    "latitude": "location",
    "longitude": "location",
}
# Commands whose fields describe a program, not a person.
_NOT_PERSONAL = {"DefineProgram", "ChangeProgramRules", "ApproveChange", "RejectChange"}
# A nested person (head, person) carries these fields too.
_NESTED_PERSON = {"head", "person"}

ROLE_DESCRIPTIONS = {
    "caseworker": "Pendamping/petugas kelurahan: rumah tangga di kelurahannya",
    "supervisor": "Supervisor Dinas Sosial: seluruh data, menyetujui perubahan",
    "auditor": "Auditor/Inspektorat: membaca seluruh data dan log akses",
    "program_manager": "Pengelola program OPD: penerima program OPD-nya",
    "agency": "Instansi mitra: hanya membaca, sesuai perjanjian",
    "admin": "Administrator sistem",
}


def legal_basis(funding: str, kind: str) -> list[str]:
    found = LEGAL_BASES.get((funding, kind)) or LEGAL_BASES.get((funding, None))
    return [*(found or LEGAL_BASES[("OTHER", None)]), GENERAL_BASIS]


def data_categories(specs: Iterable[Any] = SPECS) -> list[dict[str, Any]]:
    """The categories of personal data the commands record, each with its fields and commands."""
    found: dict[str, dict[str, set[str]]] = {}
    for spec in specs:
        if spec.name in _NOT_PERSONAL:
            continue
        names = list(spec.fields)
        for name in spec.fields:
            if name in _NESTED_PERSON:
                names.extend(PERSON)
        for name in names:
            category = FIELD_CATEGORIES.get(name)
            if category is None:
                continue
            entry = found.setdefault(category, {"fields": set(), "commands": set()})
            entry["fields"].add(name)
            entry["commands"].add(spec.name)
    return [
        {
            "category": key,
            "label": info["label"],
            "specific": info["specific"],
            "fields": sorted(found[key]["fields"]),
            "collected_by": sorted(found[key]["commands"]),
            "retention": info["retention"],
        }
        for key, info in CATEGORIES.items()
        if key in found
    ]


def recipients() -> dict[str, Any]:
    return {
        "roles": [
            {"role": role, "description": ROLE_DESCRIPTIONS.get(role, role)} for role in ROLES
        ],
        # Agency agreements (DefineAgencyAgreement) do not exist yet: none to list.
        "agency_agreements": [],
    }


def record_of_processing(programs: Sequence[Any]) -> dict[str, Any]:
    """The record of processing activities, from the catalog as it stands."""
    activities = [
        {
            "program": program.code,
            "name": program.name,
            "opd": program.opd,
            "funding": program.funding,
            "kind": program.kind,
            "purpose": f"{KIND_PURPOSES.get(program.kind, 'Penanggulangan kemiskinan')}: "
            f"{program.name}",
            "legal_basis": legal_basis(program.funding, program.kind),
        }
        for program in programs
    ]
    return {
        "controller": CONTROLLER,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "activities": activities,
        "data_categories": data_categories(),
        "data_subjects": [
            "Anggota rumah tangga miskin dan rentan di Kota Jambi",
            "Orang terlantar/tunawisma yang ditemukan petugas",
        ],
        "recipients": recipients(),
        "safeguards": [
            "Log akses append-only dengan rantai hash (NIK disimpan sebagai HMAC)",
            "Persetujuan dua orang (maker-checker) untuk perubahan penting",
            "Penghapusan dengan crypto-shredding (kunci per orang)",
            "Data baca (read model) tanpa NIK dan nomor KK terbuka: hanya hash berkunci untuk "
            "pencarian dan token terenkripsi untuk ditampilkan",
        ],
        "legal_review_note": LEGAL_REVIEW_NOTE,
        "fundings": list(FUNDINGS),
        "kinds": list(KINDS),
    }


# --- breach report ------------------------------------------------------------------------


class BadWindow(ValueError):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(code)
        self.field = field
        self.code = code


def parse_moment(raw: str, field: str) -> dt.datetime:
    value = (raw or "").strip()
    if not value:
        raise BadWindow(field, "field.required")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadWindow(field, "field.invalid") from None
    if moment.tzinfo is None:
        raise BadWindow(field, "field.invalid")
    return moment


def breach_report(
    store: Any, start: dt.datetime, end: dt.datetime, actor_ids: Sequence[str]
) -> dict[str, Any]:
    """What these accounts read in [start, end): households and persons (NIK hashes), counted."""
    if end <= start:
        raise BadWindow("to", "field.invalid")
    rows = access_log.entries(
        store, access_log.as_stamp(start), access_log.as_stamp(end), actor_ids
    )
    households: dict[str, dict[str, Any]] = {}
    persons: Counter[str] = Counter()
    for row in rows:
        hashes = set(filter(None, (row["subject_hashes"] or "").split(",")))
        if row["nik_hash"]:
            hashes.add(row["nik_hash"])
        persons.update(hashes)
        if row["household_id"]:
            entry = households.setdefault(
                row["household_id"],
                {"household_id": row["household_id"], "reads": 0, "actors": set(), "first": None},
            )
            entry["reads"] += 1
            entry["actors"].add(row["actor_id"])
            entry["first"] = entry["first"] or row["at"]
            entry["last"] = row["at"]
    notify_by = end.astimezone(dt.UTC) + dt.timedelta(hours=NOTIFY_WITHIN_HOURS)
    return {
        "from": access_log.as_stamp(start),
        "to": access_log.as_stamp(end),
        "actors": list(dict.fromkeys(actor_ids)),
        "reads": len(rows),
        "households": [
            {**entry, "actors": sorted(entry["actors"])} for entry in households.values()
        ],
        "persons": [{"nik_hash": h, "reads": n} for h, n in sorted(persons.items())],
        "notify_within_hours": NOTIFY_WITHIN_HOURS,
        "notify_by_if_discovered_at_window_end": notify_by.isoformat(timespec="seconds"),
    }


def _actor_ids(values: Iterable[str]) -> list[str]:
    ids = []
    for value in values:
        ids.extend(part.strip() for part in value.replace(",", " ").split())
    return [i for i in dict.fromkeys(ids) if i]


# --- API ----------------------------------------------------------------------------------


@api_bp.errorhandler(Unauthenticated)
def _unauthenticated(error: Unauthenticated):
    response, status = error_response(401, "authorization", error.code)
    response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
    return response, status


@api_bp.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return error_response(403, error.field, error.code)


@api_bp.get("/record-of-processing")
def record_api():
    caller()
    return jsonify(record_of_processing(services().casework.list_programs()))


@api_bp.get("/breach-report")
def breach_api():
    require_role(caller(), *BREACH_ROLES)
    actors = _actor_ids(request.args.getlist("actor"))
    try:
        if not actors:
            raise BadWindow("actor", "field.required")
        start = parse_moment(request.args.get("from", ""), "from")
        end = parse_moment(request.args.get("to", ""), "to")
        report = breach_report(services().store, start, end, actors)
    except BadWindow as bad:
        return jsonify(errors_body({bad.field: [bad.code]})), 422
    return jsonify(report)


# --- pages --------------------------------------------------------------------------------


@bp.get("/rekam-pemrosesan")
def record_page():
    record = record_of_processing(services().casework.list_programs())
    return render_template("privacy/record.html", record=record, active="privacy")


@bp.get("/pelanggaran")
def breach_page():
    actor = current_actor()
    if actor.role not in BREACH_ROLES:
        return render_template("privacy/breach.html", forbidden=True, values={}), 403
    values = {
        "dari": request.args.get("dari", ""),
        "sampai": request.args.get("sampai", ""),
        "akun": request.args.get("akun", ""),
    }
    report, error = None, None
    if any(values.values()):
        try:
            actors = _actor_ids([values["akun"]])
            if not actors:
                raise BadWindow("akun", "field.required")
            # The form's datetime-local fields are in WIB.
            start = _local(values["dari"], "dari")
            end = _local(values["sampai"], "sampai")
            report = breach_report(services().store, start, end, actors)
        except BadWindow as bad:
            error = bad.field
    return render_template(
        "privacy/breach.html",
        forbidden=False,
        values=values,
        report=report,
        error=error,
        active="privacy",
    )


WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


def _local(raw: str, field: str) -> dt.datetime:
    value = (raw or "").strip()
    if not value:
        raise BadWindow(field, "field.required")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadWindow(field, "field.invalid") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=WIB)
