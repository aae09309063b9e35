"""The event store's hash chain: a history no one can rewrite unnoticed.

Every stored event has one link in `casework_event_chain`, keyed by the event's position in
the store (its notification id: SQLite's rowid of `stored_events`, PostgreSQL's
`notification_id` of `casework_events`):

    link(n) = sha256(link(n-1) || canonical(event n))

with `GENESIS` before the first event. `canonical` is the event's position, stream id, version
and topic, one per line, then its stored bytes (`state`, as stored: personal fields are
ciphertext, so an erasure, which destroys a key and never an event, keeps the chain whole).

Written by the recorder (`adapters.recorder`) in the same transaction as the events, so there
is no event without its link and no link without its event. There is one chain, in store
order:

- SQLite serialises writers (one write transaction at a time), and the links are written
  after the events' inserts, which hold the write lock, so the previous link read is the
  last one committed.
- PostgreSQL: eventsourcing's application recorder takes `LOCK TABLE casework_events IN
  EXCLUSIVE MODE` before inserting, so that notification ids are issued and committed in
  the same order (its readers must never skip a gap filled later). The links are written
  after the insert, under that lock, from the notification ids the insert returned: the
  chain's order is the store's notification order, and two writers never read the same
  previous link.

`verify` walks events and links side by side, in position order, and names the first
position where they disagree: an event whose bytes were edited (its link no longer
matches), a row deleted (a link without its event, or, when the link went too, the next
link no longer follows), a row inserted (an event without a link). Whoever rewrites the
store and recomputes every link after the change is caught by an anchor: the chain head
(position, link) published to `casework.audit-anchors.v1` and printed by
`casework audit anchor`; `verify(anchor=...)` checks the chain still passes through it.

An anchor also holds the read log's head (`read_log_id`, `read_log_hash`: its last row, see
`adapters.access_log`), whose chain alone cannot tell rows removed from its end.

An anchor leaves the system signed (`signed_anchor`): a JSON document
`{"tenant", "position", "link", "events", "at", "read_log_id", "read_log_hash", "anchor",
"signature", "key_id"}`, signed with
the system's Ed25519 key as the value of a message of `casework.audit-anchors.v1` keyed by
the tenant (`adapters.signing`: the same key and JWK set, `GET /api/v1/keys`, as the events).
`held_anchor` takes such a document back and refuses it unless its signature verifies, so an
anchor forged on the topic, or one whose position or link was changed, is never trusted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from adapters import access_log
from adapters.db import Database
from adapters.relay_store import COUNTS, events_table
from adapters.signing import BadSignature, Signer, Verifier
from adapters.topics import ANCHORS

TABLE = "casework_event_chain"
GENESIS = "0" * 64
LINK = re.compile(r"^[0-9a-f]{64}$")
BATCH = 2000


def originator_text(originator_id: Any) -> str:
    """A stream id as the chain hashes it: a UUID's 32 hex digits, anything else as text."""
    if isinstance(originator_id, uuid.UUID):
        return originator_id.hex
    if isinstance(originator_id, str) and len(originator_id) == 32:
        return originator_id  # as SQLite stores a UUID (eventsourcing writes `.hex`)
    try:
        return uuid.UUID(str(originator_id)).hex
    except ValueError:
        return str(originator_id)


def canonical(position: int, originator_id: Any, version: int, topic: str, state: bytes) -> bytes:
    """The bytes of one stored event that its link covers."""
    head = f"{int(position)}\n{originator_text(originator_id)}\n{int(version)}\n{topic}\n"
    return head.encode("utf-8") + bytes(state)


def link(
    prev: str, position: int, originator_id: Any, version: int, topic: str, state: bytes
) -> str:
    """The link of the event at `position`, following the link `prev`."""
    digest = hashlib.sha256(prev.encode("ascii"))
    digest.update(canonical(position, originator_id, version, topic, state))
    return digest.hexdigest()


def links_for(
    prev: str, events: list[tuple[int, Any, int, str, bytes]]
) -> list[tuple[int, str, str]]:
    """(position, previous link, link) for events (position, stream, version, topic, state)
    in position order, the chain continuing from `prev`."""
    rows = []
    for position, originator_id, version, topic, state in events:
        new = link(prev, position, originator_id, version, topic, state)
        rows.append((int(position), prev, new))
        prev = new
    return rows


# The recorder's statements (its own cursor and placeholders: `sqlite` ? or `postgresql` %s).
def head_statement(kind: str) -> str:
    return f"SELECT link FROM {TABLE} ORDER BY position DESC LIMIT 1"


def insert_statement(kind: str) -> str:
    mark = "?" if kind == "sqlite" else "%s"
    return f"INSERT INTO {TABLE} (position, prev_link, link) VALUES ({mark}, {mark}, {mark})"


# PostgreSQL: the links of a batch computed by the database in one statement, from the head
# it reads under the insert's table lock: sha256(previous link's ASCII || canonical bytes),
# the same as `link`, and no round trip to read the head first (the recorder's insert runs
# in a pipeline). Parameters (`pg_links_params`): positions (bigint[]), the canonical bytes of
# all the events end to end (bytea) and where each ends (int[]), GENESIS. Each step of the
# walk cuts its payload out of the bytes by offset, in constant time: a join of the walk to
# the unnested input (before) re-hashed the whole batch at every step, and a subscript of a
# bytea[] walks the array, both quadratic (a 4,200-event seed batch: 2.4-5.6 s, 0.29 s by
# subscript, 0.05 s so).
PG_INSERT_LINKS = f"""
WITH RECURSIVE
  head AS (
    SELECT COALESCE(
      (SELECT link FROM {TABLE} ORDER BY position DESC LIMIT 1), %(genesis)s::varchar
    ) AS prev
  ),
  walk AS (
    SELECT 1 AS i, head.prev::varchar AS prev_link,
      encode(sha256(convert_to(head.prev, 'UTF8')
        || substring(%(payloads)s::bytea FROM 1 FOR (%(ends)s::int[])[1])), 'hex')::varchar
        AS link
    FROM head WHERE cardinality(%(ends)s::int[]) > 0
    UNION ALL
    SELECT w.i + 1, w.link,
      encode(sha256(convert_to(w.link, 'UTF8') || substring(%(payloads)s::bytea
        FROM (%(ends)s::int[])[w.i] + 1
        FOR (%(ends)s::int[])[w.i + 1] - (%(ends)s::int[])[w.i])), 'hex')::varchar
    FROM walk w WHERE w.i < cardinality(%(ends)s::int[])
  )
INSERT INTO {TABLE} (position, prev_link, link)
SELECT (%(positions)s::bigint[])[i], prev_link, link FROM walk
"""


def pg_links_params(positions: list[int], payloads: list[bytes]) -> dict[str, Any]:
    """The parameters of `PG_INSERT_LINKS` for events at these positions with these canonical
    bytes (`canonical`), in position order."""
    ends, end = [], 0
    for payload in payloads:
        end += len(payload)
        ends.append(end)
    return {
        "positions": positions,
        "payloads": b"".join(payloads),
        "ends": ends,
        "genesis": GENESIS,
    }


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment: whoever keeps it can later check that the chain still
    passes through `link` at `position` (no rewrite of anything up to there)."""

    position: int
    link: str
    events: int
    at: str
    read_log_id: int = 0  # the read log's last row then (0: none, or not held)
    read_log_hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class BadAnchor(ValueError):
    """An anchor document refused; the text names the problem."""


def signed_anchor(head: Anchor, tenant: str, signer: Signer) -> dict[str, Any]:
    """The anchor as it leaves the system: its fields, `anchor` as POSITION:LINK, and the
    signature over all of them (as the value of its message on casework.audit-anchors.v1)."""
    document = {"tenant": tenant, **head.as_dict(), "anchor": f"{head.position}:{head.link}"}
    return signer.sign_document(ANCHORS, tenant.encode(), document)


def held_anchor(document: Any, verifier: Verifier, tenant: str) -> Anchor:
    """The anchor of a signed document (`signed_anchor`) held from before; BadAnchor unless
    it is one, of this tenant, and its signature verifies with the system's keys."""
    if not isinstance(document, Mapping):
        raise BadAnchor("not an anchor: a JSON object is expected")
    position, link_ = document.get("position"), document.get("link")
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise BadAnchor("position: a positive whole number is expected")
    if not isinstance(link_, str) or not LINK.match(link_):
        raise BadAnchor("link: 64 lowercase hex digits are expected")
    if document.get("tenant") != tenant:
        raise BadAnchor("tenant: the anchor is not of this system's tenant")
    try:
        verifier.verify_document(ANCHORS, tenant.encode(), document)
    except BadSignature as error:
        raise BadAnchor(f"signature: {error}") from None
    events, at = document.get("events"), document.get("at")
    read_id, read_hash = document.get("read_log_id", 0), document.get("read_log_hash", "")
    if isinstance(read_id, bool) or not isinstance(read_id, int) or read_id < 0:
        raise BadAnchor("read_log_id: a whole number is expected")
    if read_id and (not isinstance(read_hash, str) or not LINK.match(read_hash)):
        raise BadAnchor("read_log_hash: 64 lowercase hex digits are expected")
    return Anchor(
        position=position,
        link=link_,
        events=events if isinstance(events, int) else 0,
        at=at if isinstance(at, str) else "",
        read_log_id=read_id,
        read_log_hash=read_hash if read_id else "",
    )


@dataclass(frozen=True)
class Broken:
    """The first link that does not hold, and why (`edited`, `missing_event`,
    `unlinked_event`, `not_following`, `anchor`)."""

    position: int
    reason: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    events: int
    head: Anchor | None
    broken: Broken | None
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head": self.head.as_dict() if self.head else None,
            "broken": asdict(self.broken) if self.broken else None,
        }


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def anchor(store: Database) -> Anchor | None:
    """The chain's head now (None while the store holds no event); `events` is the
    recorder's count of stored events (one link each), not a count of the chain; and the
    read log's head (`access_log.head`)."""
    if not store.table_exists(TABLE):
        return None
    row = store.query_one(
        f"SELECT position, link, (SELECT events FROM {COUNTS} WHERE name='all') FROM {TABLE}"
        " ORDER BY position DESC LIMIT 1"  # one statement: the head and the count agree
    )
    if row is None:
        return None
    read_id, read_hash = access_log.head(store) or (0, "")
    return Anchor(
        position=int(row[0]),
        link=str(row[1]),
        events=int(row[2] or 0),
        at=_now(),
        read_log_id=read_id,
        read_log_hash=read_hash,
    )


def link_at(store: Database, position: int) -> str | None:
    """The chain's link at a store position (None: no event there). Whoever cites it (an
    auditor's report of a past answer) can have `verify` check that the chain still passes
    through it."""
    rows = store.query(f"SELECT link FROM {TABLE} WHERE position = ?", (int(position),))
    return str(rows[0][0]) if rows else None


def _top(store: Database, table: str, column: str) -> int:
    """The highest position among events and links, read in one statement (one snapshot):
    what is verified, whatever is written meanwhile."""
    row = store.query_one(
        f"SELECT (SELECT COALESCE(MAX({column}), 0) FROM {table}),"
        f" (SELECT COALESCE(MAX(position), 0) FROM {TABLE})"
    )
    return max(int(row[0]), int(row[1])) if row else 0


def _events(store: Database, table: str, column: str, top: int) -> Iterator[tuple]:
    after = -1
    while True:
        rows = store.query(
            f"SELECT {column}, originator_id, originator_version, topic, state FROM {table}"
            f" WHERE {column} > ? AND {column} <= ? ORDER BY {column} LIMIT ?",
            (after, top, BATCH),
        )
        yield from rows
        if len(rows) < BATCH:
            return
        after = int(rows[-1][0])


def _links(store: Database, top: int) -> Iterator[tuple]:
    after = -1
    while True:
        rows = store.query(
            f"SELECT position, prev_link, link FROM {TABLE}"
            " WHERE position > ? AND position <= ? ORDER BY position LIMIT ?",
            (after, top, BATCH),
        )
        yield from rows
        if len(rows) < BATCH:
            return
        after = int(rows[-1][0])


def _event_link(prev: str, event: tuple) -> str | None:
    """The link an event row should have, or None when the row cannot be an event the
    recorder wrote (its state not bytes, its version not a whole number: a row changed by
    hand, say with the sqlite3 shell, whose `replace()` turns a blob into text)."""
    position, originator_id, version, topic, state = event
    if not isinstance(state, bytes | bytearray | memoryview):
        return None
    if isinstance(version, bool) or not isinstance(version, int):
        return None
    return link(prev, int(position), originator_id, version, topic, bytes(state))


def verify(store: Database, anchors: tuple[Anchor, ...] | list[Anchor] = ()) -> Verdict:
    """Walk every event and every link in position order; the first that does not hold.
    With anchors: each must still be on the chain (its position's link unchanged)."""
    started = time.perf_counter()
    table, column = events_table(store)
    if not store.table_exists(table) or not store.table_exists(TABLE):
        return Verdict(True, 0, None, None, time.perf_counter() - started)
    top = _top(store, table, column)
    wanted = {a.position: a.link for a in anchors}
    events, links = _events(store, table, column, top), _links(store, top)
    event, chained = next(events, None), next(links, None)
    prev, count, last = GENESIS, 0, None
    broken: Broken | None = None
    while event is not None or chained is not None:
        at_event = int(event[0]) if event is not None else None
        at_link = int(chained[0]) if chained is not None else None
        if at_link is None or (at_event is not None and at_event < at_link):
            broken = Broken(at_event, "unlinked_event")  # type: ignore[arg-type]
            break
        if at_event is None or at_link < at_event:
            broken = Broken(at_link, "missing_event")
            break
        position, prev_link, stored = at_link, str(chained[1]), str(chained[2])
        if prev_link != prev:
            broken = Broken(position, "not_following")
            break
        if _event_link(prev, event) != stored:
            broken = Broken(position, "edited")
            break
        if position in wanted and wanted.pop(position) != stored:
            broken = Broken(position, "anchor")
            break
        prev, count, last = stored, count + 1, position
        event, chained = next(events, None), next(links, None)
    if broken is None and wanted:
        broken = Broken(min(wanted), "anchor")  # the anchored position is gone
    head = Anchor(last, prev, count, _now()) if last is not None else None
    return Verdict(broken is None, count, head, broken, time.perf_counter() - started)
