"""The history reader: every event of one stream, in order, as the audit trail shows it
(the API's history routes and the subject-access report)."""

from __future__ import annotations

import uuid
from typing import Any

from adapters.wire import EVENT_FRAME, plain, rfc3339
from domain.application import Casework, event_id


def stream_history(casework: Casework, stream_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every event of one stream, in order, as the audit trail shows it."""
    history = []
    for stored in casework.recorder.select_events(stream_id):
        event = casework.mapper.to_domain_event(stored)
        meta = getattr(event, "meta", None) or {}
        entry = {
            "event_id": event_id(event.originator_id, event.originator_version),
            "version": event.originator_version,
            "type": type(event).__qualname__.rsplit(".", 1)[-1],
            "occurred_at": meta.get("occurred_at") or rfc3339(event.timestamp),
            "recorded_at": rfc3339(event.timestamp),
            "actor": meta.get("actor"),
            "reason": meta.get("reason"),
            "source": meta.get("source"),
            "data": {k: plain(v) for k, v in event.__dict__.items() if k not in EVENT_FRAME},
        }
        if "approved_by" in meta:
            entry["approved_by"] = meta["approved_by"]
        history.append(entry)
    return history
