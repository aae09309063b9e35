"""The subject access report's routes: `/api/v1/persons/<nik>/subject-access[.pdf]` (JSON and
PDF, nested under the API for its 401/403 answers) and `/privasi/akses-subjek[.pdf]` (the web
page, nested under the privacy pages). Importing this module registers them, once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from flask import Blueprint, Response, jsonify, render_template, request

from app import access_log
from app.auth import require_role
from app.command_path import answers_errors_as_json, caller, errors_body
from app.context import services
from app.subject_access.render import helpers, render_pdf
from app.subject_access.report import REASON, UnknownNik, build_report
from app.web import current_actor
from domain.city import WIB
from domain.errors import NotFound
from domain.household import NikIndex
from domain.identity import nik_problems

log = logging.getLogger("casework.subject_access")

# Registered by create_app (app/__init__.py).
api_bp = Blueprint("subject_access", __name__, url_prefix="/api/v1/persons")
answers_errors_as_json(api_bp)
page_bp = Blueprint("subject_access_page", __name__, url_prefix="/privasi")

ROLES = ("admin", "supervisor", "auditor")


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
        return None, (jsonify(errors_body({"nik": ["nik.unknown"]})), 404)


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
    actor = current_actor()  # one of ROLES (app/read_policy.py WEB)
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
            nik=nik,
            report=report,
            error=error,
            active="privacy",
            **helpers(),
        ),
        status,
    )


@page_bp.get("/akses-subjek.pdf")
def page_pdf():
    actor = current_actor()  # one of ROLES (app/read_policy.py WEB)
    nik = (request.args.get("nik") or "").strip()
    if nik_problems(nik):
        return page()
    try:
        report = _report_for(nik, "ui", actor)
    except UnknownNik:
        return page()
    return _pdf_response(report)

