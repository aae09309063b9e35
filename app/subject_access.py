"""UU PDP subject access report (Pasal 7 and 32): for one NIK, everything held about the person
and the processing trail, as JSON and as a PDF.

Drawn from the event store, read through the revealing mapper so that the person's data is
in clear in the report (or shows as erased): the NikIndex stream, found by the NIK's keyed
hash, names every household the NIK ever belonged to; the events of those households that
mention the NIK, or a benefit or enrolment of it; the person's provisional-identity streams;
then the access log (reads matched by the NIK's HMAC or by the household id) and the relay's
recorded position (the events already published to `casework.events.v1`). Reads by `agency`
accounts count as data that left the system too.

The NIK is in the URL path, never in a log line: the access log stores the route and the HMAC.
Routes, registered by create_app (app/__init__.py): `/api/v1/persons/<nik>/subject-access[.pdf]`
and `/privasi/akses-subjek`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from flask import Blueprint, Response, jsonify, render_template, request

from adapters.db import Database
from app import access_log
from app.auth import require_role
from app.command_path import answers_errors_as_json, caller, errors_body, language
from app.context import services
from app.history import stream_history
from app.privacy import GENERAL_BASIS, LEGAL_REVIEW_NOTE, legal_basis
from app.web import current_actor
from domain.application import Casework
from domain.errors import NotFound
from domain.household import Household, NikIndex
from domain.identity import nik_problems
from projections.status import events_table, relay_state

log = logging.getLogger("casework.subject_access")

api_bp = Blueprint("subject_access", __name__, url_prefix="/api/v1/persons")
answers_errors_as_json(api_bp)
page_bp = Blueprint("subject_access_page", __name__, url_prefix="/privasi")

ROLES = ("admin", "supervisor", "auditor")
REASON = "permintaan akses subjek data"
EVENTS_TOPIC = "casework.events.v1"  # consumers/topics.py EVENTS (the app does not import Kafka)
CONTROLLER = "Pemerintah Kota Jambi — Dinas Sosial"
LEGAL_BASIS = (
    "UU 27/2022 tentang Pelindungan Data Pribadi, Pasal 7: Subjek Data Pribadi berhak "
    "mendapatkan akses dan memperoleh salinan Data Pribadi tentang dirinya.",
    "UU 27/2022, Pasal 32: Pengendali Data Pribadi wajib memberikan akses kepada Subjek Data "
    "Pribadi terhadap Data Pribadi yang diproses beserta rekam jejak pemrosesannya, paling "
    "lambat 3 x 24 jam sejak permintaan diterima.",
)
NOT_FOUND = {
    "id": "NIK ini tidak tercatat di sistem: tidak ada data pribadi yang disimpan untuknya.",
    "en": "This NIK is not recorded in the system: no personal data is held about it.",
}
MAX_CELL = 1500  # characters of one PDF table cell
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
_PERSON_FIELDS = (
    "nik",
    "name",
    "birth_date",
    "sex",
    "relationship",
    "status",
    "status_since",
    "date_of_death",
    "ktp_issued_on",
    "arrival",
    "residence_since",
)


class UnknownNik(LookupError):
    """No NikIndex stream: the NIK was never a member of a household here."""


# --- gathering ----------------------------------------------------------------------------


def _mentions(value: Any, needles: set[str]) -> bool:
    if isinstance(value, str):
        return value in needles
    if isinstance(value, dict):
        return any(str(k) in needles or _mentions(v, needles) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, needles) for v in value)
    return False


def _positions(store: Database, stream_ids: Sequence[uuid.UUID]) -> dict[tuple[str, int], int]:
    """(stream id, version) -> notification position, for these streams (one query)."""
    if not stream_ids:
        return {}
    table, column = events_table(store)
    keys: list[Any] = [s.hex if store.kind == "sqlite" else s for s in stream_ids]
    rows = store.query(
        f"SELECT originator_id, originator_version, {column} FROM {table}"
        f" WHERE originator_id IN ({', '.join('?' * len(keys))})",
        keys,
    )
    return {(str(uuid.UUID(str(r[0]))), int(r[1])): int(r[2]) for r in rows}


def _events(casework: Casework, stream_id: uuid.UUID, stream_type: str) -> list[dict[str, Any]]:
    return [
        {"stream_type": stream_type, "stream_id": str(stream_id), **e}
        for e in stream_history(casework, stream_id)
    ]


def _reads(store: Database, nik_hash: str, household_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Access-log rows naming the NIK's hash (searched or among the members) or a household."""
    access_log.ensure_table(store)
    households = list(dict.fromkeys(household_ids))
    where = "nik_hash = ? OR subject_hashes LIKE ?"
    if households:
        where += f" OR household_id IN ({', '.join('?' * len(households))})"
    fields = ("id", *access_log.FIELDS)
    rows = store.query(
        f"SELECT {', '.join(fields)} FROM {access_log.TABLE} WHERE {where} ORDER BY id",
        [nik_hash, f"%{nik_hash}%", *households],
    )
    reads = []
    for raw in rows:
        row = dict(zip(fields, raw, strict=True))
        subjects = (row["subject_hashes"] or "").split(",")
        by_nik = row["nik_hash"] == nik_hash or nik_hash in subjects
        reads.append(
            {
                "id": row["id"],
                "at": row["at"],
                "actor_id": row["actor_id"],
                "actor_role": row["actor_role"],
                "actor_opd": row["actor_opd"],
                "channel": row["channel"],
                "endpoint": row["endpoint"],
                "household_id": row["household_id"],
                "reason": row["reason"],
                "matched_by": "nik" if by_nik else "household",
            }
        )
    return reads


def _program_names(casework: Casework) -> dict[str, Any]:
    try:
        return {p.code: p for p in casework.list_programs()}
    except AggregateNotFoundError:
        return {}


def build_report(casework: Casework, store: Database, secret_key: str, nik: str) -> dict[str, Any]:
    """The whole report for a well-formed NIK; raises UnknownNik."""
    started = time.perf_counter()
    index_id = NikIndex.create_id(casework.nik_key(nik))
    try:
        index = casework.repository.get(index_id)
    except AggregateNotFoundError:
        raise UnknownNik from None
    index_events = _events(casework, index_id, "NikIndex")
    household_ids = list(
        dict.fromkeys(
            str(e["data"]["household_id"]) for e in index_events if e["data"].get("household_id")
        )
    )
    current_id = str(index.household_id)
    programs = _program_names(casework)

    events = list(index_events)
    households, benefits, nibs, enrollments, objections, assessments = [], [], [], [], [], []
    provisional: list[dict[str, Any]] = []
    person: dict[str, Any] | None = None
    streams = [index_id]
    for household_id in household_ids:
        try:
            household: Household = casework.get_household(household_id)
        except NotFound:
            continue
        streams.append(household.id)
        state = household.as_dict()
        member = household.members.get(nik)
        place = {
            "household_id": household_id,
            "kk_number": household.kk_number,
            "kk_history": state["kk_history"],
            "address": household.address,
            "rt": household.rt,
            "rw": household.rw,
            "kecamatan": household.kecamatan,
            "kelurahan": household.kelurahan,
            "current": household_id == current_id,
        }
        households.append(place)
        if member is not None and (household_id == current_id or person is None):
            person = {
                **{k: member.get(k) for k in _PERSON_FIELDS},
                "is_head": household.head_nik == nik,
                "active_claim": bool(index.active),
                **{k: place[k] for k in ("household_id", "kk_number", "address", "rt", "rw")},
                **{k: place[k] for k in ("kecamatan", "kelurahan")},
            }
        own_benefits = [b for b in state["benefits"] if b["nik"] == nik]
        own_enrollments = [e for e in state["enrollments"] if e["nik"] == nik]
        for benefit in own_benefits:
            program = programs.get(benefit["program"])
            benefits.append(
                {
                    "household_id": household_id,
                    **benefit,
                    "program_name": getattr(program, "name", None),
                    "legal_basis": (
                        legal_basis(program.funding, program.kind) if program is not None else []
                    ),
                }
            )
        nibs.extend({"household_id": household_id, **n} for n in state["nibs"] if n["nik"] == nik)
        enrollments.extend({"household_id": household_id, **e} for e in own_enrollments)
        objections.extend(
            {"household_id": household_id, **o}
            for o in state["objections"]
            if o["objector_nik"] == nik
        )
        for source, records in state["assessments"].items():
            assessments.extend(
                {"household_id": household_id, "source": source, **r} for r in records
            )
        needles = {
            nik,
            *(b["benefit_id"] for b in own_benefits),
            *(e["enrollment_id"] for e in own_enrollments),
        }
        events.extend(
            e for e in _events(casework, household.id, "Household") if _mentions(e["data"], needles)
        )
        for person_id in (member or {}).get("provisional_person_ids", []):
            try:
                found = casework.get_provisional_person(person_id)
            except NotFound:
                continue
            streams.append(found.id)
            provisional.append(found.as_dict())
            events.extend(_events(casework, found.id, "ProvisionalPerson"))

    relay_position, _published = relay_state(store)
    positions = _positions(store, streams)
    for event in events:
        event["position"] = positions.get((event["stream_id"], event["version"]))
        sent = event["position"] is not None and event["position"] <= relay_position
        event["published"] = sent
        event["topic"] = EVENTS_TOPIC if sent else None
    events.sort(key=lambda e: (e["position"] is None, e["position"] or 0))

    hashed = access_log.nik_hash(secret_key, nik)
    reads = _reads(store, hashed, household_ids)
    program_bases = {b for benefit in benefits for b in benefit["legal_basis"]}
    return {
        "report": "subject_access",
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "controller": CONTROLLER,
        "legal_basis": [*LEGAL_BASIS, GENERAL_BASIS, *sorted(program_bases - {GENERAL_BASIS})],
        "legal_review_note": LEGAL_REVIEW_NOTE,
        "nik": nik,
        "nik_hash": hashed,
        "person": person,
        "households": households,
        "provisional_identities": provisional,
        "benefits": benefits,
        "nibs": nibs,
        "empowerment": enrollments,
        "objections_filed": objections,
        "welfare_assessments": assessments,
        "events": events,
        "reads": reads,
        "disclosures": {
            "relay_position": relay_position,
            "published_events": [
                {
                    "topic": EVENTS_TOPIC,
                    "position": e["position"],
                    "event_id": e["event_id"],
                    "type": e["type"],
                    "recorded_at": e["recorded_at"],
                }
                for e in events
                if e["published"]
            ],
            "agency_reads": [r for r in reads if r["actor_role"] == "agency"],
        },
        "generation_ms": round((time.perf_counter() - started) * 1000, 1),
    }


# --- PDF ----------------------------------------------------------------------------------

_REPLACEMENTS = {
    "≤": "<=",
    "≥": ">=",
    "→": "->",
    "←": "<-",
    "✓": "v",
    "\u00a0": " ",
}


def pdf_text(value: Any) -> str:
    """Text the core fonts can draw (windows-1252): transliterated, never an error."""
    if value is None:
        return "-"
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    out = []
    for char in value:
        char = _REPLACEMENTS.get(char, char)
        try:
            char.encode("cp1252")
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        try:
            plain.encode("cp1252")
            out.append(plain)
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def local_time(stamp: str | None, bare: bool = False) -> str:
    """An RFC 3339 UTC stamp as WIB (the city's time), to the second."""
    if not stamp:
        return "-"
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        return stamp
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M:%S") + ("" if bare else " WIB")


def _actor(actor: Any) -> str:
    if isinstance(actor, dict):
        role = actor.get("role")
        return f"{actor.get('id')} ({role})" if role else str(actor.get("id"))
    return pdf_text(actor)


def _data(data: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {pdf_text(v)}" for k, v in data.items() if k != "meta")


STATUSES = {
    "active": "aktif",
    "suspended": "ditangguhkan",
    "terminated": "dihentikan",
    "moved_out": "pindah",
    "deceased": "meninggal",
    "removed": "dikeluarkan",
}


def _status(status: str | None, since: str | None = None) -> str:
    text = STATUSES.get(status or "", status or "-")
    return f"{text} (sejak {since})" if since else text


def _arrival(arrival: dict[str, Any] | None) -> str:
    if not arrival:
        return "-"
    if arrival.get("type") == "born_here":
        return "Lahir di Kota Jambi"
    return (
        f"Pindah datang pada {arrival.get('arrived_on')} "
        f"dari wilayah {arrival.get('origin_region_code')}"
    )


def _clip(text: str) -> str:
    """A table row must fit on one page: very long values are cut (the JSON has them whole)."""
    if len(text) <= MAX_CELL:
        return text
    return text[:MAX_CELL] + " ... (selengkapnya di laporan JSON)"


def render_pdf(report: dict[str, Any]) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_title(pdf_text("Laporan Akses Subjek Data Pribadi"))
    pdf.set_author(pdf_text(CONTROLLER))
    pdf.set_creator("Casework")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(12, 12, 12)
    generated = local_time(report["generated_at"])

    def footer() -> None:
        pdf.set_y(-10)
        pdf.set_font("Helvetica", "I", 7)
        pdf.cell(
            0,
            4,
            pdf_text(f"Laporan akses subjek data - dibuat {generated} - halaman {pdf.page_no()}"),
            align="C",
        )

    pdf.footer = footer  # type: ignore[method-assign]
    pdf.add_page()
    heading = FontFace(emphasis="BOLD", fill_color=(225, 236, 230))

    def title(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.set_text_color(20, 80, 60)
        pdf.multi_cell(0, 6, pdf_text(text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("Helvetica", "", 8)

    def para(text: str, size: float = 8) -> None:
        pdf.set_font("Helvetica", "", size)
        pdf.multi_cell(0, 4.2, pdf_text(text), align="L", new_x="LMARGIN", new_y="NEXT")

    def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int]) -> None:
        rows = list(rows)
        if not rows:
            para("Tidak ada.")
            return
        pdf.set_font("Helvetica", "", 7.5)
        with pdf.table(
            col_widths=tuple(widths),
            headings_style=heading,
            line_height=3.8,
            text_align="LEFT",
            padding=0.8,
        ) as grid:
            row = grid.row()
            for header in headers:
                row.cell(pdf_text(header))
            for values in rows:
                row = grid.row()
                for value in values:
                    row.cell(_clip(pdf_text(value)))

    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 8, "Laporan Akses Subjek Data Pribadi", new_x="LMARGIN", new_y="NEXT")
    para(f"Pengendali data: {report['controller']}. Dibuat: {generated}.", 9)
    para(
        "Isi: seluruh data pribadi yang disimpan tentang orang ini dan rekam jejak "
        "pemrosesannya (peristiwa, siapa yang membaca, dan data yang keluar dari sistem).",
        9,
    )

    person = report["person"] or {}
    title("1. Data pribadi yang disimpan")
    sexes = {"M": "Laki-laki", "F": "Perempuan"}
    facts = [
        ("NIK", report["nik"]),
        ("Nama", person.get("name")),
        ("Tanggal lahir", person.get("birth_date")),
        ("Jenis kelamin", sexes.get(person.get("sex") or "", person.get("sex"))),
        ("Hubungan dalam keluarga", (person.get("relationship") or "-").replace("_", " ")),
        ("Status", _status(person.get("status"), person.get("status_since"))),
        ("Tanggal KTP terbit", person.get("ktp_issued_on")),
        ("Kedatangan", _arrival(person.get("arrival"))),
        ("Rumah tangga (id)", person.get("household_id")),
        ("Nomor KK", person.get("kk_number")),
        ("Alamat", f"{person.get('address')} RT {person.get('rt')} RW {person.get('rw')}"),
        ("Kecamatan / kelurahan", f"{person.get('kecamatan')} / {person.get('kelurahan')}"),
    ]
    if person.get("date_of_death"):
        facts.append(("Tanggal meninggal", person["date_of_death"]))
    table(("Data", "Nilai"), facts, (1, 3))
    if report["provisional_identities"]:
        para("Identitas sementara (tunawisma) yang ditautkan:")
        table(
            ("Id", "Nama", "Perkiraan tahun lahir", "Ditemukan di", "Catatan"),
            (
                (p["id"], p["name"], p["estimated_birth_year"], p["found_at"], p["notes"])
                for p in report["provisional_identities"]
            ),
            (3, 2, 1, 2, 3),
        )
    if report["nibs"]:
        para("Nomor Induk Berusaha (NIB):")
        table(
            ("NIB", "Nama usaha", "Terdaftar", "Dicabut"),
            (
                (n["nib"], n["business_name"], n["registered_on"], n["revoked_on"])
                for n in report["nibs"]
            ),
            (2, 3, 1, 1),
        )

    title("2. Rumah tangga (kini dan sebelumnya)")
    table(
        ("Id rumah tangga", "Nomor KK", "Alamat", "Kecamatan / kelurahan", "Kini"),
        (
            (
                h["household_id"],
                h["kk_number"],
                f"{h['address']} RT {h['rt']} RW {h['rw']}",
                f"{h['kecamatan']} / {h['kelurahan']}",
                "ya" if h["current"] else "tidak",
            )
            for h in report["households"]
        ),
        (3, 2, 3, 3, 1),
    )

    title("3. Bantuan yang diterima")
    table(
        ("Id bantuan", "Program", "Periode", "Nilai (Rp)", "Status kini", "Dasar hukum"),
        (
            (
                b["benefit_id"],
                f"{b['program']} - {b['program_name'] or ''}",
                f"{b['period_start']} s.d. {b['period_end']}",
                f"{b['amount']:,}".replace(",", "."),
                _status(b["status"]),
                "\n".join(b["legal_basis"]),
            )
            for b in report["benefits"]
        ),
        (3, 3, 2, 1, 1, 4),
    )
    if report["benefits"]:
        para("Riwayat status bantuan:")
        table(
            ("Program", "Id bantuan", "Berlaku", "Status", "Alasan"),
            (
                (
                    b["program"],
                    b["benefit_id"],
                    h["effective_date"],
                    _status(h["status"]),
                    h.get("reason"),
                )
                for b in report["benefits"]
                for h in b["history"]
            ),
            (1, 3, 1, 1, 4),
        )
    if report["empowerment"]:
        para("Program pemberdayaan:")
        table(
            ("Program", "Terdaftar", "Hasil", "Selesai"),
            (
                (e["program"], e["enrolled_on"], e["outcome"], e["completed_on"])
                for e in report["empowerment"]
            ),
            (3, 1, 1, 1),
        )

    title("4. Penilaian kesejahteraan keluarga")
    table(
        ("Sumber", "Periode", "Desil", "Referensi", "Nomor KK saat dinilai"),
        (
            (a["source"], a["period"], a["desil"], a["reference"], a.get("kk_number"))
            for a in report["welfare_assessments"]
        ),
        (1, 1, 1, 3, 2),
    )

    title(f"5. Rekam jejak pemrosesan: peristiwa ({len(report['events'])})")
    table(
        ("Posisi", "Peristiwa", "Terjadi / dicatat (WIB)", "Oleh", "Sumber", "Alasan", "Data"),
        (
            (
                e["position"],
                e["type"],
                f"{local_time(e['occurred_at'], True)}\n{local_time(e['recorded_at'], True)}",
                _actor(e["actor"]),
                e["source"],
                e["reason"],
                _data(e["data"]),
            )
            for e in report["events"]
        ),
        (11, 30, 27, 26, 13, 30, 133),
    )

    title(f"6. Akses baca terhadap data ({len(report['reads'])})")
    table(
        ("Waktu", "Akun", "Peran", "Saluran", "Alasan", "Cocok menurut"),
        (
            (
                local_time(r["at"]),
                r["actor_id"] + (f" ({r['actor_opd']})" if r["actor_opd"] else ""),
                r["actor_role"],
                r["channel"],
                r["reason"],
                "NIK" if r["matched_by"] == "nik" else "rumah tangga",
            )
            for r in report["reads"]
        ),
        (3, 3, 2, 1, 5, 2),
    )

    out = report["disclosures"]
    title("7. Data yang keluar dari sistem")
    para(
        f"Peristiwa yang telah diterbitkan ke Kafka (posisi relay: {out['relay_position']}), "
        "dapat dibaca oleh sistem pelanggan (OPD lain):"
    )
    table(
        ("Topik", "Posisi", "Peristiwa", "Dicatat"),
        (
            (p["topic"], p["position"], p["type"], local_time(p["recorded_at"]))
            for p in out["published_events"]
        ),
        (3, 1, 3, 2),
    )
    para("Pembacaan oleh akun instansi (peran agency):")
    table(
        ("Waktu", "Akun", "Instansi", "Alasan"),
        (
            (local_time(r["at"]), r["actor_id"], r["actor_opd"], r["reason"])
            for r in out["agency_reads"]
        ),
        (2, 2, 2, 4),
    )

    title("Dasar hukum")
    for basis in report["legal_basis"]:
        para(f"- {basis}")
    para(f"Catatan: {report['legal_review_note']}")
    return bytes(pdf.output())


# --- HTTP ---------------------------------------------------------------------------------


def _not_found_body() -> dict[str, Any]:
    lang = language()
    return {
        "errors": {"nik": [NOT_FOUND.get(lang, NOT_FOUND["id"])]},
        "codes": {"nik": ["nik.unknown"]},
    }


def _report_for(nik: str, channel: str, actor: Any) -> dict[str, Any]:
    """Build the report; the read is logged (with the NIK's hash) once the NIK is known."""
    svc = services()
    casework = svc.casework
    index_id = NikIndex.create_id(casework.nik_key(nik))
    try:
        index = casework.repository.get(index_id)
    except AggregateNotFoundError:
        raise UnknownNik from None
    try:
        household = casework.get_household(index.household_id)
        reads: list[Any] = [household]
    except NotFound:
        reads = []
    if reads:
        access_log.record_households(actor, channel, reads, REASON, searched_nik=nik)
    else:
        endpoint = f"{request.method} {request.url_rule.rule if request.url_rule else '?'}"
        hashed = access_log.nik_hash(svc.settings.secret_key, nik)
        access_log.append(
            svc.store, actor, channel, endpoint, [access_log.Read(None, hashed)], REASON
        )
    report = build_report(casework, svc.store, svc.settings.secret_key, nik)
    log.info(
        "subject access report: %d events, %d reads, %.1f ms",
        len(report["events"]),
        len(report["reads"]),
        report["generation_ms"],
    )
    return report


def _api_report(nik: str) -> tuple[dict[str, Any] | None, Any]:
    actor = caller()
    require_role(actor, *ROLES)
    problems = nik_problems(nik)
    if problems:
        return None, (jsonify(errors_body({"nik": [p.code for p in problems]})), 422)
    try:
        return _report_for(nik, "api", actor), None
    except UnknownNik:
        return None, (jsonify(_not_found_body()), 404)


@api_bp.get("/<nik>/subject-access")
def report_json(nik: str):
    report, error = _api_report(nik)
    return error if report is None else jsonify(report)


@api_bp.get("/<nik>/subject-access.pdf")
def report_pdf(nik: str):
    report, error = _api_report(nik)
    if report is None:
        return error
    return _pdf_response(report)


def _pdf_response(report: dict[str, Any]) -> Response:
    stamp = dt.datetime.now(WIB).strftime("%Y%m%d-%H%M")
    return Response(
        render_pdf(report),
        mimetype="application/pdf",
        headers={
            # The file name carries no NIK (it ends up in download folders and logs).
            "Content-Disposition": f'inline; filename="akses-subjek-{stamp}.pdf"'
        },
    )


@page_bp.get("/akses-subjek")
def page():
    actor = current_actor()
    if actor.role not in ROLES:
        return render_template("privacy/subject_access.html", forbidden=True, nik=""), 403
    nik = (request.args.get("nik") or "").strip()
    report, error, status = None, None, 200
    if nik:
        problems = nik_problems(nik)
        if problems:
            error, status = "invalid", 422
        else:
            try:
                report = _report_for(nik, "ui", actor)
            except UnknownNik:
                error, status = "unknown", 404
    return (
        render_template(
            "privacy/subject_access.html",
            forbidden=False,
            nik=nik,
            report=report,
            error=error,
            local_time=local_time,
            active="privacy",
        ),
        status,
    )


@page_bp.get("/akses-subjek.pdf")
def page_pdf():
    actor = current_actor()
    if actor.role not in ROLES:
        return render_template("privacy/subject_access.html", forbidden=True, nik=""), 403
    nik = (request.args.get("nik") or "").strip()
    if nik_problems(nik):
        return page()
    try:
        report = _report_for(nik, "ui", actor)
    except UnknownNik:
        return page()
    return _pdf_response(report)
