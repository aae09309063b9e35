"""The global audit log: every stored event in store order, who did what and when, without
its data (no personal field is read out: the event's meta and the stream it belongs to).

`GET /api/v1/audit?after=&limit=` pages through the store by position; the filters (actor,
opd, type, kelurahan, since, until) are applied while scanning, at most `SCAN` events per
request: the answer's `next_after` is where to continue (None once the store is read to its
end), so a filter that matches rarely still answers quickly and pages on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters import access_log, chain
from adapters.db import Database
from adapters.wire import rfc3339
from app import time_travel
from app.schemas import Invalid
from domain.application import Casework, event_id
from projections.register import get_household

SCAN = 5000
MAX_LIMIT = 100


@dataclass(frozen=True)
class Filters:
    actor: str | None = None
    opd: str | None = None
    type: str | None = None
    kelurahan: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _moment(raw: str, name: str, naive_is_wib: bool) -> dt.datetime:
    """The audit pages' validation of a moment (`app.time_travel.parse_moment`: the API's
    form, or a date, within the system's calendar), as Invalid naming the field."""
    try:
        return time_travel.parse_moment(
            raw, name, naive_is_wib=naive_is_wib, date_starts=name == "since"
        )
    except time_travel.BadMoment as bad:
        raise Invalid({bad.field: [bad.code]}) from None


def _whole(raw: str, name: str, default: int, low: int, high: int) -> int:
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise Invalid({name: [f"{name}.invalid"]})
    return int(raw)


def parse(args: Mapping[str, str], *, naive_is_wib: bool = False) -> tuple[int, int, Filters]:
    """(after, limit, filters) from the query string; Invalid (422) naming each bad field.
    The one check of the API and of the audit log's page: `naive_is_wib`, a time without
    offset is read as WIB (the page's datetime-local fields); the API wants the offset."""
    text = {
        name: (args.get(name) or "").strip()
        for name in ("after", "limit", "actor", "opd", "type", "kelurahan", "since", "until")
    }
    codes: dict[str, list[str]] = {}
    found: dict[str, Any] = {}
    checks = {
        "after": lambda raw: _whole(raw, "after", 0, 0, 10**18),
        "limit": lambda raw: _whole(raw, "limit", 50, 1, MAX_LIMIT),
        "since": lambda raw: _moment(raw, "since", naive_is_wib) if raw else None,
        "until": lambda raw: _moment(raw, "until", naive_is_wib) if raw else None,
    }
    for name, check in checks.items():
        try:
            found[name] = check(text[name])
        except Invalid as invalid:
            codes.update(invalid.codes)
    if codes:
        raise Invalid(codes)
    after, limit, since, until = found["after"], found["limit"], found["since"], found["until"]
    if since and until and until <= since:
        raise Invalid({"until": ["until.invalid"]})
    filters = Filters(
        actor=text["actor"] or None,
        opd=text["opd"].upper() or None,  # OPD codes are kept in capitals (DINSOS)
        type=text["type"] or None,
        kelurahan=text["kelurahan"].casefold() or None,
        since=since,
        until=until,
    )
    return after, limit, filters


def account_id(casework: Casework, typed: str) -> str:
    """An account as the events and the read log name it: user names ignore case (kept in
    lowercase, an older account in its own), so `Siti.CW` is the account `siti.cw`, as at
    sign-in; any other actor (`system`, `seed`, `agency:BPJSKES`) as typed. A filter by an
    account typed in another case found nothing: a breach report said it read nothing."""
    user = casework.find_user(typed) if typed else None
    return user.name if user is not None else typed


def _kelurahan(event: Any, views: Database, seen: dict[str, str | None]) -> str | None:
    """The kelurahan the event is about: its own field, else its household's (the register)."""
    own = getattr(event, "kelurahan", None)
    if isinstance(own, str) and own:
        return own
    stream = str(event.originator_id)
    if stream not in seen:
        row = get_household(views, stream) if "ready" in seen else None
        seen[stream] = row.get("kelurahan") if row else None
    return seen[stream]


def page(
    casework: Casework, views: Database, after: int, limit: int, filters: Filters
) -> dict[str, Any]:
    """Up to `limit` entries after position `after` that pass the filters."""
    wanted_actor = account_id(casework, filters.actor) if filters.actor else None
    results: list[dict[str, Any]] = []
    # the register answers once the projections have made their tables
    seen: dict[str, str | None] = {"ready": None} if views.table_exists("projection_state") else {}
    position, scanned, more = after, 0, True
    while len(results) < limit and scanned < SCAN:
        batch = casework.recorder.select_notifications(
            start=position, limit=min(500, SCAN - scanned), inclusive_of_start=False
        )
        if not batch:
            more = False
            break
        for notification in batch:
            scanned += 1
            position = notification.id
            if filters.type and not notification.topic.endswith(f".{filters.type}"):
                continue
            event = casework.mapper.to_domain_event(notification)
            meta = getattr(event, "meta", None) or {}
            actor = meta.get("actor") or {}
            if wanted_actor and actor.get("id") != wanted_actor:
                continue
            if filters.opd and actor.get("opd") != filters.opd:
                continue
            recorded = event.timestamp
            if filters.since and recorded < filters.since:
                continue
            if filters.until and recorded >= filters.until:
                continue
            kelurahan = _kelurahan(event, views, seen)
            if filters.kelurahan and (kelurahan or "").casefold() != filters.kelurahan:
                continue
            results.append(
                {
                    "position": notification.id,
                    "event_id": event_id(event.originator_id, event.originator_version),
                    "stream_id": str(event.originator_id),
                    "version": event.originator_version,
                    "type": type(event).__qualname__.rsplit(".", 1)[-1],
                    "occurred_at": meta.get("occurred_at") or rfc3339(recorded),
                    "recorded_at": rfc3339(recorded),
                    "actor": {k: actor.get(k) for k in ("id", "role", "opd")},
                    "source": meta.get("source"),
                    "kelurahan": kelurahan,
                }
            )
            if len(results) >= limit:
                break
    return {"results": results, "next_after": position if more else None}


def report(
    store: Database, anchors: list[chain.Anchor] | tuple[chain.Anchor, ...] = ()
) -> dict[str, Any]:
    """Both chains' verdicts: the event chain and the read log's, each with the anchors held
    (an anchor's read log head: `off_anchor`, rows removed from the log's end)."""
    verdict = chain.verify(store, anchors)
    # the read log's last row before its chain is checked, so the check covers it: the head
    # answered is an anchor to keep as `casework audit anchor` prints one (with the read log)
    read_head = access_log.head(store)
    read_ok, read_bad = access_log.verify_chain(store)
    broken = {"id": read_bad, "reason": "edited"} if read_bad is not None else None
    if read_ok:
        held = [(a.read_log_id, a.read_log_hash) for a in anchors if a.read_log_id]
        missing = access_log.off_anchor(store, held)
        if missing is not None:
            read_ok, broken = False, {"id": missing, "reason": "anchor"}
    events = verdict.as_dict()
    if events["head"] is not None and read_ok and read_head is not None:
        events["head"]["read_log_id"], events["head"]["read_log_hash"] = read_head
    return {
        "ok": verdict.ok and read_ok,
        "events": events,
        "read_log": {"ok": read_ok, "broken": broken},
        "events_per_second": (
            round(verdict.events / verdict.seconds) if verdict.seconds > 0 else None
        ),
    }
