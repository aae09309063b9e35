"""The access log as the web and the API use it: which households a request shows, and why.

The log itself (the table, appending, the hash chain, reading it back) is
`adapters.access_log`; its public names are available here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import request

from adapters.access_log import (
    CHANNELS,
    FIELDS,
    GENESIS,
    MAX_REASON,
    TABLE,
    TERMS,
    Read,
    append,
    as_stamp,
    canonical,
    chain_hash,
    ensure_table,
    entries,
    households_of,
    nik_hash,
    now_utc,
    reads_of,
    subjects_of,
    terms_of,
    verify_chain,
)
from adapters.codec import is_erased
from app.context import services
from app.schemas import without_forbidden_characters
from domain.application import Actor

__all__ = [
    "CHANNELS",
    "FIELDS",
    "GENESIS",
    "MAX_REASON",
    "TABLE",
    "TERMS",
    "Read",
    "api_reason",
    "append",
    "as_stamp",
    "canonical",
    "chain_hash",
    "ensure_table",
    "entries",
    "household_read",
    "households_of",
    "nik_hash",
    "now_utc",
    "reads_of",
    "record_households",
    "subjects_of",
    "terms_of",
    "ui_reason",
    "verify_chain",
]


# --- what the web and the API call --------------------------------------------------------


def _members(found: Any) -> list[Mapping[str, Any]]:
    members = (
        found.get("members") if isinstance(found, Mapping) else getattr(found, "members", None)
    )
    if isinstance(members, Mapping):
        members = list(members.values())
    return [m for m in members or [] if isinstance(m, Mapping)]


def household_read(secret_key: str, found: Any, searched_nik: str | None = None) -> Read:
    """A household read: its id and its members' NIK hashes (a household as shown, with its
    NIKs opened, or an aggregate). An erased person's NIK is gone: nothing to log for them."""
    raw_id = found.get("id") if isinstance(found, Mapping) else getattr(found, "id", found)
    subjects = tuple(
        dict.fromkeys(
            nik_hash(secret_key, str(m["nik"]))
            for m in _members(found)
            if m.get("nik") and not is_erased(m["nik"])
        )
    )
    searched = nik_hash(secret_key, searched_nik) if searched_nik else None
    return Read(household_id=str(raw_id), nik_hash=searched, subject_hashes=subjects)


def record_households(
    actor: Actor,
    channel: str,
    households: Iterable[Any],
    reason: str | None = None,
    searched_nik: str | None = None,
) -> int:
    """Log the households this request shows (dicts, rows or aggregates): one transaction."""
    svc = services()
    key = svc.settings.secret_key
    reads = [household_read(key, found, searched_nik) for found in households]
    endpoint = f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"
    return append(svc.store, actor, channel, endpoint, reads, reason)


def _clean(reason: str | None) -> str | None:
    """A reason as kept in the read log: no control or text-direction characters."""
    return without_forbidden_characters(reason) if reason else reason


def api_reason() -> str | None:
    return _clean(request.args.get("reason") or request.headers.get("X-Access-Reason"))


def ui_reason() -> str | None:
    return _clean(request.values.get("alasan"))
