"""The DCI messages each agency has sent (app/dci.py), so that one sent again with the same
`message_id` (a replay) is refused as the spec's `rjct.message_id.duplicate`:

- `casework_dci_messages`: one row per (agency, message_id) received, with when it was
  received; rows older than a message may be (`MESSAGE_PAST` in app/dci_protocol.py) are
  deleted, since such a message is refused by its `message_ts` anyway.

No personal data. Idempotent; forward only.
"""

from yoyo import step

step(
    "CREATE TABLE IF NOT EXISTS casework_dci_messages ("
    " agency VARCHAR(32) NOT NULL, message_id VARCHAR(99) NOT NULL,"
    " received_at VARCHAR(32) NOT NULL, PRIMARY KEY (agency, message_id))"
)
step(
    "CREATE INDEX IF NOT EXISTS casework_dci_messages_received"
    " ON casework_dci_messages (received_at)"
)
