"""UU PDP support: the record of processing (generated, never written by hand) and the
breach report drawn from the access log (app/access_log.py).

Its texts are gettext messages (app/messages.py): the record is in the request's language.
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
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import access_log
from app.audit_log import account_id
from app.auth import TooManyFailures, Unauthenticated, require_role, web_actor
from app.command_path import caller, error_response, errors_body
from app.context import services
from app.messages import ERRORS, reversed_window_text
from app.schemas import EARLIEST_MOMENT
from app.web import option_label
from domain.accounts import ROLES
from domain.application import Actor
from domain.approval import Forbidden
from domain.city import CONTROLLER, WIB
from domain.commands import CATALOGUE, PERSON, Group
from domain.household import LATEST_DAY
from domain.personal_data import FIELDS
from domain.program import FUNDINGS, KINDS
from projections import agencies

bp = Blueprint("privacy", __name__, url_prefix="/privasi")
api_bp = Blueprint("privacy_api", __name__, url_prefix="/api/v1/privacy")

BREACH_ROLES = ("auditor", "supervisor", "admin")
NOTIFY_WITHIN_HOURS = 72  # UU PDP: 3 x 24 hours

# Legal basis by (funding, kind); None as kind: any kind of that funding.
# NOTE: a first draft by engineering — it needs review by the Bagian Hukum before it is relied on.
LEGAL_BASES: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("APBN", "bansos"): (
        _l("Law 11/2009 on Social Welfare (UU 11/2009)"),
        _l("Presidential Regulation 63/2017 on Non-Cash Social Assistance (Perpres 63/2017)"),
    ),
    ("APBN", "insurance"): (
        _l("Law 40/2004 on the National Social Security System (UU 40/2004)"),
        _l("Government Regulation 101/2012 on Health Insurance Contribution Aid (PP 101/2012)"),
    ),
    ("APBN", "empowerment"): (_l("Law 13/2011 on Handling the Poor (UU 13/2011)"),),
    ("APBD", None): (
        _l("Law 23/2014 on Regional Government, social affairs (UU 23/2014)"),
        _l("Law 13/2011 on Handling the Poor (UU 13/2011)"),
        _l("Jambi Mayor Regulation on the program (its number still to be filled in)"),
    ),
    ("BAZNAS", None): (_l("Law 23/2011 on Zakat Management (UU 23/2011)"),),
    ("OTHER", None): (_l("Legal basis not yet set: needs review by the Bagian Hukum"),),
}
LEGAL_REVIEW_NOTE = _l(
    "The legal basis is mapped automatically from the funding and kind of program; the "
    "Bagian Hukum must review it before it is relied on."
)
# Every UU PDP processing here also rests on this general basis.
GENERAL_BASIS = _l("Law 27/2022 on Personal Data Protection, Article 20(2)(e) (UU 27/2022)")

POVERTY_ALLEVIATION = _l("Poverty alleviation")
KIND_PURPOSES = {
    "bansos": _l("Social assistance to poor and vulnerable households"),
    "insurance": _l("Health insurance contributions for those entitled to contribution assistance"),
    "empowerment": _l("Economic empowerment (training and business capital) of poor families"),
}

# Data categories: a command field -> the category it belongs to (fields not listed are
# references or bookkeeping, e.g. household_id, dates of an administrative act).
CATEGORIES: dict[str, dict[str, Any]] = {
    "identity": {
        "label": _l("Civil registration identity (NIK, KK number)"),
        "specific": False,
        "retention": _l("While the household is registered + 5 years; erased by crypto-shredding"),
    },
    "names": {
        "label": _l("Names"),
        "specific": False,
        "retention": _l("While the household is registered + 5 years"),
    },
    "birth": {
        "label": _l("Birth date and sex"),
        "specific": False,
        "retention": _l("While the household is registered + 5 years"),
    },
    "address": {
        "label": _l("Address and area (kecamatan, kelurahan, RT/RW, place found)"),
        "specific": False,
        "retention": _l("While the household is registered + 5 years"),
    },
    "family": {
        "label": _l("Family relationships and head of family"),
        "specific": False,
        "retention": _l("While the household is registered + 5 years"),
    },
    "welfare": {
        "label": _l("Welfare ranking (decile) and its source"),
        "specific": True,
        "retention": _l("10 years from the assessment (social assistance audits)"),
    },
    "benefits": {
        "label": _l("Assistance and empowerment received"),
        "specific": True,
        "retention": _l("10 years after the assistance ends (state financial audits)"),
    },
    "business": {
        "label": _l("Business identification number (NIB) and business name"),
        "specific": False,
        "retention": _l("While the household is registered + 5 years"),
    },
    "death": {
        "label": _l("Death and date of death"),
        "specific": False,
        "retention": _l("While the household is registered + 5 years"),
    },
    "verification": {
        "label": _l("Field verification results, case notes and objections"),
        "specific": False,
        "retention": _l("5 years from the record"),
    },
    "location": {
        "label": _l("Coordinates and photos (objections, homeless persons)"),
        "specific": False,
        "retention": _l("2 years from the record"),
    },
}
# Each field's category of personal data, from its one declaration (domain/personal_data.py).
FIELD_CATEGORIES = {name: f.category for name, f in FIELDS.items() if f.category}
# Commands whose fields describe a program or a decision, not a person.
_NOT_PERSONAL = {c.name for c in CATALOGUE if c.group in (Group.PROGRAMS, Group.APPROVALS)}
# A nested person (head, person) carries these fields too.
_NESTED_PERSON = {"head", "person"}

ROLE_DESCRIPTIONS = {
    "caseworker": _l("Caseworker: the households of their kelurahan"),
    "supervisor": _l("Dinas Sosial supervisor: all data, approves changes"),
    "auditor": _l("Auditor (Inspektorat): reads all data and the access log"),
    "program_manager": _l("OPD program manager: the recipients of their OPD's programs"),
    "agency": _l("Partner agency: reads only, as agreed"),
    "admin": _l("System administrator"),
}


def legal_basis(funding: str, kind: str) -> list[str]:
    found = LEGAL_BASES.get((funding, kind)) or LEGAL_BASES.get((funding, None))
    return [str(basis) for basis in (*(found or LEGAL_BASES[("OTHER", None)]), GENERAL_BASIS)]


def data_categories(specs: Iterable[Any] = CATALOGUE) -> list[dict[str, Any]]:
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
            "label": str(info["label"]),
            "specific": info["specific"],
            "fields": sorted(found[key]["fields"]),
            "collected_by": sorted(found[key]["commands"]),
            "retention": str(info["retention"]),
        }
        for key, info in CATEGORIES.items()
        if key in found
    ]


def agreements(views: Any) -> list[dict[str, Any]]:
    """Each agency's data-sharing agreement as its latest version states it (the agencies
    view): who receives what, why, on which legal basis, and whether it was revoked."""
    latest: dict[str, dict[str, Any]] = {}
    for version in agencies.versions(views):
        latest[version["agency"]] = version
    return [
        {
            "agency": agency,
            "version": row["version"],
            "purpose": row["terms"]["purpose"],
            "legal_basis": row["terms"]["legal_basis"],
            "event_types": sorted(row["terms"]["event_types"]),
            "personal": row["terms"].get("personal") or "pseudonym",
            "valid_from": row["terms"].get("valid_from"),
            "valid_until": row["terms"].get("valid_until"),
            "revoked": row["revoked_at"] is not None,
        }
        for agency, row in sorted(latest.items())
    ]


def agreements_for(views: Any, actor: Actor) -> list[dict[str, Any]]:
    """The agreements the record of processing shows this reader: every one to staff; to an
    agency account (an outside party) only its own, as its start page shows it."""
    found = agreements(views)
    if actor.role != "agency":
        return found
    return [agreement for agreement in found if agreement["agency"] == (actor.opd or "")]


def recipients(agency_agreements: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {
        "roles": [
            {"role": role, "description": str(ROLE_DESCRIPTIONS.get(role, role))} for role in ROLES
        ],
        "agency_agreements": list(agency_agreements),
    }


def record_of_processing(
    programs: Sequence[Any], agency_agreements: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The record of processing activities, from the catalog and the agencies' agreements as
    they stand."""
    activities = [
        {
            "program": program.code,
            "name": program.name,
            "opd": program.opd,
            "funding": program.funding,
            "kind": program.kind,
            "purpose": f"{KIND_PURPOSES.get(program.kind, POVERTY_ALLEVIATION)}: {program.name}",
            "legal_basis": legal_basis(program.funding, program.kind),
        }
        for program in programs
    ]
    return {
        "controller": gettext(CONTROLLER),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "activities": activities,
        "data_categories": data_categories(),
        "data_subjects": [str(subject) for subject in DATA_SUBJECTS],
        "recipients": recipients(agency_agreements),
        "safeguards": [str(safeguard) for safeguard in SAFEGUARDS],
        "legal_review_note": str(LEGAL_REVIEW_NOTE),
        "fundings": list(FUNDINGS),
        "kinds": list(KINDS),
    }


DATA_SUBJECTS = (
    _l("Members of poor and vulnerable households in Kota Jambi"),
    _l("Neglected or homeless persons found by officers"),
)
SAFEGUARDS = (
    _l("Append-only access log with a hash chain (NIKs stored as HMAC)"),
    _l("Two-person approval (maker-checker) for important changes"),
    _l("Erasure by crypto-shredding (a key per person)"),
    _l(
        "Read models without NIKs or KK numbers in clear: only keyed hashes to search "
        "and encrypted tokens to show"
    ),
)


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
        raise BadWindow(field, MOMENT_INVALID) from None
    if moment.tzinfo is None:
        raise BadWindow(field, MOMENT_INVALID)
    return _on_calendar(moment, field)


# the API's refusals of a window (the page names its fields in its own words)
MOMENT_INVALID = "breach.moment_invalid"


def _on_calendar(moment: dt.datetime, field: str) -> dt.datetime:
    """The window's ends lie within the years every date the system takes lies in
    (EARLIEST_MOMENT to LATEST_DAY): the notification deadline, 72 hours after the end, must
    still be a date."""
    if not EARLIEST_MOMENT.year <= moment.year <= LATEST_DAY.year:
        raise BadWindow(field, MOMENT_INVALID)
    return moment


def breach_report(
    store: Any, start: dt.datetime, end: dt.datetime, actor_ids: Sequence[str]
) -> dict[str, Any]:
    """What these accounts read in [start, end): households and persons (NIK hashes), counted."""
    if end <= start:
        raise BadWindow("to", "breach.to_before_from")
    rows = access_log.entries(
        store, access_log.as_stamp(start), access_log.as_stamp(end), actor_ids
    )
    households: dict[str, dict[str, Any]] = {}
    persons: Counter[str] = Counter()
    for row in rows:
        persons.update(access_log.subjects_of(row))
        for household_id in access_log.households_of(row):
            entry = households.setdefault(
                household_id,
                {"household_id": household_id, "reads": 0, "actors": set(), "first": None},
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
    """The accounts named, as the read log names them (a user name in any case)."""
    ids = []
    for value in values:
        ids.extend(part.strip() for part in value.replace(",", " ").split())
    casework = services().casework
    return list(dict.fromkeys(account_id(casework, i) for i in ids if i))


# --- API ----------------------------------------------------------------------------------


@api_bp.errorhandler(Unauthenticated)
def _unauthenticated(error: Unauthenticated):
    response, status = error_response(401, "authorization", error.code)
    response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
    return response, status


@api_bp.errorhandler(TooManyFailures)
def _too_many_failures(error: TooManyFailures):
    response, status = error_response(429, "authorization", "auth.too_many_failures")
    response.headers["Retry-After"] = str(error.seconds)
    return response, status


@api_bp.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return error_response(403, error.field, error.code)


@api_bp.get("/record-of-processing")
def record_api():
    actor = caller()
    svc = services()
    return jsonify(
        record_of_processing(svc.casework.list_programs(), agreements_for(svc.views, actor))
    )


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
    svc = services()
    shown = agreements_for(svc.views, web_actor())
    record = record_of_processing(svc.casework.list_programs(), shown)
    return render_template(
        "privacy/record.html",
        record=record,
        active="privacy",
        funding_label=lambda value: option_label("funding", value),
        kind_label=lambda value: option_label("kind", value),
    )


@bp.get("/pelanggaran")
def breach_page():
    values = {
        "dari": request.args.get("dari", ""),
        "sampai": request.args.get("sampai", ""),
        "akun": request.args.get("akun", ""),
    }
    report = None
    errors: dict[str, str] = {}  # field -> what to do, in the form's order
    if any(values.values()):
        # every field the form got wrong at once, each with its own message
        window: dict[str, dt.datetime] = {}
        for field in ("dari", "sampai"):
            try:  # the form's datetime-local fields are in WIB
                window[field] = _local(values[field], field)
            except BadWindow as bad:
                errors[field] = str(WINDOW_MESSAGES.get(bad.code, ERRORS["window.moment"]))
        actors = _actor_ids([values["akun"]])
        if not actors:
            errors["akun"] = gettext("Enter one or more account names, separated by commas.")
        if len(window) == 2 and window["sampai"] <= window["dari"]:
            errors["sampai"] = reversed_window_text()
        if not errors:
            report = breach_report(services().store, window["dari"], window["sampai"], actors)
    return render_template(
        "privacy/breach.html",
        values=values,
        report=report,
        errors=errors,
        error_label="», «".join(
            str(WINDOW_FIELDS[field]) for field in WINDOW_FIELDS if field in errors
        ),
        active="privacy",
    ), 422 if errors else 200


WINDOW_FIELDS = {"dari": _l("From (WIB)"), "sampai": _l("To (WIB)"), "akun": _l("Account names")}
# what the page's From and To say for each refusal of `_local` and `_on_calendar` (in the
# form's words: a date and time in WIB by the calendar, not the API's RFC 3339)
WINDOW_MESSAGES = {
    "field.required": _l("Choose a date and time (WIB)."),
    "field.invalid": ERRORS["window.moment"],
    MOMENT_INVALID: ERRORS["window.moment"],
}


def _local(raw: str, field: str) -> dt.datetime:
    value = (raw or "").strip()
    if not value:
        raise BadWindow(field, "field.required")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadWindow(field, "field.invalid") from None
    return _on_calendar(moment if moment.tzinfo else moment.replace(tzinfo=WIB), field)
