"""The cross-OPD view over HTTP (`/api/v1/overview`, `/overview/monthly`, `/overlaps`, with
`.csv` and `.xlsx` forms): what projections/overview.py keeps, filtered by OPD, kecamatan and
kelurahan, within the reader's area (app/read_policy.py):

- a case worker reads the aggregates of one of their kelurahan (none named: their first;
  another kelurahan, or a whole kecamatan: 403);
- a program manager reads the city-wide totals of every OPD and program, the series and the
  overlap matrix (the cross-OPD picture is the point), but the rows per kelurahan of their own
  OPD's programs only (`opd=` of another OPD: 403); asked for a kecamatan or a kelurahan, every
  answer holds their own OPD's programs only (another OPD's figures per area would rebuild the
  rows they may not read);
- supervisors, auditors and administrators read everything; agencies nothing.

The answers hold no personal data: counts, amounts, programs, areas. The routes are added to
the API blueprint (`register`), so its token check and declared policies guard them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import lazy_gettext as _l

from app.auth import kelurahan_of
from app.command_path import caller, errors_body
from app.context import services
from app.csv_export import KECAMATAN, KELURAHAN, Column, csv_response, header, named
from app.schemas import Invalid
from app.xlsx_export import Sheet, xlsx_response
from domain.application import Actor
from domain.approval import Forbidden
from domain.errors import NotFound
from domain.regions import find_kecamatan, kelurahan_matches
from projections import overview

_OPD = re.compile(r"[A-Z0-9_. -]{1,50}")


@dataclass(frozen=True)
class Scope:
    """What a reader asked for, checked and within their area."""

    opd: str = ""
    kecamatan: str = ""
    kelurahan: str = ""
    rows_of_opds: tuple[str, ...] | None = None  # None: the rows of every OPD
    # None: every OPD's programs at the area asked; else only these OPDs' (a program manager
    # asking for a kecamatan or a kelurahan)
    area_of_opds: tuple[str, ...] | None = None

    @property
    def filters(self) -> dict[str, str]:
        return {"opd": self.opd, "kecamatan": self.kecamatan, "kelurahan": self.kelurahan}


def area(actor: Actor, args: Any, errors: dict[str, list[str]] | None = None) -> tuple[str, str]:
    """The (kecamatan, kelurahan) asked (`kecamatan=`, `kelurahan=`: names in any case,
    codes or accepted spellings of Kota Jambi's regions) as the views name them, within the
    reader's area. Invalid (422) names a kecamatan or kelurahan the city has not, or a
    kelurahan not in the kecamatan asked, together with the `errors` the caller found in its
    other filters (a bad request is 422 before it is 403). A case worker asking for no area
    reads their first kelurahan; Forbidden (403, `auth.area`) another kelurahan, or a whole
    kecamatan."""
    errors = dict(errors or {})
    kecamatan_asked = (args.get("kecamatan") or "").strip()[:100]
    kelurahan_asked = (args.get("kelurahan") or "").strip()[:100]
    kecamatan = kelurahan = ""
    if kecamatan_asked:
        found = find_kecamatan(kecamatan_asked)
        if found is None:
            errors["kecamatan"] = ["kecamatan.unknown"]
        else:
            kecamatan = found.name
    if kelurahan_asked and "kecamatan" not in errors:
        matches = [
            m for m in kelurahan_matches(kelurahan_asked) if m[0] == kecamatan or not kecamatan
        ]
        if len(matches) != 1:
            errors["kelurahan"] = ["kelurahan.unknown"]
        else:
            kecamatan, kelurahan = matches[0]
    if errors:
        raise Invalid(errors)
    areas = kelurahan_of(services().casework, actor)
    if areas and not kelurahan_asked and not kecamatan_asked:
        # a case worker asking for no area reads their first kelurahan
        kecamatan, kelurahan = (kelurahan_matches(sorted(areas)[0]) or [("", "")])[0]
    if areas is not None and kelurahan not in areas:
        raise Forbidden("kelurahan", "auth.area")
    return kecamatan, kelurahan


def scope(actor: Actor, args: Any) -> Scope:
    """The filters asked (`opd`, `kecamatan`, `kelurahan`: names or codes of Kota Jambi's
    regions) as the reader may have them. Invalid (422) names a bad field; Forbidden (403) a
    kelurahan or OPD outside the reader's area."""
    errors: dict[str, list[str]] = {}
    opd = (args.get("opd") or "").strip().upper()
    if opd and not _OPD.fullmatch(opd):
        errors["opd"] = ["opd.invalid"]
    elif opd and opd not in {p.opd.upper() for p in services().casework.list_programs()}:
        errors["opd"] = ["opd.unknown"]
    kecamatan, kelurahan = area(actor, args, errors)
    rows_of_opds = area_of_opds = None
    if actor.role == "program_manager":
        own = (actor.opd or "").upper()
        if opd and opd != own:
            raise Forbidden("opd", "auth.opd")
        rows_of_opds = (own,)
        if kecamatan or kelurahan:
            area_of_opds = (own,)
    return Scope(opd, kecamatan, kelurahan, rows_of_opds, area_of_opds)


# --- the answers and their tables ------------------------------------------------------------


def overview_answer(where: Scope) -> dict[str, Any]:
    answer = overview.overview(
        services().views, **where.filters, rows_of_opds=where.rows_of_opds
    )
    if where.area_of_opds is not None:
        for part in ("programs", "opds"):
            answer[part] = [item for item in answer[part] if item["opd"] in where.area_of_opds]
    return answer


def overlaps_answer(where: Scope) -> dict[str, Any]:
    return overview.overlaps(
        services().views,
        kecamatan=where.kecamatan,
        kelurahan=where.kelurahan,
        of_opds=where.area_of_opds,
    )


def monthly_answer(where: Scope, program: str) -> dict[str, Any]:
    series = overview.monthly(
        services().views,
        program=program,
        kecamatan=where.kecamatan,
        kelurahan=where.kelurahan,
        of_opds=where.area_of_opds,
    )
    return {
        "filters": {
            "program": program or None,
            "kecamatan": where.kecamatan or None,
            "kelurahan": where.kelurahan or None,
        },
        "series": series,
    }


COUNTS = (
    Column("families", _l("Families")),
    Column("persons", _l("Persons")),
    Column("amount", _l("Amount (whole periods)")),
    Column("monthly_amount", _l("Amount per month")),
)
OPD, PROGRAM = Column("opd", _l("OPD")), Column("program", _l("Program"))
ROW_COLUMNS = (
    OPD,
    PROGRAM,
    KECAMATAN,
    KELURAHAN,
    *COUNTS,
)
PROGRAM_COLUMNS = (
    OPD,
    PROGRAM,
    Column("name", _l("Program name")),
    *COUNTS,
    Column("yearly_target", _l("Yearly target (whole city)")),
    Column("city_families", _l("Families in the whole city")),
    Column("progress", _l("Share of the target reached")),
)
OPD_COLUMNS = (OPD, *COUNTS)
PAIR_COLUMNS = (
    Column("program_a", _l("Program A")),
    Column("program_b", _l("Program B")),
    Column("families", _l("Families in both")),
)
ROW_HEADER = header(ROW_COLUMNS)
PAIR_HEADER = header(PAIR_COLUMNS)
# the sheets of the workbooks: the API's names (README, OpenAPI) and a page's words
SHEETS = {
    "rows": _l("Per kelurahan"),
    "programs": _l("Per program"),
    "opds": _l("Per OPD"),
    "pairs": _l("Program pairs"),
    "matrix": _l("Overlap matrix"),
}


def table(items: list[dict[str, Any]], columns: tuple[Column, ...]) -> list[list[Any]]:
    return [[item[c.key] for c in columns] for item in items]


def _sheet(name: str, columns: tuple[Column, ...], items: list[dict], words: bool) -> Sheet:
    return named(name, SHEETS, words), header(columns, words), table(items, columns)


def overview_sheets(answer: dict[str, Any], words: bool = False) -> list[Sheet]:
    """The overview's workbook: its rows, programs and OPDs (with `words`, a page's download:
    the sheets and columns named in the request's language)."""
    return [
        _sheet("rows", ROW_COLUMNS, answer["rows"], words),
        _sheet("programs", PROGRAM_COLUMNS, answer["programs"], words),
        _sheet("opds", OPD_COLUMNS, answer["opds"], words),
    ]


def overlap_sheets(answer: dict[str, Any], words: bool = False) -> list[Sheet]:
    """The overlaps' workbook: the pairs, and the matrix (a row and a column per program)."""
    codes = answer["programs"]
    matrix = [[code, *row] for code, row in zip(codes, answer["matrix"], strict=True)]
    return [
        _sheet("pairs", PAIR_COLUMNS, answer["pairs"], words),
        (named("matrix", SHEETS, words), (*header((PROGRAM,), words), *codes), matrix),
    ]


def file_name(stem: str, where: Scope, extension: str) -> str:
    parts = [stem, *(v for v in (where.opd, where.kecamatan, where.kelurahan) if v)]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts)).strip("-")
    return f"{safe}.{extension}"


def overview_csv(where: Scope, words: bool = False) -> Response:
    """The overview's rows as CSV: the API's (headed by the keys) or, with `words`, a page's
    download (by the labels, in the request's language)."""
    rows = table(overview_answer(where)["rows"], ROW_COLUMNS)
    return csv_response(file_name("lintas-opd", where, "csv"), header(ROW_COLUMNS, words), rows)


def overview_xlsx(where: Scope, words: bool = False) -> Response:
    sheets = overview_sheets(overview_answer(where), words)
    return xlsx_response(file_name("lintas-opd", where, "xlsx"), sheets)


def overlaps_csv(where: Scope, words: bool = False) -> Response:
    rows = table(overlaps_answer(where)["pairs"], PAIR_COLUMNS)
    name = file_name("irisan-program", where, "csv")
    return csv_response(name, header(PAIR_COLUMNS, words), rows)


def overlaps_xlsx(where: Scope, words: bool = False) -> Response:
    sheets = overlap_sheets(overlaps_answer(where), words)
    return xlsx_response(file_name("irisan-program", where, "xlsx"), sheets)


# --- the routes ----------------------------------------------------------------------------


def _scoped() -> Scope:
    return scope(caller(), request.args)


def _invalid(invalid: Invalid):
    return jsonify(errors_body(invalid.codes)), 422


def api_overview():
    """Families, persons and amounts per OPD and program at the area asked, each program's
    yearly target and progress, and the rows per OPD, program, kecamatan and kelurahan."""
    try:
        where = _scoped()
    except Invalid as invalid:
        return _invalid(invalid)
    return jsonify(overview_answer(where))


def api_overview_csv():
    try:
        where = _scoped()
    except Invalid as invalid:
        return _invalid(invalid)
    return overview_csv(where)


def api_overview_xlsx():
    try:
        where = _scoped()
    except Invalid as invalid:
        return _invalid(invalid)
    return overview_xlsx(where)


def api_overview_monthly():
    """Month by month, per program (or the one asked): the families, persons and amounts."""
    try:
        where = _scoped()
    except Invalid as invalid:
        return _invalid(invalid)
    program = (request.args.get("program") or "").strip()[:50]
    if program:
        try:
            program = services().casework.get_program(program).code
        except NotFound:
            return jsonify(errors_body({"program": ["program.not_found"]})), 404
    return jsonify(monthly_answer(where, program))


def api_overlaps():
    """Families holding running benefits of two programs, for every pair, at the area asked."""
    try:
        where = _scoped()
    except Invalid as invalid:
        return _invalid(invalid)
    return jsonify(overlaps_answer(where))


def api_overlaps_csv():
    try:
        where = _scoped()
    except Invalid as invalid:
        return _invalid(invalid)
    return overlaps_csv(where)


def api_overlaps_xlsx():
    try:
        where = _scoped()
    except Invalid as invalid:
        return _invalid(invalid)
    return overlaps_xlsx(where)


ROUTES = (
    ("/overview", "overview", api_overview),
    ("/overview.csv", "overview_csv", api_overview_csv),
    ("/overview.xlsx", "overview_xlsx", api_overview_xlsx),
    ("/overview/monthly", "overview_monthly", api_overview_monthly),
    ("/overlaps", "overlaps", api_overlaps),
    ("/overlaps.csv", "overlaps_csv", api_overlaps_csv),
    ("/overlaps.xlsx", "overlaps_xlsx", api_overlaps_xlsx),
)


def register(blueprint: Blueprint) -> None:
    """Add the routes to the API blueprint (before the app registers it)."""
    for rule, endpoint, view in ROUTES:
        blueprint.add_url_rule(rule, endpoint, view, methods=["GET"])
