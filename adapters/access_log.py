"""The access log's storage (UU PDP): every read of a household or person, append-only and
hash-chained. What the web and the API call is `app.access_log`.

One row per request that reads households or persons, however many it shows: who (actor
id, role, OPD), when (UTC), which (`household_id`: the ids of the households shown, comma
separated in the order shown; `subject_hashes`: the keyed hashes of the NIKs concerned,
comma separated, each once; `nik_hash`: the NIK searched for — never a NIK in clear:
HMAC-SHA256 with the app's secret key), why (an optional reason), the channel (ui|api, and
kafka|webhook for what agencies receive, `consumers.agency_filter.record_reads`) and
the endpoint (the URL rule, never the query string, which may hold a NIK). Rows written
before migration 0006 hold one household each: the same columns, read the same way
(`households_of`). Beside each row, in its transaction, `TERMS` keeps one row per household
id it names and for the NIK searched for (`terms_of`; migration 0007 indexed the rows written
before), so a subject access report (`reads_of`) finds a person's reads through that primary
key, not by one pass over the whole log, which grows with every request of the city. The
members' hashes are not indexed: a member is only ever shown, and so logged, with a household
they belong or belonged to, and the report asks for every household the person ever belonged
to (their NikIndex stream); the row itself then tells whether it named the person. So a read
pays one short row per household it shows, not one per person (measured in
docs/performance.md, "The read log's index").

The table lives in the STORE database. There is no update or delete path here, and the
database refuses both: triggers on SQLite and PostgreSQL (plus REVOKE on PostgreSQL), made
by the store's migrations (adapters/migrations). Each
row carries `prev_hash` and `row_hash` = sha256(prev_hash + canonical JSON of the row), so
`verify_chain` finds a row altered or removed behind the triggers' back. Rows removed
from its end leave a shorter chain that still holds: the signed anchors of the event chain
(`adapters.chain.anchor`) carry the read log's head too (`head`), and `off_anchor` finds an
anchored row gone or changed. Writers are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: a
transaction advisory lock) so the chain follows the ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.db import Database
from adapters.store_schema import ensure_migrated
from domain.application import Actor

TABLE = "casework_access_log"
# (term, log_id): a household id or NIK hash a row names -> the row (migration 0007)
TERMS = "casework_access_log_terms"
GENESIS = "0" * 64
MAX_REASON = 500
CHANNELS = ("ui", "api", "kafka", "webhook")  # kafka, webhook: agency deliveries
# Serialises appends on PostgreSQL (the chain needs the previous row).
APPEND_LOCK_KEY = 157_100_002

# The row's fields in the hash, in this order (the id is the database's, not hashed).
FIELDS = (
    "at",
    "actor_id",
    "actor_role",
    "actor_opd",
    "channel",
    "endpoint",
    "household_id",
    "nik_hash",
    "subject_hashes",
    "reason",
)


@dataclass(frozen=True)
class Read:
    """One thing read: a household (with its members' NIK hashes) and/or one person's NIK."""

    household_id: str | None
    nik_hash: str | None = None
    subject_hashes: tuple[str, ...] = ()


def nik_hash(secret_key: str, nik: str) -> str:
    """The keyed hash that stands for a NIK in the log (HMAC-SHA256, hex)."""
    return hmac.new(secret_key.encode("utf-8"), nik.encode("utf-8"), hashlib.sha256).hexdigest()


def now_utc() -> str:
    """UTC, fixed width, so that text comparison is time order on both databases."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ensure_table(store: Database) -> None:
    """Make sure the table is there: the store's migrations (applied by the composition root
    at start; here for a store opened otherwise, once per Database object)."""
    ensure_migrated(store)


def canonical(row: Mapping[str, Any]) -> str:
    return json.dumps(
        {name: row.get(name) for name in FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def chain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode("utf-8")).hexdigest()


def _reason(raw: str | None) -> str | None:
    reason = " ".join((raw or "").split())[:MAX_REASON]
    return reason or None


def households_of(row: Mapping[str, Any]) -> list[str]:
    """The household ids a read-log row names (none, one, or the several of one request)."""
    return [h for h in (row.get("household_id") or "").split(",") if h]


def subjects_of(row: Mapping[str, Any]) -> set[str]:
    """The NIK hashes a read-log row names: the members shown and the NIK searched for."""
    found = {h for h in (row.get("subject_hashes") or "").split(",") if h}
    if row.get("nik_hash"):
        found.add(row["nik_hash"])
    return found


def terms_of(row: Mapping[str, Any]) -> list[str]:
    """What a read-log row is found by, each once: its households and the NIK searched for
    (not the members' hashes: each comes with one of their households)."""
    return list(
        dict.fromkeys([*households_of(row), *([row["nik_hash"]] if row.get("nik_hash") else [])])
    )


def _combined(reads: Sequence[Read]) -> tuple[str | None, str | None, str | None]:
    """(household ids, searched NIK hash, subject hashes) of one request's reads, as one
    row keeps them."""
    households = ",".join(dict.fromkeys(r.household_id for r in reads if r.household_id))
    searched = next((r.nik_hash for r in reads if r.nik_hash), None)
    subjects = ",".join(dict.fromkeys(h for r in reads for h in r.subject_hashes))
    return households or None, searched, subjects or None


def append(
    store: Database,
    actor: Actor,
    channel: str,
    endpoint: str,
    reads: Sequence[Read],
    reason: str | None = None,
) -> int:
    """Append one row for these reads (one request's), in one transaction; the number of
    rows written (1, or 0 when nothing was read)."""
    return append_many(store, [Entry(actor, channel, endpoint, reads, reason)])


@dataclass(frozen=True)
class Entry:
    """One row to append: what one request (or one agency's delivered batch) read."""

    actor: Actor
    channel: str
    endpoint: str
    reads: Sequence[Read]
    reason: str | None = None


def append_many(store: Database, entries: Sequence[Entry]) -> int:
    """Append one row per entry that read something, in order, all in one transaction (one
    commit, one turn of the writers' lock, however many agencies a batch reached); the
    number of rows written. Nothing is written when an entry names an unknown channel."""
    for entry in entries:
        if entry.channel not in CHANNELS:
            raise ValueError(f"unknown channel {entry.channel!r}")
    entries = [entry for entry in entries if entry.reads]
    if not entries:
        return 0
    ensure_table(store)
    at = now_utc()
    with store.transaction() as cursor:
        if store.kind == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(?)", (APPEND_LOCK_KEY,))
        last = cursor.execute(f"SELECT row_hash FROM {TABLE} ORDER BY id DESC LIMIT 1").fetchone()
        prev = last[0] if last else GENESIS
        for entry in entries:
            households, searched, subjects = _combined(entry.reads)
            row = {
                "at": at,
                "actor_id": entry.actor.id,
                "actor_role": entry.actor.role,
                "actor_opd": entry.actor.opd,
                "channel": entry.channel,
                "endpoint": entry.endpoint[:200],
                "household_id": households,
                "nik_hash": searched,
                "subject_hashes": subjects,
                "reason": _reason(entry.reason),
            }
            row_hash = chain_hash(prev, row)
            (row_id,) = cursor.execute(
                f"INSERT INTO {TABLE} ({', '.join(FIELDS)}, prev_hash, row_hash)"
                f" VALUES ({', '.join('?' * (len(FIELDS) + 2))}) RETURNING id",
                [*(row[name] for name in FIELDS), prev, row_hash],
            ).fetchone()
            prev = row_hash
            terms = terms_of(row)
            if terms:  # one statement: one round trip however many households were shown
                cursor.execute(
                    f"INSERT INTO {TERMS} (term, log_id)"
                    f" VALUES {', '.join(['(?, ?)'] * len(terms))}",
                    [value for term in terms for value in (term, row_id)],
                )
    return len(entries)


_READ_FIELDS = ("id", *FIELDS)


def reads_query(terms: Iterable[str]) -> tuple[str, list[str]]:
    """The statement `reads_of` runs and its parameters; ("", []) for no term."""
    wanted = list(dict.fromkeys(t for t in terms if t))
    if not wanted:
        return "", []
    statement = (
        f"SELECT {', '.join(_READ_FIELDS)} FROM {TABLE} WHERE id IN (SELECT log_id FROM {TERMS}"
        f" WHERE term IN ({', '.join('?' * len(wanted))})) ORDER BY id"
    )
    return statement, wanted


def reads_of(db: Database, terms: Iterable[str]) -> list[dict[str, Any]]:
    """The rows naming any of these terms (household ids, a NIK hash searched for), in id
    order: through the terms' index, never a pass over the log."""
    ensure_table(db)
    statement, params = reads_query(terms)
    if not statement:
        return []
    return [dict(zip(_READ_FIELDS, row, strict=True)) for row in db.query(statement, params)]


def verify_chain(db: Database) -> tuple[bool, int | None]:
    """(True, None) when every row's hash and link hold; else (False, the first bad row's id)."""
    ensure_table(db)
    prev = GENESIS
    columns = ", ".join(FIELDS)
    for record in db.query(f"SELECT id, {columns}, prev_hash, row_hash FROM {TABLE} ORDER BY id"):
        row_id, *values, prev_hash, row_hash = record
        row = dict(zip(FIELDS, values, strict=True))
        try:
            held = prev_hash == prev and chain_hash(prev_hash, row) == row_hash
        except (TypeError, ValueError):  # a value no append wrote (SQLite takes a blob anywhere)
            held = False
        if not held:
            return False, int(row_id)
        prev = row_hash
    return True, None


def head(db: Database) -> tuple[int, str] | None:
    """The read log's last row now: (its id, its row_hash); None while it is empty."""
    ensure_table(db)
    row = db.query_one(f"SELECT id, row_hash FROM {TABLE} ORDER BY id DESC LIMIT 1")
    return (int(row[0]), str(row[1])) if row is not None else None


def off_anchor(db: Database, anchored: Iterable[tuple[int, str]]) -> int | None:
    """The first anchored row (id, row_hash, as an anchor held it: `head`) no longer in the
    read log as it was; None when every one is. With `verify_chain`, the rows up to it are
    the ones the anchor saw: none removed from the end, none changed."""
    ensure_table(db)
    for row_id, row_hash in sorted(anchored):
        found = db.query_one(f"SELECT row_hash FROM {TABLE} WHERE id = ?", (row_id,))
        if found is None or found[0] != row_hash:
            return row_id
    return None


def entries(
    db: Database, start: str, end: str, actor_ids: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The rows with start <= at < end (UTC stamps), of these actors (all when none)."""
    ensure_table(db)
    actors = list(dict.fromkeys(actor_ids))
    where = "at >= ? AND at < ?"
    if actors:
        where += f" AND actor_id IN ({', '.join('?' * len(actors))})"
    rows = db.query(
        f"SELECT id, {', '.join(FIELDS)} FROM {TABLE} WHERE {where} ORDER BY id",
        [start, end, *actors],
    )
    return [dict(zip(("id", *FIELDS), row, strict=True)) for row in rows]


def page(
    db: Database,
    after: int = 0,
    limit: int = 50,
    actor_id: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to `limit` rows with an id above `after` (of this actor, start <= at < end when
    given), in id order; and the id to continue after (None when there is no more)."""
    ensure_table(db)
    where, values = ["id > ?"], [after]
    if actor_id:
        where.append("actor_id = ?")
        values.append(actor_id)
    if start:
        where.append("at >= ?")
        values.append(start)
    if end:
        where.append("at < ?")
        values.append(end)
    rows = db.query(
        f"SELECT id, {', '.join(FIELDS)} FROM {TABLE} WHERE {' AND '.join(where)}"
        " ORDER BY id LIMIT ?",
        [*values, limit + 1],
    )
    found = [dict(zip(("id", *FIELDS), row, strict=True)) for row in rows[:limit]]
    more = len(rows) > limit
    return found, (int(found[-1]["id"]) if more and found else None)
