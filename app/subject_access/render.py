"""The subject access report as people read it: every value in words of the request's
language (event names, statuses, relationships, dates, rupiah), never a raw code, `None` or
JSON. The web page (templates/privacy/subject_access.html) and the PDF use the same helpers.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf import FPDF
from fpdf.fonts import FontFace

from app.messages import (
    date_text,
    moment_text,
    moments_text,
    number_text,
    role_label,
    rupiah,
    stamp_moment,
    text,
)
from app.web import benefit_status_text, field_label, option_label
from domain.city import WIB

NONE = "—"
MAX_CELL = 1500  # characters of one PDF table cell

EVENT_LABELS = {
    "ApprovalClosed": _l("Approval closed"),
    "ApprovalOpened": _l("Approval opened"),
    "BenefitGranted": _l("Benefit granted"),
    "BenefitReceived": _l("Benefit recorded on the person's NIK"),
    "BenefitResumed": _l("Benefit resumed"),
    "BenefitReviewDecided": _l("Benefit review decided"),
    "BenefitReviewOpened": _l("Benefit review opened"),
    "BenefitReviewOverdue": _l("Benefit review overdue"),
    "BenefitSuspended": _l("Benefit suspended"),
    "BenefitTerminated": _l("Benefit terminated"),
    "CaseNoteAdded": _l("Case note added"),
    "ChangeApproved": _l("Change approved"),
    "ChangeRefused": _l("Change refused at approval: it could no longer be carried out"),
    "ChangeRejected": _l("Change rejected"),
    "ChangeRequested": _l("Change requested"),
    "DeathRecorded": _l("Death recorded"),
    "EmpowermentCompleted": _l("Empowerment completed"),
    "EmpowermentEnrolled": _l("Enrolled in empowerment"),
    "ErasureRefused": _l("Erasure refused"),
    "FamilySplit": _l("Members left to form a new family (split KK)"),
    "HeadChanged": _l("Head of family changed"),
    "HomelessPersonRegistered": _l("Homeless person registered"),
    "HouseholdRegistered": _l("Household registered"),
    "HouseholdSplitOff": _l("Household formed by a family split"),
    "IdentityLinked": _l("Identity linked"),
    "KkClaimed": _l("KK number claimed"),
    "KtpIssued": _l("KTP issued"),
    "MemberAdded": _l("Member added"),
    "MemberCorrected": _l("Member's data corrected"),
    "MemberRejoined": _l("Member rejoined"),
    "MemberRemoved": _l("Member removed"),
    "NibRegistered": _l("NIB registered"),
    "NibRevoked": _l("NIB revoked"),
    "NikClaimed": _l("NIK recorded in a household"),
    "NikClaimedAgain": _l("NIK recorded again"),
    "NikReleased": _l("NIK released"),
    "ObjectionFiled": _l("Objection filed"),
    "ObjectionLapsed": _l("Objection lapsed"),
    "ObjectionResolved": _l("Objection resolved"),
    "PersonalDataErased": _l("Personal data erased"),
    "ProcessingRestricted": _l("Processing restricted"),
    "ProvisionalIdentityLinked": _l("Provisional identity linked"),
    "RestrictionLifted": _l("Restriction lifted"),
    "SourceListingRecorded": _l("Data source listing recorded"),
    "VerificationRecorded": _l("Field verification recorded"),
    "WelfareAssessed": _l("Welfare assessed"),
}
STATUSES = {
    "active": _l("active"),
    "suspended": _l("suspended"),
    "terminated": _l("terminated"),
    "moved_out": _l("moved out"),
    "deceased": _l("deceased"),
    "removed": _l("removed"),
}
CHANNELS = {
    "ui": _l("web page"),
    "api": _l("API"),
    "cli": _l("command line"),
    "kafka": _l("agency topic (Kafka)"),
    "webhook": _l("agency webhook"),
}
MATCHED_BY = {"nik": _l("NIK"), "household": _l("household")}
READS_GROUPED = _l(
    "The reads of one account, role, channel and reason on one day are one row, with how many"
    " they were; the JSON report lists each read."
)


def event_label(kind: str | None) -> str:
    return str(EVENT_LABELS.get(kind or "", kind or NONE))


def status_label(status: str | None, since: str | None = None) -> str:
    if not status:
        return NONE
    label = str(STATUSES.get(status, status))
    return _("%(status)s (since %(date)s)", status=label, date=date_text(since)) if since else label


def relationship_label(value: str | None) -> str:
    return text(f"rel.{value}") if value else NONE


def sex_label(value: str | None) -> str:
    return text(f"sex.{value}") if value else NONE


def channel_label(value: str | None) -> str:
    return str(CHANNELS.get(value or "", value or NONE))


def matched_label(value: str | None) -> str:
    return str(MATCHED_BY.get(value or "", value or NONE))


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def read_rows(reads: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The reads as a person reads them: those of one account, role, channel and reason,
    matched the same way, on one day in WIB, in one row with how many they were (`count`) and
    the first and last moment (`first`, `last`), in the order of their first read. A person
    read every working day for years has thousands of reads, and the PDF drew one table row
    each: 5,853 reads made 196 pages and 11.6 s of a web worker's CPU (docs/performance.md).
    The JSON report lists each."""
    rows: dict[tuple, dict[str, Any]] = {}
    spans: dict[tuple, list[dt.datetime]] = {}  # each row's earliest and latest moment
    for read in reads:
        at = read["at"]
        moment = stamp_moment(at)  # None: never written so, shown as it is
        key = (
            moment.astimezone(WIB).date() if moment else at,
            read["actor_id"],
            read["actor_opd"],
            read["actor_role"],
            read["channel"],
            read["reason"],
            read["matched_by"],
        )
        row = rows.get(key)
        if row is None:
            rows[key] = {**read, "first": at, "last": at, "count": 1}
            if moment is not None:
                spans[key] = [moment, moment]
            continue
        row["count"] += 1
        if moment is None:
            continue
        span = spans[key]
        if moment < span[0]:
            span[0], row["first"] = moment, at
        if moment > span[1]:
            span[1], row["last"] = moment, at
    return list(rows.values())


def actor_text(actor: Any) -> str:
    if isinstance(actor, Mapping):
        role = actor.get("role")
        return f"{actor.get('id')} ({role_label(role)})" if role else str(actor.get("id") or NONE)
    return value_text("actor", actor)


def arrival_text(arrival: Mapping[str, Any] | None) -> str:
    if not arrival:
        return NONE
    if arrival.get("type") == "born_here":
        return _("Born in Kota Jambi")
    return _(
        "Moved in on %(date)s from region %(region)s",
        date=date_text(arrival.get("arrived_on")) or NONE,
        region=arrival.get("origin_region_code") or NONE,
    )


def address_text(place: Mapping[str, Any]) -> str:
    parts = [place.get("address"), _("RT %(rt)s RW %(rw)s", rt=place.get("rt"), rw=place.get("rw"))]
    return ", ".join(str(p) for p in parts if p)


def _is_moment(value: str) -> bool:
    return len(value) > 10 and value[4:5] == "-" and value[10:11] == "T"


def value_text(key: str, value: Any) -> str:
    """One recorded value in words: labels for codes, dates and rupiah as the language writes
    them, nested records as `label: value` pairs."""
    if value is None or value == "" or value == []:
        return NONE
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, Mapping):
        return data_text(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(key, item) for item in value)
    if key == "amount" and isinstance(value, int):
        return rupiah(value)
    if isinstance(value, (int, float)):
        return str(value) if key.endswith("year") else number_text(value)
    value = str(value)
    if key == "relationship":
        return relationship_label(value)
    if key == "sex":
        return sex_label(value)
    if key == "status":
        return status_label(value)
    if _is_moment(value):
        return moment_text(value)
    if len(value) == 10 and value[4:5] == "-":
        try:
            return date_text(dt.date.fromisoformat(value))
        except ValueError:
            return value
    return option_label(key, value)


def data_text(data: Mapping[str, Any]) -> str:
    """An event's data as `label: value; ...` (its metadata is shown in its own columns)."""
    return (
        "; ".join(
            f"{field_label(str(k))}: {value_text(str(k), v)}"
            for k, v in data.items()
            if k != "meta"
        )
        or NONE
    )


def helpers() -> dict[str, Any]:
    """What the web page's template uses to show the report."""
    return {
        "event_label": event_label,
        "status_label": status_label,
        "relationship_label": relationship_label,
        "sex_label": sex_label,
        "channel_label": channel_label,
        "role_label": role_label,
        "matched_label": matched_label,
        "read_rows": read_rows,
        "moments_text": moments_text,
        "READS_GROUPED": READS_GROUPED,
        "actor_text": actor_text,
        "arrival_text": arrival_text,
        "address_text": address_text,
        "data_text": data_text,
        "value_text": value_text,
        "rupiah": rupiah,
        "NONE": NONE,
    }


# --- PDF ----------------------------------------------------------------------------------

_REPLACEMENTS = {"≤": "<=", "≥": ">=", "→": "->", "←": "<-", "✓": "v", "\u00a0": " ", "—": "-"}


def pdf_text(value: Any) -> str:
    """Text the core fonts can draw (windows-1252): transliterated, never an error."""
    value = NONE if value is None or value == "" else str(value)
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


def _clip(value: str) -> str:
    """A table row must fit on one page: very long values are cut (the JSON has them whole)."""
    if len(value) <= MAX_CELL:
        return value
    return value[:MAX_CELL] + " ... " + _("(the JSON report has it whole)")


def render_pdf(report: dict[str, Any]) -> bytes:
    """The report as an A4 landscape PDF, in the request's language."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    report_title = _("Personal data subject access report")
    pdf.set_title(pdf_text(report_title))
    pdf.set_author(pdf_text(report["controller"]))
    pdf.set_creator("Casework")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(12, 12, 12)
    generated = moment_text(report["generated_at"], seconds=True)

    def footer() -> None:
        pdf.set_y(-10)
        pdf.set_font("Helvetica", "I", 7)
        line = _(
            "Subject access report - made %(when)s - page %(page)s",
            when=generated,
            page=pdf.page_no(),
        )
        pdf.cell(0, 4, pdf_text(line), align="C")

    pdf.footer = footer  # type: ignore[method-assign]
    pdf.add_page()
    heading = FontFace(emphasis="BOLD", fill_color=(225, 236, 230))

    def title(words: str) -> None:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.set_text_color(20, 80, 60)
        pdf.multi_cell(0, 6, pdf_text(words), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("Helvetica", "", 8)

    def para(words: str, size: float = 8) -> None:
        pdf.set_font("Helvetica", "", size)
        pdf.multi_cell(0, 4.2, pdf_text(words), align="L", new_x="LMARGIN", new_y="NEXT")

    def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int]) -> None:
        rows = list(rows)
        if not rows:
            para(_("Nothing recorded."))
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
    pdf.cell(0, 8, pdf_text(report_title), new_x="LMARGIN", new_y="NEXT")
    para(
        _(
            "Data controller: %(controller)s. Made: %(when)s.",
            controller=report["controller"],
            when=generated,
        ),
        9,
    )
    para(
        _(
            "Contents: all personal data held about this person and its processing trail "
            "(events, who read it, and data that left the system)."
        ),
        9,
    )

    person = report["person"] or {}
    title(_("1. Personal data held"))
    facts = [
        (_("NIK"), report["nik"]),
        (_("Name"), person.get("name")),
        (_("Birth date"), date_text(person.get("birth_date"))),
        (_("Sex"), sex_label(person.get("sex"))),
        (_("Relationship in the family"), relationship_label(person.get("relationship"))),
        (_("Status"), status_label(person.get("status"), person.get("status_since"))),
        (_("KTP issued on"), date_text(person.get("ktp_issued_on"))),
        (_("Arrival"), arrival_text(person.get("arrival"))),
        (_("Household (id)"), person.get("household_id")),
        (_("KK number"), person.get("kk_number")),
        (_("Address"), address_text(person)),
        (_("Kecamatan / kelurahan"), f"{person.get('kecamatan')} / {person.get('kelurahan')}"),
    ]
    if person.get("date_of_death"):
        facts.append((_("Date of death"), date_text(person["date_of_death"])))
    table((_("Data"), _("Value")), facts, (1, 3))
    if report["provisional_identities"]:
        para(_("Linked provisional (homeless) identities:"))
        table(
            (_("Id"), _("Name"), _("Estimated birth year"), _("Where found"), _("Notes")),
            (
                (p["id"], p["name"], p["estimated_birth_year"], p["found_at"], p["notes"])
                for p in report["provisional_identities"]
            ),
            (3, 2, 1, 2, 3),
        )
    if report["nibs"]:
        para(_("Business identification numbers (NIB):"))
        table(
            (_("NIB"), _("Business name"), _("Registered on"), _("Revoked on")),
            (
                (
                    n["nib"],
                    n["business_name"],
                    date_text(n["registered_on"]),
                    date_text(n["revoked_on"]),
                )
                for n in report["nibs"]
            ),
            (2, 3, 1, 1),
        )

    title(_("2. Households (current and earlier)"))
    table(
        (_("Household id"), _("KK number"), _("Address"), _("Kecamatan / kelurahan"), _("Current")),
        (
            (
                h["household_id"],
                h["kk_number"],
                address_text(h),
                f"{h['kecamatan']} / {h['kelurahan']}",
                yes_no(h["current"]),
            )
            for h in report["households"]
        ),
        (3, 2, 3, 3, 1),
    )

    title(_("3. Assistance received"))
    table(
        (
            _("Benefit id"),
            _("Program"),
            _("Period"),
            _("Amount"),
            _("Status now"),
            _("Legal basis"),
        ),
        (
            (
                b["benefit_id"],
                f"{b['program']} - {b['program_name'] or ''}",
                _(
                    "%(start)s to %(end)s",
                    start=date_text(b["period_start"]),
                    end=date_text(b["period_end"]),
                ),
                rupiah(b["amount"]),
                benefit_status_text(b),
                "\n".join(b["legal_basis"]),
            )
            for b in report["benefits"]
        ),
        (3, 3, 2, 1, 1, 4),
    )
    if report["benefits"]:
        para(_("Status history of the assistance:"))
        table(
            (_("Program"), _("Benefit id"), _("Effective"), _("Status"), _("Reason")),
            (
                (
                    b["program"],
                    b["benefit_id"],
                    date_text(h["effective_date"]),
                    status_label(h["status"]),
                    h.get("reason"),
                )
                for b in report["benefits"]
                for h in b["history"]
            ),
            (1, 3, 1, 1, 4),
        )
    if report["empowerment"]:
        para(_("Empowerment programs:"))
        table(
            (_("Program"), _("Enrolled on"), _("Outcome"), _("Completed on")),
            (
                (
                    e["program"],
                    date_text(e["enrolled_on"]),
                    value_text("outcome", e["outcome"]),
                    date_text(e["completed_on"]),
                )
                for e in report["empowerment"]
            ),
            (3, 1, 1, 1),
        )

    title(_("4. Family welfare assessments"))
    table(
        (_("Source"), _("Period"), _("Decile"), _("Reference"), _("KK number when assessed")),
        (
            (a["source"], a["period"], a["desil"], a["reference"], a.get("kk_number"))
            for a in report["welfare_assessments"]
        ),
        (1, 1, 1, 3, 2),
    )

    title(_("5. Processing trail: events (%(count)s)", count=len(report["events"])))
    table(
        (
            _("Position"),
            _("Event"),
            _("Happened / recorded (WIB)"),
            _("By"),
            _("Channel"),
            _("Reason"),
            _("Data"),
        ),
        (
            (
                e["position"],
                event_label(e["type"]),
                f"{moment_text(e['occurred_at'], True)}\n{moment_text(e['recorded_at'], True)}",
                actor_text(e["actor"]),
                channel_label(e["source"]),
                e["reason"],
                data_text(e["data"]),
            )
            for e in report["events"]
        ),
        (11, 30, 27, 26, 13, 30, 133),
    )

    title(_("6. Reads of the data (%(count)s)", count=number_text(len(report["reads"]))))
    if report["reads"]:
        para(READS_GROUPED)
    table(
        (
            _("When"),
            _("Times"),
            _("Account"),
            _("Role"),
            _("Channel"),
            _("Reason"),
            _("Matched by"),
        ),
        (
            (
                moments_text(r["first"], r["last"], True),
                number_text(r["count"]),
                r["actor_id"] + (f" ({r['actor_opd']})" if r["actor_opd"] else ""),
                role_label(r["actor_role"]),
                channel_label(r["channel"]),
                r["reason"],
                matched_label(r["matched_by"]),
            )
            for r in read_rows(report["reads"])
        ),
        (4, 1, 3, 2, 1, 5, 2),
    )

    out = report["disclosures"]
    title(_("7. Data that left the system"))
    para(
        _(
            "Events published to Kafka (relay position %(position)s), readable by subscribing "
            "systems (other OPDs):",
            position=out["relay_position"],
        )
    )
    table(
        (_("Topic"), _("Position"), _("Event"), _("Recorded")),
        (
            (p["topic"], p["position"], event_label(p["type"]), moment_text(p["recorded_at"], True))
            for p in out["published_events"]
        ),
        (3, 1, 3, 2),
    )
    para(_("Reads by agency accounts:"))
    table(
        (_("When"), _("Account"), _("Agency"), _("Reason")),
        (
            (moment_text(r["at"], True), r["actor_id"], r["actor_opd"], r["reason"])
            for r in out["agency_reads"]
        ),
        (2, 2, 2, 4),
    )

    title(_("Legal basis"))
    for basis in report["legal_basis"]:
        para(f"- {basis}")
    para(_("Note: %(note)s", note=report["legal_review_note"]))
    return bytes(pdf.output())
