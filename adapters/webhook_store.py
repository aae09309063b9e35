"""Agencies' webhooks in the store database (tables of migration 0008_webhooks).

The registrations (`register`, `active`), each agency's progress through the store
(`progress`, `enqueue`) and the delivery queue (`heads`, `done`, `failed`, `dead_letters`,
`redeliver`). The queue names events by position and stream only, never their data: the sender
builds each envelope from the store when it POSTs it (consumers/webhooks.py).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.codec import Wrapper
from adapters.db import Database

WEBHOOKS = "casework_webhooks"
PROGRESS = "casework_webhook_progress"
QUEUE = "casework_webhook_queue"
PENDING = "pending"
DEAD = "dead"
SECRET_BYTES = 32


@dataclass(frozen=True)
class Webhook:
    id: str
    agency: str
    url: str
    secret: str
    created_at: str


@dataclass(frozen=True)
class Queued:
    """One event waiting for an agency's webhook."""

    position: int
    stream_id: str
    status: str
    attempts: int
    next_at: float


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# A secret kept wrapped under the master key (`adapters.codec.Wrapper`, the webhook's id as
# associated data): a copy of the store alone cannot sign a delivery.
WRAPPED = "w1:"


def _kept(webhook_id: str, secret: str, sealer: Wrapper | None) -> str:
    if sealer is None:
        return secret
    return WRAPPED + sealer.wrap(f"webhook:{webhook_id}", bytes.fromhex(secret))


def _secret(webhook_id: str, kept: str, sealer: Wrapper | None) -> str:
    if not kept.startswith(WRAPPED):
        return kept  # kept in clear (before secrets were wrapped, or without a sealer)
    if sealer is None:
        raise ValueError("a wrapped webhook secret needs the master key")
    return sealer.unwrap(f"webhook:{webhook_id}", kept[len(WRAPPED) :]).hex()


def register(store: Database, agency: str, url: str, sealer: Wrapper | None = None) -> Webhook:
    """A new endpoint for the agency, with a fresh secret (wrapped under the master key when
    `sealer` is given, as the web does); the previous one is deactivated."""
    webhook = Webhook(str(uuid.uuid4()), agency, url, secrets.token_hex(SECRET_BYTES), _now())
    with store.transaction() as cur:
        cur.execute(f"UPDATE {WEBHOOKS} SET active = 0 WHERE agency = ? AND active = 1", (agency,))
        cur.execute(
            f"INSERT INTO {WEBHOOKS} (id, agency, url, secret, created_at, active)"
            " VALUES (?, ?, ?, ?, ?, 1)",
            (
                webhook.id,
                agency,
                url,
                _kept(webhook.id, webhook.secret, sealer),
                webhook.created_at,
            ),
        )
    return webhook


def deactivate(store: Database, agency: str) -> int:
    """The agency's endpoint no longer receives anything; how many were active (0 or 1)."""
    with store.transaction() as cur:
        cur.execute(f"UPDATE {WEBHOOKS} SET active = 0 WHERE agency = ? AND active = 1", (agency,))
        return cur.rowcount


def active(
    store: Database, agency: str | None = None, sealer: Wrapper | None = None
) -> list[Webhook]:
    """The active endpoints (one per agency at most), of one agency when given; their
    secrets unwrapped with `sealer`."""
    where, params = ("AND agency = ?", (agency,)) if agency else ("", ())
    rows = store.query(
        f"SELECT id, agency, url, secret, created_at FROM {WEBHOOKS}"
        f" WHERE active = 1 {where} ORDER BY agency",
        params,
    )
    return [
        Webhook(webhook_id, code, url, _secret(webhook_id, kept, sealer), created_at)
        for webhook_id, code, url, kept, created_at in rows
    ]


def progress(store: Database, agency: str) -> int:
    """The store position up to which the agency's events were queued (0: none yet)."""
    row = store.query_one(f"SELECT scanned FROM {PROGRESS} WHERE agency = ?", (agency,))
    return int(row[0]) if row else 0


def enqueue(
    store: Database, agency: str, events: Sequence[tuple[int, str]], scanned: int, now: float
) -> None:
    """Queue (position, stream id) events and move the agency's progress to `scanned`, in one
    transaction (a crash queues them again, never half)."""
    with store.transaction() as cur:
        if events:
            cur.executemany(
                f"INSERT INTO {QUEUE} (agency, position, stream_id, status, attempts, next_at)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                [(agency, position, stream, PENDING, now) for position, stream in events],
            )
        cur.execute(f"UPDATE {PROGRESS} SET scanned = ? WHERE agency = ?", (scanned, agency))
        if cur.rowcount == 0:
            cur.execute(
                f"INSERT INTO {PROGRESS} (agency, scanned) VALUES (?, ?)", (agency, scanned)
            )


def heads(store: Database, agency: str, limit: int) -> list[Queued]:
    """The agency's pending events in store order, leaving out every stream that has a dead
    letter (parked until an administrator redelivers it). Due or not: the caller keeps each
    stream's order (an event waits while an earlier one of its stream is backing off)."""
    rows = store.query(
        f"SELECT position, stream_id, status, attempts, next_at FROM {QUEUE} q"
        " WHERE agency = ? AND status = ? AND NOT EXISTS ("
        f"  SELECT 1 FROM {QUEUE} d WHERE d.agency = q.agency AND d.stream_id = q.stream_id"
        "   AND d.status = ?)"
        f" ORDER BY position LIMIT {int(limit)}",
        (agency, PENDING, DEAD),
    )
    return [Queued(int(p), s, st, int(a), float(n)) for p, s, st, a, n in rows]


def done(store: Database, agency: str, positions: Sequence[int]) -> None:
    """Delivered (or no longer to be delivered): out of the queue."""
    if not positions:
        return
    with store.transaction() as cur:
        cur.executemany(
            f"DELETE FROM {QUEUE} WHERE agency = ? AND position = ?",
            [(agency, position) for position in positions],
        )


def failed(
    store: Database,
    agency: str,
    position: int,
    attempts: int,
    next_at: float,
    error: str,
    dead: bool,
) -> None:
    """An attempt failed: try again at `next_at`, or dead-lettered."""
    with store.transaction() as cur:
        cur.execute(
            f"UPDATE {QUEUE} SET attempts = ?, next_at = ?, last_error = ?, status = ?"
            " WHERE agency = ? AND position = ?",
            (attempts, next_at, error[:200], DEAD if dead else PENDING, agency, position),
        )


def dead_letters(store: Database, agency: str | None = None) -> list[dict[str, Any]]:
    """The dead-lettered events (no personal data: positions, streams, attempts, the error's
    kind), and how many events of their streams wait behind them."""
    where, params = ("AND agency = ?", (agency,)) if agency else ("", ())
    rows = store.query(
        f"SELECT agency, position, stream_id, attempts, last_error FROM {QUEUE} d"
        f" WHERE status = ? {where} ORDER BY agency, position",
        (DEAD, *params),
    )
    waiting = dict(
        ((a, s), int(n))
        for a, s, n in store.query(
            f"SELECT agency, stream_id, COUNT(*) FROM {QUEUE} WHERE status = ? {where}"
            " GROUP BY agency, stream_id",
            (PENDING, *params),
        )
    )
    return [
        {
            "agency": a,
            "position": int(p),
            "stream_id": s,
            "attempts": int(n),
            "error": e,
            "waiting": waiting.get((a, s), 0),
        }
        for a, p, s, n, e in rows
    ]


def redeliver(store: Database, agency: str, stream_id: str | None = None) -> int:
    """Dead letters of the agency (of one stream when given) back in the queue, due now and
    with fresh attempts; how many."""
    where, params = ("AND stream_id = ?", (stream_id,)) if stream_id else ("", ())
    with store.transaction() as cur:
        cur.execute(
            f"UPDATE {QUEUE} SET status = ?, attempts = 0, next_at = 0, last_error = NULL"
            f" WHERE agency = ? AND status = ? {where}",
            (PENDING, agency, DEAD, *params),
        )
        return cur.rowcount


def queued(store: Database, agency: str) -> dict[str, int]:
    """How many events of the agency wait, and how many are dead-lettered."""
    rows = store.query(
        f"SELECT status, COUNT(*) FROM {QUEUE} WHERE agency = ? GROUP BY status", (agency,)
    )
    found = {PENDING: 0, DEAD: 0}
    found.update({status: int(count) for status, count in rows})
    return found
