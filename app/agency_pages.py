"""The agencies page (`/agensi`): every data-sharing agreement with its versions and status,
the requests waiting for a second supervisor, and each agency's delivery state per channel
(agency topic, feed, webhooks, DCI registry). Defining, changing and revoking go through the
ordinary command forms (maker-checker). Administrators and supervisors manage; auditors read
(app/read_policy.py WEB). No personal data: agreement terms and counts only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template

from app.context import services
from consumers.agency_delivery import CHANNELS, delivery_states
from consumers.agency_filter import terms_of
from domain.agreement import normalize_agency
from domain.city import today as city_today
from domain.errors import DomainError
from projections import agencies

bp = Blueprint("agency_pages", __name__)

AGREEMENT_COMMANDS = ("DefineAgencyAgreement", "ChangeAgencyAgreement", "RevokeAgencyAgreement")


def status_of(version: dict[str, Any], today: dt.date) -> str:
    """active | expired | not_yet_valid | revoked, of an agreement's latest version."""
    terms = terms_of(version)
    if terms.revoked_at is not None:
        return "revoked"
    if today < terms.valid_from:
        return "not_yet_valid"
    if terms.valid_until is not None and today > terms.valid_until:
        return "expired"
    return "active"


def _waiting() -> dict[str, list[dict[str, Any]]]:
    """The agreement requests waiting for approval, by agency code."""
    waiting: dict[str, list[dict[str, Any]]] = {}
    for change in services().casework.pending_approvals():
        if change.command not in AGREEMENT_COMMANDS:
            continue
        try:
            agency = normalize_agency(change.cmd.get("agency"))
        except DomainError:
            continue
        waiting.setdefault(agency, []).append(
            {
                "id": str(change.id),
                "command": change.command,
                "requester": (change.requester_meta.get("actor") or {}).get("id"),
            }
        )
    return waiting


def agency_row(
    agency: str,
    versions: list[dict[str, Any]],
    waiting: list[dict[str, Any]],
    states: dict[str, dict[str, Any]],
    today: dt.date,
) -> dict[str, Any]:
    """What `_agency.html` shows of one agency: its agreement's status, latest version and
    versions, the requests waiting for approval and each channel's delivery state."""
    latest = versions[-1] if versions else None
    return {
        "agency": agency,
        "status": status_of(latest, today) if latest else "waiting",
        "latest": latest,
        "versions": list(reversed(versions)),
        "waiting": waiting,
        "states": states,
    }


def own_agency(agency: str) -> dict[str, Any] | None:
    """An agency account's own agreement and delivery (its start page), None without any;
    the requests waiting for approval are not among them (the queue is the supervisors')."""
    views = services().views
    versions = agencies.versions(views, agency)
    states = {s["channel"]: s for s in delivery_states(views) if s["agency"] == agency}
    if not versions and not states:
        return None
    return agency_row(agency, versions, [], states, city_today())


@bp.get("/agensi")
def page():
    svc = services()
    today = city_today()
    by_agency: dict[str, list[dict[str, Any]]] = {}
    for version in agencies.versions(svc.views):
        by_agency.setdefault(version["agency"], []).append(version)
    waiting = _waiting()
    states: dict[str, dict[str, dict[str, Any]]] = {}
    for state in delivery_states(svc.views):
        states.setdefault(state["agency"], {})[state["channel"]] = state
    rows = [
        agency_row(
            agency,
            by_agency.get(agency, []),
            waiting.get(agency, []),
            states.get(agency, {}),
            today,
        )
        for agency in sorted(set(by_agency) | set(waiting) | set(states))
    ]
    return render_template(
        "agencies.html", active="agencies", rows=rows, channels=CHANNELS, today=today
    )
