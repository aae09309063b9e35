"""`Idempotency-Key`: a repeated command request answers as the first one did, storing nothing.

Keys live in the store database, per caller: (actor_id, key). The first request claims the
key with a 'pending' row before it runs, so a duplicate arriving meanwhile is told to wait
(409 idempotency.in_progress); the answer is kept once known. A repeat with the same request
gets the kept status and body byte for byte; the same key with another request is refused
(422 idempotency.key_reused). An answer that depends on the moment, a version conflict (409
version.stale: another write came first), is not kept: the key is released, and the same
request sent again with it runs again (app/api.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from adapters.db import Database

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Kept:
    """The answer given to the first request with this key."""

    status: int
    body: str


class InProgress(Exception):
    """The first request with this key is still running."""


class KeyReused(Exception):
    """The key was used for a different request."""


def request_hash(command: str, payload: Any) -> str:
    canonical = json.dumps([command, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def claim(store: Database, actor_id: str, key: str, digest: str) -> Kept | None:
    """None when this request may run (the key is now pending); the kept answer of a repeat.
    Raises InProgress or KeyReused."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with store.transaction() as cursor:
        inserted = cursor.execute(
            "INSERT INTO casework_idempotency (key, actor_id, request_hash, status, created_at)"
            " VALUES (?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
            (key, actor_id, digest, now),
        ).rowcount
    if inserted == 1:
        return None
    row = store.query_one(
        "SELECT request_hash, status, code, body FROM casework_idempotency"
        " WHERE actor_id = ? AND key = ?",
        (actor_id, key),
    )
    if row is None:  # released between the two statements: the caller may simply retry
        raise InProgress
    kept_hash, status, code, body = row
    if kept_hash != digest:
        raise KeyReused
    if status != "done":
        raise InProgress
    return Kept(int(code), body)


def keep(store: Database, actor_id: str, key: str, status: int, body: str) -> None:
    with store.transaction() as cursor:
        cursor.execute(
            "UPDATE casework_idempotency SET status = 'done', code = ?, body = ?"
            " WHERE actor_id = ? AND key = ?",
            (status, body, actor_id, key),
        )


def release(store: Database, actor_id: str, key: str) -> None:
    """Forget a pending key whose request failed unexpectedly, or whose answer is not to be
    kept (a version conflict), so a retry can run."""
    with store.transaction() as cursor:
        cursor.execute(
            "DELETE FROM casework_idempotency"
            " WHERE actor_id = ? AND key = ? AND status = 'pending'",
            (actor_id, key),
        )
