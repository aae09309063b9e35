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

from flask import Blueprint, jsonify, request

from app.auth import kelurahan_of
from app.command_path import caller, errors_body
from app.context import services
from app.csv_export import csv_response
from app.schemas import Invalid
from app.xlsx_export import xlsx_response
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


COUNTS = ("families", "persons", "amount", "monthly_amount")
ROW_HEADER = ("opd", "program", "kecamatan", "kelurahan", *COUNTS)
PROGRAM_HEADER = (
    "opd",
    "program",
    "name",
    *COUNTS,
    "yearly_target",
    "city_families",
    "progress",
)
OPD_HEADER = ("opd", *COUNTS)
PAIR_HEADER = ("program_a", "program_b", "families")


def table(items: list[dict[str, Any]], header: tuple[str, ...]) -> list[list[Any]]:
    return [[item[key] for key in header] for item in items]


def overview_sheets(answer: dict[str, Any]) -> list[tuple[str, tuple[str, ...], list[list]]]:
    return [
        ("rows", ROW_HEADER, table(answer["rows"], ROW_HEADER)),
        ("programs", PROGRAM_HEADER, table(answer["programs"], PROGRAM_HEADER)),
        ("opds", OPD_HEADER, table(answer["opds"], OPD_HEADER)),
    ]


def overlap_sheets(answer: dict[str, Any]) -> list[tuple[str, tuple[str, ...], list[list]]]:
    codes = answer["programs"]
    matrix = [[code, *row] for code, row in zip(codes, answer["matrix"], strict=True)]
    return [
        ("pairs", PAIR_HEADER, table(answer["pairs"], PAIR_HEADER)),
        ("matrix", ("program", *codes), matrix),
    ]


def file_name(stem: str, where: Scope, extension: str) -> str:
    parts = [stem, *(v for v in (where.opd, where.kecamatan, where.kelurahan) if v)]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts)).strip("-")
    return f"{safe}.{extension}"


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
    rows = table(overview_answer(where)["rows"], ROW_HEADER)
    return csv_response(file_name("lintas-opd", where, "csv"), ROW_HEADER, rows)


def api_overview_xlsx():
    try:
        where = _scoped()
    except Invalid as invalid:
        return _invalid(invalid)
    sheets = overview_sheets(overview_answer(where))
    return xlsx_response(file_name("lintas-opd", where, "xlsx"), sheets)


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
    rows = table(overlaps_answer(where)["pairs"], PAIR_HEADER)
    return csv_response(file_name("irisan-program", where, "csv"), PAIR_HEADER, rows)


def api_overlaps_xlsx():
    try:
        where = _scoped()
    except Invalid as invalid:
        return _invalid(invalid)
    sheets = overlap_sheets(overlaps_answer(where))
    return xlsx_response(file_name("irisan-program", where, "xlsx"), sheets)


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
