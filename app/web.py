"""The web UI for caseworkers (Bahasa Indonesia first, English via `?lang=en`).

Every page works without JavaScript; htmx only makes it quicker (live search, inline
checks, the kelurahan list, polling while the read model catches up). Forms go through
`app.command_path.run_command`, the same path as the API.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_time, get_locale, gettext
from flask_babel import lazy_gettext as _l
from htmx_flask import request as htmx_request
from marshmallow import fields
from werkzeug.exceptions import HTTPException

from adapters import idempotency
from adapters.wire import rfc3339
from app import access_log, agency_pages, filling, read_policy, reconciliation, time_travel
from app.api import review_scope
from app.auth import kecamatan_within, kelurahan_of, may_issue, web_actor
from app.charts import bar_scale
from app.command_path import domain_error_body, domain_status, run_command
from app.context import services
from app.csv_export import (
    ERROR_COLUMNS,
    RECONCILIATION_COLUMNS,
    csv_response,
    error_rows,
    header,
    reconciliation_rows,
)
from app.disclosure import (
    disclose_household,
    disclose_households,
    household_from_store,
    masked_nik,
)
from app.drafts import RULE_FIELDS, draft_rules, load_draft, rules_from_form
from app.evidence import reasons_events
from app.health import LAG_LIMIT, snapshot
from app.history import stream_history, timeline
from app.login import page_sent_from
from app.messages import (
    LANGUAGES,
    TEXT,
    date_text,
    happened_text,
    message,
    moment_text,
    number_text,
    recorded_later,
    reversed_window_text,
    role_label,
    rupiah,
    text,
    translate,
)
from app.schemas import (
    COMMANDS,
    COMMON_FIELDS,
    BirthDate,
    Choice,
    CodeList,
    Coordinate,
    Day,
    FieldPaths,
    Flag,
    IdentityNumber,
    Invalid,
    Kecamatan,
    ListedMembers,
    NikList,
    OccurredAt,
    OptionalText,
    StatedRelationships,
    Text,
    WholeNumber,
    load,
    walk,
)
from app.xlsx_export import xlsx_response
from consumers import policies
from consumers.agency_delivery import CHANNELS
from domain import regions
from domain.application import Actor
from domain.approval import APPROVER_ROLE, REJECTION_REASONS, Forbidden
from domain.city import WIB, today
from domain.commands import CATALOGUE, GROUP_TITLES, Group
from domain.commands import COMMANDS as COMMANDS_DECLARED
from domain.eligibility_rules import open_rules
from domain.errors import DomainError, NotFound, Refused
from domain.household import (
    ASSESSMENT_SOURCES,
    HEAD,
    RELATIONSHIPS,
    runs_on,
    scheduled_changes,
    status_on,
)
from domain.personal_data import is_erased
from domain.program import RECIPIENTS, Detail, desil_source_rule
from domain.regions import KECAMATAN, find_kecamatan, kelurahan_matches
from domain.texts import N_
from projections import approvals as approval_views
from projections import program_views
from projections.base import name_terms, name_words
from projections.beneficiaries import recipients
from projections.eligibility import household_eligibility
from projections.register import count_households, get_household, get_households, search
from projections.reviews import open_reviews
from projections.status import RELAY_GONE_SECONDS, STUCK_SECONDS

bp = Blueprint("web", __name__)

PAGE_SIZE = 20
# After this many polls the pending notice slows down and points at the status page.
PATIENT_POLLS = 30
_SEPARATORS = str.maketrans("", "", " .-")
# relationships_for: the new head a ChangeHead form's relationships were chosen for
_NOT_PAYLOAD = {"csrf_token", "_field", "form_key", "relationships_for"}
# How long a form sent again (a double click, the back button) waits for the first sending
# of it to be saved before saying so (see _claim_form).
REPEAT_WAIT_SECONDS = 5.0
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
MAX_PAGE = 10_000


def current_actor() -> Actor:
    """Who is using the UI: the signed-in account (app/login.py), with its role and OPD."""
    return web_actor()


def ui_language() -> str:
    """The request's language (app/messages.py select_locale): `id` or `en`."""
    locale = get_locale()
    return locale.language if locale is not None else LANGUAGES[0]


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
def check_csrf():
    if request.method != "POST":
        return None
    expected = session.get("csrf", "")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return error_page(400, message("csrf.invalid"))
    return None


def least_privilege() -> tuple[str, int] | None:
    """Before every web page, after sign-in (app/login.py): the forbidden page (403) for a
    role the page's declared policy does not name (app/read_policy.py WEB; a page without a
    policy: every role). The API's routes have their own guard (app/api.py)."""
    if request.endpoint is None or request.path.startswith(("/api/", "/dci/")):
        return None  # no such page (404, 405), or the API (app/api.py, app/dci.py)
    actor = g.get("web_actor")
    if read_policy.allows(request.endpoint, actor.role if actor else None):
        return None
    return error_page(403)


def may_use(endpoint: str) -> bool:
    """Whether the signed-in person's role may open this page at all (the navigation and the
    links show only these)."""
    actor = g.get("web_actor")  # none on the login and error pages of an anonymous visitor
    return actor is not None and read_policy.allows(endpoint, actor.role)


def shown_nik(nik: str | None) -> str | None:
    """A NIK as this page's declared policy shows it to this role (`Nik`): masked in lists
    that need no full number, `1571**********12`."""
    if read_policy.masks_nik(request.endpoint, current_actor().role):
        return masked_nik(nik)
    return nik


def reads_household(kelurahan: str) -> bool:
    """Whether the signed-in person reads a household of this kelurahan: the household
    readers (app/read_policy.py), a case worker only in their kelurahan (Area.KELURAHAN)."""
    return household_reader()(kelurahan)


def household_reader() -> Callable[[str], bool]:
    """`reads_household` for a page of many households: the person's area read once."""
    actor = current_actor()
    if not read_policy.allows("web.household_page", actor.role):
        return lambda kelurahan: False
    areas = kelurahan_of(services().casework, actor)
    return lambda kelurahan: areas is None or kelurahan in areas


def reads_provisional(kecamatan: str) -> bool:
    """Whether the signed-in person reads a person registered without papers found in this
    kecamatan: everyone city-wide, a case worker in the kecamatan of their kelurahan (as
    the command path lets them act on that person, `auth.kecamatan`)."""
    areas = kelurahan_of(services().casework, current_actor())
    return areas is None or any(regions.find_kelurahan(kecamatan, name) for name in areas)


def require_household_area(household_id: str) -> None:
    """The forbidden page (403) for a household outside the person's area; 404 for none."""
    try:
        kelurahan = services().casework.get_household(household_id).kelurahan
    except NotFound:
        abort(404)
    if not reads_household(kelurahan):
        # the role opens such pages: it is this household that is elsewhere, said as such
        # (the forbidden page's "your role may not open this page" is not the reason)
        abort(Response(*error_page(403, message("auth.kelurahan"))))


def _language_url(code: str) -> str:
    """The page again in that language. A form's answer (its errors, at the address it was
    sent to) is switched on the page the form was on: the address a form is sent to is not
    a page to open (`/persetujuan/<id>/tolak`: 405), nor does it hold what the page was
    opened for (`/perintah/<name>` without its household)."""
    path, args = request.path, request.args.to_dict(flat=False)
    if request.method != "GET":
        before = urlsplit(page_sent_from())
        if before.path:
            path, args = before.path, parse_qs(before.query)
        elif not _opens_with_get(path):
            path, args = url_for(".search_page"), {}
    args["lang"] = [code]
    return f"{path}?{urlencode(args, doseq=True)}"


def _opens_with_get(path: str) -> bool:
    adapter = current_app.url_map.bind(request.host)
    try:
        adapter.match(path, method="GET")
    except HTTPException:
        return False
    return True


def head_of(household: Mapping[str, Any]) -> Mapping[str, Any] | None:
    members = household.get("members") or []
    for member in members:
        if member["relationship"] == HEAD:
            return member
    return members[0] if members else None


def chosen_day(value: str | None) -> str:
    """What a date field holds, in words (`2026-03-12`: 12 Maret 2026; a datetime field's
    `2026-03-12T09:30`: 12 Maret 2026, 09.30); '' for nothing or what is no day."""
    if not value or not _ISO_DAY.match(value[:10]):
        return ""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return ""
    words = date_text(moment.date())
    if "T" not in value:
        return words
    return f"{words}, {format_time(moment.time(), 'short', rebase=False)}"


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "lang": ui_language(),
        "csrf_token": csrf_token,
        "language_url": _language_url,
        "format_date": date_text,
        "chosen_day": chosen_day,
        "format_moment": moment_text,
        "format_happened": happened_text,
        "recorded_later": recorded_later,
        "reason_detail": reason_detail,
        "rule_label": rule_label,
        "format_number": number_text,
        "rupiah": rupiah,
        "head_of": head_of,
        "relationship_label": lambda value: text(f"rel.{value}"),
        "relationship_options": lambda: [(r, text(f"rel.{r}")) for r in RELATIONSHIPS],
        "sex_label": lambda value: text(f"sex.{value}"),
        "status_label": lambda value: text(f"status.{value}"),
        "benefit_status": benefit_status_text,
        "member_status": lambda value: _labelled(MEMBER_STATUS_LABELS, value),
        "erased_text": text("person.erased"),
        "may_use": may_use,
        "shown_nik": shown_nik,
        # a filter's kelurahan list (app/templates/_kelurahan_filter.html): those the person reads
        "kelurahan_choices": lambda: kecamatan_within(
            kelurahan_of(services().casework, current_actor())
        ),
    }


# a global, so the macros of app/templates/_reconciliation.html (imported without the context)
# read it
bp.add_app_template_global(reconciliation.reason_label, "reconciliation_reason")


def error_page(status: int, detail: str | None = None) -> tuple[str, int]:
    key = 400 if status == 422 else status if status in (400, 403, 404, 405) else 500
    title = text(f"error.{key}.title")
    body = detail or (message("store.unavailable") if status == 503 else text(f"error.{key}.body"))
    if status == 403 and detail is None:
        # the forbidden page: who this page is for, by the page's declared policy
        roles = read_policy.policy_for(request.endpoint).roles
        if roles:
            named = ", ".join(role_label(role) for role in roles)
            for_whom = gettext("This page is for: %(roles)s.", roles=named)
            body = f"{body} {for_whom}"
    # The language links lead to the start page: the path may carry a NIK or a name.
    to_start = lambda code: url_for("web.search_page", lang=code)  # noqa: E731
    page = render_template(
        "error.html", status=status, title=title, body=body, language_url=to_start
    )
    return page, status


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
    """The command as the API would receive it: dot names nest, blank fields are left out.
    Raises Invalid when a field's name is also the group of others (`head` and `head.nik`)."""
    payload: dict[str, Any] = {}
    groups: set[str] = set()  # dot paths that hold other fields
    for key, value in form.items():
        if key in _NOT_PAYLOAD:
            continue
        *parents, leaf = key.split(".")
        paths = [".".join(parents[: i + 1]) for i in range(len(parents))]
        if key in groups or any(p in form and p not in _NOT_PAYLOAD for p in paths):
            raise Invalid({key: ["field.clash"]})
        groups.update(paths)
        target = payload
        for part in parents:
            target = target.setdefault(part, {})
        if value.strip():
            target[leaf] = value
    return payload


def _split_errors(
    codes: dict[str, list[str]], visible: tuple[str, ...], messages: dict | None = None
) -> tuple[dict, list[str]]:
    """(messages by visible field, messages of the rest) in the UI language; `messages`
    when already worded (a grant's failing rules, each naming what it found)."""
    messages = messages or translate(codes)
    by_field = {name: found for name, found in messages.items() if name in visible}
    rest = [m for name, found in messages.items() if name not in visible for m in found]
    return by_field, rest


# --- search -----------------------------------------------------------------------------


# A page, version or poll count in a query string: ASCII digits, few enough for int().
_COUNT = re.compile(r"[0-9]{1,9}")


def _page() -> int:
    raw = request.args.get("halaman", "1")
    return min(max(int(raw), 1), MAX_PAGE) if _COUNT.fullmatch(raw) else 1


def shown(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A household of the register view as the pages show it: KK number and NIKs opened (the
    view keeps only their tokens), an erased person marked `erased`."""
    if row is None:
        return None
    return disclose_household(services().casework.codec, row)


def find_households(
    q: str, page: int, areas: tuple[str, ...] | None = None
) -> tuple[list[dict[str, Any]], bool, str | None]:
    """(households on this page, whether a next page exists, a hint for the user); `areas`:
    only households of these kelurahan (a case worker's, Area.KELURAHAN).

    A NIK or KK number is looked for by its keyed hash: the view keeps no number in clear."""
    views, casework = services().views, services().casework
    digits = q.translate(_SEPARATORS)
    offset = (page - 1) * PAGE_SIZE
    if digits.isascii() and digits.isdigit():
        if len(digits) != 16:
            return [], False, text("search.partial_digits")
        by_nik = search(views, nik_hash=casework.nik_key(digits), kelurahan_in=areas)
        by_kk = search(views, kk_hash=casework.kk_key(digits), kelurahan_in=areas)
        found = {h["id"]: shown(h) for h in by_nik + by_kk}
        return list(found.values()), False, None
    rows = search(
        views,
        q=q,
        kelurahan_in=areas,
        limit=PAGE_SIZE + 1,
        offset=offset,
        name_key=casework.name_key,
    )
    page_rows = disclose_households(casework.codec, rows[:PAGE_SIZE])
    return page_rows, len(rows) > PAGE_SIZE, None


def matched_members(household: Mapping[str, Any], q: str) -> list[Mapping[str, Any]]:
    """The members other than the head a search found the household by: their name has every
    word searched, as the search compares names (`projections.base.name_words`), or their NIK
    is the number searched. The results name the head only, so who was found is said."""
    digits = q.translate(_SEPARATORS)
    if digits.isascii() and digits.isdigit():

        def wanted(member: Mapping[str, Any]) -> bool:
            return member.get("nik") == digits

    else:
        words = set(name_words(q))
        if not words:
            return []

        def wanted(member: Mapping[str, Any]) -> bool:
            return words <= name_terms(str(member.get("name") or ""))

    head = head_of(household)
    return [
        m
        for m in household.get("members") or []
        if m is not head and not m.get("erased") and wanted(m)
    ]


@bp.get("/")
def search_page():
    """The household search (within the reader's area); a role that reads no household gets a
    start page without any (app/read_policy.py)."""
    actor = current_actor()
    if not read_policy.allows("web.household_page", actor.role):
        # an agency account: its own agreement and delivery, and how to receive the data
        own = agency_pages.own_agency(actor.opd or "") if actor.role == "agency" else None
        return render_template("home.html", active="search", own=own, channels=CHANNELS)
    q = " ".join(request.args.get("q", "").split())[:100]
    page = _page()
    areas = kelurahan_of(services().casework, actor)
    rows, has_next, hint = find_households(q, page, areas)
    digits = q.translate(_SEPARATORS)
    searched = digits if digits.isascii() and digits.isdigit() and len(digits) == 16 else None
    access_log.record_households(current_actor(), "ui", rows, access_log.ui_reason(), searched)
    context = {
        "q": q,
        "page": page,
        "rows": rows,
        "areas": areas,  # a case worker's kelurahan: the list keeps to them
        "has_next": has_next,
        "hint": hint,
        # the city's count; a case worker's area is not counted (no count per kelurahan)
        "total": None if q or areas is not None else count_households(services().views),
        "page_url": lambda n: url_for(".search_page", q=q or None, halaman=n if n > 1 else None),
        "matched_members": lambda household: matched_members(household, q) if q else [],
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
    return int(raw) if _COUNT.fullmatch(raw) else 0


def _household_view(household_id: str, wanted: int) -> tuple[dict[str, Any] | None, bool, int]:
    """(the read model's row or None, still processing, the version waited for)."""
    row = shown(get_household(services().views, household_id))
    if row is not None and row["version"] >= wanted:
        return row, False, wanted
    stored = household_from_store(services().casework, household_id)
    if stored is None:
        abort(404)
    # Never wait for a version the store does not have.
    wanted = min(max(wanted, 1), stored["version"])
    return row, row is None or row["version"] < wanted, wanted


def help_before_nik(household_id: str, household: Any = None) -> list[dict[str, Any]]:
    """For each member first helped without papers (LinkIdentity), what was recorded for the
    provisional person: their case notes and services, under the member's name."""
    casework = services().casework
    if household is None:
        try:
            household = casework.get_household(household_id)
        except NotFound:
            return []
    found = []
    for member in household.members.values():
        if member.get("erased"):
            continue
        for person_id in member["provisional_person_ids"]:
            try:
                person = casework.get_provisional_person(person_id)
            except NotFound:
                continue
            found.append(
                {
                    "name": member["name"],
                    "found_at": person.found_at,
                    "notes": person.notes_log,
                    "services": [
                        {**s, "label": option_label("service", s["service"])}
                        for s in person.services
                    ],
                    "benefits": list(person.benefits.values()),
                }
            )
    return found


# A disagreement of more than this many deciles between the sources' latest values is marked
# (a per-program tolerance rule of the eligibility view may say more: its `review` reasons
# are shown beside the table).
DECILE_SPREAD = 1

MEMBER_STATUS_LABELS = {
    "active": N_("Active"),
    "moved_out": N_("Moved out"),
    "deceased": N_("Deceased"),
    "removed": N_("Removed"),
}
ELIGIBILITY_LABELS = {
    "eligible": N_("Eligible"),
    "ineligible": N_("Not eligible"),
    "review": N_("Needs review"),
}
# a benefit's history: its first entry is the grant, then each change by the status it set
# a change recorded ahead, after the status in force: "Aktif · ditangguhkan mulai 8 Desember 2026"
SCHEDULED_LABELS = {
    "suspended": N_("suspended from %(date)s"),
    "active": N_("resumed from %(date)s"),
    "terminated": N_("terminated from %(date)s"),
}


def change_words(step: Mapping[str, Any]) -> str:
    """A step of a benefit's history recorded to take effect on its day, in words:
    'ditangguhkan mulai 8 Desember 2026'."""
    return gettext(SCHEDULED_LABELS[step["status"]], date=date_text(step["effective_date"]))


def scheduled_text(benefit: Mapping[str, Any], day: dt.date) -> str:
    """Each change of the benefit recorded to take effect after that day, in words ('' for
    none): 'ditangguhkan mulai 8 Desember 2026 · dilanjutkan mulai ...'."""
    return " · ".join(change_words(step) for step in scheduled_changes(dict(benefit), day))


# a benefit not terminated whose period does not cover the day, after the status in force:
# "Aktif · periode berakhir 31 Desember 2025", "Aktif · mulai 1 Januari 2027" (not received)
PERIOD_LABELS = {
    "ended": N_("period ended %(date)s"),
    "ahead": N_("begins %(date)s"),
}


def replaced_text(outcome: Any) -> str:
    """What a stored benefit change replaced of the changes recorded ahead of it, in words
    ('' for none): 'Menggantikan yang tercatat untuk berlaku nanti: BST ditangguhkan mulai ...'."""
    replaced = (outcome.body or {}).get("replaced") if outcome is not None else None
    if not replaced:
        return ""
    changes = "; ".join(f"{step['program']} {change_words(step)}" for step in replaced)
    return gettext(
        "It replaces what was recorded to take effect later: %(changes)s.", changes=changes
    )


def period_text(benefit: Mapping[str, Any], day: dt.date) -> str:
    """'' while the benefit's period covers that day (or it is terminated then); otherwise
    that its period ended, or when it begins, in words: though nothing ended it, it is not
    received that day (`runs_on`)."""
    if status_on(dict(benefit), day) == "terminated":
        return ""
    if day > dt.date.fromisoformat(benefit["period_end"]):
        return gettext(PERIOD_LABELS["ended"], date=date_text(benefit["period_end"]))
    if day < dt.date.fromisoformat(benefit["period_start"]):
        return gettext(PERIOD_LABELS["ahead"], date=date_text(benefit["period_start"]))
    return ""


def benefit_status_text(benefit: Mapping[str, Any], day: dt.date | None = None) -> str:
    """A benefit's status in force on that day (today by default) in words, followed by its
    period's end or start when the period does not cover the day, and each change recorded to
    take effect later."""
    day = day or today()
    words = [
        text(f"status.{status_on(dict(benefit), day)}"),
        period_text(benefit, day),
        scheduled_text(benefit, day),
    ]
    return " · ".join(w for w in words if w)


BENEFIT_STEP_LABELS = {
    "granted": N_("Granted"),
    "suspended": N_("Suspended"),
    "active": N_("Resumed"),
    "terminated": N_("Terminated"),
}
REVIEW_DECISIONS = {
    "keep": N_("Benefit kept"),
    "suspend": N_("Benefit suspended"),
    "terminate": N_("Benefit terminated"),
    "withdrawn": N_("Withdrawn: its cause went away"),
    "benefit_terminated": N_("Closed: the benefit ended"),
}
OBJECTION_STATUS = {
    "open": N_("Open"),
    "resolved": N_("Resolved"),
    "lapsed": N_("Lapsed"),
}


# the eligibility rules by the name their reasons carry (domain.program.evaluate, and the
# eligibility view's own: in_force, recipient)
RULE_LABELS = {
    "max_desil": N_("Highest decile"),
    "min_residence_months": N_("Minimum residence (months)"),
    "excludes_nib_holders": N_("NIB holders excluded"),
    "double_receipt": N_("No double receipt"),
    "once_per_kk": N_("Once per KK"),
    "combinable_with": N_("Combinable with"),
    "recipient": N_("Recipient"),
    "in_force": N_("Program in force"),
}
# a reason's outcome: its mark (shown) and its words (read by screen readers), failed first
REASON_OUTCOMES = {
    False: ("failed", "✗", N_("Failed")),
    None: ("unknown", "?", N_("Unknown: needs a person")),
    True: ("passed", "✓", N_("Passed")),
}
_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def rule_label(rule: Any) -> str:
    """An eligibility rule's name in the interface language (its code when unknown)."""
    return _labelled(RULE_LABELS, str(rule or ""))


def reason_detail(reason: Any) -> str:
    """A rule's detail in the interface language: a stored reason (its `text`: msgid and
    params), a `domain.program.Detail`, or else the English detail as it is. ISO dates among
    the params read as the page's dates."""
    if isinstance(reason, Detail):
        found, english = reason.as_text(), str(reason)
    elif isinstance(reason, Mapping):
        found, english = reason.get("text"), str(reason.get("detail") or "")
    else:
        return str(reason or "")
    if not isinstance(found, Mapping) or not isinstance(found.get("msgid"), str):
        return english
    params = {
        key: date_text(value) if isinstance(value, str) and _ISO_DAY.match(value) else value
        for key, value in (found.get("params") or {}).items()
    }
    try:
        return gettext(found["msgid"], **params)
    except (KeyError, ValueError, TypeError):  # a catalog entry with other placeholders
        return english


def eligibility_reasons(
    reasons: list[dict[str, Any]], events: Mapping[int, dict[str, str | None]] | None = None
) -> list[dict[str, Any]]:
    """Reasons to show: failed first, then unknown, then passed (each in the rules' order),
    with the rule's name, the outcome's mark and words, the detail translated, and the
    events behind it as `events` names them (`app.evidence.reasons_events`)."""
    shown = []
    for reason in reasons:
        passed = reason.get("passed")
        outcome, mark, words = REASON_OUTCOMES.get(passed, REASON_OUTCOMES[None])
        behind = sorted({p for p in reason.get("positions") or () if isinstance(p, int)})
        shown.append(
            {
                "rule": rule_label(reason.get("rule")),
                "version": reason.get("rule_version"),
                "outcome": outcome,
                "mark": mark,
                "outcome_text": gettext(words),
                "detail": reason_detail(reason),
                "events": [events[p] for p in behind if p in events] if events else [],
            }
        )
    order = [outcome for outcome, _, _ in REASON_OUTCOMES.values()]
    return sorted(shown, key=lambda r: order.index(r["outcome"]))


def _left_on(member: dict[str, Any]) -> dt.date | None:
    """The day a member who is no longer active died or left the household; else None."""
    if member.get("status") == "active" or not member.get("status_since"):
        return None
    try:
        return dt.date.fromisoformat(str(member["status_since"]))
    except ValueError:
        return None


def _months_since(since: str | None, day: dt.date) -> int | None:
    """Whole months from `since` (an ISO date) to `day`; None when unknown."""
    if not since:
        return None
    try:
        start = dt.date.fromisoformat(str(since))
    except ValueError:
        return None
    months = (day.year - start.year) * 12 + day.month - start.month
    if day.day < start.day:
        months -= 1
    return max(months, 0)


def _labelled(labels: Mapping[str, str], value: str | None) -> str:
    if value is None:
        return ""
    return gettext(labels[value]) if value in labels else value


def _deciles(household: Any, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """Each source's latest decile side by side, and whether they disagree."""
    latest: dict[str, dict[str, Any]] = {}
    for record in household.assessments:
        known = latest.get(record["source"])
        if known is None or record["period"] > known["period"]:
            latest[record["source"]] = record
    values = [r["desil"] for r in latest.values()]
    conflict = bool(values) and max(values) - min(values) > DECILE_SPREAD
    rows = [
        {
            "source": source,
            "desil": latest[source]["desil"] if source in latest else None,
            "period": latest[source]["period"] if source in latest else None,
            "outlier": conflict
            and source in latest
            and latest[source]["desil"] in (max(values), min(values)),
        }
        for source in ASSESSMENT_SOURCES
    ]
    # what the eligibility view says needs a person's review about the deciles
    reviews = [
        {"program": answer["program"], "detail": reason_detail(reason)}
        for answer in answers
        if answer["status"] == "review"
        for reason in answer["reasons"]
        if "desil" in str(reason.get("rule", "")) or "desil" in str(reason.get("detail", ""))
    ]
    return {
        "rows": rows,
        "conflict": conflict,
        "spread": (max(values) - min(values)) if values else 0,
        "reviews": reviews,
    }


def household_sections(household_id: str, household: Any) -> dict[str, Any]:
    """Everything the household page shows beyond its members: KTP and residence, NIBs,
    deciles, eligibility, benefits with their history, reviews, objections and a timeline.

    Read from the household's own record (one read of its stream, already loaded for the
    page's lists), its events (one more read) and the eligibility view: no query per item."""
    day = today()
    members = household.members
    erased = text("person.erased")

    def clear(value: Any) -> Any:
        """A secret field of an erased person reads as erased, never as its marker."""
        return erased if is_erased(value) else value

    def person(nik: str | None) -> dict[str, Any]:
        member = members.get(nik or "")
        if member is None:
            return {"name": "", "restricted": False}
        return {
            "name": erased if member.get("erased") else clear(member["name"]),
            "restricted": bool(member.get("restricted")),
        }

    identity = []
    for nik, m in members.items():
        arrival = m.get("arrival") or {}
        identity.append(
            {
                **person(nik),
                "status": _labelled(MEMBER_STATUS_LABELS, m["status"]),
                "ktp_issued_on": m.get("ktp_issued_on"),
                "arrival_type": option_label("arrival.type", arrival["type"])
                if arrival.get("type")
                else None,
                "arrived_on": arrival.get("arrived_on"),
                "origin": arrival.get("origin_region_code"),
                # a member who died or left lived here until then, not until today
                "months": _months_since(m.get("residence_since"), _left_on(m) or day),
            }
        )
    nibs = [
        {
            **person(r["nik"]),
            "nib": r["nib"],
            "business_name": clear(r["business_name"]),
            "registered_on": r["registered_on"],
            "revoked_on": r["revoked_on"],
        }
        for r in household.nibs
    ]
    views = services().views
    answers = household_eligibility(views, household_id, with_subject=True) or []
    # whom each answer is about: the view knows its members by pseudonymous subject only
    # (one look-up per active member, when some answer names one)
    by_subject: dict[str, str] = {}
    if any(a["subject"] for a in answers):
        for nik, m in members.items():
            if m["status"] == "active" and not m.get("erased"):
                subject = services().casework.person_subject(nik)
                if subject:
                    by_subject[subject] = nik
    behind = reasons_events(
        (a["reasons"] for a in answers), household_id, (a["program"] for a in answers), "kejadian-"
    )
    eligibility = [
        {
            "program": a["program"],
            "status": a["status"],
            "status_text": _labelled(ELIGIBILITY_LABELS, a["status"]),
            "eligible_from": a.get("eligible_from"),
            "member": person(by_subject[a["subject"]])["name"]
            if a["subject"] in by_subject
            else "",
            "reasons": eligibility_reasons(a["reasons"], behind),
        }
        for a in answers
    ]
    benefits, reviews = [], []
    # a decision's control only for who may send it (`may_issue`, as the command path decides)
    decides_reviews = may_issue(current_actor().role, "DecideReview")
    for b in household.benefits.values():
        steps = []
        for i, step in enumerate(b.get("history") or []):
            kind = "granted" if i == 0 else step["status"]
            steps.append(
                {
                    "label": _labelled(BENEFIT_STEP_LABELS, kind),
                    "date": step.get("effective_date"),
                    # a change recorded to take effect after the page's day
                    "scheduled": i > 0 and (step.get("effective_date") or "") > day.isoformat(),
                    "reason_code": option_label("reason_code", step["reason_code"])
                    if step.get("reason_code")
                    else "",
                    # the policies' own words (English, with an event id) are for the audit
                    # trail: people read the reason code and that the system recorded it
                    "reason": gettext("recorded automatically by the system")
                    if policies.by_policy(step.get("reason"))
                    else clear(step.get("reason") or ""),
                }
            )
        status = status_on(b, day)
        benefits.append(
            {
                **person(b["nik"]),
                "program": b["program"],
                "period_start": b["period_start"],
                "period_end": b["period_end"],
                "amount": b["amount"],
                "status": status,
                # the badge's colour: green only while it is received that day; an active
                # benefit outside its period is grey (`badge-idle`), its words say why
                "badge": "idle" if status == "active" and not runs_on(b, day) else status,
                "status_text": text(f"status.{status}"),
                # not received that day though nothing ended it: its period ended, or begins
                "period": period_text(b, day),
                "scheduled": scheduled_text(b, day),
                "history": steps,
            }
        )
        for r in b.get("reviews") or []:
            is_open = r["status"] == "open"
            reviews.append(
                {
                    "program": b["program"],
                    "name": person(b["nik"])["name"],
                    "cause": gettext(REVIEW_CAUSES.get(r["cause"], r["cause"])),
                    "deadline": r["deadline"],
                    "open": is_open,
                    "overdue": is_open
                    and (bool(r.get("overdue")) or r["deadline"] < day.isoformat()),
                    "decision": _labelled(REVIEW_DECISIONS, r.get("decision")),
                    "decide_url": url_for(
                        ".command_page",
                        name="DecideReview",
                        household_id=household_id,
                        review_id=r["review_id"],
                    )
                    if is_open and decides_reviews
                    else None,
                }
            )
    reviews.sort(key=lambda r: (not r["open"], r["deadline"]))
    objections = [
        {
            "filed_on": o["filed_on"],
            "deadline": o["deadline"],
            "status": o["status"],
            "status_text": _labelled(OBJECTION_STATUS, o["status"]),
            "resolution": option_label("resolution", o["resolution"]) if o["resolution"] else "",
            "grounds": clear(o["grounds"]),
        }
        for o in household.objections.values()
    ]
    programs = {b["benefit_id"]: b["program"] for b in household.benefits.values()}
    events = []
    for entry in timeline(stream_history(services().casework, household.id)):
        data = entry["data"]
        details = []
        nik = data.get("nik") or (data.get("person") or {}).get("nik")
        if nik:
            details.append(person(nik)["name"])
        program = data.get("program") or programs.get(data.get("benefit_id") or "")
        if program:
            details.append(program)
        if entry["type"] == "WelfareAssessed":
            decile = f"{gettext('Decile')} {data.get('desil')}"
            details.append(f"{data.get('source')} {data.get('period')}: {decile}")
        if entry["type"] == "SourceListingRecorded":  # which source listed it, and when
            details.append(f"{data.get('source')} {data.get('period')}")
        if data.get("reason_code"):
            details.append(option_label("reason_code", data["reason_code"]))
        if entry["type"] in ("VerificationRecorded", "EmpowermentCompleted"):
            details.append(option_label("outcome", data.get("outcome") or ""))
        if entry["type"] == "ObjectionResolved":
            details.append(option_label("resolution", data.get("resolution") or ""))
        # what the case worker wrote: the note, the verifier and what they noted
        for written in ("text", "verifier", "notes"):
            if entry["type"] in ("CaseNoteAdded", "VerificationRecorded") and data.get(written):
                details.append(clear(data[written]))
        if data.get("decision"):
            details.append(_labelled(REVIEW_DECISIONS, data["decision"]))
        if data.get("cause"):
            details.append(gettext(REVIEW_CAUSES.get(data["cause"], data["cause"])))
        events.append(
            {
                "version": entry["version"],
                "label": gettext(entry["label"]) if entry["label"] else entry["type"],
                "occurred_at": entry["occurred_at"],
                "recorded_at": entry["recorded_at"],
                "detail": " · ".join(d for d in details if d),
            }
        )
    return {
        "identity": identity,
        "nibs": nibs,
        "deciles": _deciles(household, answers),
        "eligibility": eligibility,
        "benefits": benefits,
        "reviews": reviews,
        "objections": objections,
        "events": events,
    }


def _sources(household_id: str) -> dict[str, Any] | None:
    """What each data source says beside the register (None: not in that view yet)."""
    try:
        return reconciliation.side_by_side(current_actor(), household_id)
    except NotFound:
        return None


def _render_household(household_id: str, member_codes: dict | None = None, status: int = 200):
    wanted = _wanted_version()
    row, pending, wanted = _household_view(household_id, wanted)
    access_log.record_households(
        current_actor(), "ui", [row or household_id], access_log.ui_reason()
    )
    errors, other_errors = _split_errors(member_codes or {}, MEMBER_FIELDS)
    values = request.form if member_codes else {}
    try:
        record = services().casework.get_household(household_id)
    except NotFound:
        record = None
    sections = household_sections(household_id, record) if row and record else None
    sources = _sources(household_id) if row else None
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
            household_commands=household_commands(household_id),
            # a head who died or left: the way to choose the new one, for who may
            change_head_url=url_for(".command_page", name="ChangeHead", household_id=household_id)
            if may_issue(current_actor().role, "ChangeHead")
            else None,
            before_nik=help_before_nik(household_id, record) if record else [],
            # members whose relationship is still relative to a former head (ChangeHead)
            relationship_review=set(getattr(record, "relationships_to_review", ()) or ()),
            correct_member_url=url_for(
                ".command_page", name="CorrectMember", household_id=household_id
            )
            if may_issue(current_actor().role, "CorrectMember")
            else None,
            sections=sections,
            requests=[
                *just_requested(current_actor(), household_id),
                *request_rows(household_id=household_id, limit=HOUSEHOLD_REQUESTS)[0],
            ]
            if sections
            else [],
            sources=sources,
            source_names=ASSESSMENT_SOURCES,
        ),
        status,
    )


@bp.get("/rumah-tangga/<household_id>")
def household_page(household_id: str):
    household_id = _household_id(household_id)
    require_household_area(household_id)
    if htmx_request.htmx and "poll" in request.args:
        row, pending, wanted = _household_view(household_id, _wanted_version())
        if not pending:
            return _redirect(url_for(".household_page", household_id=household_id))
        poll = int(request.args["poll"]) + 1 if _COUNT.fullmatch(request.args["poll"]) else 1
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
    require_household_area(household_id)  # the page it answers with shows the household
    try:
        payload = {**form_payload(request.form), "household_id": household_id}
        stored = run_command(services().casework, "AddMember", payload, current_actor(), "ui")
    except Invalid as invalid:
        codes = invalid.codes
    except NotFound:
        abort(404)
    except DomainError as error:
        codes = {error.field: [error.code]}
    else:
        flash(text("member.added"), "success")
        return _redirect(
            url_for(".household_page", household_id=household_id, versi=stored.version)
        )
    if _partial_for("member-form"):
        row = shown(get_household(services().views, household_id))
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
    offered = kecamatan_within(kelurahan_of(services().casework, current_actor()))
    chosen = _offered(offered, values.get("kecamatan", "")) if values.get("kecamatan") else None
    return {
        "values": values,
        "errors": errors,
        "other_errors": other_errors,
        "kecamatan_list": offered,
        "kecamatan_options": [(k.name, k.name) for k in offered],
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
        flash(text("register.done"), "success")
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
    try:
        payload = command_payload(command, request.form)
        if command == "AddMember":
            payload.setdefault("household_id", request.form.get("household_id", ""))
        load(command, payload)
        codes: dict[str, list[str]] = {}
    except Invalid as invalid:
        codes = invalid.codes
    messages = translate({field: codes.get(field, [])})[field]
    return render_template("_field_messages.html", messages=messages)


@bp.get("/wilayah/kelurahan")
def kelurahan_options():
    offered = kecamatan_within(kelurahan_of(services().casework, current_actor()))
    return render_template(
        "_kelurahan_select.html",
        values={},
        errors={},
        kecamatan_list=offered,
        chosen_kecamatan=_offered(offered, request.args.get("kecamatan", "")),
    )


def _offered(offered: tuple[regions.Kecamatan, ...], asked: str) -> regions.Kecamatan | None:
    """The kecamatan asked as the person's forms offer it (a case worker's: only their
    kelurahan in it); None when not known or not offered."""
    found = find_kecamatan(asked)
    return next((kec for kec in offered if found and kec.code == found.code), None)


# --- system status ----------------------------------------------------------------------


def _with_state(entry: Mapping[str, Any], detail: str) -> str:
    """A status row's detail, led by what is wrong when its component is stopped or stuck
    (the relay, or the runners applying a view) and since when, in WIB."""
    if entry.get("state") not in ("stopped", "stuck"):
        return detail
    since = moment_text(entry.get("since"), seconds=True)
    return f"{text('health.relay_' + entry['state']) % {'since': since}}; {detail}"


def status_rows(found: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, entry in found.items():
        if name == "agencies" and not entry.get("topics"):
            continue  # no agency topic yet: nothing to show
        if name == "store":
            label, detail = (
                text("health.store"),
                f"{number_text(entry.get('events', 0))} {text('health.events')}",
            )
        elif name == "relay":
            label = text("health.relay")
            detail = _with_state(
                entry, f"{number_text(entry.get('published', 0))} {text('health.published')}"
            )
        elif name.startswith("projection:"):
            view = name.split(":", 1)[1]
            label = (
                text(f"view.{view}")
                if f"view.{view}" in TEXT
                else f"{text('health.projection')} {view}"
            )
            # the runners' state, worded as the relay's
            detail = _with_state(
                entry, f"{number_text(entry.get('applied', 0))} {text('health.applied')}"
            )
            rebuild = entry.get("rebuild")
            if rebuild:  # a rebuild running (projections.status.rebuild_state)
                shown = filling.progress_text(rebuild["percent"], rebuild["seconds_left"])
                detail = f"{text('health.rebuilding') % {'progress': shown}}; {detail}"
        elif name == "dlq":
            label, detail = (
                text("health.dlq"),
                f"{number_text(entry.get('count', 0))} {text('health.messages')}",
            )
        elif name.startswith("agency:"):
            label = text("health.agency_topic") % {"agency": name.split(":", 1)[1]}
            detail = text("health.agency_topic_detail")
        elif name == "agencies":  # the topics counted together (app.health)
            label = text("health.agency_topics") % {"count": number_text(entry["topics"])}
            detail = text("health.agency_topic_detail")
        else:
            label, detail = name, ""
        lag = entry.get("lag")
        if name == "dlq" and "count" in entry:
            lag = entry["count"]
        rows.append(
            {
                "name": name,
                "label": label,
                "error": "error" in entry or entry.get("state") in ("stopped", "stuck"),
                "position": entry.get("position"),
                "lag": lag,
                "bar": min(lag, LAG_LIMIT) if isinstance(lag, int) else None,
                "bar_max": 1 if name == "dlq" else LAG_LIMIT,
                "detail": text("health.unreachable") if "error" in entry else detail,
            }
        )
    return rows


@bp.get("/status")
def status_page():
    svc = services()
    # the agencies by their codes to who reads the agencies page, as /healthz
    names = read_policy.allows("agency_pages.page", web_actor().role)
    status, found, _ = snapshot(svc.store, svc.views, names)
    context = {
        "status": status,
        "rows": status_rows(found),
        "lag_limit": LAG_LIMIT,
        "relay_gone": int(RELAY_GONE_SECONDS),
        "relay_stuck": int(STUCK_SECONDS),
    }
    if _partial_for("status-table"):
        return render_template("_status_table.html", **context)
    return render_template("status.html", active="status", **context)


# --- every command as a plain form --------------------------------------------------------

# The commands page: groups in the order caseworkers meet them (domain/commands.py).
COMMAND_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (group.value, tuple(c.name for c in CATALOGUE if c.group is group)) for group in Group
)
# Commands with a page of their own (richer than the generic form).
_OWN_PAGES = {"RegisterHousehold": "web.register_page"}
_LONG_TEXT = 300
_LISTED_MEMBERS_TEXT = 4000  # a family of up to about 100 members, one per line


def _label(key: str, fallback: str) -> str:
    """Interface text in the UI language; the English `fallback` when there is none."""
    entry = TEXT.get(key)
    return fallback if entry is None else str(entry)


def field_label(path: str, command: str = "") -> str:
    """The label of a field: the command's own wording, the path's, the leaf's, or English."""
    leaf = path.rsplit(".", 1)[-1]
    label = _label(f"field.{path}", _label(f"field.{leaf}", leaf.replace("_", " ").capitalize()))
    return _label(f"field.{command}.{path}", label) if command else label


@bp.app_template_filter("command_title")
def _command_title_filter(name: str) -> str:
    return command_title(name)


@bp.app_template_filter("field_label")
def _field_label_filter(path: str) -> str:
    return field_label(path)


def option_label(path: str, value: str) -> str:
    leaf = path.rsplit(".", 1)[-1]
    return _label(f"opt.{leaf}.{value}", _label(f"opt.{value}", value))


def command_title(name: str) -> str:
    return gettext(COMMANDS_DECLARED[name].title) if name in COMMANDS_DECLARED else name


def command_help(name: str) -> str:
    return gettext(COMMANDS_DECLARED[name].help)


@dataclass(frozen=True)
class StatedRow:
    """One member in a ChangeHead form: their relationship to the new head, `chosen` (the
    one derived from the family card, or what was sent), or none where the card leaves it in
    doubt (`in_doubt`: the form asks for a choice)."""

    index: int
    nik: str
    name: str
    before: str  # the relationship to the former head, in words
    chosen: str
    in_doubt: bool

    @property
    def field(self) -> str:
        return f"relationships.{self.index}.relationship"


@dataclass(frozen=True)
class FormField:
    """One input of a command form, named by its dot path."""

    name: str
    label: str
    kind: str  # text | textarea | date | number | decimal | select | multiselect | list
    required: bool
    options: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    maxlength: int | None = None
    # for an input the schema leaves optional that another answer makes required: when
    # (shown instead of "optional")
    required_when: str = ""
    rows: tuple[StatedRow, ...] = ()  # kind "relationships": one select per member

    @property
    def section(self) -> str:
        return self.name.rpartition(".")[0]


Choices = dict[str, tuple[tuple[str, str], ...]]


_HOUSEHOLD_LISTS = frozenset(
    {"nik", "benefit_id", "enrollment_id", "objection_id", "review_id", "members", "new_head_nik"}
)


# the commands whose member is picked among the deceased too (a deceased member's recorded
# facts are corrected: CorrectMember)
_DECEASED_PICKED = frozenset({"CorrectMember"})


def pick_lists(
    household_id: str | None,
    fields: frozenset[str] | set[str],
    person_id: str | None = None,
    deceased_too: bool = False,
) -> Choices:
    """What a form with these fields offers to pick instead of a typed id: the programs, the
    pending approvals, the provisional persons and the running benefits of the one chosen
    (`person_id`: a benefit before a NIK) and, for a known household, its living members, its
    benefits, its enrolments, its open objections and its open reviews (by the field each
    fills). Only what the form asks for is read."""
    casework = services().casework
    lists: Choices = {}
    if "program" in fields:
        programs = casework.list_programs()
        if "person_id" in fields:  # help before a NIK: only the programs that give it
            programs = [p for p in programs if p.rules.get("serves_without_nik")]
        if "enrolled_on" in fields:  # EnrollEmpowerment: only the empowerment programs
            programs = [p for p in programs if p.kind == "empowerment"]
        lists["program"] = tuple((p.code, f"{p.code} — {p.name}") for p in programs)
    if "person_id" in fields:
        lists["person_id"] = tuple(
            (str(p.id), _provisional_text(p))
            for p in casework.provisional_persons()
            if reads_provisional(p.kecamatan)  # a case worker: of their kecamatan only
        )
        if "benefit_id" in fields:
            lists["benefit_id"] = _person_benefits(casework, person_id)
    if "approval_id" in fields:
        lists["approval_id"] = tuple(
            (
                str(c.id),
                f"{command_title(c.command)} · {moment_text(c.requester_meta.get('occurred_at'))}",
            )
            for c in casework.pending_approvals()
        )
    if "household_id" not in fields or not _HOUSEHOLD_LISTS & fields:
        return lists
    household = _readable_household(household_id)
    if household is None:
        return lists
    names = {nik: member["name"] for nik, member in household.members.items()}

    def period(start: str, end: str | None) -> str:
        return f"{date_text(start)} – {date_text(end)}" if end else date_text(start)

    living = tuple(
        (nik, f"{m['name']} ({text('rel.' + m['relationship'])})")
        for nik, m in household.members.items()
        if m["status"] == "active" and not m.get("erased")
    )
    lists["members"] = lists["new_head_nik"] = living  # SplitFamily: who moves
    lists["nik"] = living
    if deceased_too:
        lists["nik"] += tuple(
            (
                nik,
                f"{m['name']} ({text('rel.' + m['relationship'])},"
                f" {_labelled(MEMBER_STATUS_LABELS, 'deceased').lower()})",
            )
            for nik, m in household.members.items()
            if m["status"] == "deceased" and not m.get("erased")
        )
    lists["benefit_id"] = tuple(
        (
            b["benefit_id"],
            f"{b['program']} · {names.get(b['nik'], '')} · "
            f"{period(b['period_start'], b['period_end'])} ({text('status.' + b['status'])})",
        )
        for b in household.benefits.values()
    )
    lists["enrollment_id"] = tuple(
        (
            e["enrollment_id"],
            f"{e['program']} · {names.get(e['nik'], '')} · {date_text(e['enrolled_on'])}",
        )
        for e in household.enrollments.values()
        if e["outcome"] is None
    )

    def grounds(text: Any) -> str:  # enough of them to tell two objections of a day apart
        text = "" if is_erased(text) else " ".join(str(text or "").split())
        return text if len(text) <= 60 else text[:59] + "…"

    lists["objection_id"] = tuple(
        (
            o["objection_id"],
            " · ".join(
                part
                for part in (
                    f"{date_text(o['filed_on'])} → {date_text(o['deadline'])}",
                    grounds(o.get("grounds")),
                )
                if part
            ),
        )
        for o in household.objections.values()
        if o["status"] == "open"
    )
    lists["review_id"] = tuple(
        (r["review_id"], _review_label(b, r, names.get(b["nik"], "")))
        for b in household.benefits.values()
        for r in sorted(b.get("reviews") or [], key=lambda r: r["deadline"])
        if r["status"] == "open"
    )
    return lists


def _readable_household(household_id: str | None) -> Any:
    """The household a form is about, or None: not a household's id, none such, or one the
    person may not read (a program manager's form, a household outside a case worker's area)."""
    if not household_id or not _is_uuid(household_id):
        return None
    try:
        household = services().casework.get_household(household_id)
    except NotFound:
        return None
    return household if reads_household(household.kelurahan) else None


def stated_rows(household_id: str | None, values: Mapping[str, str]) -> tuple[StatedRow, ...]:
    """A ChangeHead form's members, one row each but the new head chosen (`values["nik"]`),
    with their relationship to the new head: the one sent for this head, else the one the
    family card leaves no doubt about (Household.head_change_relationships), else none (in
    doubt). None before an active member other than the head is chosen."""
    household = _readable_household(household_id)
    new_head = values.get("nik", "")
    if household is None or new_head == household.head_nik:
        return ()
    if new_head not in household.active_niks():
        return ()
    derived, _ = household.head_change_relationships(new_head)
    sent = values.get("relationships_for") == new_head  # not chosen for another head
    rows: list[StatedRow] = []
    for nik, member in household.members.items():
        if nik == new_head or member["status"] != "active" or member.get("erased"):
            continue
        index, chosen = len(rows), derived.get(nik, "")
        if sent and values.get(f"relationships.{index}.nik") == nik:
            chosen = values.get(f"relationships.{index}.relationship", "")
        before = text("rel." + member["relationship"])
        rows.append(StatedRow(index, nik, member["name"], before, chosen, nik not in derived))
    return tuple(rows)


def _review_label(benefit: dict[str, Any], review: dict[str, Any], name: Any) -> str:
    """A benefit's review as a form's list and an approval say it: program, recipient, cause
    and deadline."""
    deadline = _label("field.deadline", "Deadline")
    name = "" if is_erased(name) else name
    return (
        f"{benefit['program']} · {name} · "
        f"{gettext(REVIEW_CAUSES.get(review['cause'], review['cause']))} · "
        f"{deadline} {date_text(review['deadline'])}"
    )


def _provisional_text(person: Any) -> str:
    """A person registered without papers as a form's list and an approval say them."""
    return f"{person.name} · {person.kecamatan} · {date_text(person.created_on.date())}"


def _person_benefits(casework: Any, person_id: str | None) -> tuple[tuple[str, str], ...]:
    """The running (active or suspended) benefits of the provisional person chosen; none
    until one is chosen (the form reloads its lists when the person changes)."""
    if not person_id or not _is_uuid(person_id):
        return ()
    try:
        person = casework.get_provisional_person(person_id)
    except NotFound:
        return ()
    if not reads_provisional(person.kecamatan):
        return ()
    return tuple(
        (
            b["benefit_id"],
            f"{b['program']} · {date_text(b['period_start'])} – {date_text(b['period_end'])}"
            f" ({text('status.' + b['status'])})",
        )
        for b in person.benefits.values()
        if b["status"] != "terminated"
    )


# The inputs whose hint says how to type them (16 digits...), which a list makes moot.
_TYPED_FORMATS = frozenset({"nik", "objector_nik", "benefit_id", "household_id"})

# Inputs the schema leaves optional that one answer makes required (the schema's own check
# names them when they are missing): the form says when, not "optional".
REQUIRED_WHEN = {
    "arrival.arrived_on": N_("required for pindah datang"),
    "arrival.origin_region_code": N_("required for pindah datang"),
    "objector_kelurahan": N_("required when the objector is not in the register"),
}


def _form_field(
    command: str,
    path: str,
    field: fields.Field,
    required: bool,
    lists: Choices | None = None,
    rows: tuple[StatedRow, ...] = (),
) -> FormField:
    # a field may carry its own label (an English msgid) beside its schema
    title = field.metadata.get("title")
    label = gettext(title) if title else field_label(path, command)
    leaf = path.rsplit(".", 1)[-1]
    hint = _label(f"hint.{command}.{leaf}", _label(f"hint.{leaf}", ""))
    dated_by = getattr(COMMANDS_DECLARED.get(command), "happened_on", None)
    if path == "occurred_at" and dated_by:
        # left empty, the events count from the date the command carries (Casework.execute)
        hint = gettext(
            "Leave empty: it counts from %(field)s (the start of that day, WIB)."
            " Format: 2025-04-21T09:00:00+07:00.",
            field=field_label(dated_by, command),
        )
    common = {"name": path, "label": label, "required": required, "hint": hint}
    if path in REQUIRED_WHEN:
        common["required_when"] = gettext(REQUIRED_WHEN[path])
    # a source's listing names its own members, one per line (ListedMembers): never picked
    # from the household's, as a split's movers are
    picked = None if isinstance(field, ListedMembers) else (lists or {}).get(path)
    if picked is not None:  # chosen from a list: a format's hint (16 digits...) does not apply
        kind = "multiselect" if isinstance(field, NikList) else "select"
        if leaf in _TYPED_FORMATS:
            common["hint"] = _label(f"hint.{command}.{leaf}", "")
        return FormField(kind=kind, options=picked, **common)
    if isinstance(field, StatedRelationships):  # one select per member (ChangeHead)
        options = tuple((value, option_label("relationship", value)) for value in RELATIONSHIPS)
        return FormField(kind="relationships", options=options, rows=rows, **common)
    if isinstance(field, OccurredAt):
        return FormField(kind="datetime", **common)
    if isinstance(field, Choice):
        options = tuple((value, option_label(path, value)) for value in field.choices)
        return FormField(kind="select", options=options, **common)
    if isinstance(field, Flag):
        options = (("true", _label("form.yes", "Yes")), ("false", _label("form.no", "No")))
        return FormField(kind="select", options=options, **common)
    if isinstance(field, Kecamatan):
        return FormField(
            kind="select", options=tuple((k.name, k.name) for k in KECAMATAN), **common
        )
    if leaf in ("kelurahan", "objector_kelurahan") and type(field) is fields.String:
        # a place's, or where an objector lives: from the city's list
        options = tuple(
            (kel.name, f"{kel.name} ({kec.name})") for kec in KECAMATAN for kel in kec.kelurahan
        )
        return FormField(kind="select", options=options, **common)
    if isinstance(field, (Day, BirthDate)):
        return FormField(kind="date", **common)
    if isinstance(field, (WholeNumber, fields.Integer)):
        return FormField(kind="number", **common)
    if isinstance(field, Coordinate):
        return FormField(kind="decimal", **common)
    if isinstance(field, CodeList):
        return FormField(kind="list", **{**common, "hint": hint or _label("hint.codes", "")})
    if isinstance(field, FieldPaths):  # an agreement's fields: one event type per line
        return FormField(kind="textarea", maxlength=_LISTED_MEMBERS_TEXT, **common)
    if isinstance(field, ListedMembers):  # one member per line
        return FormField(kind="textarea", maxlength=_LISTED_MEMBERS_TEXT, **common)
    length = getattr(field, "max_length", None)
    if isinstance(field, (Text, OptionalText)) and length and length > _LONG_TEXT:
        return FormField(kind="textarea", maxlength=length, **common)
    return FormField(kind="text", maxlength=length, **common)


def form_fields(
    name: str, lists: Choices | None = None, rows: tuple[StatedRow, ...] = ()
) -> tuple[list[FormField], list[FormField]]:
    """(the command's own inputs, the inputs every command shares), nested ones flattened;
    `lists`: the fields to pick from a list (`pick_lists`); `rows`: a ChangeHead's members
    (`stated_rows`)."""
    schema = COMMANDS[name].schema()
    own, required_shared, shared = [], [], []
    for path, field in walk(schema):
        required = field.required and _parents_required(schema, path)
        if path not in COMMON_FIELDS:
            target = own
        else:  # a shared input the command requires (RequestErasure's reason): after its own
            target = required_shared if field.required else shared
        target.append(_form_field(name, path, field, required, lists, rows))
    return own + required_shared, shared


def _parents_required(schema: Any, path: str) -> bool:
    """Whether every schema a nested field sits in is itself required."""
    for part in path.split(".")[:-1]:
        field = schema.fields[part]
        if not field.required:
            return False
        schema = field.schema
    return True


def command_payload(name: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The command as the API would receive it from a form: lists are typed comma-separated."""
    payload = form_payload(form)
    for path, field in walk(COMMANDS[name].schema()):
        if isinstance(field, OccurredAt) and isinstance(payload.get(path), str):
            payload[path] = _wib_moment(payload[path])
        if isinstance(field, NikList) and hasattr(form, "getlist"):
            chosen = [v for v in form.getlist(path) if v.strip()]  # a multiple choice list
            if len(chosen) > 1:
                payload[path] = ",".join(chosen)
        if isinstance(field, StatedRelationships):
            _stated_list(payload, path, form)
        if not isinstance(field, (CodeList, NikList)):
            continue
        *parents, leaf = path.split(".")
        target = payload
        for part in parents:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict) and isinstance(target.get(leaf), str):
            target[leaf] = [code for code in target[leaf].replace(";", ",").split(",") if code]
    return payload


def _stated_list(payload: dict[str, Any], path: str, form: Mapping[str, str]) -> None:
    """A form's rows of relationships (`relationships.0.nik`, `relationships.0.relationship`,
    ...) as the API's list, in the rows' order so that an error names the row it is about;
    chosen for another head than the one sent (the head changed without the form's rows
    following), they are refused rather than stated for the wrong head."""
    rows = payload.get(path)
    if not isinstance(rows, dict) or not all(key.isdigit() for key in rows):
        return
    if form.get("relationships_for") != payload.get("nik"):
        raise Invalid({path: ["relationship.other_head"]})
    payload[path] = [rows[key] for key in sorted(rows, key=int)]


_LOCAL_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")


def _wib_moment(value: str) -> str:
    """A browser's datetime-local value (no zone) as the RFC 3339 moment it means in WIB."""
    text_ = value.strip()
    if not _LOCAL_MOMENT.fullmatch(text_):
        return value  # anything else goes to the schema as typed, which explains the format
    return f"{text_}:00+07:00" if len(text_) == 16 else f"{text_}+07:00"


def _success_text(name: str, outcome: Any) -> dict[str, str]:
    """What a saved form says (base.html shows `text`, then `label` as a link to `link` when
    given): where to see what was saved, never its bare id."""
    if outcome.status == 202:
        approval = outcome.body["approval_id"]
        return {
            "text": text("command.pending"),
            "link": f"{url_for('.approvals_page')}#request-{approval}",
            "label": gettext("View the request"),
        }
    said = {"text": gettext("Stored: %(command)s.", command=command_title(name))}
    if replaced := replaced_text(outcome):
        said["replaced"] = replaced
    household_id = request.form.get("household_id", "").strip()
    person_id = outcome.body.get("person_id")
    if _is_uuid(household_id) and may_use("web.household_page"):
        # the family is named when the message is shown (flash_text), never kept with it
        said |= {"command": name, "household_id": household_id}
        said |= _household_link(household_id, outcome)
    elif person_id and may_issue(current_actor().role, "GrantProvisionalBenefit"):
        said["link"] = url_for(".command_page", name="GrantProvisionalBenefit", person_id=person_id)
        said["label"] = gettext("Help this person before a NIK")
    return said


def flash_text(said: Mapping[str, str]) -> str:
    """A message's words as base.html shows them: a stored command's names what was stored
    and for which family, read as the message is shown, so that neither the session cookie
    nor a form's record of its first sending (_claim_form) keeps a name; then what it replaced
    of the changes recorded ahead, and its `note`."""
    words = said.get("text", "")
    command, household_id = said.get("command"), said.get("household_id")
    family = (
        _family(household_id) if command in COMMANDS and may_use("web.household_page") else None
    )
    if family is not None:
        words = gettext(
            "Stored: %(command)s, for the household of %(head)s, %(kelurahan)s.",
            command=command_title(command),
            head=family["head"] or text("person.erased"),
            kelurahan=family["row"]["kelurahan"],
        )
    return " ".join(w for w in (words, said.get("replaced"), said.get("note")) if w)


bp.add_app_template_global(flash_text, "flash_text")


def _household_link(household_id: str, outcome: Any | None = None) -> dict[str, str]:
    """A saved message's link to the household page: a change the household stored, at its
    entry in the page's timeline (numbered by version); anything else, the page."""
    link = url_for(".household_page", household_id=household_id)
    if outcome is not None and str(outcome.stream_id) == household_id:
        return {
            "link": f"{link}#kejadian-{outcome.version}",
            "label": gettext("See it in the household's timeline"),
        }
    return {"link": link, "label": gettext("View the household")}


def _command_context(
    name: str, values: Mapping[str, str], codes: dict[str, list[str]], messages: dict | None = None
):
    paths = {path for path, _ in walk(COMMANDS[name].schema())}
    lists = pick_lists(
        values.get("household_id"),
        paths,
        values.get("person_id"),
        deceased_too=name in _DECEASED_PICKED,
    )
    rows = stated_rows(values.get("household_id"), values) if "relationships" in paths else ()
    own, shared = form_fields(name, lists, rows)
    # the version is the server's check (a hidden input, _pin_version), not the person's to
    # read or type: an error about it is said above the form
    shared = [f for f in shared if f.name != "expected_version"]
    visible = tuple(f.name for f in own + shared) + tuple(
        path for row in rows for path in (row.field, f"relationships.{row.index}.nik")
    )
    errors, other_errors = _split_errors(codes, visible, messages)
    sections: list[tuple[str, list[FormField]]] = []
    for f in own:
        if not sections or sections[-1][0] != f.section:
            sections.append((f.section, []))
        sections[-1][1].append(f)
    household_id = values.get("household_id", "")
    form_key = values.get("form_key", "")
    family = _family(household_id) if may_use("web.household_page") else None
    return {
        "name": name,
        # this opening of the form: sent twice unchanged, it is saved once (_form_guard)
        "form_key": form_key if _is_uuid(form_key) else str(uuid.uuid4()),
        "title": command_title(name),
        "intro": command_help(name),
        "needs_approval": COMMANDS[name].needs_approval,
        "sections": sections,
        "shared": shared,
        "values": values,
        "errors": errors,
        "other_errors": other_errors,
        "open_shared": any(values.get(f.name) for f in shared)
        or any(f.name in errors for f in shared),
        "household_id": household_id if _is_uuid(household_id) else None,
        # which family the form is about, named (its id alone, a UUID, said nothing)
        "family": family,
        # a form about a family it names carries the household's id hidden; an id refused
        # (changed by hand, a household gone) is shown as a field again, its error under it
        "household_fixed": family is not None and "household_id" not in errors,
        # the field whose change reloads the form's lists (the person's benefits, the
        # members' relationships to the new head)
        "reloads": "person_id"
        if {"person_id", "benefit_id"} <= paths
        else ("nik" if "relationships" in paths else None),
        "section_label": lambda section: field_label(section),
    }


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _pins_version(name: str) -> bool:
    """Whether the form of this command, opened for a household, carries the household's
    version as `expected_version`, so that a save made after someone else changed it is 409
    instead of silently overwriting: yes for a change carried out at once, not for one that
    waits for a supervisor's approval (it is decided on the household as it is then)."""
    declaration = COMMANDS[name].declaration
    return (
        "household_id" in declaration.fields
        and not declaration.needs_approval
        and declaration.approval_when is None
    )


def _pin_version(name: str, values: Any) -> None:
    """Fill in `expected_version` with the version of the household the form is about (the
    store's, as its lists are), when the command pins it (`_pins_version`)."""
    household_id = values.get("household_id", "")
    if not _pins_version(name) or not _is_uuid(household_id):
        return
    try:
        values["expected_version"] = str(services().casework.get_household(household_id).version)
    except NotFound:
        pass  # the form says so when sent


@bp.get("/perintah")
def commands_page():
    """Every command the person's role may send (`may_issue`: a program manager is offered
    no membership command, a case worker no program or approval) and whose form it may open
    (a command with a page of its own is left out for a role that page refuses)."""
    role = web_actor().role
    groups = [
        (
            gettext(GROUP_TITLES[Group(group)]),
            [
                {
                    "name": name,
                    "title": command_title(name),
                    "help": command_help(name),
                    "needs_approval": COMMANDS[name].needs_approval,
                    "url": url_for(_OWN_PAGES[name])
                    if name in _OWN_PAGES
                    else url_for(".command_page", name=name),
                }
                for name in names
                if may_issue(role, name) and may_use(_OWN_PAGES.get(name, "web.command_page"))
            ],
        )
        for group, names in COMMAND_GROUPS
    ]
    groups = [(title, commands) for title, commands in groups if commands]
    return render_template("commands.html", active="commands", groups=groups)


@bp.get("/perintah/<name>")
def command_page(name: str):
    if name not in COMMANDS:
        abort(404)
    if not may_issue(current_actor().role, name):
        # a form the role could never send (a case worker's ApproveChange listed every
        # pending request of the city): refused as the list of commands leaves it out
        abort(403)
    values = {key: value for key, value in request.args.items() if key != "lang"}
    household_id = values.get("household_id", "")
    area = read_policy.area_of(request.endpoint, current_actor().role)
    if area is read_policy.Area.KELURAHAN and _is_uuid(household_id):
        require_household_area(household_id)  # a form about a household elsewhere
    if not values.get("expected_version"):
        _pin_version(name, values)
    return render_template("command.html", active="commands", **_command_context(name, values, {}))


def _form_guard(name: str) -> tuple[str, str] | None:
    """The key under which this sending of a command form is saved once: the form's own key
    (a fresh one each time the form is opened) and what it holds, so that the same form sent
    again unchanged (a double click, the back button and Save again) is not stored twice,
    while the form changed and sent again is a new command. None for a form without a key."""
    form_key = request.form.get("form_key", "")
    if not _is_uuid(form_key):
        return None
    sent = sorted((k, v) for k, v in request.form.items(multi=True) if k != "csrf_token")
    digest = idempotency.request_hash(name, sent)
    return f"web:{form_key}:{digest[:32]}", digest


def _claim_form(guard: tuple[str, str]) -> Response | None:
    """None when this form may be saved (its key is now claimed); when it was sent before,
    the first sending's outcome (waiting a moment for one still being saved): its message,
    with a note that it was saved once, and the page it led to."""
    store, actor_id = services().store, current_actor().id
    deadline = time.monotonic() + REPEAT_WAIT_SECONDS
    while True:
        try:
            kept = idempotency.claim(store, actor_id, *guard)
        except (idempotency.InProgress, idempotency.KeyReused):
            kept = None
            if time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            flash(text("command.sent_twice_pending"), "error")
            return _redirect(request.path)
        if kept is None:
            return None
        first = json.loads(kept.body)
        said = first["message"]
        if isinstance(said, str):  # kept before the messages carried a link
            said = {"text": said}
        flash({**said, "note": text("command.sent_twice")}, "success")
        return _redirect(first["location"])


@bp.post("/perintah/<name>")
def command_submit(name: str):
    if name not in COMMANDS:
        abort(404)
    guard = _form_guard(name)
    if guard is not None:
        repeated = _claim_form(guard)
        if repeated is not None:
            return repeated
    try:
        return _submit_command(name, guard)
    finally:  # not saved (errors to fix, a failure): the same form may be sent again
        if guard is not None and not g.get("form_saved"):
            idempotency.release(services().store, current_actor().id, guard[0])


def _submit_command(name: str, guard: tuple[str, str] | None) -> Any:
    status = 422
    messages = None
    try:
        outcome = run_command(
            services().casework, name, command_payload(name, request.form), current_actor(), "ui"
        )
    except Invalid as invalid:
        codes = invalid.codes
    except DomainError as error:
        body = domain_error_body(error)  # a grant's failing rules: every one, worded
        codes, messages = body["codes"], body["errors"]
        status = domain_status(error)
        if error.code == "version.stale" and _pins_version(name):
            # changed since the form was opened: said above the form, what was typed kept,
            # the version now current filled in for a save made knowingly
            codes = {"form": ["form.household_changed"]}
            messages = translate(codes)
            values = request.form.copy()
            _pin_version(name, values)
            context = _command_context(name, values, codes, messages)
            return render_template("command.html", active="commands", **context), status
    else:
        message = _success_text(name, outcome)
        flash(message, "success")
        if outcome.status == 202:
            remember_request(str(outcome.body["approval_id"]))
            location = url_for(".approvals_page")
        else:
            household_id = request.form.get("household_id", "").strip()
            keep = {"household_id": household_id} if _is_uuid(household_id) else {}
            location = url_for(".command_page", name=name, **keep)
        if guard is not None:  # the same form sent again is told this, storing nothing
            body = json.dumps({"message": message, "location": location})
            idempotency.keep(services().store, current_actor().id, guard[0], outcome.status, body)
            g.form_saved = True
        return _redirect(location)
    context = _command_context(name, request.form, codes, messages)
    return render_template("command.html", active="commands", **context), status


def household_commands(household_id: str) -> list[tuple[str, str]]:
    """(title, form URL with the household filled in) of every command about one household
    the person's role may send (`may_issue`, as `/perintah` offers them): no form that the
    command path would refuse on saving."""
    role = current_actor().role
    return [
        (command_title(name), url_for(".command_page", name=name, household_id=household_id))
        for _, names in COMMAND_GROUPS
        for name in names
        if name != "AddMember"
        and "household_id" in COMMANDS[name].schema().fields
        and may_issue(role, name)
    ]


# --- the supervisors' queue ---------------------------------------------------------------


def _open_grant_rules(cmd: dict[str, Any]) -> list[tuple[str, str]]:
    """The rules of a grant its approver decides (their fact unknown: no decile, or sources
    that disagree), each with what is known (domain.eligibility_rules.open_rules)."""
    casework = services().casework
    try:
        household = casework.get_household(cmd["household_id"])
        program = casework.get_program(cmd["program"])
    except (NotFound, KeyError):
        return []
    return [
        (gettext("To decide: %(rule)s", rule=rule_label(rule)), reason_detail(detail))
        for rule, detail in open_rules(household, cmd, program, cmd["period_start"], casework)
    ]


def _family(household_id: Any) -> dict[str, Any] | None:
    """Which family a request is about, for who reads that household (a case worker in their
    kelurahan; never a program manager): the register's row as shown, its head's name (none
    for an erased head) and its KK number masked as this page masks NIKs."""
    if not isinstance(household_id, str) or not _is_uuid(household_id):
        return None
    row = get_household(services().views, household_id)
    if row is None or not reads_household(row["kelurahan"]):
        return None
    found = shown(row) or {}
    head = head_of(found)
    kk = found.get("kk_number")
    return {
        "row": found,
        "head": head["name"] if head and not head.get("erased") else None,
        "kk_number": shown_nik(kk) if kk else None,
    }


def _stored_household(household_id: Any) -> Any:
    """The household a request names, from the store, whoever reads the request (to say its
    kelurahan, no personal data); else None."""
    if not isinstance(household_id, str) or not _is_uuid(household_id):
        return None
    try:
        return services().casework.get_household(household_id)
    except NotFound:
        return None


def _request_household(family: dict[str, Any] | None, household_id: Any) -> Any:
    """The household a request is about, from the store, for who reads it (`_family` said
    so), to name its members and benefits; else None."""
    return None if family is None else _stored_household(household_id)


def _household_text(household: Any) -> str:
    """The household a request is about, for who may not read it: its kelurahan only (no
    personal data), never its id."""
    if household is None:
        return "—"
    return gettext("A household in %(kelurahan)s", kelurahan=household.kelurahan)


def _member_text(household: Any, nik: str) -> str:
    """A member a request names: the name and the NIK masked (the NIK alone, masked, when the
    household is not read or the name erased)."""
    member = household.members.get(nik) if household is not None else None
    if member is None or is_erased(member.get("name")):
        return shown_nik(nik)
    return f"{member['name']} ({shown_nik(nik)})"


def _benefit_text(holder: Any, benefit_id: str) -> str:
    """A benefit a request names: its program, recipient and period, not its id. `holder`:
    the household, or the person registered without papers, holding it."""
    benefit = holder.benefits.get(benefit_id) if holder is not None else None
    if benefit is None:
        return benefit_id
    recipient = getattr(holder, "members", {}).get(benefit["nik"] or "") or {}
    name = "" if is_erased(recipient.get("name")) else recipient.get("name", "")
    period = f"{date_text(benefit['period_start'])} – {date_text(benefit['period_end'])}"
    return " · ".join(part for part in (benefit["program"], name, period) if part)


def _review_text(household: Any, review_id: str) -> str:
    """A review a request names: its benefit's program and recipient, its cause and
    deadline, not its id."""
    for benefit in household.benefits.values() if household is not None else ():
        for review in benefit.get("reviews") or []:
            if review["review_id"] == review_id:
                recipient = household.members.get(benefit["nik"] or "") or {}
                return _review_label(benefit, review, recipient.get("name", ""))
    return review_id


def _would_replace(change: Any, household: Any) -> list[tuple[str, str]]:
    """A requested termination (TerminateBenefit from its day; DecideReview's `terminate`
    from the day it is approved) replaces the benefit's changes recorded to take effect after
    that day (`with_change`): its card says which, so the supervisor decides knowing it; []
    when none, or for who does not read the household."""
    cmd = change.cmd
    benefit, day = None, today()
    if household is None:
        return []
    if change.command == "TerminateBenefit" and isinstance(cmd.get("benefit_id"), str):
        benefit = household.benefits.get(cmd["benefit_id"])
        day = dt.date.fromisoformat(cmd["effective_date"])
    elif change.command == "DecideReview" and cmd.get("decision") == "terminate":
        try:
            benefit, _ = household.review(cmd.get("review_id"))
        except DomainError:  # the review is gone from the household: nothing to say
            return []
    steps = scheduled_changes(benefit, day) if benefit is not None else []
    if not steps:
        return []
    words = "; ".join(change_words(step) for step in steps)
    return [(gettext("Replaces what was recorded to take effect later"), words)]


def _provisional_person(person_id: Any) -> Any:
    """The person registered without papers a request names, or None."""
    if not isinstance(person_id, str) or not _is_uuid(person_id):
        return None
    try:
        person = services().casework.get_provisional_person(person_id)
    except NotFound:
        return None
    return person if reads_provisional(person.kecamatan) else None


def _approval_row(change: Any) -> dict[str, Any]:
    meta = change.requester_meta
    actor = meta.get("actor") or {}
    family = _family(change.cmd.get("household_id"))
    household = _request_household(family, change.cmd.get("household_id"))
    provisional = _provisional_person(change.cmd.get("person_id"))
    details = []
    for path, field in walk(COMMANDS[change.command].schema()):
        value: Any = change.cmd
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or path in COMMON_FIELDS:
            continue
        if path == "household_id":  # never its id
            if family is None:  # who may read it sees it named and linked in the card's header
                details.append((gettext("Household"), _household_text(_stored_household(value))))
            continue
        label = field_label(path, change.command)
        if isinstance(field, IdentityNumber) and field.kind == "nik":
            nik, value = value, _member_text(household, value)
            # the member by name (and NIK), under a label saying so, not "NIK" above a name
            if value != shown_nik(nik) and label == field_label(path):
                label = gettext("Member")
        elif isinstance(field, NikList) and isinstance(value, list):
            value = [_member_text(household, nik) for nik in value]
        elif path == "benefit_id" and isinstance(value, str):
            value = _benefit_text(household or provisional, value)
        elif path == "review_id" and isinstance(value, str):
            value = _review_text(household, value)
        elif path == "person_id" and provisional is not None:
            value = _provisional_text(provisional)
        if isinstance(field, Choice):
            value = option_label(path, value)
        elif isinstance(field, Day):
            value = date_text(value)
        elif path == "amount" and isinstance(value, int):
            value = rupiah(value)
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) or "—"
        elif isinstance(value, dict):  # an agreement's fields: {event type: [paths]}
            value = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in value.items()) or "—"
        elif isinstance(value, bool):
            value = _label("form.yes" if value else "form.no", str(value))
        details.append((label, value))
    if change.command == "GrantBenefit":
        details += _open_grant_rules(change.cmd)
    details += _would_replace(change, household)
    return {
        "id": str(change.id),
        "command": command_title(change.command),
        "details": details,
        "requester": f"{actor.get('id', '?')} ({role_label(actor.get('role'))})",
        "requester_id": actor.get("id"),
        "requested_at": meta.get("occurred_at"),
        "reason": meta.get("reason"),
        "household_id": change.cmd.get("household_id"),
        "family": family,
    }


# what opened a review, as the queue says it
REVIEW_CAUSES = {
    "nib": N_("NIB registered"),
    "death": N_("death"),
    "verification": N_("field verification"),
    "objection": N_("objection upheld"),
    "moved_out": N_("moved out"),
    "graduation": N_("graduated from empowerment"),
}


def _name_reviews(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each review's family (its head's name, its KK number masked) and the benefit's
    recipient (name, NIK masked), for who reads that household (a case worker in their
    kelurahan; never a program manager); the other rows stay without. The reviews view keeps
    no personal data: the names come from the register view, the households of the page in
    one look-up and their recipients in another. The households named, as shown (for the
    read log)."""
    if not rows or not read_policy.allows("web.household_page", current_actor().role):
        return []
    read, views = household_reader(), services().views
    found = [
        row
        for row in get_households(views, sorted({r["household_id"] for r in rows}))
        if read(row["kelurahan"])
    ]
    if not found:
        return []
    readable = {row["id"] for row in found}
    subjects = recipients(
        views, sorted({r["benefit_id"] for r in rows if r["household_id"] in readable})
    )
    shown_households = disclose_households(services().casework.codec, found)
    families, members = {}, {}
    for raw, household in zip(found, shown_households, strict=True):
        head, kk = head_of(household), household.get("kk_number")
        families[raw["id"]] = {
            "head": head["name"] if head and not head.get("erased") else None,
            "kk_number": shown_nik(kk) if kk else None,
        }
        for kept, shown_member in zip(raw["members"], household["members"], strict=True):
            members[raw["id"], kept["subject"]] = {
                **shown_member,
                "nik": shown_nik(shown_member["nik"]) if shown_member["nik"] else None,
            }
    for row in rows:
        row["family"] = families.get(row["household_id"])
        if row["family"] is not None:
            subject = subjects.get(row["benefit_id"])
            row["recipient"] = members.get((row["household_id"], subject))
    return shown_households


@bp.get("/tinjauan")
def reviews_page():
    """The open benefit reviews by kelurahan, program and deadline (the reviews view). The
    kelurahan is read as the program page reads it (any case, a spelling or its code); one
    the city has not is 422 with the filter's message, not an empty queue."""
    kelurahan, known = _program_kelurahan()
    program = request.args.get("program", "").strip()
    overdue = request.args.get("overdue", "") == "1"
    programs = sorted(p.code for p in services().casework.list_programs())
    filters = {"kelurahan": kelurahan, "program": program, "overdue": overdue}
    if not known:
        page = render_template(
            "reviews.html",
            active="reviews",
            rows=[],
            names=False,
            programs=programs,
            filters=filters,
            kelurahan_error=message("kelurahan.unknown"),
        )
        return page, 422
    rows = open_reviews(
        services().views,
        today().isoformat(),
        kelurahan=kelurahan or None,
        program=program or None,
        overdue=True if overdue else None,
        limit=200,
        **review_scope(current_actor()),  # a case worker's kelurahan, a manager's programs
    )
    # the control to decide only for who may send DecideReview (as the command path decides)
    decides = may_issue(current_actor().role, "DecideReview") and may_use("web.command_page")
    for row in rows:
        row["cause_text"] = gettext(REVIEW_CAUSES.get(row["cause"], row["cause"]))
        row["decide_url"] = (
            url_for(
                ".command_page",
                name="DecideReview",
                household_id=row["household_id"],
                review_id=row["review_id"],
            )
            if decides
            else None
        )
    named = _name_reviews(rows)
    if named:  # the families named are read: in the read log, as the approvals page's
        access_log.record_households(current_actor(), "ui", named, access_log.ui_reason())
    return render_template(
        "reviews.html",
        active="reviews",
        rows=rows,
        names=read_policy.allows("web.household_page", current_actor().role),
        programs=programs,
        filters=filters,
    )


# What a decision's form sends that the person may get wrong, and the short name its error
# gives (the label without "(required)")
DECISION_FIELDS = {"note": N_("Note"), "reason_code": N_("Reason")}


def _decision_errors(codes: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """A decision form's errors by field, each naming the field it concerns. A rejection
    without its note says what the note is for (`approval.note_required`), not only that it
    is required."""
    worded = {}
    for name, found in codes.items():
        if name == "note" and {"field.required", "value.required"} & set(found):
            found = ["approval.note_required"]
        problems = translate({name: list(found)})[name]
        worded[name] = [f"{gettext(DECISION_FIELDS[name])}: {m}" for m in problems]
    return worded


# A request's state, as its requester and the household page say it (projections/approvals.py)
REQUEST_STATES = {
    "pending": N_("Waiting for a decision"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "refused": N_("Refused at approval: it could no longer be carried out"),
}
HOUSEHOLD_REQUESTS = 20  # the most recent requests about a household its page shows


def request_rows(**which: Any) -> tuple[list[dict[str, Any]], bool]:
    """(the requests of one requester or about one household, the most recent first, as the
    pages show them: what was asked, its state, who decided, when, the reason and the note;
    whether more follow). `which`: `requester_id` or `household_id`, `limit`, `offset`. The
    view says which and their state; each one shown is read from the store."""
    limit = which.pop("limit", PAGE_SIZE)
    found = approval_views.requests(services().views, limit=limit + 1, **which)
    casework = services().casework
    rows = []
    for entry in found[:limit]:
        try:
            change = casework.get_pending_change(entry["approval_id"])
        except NotFound:
            continue  # in the view, not (yet) in this store: nothing to show
        rows.append(_request_row(change, entry["decided_at"]))
    return rows, len(found) > limit


def _request_row(change: Any, decided_at: str | None) -> dict[str, Any]:
    """A request as the pages show it (`request_rows`), read from the store."""
    row = _approval_row(change)
    decider = change.decided_by or {}
    status = change.status
    reason_code = getattr(change, "reason_code", None)
    row.update(
        {
            "status": status,
            "status_text": gettext(REQUEST_STATES.get(status, status)),
            "decided_by": f"{decider['id']} ({role_label(decider.get('role'))})"
            if decider.get("id")
            else None,
            "decided_at": decided_at if status != "pending" else None,
            "reason_code": option_label("reason_code", reason_code) if reason_code else None,
            "note": change.note,
            # refused at approval: each failing rule, worded with what it found
            "failed_rules": [
                message(r["code"], r.get("detail")) for r in getattr(change, "reasons", None) or []
            ],
        }
    )
    return row


# The requests this session made that the approvals view may not hold yet (it follows the
# store a moment later): `Permintaan saya` shows them from the store until it does.
JUST_REQUESTED = "just_requested"
JUST_REQUESTED_KEPT = 10


def remember_request(approval_id: str) -> None:
    """A request just made (its command answered 202), for `just_requested`."""
    ids = [i for i in session.get(JUST_REQUESTED, []) if i != approval_id]
    session[JUST_REQUESTED] = [*ids, approval_id][-JUST_REQUESTED_KEPT:]


def just_requested(actor: Actor, household_id: str | None = None) -> list[dict[str, Any]]:
    """The person's requests made in this session that the view does not hold yet (about
    `household_id`, if given), the most recent first, as `request_rows` shows them (read
    from the store, which holds them from the moment they were made); those the view holds
    are forgotten."""
    ids = [i for i in session.get(JUST_REQUESTED, []) if isinstance(i, str) and _is_uuid(i)]
    if not ids:
        return []
    held = approval_views.known(services().views, ids)
    waiting = [i for i in ids if i not in held]
    rows = []
    for approval_id in reversed(waiting):
        try:
            change = services().casework.get_pending_change(approval_id)
        except NotFound:
            waiting.remove(approval_id)
            continue
        if (change.requester or {}).get("id") != actor.id:
            continue  # another person's (signed in anew in this browser): not shown
        if household_id is not None and change.cmd.get("household_id") != household_id:
            continue
        decided = rfc3339(change.modified_on) if change.status != "pending" else None
        rows.append(_request_row(change, decided))
    if waiting != ids:
        session[JUST_REQUESTED] = waiting
    return rows


def _render_approvals(failed: dict[str, Any] | None = None, status: int = 200):
    """The approvals page; `failed`: a decision sent with errors in its form (its approval id,
    decision, the values sent and the errors by field), shown back at those fields."""
    actor = current_actor()
    # a maker (Area.OWN) follows their own requests below; the others see the queue too
    queue = read_policy.area_of(request.endpoint, actor.role) is not read_policy.Area.OWN
    pending = services().casework.pending_approvals() if queue else []
    rows = [_approval_row(change) for change in pending]
    reasons = [(code, option_label("reason_code", code)) for code in REJECTION_REASONS]
    # Only a supervisor decides, and never on their own request (domain/approval.py).
    for row in rows:
        row["own"] = row["requester_id"] == actor.id
        row["may_decide"] = actor.role == APPROVER_ROLE and not row["own"]
        row["failed"] = failed if failed and failed["id"] == row["id"] else None
    # the person's own requests, whatever became of them, the most recent first
    page = _page()
    mine, has_next = request_rows(
        requester_id=actor.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    if page == 1:  # the requests just made, before the view holds them
        mine = [*just_requested(actor), *mine]
    families = [row["family"]["row"] for row in (*rows, *mine) if row["family"]]
    if families:  # the families named are read: in the read log, as the search's
        access_log.record_households(actor, "ui", families, access_log.ui_reason())
    answer = render_template(
        "approvals.html",
        active="approvals",
        queue=queue,
        rows=rows,
        reasons=reasons,
        mine=mine,
        page=page,
        has_next=has_next,
        page_url=lambda n: url_for(".approvals_page", halaman=n if n > 1 else None),
    )
    return answer, status


@bp.get("/persetujuan")
def approvals_page():
    return _render_approvals()


@bp.post("/persetujuan/<approval_id>/<decision>")
def decide(approval_id: str, decision: str):
    commands = {"setujui": "ApproveChange", "tolak": "RejectChange"}
    if decision not in commands or not _is_uuid(approval_id):
        abort(404)
    payload = {"approval_id": approval_id}
    note = request.form.get("note", "").strip()
    if note:
        payload["note"] = note
    reason_code = request.form.get("reason_code", "").strip()
    if decision == "tolak" and reason_code:
        payload["reason_code"] = reason_code
    codes: dict[str, list[str]] = {}
    try:
        outcome = run_command(
            services().casework, commands[decision], payload, current_actor(), "ui"
        )
    except Invalid as invalid:
        codes = invalid.codes
    except Refused as refused:
        # closed as refused: said with why (the member gone, the rule failing), as its card
        # in the requester's list says it, since the card leaves this queue
        worded = domain_error_body(refused)["errors"]
        flash(" ".join(m for ms in worded.values() for m in ms), "error")
        return _redirect(url_for(".approvals_page"))
    except DomainError as error:
        codes = {error.field: [error.code]}
    else:
        flash(_decided_text(decision, approval_id, outcome), "success")
        return _redirect(url_for(".approvals_page"))
    if codes and set(codes) <= set(DECISION_FIELDS) and not _still_pending(approval_id):
        # its card is gone from the queue: the form's errors would be said nowhere
        codes = {"approval_id": ["approval.decided"]}
    if codes and set(codes) <= set(DECISION_FIELDS):
        # what the form got wrong: said at its fields, with what was chosen and written kept
        failed = {
            "id": approval_id,
            "decision": decision,
            "values": {"note": request.form.get("note", ""), "reason_code": reason_code},
            "errors": _decision_errors(codes),
        }
        return _render_approvals(failed, 422)
    # about the approval itself (decided already, one's own, not a supervisor): on the page
    flash(" ".join(m for ms in translate(codes).values() for m in ms), "error")
    return _redirect(url_for(".approvals_page"))


def _decided_text(decision: str, approval_id: str, outcome: Any) -> dict[str, str]:
    """What a decision says: which request it was, and, for who reads its household, where to
    see what changed (an approved change at its entry in the household's timeline, a refusal
    among the household's requests), since its card leaves the queue."""
    change = services().casework.get_pending_change(approval_id)
    household_id = change.cmd.get("household_id")
    family = _family(household_id) if may_use("web.household_page") else None
    what = command_title(change.command)
    if family and family["head"]:
        what = gettext("%(command)s, household of %(head)s", command=what, head=family["head"])
    said = {"text": f"{text(f'approval.{decision}.done')} {what}."}
    if replaced := replaced_text(outcome):
        said["replaced"] = replaced
    if family is None:
        return said
    if decision == "setujui":
        return said | _household_link(household_id, outcome)
    link = _household_link(household_id)
    return said | {**link, "link": f"{link['link']}#requests-title"}


def _still_pending(approval_id: str) -> bool:
    """Whether the request still waits for a decision (its card is in the queue)."""
    try:
        return services().casework.get_pending_change(approval_id).status == "pending"
    except NotFound:
        return False


# --- a program: its targeting errors and what a draft of its rules would change ---------------

# the draft's fields: every rule, the decile source rule by its three parts
RULE_PATHS = tuple(
    path
    for name in RULE_FIELDS
    for path in (
        (f"rules.{name}.{part}" for part in ("order", "verification_overrides", "tolerance"))
        if name == "desil_source"
        else (f"rules.{name}",)
    )
)
RULE_FLAGS = (
    "rules.excludes_nib_holders",
    "rules.once_per_kk",
    "rules.serves_without_nik",
    "rules.desil_source.verification_overrides",
)
SHOWN_FAMILIES = 200  # per list on the page; the CSV has every one


def _own_opd(program: Any) -> bool:
    """Whether the person reads this program: a program manager only their OPD's (Area.OPD),
    the other readers of the page every one (app/read_policy.py)."""
    actor = current_actor()
    if read_policy.area_of(request.endpoint, actor.role) is read_policy.Area.OPD:
        return program.opd == (actor.opd or "")
    return True


def _program_for_page(code: str) -> Any:
    """The program of the page; 404 for none, the forbidden page for another OPD's."""
    try:
        program = services().casework.get_program(code)
    except DomainError:
        abort(404)
    if not _own_opd(program):  # the role opens program pages: this program is another OPD's
        abort(Response(*error_page(403, message("auth.opd"))))
    return program


def _versions_today(program: Any) -> dict[str, Any]:
    """The version of the rules in force today (None before the first takes effect) and the
    later ones, approved but not yet in force."""
    day = today().isoformat()
    in_force = [r for r in program.rule_versions if r["effective_from"] <= day]
    return {
        "in_force": in_force[-1] if in_force else None,
        "upcoming": [r for r in program.rule_versions if r["effective_from"] > day],
    }


def _rule_form(program: Any, values: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The what-if form's fields: the values sent, or the rules in force today (what the
    what-if compares with; the latest version before any takes effect)."""
    rules = program.rules_at(today()) or program.rules
    if values is None:
        combinable = ", ".join(rules.get("combinable_with") or [])
        values = {
            "rules.max_desil": "" if rules.get("max_desil") is None else str(rules["max_desil"]),
            "rules.min_residence_months": str(rules.get("min_residence_months") or 0),
            "rules.excludes_nib_holders": "true" if rules.get("excludes_nib_holders") else "",
            "rules.once_per_kk": "true" if rules.get("once_per_kk") else "",
            "rules.combinable_with": combinable,
            "rules.recipient": rules.get("recipient") or "any_member",
            "rules.serves_without_nik": "true" if rules.get("serves_without_nik") else "",
        }
        source = desil_source_rule(rules)
        values["rules.desil_source.order"] = ", ".join(source["order"])
        values["rules.desil_source.verification_overrides"] = (
            "true" if source["verification_overrides"] else ""
        )
        tolerance = source["tolerance"]
        values["rules.desil_source.tolerance"] = "" if tolerance is None else str(tolerance)
    return [
        {
            "path": path,
            "id": "wi-" + path.split(".", 1)[1].replace("_", "-").replace(".", "-"),
            "label": field_label(path, "ChangeProgramRules"),
            "value": values.get(path, ""),
            "options": [(r, option_label(path, r)) for r in RECIPIENTS]
            if path == "rules.recipient"
            else None,
            "flag": path in RULE_FLAGS,
            "numeric": path
            in ("rules.max_desil", "rules.min_residence_months", "rules.desil_source.tolerance"),
        }
        for path in RULE_PATHS
    ]


def _program_kelurahan() -> tuple[str, bool]:
    """The kelurahan a filter asks for (the program page's, the review queue's), as the views
    name it (any case, an accepted spelling or its code), and whether it is one of the
    city's; a name typed that is none (or that two kecamatan share) would silently show
    nothing at all."""
    asked = request.args.get("kelurahan", "").strip()[:100]
    if not asked:
        return "", True
    names = {kelurahan for _, kelurahan in kelurahan_matches(asked)}
    return (names.pop(), True) if len(names) == 1 else (asked, False)


@bp.get("/program/<code>")
def program_page(code: str):
    """A program's inclusion and exclusion errors per kelurahan, and the what-if form; a
    kelurahan the city has not is 422 with the filter's message and no counts."""
    program = _program_for_page(code)
    kelurahan, known = _program_kelurahan()
    if not known:
        return _program_view(program, kelurahan, None, message("kelurahan.unknown")), 422
    found = program_views.errors(services().views, program.code, kelurahan=kelurahan)
    if found is not None:
        shown = [
            {"id": f["household_id"]}
            for kind in program_views.ERROR_KINDS
            for f in found[kind][:SHOWN_FAMILIES]
        ]
        access_log.record_households(current_actor(), "ui", shown, access_log.ui_reason())
    return _program_view(program, kelurahan, found)


def _program_view(
    program: Any, kelurahan: str, found: dict[str, Any] | None, kelurahan_error: str = ""
) -> str:
    """The program page with these errors (None: no counts) and the what-if form empty."""
    return render_template(
        "program.html",
        active="program",
        program=program,
        kelurahan=kelurahan,
        kelurahan_error=kelurahan_error,
        errors=found,
        scale=bar_scale(found["by_kelurahan"], program_views.ERROR_KINDS) if found else 1,
        shown_families=SHOWN_FAMILIES,
        versions=_versions_today(program),
        fields=_rule_form(program),
        field_errors={},
        other_errors=[],
        result=None,
    )


@bp.get("/program/<code>/kesalahan.csv")
def program_errors_csv_page(code: str):
    program = _program_for_page(code)
    kelurahan, known = _program_kelurahan()
    if not known:
        return _download_refused({"kelurahan": ["kelurahan.unknown"]})
    found = program_views.errors(services().views, program.code, kelurahan=kelurahan)
    if found is None:
        return error_page(404)
    shown = [{"id": f["household_id"]} for kind in program_views.ERROR_KINDS for f in found[kind]]
    access_log.record_households(current_actor(), "ui", shown, access_log.ui_reason())
    # in the page's language: the header, each error's kind and its reasons as the page says them
    rows = error_rows(
        found, lambda r: f"{rule_label(r.get('rule'))}: {reason_detail(r)}", words=True
    )
    return csv_response(f"kesalahan-{program.code}.csv", header(ERROR_COLUMNS, True), rows)


@bp.get("/program")
def programs_page():
    """The programs the user may read, each leading to its page."""
    programs = [p for p in services().casework.list_programs() if _own_opd(p)]
    return render_template("programs.html", active="program", programs=programs)


@bp.post("/program/<code>/what-if")
def program_what_if_page(code: str):
    """The draft evaluated: the result table (an htmx swap) or the whole page without JS."""
    program = _program_for_page(code)
    result, field_errors, other_errors, status = None, {}, [], 200
    try:
        rules = draft_rules(program, load_draft({"rules": rules_from_form(request.form)}))
    except Invalid as invalid:
        field_errors, other_errors = _split_errors(invalid.codes, RULE_PATHS)
        status = 422
    else:
        result = program_views.what_if(services().views, program.code, rules)
        if result is not None:
            shown = [{"id": f["household_id"]} for f in (*result["gaining"], *result["losing"])]
            access_log.record_households(current_actor(), "ui", shown, access_log.ui_reason())
    context = {
        "program": program,
        "versions": _versions_today(program),
        "fields": _rule_form(program, request.form),
        "field_errors": field_errors,
        "other_errors": other_errors,
        "result": result,
        "what_if_scale": bar_scale(result["by_kelurahan"], ("gaining", "losing")) if result else 1,
        "shown_families": SHOWN_FAMILIES,
    }
    if _partial_for("what-if"):
        return render_template("_what_if.html", **context), status
    kelurahan = ""
    found = program_views.errors(services().views, program.code)
    return render_template(
        "program.html",
        active="program",
        kelurahan=kelurahan,
        errors=found,
        scale=bar_scale(found["by_kelurahan"], program_views.ERROR_KINDS) if found else 1,
        **context,
    ), status


# --- reconciliation ("satu data") -------------------------------------------------------------


def _reconciliation_args() -> dict[str, str]:
    """The filters as asked (app/reconciliation.py resolves them: a case worker naming no
    kelurahan reads their first one)."""
    return {k: request.args.get(k, "").strip()[:100] for k in ("kecamatan", "kelurahan", "reason")}


def _reconciliation_forbidden(error: Forbidden) -> tuple[str, int]:
    """The forbidden page; for a kelurahan outside a case worker's area it says so (their
    role may open the page: the generic text would say it may not)."""
    if error.field == "kelurahan":
        return error_page(403, message(error.code))
    return error_page(403)


# A download's filter refused (a link edited, or kept from before): each field named with
# what to do, as the page says it beside its form, not that the request cannot be read.
DOWNLOAD_FIELDS = {
    "kecamatan": _l("Kecamatan"),
    "kelurahan": _l("Kelurahan"),
    "reason": _l("Disagreement"),
}


def _download_refused(codes: Mapping[str, list[str]]) -> tuple[str, int]:
    return error_page(
        422,
        " ".join(
            f"{DOWNLOAD_FIELDS.get(field, field)}: {message(code)}"
            for field, found in codes.items()
            for code in found
        ),
    )


def _reconciliation_export(export: Any) -> Any:
    try:
        found = reconciliation.answer(current_actor(), _reconciliation_args(), export=True)
    except Forbidden as error:
        return _reconciliation_forbidden(error)
    except Invalid as invalid:
        return _download_refused(invalid.codes)
    shown = [{"id": f["household_id"]} for f in found["results"]]
    access_log.record_households(current_actor(), "ui", shown, access_log.ui_reason())
    # in the page's language: the header and the disagreements as the page names them
    return export(
        header(RECONCILIATION_COLUMNS, True),
        reconciliation_rows(found["results"], reconciliation.reason_label),
    )


@bp.get("/rekonsiliasi")
def reconciliation_page():
    """Where the sources disagree: a chart of the counts per kecamatan and kelurahan, and the
    families with links to their cases (program managers: the counts only). A filter not
    known is 422 with the form and what to choose instead, and no counts."""
    args = _reconciliation_args()
    areas = kelurahan_of(services().casework, current_actor())  # the filters it offers
    status = 200
    try:
        found = reconciliation.answer(
            current_actor(), {**args, "limit": str(reconciliation.MAX_PAGE)}
        )
        args = {k: found[k] or "" for k in args}  # as the register names the areas
    except Forbidden as error:
        return _reconciliation_forbidden(error)
    except Invalid as invalid:
        status = 422
        found = {
            "rule": reconciliation.rule(),
            "reasons": list(reconciliation.REASONS),
            "by_kelurahan": [],
            "by_kecamatan": [],
            "invalid": invalid.codes,
        }
    shown = [{"id": f["household_id"]} for f in found.get("results", [])]
    if shown:
        access_log.record_households(current_actor(), "ui", shown, access_log.ui_reason())
    return render_template(
        "reconciliation.html",
        active="reconciliation",
        args=args,
        found=found,
        problems=[
            message(code)
            for field, codes in found.get("invalid", {}).items()
            if field != "reason"
            for code in codes
        ],
        scale=bar_scale(found["by_kelurahan"], ("listed", "any")),
        kecamatan_scale=bar_scale(found["by_kecamatan"], ("listed", "any")),
        kecamatan_list=kecamatan_within(areas),
        area_bound=areas is not None,
    ), status


@bp.get("/rekonsiliasi.csv")
def reconciliation_csv_page():
    return _reconciliation_export(lambda names, rows: csv_response("rekonsiliasi.csv", names, rows))


@bp.get("/rekonsiliasi.xlsx")
def reconciliation_xlsx_page():
    return _reconciliation_export(
        lambda names, rows: xlsx_response(
            "rekonsiliasi.xlsx", [(gettext("Reconciliation"), names, rows)]
        )
    )


# --- time travel (auditors and supervisors) ---------------------------------------------------


@bp.app_context_processor
def _time_travel_helpers() -> dict[str, Any]:
    return {"tt_now": lambda: _local_moment(dt.datetime.now(dt.UTC))}


def _local_moment(value: dt.datetime) -> str:
    """A moment as a datetime-local input (step 1) shows it: WIB, to the second."""
    return value.astimezone(time_travel.WIB).strftime("%Y-%m-%dT%H:%M:%S")


def _moment_arg(name: str, field_name: str, errors: dict[str, list[str]]) -> dt.datetime | None:
    """The form's moment (WIB, to the second): the whole of that second, as a date is the
    whole day, so an event recorded within it (at 10:00:05.4) counts at 10:00:05."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = time_travel.parse_past_moment(raw, field_name, naive_is_wib=True)
        return moment.replace(microsecond=999_999) if moment.microsecond == 0 else moment
    except time_travel.BadMoment as bad:
        # said of the page's field, not in the API's words (as_of, RFC 3339)
        future = bad.code.endswith(".future")
        errors.setdefault(name, []).append(message("moment.future" if future else "moment.invalid"))
        return None


def _timeline_entries(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "version": entry["version"],
            "label": gettext(shown["label"]) if shown["label"] else shown["type"],
            "occurred_at": entry["occurred_at"],
            "recorded_at": entry["recorded_at"],
        }
        for entry, shown in zip(history, timeline(history), strict=True)
    ]


# The fields of a member and of a benefit the diff compares (app.time_travel.state_changes),
# as the page names them (English msgids).
DIFF_MEMBER_FIELDS = {
    "name": N_("Name"),
    "birth_date": N_("Birth date"),
    "sex": N_("Sex"),
    "relationship": N_("Relationship"),
    "status": N_("Status"),
    "restricted": N_("Processing restricted"),
    "erased": N_("Personal data erased"),
}
DIFF_BENEFIT_FIELDS = {
    "program": N_("Program"),
    "nik": N_("Recipient"),
    "status": N_("Status"),
    "period_start": N_("Period start"),
    "period_end": N_("Period end"),
    "amount": N_("Amount (rupiah)"),
}
# what the diff says of a member or benefit as a whole: it appeared, or is no longer listed
DIFF_PRESENCE = {"added": N_("added"), "present": N_("listed")}


def _keyed(state: Mapping[str, Any] | None, kind: str, key: str) -> dict[str, Mapping]:
    return {str(item.get(key)): item for item in (state or {}).get(kind) or [] if item.get(key)}


def _person(nik: str | None, members: Mapping[str, Mapping[str, Any]]) -> str:
    """A person as the diff names them: by name, else by masked NIK (never the full NIK)."""
    member = members.get(nik or "") or {}
    if member.get("erased"):
        return text("person.erased")
    return member.get("name") or masked_nik(nik) or "—"


def _diff_value(kind: str, name: str, value: Any, members: Mapping[str, Mapping]) -> str:
    """A value of the diff in words: statuses, relationships and sexes by their labels,
    dates and amounts as the language writes them, NIKs and KK numbers masked."""
    if value is None:
        return "—"
    if name in ("", "presence"):
        return _labelled(DIFF_PRESENCE, str(value))
    if isinstance(value, bool):
        return _label("form.yes", "Yes") if value else _label("form.no", "No")
    if kind == "members":
        if name == "status":
            return _labelled(MEMBER_STATUS_LABELS, value)
        if name == "relationship":
            return text(f"rel.{value}")
        if name == "sex":
            return text(f"sex.{value}")
        if name == "birth_date":
            return date_text(value)
        return str(value)
    if kind == "benefits":
        if name == "status":
            return text(f"status.{value}")
        if name in ("period_start", "period_end"):
            return date_text(value)
        if name == "amount":
            return rupiah(value)
        if name == "nik":
            return _person(value, members)
        return str(value)
    if name == "head_nik":
        return _person(value, members)
    if name == "kk_number":
        return masked_nik(str(value)) or "—"
    return str(value)


def diff_rows(
    changes: list[dict[str, Any]],
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> list[dict[str, str]]:
    """The diff's changes ({field, from, to}, fields as paths such as `members.<NIK>.status`)
    as the page shows them: the field's label in the user's language (a member by name or
    masked NIK, a benefit by its program), and both values in words. No full NIK or KK
    number is shown."""
    members = {**_keyed(before, "members", "nik"), **_keyed(after, "members", "nik")}
    benefits = {
        **_keyed(before, "benefits", "benefit_id"),
        **_keyed(after, "benefits", "benefit_id"),
    }
    rows = []
    for change in changes:
        kind, _, rest = change["field"].partition(".")
        ident, _, name = rest.partition(".")
        if kind == "members":
            whole = gettext("Member %(who)s", who=_person(ident, members))
            label = (
                f"{whole} · {gettext(DIFF_MEMBER_FIELDS[name])}"
                if name in DIFF_MEMBER_FIELDS
                else whole
            )
        elif kind == "benefits":
            program = (benefits.get(ident) or {}).get("program") or "—"
            whole = gettext("Benefit %(program)s", program=program)
            label = (
                f"{whole} · {gettext(DIFF_BENEFIT_FIELDS[name])}"
                if name in DIFF_BENEFIT_FIELDS
                else whole
            )
        else:
            kind, name = "household", change["field"]
            label = gettext("Head of family") if name == "head_nik" else field_label(name)
        rows.append(
            {
                "label": label,
                "before": _diff_value(kind, name, change["from"], members),
                "after": _diff_value(kind, name, change["to"], members),
            }
        )
    return rows


@bp.get("/rumah-tangga/<household_id>/lini-masa")
def household_time_travel(household_id: str):
    """The household as of a moment (as known then, or as it was) and what changed between two
    moments: for auditors and supervisors. Stores nothing but the read log."""
    household_id = _household_id(household_id)
    actor = current_actor()  # a time traveller (app/read_policy.py): every household
    casework = services().casework
    try:
        casework.get_household(household_id)
    except NotFound:
        abort(404)
    errors: dict[str, list[str]] = {}
    mode = request.args.get("mode", "").strip() or time_travel.DEFAULT_MODE
    if mode not in time_travel.MODES:
        errors["mode"] = [message("mode.invalid")]
        mode = time_travel.DEFAULT_MODE
    at = _moment_arg("saat", "as_of", errors)
    start = _moment_arg("dari", "from", errors)
    end = _moment_arg("sampai", "to", errors)
    if start and end and start > end:
        errors.setdefault("dari", []).append(reversed_window_text())
    then = None
    if at is not None and not errors:
        found = time_travel.household_as_of(casework, household_id, at, mode, services().store)
        answers = (
            time_travel.eligibility_as_of(casework, household_id, at, mode, services().store) or []
        )
        behind = reasons_events(
            (a["reasons"] for a in answers),
            household_id,
            (a["program"] for a in answers),
            "kejadian-saat-",
        )
        then = {
            # the day of the moment in Kota Jambi: the benefits' status in force then
            "day": at.astimezone(WIB).date(),
            "household": found[0] if found else None,
            "skipped": found[1] if found else [],
            "events": _timeline_entries(
                time_travel.history_as_of(casework, household_id, at, mode) or []
            ),
            "evidence": found[0].get("evidence") if found else None,
            "eligibility": [
                {
                    **answer,
                    "status_text": _labelled(ELIGIBILITY_LABELS, answer["status"]),
                    "reasons": eligibility_reasons(answer["reasons"], behind),
                }
                for answer in answers
            ],
        }
    changes = None
    if start and end and not errors:
        found = time_travel.diff_with_states(casework, household_id, start, end, mode)
        changes = {
            "changes": diff_rows(found["changes"], found["before"], found["after"]),
            "events": _timeline_entries(found["events"]),
        }
    access_log.record_households(actor, "ui", [household_id], access_log.ui_reason())
    now = dt.datetime.now(dt.UTC)
    context = {
        "household_id": household_id,
        "mode": mode,
        "saat": _local_moment(at) if at else request.args.get("saat", "")[:40],
        "dari": _local_moment(start) if start else request.args.get("dari", "")[:40],
        "sampai": _local_moment(end) if end else request.args.get("sampai", "")[:40],
        "now_local": _local_moment(now),
        "then": then,
        "changes": changes,
        "tt_errors": errors,
        "at_text": moment_text(rfc3339(at), seconds=True) if at else "",
    }
    status = 422 if errors else 200
    if htmx_request.htmx:  # the result, and each field's error beside it (out of band)
        return render_template("_time_travel_result.html", tt_oob=True, **context), status
    return render_template("time_travel.html", **context), status
