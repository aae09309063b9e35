"""The web UI for caseworkers (Bahasa Indonesia first, English via `?lang=en`).

Every page works without JavaScript; htmx only makes it quicker (live search, inline
checks, the kelurahan list, polling while the read model catches up). Forms go through
`app.api.run_command`, the same path as the API.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from htmx_flask import request as htmx_request

from app import services
from app.api import household_from_store, run_command
from app.health import LAG_LIMIT, snapshot
from app.messages import LANGUAGES, language_of, message, text, translate
from app.schemas import COMMANDS, Invalid, load
from domain.application import Actor
from domain.errors import DomainError, NotFound
from domain.household import HEAD, RELATIONSHIPS
from domain.regions import KECAMATAN, find_kecamatan
from projections.register import count_households, get_household, search

bp = Blueprint("web", __name__)

PAGE_SIZE = 20
# After this many polls the pending notice slows down and points at the status page.
PATIENT_POLLS = 30
_SEPARATORS = str.maketrans("", "", " .-")
_NOT_PAYLOAD = {"csrf_token", "_field"}
REGISTER_FIELDS = (
    "kk_number",
    "kecamatan",
    "kelurahan",
    "address",
    "rt",
    "rw",
    "head.nik",
    "head.name",
    "head.birth_date",
    "head.sex",
)
MEMBER_FIELDS = ("person.nik", "person.name", "person.birth_date", "person.sex", "relationship")
_MONTHS = {
    "id": "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November "
    "Desember".split(),
    "en": "January February March April May June July August September October November "
    "December".split(),
}
MAX_PAGE = 10_000
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


def current_actor() -> Actor:
    """Who is using the UI. Seam for accounts and sessions (a later issue): until then the
    administrator."""
    return Actor(id="ui", role="admin")


def ui_language() -> str:
    return language_of(session.get("lang"))


# --- request plumbing -------------------------------------------------------------------


@bp.before_app_request
def _remember_language() -> None:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


@bp.before_request
def _check_csrf():
    if request.method != "POST":
        return None
    expected = session.get("csrf", "")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
    if not expected or not hmac.compare_digest(sent, expected):
        return error_page(400, message("csrf.invalid", ui_language()))
    return None


def _language_url(code: str) -> str:
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return f"{request.path}?{urlencode(args, doseq=True)}"


def format_date(value: str | None) -> str:
    if not value:
        return ""
    try:
        date = dt.date.fromisoformat(value[:10])
    except ValueError:
        return value
    return f"{date.day} {_MONTHS[ui_language()][date.month - 1]} {date.year}"


def format_moment(value: str | None) -> str:
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(WIB)
    except ValueError:
        return value
    return f"{format_date(moment.date().isoformat())}, {moment:%H:%M} WIB"


def head_of(household: Mapping[str, Any]) -> Mapping[str, Any] | None:
    members = household.get("members") or []
    for member in members:
        if member["relationship"] == HEAD:
            return member
    return members[0] if members else None


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    lang = ui_language()
    return {
        "lang": lang,
        "t": lambda key: text(key, lang),
        "csrf_token": csrf_token,
        "language_url": _language_url,
        "format_date": format_date,
        "format_moment": format_moment,
        "head_of": head_of,
        "relationship_label": lambda value: text(f"rel.{value}", lang),
        "relationship_options": lambda: [(r, text(f"rel.{r}", lang)) for r in RELATIONSHIPS],
        "sex_label": lambda value: text(f"sex.{value}", lang),
        "status_label": lambda value: text(f"status.{value}", lang),
    }


def error_page(status: int, detail: str | None = None) -> tuple[str, int]:
    lang = ui_language()
    key = status if status in (400, 404, 405) else 500
    title = text(f"error.{key}.title", lang)
    body = detail or (
        message("store.unavailable", lang) if status == 503 else text(f"error.{key}.body", lang)
    )
    return render_template("error.html", status=status, title=title, body=body), status


def _partial_for(target: str) -> bool:
    """An htmx request that swaps only `target` (a history restore wants the whole page)."""
    return (
        bool(htmx_request.htmx)
        and htmx_request.htmx.target == target
        and not (htmx_request.htmx.history_restore_request)
    )


def _redirect(url: str) -> Response:
    if htmx_request.htmx:
        response = Response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def form_payload(form: Mapping[str, str]) -> dict[str, Any]:
    """The command as the API would receive it: dot names nest, blank fields are left out."""
    payload: dict[str, Any] = {}
    for key, value in form.items():
        if key in _NOT_PAYLOAD:
            continue
        *parents, leaf = key.split(".")
        target = payload
        for part in parents:
            target = target.setdefault(part, {})
        if value.strip():
            target[leaf] = value
    return payload


def _split_errors(codes: dict[str, list[str]], visible: tuple[str, ...]) -> tuple[dict, list[str]]:
    """(messages by visible field, messages of the rest) in the UI language."""
    messages = translate(codes, ui_language())
    by_field = {name: found for name, found in messages.items() if name in visible}
    rest = [m for name, found in messages.items() if name not in visible for m in found]
    return by_field, rest


# --- search -----------------------------------------------------------------------------


def _page() -> int:
    raw = request.args.get("halaman", "1")
    return min(max(int(raw), 1), MAX_PAGE) if raw.isdigit() else 1


def find_households(q: str, page: int) -> tuple[list[dict[str, Any]], bool, str | None]:
    """(households on this page, whether a next page exists, a hint for the user)."""
    views = services().views
    digits = q.translate(_SEPARATORS)
    offset = (page - 1) * PAGE_SIZE
    if digits.isdigit():
        if len(digits) != 16:
            return [], False, text("search.partial_digits", ui_language())
        found = {h["id"]: h for h in search(views, nik=digits) + search(views, kk=digits)}
        return list(found.values()), False, None
    rows = search(views, q=q, limit=PAGE_SIZE + 1, offset=offset)
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE, None


@bp.get("/")
def search_page():
    q = " ".join(request.args.get("q", "").split())[:100]
    page = _page()
    rows, has_next, hint = find_households(q, page)
    context = {
        "q": q,
        "page": page,
        "rows": rows,
        "has_next": has_next,
        "hint": hint,
        "total": None if q else count_households(services().views),
        "page_url": lambda n: url_for(".search_page", q=q or None, halaman=n if n > 1 else None),
    }
    if _partial_for("results"):
        return render_template("_results.html", **context)
    return render_template("search.html", active="search", **context)


# --- one household ----------------------------------------------------------------------


def _household_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        abort(404)


def _wanted_version() -> int:
    raw = request.args.get("versi", "")
    return int(raw) if raw.isdigit() else 0


def _household_view(household_id: str, wanted: int) -> tuple[dict[str, Any] | None, bool, int]:
    """(the read model's row or None, still processing, the version waited for)."""
    row = get_household(services().views, household_id)
    if row is not None and row["version"] >= wanted:
        return row, False, wanted
    stored = household_from_store(services().casework, household_id)
    if stored is None:
        abort(404)
    # Never wait for a version the store does not have.
    wanted = min(max(wanted, 1), stored["version"])
    return row, row is None or row["version"] < wanted, wanted


def _render_household(household_id: str, member_codes: dict | None = None, status: int = 200):
    wanted = _wanted_version()
    row, pending, wanted = _household_view(household_id, wanted)
    errors, other_errors = _split_errors(member_codes or {}, MEMBER_FIELDS)
    values = request.form if member_codes else {}
    return (
        render_template(
            "household.html",
            household=row,
            household_id=household_id,
            pending=pending,
            wanted=wanted,
            poll=0,
            values=values,
            errors=errors,
            other_errors=other_errors,
            patient_polls=PATIENT_POLLS,
        ),
        status,
    )


@bp.get("/rumah-tangga/<household_id>")
def household_page(household_id: str):
    household_id = _household_id(household_id)
    if htmx_request.htmx and "poll" in request.args:
        row, pending, wanted = _household_view(household_id, _wanted_version())
        if not pending:
            return _redirect(url_for(".household_page", household_id=household_id))
        poll = int(request.args["poll"]) + 1 if request.args["poll"].isdigit() else 1
        return render_template(
            "_pending.html",
            household_id=household_id,
            wanted=wanted,
            poll=poll,
            patient_polls=PATIENT_POLLS,
        )
    return _render_household(household_id)


@bp.post("/rumah-tangga/<household_id>/anggota")
def add_member(household_id: str):
    household_id = _household_id(household_id)
    payload = {**form_payload(request.form), "household_id": household_id}
    try:
        stored = run_command(services().casework, "AddMember", payload, current_actor(), "ui")
    except Invalid as invalid:
        codes = invalid.codes
    except NotFound:
        abort(404)
    except DomainError as error:
        codes = {error.field: [error.code]}
    else:
        flash(text("member.added", ui_language()), "success")
        return _redirect(
            url_for(".household_page", household_id=household_id, versi=stored.version)
        )
    if _partial_for("member-form"):
        row = get_household(services().views, household_id)
        errors, other_errors = _split_errors(codes, MEMBER_FIELDS)
        return render_template(
            "_member_form.html",
            household=row,
            household_id=household_id,
            values=request.form,
            errors=errors,
            other_errors=other_errors,
        ), 422
    return _render_household(household_id, codes, 422)


# --- registration -----------------------------------------------------------------------


def _register_context(values: Mapping[str, str], codes: dict[str, list[str]]) -> dict[str, Any]:
    errors, other_errors = _split_errors(codes, REGISTER_FIELDS)
    chosen = find_kecamatan(values.get("kecamatan", "")) if values.get("kecamatan") else None
    return {
        "values": values,
        "errors": errors,
        "other_errors": other_errors,
        "kecamatan_list": KECAMATAN,
        "kecamatan_options": [(k.name, k.name) for k in KECAMATAN],
        "chosen_kecamatan": chosen,
    }


@bp.get("/daftar")
def register_page():
    return render_template("register.html", active="register", **_register_context({}, {}))


@bp.post("/daftar")
def register_submit():
    try:
        stored = run_command(
            services().casework,
            "RegisterHousehold",
            form_payload(request.form),
            current_actor(),
            "ui",
        )
    except Invalid as invalid:
        codes = invalid.codes
    except DomainError as error:
        codes = {error.field: [error.code]}
    else:
        flash(text("register.done", ui_language()), "success")
        return _redirect(
            url_for(".household_page", household_id=stored.stream_id, versi=stored.version)
        )
    context = _register_context(request.form, codes)
    if _partial_for("register-form"):
        return render_template("_register_form.html", **context), 422
    return render_template("register.html", active="register", **context), 422


@bp.post("/periksa/<command>")
def check_field(command: str):
    """The messages for one field of a form, checked by the command's own schema."""
    if command not in COMMANDS:
        abort(404)
    field = request.form.get("_field", "")
    payload = form_payload(request.form)
    if command == "AddMember":
        payload.setdefault("household_id", request.form.get("household_id", ""))
    try:
        load(command, payload)
        codes: dict[str, list[str]] = {}
    except Invalid as invalid:
        codes = invalid.codes
    messages = translate({field: codes.get(field, [])}, ui_language())[field]
    return render_template("_field_messages.html", messages=messages)


@bp.get("/wilayah/kelurahan")
def kelurahan_options():
    chosen = find_kecamatan(request.args.get("kecamatan", ""))
    return render_template(
        "_kelurahan_select.html",
        values={},
        errors={},
        kecamatan_list=KECAMATAN,
        chosen_kecamatan=chosen,
    )


# --- system status ----------------------------------------------------------------------


def status_rows(found: Mapping[str, Any]) -> list[dict[str, Any]]:
    lang = ui_language()
    rows = []
    for name, entry in found.items():
        if name == "store":
            label, detail = (
                text("health.store", lang),
                f"{entry.get('events', 0)} {text('health.events', lang)}",
            )
        elif name == "relay":
            label = text("health.relay", lang)
            detail = f"{entry.get('published', 0)} {text('health.published', lang)}"
        elif name.startswith("projection:"):
            label = f"{text('health.projection', lang)} {name.split(':', 1)[1]}"
            detail = f"{entry.get('applied', 0)} {text('health.applied', lang)}"
        elif name == "dlq":
            label, detail = (
                text("health.dlq", lang),
                f"{entry.get('count', 0)} {text('health.messages', lang)}",
            )
        else:
            label, detail = name, ""
        lag = entry.get("lag")
        if name == "dlq" and "count" in entry:
            lag = entry["count"]
        rows.append(
            {
                "name": name,
                "label": label,
                "error": "error" in entry,
                "position": entry.get("position"),
                "lag": lag,
                "bar": min(lag, LAG_LIMIT) if isinstance(lag, int) else None,
                "bar_max": 1 if name == "dlq" else LAG_LIMIT,
                "detail": text("health.unreachable", lang) if "error" in entry else detail,
            }
        )
    return rows


@bp.get("/status")
def status_page():
    svc = services()
    status, found, _ = snapshot(svc.store, svc.views)
    context = {"status": status, "rows": status_rows(found), "lag_limit": LAG_LIMIT}
    if _partial_for("status-table"):
        return render_template("_status_table.html", **context)
    return render_template("status.html", active="status", **context)
