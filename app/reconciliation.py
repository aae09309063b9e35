"""Reconciliation ("satu data") for the API and the page alike: who may read which part of
`projections.reconciliation`, and the answer a request asks for.

Caseworkers read the families of one of their kelurahan (none named: their first);
supervisors, auditors and administrators everything; program managers the counts only, never
a family; agencies nothing (app/read_policy.py). Persons are shown by keyed hash and masked
NIK."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from app.context import services
from app.disclosure import codec, masked_nik, opened
from app.overview_api import area
from app.schemas import Invalid
from domain.application import Actor
from domain.approval import Forbidden
from domain.errors import NotFound
from projections import reconciliation

REASONS = reconciliation.REASONS  # the disagreements' codes, in the order answers list them
# the disagreements in words (the page, the household's sources, the page's downloads)
REASON_LABELS = {
    "membership": _l("Members only in the source"),
    "missing_in_source": _l("Members missing in the source"),
    "desil": _l("Deciles differ"),
    "benefit": _l("Aid differs"),
    # both ways: dead in the source and alive here, or alive in the source and dead here
    # (`deceased_in_source`, `alive_in_source`); the household's sources say which
    "deceased": _l("Deaths differ (source and register)"),
    "stale": _l("Source data stale"),
}
COUNTS_ONLY = ("program_manager",)
MAX_PAGE = 100
EXPORT_LIMIT = 100_000  # a CSV or XLSX holds every family of the filter, up to this many


def reason_label(code: str) -> str:
    """A disagreement's code in the request's language (the code itself when unknown)."""
    return str(REASON_LABELS.get(code, code))


def _areas(actor: Actor) -> set[str] | None:
    if actor.role != "caseworker":
        return None
    return set(services().casework.get_user(actor.id).kelurahan)


def _number(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,12}", raw) or not low <= int(raw) <= high:
        raise Invalid({name: [f"{name}.invalid"]})
    return int(raw)


def filters(actor: Actor, args: Mapping[str, str]) -> dict[str, Any]:
    """The filters asked, checked: the kecamatan and kelurahan resolved as the overview
    resolves them (names in any case, codes, accepted spellings; app/overview_api.py `area`),
    a case worker naming none reading their first kelurahan. Invalid (422) names a reason,
    kecamatan or kelurahan not known (or a kelurahan not in the kecamatan asked); Forbidden
    (403) a kelurahan outside a case worker's area, or a whole kecamatan."""
    errors: dict[str, list[str]] = {}
    reason = (args.get("reason") or "").strip()
    if reason and reason not in REASONS:
        errors["reason"] = ["reconciliation.reason_unknown"]
    kecamatan, kelurahan = area(actor, args, errors)
    return {"kecamatan": kecamatan, "kelurahan": kelurahan, "reason": reason}


def rule() -> dict[str, Any]:
    """The rule the view's answers follow (the one it was built under), and whether it is
    the one the settings state (when not, the view is rebuilt under theirs when the
    projection runner next starts, or by `casework rebuild reconciliation`)."""
    built = reconciliation.rule_in_force(services().views)
    settings = services().settings
    stated = reconciliation.Rule(
        desil_tolerance=settings.reconcile_desil_tolerance,
        stale_months=settings.reconcile_stale_months,
    )
    return {
        **built.parameters(),
        "matches_settings": built == stated,
        "settings": stated.parameters(),
    }


def answer(actor: Actor, args: Mapping[str, str], *, export: bool = False) -> dict[str, Any]:
    """Counts per kecamatan and kelurahan, and (except for program managers) a page of the
    families that disagree, or every one of them for an export."""
    chosen = filters(actor, args)
    views = services().views
    limit = EXPORT_LIMIT if export else _number(args, "limit", 50, 1, MAX_PAGE)
    offset = 0 if export else _number(args, "offset", 0, 0, 10**9)
    by_kelurahan = reconciliation.counts(
        views, kecamatan=chosen["kecamatan"], kelurahan=chosen["kelurahan"]
    )
    in_force = rule()
    body: dict[str, Any] = {
        **{key: value or None for key, value in chosen.items()},
        "tolerance": in_force["desil_tolerance"],
        "stale_months": in_force["stale_months"],
        "rule": in_force,
        "reasons": list(REASONS),
        "by_kelurahan": by_kelurahan,
        "by_kecamatan": by_kecamatan(by_kelurahan),
    }
    if actor.role in COUNTS_ONLY:
        if export:  # the list of families is no program manager's read
            raise Forbidden("actor", "auth.read")
        return body
    body["results"] = [
        {**family, "link": f"/rumah-tangga/{family['household_id']}"}
        for family in reconciliation.disagreeing(views, limit=limit, offset=offset, **chosen)
    ]
    return body


_TOTALS = (reconciliation.LISTED, reconciliation.ANY, *reconciliation.REASONS)


def by_kecamatan(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The kelurahan counts added up per kecamatan."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(
            row["kecamatan"], {"kecamatan": row["kecamatan"], **dict.fromkeys(_TOTALS, 0)}
        )
        for key in _TOTALS:
            entry[key] += row[key]
    return list(found.values())


def side_by_side(actor: Actor, household_id: str) -> dict[str, Any]:
    """One household's sources beside the register; NotFound, or Forbidden outside a
    caseworker's kelurahan. Persons by keyed hash and masked NIK."""
    try:
        household_id = str(uuid.UUID(household_id))
    except ValueError:
        raise NotFound("household_id", "household.not_found") from None
    found = reconciliation.household(services().views, household_id)
    if found is None:
        raise NotFound("household_id", "household.not_found")
    areas = _areas(actor)
    if areas is not None and found["kelurahan"] not in areas:
        raise Forbidden("household_id", "auth.kelurahan")
    found["rule"] = rule()
    opener = codec()
    for source in found["sources"].values():
        for key in ("missing_in_source", "only_in_source", "deceased_in_source", "alive_in_source"):
            source[key] = (
                [
                    {"nik_hash": p["nik_hash"], "nik": masked_nik(opened(opener, p["nik_token"]))}
                    for p in source.get(key, [])
                ]
                if source["listed"]
                else []
            )
    return found
