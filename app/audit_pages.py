"""The auditor's pages: the global audit log with its filters (`/audit`), the status of the
event chain and of the read log's chain (`/audit/rantai`) and the read log (`/audit/log-baca`).

For auditors, supervisors and administrators (app/read_policy.py WEB); anyone else gets the
forbidden page with 403 before the page runs (app.web.least_privilege). The pages read what
the API serves (app/audit_log.py, the read log of adapters/access_log.py) and show no event
data and no NIK: the audit log names who did what, when and to which stream; the read log
shows keyed NIK hashes only. Times are entered and
shown in WIB (the forms' datetime-local fields).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext

from adapters import chain
from adapters.access_log import as_stamp, households_of
from adapters.access_log import page as read_log_page
from adapters.wire import rfc3339
from app import audit_log, time_travel
from app.audit_cli import ANCHOR
from app.context import services
from app.history import EVENT_LABELS
from app.messages import message, reversed_window_text
from app.schemas import Invalid
from app.subject_access.render import CHANNELS
from domain.regions import KECAMATAN
from domain.streams import event_types
from domain.texts import N_

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 50
# A verify slower than this is worth a word on the page (it reads every stored event).
SLOW_SECONDS = 5.0
HOUSEHOLD_EVENTS = frozenset(event_types().get("Household", set()))
ALL_EVENTS = sorted({name for names in event_types().values() for name in names})
# The audit log's form fields -> the API's query parameters (app/audit_log.parse).
LOG_FIELDS = {
    "akun": "actor",
    "opd": "opd",
    "jenis": "type",
    "kelurahan": "kelurahan",
    "dari": "since",
    "sampai": "until",
    "setelah": "after",
}
FIELD_OF = {api: form for form, api in LOG_FIELDS.items()}
REASONS = {
    "edited": N_("the event's stored bytes were changed"),
    "missing_event": N_("an event was deleted (its link remains)"),
    "unlinked_event": N_("an event was inserted (it has no link)"),
    "not_following": N_("the chain does not follow on from the previous link"),
    "anchor": N_("the chain no longer passes through the anchor held"),
}


def event_label(name: str) -> str:
    label = EVENT_LABELS.get(name)
    return gettext(label) if label else name


def local_second(recorded_at: str) -> str:
    """An entry's recorded moment as the household timeline's form takes it (`saat`: WIB, to
    the second); the page counts the whole of that second, so the entry itself is included."""
    moment = dt.datetime.fromisoformat(recorded_at)
    return moment.astimezone(time_travel.WIB).strftime("%Y-%m-%dT%H:%M:%S")


def _moment(values: dict[str, str], name: str, errors: dict[str, list[str]]) -> dt.datetime | None:
    raw = values.get(name, "")
    if not raw:
        return None
    try:
        return time_travel.parse_moment(raw, name, naive_is_wib=True, date_starts=name == "dari")
    except time_travel.BadMoment:
        errors.setdefault(name, []).append(message("window.moment"))
        return None


def _form(names: tuple[str, ...]) -> dict[str, str]:
    return {name: (request.args.get(name) or "").strip()[:100] for name in names}


# --- the global audit log ------------------------------------------------------------------


@bp.get("")
def log_page():
    """Every stored event, in store order, filtered: who, role, OPD, what, which stream, where."""
    values = _form(tuple(LOG_FIELDS))
    errors: dict[str, list[str]] = {}
    args = {api: values[form] for form, api in LOG_FIELDS.items()}
    args["limit"] = str(PAGE_SIZE)
    found: dict[str, Any] | None = None
    # the window's fields said in the form's words: what a moment may be, or that the window
    # is reversed (the API's check below refuses the same, as until.invalid)
    start = _moment(values, "dari", errors)
    end = _moment(values, "sampai", errors)
    if start and end and end <= start:
        errors.setdefault("sampai", []).append(reversed_window_text())
    try:
        # the API's own check (its dates and times read as WIB without an offset)
        after, limit, filters = audit_log.parse(args, naive_is_wib=True)
        if not errors:
            found = audit_log.page(services().casework, services().views, after, limit, filters)
    except Invalid as invalid:
        for field in invalid.codes:
            if FIELD_OF.get(field, field) not in errors:
                errors[FIELD_OF.get(field, field)] = [message("field.invalid")]
    rows = [
        {
            **entry,
            "label": event_label(entry["type"]),
            "household": entry["type"] in HOUSEHOLD_EVENTS,
            "moment": local_second(entry["recorded_at"]),
        }
        for entry in (found or {}).get("results", [])
    ]
    next_after = (found or {}).get("next_after")
    filters_only = {k: v for k, v in values.items() if v and k != "setelah"}
    return render_template(
        "audit/log.html",
        active="audit",
        section="log",
        values=values,
        errors=errors,
        rows=rows,
        next_args={**filters_only, "setelah": next_after} if next_after is not None else None,
        first_args=filters_only if values["setelah"] else None,
        event_options=sorted(((n, event_label(n)) for n in ALL_EVENTS), key=lambda o: o[1]),
        kecamatan_list=KECAMATAN,
    ), 422 if errors else 200


# --- the chains' status --------------------------------------------------------------------


@bp.get("/rantai")
def chain_page():
    """Both chains verified now (the event chain, with an anchor held if given, and the read
    log's), the first broken link named, and the chain's head to copy as an anchor."""
    held = (request.args.get("jangkar") or "").strip()[:100]
    anchors: list[chain.Anchor] = []
    errors: dict[str, list[str]] = {}
    if "jangkar" in request.args and not held:  # the form sent empty: say what it wants
        errors["jangkar"] = [gettext("Paste an anchor as POSITION:LINK (64 hex digits).")]
    if held:
        match = ANCHOR.match(held.lower())
        if match is None:
            errors["jangkar"] = [gettext("Paste an anchor as POSITION:LINK (64 hex digits).")]
        else:
            anchors.append(chain.Anchor(int(match[1]), match[2], 0, ""))
    store = services().store
    started = time.perf_counter()
    found = audit_log.report(store, anchors)
    seconds = time.perf_counter() - started
    head = chain.anchor(store)
    broken = found["events"]["broken"]
    return render_template(
        "audit/chain.html",
        active="audit",
        section="chain",
        report=found,
        broken_reason=gettext(REASONS.get(broken["reason"], broken["reason"])) if broken else "",
        anchor=f"{head.position}:{head.link}" if head else None,
        checked_at=rfc3339(dt.datetime.now(dt.UTC)),
        held=held,
        anchor_checked=anchors[0].position if anchors else None,
        errors=errors,
        seconds=round(seconds, 2) if seconds < 1 else round(seconds, 1),
        slow=seconds > SLOW_SECONDS,
    ), 422 if errors else 200


# --- the read log --------------------------------------------------------------------------


@bp.get("/log-baca")
def read_log_page_view():
    """Who read which household when (keyed NIK hashes only), by account and time window."""
    values = _form(("akun", "dari", "sampai", "setelah"))
    errors: dict[str, list[str]] = {}
    start = _moment(values, "dari", errors)
    end = _moment(values, "sampai", errors)
    if start and end and end <= start:
        errors.setdefault("sampai", []).append(reversed_window_text())
    after = 0
    if values["setelah"]:
        if (
            values["setelah"].isascii()
            and values["setelah"].isdigit()
            and len(values["setelah"]) <= 18
        ):
            after = int(values["setelah"])
        else:
            errors.setdefault("setelah", []).append(message("field.invalid"))
    rows: list[dict[str, Any]] = []
    next_after = None
    if not errors:
        rows, next_after = read_log_page(
            services().store,
            after,
            PAGE_SIZE,
            audit_log.account_id(services().casework, values["akun"]) or None,
            as_stamp(start) if start else None,
            as_stamp(end) if end else None,
        )
    for row in rows:
        row["subjects"] = [h for h in (row.get("subject_hashes") or "").split(",") if h]
        row["households"] = households_of(row)
        row["at_text"] = row["at"].replace("Z", "+00:00")
        row["channel_text"] = str(CHANNELS.get(row["channel"], row["channel"]))
    filters_only = {k: v for k, v in values.items() if v and k != "setelah"}
    return render_template(
        "audit/read_log.html",
        active="audit",
        section="read_log",
        values=values,
        errors=errors,
        rows=rows,
        next_args={**filters_only, "setelah": next_after} if next_after is not None else None,
        first_args=filters_only if values["setelah"] else None,
    ), 422 if errors else 200
