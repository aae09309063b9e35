"""The anchor publisher: every few minutes, the event chain's head (`adapters.chain`) goes to
`casework.audit-anchors.v1`, so that whoever reads that topic holds anchors the store's
administrators cannot take back, and `casework audit verify --anchor POSITION:LINK` later
shows whether the store was rewritten behind the system's back.

A small periodic task of the relay's loop (the publishing relay only, with its producer):
`due()` is one clock reading; `publish()` reads the head (two indexed queries: the event
chain's and the read log's) and sends it when either moved since the last anchor sent. A
message is JSON, keyed by the tenant: `{"tenant", "position", "link", "events", "at",
"read_log_id", "read_log_hash", "anchor", "signature", "key_id"}`, signed with
the system's key (`adapters.chain.signed_anchor`), so an anchor forged on the topic does not
verify with the keys of `GET /api/v1/keys`. Kept as a file, it is what
`casework audit verify --anchor-file` takes.
"""

from __future__ import annotations

import json
import logging
import time

from kafka import KafkaProducer

from adapters import chain
from adapters.db import Database
from adapters.signing import Signer
from adapters.topics import ANCHORS

log = logging.getLogger("casework.anchors")

ANCHOR_SECONDS = 300.0
SEND_TIMEOUT = 10.0


class AnchorPublisher:
    def __init__(
        self, store: Database, tenant: str, signer: Signer, seconds: float = ANCHOR_SECONDS
    ) -> None:
        self.store = store
        self.tenant = tenant
        self.signer = signer
        self.seconds = seconds
        self._last_at = float("-inf")
        self._last: tuple[int, str, int] | None = None

    def due(self) -> bool:
        return time.monotonic() - self._last_at >= self.seconds

    def publish(self, producer: KafkaProducer) -> chain.Anchor | None:
        """Send the chain's head (with the read log's) if either moved since the last anchor
        sent; the anchor sent."""
        self._last_at = time.monotonic()
        head = chain.anchor(self.store)
        if head is None or (head.position, head.link, head.read_log_id) == self._last:
            return None
        value = json.dumps(
            chain.signed_anchor(head, self.tenant, self.signer), separators=(",", ":")
        )
        producer.send(ANCHORS, key=self.tenant.encode(), value=value.encode()).get(SEND_TIMEOUT)
        self._last = (head.position, head.link, head.read_log_id)
        log.info("anchor published: position %d, link %s", head.position, head.link)
        return head
